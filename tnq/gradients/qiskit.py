"""The former home of tnq's Qiskit interop, kept so that old imports work.

Interop lives in :mod:`tnq.qiskit` now: :func:`tnq.qiskit.to_qiskit`,
:func:`tnq.qiskit.from_qiskit`, :class:`tnq.qiskit.QiskitExecutor`.
"""

from __future__ import annotations

from ..circuit import Circuit
from ..qiskit.convert import to_qiskit as _to_qiskit
from ..qiskit.executor import QiskitExecutor

__all__ = ["QiskitExecutor", "to_qiskit"]


def to_qiskit(circuit: Circuit):
    """A measured ``qiskit.QuantumCircuit`` of ``circuit`` (numeric parameters), as
    this function always gave: :func:`tnq.to_qiskit` with ``measure=True``."""
    return _to_qiskit(circuit, measure=True)
