"""Symbolic gate parameters: named vectors of trainable parameters and data inputs.

A gate parameter is a constant, or an affine function ``a*v[k] + b`` of one
symbol ``v[k]`` of a :class:`SymbolVector`. A vector has an identity and a
name: two calls of :func:`parameters` give two different vectors, even with
the same size. Symbols are frozen; arithmetic with numbers returns new symbols.

A circuit lists the vectors it uses in order of first use (its
:class:`Layout`); a Program takes them as one flat array in that order, or as
a mapping from name to array.

Examples
--------
>>> gamma, beta = parameters(2, "gamma"), parameters(2, "beta")
>>> 2 * gamma[1] + 0.5
2*gamma[1] + 0.5
>>> gamma[0] == beta[0]
False
>>> inputs(3)[2]
x[2]
"""

from __future__ import annotations

import math
import numbers
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from autoray import do

from .errors import ParameterError

__all__ = ["Symbol", "SymbolVector", "Layout", "parameters", "inputs", "KINDS"]

KINDS = {"param": "theta", "input": "x"}
"""Symbol kinds and the default name of a vector of each."""

FEATURES = (
    "a gate angle is a*v[k] + b for one parameter or input symbol v[k]. Compute other "
    "functions of your data beforehand and pass them as inputs: "
    "for a ZZ feature map, x = tnq.inputs(3) with inputs=[a, b, (pi - a) * (pi - b)] "
    "and the angle x[2]; for an arctan encoding, inputs=np.arctan(data)"
)


@dataclass(frozen=True)
class SymbolVector:
    """A named vector of symbols: ``theta[k]`` gives one :class:`Symbol`.

    Made by :func:`parameters` and :func:`inputs`; every vector made is distinct
    (its ``uid``), whatever its name and size.
    """

    kind: str
    size: int
    name: str
    uid: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)

    def __getitem__(self, index: int) -> Symbol:
        if not isinstance(index, numbers.Integral) or isinstance(index, bool):
            raise ParameterError(f"{self.name} index must be an integer, got {index!r}")
        k = int(index) + (self.size if index < 0 else 0)
        if not 0 <= k < self.size:
            raise ParameterError(
                f"{self.name}[{index}] is out of range for a vector of size {self.size}")
        return Symbol(self, k)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        return (self[k] for k in range(self.size))

    def __repr__(self) -> str:
        return f"{'parameters' if self.kind == 'param' else 'inputs'}({self.size}, {self.name!r})"


@dataclass(frozen=True)
class Symbol:
    """``scale * vector[index] + offset`` for one trainable parameter or data input."""

    vector: SymbolVector
    index: int
    scale: float = 1.0
    offset: float = 0.0

    @property
    def kind(self) -> str:
        """``"param"`` (trainable) or ``"input"`` (data)."""
        return self.vector.kind

    @property
    def size(self) -> int:
        return self.vector.size

    @property
    def name(self) -> str:
        return self.vector.name

    def _affine(self, scale: float, offset: float) -> Symbol:
        for v in (scale, offset):
            if not math.isfinite(v):
                raise ParameterError(f"non-finite coefficient {v!r} applied to {self!r}")
        return Symbol(self.vector, self.index, scale, offset)

    def __mul__(self, other: object) -> Symbol:
        a = _real(other, self, "*")
        return self._affine(self.scale * a, self.offset * a)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Symbol:
        a = _real(other, self, "/")
        if a == 0:
            raise ParameterError(f"division of {self!r} by zero")
        return self._affine(self.scale / a, self.offset / a)

    def __rtruediv__(self, other: object) -> Symbol:
        raise _not_affine(f"{other!r} / {self!r}")

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

    def __pow__(self, other: object) -> Symbol:
        raise _not_affine(f"{self!r} ** {other!r}")

    def __rpow__(self, other: object) -> Symbol:
        raise _not_affine(f"{other!r} ** {self!r}")

    def __abs__(self) -> Symbol:
        raise _not_affine(f"abs({self!r})")

    def __float__(self) -> float:
        raise _not_affine(f"a function of {self!r} (math functions need a number)")

    def __int__(self) -> int:
        raise _not_affine(f"int({self!r})")

    __index__ = __int__

    def __round__(self, ndigits=None):
        raise _not_affine(f"round({self!r})")

    def __mod__(self, other: object) -> Symbol:
        raise _not_affine(f"{self!r} % {other!r}")

    def __rmod__(self, other: object) -> Symbol:
        raise _not_affine(f"{other!r} % {self!r}")

    def __floordiv__(self, other: object) -> Symbol:
        raise _not_affine(f"{self!r} // {other!r}")

    def __rfloordiv__(self, other: object) -> Symbol:
        raise _not_affine(f"{other!r} // {self!r}")

    def _compare(self, other: object) -> bool:
        raise ParameterError(f"{self!r} has no value before a call, so it cannot be "
                             f"compared with {other!r}")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __bool__(self) -> bool:
        raise ParameterError(f"{self!r} has no truth value before a call")

    # numpy: arithmetic with numpy numbers stays affine; any other ufunc is refused
    _UFUNCS = {"add": "__add__", "subtract": "__sub__", "multiply": "__mul__",
               "true_divide": "__truediv__", "divide": "__truediv__"}

    def __array_ufunc__(self, ufunc, method, *args, **kwargs):
        name = ufunc.__name__
        if method == "__call__" and not kwargs and len(args) == 2 and name in self._UFUNCS:
            a, b = args
            if a is self:
                return getattr(self, self._UFUNCS[name])(b)
            if name in ("add", "multiply"):
                return getattr(self, self._UFUNCS[name])(a)
            if name == "subtract":
                return self.__rsub__(a)
        if method == "__call__" and len(args) == 1 and name in ("negative", "positive"):
            return -self if name == "negative" else self
        shown = ", ".join(repr(a) for a in args)
        raise _not_affine(f"np.{name}({shown})")

    def value(self, params, inputs) -> float:
        """The numeric value given the parameter and input vectors."""
        src = params if self.kind == "param" else inputs
        return self.scale * float(src[self.index]) + self.offset

    def __repr__(self) -> str:
        base = f"{self.vector.name}[{self.index}]"
        text = base if self.scale == 1 else f"{self.scale:g}*{base}"
        if self.offset:
            text += f" {'+' if self.offset > 0 else '-'} {abs(self.offset):g}"
        return text


