"""One-shot functions: compile and evaluate in one call.

Each takes the circuit first and options by keyword. Paths are cached by
structure, so calling one again on a circuit of the same shape does no path
search; for many calls, :func:`tnq.compile` once and call the Program.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .circuit import Circuit
from .program import compile

__all__ = ["expectation", "amplitude", "state", "probabilities", "sample"]


def expectation(circuit: Circuit, observable, *, params=None, inputs=None,
                strategy: str = "auto", optimize="auto", max_memory: int | None = None,
                dtype: str = "complex128"):
    """Expectation value of ``observable`` (text or object) in the circuit's state.

    Examples
    --------
    >>> import tnq
    >>> c = tnq.Circuit(2).h(0).cx(0, 1)
    >>> float(tnq.expectation(c, "Z0 Z1 - X0 X1"))
    0.0
    """
    program = compile(circuit, observable, strategy=strategy, optimize=optimize,
                      max_memory=max_memory, dtype=dtype)
    return program(params, inputs)


def amplitude(circuit: Circuit, bits, *, params=None, inputs=None, optimize="auto",
              max_memory: int | None = None, dtype: str = "complex128"):
    """Amplitude(s) ``<bits|U|0>``; ``bits`` is one string like ``"0110"`` or many.

    Examples
    --------
    >>> import tnq
    >>> c = tnq.Circuit(150).h(0)
    >>> for q in range(149):
    ...     _ = c.cx(q, q + 1)
    >>> round(abs(complex(tnq.amplitude(c, "1" * 150))) ** 2, 12)
    0.5
    """
    program = compile(circuit, optimize=optimize, max_memory=max_memory, dtype=dtype)
    return program.amplitude(bits, params, inputs)


def state(circuit: Circuit, *, params=None, inputs=None, optimize="auto",
          max_memory: int | None = None, dtype: str = "complex128"):
    """The full state vector (``2**n`` entries; refused above ``max_memory``)."""
    program = compile(circuit, optimize=optimize, max_memory=max_memory, dtype=dtype)
    return program.state(params, inputs)


def probabilities(circuit: Circuit, *, qubits: Sequence[int] | None = None, params=None,
                  inputs=None, optimize="auto", max_memory: int | None = None,
                  dtype: str = "complex128"):
    """Outcome probabilities of ``qubits`` (all by default), qubit order as given."""
    program = compile(circuit, optimize=optimize, max_memory=max_memory, dtype=dtype)
    return program.probabilities(params, inputs, qubits=qubits)


def sample(circuit: Circuit, shots: int, *, params=None, inputs=None, seed=None,
           optimize="auto", max_memory: int | None = None) -> np.ndarray:
    """``shots`` seeded samples as a ``(shots, n)`` 0/1 array, qubit 0 in column 0."""
    program = compile(circuit, optimize=optimize, max_memory=max_memory)
    return program.sample(shots, params, inputs, seed=seed)
