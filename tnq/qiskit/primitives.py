"""Qiskit's primitives backed by compiled tnq Programs: :class:`Estimator`, :class:`Sampler`.

Drop-in replacements for Qiskit's ``StatevectorEstimator`` and
``StatevectorSampler`` (``BaseEstimatorV2`` / ``BaseSamplerV2``): the same
PUBs, broadcasting, options and result types. Each circuit structure is
converted (:func:`~tnq.qiskit.from_qiskit`) and compiled once, and kept in a
bounded cache inside the primitive; the parameter values of a PUB are one
batched call. When every gate is one tnq has, the numeric angles are data
inputs of the Program, so circuits bound to other numbers share it too.
Wide circuits use whatever strategy tnq picks (lightcones for local
observables), so a PUB on 100 qubits is fine where a state vector is not.

This module imports Qiskit.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.primitives.containers import (
    BitArray,
    DataBin,
    EstimatorPubLike,
    PrimitiveResult,
    PubResult,
    SamplerPubLike,
    SamplerPubResult,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.primitives.primitive_job import PrimitiveJob

from .. import checks
from ..checks import show
from ..errors import CompileError, ObservableError, ParameterError
from ..memo import Memo
from ..observables import Observable, observable
from ..program import STRATEGIES, Program, compile
from ..strategies.networks import DENSE_SAMPLE_QUBITS
from .convert import _NOT_GATES, Converted, _tnq_name, convert, numeric_angles

__all__ = ["Estimator", "Sampler"]


class _Primitive:
    """Compiled Programs of the circuits seen, by structure (a bounded cache)."""

    def __init__(self, *, strategy: str, max_memory: int | None, max_bond: int | None,
                 cache_size: int, seed):
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ParameterError(f"cache_size must be a positive integer, got {show(cache_size)}")
        if not isinstance(strategy, str) or strategy not in STRATEGIES:
            raise CompileError(f"strategy={strategy!r} is not available; expected one of "
                               f"{STRATEGIES}")
        if max_bond is not None and (isinstance(max_bond, bool) or not isinstance(
                max_bond, (int, np.integer)) or max_bond < 1):
            raise CompileError(f"max_bond must be a positive integer or None, got "
                               f"{show(max_bond)}")
        self._seed = checks.seed(seed)
        self._strategy, self._max_bond = strategy, max_bond
        self._max_memory = None if max_memory is None else checks.positive_bytes(max_memory)
        self._converted = Memo(cache_size, travel=False)
        self._programs = Memo(cache_size, travel=False)

    @property
    def seed(self):
        """The seed (or numpy Generator) each PUB's random numbers start from."""
        return self._seed

    def _convert(self, circuit) -> tuple[Hashable, Converted, np.ndarray | None]:
        """The circuit's structure key, its conversion (made once per key), and its
        numeric angles when the conversion made them data inputs."""
        key, lifted = _fingerprint(circuit)
        converted, _ = self._converted.get(
            key, lambda: (convert(circuit, type(self).__name__, lift=lifted), circuit))
        angles = np.array(numeric_angles(circuit)) if converted.lifted else None
        return key, converted, angles

    def _program(self, key: Hashable, converted: Converted, observables=None) -> Program:
        return self._programs.get((key, observables), lambda: compile(
            converted.circuit, None if observables is None else list(observables),
            strategy=self._strategy, max_memory=self._max_memory, max_bond=self._max_bond,
            progress=False))

    @property
    def programs(self) -> list[Program]:
        """The Programs compiled so far (least recently used first)."""
        return [p for _, p in self._programs.items()]


def _fingerprint(circuit) -> tuple[Hashable, bool]:
    """What the conversion of ``circuit`` depends on: its instructions (names,
    bits, parameters as text) and registers; and whether its numeric angles
    are left out of that (every gate is one tnq has: the numbers become data
    inputs). An instruction other than a standard gate is also keyed by its
    identity (its definition may differ under one name); the circuit is kept
    with the cached conversion, so that identity is not reused while the entry
    lives."""
    from qiskit.circuit import ParameterExpression

    native = all(_tnq_name(item.operation) is not None or item.operation.name in _NOT_GATES
                 for item in circuit.data)
    rows = []
    for item in circuit.data:
        op = item.operation
        params = tuple(p.tobytes() if isinstance(p, np.ndarray) else
                       "#" if native and not (isinstance(p, ParameterExpression) and p.parameters)
                       else str(p) for p in op.params)
        standard = getattr(op, "_standard_gate", None) is not None or op.name in _NOT_GATES
        rows.append((op.name, tuple(circuit.find_bit(q).index for q in item.qubits),
                     tuple(circuit.find_bit(c).index for c in item.clbits), params,
                     None if standard or native else id(op)))
    regs = tuple((r.name, r.size) for r in circuit.cregs)
    names = tuple(p.name for p in circuit.parameters)
    return (circuit.num_qubits, circuit.num_clbits, regs, names, native, tuple(rows)), native


