"""PennyLane tapes as tnq circuits and observables: structure once, numbers per call.

A tape's operations become a :class:`~tnq.Circuit` in which *every* numeric
gate parameter is a symbol of one parameter vector, so the circuit (and the
Program compiled from it) depends only on the gate names and wires: the
numbers arrive per call, in the order :func:`gate_params` lists them.

An observable becomes a list of ``(coefficient, term)``: the terms are Pauli
words (from PennyLane's ``pauli_rep``) or dense Hermitian operators on a few
wires; the coefficients stay PennyLane's numbers (trainable ones included), so
an expectation value is ``sum_k c_k <term_k>`` computed on the call's backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..errors import CircuitError
from ..observables import DenseOperator, PauliString
from ..optional import require
from ..symbols import parameters

qml = require("pennylane", "tnq.pennylane")

__all__ = ["GATES", "NO_OPS", "TARGET_GATES", "supported", "Structure", "structure", "terms",
           "square", "term_observable"]

GATES = {
    "PauliX": "x", "PauliY": "y", "PauliZ": "z", "Hadamard": "h", "S": "s", "T": "t",
    "SX": "sx", "Adjoint(S)": "sdg", "Adjoint(T)": "tdg", "Adjoint(SX)": "sxdg",
    "CNOT": "cx", "CY": "cy", "CZ": "cz", "CH": "ch", "SWAP": "swap", "ISWAP": "iswap",
    "Toffoli": "ccx", "CSWAP": "cswap",
    "RX": "rx", "RY": "ry", "RZ": "rz", "PhaseShift": "p", "U1": "u1", "U2": "u2", "U3": "u3",
    "ControlledPhaseShift": "cp", "CRX": "crx", "CRY": "cry", "CRZ": "crz",
    "IsingXX": "rxx", "IsingYY": "ryy", "IsingZZ": "rzz",
}
"""PennyLane operation name -> the tnq gate with the same matrix and parameters."""
NO_OPS = frozenset({"Identity", "Barrier", "GlobalPhase"})
"""Operations that change no measured value: the identity, barriers, and the global
phase (which only the state shows; it is applied to ``qml.state()``)."""
TARGET_GATES = frozenset(GATES) | NO_OPS
"""What PennyLane's decomposition is asked to reach."""
_PAULI = {"X": np.array([[0, 1], [1, 0]], complex), "Y": np.array([[0, -1j], [1j, 0]]),
          "Z": np.diag([1.0 + 0j, -1.0]), "I": np.eye(2, dtype=complex)}


def supported(op) -> bool:
    """Whether ``op`` runs as it is (otherwise PennyLane decomposes it): a gate of
    :data:`GATES`, a no-op, or a ``QubitUnitary`` with a constant (numpy) matrix."""
    if op.name in TARGET_GATES:
        return True
    return _constant_matrix(op) and (op.name == "QubitUnitary" or not op.has_decomposition)


def _constant_matrix(op) -> bool:
    """Whether ``op`` is a gate with a matrix of numpy numbers (not trainable, not
    broadcast): it runs as a tnq unitary."""
    return op.has_matrix and op.batch_size is None and len(op.wires) > 0 and \
        all(qml.math.get_interface(d) == "numpy" for d in op.data)


class Structure:
    """What a tape's operations are, without their numbers.

    ``key`` is hashable: gate names, qubits and constant matrices; ``slots``
    maps each tape parameter index (PennyLane's numbering of the tape's
    parameters) to its position in the circuit's parameter vector, or to
    ``None`` for a global phase; ``phases`` lists the global phases' tape
    parameter indices. Gates with constant matrices have no slots.
    """

    def __init__(self, key: tuple, slots: dict[int, int | None], phases: tuple[int, ...],
                 matrices: tuple):
        self.key, self.slots, self.phases, self.matrices = key, slots, phases, matrices

    @property
    def num_params(self) -> int:
        return sum(1 for v in self.slots.values() if v is not None)

    def circuit(self, num_qubits: int) -> Circuit:
        """The tnq circuit: every gate parameter a symbol of one vector."""
        theta = parameters(max(self.num_params, 1), "theta")
        circuit, at, unitaries = Circuit(num_qubits), 0, iter(self.matrices)
        for name, qubits, k in self.key:
            if name == "unitary":
                circuit.unitary(next(unitaries), qubits)
                continue
            circuit.apply(name, *qubits, params=[theta[at + j] for j in range(k)])
            at += k
        return circuit


def structure(ops: Sequence, wire_index: dict) -> Structure:
    """The :class:`Structure` of ``ops`` on wires numbered by ``wire_index``."""
    key: list[tuple] = []
    slots: dict[int, int | None] = {}
    phases: list[int] = []
    matrices: list[np.ndarray] = []
    at = index = 0
    for op in ops:
        k = len(op.data)
        if op.name == "GlobalPhase":
            slots[index] = None
            phases.append(index)
        elif op.name in NO_OPS:
            pass
        elif op.name not in GATES and supported(op):  # a constant matrix
            matrix = np.asarray(qml.matrix(op, wire_order=op.wires), dtype=complex)
            key.append(("unitary", tuple(wire_index[w] for w in op.wires), matrix.tobytes()))
            matrices.append(matrix)
        elif op.name in GATES:
            for j in range(k):
                slots[index + j] = at + j
            key.append((GATES[op.name], tuple(wire_index[w] for w in op.wires), k))
            at += k
        else:
            raise CircuitError(f"tnq.qubit cannot apply {op.name} on wires {op.wires.tolist()} "
                               "(it should have been decomposed); expected one of "
                               f"{sorted(TARGET_GATES)} or a constant QubitUnitary")
        index += k
    return Structure(tuple(key), slots, tuple(phases), tuple(matrices))