def _refuse_method(name: str):
    """A method that numpy calls on object arrays (``np.sin(array_of_symbols)``)."""
    def method(self: Symbol, *args, **kwargs):
        raise _not_affine(f"np.{name}({self!r})")

    method.__name__ = name
    return method


for _name in ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
              "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square", "abs",
              "absolute", "sign", "floor", "ceil", "rint", "arctan2", "power", "reciprocal",
              "conjugate", "conj"):
    setattr(Symbol, _name, _refuse_method(_name))
del _name


def _not_affine(what: str) -> ParameterError:
    return ParameterError(f"{what} is not an affine function of a single symbol: {FEATURES}")


def _real(other: object, sym: Symbol, op: str) -> float:
    if isinstance(other, Symbol):
        raise _not_affine(f"{sym!r} {op} {other!r}")
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
        return float(other)
    if isinstance(other, np.ndarray) and other.shape == () and np.isrealobj(other) \
            and other.dtype != bool:
        return float(other)
    raise ParameterError(f"cannot combine {sym!r} {op} {other!r}: expected a real number")


MAX_SIZE = 10_000_000
"""The most symbols one vector may have (a parameter-shift table holds a few
numbers per parameter; more is almost always a mistake)."""


def _vector(kind: str, size: int, name: str | None) -> SymbolVector:
    what = "parameters" if kind == "param" else "inputs"
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ParameterError(f"tnq.{what}: the size must be a positive integer, got "
                             f"{size!r}"[:200])
    if size > MAX_SIZE:
        raise ParameterError(f"tnq.{what}: size {size:.3g} is over the limit of "
                             f"tnq.symbols.MAX_SIZE = {MAX_SIZE:,} symbols per vector")
    name = KINDS[kind] if name is None else name
    if not isinstance(name, str) or not name.isidentifier():
        raise ParameterError(f"tnq.{what}: the name must be an identifier such as "
                             f"'gamma', got {name!r}")
    return SymbolVector(kind, int(size), name)


def parameters(size: int, name: str | None = None) -> SymbolVector:
    """``size`` trainable parameters ``name[0..size-1]``; numbers arrive per call.

    Parameters
    ----------
    size : int
    name : str, optional
        The vector's name (default ``"theta"``): how its symbols print, and its
        key when a Program is given a mapping ``{name: values}``. Two different
        vectors with one name cannot be used in one circuit.

    Examples
    --------
    >>> gamma = parameters(3, "gamma")
    >>> gamma[2], len(gamma)
    (gamma[2], 3)
    """
    return _vector("param", size, name)


def inputs(size: int, name: str | None = None) -> SymbolVector:
    """``size`` data inputs ``name[0..size-1]`` (default name ``"x"``), for encodings;
    given per call as ``inputs=``."""
    return _vector("input", size, name)