def _values(pub, converted: Converted, program: Program) -> np.ndarray:
    """The PUB's parameter values as tnq flat vectors, shape ``pub_shape + (P,)``."""
    qiskit_values = pub.parameter_values.as_array(converted.parameters)
    flat = np.zeros(qiskit_values.shape[:-1] + (program.num_params,))
    flat[..., converted.index] = qiskit_values
    return flat


class Estimator(_Primitive, BaseEstimatorV2):
    """Qiskit's ``EstimatorV2`` on tnq: expectation values of PUBs.

    Parameters
    ----------
    default_precision : float
        Used when neither ``run`` nor a PUB gives one. ``0`` gives exact
        values; otherwise each value gets normal noise of that standard
        deviation, drawn as Qiskit's ``StatevectorEstimator`` draws it (one
        generator per PUB from ``seed``, values in C order), and ``stds``
        reports it.
    seed : int or numpy Generator, optional
    strategy, max_memory, max_bond :
        Passed to :func:`tnq.compile`.
    cache_size : int
        How many circuit structures (and observable sets) to keep compiled.

    Examples
    --------
    >>> import numpy as np
    >>> from qiskit.circuit.library import real_amplitudes
    >>> from qiskit.quantum_info import SparsePauliOp
    >>> from tnq.qiskit import Estimator
    >>> qc = real_amplitudes(3, reps=1)
    >>> observables = [SparsePauliOp("ZZI"), SparsePauliOp(["IIX", "ZII"], [0.5, 0.5])]
    >>> values = np.zeros((4, 1, qc.num_parameters))
    >>> result = Estimator().run([(qc, observables, values)]).result()[0]
    >>> result.data.evs.shape, result.data.evs[0].tolist()
    ((4, 2), [1.0, 0.5])
    """

    def __init__(self, *, default_precision: float = 0.0, seed=None, strategy: str = "auto",
                 max_memory: int | None = None, max_bond: int | None = None,
                 cache_size: int = 16):
        super().__init__(strategy=strategy, max_memory=max_memory, max_bond=max_bond,
                         cache_size=cache_size, seed=seed)
        self._default_precision = _precision(default_precision, "default_precision")

    @property
    def default_precision(self) -> float:
        return self._default_precision

    def run(self, pubs: Iterable[EstimatorPubLike], *,
            precision: float | None = None) -> PrimitiveJob[PrimitiveResult[PubResult]]:
        """Estimate the PUBs ``(circuit, observables[, parameter_values[, precision]])``."""
        precision = self._default_precision if precision is None else \
            _precision(precision, "precision")
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult[PubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        rng = np.random.default_rng(self._seed)
        key, converted, angles = self._convert(pub.circuit)
        distinct: dict[Observable, int] = {}
        where = np.zeros(pub.observables.shape, dtype=np.int64)
        for index in np.ndindex(*pub.observables.shape):
            obs = _observable(pub.observables, index)
            where[index] = distinct.setdefault(obs, len(distinct))
        program = self._program(key, converted, tuple(distinct))
        flat = _values(pub, converted, program)
        rows = _rows(flat)
        values = _expectations(program, rows, angles)  # (rows, K)
        shape = pub.shape
        row = np.broadcast_to(np.arange(len(rows)).reshape(flat.shape[:-1]), shape)
        evs = values[row, np.broadcast_to(where, shape)]
        precision = float(pub.precision or 0.0)
        if precision != 0:
            evs = rng.normal(evs, precision)
        stds = np.full(shape, precision)
        return PubResult(DataBin(evs=evs, stds=stds, shape=shape),
                         metadata={"target_precision": precision,
                                   "circuit_metadata": pub.circuit.metadata})


def _rows(flat: np.ndarray) -> np.ndarray:
    """``(..., P)`` values as ``(rows, P)`` (also for ``P = 0``)."""
    return flat.reshape(int(np.prod(flat.shape[:-1])), flat.shape[-1])


def _precision(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= float(value) < np.inf:
        raise ParameterError(f"{name} must be a non-negative number, got {show(value)}")
    return float(value)


def _observable(observables, index: tuple) -> Observable:
    """One element of a Qiskit ``ObservablesArray`` as a tnq observable."""
    item = observables.slice(index) if hasattr(observables, "slice") else observables[index]
    try:
        if isinstance(item, Mapping):  # Qiskit 1.x: {little-endian label: coefficient}
            from qiskit.quantum_info import SparsePauliOp

            item = SparsePauliOp.from_list(list(item.items()))
        return observable(item)
    except ObservableError as exc:
        raise ObservableError(f"observable {index}: {exc}") from None


def _expectations(program: Program, rows: np.ndarray, angles) -> np.ndarray:
    """The Program's values for each row of flat parameters: ``(rows, K)``."""
    if not program.num_params:
        return np.broadcast_to(np.asarray(program(None, angles)).reshape(1, -1), (len(rows), len(
            program.observables)))
    step = program.batch_limit()
    return np.concatenate([np.asarray(program(rows[start:start + step], angles)).reshape(
        -1, len(program.observables)) for start in range(0, len(rows), step)])


class Sampler(_Primitive, BaseSamplerV2):
    """Qiskit's ``SamplerV2`` on tnq: measured bits of PUBs, per classical register.

    Measurements must come at the end (as for Qiskit's ``StatevectorSampler``);
    a classical bit never measured reads 0. Each register's bits come as a
    ``BitArray`` in the PUB's ``DataBin``, Qiskit's bit order (bit 0 of the
    register is the rightmost in ``get_counts`` keys).

    Parameters
    ----------
    default_shots : int
        Used when neither ``run`` nor a PUB gives shots.
    seed : int or numpy Generator, optional
        Each PUB draws from ``numpy.random.default_rng(seed)``.
    strategy, max_memory, max_bond, cache_size :
        As for :class:`Estimator`.

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> from tnq.qiskit import Sampler
    >>> qc = QuantumCircuit(2)
    >>> _ = qc.h(0)
    >>> _ = qc.cx(0, 1)
    >>> _ = qc.measure_all()
    >>> counts = Sampler(seed=1).run([qc], shots=100).result()[0].data.meas.get_counts()
    >>> sorted(counts), sum(counts.values())
    (['00', '11'], 100)
    """

    def __init__(self, *, default_shots: int = 1024, seed=None, strategy: str = "auto",
                 max_memory: int | None = None, max_bond: int | None = None,
                 cache_size: int = 16):
        super().__init__(strategy=strategy, max_memory=max_memory, max_bond=max_bond,
                         cache_size=cache_size, seed=seed)
        self._default_shots = checks.shots(default_shots, "default_shots")

    @property
    def default_shots(self) -> int:
        return self._default_shots

    def run(self, pubs: Iterable[SamplerPubLike], *,
            shots: int | None = None) -> PrimitiveJob[PrimitiveResult[SamplerPubResult]]:
        """Sample the PUBs ``(circuit[, parameter_values[, shots]])``."""
        shots = self._default_shots if shots is None else checks.shots(shots)
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[SamplerPub]) -> PrimitiveResult[SamplerPubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: SamplerPub) -> SamplerPubResult:
        rng = np.random.default_rng(self._seed)
        key, converted, angles = self._convert(pub.circuit)
        program = self._program(key, converted)
        shots = int(pub.shots)  # type: ignore[arg-type]
        qubits = sorted(set(converted.measured.values()))
        flat = _values(pub, converted, program)
        rows = _rows(flat)
        samples = _samples(program, rows, angles, qubits, shots, rng)  # (rows, shots, len(qubits))
        samples = samples.reshape(pub.shape + (shots, len(qubits)))
        column = {q: k for k, q in enumerate(qubits)}
        bits = {}
        circuit = pub.circuit
        for reg in circuit.cregs:
            out = np.zeros(pub.shape + (shots, reg.size), dtype=bool)
            for j, clbit in enumerate(reg):
                q = converted.measured.get(circuit.find_bit(clbit).index)
                if q is not None:
                    out[..., j] = samples[..., column[q]]
            bits[reg.name] = BitArray.from_bool_array(out, order="little")
        return SamplerPubResult(DataBin(**bits, shape=pub.shape),
                                metadata={"shots": shots, "circuit_metadata": circuit.metadata})


def _samples(program: Program, rows: np.ndarray, angles, qubits: list[int], shots: int,
             rng: np.random.Generator) -> np.ndarray:
    """``shots`` outcomes of ``qubits`` (sorted, distinct) per row of parameters:
    ``(rows, shots, k)`` bools."""
    k = len(qubits)
    out = np.zeros((len(rows), shots, k), dtype=bool)
    if not k:
        return out
    params = program.num_params > 0
    n = program.num_qubits
    if n <= DENSE_SAMPLE_QUBITS:  # batched probabilities of all qubits, then marginals
        step = program.batch_limit() if params else len(rows)
        others = tuple(q for q in range(n) if q not in qubits)
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]
            probs = np.asarray(program.probabilities(chunk if params else None, angles))
            probs = probs.reshape((-1,) + (2,) * n).sum(axis=tuple(1 + q for q in others))
            for b, p in enumerate(np.broadcast_to(probs.reshape(-1, 2**k), (len(chunk), 2**k))):
                out[start + b] = _draw(p, shots, k, rng)
        return out
    for b, row in enumerate(rows):
        if k <= DENSE_SAMPLE_QUBITS:
            p = np.asarray(program.probabilities(row if params else None, angles,
                                                    qubits=qubits))
            out[b] = _draw(p.reshape(-1), shots, k, rng)
        else:
            out[b] = program.sample(shots, row if params else None, angles,
                                    seed=rng)[:, qubits]
    return out


def _draw(p: np.ndarray, shots: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` outcomes of ``k`` bits (first bit most significant in ``p``'s index)."""
    p = np.clip(p, 0, None)
    draws = rng.choice(2**k, size=shots, p=p / p.sum())
    return ((draws[:, None] >> np.arange(k - 1, -1, -1)) & 1).astype(bool)
