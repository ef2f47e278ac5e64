"""Executors: whatever runs circuits and returns counts, as a device would.

An :class:`Executor` is anything with ``run(circuits, shots, seed) -> counts``:
tnq's own sampler (:class:`TnqExecutor`), a Qiskit backend
(:class:`tnq.gradients.qiskit.QiskitExecutor`), or a user's device adapter.
Counts map bitstrings (qubit 0 first) to how often they were seen.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .. import checks
from ..circuit import Circuit, Op
from ..errors import ParameterError
from ..program import Program
from ..strategies.networks import DENSE_SAMPLE_QUBITS
from ..symbols import Symbol, parameters

__all__ = ["Executor", "TnqExecutor", "rebuild"]


@runtime_checkable
class Executor(Protocol):
    """Runs circuits with numeric parameters and returns one counts mapping each."""

    def run(self, circuits: Sequence[Circuit], shots: int,
            seed: int | None = None) -> Sequence[Mapping[str, int]]:
        """Sample every circuit ``shots`` times; seeded runs must be reproducible."""
        ...


def rebuild(ops: Sequence[Op], num_qubits: int, params: Sequence[Sequence]) -> Circuit:
    """A circuit with the gates of ``ops`` and the parameters ``params[i]`` for gate ``i``.

    The gates and qubits were validated when ``ops`` were built; only the new
    parameters are checked (finite numbers or symbols).
    """
    new = []
    for i, (op, ps) in enumerate(zip(ops, params)):
        ps = tuple(ps)
        for p in ps:
            if not isinstance(p, Symbol) and not math.isfinite(p):
                raise ParameterError(f"gate {i} ({op.name} on {op.qubits}) got parameter "
                                     f"{p!r}; expected a finite number")
        same = len(ps) == len(op.params) and all(a is b for a, b in zip(ps, op.params))
        new.append(op if same else Op(op.name, op.qubits, ps, op.matrix))
    return Circuit._from_ops(num_qubits, new)


def _structure(circuit: Circuit) -> tuple:
    return (circuit.num_qubits,) + tuple(
        (op.name, op.qubits, len(op.params),
         None if op.matrix is None else op.matrix.tobytes()) for op in circuit.ops)


class TnqExecutor:
    """tnq's exact sampler as an :class:`Executor`.

    Circuits of one structure (same gates on the same qubits, any parameter
    values) become one compiled Program whose parameters are all the gates'
    numbers; their probabilities come from one batched contraction, and shots
    are drawn from them. Programs are kept (a bounded cache) so the shifted
    circuits of every training step reuse the same plan.

    Parameters
    ----------
    max_memory : int, optional
        Passed to :func:`tnq.compile`.
    cache_size : int
        How many circuit structures to keep compiled.

    Examples
    --------
    >>> import tnq
    >>> ex = tnq.TnqExecutor()
    >>> bell = tnq.Circuit(2).h(0).cx(0, 1)
    >>> counts = ex.run([bell], shots=1000, seed=1)[0]
    >>> sorted(counts), sum(counts.values())
    (['00', '11'], 1000)
    """

    def __init__(self, *, max_memory: int | None = None, cache_size: int = 16):
        self.max_memory = None if max_memory is None else checks.positive_bytes(max_memory)
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ParameterError(f"cache_size must be a positive integer, got "
                                 f"{checks.show(cache_size)}")
        self.cache_size = cache_size
        self._programs: OrderedDict = OrderedDict()

    def run(self, circuits: Sequence[Circuit], shots: int,
            seed: int | None = None) -> list[dict[str, int]]:
        """Sample each circuit ``shots`` times (qubit 0 is the first character)."""
        shots = checks.shots(shots)
        rng = np.random.default_rng(checks.seed(seed))
        circuits = list(circuits)
        for i, c in enumerate(circuits):
            if not isinstance(c, Circuit) or c.num_params or c.num_inputs:
                raise ParameterError(f"circuit {i} must be a tnq.Circuit with numeric "
                                     "parameters only (bind symbols before running)")
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(circuits):
            groups.setdefault(_structure(c), []).append(i)
        out: list[dict[str, int]] = [{} for _ in circuits]
        for key, members in groups.items():
            program = self._program(key, circuits[members[0]])
            values = np.array([[float(p) for op in circuits[i].ops  # type: ignore[arg-type]
                                for p in op.params]
                               for i in members]).reshape(len(members), program.num_params)
            for i, counts in zip(members, self._sample(program, values, int(shots), rng)):
                out[i] = counts
        return out

    def _program(self, key: tuple, circuit: Circuit) -> Program:
        hit = self._programs.get(key)
        if hit is None:
            theta = iter(parameters(sum(len(op.params) for op in circuit.ops) or 1))
            template = rebuild(circuit.ops, circuit.num_qubits,
                               [[next(theta) for _ in op.params] for op in circuit.ops])
            hit = self._programs[key] = Program(template, max_memory=self.max_memory)
            while len(self._programs) > self.cache_size:
                self._programs.popitem(last=False)
        self._programs.move_to_end(key)
        return hit

    def _sample(self, program: Program, values: np.ndarray, shots: int, rng):
        n = program.num_qubits
        if n > DENSE_SAMPLE_QUBITS:
            for row in values:
                bits = program.sample(shots, row if row.size else None,
                                      seed=int(rng.integers(2**63)))
                keys, counts = np.unique(bits, axis=0, return_counts=True)
                yield {"".join(map(str, k)): int(c) for k, c in zip(keys, counts)}
            return
        step = program.batch_limit() if values.shape[1] else 1
        labels = np.array([format(k, f"0{n}b") for k in range(2**n)])
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            probs = np.asarray(program.probabilities(chunk if chunk.shape[1] else None))
            probs = np.clip(probs.reshape(-1, 2**n), 0, None)
            for p in np.broadcast_to(probs, (len(chunk), 2**n)):
                draws = rng.multinomial(shots, p / p.sum())
                idx = np.flatnonzero(draws)
                yield dict(zip(labels[idx].tolist(), draws[idx].tolist()))
