"""Run tnq circuits on a Qiskit backend: the hardware path of parameter shift.

``QiskitExecutor(backend)`` is an :class:`~tnq.gradients.executors.Executor`:
pass it to :func:`tnq.param_shift` to estimate gradients from shots on any
Qiskit ``BackendV2``, for example Qiskit Aer's simulator with a noise model.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..checks import show
from ..circuit import Circuit
from ..errors import ExecutorError, ParameterError
from ..optional import require
from ..qasm import to_qasm

__all__ = ["QiskitExecutor", "to_qiskit"]


def to_qiskit(circuit: Circuit):
    """A ``qiskit.QuantumCircuit`` of ``circuit`` (numeric parameters), measured."""
    qasm2 = require("qiskit.qasm2", "tnq.gradients.to_qiskit")
    qc = qasm2.loads(to_qasm(circuit),
                     custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qc.measure_all()
    return qc


class QiskitExecutor:
    """Executes circuits on a Qiskit backend and returns tnq-ordered counts.

    Parameters
    ----------
    backend : qiskit BackendV2
        For example ``qiskit_aer.AerSimulator()`` (optionally with a noise model).
    optimization_level : int
        Passed to ``qiskit.transpile``.

    Examples
    --------
    >>> import tnq
    >>> from qiskit_aer import AerSimulator
    >>> ex = QiskitExecutor(AerSimulator())
    >>> counts = ex.run([tnq.Circuit(2).x(0)], shots=10, seed=1)[0]
    >>> counts  # qubit 0 first, unlike Qiskit's own keys
    {'10': 10}
    """

    def __init__(self, backend, *, optimization_level: int = 1):
        require("qiskit", "tnq.QiskitExecutor")
        if not callable(getattr(backend, "run", None)):
            raise ExecutorError(f"QiskitExecutor needs a Qiskit backend with a run() method "
                                f"(e.g. qiskit_aer.AerSimulator()), got {show(backend)}")
        self.backend = backend
        self.optimization_level = optimization_level

    def run(self, circuits: Sequence[Circuit], shots: int,
            seed: int | None = None) -> list[dict[str, int]]:
        qiskit = require("qiskit", "tnq.QiskitExecutor")
        if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
            raise ParameterError(f"shots must be a positive integer, got {shots!r}")
        qcs = qiskit.transpile([to_qiskit(c) for c in circuits], self.backend,
                               optimization_level=self.optimization_level,
                               seed_transpiler=seed)
        options = {"shots": shots}
        if seed is not None and hasattr(self.backend.options, "seed_simulator"):
            options["seed_simulator"] = seed
        result = self.backend.run(qcs, **options).result()
        out = []
        for i, c in enumerate(circuits):
            counts = result.get_counts(i)
            n = c.num_qubits
            tnq_counts: dict[str, int] = {}
            for key, value in counts.items():
                bits = key.replace(" ", "")
                if len(bits) != n:
                    raise ExecutorError(f"backend returned outcome {key!r} for circuit {i}; "
                                        f"expected {n} bits")
                tnq_counts[bits[::-1]] = tnq_counts.get(bits[::-1], 0) + int(value)
            out.append(tnq_counts)
        return out
