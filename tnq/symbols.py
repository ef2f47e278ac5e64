"""Symbolic gate parameters: trainable parameters and data inputs.

A gate parameter is a constant, an affine function ``a*theta[k] + b`` of one
trainable parameter, or an affine function of one data input ``x[j]``.
Symbols are frozen; arithmetic with numbers returns new symbols.

Examples
--------
>>> theta = parameters(4)
>>> 2 * theta[1] + 0.5
2*theta[1] + 0.5
>>> inputs(3)[2]
x[2]
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from .errors import ParameterError

__all__ = ["Symbol", "SymbolVector", "parameters", "inputs"]

_NAMES = {"param": "theta", "input": "x"}


@dataclass(frozen=True)
class Symbol:
    """``scale * source[index] + offset`` for one trainable parameter or data input."""

    kind: str
    index: int
    size: int
    scale: float = 1.0
    offset: float = 0.0

    def _affine(self, scale: float, offset: float) -> Symbol:
        for v in (scale, offset):
            if not math.isfinite(v):
                raise ParameterError(f"non-finite coefficient {v!r} applied to {self!r}")
        return Symbol(self.kind, self.index, self.size, scale, offset)

    def __mul__(self, other: object) -> Symbol:
        a = _real(other, self, "*")
        return self._affine(self.scale * a, self.offset * a)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Symbol:
        a = _real(other, self, "/")
        if a == 0:
            raise ParameterError(f"division of {self!r} by zero")
        return self._affine(self.scale / a, self.offset / a)

    def __add__(self, other: object) -> Symbol:
        return self._affine(self.scale, self.offset + _real(other, self, "+"))

    __radd__ = __add__

    def __sub__(self, other: object) -> Symbol:
        return self._affine(self.scale, self.offset - _real(other, self, "-"))

    def __rsub__(self, other: object) -> Symbol:
        return self._affine(-self.scale, _real(other, self, "-") - self.offset)

    def __neg__(self) -> Symbol:
        return self._affine(-self.scale, -self.offset)

    def __pos__(self) -> Symbol:
        return self

    def value(self, params, inputs) -> float:
        """The numeric value given the parameter and input vectors."""
        src = params if self.kind == "param" else inputs
        return self.scale * float(src[self.index]) + self.offset

    def __repr__(self) -> str:
        base = f"{_NAMES[self.kind]}[{self.index}]"
        text = base if self.scale == 1 else f"{self.scale:g}*{base}"
        if self.offset:
            text += f" {'+' if self.offset > 0 else '-'} {abs(self.offset):g}"
        return text


def _real(other: object, sym: Symbol, op: str) -> float:
    if isinstance(other, Symbol):
        raise ParameterError(
            f"cannot combine {sym!r} {op} {other!r}: a gate parameter is an affine "
            "function of a single symbol (a*theta[k] + b); use separate gates instead"
        )
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
        return float(other)
    raise ParameterError(f"cannot combine {sym!r} {op} {other!r}: expected a real number")


@dataclass(frozen=True)
class SymbolVector:
    """A vector of symbols: ``theta[k]`` gives one :class:`Symbol`."""

    kind: str
    size: int

    def __getitem__(self, index: int) -> Symbol:
        if not isinstance(index, numbers.Integral) or isinstance(index, bool):
            raise ParameterError(f"{_NAMES[self.kind]} index must be an integer, got {index!r}")
        k = int(index) + (self.size if index < 0 else 0)
        if not 0 <= k < self.size:
            raise ParameterError(
                f"{_NAMES[self.kind]}[{index}] is out of range for a vector of size {self.size}"
            )
        return Symbol(self.kind, k, self.size)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        return (self[k] for k in range(self.size))


def _vector(kind: str, size: int) -> SymbolVector:
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ParameterError(f"the number of {_NAMES[kind]} symbols must be a positive integer, "
                             f"got {size!r}")
    return SymbolVector(kind, int(size))


def parameters(size: int) -> SymbolVector:
    """``size`` trainable parameters ``theta[0..size-1]``; numbers arrive per call."""
    return _vector("param", size)


def inputs(size: int) -> SymbolVector:
    """``size`` data inputs ``x[0..size-1]`` (for encodings), given per call as ``inputs=``."""
    return _vector("input", size)
