"""A plain dense state-vector simulator, written independently of tnq's gate
registry and contraction machinery, used as the reference in the tests."""

from __future__ import annotations

import cmath
import math
from functools import reduce

import numpy as np

I = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1, -1]).astype(complex)
H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
S = np.diag([1, 1j])
T = np.diag([1, cmath.exp(1j * math.pi / 4)])
SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])
SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)


def expm_pauli(theta, P):
    """exp(-i theta P / 2) for an involutory P."""
    return math.cos(theta / 2) * np.eye(len(P)) - 1j * math.sin(theta / 2) * P


def u3(t, p, l):
    return np.array([[math.cos(t / 2), -cmath.exp(1j * l) * math.sin(t / 2)],
                     [cmath.exp(1j * p) * math.sin(t / 2), cmath.exp(1j * (p + l)) * math.cos(t / 2)]])


def controlled(U, k=1):
    d = len(U) * 2**k
    M = np.eye(d, dtype=complex)
    M[-len(U):, -len(U):] = U
    return M


def phase(l):
    return np.diag([1, cmath.exp(1j * l)])


def apply(psi, U, qubits):
    """Apply matrix U (big-endian in ``qubits``) to the state tensor ``psi``."""
    k = len(qubits)
    out = np.tensordot(U.reshape((2,) * 2 * k), psi, axes=(range(k, 2 * k), qubits))
    return np.moveaxis(out, range(k), qubits)


def seq(n, steps):
    """Dense unitary of gates applied in order."""
    M = np.eye(2**n, dtype=complex).reshape((2,) * n + (2**n,))
    for U, qs in steps:
        M = apply(M, U, qs)
    return M.reshape(2**n, 2**n)


def rccx():
    h, t, td, cx = u3(math.pi / 2, 0, math.pi), T, T.conj(), controlled(X)
    return seq(3, [(h, [2]), (t, [2]), (cx, [1, 2]), (td, [2]), (cx, [0, 2]), (t, [2]),
                   (cx, [1, 2]), (td, [2]), (h, [2])])


def rc3x():
    h, t, td, cx = u3(math.pi / 2, 0, math.pi), T, T.conj(), controlled(X)
    return seq(4, [(h, [3]), (t, [3]), (cx, [2, 3]), (td, [3]), (h, [3]), (cx, [0, 3]),
                   (t, [3]), (cx, [1, 3]), (td, [3]), (cx, [0, 3]), (t, [3]), (cx, [1, 3]),
                   (td, [3]), (h, [3]), (t, [3]), (cx, [2, 3]), (td, [3]), (h, [3])])


GATES = {
    "id": lambda: I, "x": lambda: X, "y": lambda: Y, "z": lambda: Z, "h": lambda: H,
    "s": lambda: S, "sdg": lambda: S.conj(), "t": lambda: T, "tdg": lambda: T.conj(),
    "sx": lambda: SX, "sxdg": lambda: SX.conj().T,
    "rx": lambda t: expm_pauli(t, X), "ry": lambda t: expm_pauli(t, Y),
    "rz": lambda t: expm_pauli(t, Z), "p": phase, "u1": phase,
    "u2": lambda p, l: u3(math.pi / 2, p, l), "u3": u3, "u": u3,
    "cx": lambda: controlled(X), "cy": lambda: controlled(Y), "cz": lambda: controlled(Z),
    "ch": lambda: controlled(H), "csx": lambda: controlled(SX), "swap": lambda: SWAP,
    "iswap": lambda: np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
    "crx": lambda t: controlled(expm_pauli(t, X)), "cry": lambda t: controlled(expm_pauli(t, Y)),
    "crz": lambda t: controlled(expm_pauli(t, Z)), "cp": lambda l: controlled(phase(l)),
    "cu1": lambda l: controlled(phase(l)), "cu3": lambda t, p, l: controlled(u3(t, p, l)),
    "cu": lambda t, p, l, g: controlled(cmath.exp(1j * g) * u3(t, p, l)),
    "rxx": lambda t: expm_pauli(t, np.kron(X, X)), "ryy": lambda t: expm_pauli(t, np.kron(Y, Y)),
    "rzz": lambda t: expm_pauli(t, np.kron(Z, Z)),
    "fsim": lambda t, p: np.array([[1, 0, 0, 0], [0, math.cos(t), -1j * math.sin(t), 0],
                                   [0, -1j * math.sin(t), math.cos(t), 0],
                                   [0, 0, 0, cmath.exp(-1j * p)]]),
    "ccx": lambda: controlled(X, 2), "cswap": lambda: controlled(SWAP),
    "c3x": lambda: controlled(X, 3), "c4x": lambda: controlled(X, 4),
    "c3sqrtx": lambda: controlled(SX, 3), "rccx": rccx, "rc3x": rc3x,
}


def gate(name, *params):
    return np.asarray(GATES[name](*params), dtype=complex)


def simulate(n, steps):
    """State vector (2**n,) after ``steps`` = [(matrix, qubits), ...] from |0..0>."""
    psi = np.zeros((2,) * n, dtype=complex)
    psi[(0,) * n] = 1
    for U, qs in steps:
        psi = apply(psi, U, list(qs))
    return psi.reshape(-1)


def pauli_matrix(n, paulis):
    """Dense 2^n matrix of a Pauli string given as {qubit: 'X'|'Y'|'Z'}."""
    mats = {"X": X, "Y": Y, "Z": Z}
    return reduce(np.kron, [mats.get(paulis.get(q), I) for q in range(n)], np.eye(1))


def pauli_expectation(psi, n, paulis):
    """<psi| P |psi> for a Pauli string {qubit: 'X'|'Y'|'Z'}, without its matrix."""
    mats = {"X": X, "Y": Y, "Z": Z}
    phi = psi.reshape((2,) * n)
    for q, p in paulis.items():
        phi = apply(phi, mats[p], [q])
    return np.vdot(psi, phi.reshape(-1))