@dataclass(frozen=True)
class Layout:
    """The symbol vectors of a circuit, of each kind in order of first use, and
    where each sits in the flat vector of its kind that a Program takes."""

    params: tuple[SymbolVector, ...] = ()
    inputs: tuple[SymbolVector, ...] = ()

    def vectors(self, kind: str) -> tuple[SymbolVector, ...]:
        return self.params if kind == "param" else self.inputs

    def size(self, kind: str) -> int:
        """The length of the flat vector of ``kind``."""
        return sum(v.size for v in self.vectors(kind))

    def offsets(self, kind: str) -> dict[str, int]:
        """Each vector's first position in the flat vector, by uid."""
        out, at = {}, 0
        for v in self.vectors(kind):
            out[v.uid] = at
            at += v.size
        return out

    def flat(self, kind: str) -> SymbolVector | None:
        """The single vector of ``kind`` when there is one; otherwise (several)
        a vector standing for their concatenation; ``None`` when there is none."""
        vs = self.vectors(kind)
        if len(vs) <= 1:
            return vs[0] if vs else None
        name = "params" if kind == "param" else "inputs"
        return SymbolVector(kind, self.size(kind), name, uid=f"flat-{kind}")

    def flatten(self, symbol: Symbol, offsets: dict[str, dict[str, int]]) -> Symbol:
        """``symbol`` as a symbol of its kind's flat vector (``offsets`` from
        :meth:`offsets` per kind)."""
        vs = self.vectors(symbol.kind)
        if len(vs) == 1:
            return symbol
        flat = self.flat(symbol.kind)
        assert flat is not None
        return Symbol(flat, offsets[symbol.kind][symbol.vector.uid] + symbol.index,
                      symbol.scale, symbol.offset)

    def pack(self, values, kind: str, convert: Callable | None = None):
        """``values`` as the flat vector of ``kind``: a mapping ``{name: array}``
        is checked and concatenated in layout order (arrays ``(size,)`` or
        ``(batch, size)``; unbatched ones broadcast over a batch); anything else
        is returned as it is. ``convert(array, like)`` moves an array to the
        backend of ``like`` when the mapping mixes backends.

        Examples
        --------
        >>> a, b = parameters(1, "a"), parameters(2, "b")
        >>> Layout((a, b)).pack({"b": [2.0, 3.0], "a": [1.0]}, "param")
        array([1., 2., 3.])
        """
        if not isinstance(values, Mapping):
            return values
        vectors = self.vectors(kind)
        what = "params" if kind == "param" else "inputs"
        names = [v.name for v in vectors]
        if set(values) != set(names):
            missing = [n for n in names if n not in values]
            extra = [k for k in values if k not in names]
            raise ParameterError(
                f"{what} given as a mapping with keys {sorted(map(str, values))}; the "
                f"circuit's {what} vectors are {self.describe(kind)}"
                + (f" (missing {missing})" if missing else "")
                + (f" (unknown {extra})" if extra else ""))
        parts = [_part(values[v.name], v, what) for v in vectors]
        if not parts:  # an empty mapping for a circuit without such vectors
            return None
        if len(parts) == 1:
            return parts[0]
        lead = {tuple(p.shape[:-1]) for p in parts} - {()}
        if len(lead) > 1:
            raise ParameterError(f"{what} vectors have different batch shapes {sorted(lead)}")
        if lead:
            (b,) = lead
            parts = [p if len(p.shape) == 2 else do("broadcast_to", p[None], b + p.shape[-1:])
                     for p in parts]
        like = next((p for p in parts if not isinstance(p, np.ndarray)), parts[0])
        if convert is not None:
            parts = [p if type(p) is type(like) else convert(p, like) for p in parts]
        return do("concatenate", parts, axis=-1)

    def describe(self, kind: str) -> str:
        """``"gamma (2), beta (2)"``: the vectors of ``kind`` in order."""
        return ", ".join(f"{v.name} ({v.size})" for v in self.vectors(kind)) or "none"


def _part(x, v: SymbolVector, what: str):
    """One vector's values of a mapping, as an array of shape ``(size,)`` or
    ``(batch, size)``."""
    if isinstance(x, (list, tuple, numbers.Number)):
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"{what}[{v.name!r}] must be real numbers, got {x!r}") \
                from None
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) not in (1, 2) or shape[-1] != v.size:
        raise ParameterError(f"{what}[{v.name!r}] has shape {shape}; expected ({v.size},) "
                             f"or (batch, {v.size})")
    return x
