"""Qiskit interop: circuits in and out, primitives, and an executor for parameter shift.

- :func:`from_qiskit` / :func:`to_qiskit` (:mod:`tnq.qiskit.convert`): a
  ``QuantumCircuit`` as a tnq circuit, named parameters kept, and back.
- :class:`Estimator` / :class:`Sampler` (:mod:`tnq.qiskit.primitives`): Qiskit's
  ``BaseEstimatorV2`` / ``BaseSamplerV2`` backed by compiled tnq Programs.
- :class:`QiskitExecutor` (:mod:`tnq.qiskit.executor`): runs tnq's
  parameter-shift circuits on a Qiskit backend or ``SamplerV2`` primitive.

Importing this package does not import Qiskit; the primitives do, when first
asked for. Qiskit's ``SparsePauliOp``, ``Pauli`` and ``SparseObservable`` are
accepted wherever tnq takes an observable (:func:`tnq.observable`).
"""

from ..optional import require
from .convert import from_qiskit, to_qiskit
from .executor import QiskitExecutor

__all__ = ["from_qiskit", "to_qiskit", "QiskitExecutor", "Estimator", "Sampler"]


def __getattr__(name: str):
    """The primitives subclass Qiskit's base classes: imported when asked for."""
    if name in ("Estimator", "Sampler"):
        require("qiskit", f"tnq.qiskit.{name}")  # names the extra when Qiskit is missing
        from . import primitives

        return getattr(primitives, name)
    raise AttributeError(f"module 'tnq.qiskit' has no attribute {name!r}")
