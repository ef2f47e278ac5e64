"""Structure-only bookkeeping of Heisenberg-picture Pauli propagation (no numbers).

A Pauli string on ``n`` qubits is stored as bit-packed ``x`` and ``z`` words
(``ceil(n / 64)`` ``uint64`` words each): qubit ``q`` carries the local Pauli
``p = x + 2 z``, that is ``0 = I, 1 = X, 2 = Z, 3 = Y``. A string also has a
64-bit Zobrist hash (the XOR of one fixed random word per set bit), so that
a gate changing the Paulis on its qubits changes the hash by one XOR, and
strings are merged by sorting hashes.

Everything here depends on the circuit's gate names and qubits and on the
observables only: which words and bits each gate reads (:class:`GateSlots`),
the hash words, the observables' strings as bit arrays
(:class:`StringSet`), and how wide the backward support grows gate by gate
(:func:`support_sizes`), which bounds the number of strings for estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..circuit import Op
from ..errors import UnsupportedError
from ..observables import PAULI, DenseOperator, Observable, PauliString

__all__ = ["PAULI_CODES", "LOCAL_PAULIS", "GateSlots", "StringSet", "PauliLayout",
           "pauli_layout", "observable_strings", "support_sizes", "MAX_GATE_QUBITS",
           "MAX_DENSE_QUBITS"]

PAULI_CODES = {"X": 1, "Z": 2, "Y": 3}
"""The local code ``x + 2 z`` of each Pauli (the identity is 0)."""
LOCAL_PAULIS = np.array([PAULI["I"], PAULI["X"], PAULI["Z"], PAULI["Y"]])
"""The ``2 x 2`` matrices of the codes 0..3."""
MAX_GATE_QUBITS = 2
"""The widest gate propagated: its Pauli transfer matrix is ``4^k x 4^k``."""
MAX_DENSE_QUBITS = 8
"""The widest dense observable term expanded into Pauli strings (``4^k`` of them)."""
HASH_SEED = 0x7A9E
"""Seed of the Zobrist words: fixed, so every Program hashes alike."""


@dataclass(frozen=True, eq=False)
class GateSlots:
    """Where one gate's qubits sit in the packed words.

    ``words[j]`` and ``shifts[j]`` locate qubit ``j`` of the gate (big-endian
    order, as its matrix); ``hashes[a]`` is the XOR of the hash words of the
    local Paulis with code ``a = sum_j p_j 4^j``.
    """

    qubits: tuple[int, ...]
    words: np.ndarray
    shifts: np.ndarray
    hashes: np.ndarray

    def local(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The local code ``a`` of every string ``(x, z)`` (``(W, N)`` words) on this gate."""
        a = np.zeros(x.shape[1], dtype=np.int64)
        one = np.uint64(1)
        for j, (w, s) in enumerate(zip(self.words, self.shifts)):
            p = ((x[w] >> s) & one) | (((z[w] >> s) & one) << one)
            a |= p.astype(np.int64) << (2 * j)
        return a

    def replace(self, x: np.ndarray, z: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Set the local Paulis of the strings ``(x, z)`` (``(W, N)`` words) from
        codes ``old`` to ``new`` (in place: ``x`` and ``z`` are working copies)."""
        flip = (old ^ new).astype(np.uint64)
        one = np.uint64(1)
        for j, (w, s) in enumerate(zip(self.words, self.shifts)):
            f = flip >> np.uint64(2 * j)
            x[w] ^= (f & one) << s
            z[w] ^= ((f >> one) & one) << s


@dataclass(frozen=True, eq=False)
class StringSet:
    """Weighted Pauli strings: ``(W, N)`` x and z words, ``(N,)`` hashes and
    real coefficients; the value of the sum is ``sum_i c_i P_i``."""

    x: np.ndarray
    z: np.ndarray
    hashes: np.ndarray
    coeffs: np.ndarray

    def __len__(self) -> int:
        return int(self.coeffs.shape[0])


@dataclass(frozen=True, eq=False)
class PauliLayout:
    """The propagation structure of a circuit: its gates' slots, in circuit
    order, and the hash words ``(n, 2)`` (x, z) of every qubit."""

    num_qubits: int
    num_words: int
    gates: tuple[GateSlots, ...]
    zobrist: np.ndarray


def pauli_layout(ops: Sequence[Op], num_qubits: int) -> PauliLayout:
    """The :class:`PauliLayout` of ``ops``; gates on more than
    :data:`MAX_GATE_QUBITS` qubits are refused (:class:`~tnq.UnsupportedError`)."""
    for i, op in enumerate(ops):
        if len(op.qubits) > MAX_GATE_QUBITS:
            raise UnsupportedError(
                f"strategy 'pauli' propagates gates on at most {MAX_GATE_QUBITS} qubits; "
                f"operation {i} is '{op.name}' on qubits {list(op.qubits)} "
                f"({len(op.qubits)} qubits); decompose it, or use strategy='lightcone'")
    rng = np.random.default_rng(HASH_SEED)
    zobrist = rng.integers(0, 2**63, size=(num_qubits, 2), dtype=np.int64).astype(np.uint64)
    zobrist |= rng.integers(0, 2, size=(num_qubits, 2), dtype=np.int64).astype(np.uint64) \
        << np.uint64(63)
    slots: dict[tuple[int, ...], GateSlots] = {}
    gates = []
    for op in ops:
        if op.qubits not in slots:
            slots[op.qubits] = _slots(op.qubits, zobrist)
        gates.append(slots[op.qubits])
    return PauliLayout(num_qubits, max(1, -(-num_qubits // 64)), tuple(gates), zobrist)


def _slots(qubits: tuple[int, ...], zobrist: np.ndarray) -> GateSlots:
    k = len(qubits)
    hashes = np.zeros(4**k, dtype=np.uint64)
    for a in range(4**k):
        for j, q in enumerate(qubits):
            p = (a >> (2 * j)) & 3
            if p & 1:
                hashes[a] ^= zobrist[q, 0]
            if p & 2:
                hashes[a] ^= zobrist[q, 1]
    return GateSlots(qubits, np.array([q // 64 for q in qubits]),
                     np.array([q % 64 for q in qubits], dtype=np.uint64), hashes)


def observable_strings(obs: Observable, layout: PauliLayout) -> tuple[StringSet, float]:
    """The observable's non-identity Pauli strings (merged) and its identity part.

    Dense terms on up to :data:`MAX_DENSE_QUBITS` qubits are expanded in the
    Pauli basis; wider ones are refused.

    Examples
    --------
    >>> from tnq.observables import parse
    >>> layout = pauli_layout([], 3)
    >>> strings, constant = observable_strings(parse("2 + Z0 Z2 - 0.5*Y1 + Z0 Z2"), layout)
    >>> len(strings), sorted(strings.coeffs.tolist()), constant
    (2, [-0.5, 2.0], 2.0)
    """
    terms: dict[tuple[int, ...], float] = {}
    constant = 0.0
    for term in obs.terms:
        for codes, c in _pauli_terms(term):
            if not any(code for _, code in codes):
                constant += c
                continue
            key = tuple(q * 4 + code for q, code in codes if code)
            terms[key] = terms.get(key, 0.0) + c
    keys = [k for k, c in terms.items() if c != 0.0]
    n, w = len(keys), layout.num_words
    x = np.zeros((w, n), dtype=np.uint64)
    z = np.zeros((w, n), dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for i, key in enumerate(keys):
        for item in key:
            q, code = divmod(item, 4)
            bit = np.uint64(1) << np.uint64(q % 64)
            if code & 1:
                x[q // 64, i] |= bit
                h[i] ^= layout.zobrist[q, 0]
            if code & 2:
                z[q // 64, i] |= bit
                h[i] ^= layout.zobrist[q, 1]
    coeffs = np.array([terms[k] for k in keys], dtype=float)
    return StringSet(x, z, h, coeffs), constant


def _pauli_terms(term) -> list[tuple[tuple[tuple[int, int], ...], float]]:
    """A term as ``(((qubit, code), ...), real coefficient)`` Pauli strings."""
    if isinstance(term, PauliString):
        return [(tuple((q, PAULI_CODES[p]) for q, p in term.paulis), float(term.coeff.real))]
    assert isinstance(term, DenseOperator)
    k = len(term.qubits)
    if k > MAX_DENSE_QUBITS:
        raise UnsupportedError(
            f"strategy 'pauli' expands dense observable terms on at most {MAX_DENSE_QUBITS} "
            f"qubits into Pauli strings; got one on {k} qubits {list(term.qubits)}; write it "
            "as a sum of Pauli strings, or use strategy='lightcone'")
    m = term.local_matrix() * term.coeff
    out = []
    for a in range(4**k):
        codes = [(a >> (2 * j)) & 3 for j in range(k)]
        p = np.eye(1, dtype=complex)
        for code in codes:
            p = np.kron(p, LOCAL_PAULIS[code])
        c = float(np.trace(p @ m).real) / 2**k
        if abs(c) > 1e-15:
            out.append((tuple(zip(term.qubits, codes)), c))
    return out


def support_sizes(ops: Sequence[Op], supports: Sequence[Sequence[int]]) -> np.ndarray:
    """For each gate (circuit order), how many qubits the backward support of
    ``supports`` (the observable's qubits) spans just before the gate is
    propagated; 0 where the gate lies outside it.

    Examples
    --------
    >>> from tnq.circuit import Circuit
    >>> c = Circuit(4).cx(0, 1).cx(1, 2).h(3)
    >>> support_sizes(c.ops, [(2,)]).tolist()
    [2, 1, 0]
    """
    inside = set(q for s in supports for q in s)
    out = np.zeros(len(ops), dtype=np.int64)
    for i in range(len(ops) - 1, -1, -1):
        qs = ops[i].qubits
        if inside.intersection(qs):
            out[i] = len(inside)
            inside.update(qs)
    return out
