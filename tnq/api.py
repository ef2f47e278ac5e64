"""One-shot functions: compile and evaluate in one call.

Each takes the circuit first and options by keyword. Paths are cached by
structure, so calling one again on a circuit of the same shape does no path
search; for many calls, :func:`tnq.compile` once and call the Program.
``progress=False`` turns off the progress bars that work estimated over a
couple of seconds shows (see :func:`tnq.compile`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .circuit import Circuit
from .plan import PathCache
from .program import DEFAULT_CUTOFF, MAX_SAMPLE_FLOPS, Program
from .program import compile as compile_program

__all__ = ["expectation", "amplitude", "state", "probabilities", "sample", "compile"]


def compile(circuit: Circuit, observable=None, *, client=None,
            chunk_size: int | None = None, strategy: str = "auto", optimize="auto",
            max_memory: int | None = None, dtype: str = "complex128",
            cache: PathCache | None = None, max_bond: int | None = None,
            cutoff: float = DEFAULT_CUTOFF, min_fidelity: float | None = None,
            progress: bool = True, threshold: float | None = None,
            target_fidelity: float | None = None):
    """:func:`tnq.program.compile`, run on a Dask cluster when ``client`` is given.

    Without ``client`` it returns the
    :class:`~tnq.Program` and Dask is never imported. With a
    ``dask.distributed.Client`` (or a scheduler address) it returns
    ``tnq.distribute(program, client, chunk_size=chunk_size)``: a
    :class:`~tnq.distributed.DistributedProgram` that runs batches and
    parameter-shift circuits on the cluster (see docs/scaling.md). The other
    options are :func:`tnq.program.compile`'s.

    Examples
    --------
    >>> import tnq
    >>> tnq.compile(tnq.Circuit(2).h(0).cx(0, 1), "Z0 Z1")
    Program(num_qubits=2, gates=2, observable='Z0 Z1')
    """
    program: Program = compile_program(
        circuit, observable, strategy=strategy, optimize=optimize, max_memory=max_memory,
        dtype=dtype, cache=cache, max_bond=max_bond, cutoff=cutoff, min_fidelity=min_fidelity,
        progress=progress, threshold=threshold, target_fidelity=target_fidelity)
    if client is None:
        return program
    from .distributed import distribute

    return distribute(program, client, chunk_size=chunk_size)


def expectation(circuit: Circuit, observable, *, params=None, inputs=None,
                strategy: str = "auto", optimize="auto", max_memory: int | None = None,
                dtype: str = "complex128", progress: bool = True,
                threshold: float | None = None):
    """Expectation value of ``observable`` (text or object) in the circuit's state.

    Examples
    --------
    >>> import tnq
    >>> c = tnq.Circuit(2).h(0).cx(0, 1)
    >>> float(tnq.expectation(c, "Z0 Z1 - X0 X1"))
    0.0
    """
    program = compile_program(circuit, observable, strategy=strategy, optimize=optimize,
                      max_memory=max_memory, dtype=dtype, progress=progress,
                      threshold=threshold)
    return program(params, inputs)


def amplitude(circuit: Circuit, bits, *, params=None, inputs=None, optimize="auto",
              max_memory: int | None = None, dtype: str = "complex128",
              progress: bool = True):
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
    program = compile_program(circuit, optimize=optimize, max_memory=max_memory, dtype=dtype,
                      progress=progress)
    return program.amplitude(bits, params, inputs)


def state(circuit: Circuit, *, params=None, inputs=None, optimize="auto",
          max_memory: int | None = None, dtype: str = "complex128", progress: bool = True):
    """The full state vector (``2**n`` entries; refused above ``max_memory``)."""
    program = compile_program(circuit, optimize=optimize, max_memory=max_memory, dtype=dtype,
                      progress=progress)
    return program.state(params, inputs)


def probabilities(circuit: Circuit, *, qubits: Sequence[int] | None = None, params=None,
                  inputs=None, optimize="auto", max_memory: int | None = None,
                  dtype: str = "complex128", progress: bool = True):
    """Outcome probabilities of ``qubits`` (all by default), qubit order as given."""
    program = compile_program(circuit, optimize=optimize, max_memory=max_memory, dtype=dtype,
                      progress=progress)
    return program.probabilities(params, inputs, qubits=qubits)


def sample(circuit: Circuit, shots: int, *, params=None, inputs=None, seed=None,
           optimize="auto", max_memory: int | None = None, strategy: str = "auto",
           max_bond: int | None = None, max_flops: float | None = MAX_SAMPLE_FLOPS,
           progress: bool = True) -> np.ndarray:
    """``shots`` seeded samples as a ``(shots, n)`` 0/1 array, qubit 0 in column 0.

    Drawn the cheapest way the strategy has, or refused before anything runs
    when every way is over ``max_memory`` or ``max_flops`` (see
    :meth:`tnq.Program.sample`); ``strategy="mps"`` with ``max_bond`` samples a
    truncated MPS.

    Examples
    --------
    >>> import tnq
    >>> bits = tnq.sample(tnq.Circuit(3).x(1), 4, seed=0)
    >>> bits.tolist()
    [[0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0]]
    """
    program = compile_program(circuit, optimize=optimize, max_memory=max_memory, strategy=strategy,
                      max_bond=max_bond, progress=progress)
    return program.sample(shots, params, inputs, seed=seed, max_flops=max_flops)