def gate_params(ops: Sequence, struct: Structure) -> list:
    """The tape's gate parameters in the circuit's order (PennyLane's numbers:
    floats or arrays of any interface, ``(B,)`` for a broadcast operation)."""
    data = [p for op in ops for p in op.data]
    return [data[i] for i, slot in sorted(struct.slots.items(), key=lambda s: s[0])
            if slot is not None]


# --------------------------------------------------------------- observables
def terms(obs, wire_index: dict) -> list[tuple[Any, tuple]]:
    """``obs`` as ``[(coefficient, term key)]``: a key is ``("P", ((q, "X"), ...))``
    for a Pauli word (``()``: the identity) or ``("D", qubits, matrix)`` for a
    dense operator."""
    ps = obs.pauli_rep
    if ps is not None:
        return [(c, ("P", tuple(sorted((wire_index[w], p) for w, p in pw.items()))))
                for pw, c in ps.items()]
    if isinstance(obs, qml.ops.Sum):
        return [t for s in obs.operands for t in terms(s, wire_index)]
    if isinstance(obs, qml.ops.SProd):
        return [(obs.scalar * c, k) for c, k in terms(obs.base, wire_index)]
    if isinstance(obs, qml.ops.Prod) and _disjoint(obs.operands):
        factors = [terms(f, wire_index) for f in obs.operands]
        return reduce(lambda a, b: [(ca * cb, product(ka, kb)[1]) for ca, ka in a
                                    for cb, kb in b], factors)
    matrix = np.asarray(qml.matrix(obs, wire_order=obs.wires), dtype=complex)
    return [(1.0, ("D", tuple(wire_index[w] for w in obs.wires), _Frozen(matrix)))]


def _disjoint(ops) -> bool:
    seen: set = set()
    for op in ops:
        if seen & set(op.wires):
            return False
        seen |= set(op.wires)
    return True


class _Frozen:
    """A constant matrix that hashes by value (a term key holds one)."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        self._key = (matrix.shape, matrix.tobytes())

    def __eq__(self, other):
        return isinstance(other, _Frozen) and self._key == other._key

    def __hash__(self):
        return hash(self._key)


def _matrix(key: tuple, qubits: tuple[int, ...]) -> np.ndarray:
    """The term's matrix on ``qubits`` (big-endian), identity elsewhere."""
    if key[0] == "P":
        paulis = dict(key[1])
        return reduce(np.kron, (_PAULI[paulis.get(q, "I")] for q in qubits), np.eye(1))
    own = key[1]
    m = key[2].matrix
    rest = [q for q in qubits if q not in own]
    full = np.kron(m, np.eye(2 ** len(rest)))  # on own + rest
    order = list(own) + rest
    n = len(qubits)
    perm = [order.index(q) for q in qubits]
    t = full.reshape((2,) * (2 * n)).transpose(perm + [n + p for p in perm])
    return t.reshape(2 ** n, 2 ** n)


def product(a: tuple, b: tuple) -> tuple[complex, tuple]:
    """``a @ b`` as ``(phase, key)``: a Pauli word when both are, else dense."""
    if a[0] == "P" and b[0] == "P":
        pa, pb, phase, out = dict(a[1]), dict(b[1]), 1.0 + 0j, {}
        for q in sorted(set(pa) | set(pb)):
            m = _PAULI[pa.get(q, "I")] @ _PAULI[pb.get(q, "I")]
            for name, p in _PAULI.items():
                c = np.vdot(p, m) / 2
                if abs(c) > 0.5:
                    phase *= c
                    if name != "I":
                        out[q] = name
                    break
        return phase, ("P", tuple(sorted(out.items())))
    qubits = tuple(sorted(set(_qubits(a)) | set(_qubits(b))))
    return 1.0, ("D", qubits, _Frozen(_matrix(a, qubits) @ _matrix(b, qubits)))


def _qubits(key: tuple) -> tuple[int, ...]:
    return tuple(q for q, _ in key[1]) if key[0] == "P" else key[1]


def square(pairs: list[tuple[Any, tuple]]) -> list[tuple[Any, tuple]]:
    """The terms of ``O @ O`` for ``O = sum_k c_k T_k``, one per distinct term.

    The phases of products of Pauli words cancel in pairs (``XY = iZ``,
    ``YX = -iZ``), so each summed coefficient is real (``O @ O`` is Hermitian
    for real ``c_k``): it is kept real, on the coefficients' own backend."""
    out: dict = {}
    for ca, ka in pairs:
        for cb, kb in pairs:
            phase, key = product(ka, kb)
            c = ca * cb if phase == 1 else ca * cb * phase
            out[key] = out[key] + c if key in out else c
    return [(qml.math.real(c), key) for key, c in out.items()]


def term_observable(key: tuple):
    """The tnq observable of a term key (coefficient 1)."""
    if key[0] == "P":
        return PauliString(key[1])
    return DenseOperator(key[2].matrix, key[1])
