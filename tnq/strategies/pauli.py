"""Strategy ``pauli``: Heisenberg-picture Pauli propagation with truncation.

The observable, a weighted sum of Pauli strings, is carried backwards through
the circuit: each gate ``U`` maps a string ``P`` to ``U^† P U = sum_b R[b, a] P_b``
where ``R`` is the gate's real ``4^k x 4^k`` Pauli transfer matrix (``a`` and
``b`` the local Paulis on the gate's qubits). Clifford gates map a string to
one string (a signed permutation, no growth); a Pauli rotation ``exp(-i t G/2)``
splits a string that anticommutes with ``G`` into two (``cos t`` and
``sin t``); any 1- or 2-qubit unitary works the same way. Equal strings are
merged (sorting 64-bit hashes); the value is the sum of the coefficients of
the strings left with only ``I`` and ``Z``, ``<0...0|P|0...0>`` being 1 for
those and 0 for the others.

The knob is ``threshold``: after every gate, strings whose coefficient is
under ``threshold`` times the observable's 1-norm (the sum of ``|c|`` of its
non-identity strings) are dropped. ``threshold=0`` is exact (only strings
under :data:`FLOOR` of the norm, rounding noise, are dropped). Which strings are
kept depends on the angles, so the propagation runs per call in numpy
(float64); the structure (hash words, gate slots, observable strings) is
made at compile time (:mod:`tnq.compile.pauli`).

Each value comes with ``error``: the sum of ``|c|`` of every string dropped
(each would have contributed ``c <psi|P|psi>`` with ``|<P>| <= 1``), a bound on
the truncation error that is rigorous, and usually far above the actual error.

Gradients: the kept set changes with the angles, so the value is only
piecewise smooth and no tracer can follow it; the strategy lists no
transformations. Parameter shift through the same Program
(:func:`tnq.param_shift`, which ``tnq.value_and_grad(backend="numpy")``
uses) differentiates it; with torch parameters that require gradients, a
call returns a tensor whose backward pass runs that same parameter shift.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

import numpy as np

from ..compile.pauli import (
    LOCAL_PAULIS,
    GateSlots,
    PauliLayout,
    StringSet,
    observable_strings,
    pauli_layout,
    support_sizes,
)
from ..contract import Values, to_backend, to_numpy
from ..errors import UnsupportedError
from ..memo import Memo
from ..plan import Plan
from .base import MAX_BATCH, Estimate, Setup, Strategy

__all__ = ["PauliStrategy", "transfer_matrices", "propagate", "FLOOR", "ZERO_ENTRY"]

FLOOR = 1e-14
"""Strings under this fraction of the observable's 1-norm are dropped even
when ``threshold=0``: rounding noise of cancelled branches."""
ZERO_ENTRY = 1e-13
"""Transfer-matrix entries smaller than this are zero (``cos(pi/2)`` and
rounding), so Clifford gates map each string to exactly one."""
STRING_BYTES = 8 * 6
"""Bytes per string per 64 qubits, with the working copies of one step."""


def _pauli_basis(k: int) -> np.ndarray:
    """``(4^k, 2^k, 2^k)`` local Pauli matrices in code order ``a = sum_j p_j 4^j``."""
    out = []
    for a in range(4**k):
        out.append(reduce(np.kron, [LOCAL_PAULIS[(a >> (2 * j)) & 3] for j in range(k)],
                          np.eye(1, dtype=complex)))
    return np.array(out)


BASES = {k: _pauli_basis(k) for k in (1, 2)}


def transfer_matrices(unitaries: np.ndarray) -> np.ndarray:
    """Heisenberg Pauli transfer matrices ``R[g, b, a] = Tr(P_b U_g^† P_a U_g) / 2^k``
    of ``(G, 2^k, 2^k)`` unitaries (or ``(G, 2^k)`` diagonals), real ``(G, 4^k, 4^k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tnq.gates import gate_matrix
    >>> r = transfer_matrices(gate_matrix("h")[None])[0]
    >>> r.round(12) + 0.0     # I -> I, X -> Z, Z -> X, Y -> -Y
    array([[ 1.,  0.,  0.,  0.],
           [ 0.,  0.,  1.,  0.],
           [ 0.,  1.,  0.,  0.],
           [ 0.,  0.,  0., -1.]])
    """
    u = np.asarray(unitaries)
    if u.ndim == 2:
        u = u[:, :, None] * np.eye(u.shape[1])
    d = u.shape[-1]
    p = BASES[d.bit_length() - 1]
    conj = np.einsum("aij,gjk->gaik", p, u)  # P_a U
    conj = np.einsum("gji,gajk->gaik", u.conj(), conj)  # U^† P_a U
    return np.einsum("bki,gaik->gba", p, conj).real / d


def _columns(r: np.ndarray):
    """Per local code ``a``: whether the gate moves it, and the padded targets
    ``(D, m)`` and values ``(D, m)`` of its nonzero column entries."""
    r = np.where(np.abs(r) > ZERO_ENTRY, r, 0.0)
    nz = r != 0
    counts = nz.sum(axis=0)
    d = r.shape[0]
    fixed = (counts == 1) & (np.abs(np.diagonal(r) - 1.0) <= ZERO_ENTRY)
    m = int(counts.max())
    targets = np.zeros((d, m), dtype=np.int64)
    vals = np.zeros((d, m))
    for a in range(d):
        b = np.flatnonzero(nz[:, a])
        targets[a, :len(b)] = b
        vals[a, :len(b)] = r[b, a]
    return ~fixed, targets, vals, counts


def _merge(x, z, h, c):
    """Equal strings summed: sorted by hash, one row per distinct string."""
    order = np.argsort(h, kind="stable")
    h, x, z, c = h[order], x[order], z[order], c[order]
    start = np.ones(h.shape[0], dtype=bool)
    start[1:] = h[1:] != h[:-1]
    first = np.flatnonzero(start)
    seg = np.cumsum(start) - 1
    if not (np.array_equal(x, x[first][seg]) and np.array_equal(z, z[first][seg])):
        return _merge_exact(x, z, h, c)  # a 64-bit hash collision: merge by the bits
    return x[first], z[first], h[first], np.add.reduceat(c, first)


def _merge_exact(x, z, h, c):
    keys = np.concatenate([x, z], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    sums = np.zeros(first.shape[0])
    np.add.at(sums, inverse.reshape(-1), c)
    return x[first], z[first], h[first], sums


def _step(s: StringSet, slots: GateSlots, r: np.ndarray, cut: float) -> tuple[StringSet, float]:
    """``s`` after one gate (transfer matrix ``r``), strings under ``cut`` dropped;
    the sum of the dropped ``|c|``."""
    moved, targets, vals, counts = _columns(r)
    a = slots.local(s.x, s.z)
    mask = moved[a]
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return s, 0.0
    pa = a[idx]
    if counts[moved].max() == 1:  # a signed permutation: strings map one to one
        b = targets[pa, 0]
        x, z, h, c = s.x.copy(), s.z.copy(), s.hashes.copy(), s.coeffs.copy()
        xi, zi = x[idx], z[idx]
        slots.replace(xi, zi, pa, b)
        x[idx], z[idx] = xi, zi
        h[idx] ^= slots.hashes[pa] ^ slots.hashes[b]
        c[idx] *= vals[pa, 0]
        return StringSet(x, z, h, c), 0.0
    reps = counts[pa]
    parent = np.repeat(idx, reps)
    pa = np.repeat(pa, reps)
    offsets = np.arange(parent.shape[0]) - np.repeat(np.cumsum(reps) - reps, reps)
    b = targets[pa, offsets]
    cx, cz = s.x[parent], s.z[parent]
    slots.replace(cx, cz, pa, b)
    ch = s.hashes[parent] ^ slots.hashes[pa] ^ slots.hashes[b]
    cc = s.coeffs[parent] * vals[pa, offsets]
    cx, cz, ch, cc = _merge(cx, cz, ch, cc)
    keep = np.abs(cc) > cut
    dropped = float(np.abs(cc[~keep]).sum())
    rest = ~mask
    return StringSet(np.concatenate([s.x[rest], cx[keep]]), np.concatenate([s.z[rest], cz[keep]]),
                     np.concatenate([s.hashes[rest], ch[keep]]),
                     np.concatenate([s.coeffs[rest], cc[keep]])), dropped


def propagate(strings: StringSet, gates, matrices, cut: float) -> tuple[float, float, int]:
    """The value ``<0|U^† O U|0>`` of the strings ``O`` carried back through
    ``gates`` (slots in circuit order) with transfer ``matrices`` (one per
    gate), dropping strings whose ``|c| <= cut``. Returns the value (without
    the identity part), the sum of dropped ``|c|`` and the most strings held."""
    dropped, most = 0.0, len(strings)
    for slots, r in zip(reversed(gates), reversed(matrices)):
        strings, d = _step(strings, slots, r, cut)
        dropped += d
        most = max(most, len(strings))
    diagonal = ~np.any(strings.x, axis=1)
    return float(strings.coeffs[diagonal].sum()), dropped, most


class PauliStrategy(Strategy):
    """Propagate the observable's Pauli strings backwards, dropping small ones."""

    name = "pauli"
    outputs = frozenset({"expectation"})
    transforms = frozenset[str]()

    def __init__(self, setup: Setup):
        super().__init__(setup)
        if setup.terms is None:
            raise UnsupportedError("strategy 'pauli' computes expectation values only; "
                                   "compile with an observable")
        self.layout: PauliLayout = pauli_layout(setup.ops, setup.num_qubits)
        made = [observable_strings(o, self.layout) for o in setup.observables]
        self.strings = tuple(s for s, _ in made)
        self.constants = np.array([c for _, c in made])
        self.norms = np.array([float(np.abs(s.coeffs).sum()) for s in self.strings])
        self.threshold = 0.0 if setup.threshold is None else float(setup.threshold)
        e = setup.evaluator
        self.gate_refs = tuple(e.locate(i) for i in range(len(setup.ops)))
        supports = [[q for q in range(setup.num_qubits) if _touches(s, q)]
                    for s in self.strings]
        self.widths = np.max([support_sizes(setup.ops, [sup]) for sup in supports]
                             or [np.zeros(len(setup.ops), dtype=np.int64)], axis=0)
        self._constants = Memo(1)

    @classmethod
    def unavailable(cls, setup: Setup) -> str | None:
        if setup.threshold is None:
            return "auto truncates Pauli strings only when threshold= is given"
        return None

    # ------------------------------------------------------------ estimates
    def bound(self) -> float:
        """The most strings one step can hold: ``4^width`` on the backward
        support, and, with a threshold ``t``, ``1/t^2`` (the squared
        coefficients sum to at most the squared 1-norm, and each kept one is
        at least ``t`` times the 1-norm)."""
        cap = math.inf if self.threshold <= 0 else 1.0 / self.threshold**2
        return float(min(cap, 4.0 ** min(int(self.widths.max(initial=0)), 60)))

    def estimate(self) -> Estimate:
        cap = math.inf if self.threshold <= 0 else 1.0 / self.threshold**2
        per_gate = np.minimum(4.0 ** np.minimum(self.widths, 60), cap)
        per_gate = np.where(self.widths > 0, per_gate, 0.0)
        flops = float(per_gate.sum()) * 4 * len(self.strings) * self.layout.num_words
        words = self.layout.num_words
        memory = self.bound() * STRING_BYTES * words
        memory = int(min(memory, 2**62))
        note = (f"Pauli propagation, threshold={self.threshold:g}: at most "
                f"{self.bound():.3g} strings (backward support up to "
                f"{int(self.widths.max(initial=0))} qubits)")
        return Estimate(flops, memory, True, note, steps=10 * len(self.setup.ops))

    def prepare(self) -> None:
        pass

    def plans(self) -> tuple[Plan, ...]:
        return ()

    def explain(self) -> list[str]:
        est = self.estimate()
        return [f"pauli: {len(self.setup.ops)} gates propagated backwards (transfer "
                f"matrices per call), {sum(len(s) for s in self.strings)} observable "
                f"strings; threshold={self.threshold:g} (strings under it times the "
                f"observable's 1-norm are dropped after every gate); at most "
                f"{self.bound():.3g} strings, about {est.flops:.3g} FLOPs; the error bound "
                "(sum of dropped |c|) comes with each result (Program.evaluate)"]

    def batch_limit(self) -> int:
        return MAX_BATCH

    # ------------------------------------------------------------ calls
    def matrices(self, values: Values, shifts: dict | None) -> list[list[np.ndarray]]:
        """Per parameter row of the call: every gate's transfer matrix, in order."""
        e = self.setup.evaluator
        batch, shifts = e.shifts(values, shifts)
        tables = [to_numpy(t) for t in e.tables(values, shifts)]
        consts = self._constants.get("r", self._constant_matrices)
        rows = []
        for b in range(batch or 1):
            kinds = [transfer_matrices(_unitaries(t[b] if t.ndim > len(k.shape) + 1 else t,
                                                   e.ops[k.ops[0]].gate))
                     for t, k in zip(tables, e.kinds)]
            rows.append([consts[i] if kind < 0 else kinds[kind][row]
                         for i, (kind, row) in enumerate(self.gate_refs)])
        return rows

    def _constant_matrices(self) -> dict[int, np.ndarray]:
        e = self.setup.evaluator
        consts = e.constants()
        out = {}
        for i, (kind, row) in enumerate(self.gate_refs):
            if kind < 0:
                t = np.asarray(consts[row])
                d = 2 ** len(self.setup.ops[i].qubits)
                out[i] = transfer_matrices(t.reshape((1, d) if t.ndim == len(
                    self.setup.ops[i].qubits) else (1, d, d)))[0]
        return out

    def run(self, matrices: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
        """Values and error bounds of every observable for one row's matrices."""
        gates = self.layout.gates
        values, errors, most = [], [], 0
        for strings, norm, const in zip(self.strings, self.norms, self.constants):
            cut = max(self.threshold, FLOOR) * norm
            v, d, m = propagate(strings, gates, matrices, cut)
            values.append(v + const)
            errors.append(d)
            most = max(most, m)
        return np.array(values), np.array(errors), most

    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        rows = [self.run(m) for m in self.matrices(values, shifts)]
        vals = np.array([r[0] for r in rows])
        errs = np.array([r[1] for r in rows])
        batched = values.batch is not None or bool(shifts)
        out = vals if batched else vals[0]
        err = errs.max(axis=-1) if batched else float(errs[0].max())
        value = _on_backend(out, values)
        return value, {"error": err}


def _unitaries(table: np.ndarray, gate) -> np.ndarray:
    """A kind's ``(k, *shape)`` table as ``(k, d, d)`` matrices or ``(k, d)`` diagonals."""
    shape = (gate.dim,) if gate.diagonal else (gate.dim, gate.dim)
    return table.reshape((table.shape[0],) + shape)


def _touches(s: StringSet, q: int) -> bool:
    w, bit = q // 64, np.uint64(1) << np.uint64(q % 64)
    return bool(np.any((s.x[:, w] | s.z[:, w]) & bit))


def _on_backend(out: np.ndarray, values: Values):
    """The numpy values on the call's backend and real dtype."""
    like = values.vals
    if isinstance(like, np.ndarray):
        return out.astype(like.dtype)
    return to_backend(np.ascontiguousarray(out, dtype=to_numpy(like).dtype), like)
