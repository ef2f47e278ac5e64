"""Errors raised by tnq.

Every error that tnq raises for bad input derives from :class:`TnqError`, and
also from the matching built-in kind, so ``except ValueError`` keeps working.
This module imports nothing from tnq.
"""

from __future__ import annotations

__all__ = [
    "TnqError",
    "CircuitError",
    "ParameterError",
    "ObservableError",
    "QasmError",
    "CompileError",
    "MemoryLimitError",
    "CostLimitError",
    "GradientError",
    "ExecutorError",
    "UnsupportedError",
    "MissingDependencyError",
]


class TnqError(Exception):
    """Base class of every error tnq raises on bad input."""


class CircuitError(TnqError, ValueError):
    """A gate, qubit or matrix given to a :class:`~tnq.Circuit` is invalid."""


class ParameterError(TnqError, ValueError):
    """Parameters or data inputs have the wrong shape, type or value."""


class ObservableError(TnqError, ValueError):
    """An observable (Pauli string, sum or dense operator) is invalid."""


class QasmError(TnqError, ValueError):
    """OpenQASM 2 text that cannot be read, with its line and column."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        where = f"line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{where}: {message}" if line is not None else message)


class CompileError(TnqError, ValueError):
    """Options given to :func:`~tnq.compile` or a Program are invalid."""


class MemoryLimitError(TnqError, MemoryError):
    """A contraction would need more memory than the allowed ``max_memory``."""


class CostLimitError(TnqError, RuntimeError):
    """An output would take longer than allowed: its estimated FLOPs are over the
    limit (``max_flops``); the message gives the estimate, in FLOPs and seconds,
    and the cheaper ways there are."""


class UnsupportedError(TnqError, TypeError):
    """An output or a function transformation (``jax.jit``, ``vmap``, ...) that the
    Program's strategy does not support; the message names the strategies that do."""


class MissingDependencyError(TnqError, ImportError):
    """An optional package that a feature needs is not installed; the message
    names the package and the extra that installs it (``pip install "tnq[torch]"``)."""


class GradientError(TnqError, ValueError):
    """A gradient cannot be computed as asked (no shift rule, no autodiff backend)."""


class ExecutorError(TnqError, RuntimeError):
    """An executor returned results that do not match the circuits it was given."""
