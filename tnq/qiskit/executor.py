"""Run tnq circuits through Qiskit: the hardware path of parameter shift.

``QiskitExecutor(target)`` is an :class:`~tnq.gradients.executors.Executor`:
pass it to :func:`tnq.param_shift` to estimate gradients from shots. The
target is a Qiskit ``BackendV2`` (``backend.run``; for example Qiskit Aer's
simulator with a noise model) or a ``SamplerV2`` primitive (Aer's
``SamplerV2``, IBM Runtime's ``SamplerV2``, Qiskit's ``StatevectorSampler``,
:class:`tnq.qiskit.Sampler`): the interface real devices are used through.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .. import checks
from ..checks import show
from ..circuit import Circuit
from ..errors import ExecutorError, ParameterError
from ..gradients.executors import _structure, rebuild
from ..optional import require
from ..symbols import parameters
from .convert import to_qiskit

__all__ = ["QiskitExecutor"]


class QiskitExecutor:
    """Executes circuits on a Qiskit backend or sampler; counts come back tnq-ordered.

    Circuits of one structure (the shifted circuits of parameter shift, in
    one measurement setting) are built once as a parametrized Qiskit circuit
    and prepared once (``pass_manager``, or ``transpile`` for a backend);
    each circuit is that one with its numbers bound, all of them in one job
    (a PUB each for a sampler). A primitive draws with its own seed (give it
    one when you build it, e.g. ``SamplerV2(seed=1)``); the ``seed`` of
    :meth:`run` seeds a backend's simulator only.

    Parameters
    ----------
    target : qiskit BackendV2 or BaseSamplerV2
        For example ``qiskit_aer.AerSimulator()`` (optionally with a noise
        model) or ``qiskit_aer.primitives.SamplerV2()``.
    optimization_level : int
        For a backend without ``pass_manager``: passed to ``qiskit.transpile``.
    pass_manager : qiskit PassManager, optional
        Prepares the circuits (hardware needs ISA circuits:
        ``generate_preset_pass_manager(backend=..., optimization_level=1)``).
        Without it, a backend's circuits are transpiled for it, and a sampler
        gets them as :func:`tnq.to_qiskit` builds them (``fsim`` decomposed).
    cache_size : int
        How many circuit structures to keep prepared.

    Examples
    --------
    >>> import tnq
    >>> from qiskit_aer import AerSimulator
    >>> ex = QiskitExecutor(AerSimulator())
    >>> counts = ex.run([tnq.Circuit(2).x(0)], shots=10, seed=1)[0]
    >>> counts  # qubit 0 first, unlike Qiskit's own keys
    {'10': 10}
    >>> from qiskit.primitives import StatevectorSampler
    >>> QiskitExecutor(StatevectorSampler(seed=1)).run([tnq.Circuit(2).x(1)], shots=10)
    [{'01': 10}]
    """

    def __init__(self, target, *, optimization_level: int = 1, pass_manager=None,
                 cache_size: int = 16):
        primitives = require("qiskit.primitives", "tnq.QiskitExecutor")
        self.sampler = isinstance(target, primitives.BaseSamplerV2)
        if not self.sampler and not callable(getattr(target, "run", None)):
            raise ExecutorError(f"QiskitExecutor needs a Qiskit BackendV2 with a run() method "
                                f"(e.g. qiskit_aer.AerSimulator()) or a SamplerV2 primitive "
                                f"(e.g. qiskit_aer.primitives.SamplerV2()), got {show(target)}")
        if pass_manager is not None and not callable(getattr(pass_manager, "run", None)):
            raise ExecutorError(f"pass_manager must be a Qiskit PassManager (with run()), got "
                                f"{show(pass_manager)}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ParameterError(f"cache_size must be a positive integer, got "
                                 f"{show(cache_size)}")
        self.target = target
        self.backend = None if self.sampler else target
        self.optimization_level = optimization_level
        self.pass_manager = pass_manager
        self.cache_size = cache_size
        self._templates: OrderedDict = OrderedDict()

    def run(self, circuits: Sequence[Circuit], shots: int,
            seed: int | None = None) -> list[dict[str, int]]:
        """Sample each circuit ``shots`` times; counts keyed qubit 0 first."""
        shots = checks.shots(shots)
        circuits = list(circuits)
        for i, c in enumerate(circuits):
            if not isinstance(c, Circuit) or c.num_params or c.num_inputs:
                raise ParameterError(f"circuit {i} must be a tnq.Circuit with numeric "
                                     "parameters only (bind symbols before running)")
        qcs = self._bound(circuits)
        if self.sampler:
            results = self.target.run([(qc,) for qc in qcs], shots=shots).result()
            counts = [r.data.meas.get_counts() for r in results]
        else:
            options: dict = {"shots": shots}
            if seed is not None and hasattr(self.target.options, "seed_simulator"):
                options["seed_simulator"] = seed
            result = self.target.run(qcs, **options).result()
            counts = [result.get_counts(i) for i in range(len(qcs))]
        return [_tnq_counts(k, c.num_qubits, i) for i, (k, c) in enumerate(zip(counts, circuits))]

    def _bound(self, circuits: list[Circuit]) -> list:
        """The circuits as Qiskit circuits ready to run: each structure prepared
        once (:meth:`_template`), then its numbers bound (Qiskit Aer 0.18's
        SamplerV2 binds the parameters of some gates, ``crx`` and ``cp``
        among them, wrongly; binding here avoids that)."""
        out: list = [None] * len(circuits)
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(circuits):
            groups.setdefault(_structure(c), []).append(i)
        for key, idx in groups.items():
            qc, params, cols = self._template(key, circuits[idx[0]])
            values = np.array([[float(p) for op in circuits[i].ops  # type: ignore[arg-type]
                                for p in op.params] for i in idx]).reshape(len(idx), -1)
            for i, row in zip(idx, values[:, cols]):
                out[i] = qc.assign_parameters(dict(zip(params, row)))
        return out

    def _template(self, key: tuple, circuit: Circuit):
        """The circuit's structure as a measured, parametrized Qiskit circuit
        (after the pass manager, or transpiled for a backend), its parameters,
        and the gate numbers (their positions among all gate numbers) they
        stand for."""
        hit = self._templates.get(key)
        if hit is None:
            count = sum(len(op.params) for op in circuit.ops)
            theta = iter(parameters(count or 1, "shift"))
            template = rebuild(circuit.ops, circuit.num_qubits,
                               [[next(theta) for _ in op.params] for op in circuit.ops])
            qc = to_qiskit(template, measure=True)
            names = [f"shift[{k}]" for k in range(count)]
            if self.pass_manager is not None:
                qc = self.pass_manager.run(qc)
            elif not self.sampler:
                qiskit = require("qiskit", "tnq.QiskitExecutor")
                qc = qiskit.transpile(qc, self.target, optimization_level=self.optimization_level,
                                      seed_transpiler=0)
            elif any(op.name == "fsim" for op in circuit.ops):
                qc = qc.decompose(gates_to_decompose=["fsim"])
            present = {p.name: p for p in qc.parameters}
            cols = [k for k, name in enumerate(names) if name in present]
            hit = self._templates[key] = (qc, [present[names[k]] for k in cols], cols)
            while len(self._templates) > self.cache_size:
                self._templates.popitem(last=False)
        self._templates.move_to_end(key)
        return hit


def _tnq_counts(counts, n: int, i: int) -> dict[str, int]:
    """Qiskit counts (little-endian keys) as tnq counts (qubit 0 first)."""
    out: dict[str, int] = {}
    for key, value in counts.items():
        bits = key.replace(" ", "")
        if len(bits) != n:
            raise ExecutorError(f"Qiskit returned outcome {key!r} for circuit {i}; "
                                f"expected {n} bits")
        out[bits[::-1]] = out.get(bits[::-1], 0) + int(value)
    return out
