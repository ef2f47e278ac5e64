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
under ``threshold`` times the observable's largest coefficient (over its
non-identity strings) are dropped, so each term of a sum such as the
average magnetization is truncated as finely as it would be alone.
``threshold=0`` is exact (only strings under :data:`FLOOR` of the largest
coefficient, rounding noise, are dropped). Which strings are
kept depends on the angles, so the propagation runs per call in numpy
(float64); the structure (hash words, gate slots, observable strings) is
made at compile time (:mod:`tnq.compile.pauli`).

Each value comes with ``error``, an estimate of its truncation error: the
change of the value when the threshold is :data:`COARSE` times larger (a
second, cheaper propagation; on the W10 benchmark within a factor of about
three of the actual error once the threshold is small enough for the value to
converge). Where both settings give the same value although strings were
dropped (a threshold so coarse that both drop alike), and with
``threshold=0`` (only rounding noise dropped), it is the strict bound: the
sum of the dropped ``|c|`` (each would have contributed ``c <psi|P|psi>``
with ``|<P>| <= 1``), which :func:`propagate` returns; for a positive
threshold that bound is usually orders of magnitude above the actual error.

Gradients: the kept set changes with the angles, so the value is only
piecewise smooth and no tracer can follow it; the strategy lists no
transformations. Parameter shift through the same Program
(:func:`tnq.param_shift`, which ``tnq.value_and_grad(backend="numpy")``
uses) differentiates it; torch parameters that require gradients are
refused with that advice.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

import numpy as np

from ..compile.pauli import (
    LOCAL_PAULIS,
    MAX_DENSE_QUBITS,
    MAX_GATE_QUBITS,
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
from ..observables import DenseOperator
from ..plan import Plan
from .base import MAX_BATCH, Estimate, Setup, Strategy

__all__ = ["PauliStrategy", "transfer_matrices", "propagate", "FLOOR", "ZERO_ENTRY",
           "COARSE"]

FLOOR = 1e-14
"""Strings under this fraction of the observable's largest coefficient are dropped even
when ``threshold=0``: rounding noise of cancelled branches."""
ZERO_ENTRY = 1e-13
"""Transfer-matrix entries smaller than this are zero (``cos(pi/2)`` and
rounding), so Clifford gates map each string to exactly one."""
COARSE = 4.0
"""The error estimate compares the value with one at this many times the threshold."""
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
    """Equal strings (``(W, M)`` words) summed: one column per distinct string.

    Strings are grouped by hash; each member of a group is checked against the
    group's first string, so a 64-bit hash collision is merged by the bits."""
    order = np.argsort(h)
    hs = h[order]
    start = np.ones(hs.shape[0], dtype=bool)
    start[1:] = hs[1:] != hs[:-1]
    first = np.flatnonzero(start)
    keep = order[first]
    if first.shape[0] < hs.shape[0]:
        members = order[~start]
        owners = keep[(np.cumsum(start) - 1)[~start]]
        if not (np.array_equal(x[:, members], x[:, owners])
                and np.array_equal(z[:, members], z[:, owners])):
            return _merge_exact(x, z, h, c)
        return x[:, keep], z[:, keep], h[keep], np.add.reduceat(c[order], first)
    return x[:, keep], z[:, keep], h[keep], c[keep]


def _merge_exact(x, z, h, c):
    keys = np.concatenate([x, z], axis=0).T
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    sums = np.zeros(first.shape[0])
    np.add.at(sums, inverse.reshape(-1), c)
    return x[:, first], z[:, first], h[first], sums


class _Work:
    """The strings of one propagation in growable working arrays: ``(W, cap)``
    words, hashes and coefficients, the first :attr:`n` columns in use. A
    column whose coefficient is 0 is free (its string is the identity, which
    no gate moves); free columns are compacted away when they are many."""

    def __init__(self, s: StringSet):
        self.n, cap = len(s), max(64, 2 * len(s))
        w = s.x.shape[0]
        self.x = np.zeros((w, cap), dtype=np.uint64)
        self.z = np.zeros((w, cap), dtype=np.uint64)
        self.h = np.zeros(cap, dtype=np.uint64)
        self.c = np.zeros(cap)
        self.x[:, :self.n], self.z[:, :self.n] = s.x, s.z
        self.h[:self.n], self.c[:self.n] = s.hashes, s.coeffs
        self.free = 0

    def put(self, idx: np.ndarray, x, z, h, c) -> None:
        """Columns ``idx`` replaced by the strings ``(x, z, h, c)`` (any number)."""
        k, m = min(idx.shape[0], c.shape[0]), c.shape[0]
        at = idx[:k]
        self.x[:, at], self.z[:, at], self.h[at], self.c[at] = x[:, :k], z[:, :k], h[:k], c[:k]
        if m > k:
            self._append(x[:, k:], z[:, k:], h[k:], c[k:])
        elif idx.shape[0] > k:
            gone = idx[k:]
            self.x[:, gone], self.z[:, gone], self.h[gone], self.c[gone] = 0, 0, 0, 0.0
            self.free += gone.shape[0]
            if self.free > self.n // 2:
                self._compact()

    def _append(self, x, z, h, c) -> None:
        n, m = self.n, c.shape[0]
        if n + m > self.c.shape[0]:
            cap = max(2 * self.c.shape[0], n + m)
            self.x, self.z = _grown(self.x, n, cap), _grown(self.z, n, cap)
            self.h, self.c = _grown(self.h, n, cap), _grown(self.c, n, cap)
        self.x[:, n:n + m], self.z[:, n:n + m], self.h[n:n + m], self.c[n:n + m] = x, z, h, c
        self.n = n + m

    def _compact(self) -> None:
        keep = np.flatnonzero(self.c[:self.n] != 0.0)
        m = keep.shape[0]
        self.x[:, :m], self.z[:, :m] = self.x[:, keep], self.z[:, keep]
        self.h[:m], self.c[:m] = self.h[keep], self.c[keep]
        self.x[:, m:self.n], self.z[:, m:self.n], self.h[m:self.n], self.c[m:self.n] = 0, 0, 0, 0.0
        self.n, self.free = m, 0

    def step(self, slots: GateSlots, columns: tuple, cut: float) -> float:
        """Carry the strings back through one gate (``columns``: its transfer
        matrix's :func:`_columns`), dropping those whose ``|c| <= cut``;
        returns the sum of the dropped ``|c|``."""
        moved, targets, vals, counts = columns
        n = self.n
        a = slots.local(self.x[:, :n], self.z[:, :n])
        idx = np.flatnonzero(moved[a])
        if idx.size == 0:
            return 0.0
        pa = a[idx]
        if counts[moved].max() == 1:  # a signed permutation: strings map one to one
            b = targets[pa, 0]
            xi, zi = self.x[:, idx], self.z[:, idx]
            slots.replace(xi, zi, pa, b)
            self.x[:, idx], self.z[:, idx] = xi, zi
            self.h[idx] ^= slots.hashes[pa] ^ slots.hashes[b]
            self.c[idx] *= vals[pa, 0]
            return 0.0
        reps = counts[pa]
        parent = np.repeat(idx, reps)
        pa = np.repeat(pa, reps)
        offsets = np.arange(parent.shape[0]) - np.repeat(np.cumsum(reps) - reps, reps)
        b = targets[pa, offsets]
        cx, cz = self.x[:, parent], self.z[:, parent]
        slots.replace(cx, cz, pa, b)
        ch = self.h[parent] ^ slots.hashes[pa] ^ slots.hashes[b]
        cc = self.c[parent] * vals[pa, offsets]
        cx, cz, ch, cc = _merge(cx, cz, ch, cc)
        keep = np.abs(cc) > cut
        dropped = float(np.abs(cc[~keep]).sum())
        self.put(idx, cx[:, keep], cz[:, keep], ch[keep], cc[keep])
        return dropped

    def value(self) -> float:
        """``<0...0|O|0...0>``: the coefficients of the strings of only I and Z."""
        n = self.n
        return float(self.c[:n][~np.any(self.x[:, :n], axis=0)].sum())


def _grown(a: np.ndarray, n: int, cap: int) -> np.ndarray:
    out = np.zeros(a.shape[:-1] + (cap,), dtype=a.dtype)
    out[..., :n] = a[..., :n]
    return out


def _gate_columns(matrices) -> list[tuple]:
    """Each gate's :func:`_columns`, made once per distinct matrix."""
    seen: dict[bytes, tuple] = {}
    out = []
    for r in matrices:
        key = r.tobytes()
        if key not in seen:
            seen[key] = _columns(r)
        out.append(seen[key])
    return out


def propagate(strings: StringSet, gates, matrices, cut: float,
              columns: list | None = None) -> tuple[float, float, int]:
    """The value ``<0|U^† O U|0>`` of the strings ``O`` carried back through
    ``gates`` (slots in circuit order) with transfer ``matrices`` (one per
    gate), dropping strings whose ``|c| <= cut``. Returns the value (without
    the identity part), the sum of dropped ``|c|`` and the most strings held.
    ``columns``: the matrices' :func:`_gate_columns`, when already made."""
    work = _Work(strings)
    dropped, most = 0.0, len(strings)
    columns = _gate_columns(matrices) if columns is None else columns
    for slots, col in zip(reversed(gates), reversed(columns)):
        dropped += work.step(slots, col, cut)
        most = max(most, work.n - work.free)
    return work.value(), dropped, most


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
        self.scales = np.array([float(np.abs(s.coeffs).max(initial=0.0)) for s in self.strings])
        self.counts = np.array([float(((s.coeffs / m) ** 2).sum()) if m else 0.0
                                for s, m in zip(self.strings, self.scales)])
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
        wide = next((op for op in setup.ops if len(op.qubits) > MAX_GATE_QUBITS), None)
        if wide is not None:
            return (f"it propagates gates on at most {MAX_GATE_QUBITS} qubits, and "
                    f"'{wide.name}' acts on {len(wide.qubits)}")
        dense = [len(t.qubits) for o in setup.observables for t in o.terms
                 if isinstance(t, DenseOperator)]
        if max(dense, default=0) > MAX_DENSE_QUBITS:
            return f"it expands dense terms on at most {MAX_DENSE_QUBITS} qubits"
        return None

    # ------------------------------------------------------------ estimates
    def bound(self) -> float:
        """The most strings one step can hold: ``4^width`` on the backward
        support, and, with a threshold ``t``, ``sum c^2 / (t max|c|)^2`` of
        the observable (every gate keeps the sum of squared coefficients, and
        each kept one is at least ``t`` times the largest at the start)."""
        cap = math.inf if self.threshold <= 0 else \
            float(self.counts.max(initial=1.0)) / self.threshold**2
        return float(min(cap, 4.0 ** min(int(self.widths.max(initial=0)), 60)))

    def estimate(self) -> Estimate:
        cap = self.bound()
        per_gate = np.minimum(4.0 ** np.minimum(self.widths, 60), cap)
        per_gate = np.where(self.widths > 0, per_gate, 0.0)
        flops = float(per_gate.sum()) * 4 * len(self.strings) * self.layout.num_words
        words = self.layout.num_words
        memory = int(min(cap * STRING_BYTES * words, 2**62))
        note = (f"Pauli propagation, threshold={self.threshold:g}: at most "
                f"{cap:.3g} strings (backward support up to "
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
                f"observable's largest coefficient are dropped after every gate); at most "
                f"{self.bound():.3g} strings, about {est.flops:.3g} FLOPs; the error "
                f"estimate (the change at {COARSE:g}x the threshold) comes with each result "
                "(Program.evaluate)"]

    def batch_limit(self) -> int:
        return MAX_BATCH

    # ------------------------------------------------------------ calls
    def matrices(self, values: Values, shifts: dict | None) -> list[list[np.ndarray]]:
        """Per parameter row of the call: every gate's transfer matrix, in order."""
        e = self.setup.evaluator
        batch, shifts = e.shifts(values, shifts)
        tables = [to_numpy(t) for t in e.tables(values, shifts)]
        consts = self._constants.get("r", self._constant_matrices)
        rows = range(batch or 1)
        per_kind = [[transfer_matrices(_unitaries(t[b], e.ops[k.ops[0]].gate)) for b in rows]
                    if t.ndim > len(k.shape) + 1  # batched: one set per row
                    else [transfer_matrices(_unitaries(t, e.ops[k.ops[0]].gate))] * len(rows)
                    for t, k in zip(tables, e.kinds)]
        return [[consts[i] if kind < 0 else per_kind[kind][b][row]
                 for i, (kind, row) in enumerate(self.gate_refs)] for b in rows]

    def _constant_matrices(self) -> dict[int, np.ndarray]:
        """Transfer matrices of the constant gates, once per distinct matrix."""
        consts = self.setup.evaluator.constants()
        out: dict[int, np.ndarray] = {}
        seen: dict[tuple, np.ndarray] = {}
        for i, (kind, row) in enumerate(self.gate_refs):
            if kind < 0:
                k = len(self.setup.ops[i].qubits)
                t = np.asarray(consts[row])
                t = t.reshape((1, 2**k) if t.ndim == k else (1, 2**k, 2**k))
                key = (t.shape, t.tobytes())
                if key not in seen:
                    seen[key] = transfer_matrices(t)[0]
                out[i] = seen[key]
        return out

    def run(self, matrices: list[np.ndarray], estimate: bool = True
            ) -> tuple[np.ndarray, np.ndarray, int]:
        """Values and error estimates of every observable for one row's matrices
        (with ``estimate``, a second propagation at :data:`COARSE` times the threshold)."""
        gates = self.layout.gates
        columns = _gate_columns(matrices)  # shared by every observable and both thresholds
        values, errors, most = [], [], 0
        for strings, norm, scale, const in zip(self.strings, self.norms, self.scales,
                                               self.constants):
            cut = max(self.threshold, FLOOR) * scale
            v, d, m = propagate(strings, gates, matrices, cut, columns)
            if estimate and self.threshold > 0 and d > 0:
                change = abs(v - propagate(strings, gates, matrices, COARSE * cut, columns)[0])
                # no change although strings were dropped: both settings truncated alike,
                # nothing to compare; fall back to the strict bound (at most |v| + norm)
                d = change if change > 0 else min(d, abs(v) + norm)
            values.append(v + const)
            errors.append(d)
            most = max(most, m)
        return np.array(values), np.array(errors), most

    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        if getattr(values.vals, "requires_grad", False):
            raise UnsupportedError(
                "strategy 'pauli' keeps the Pauli strings over the threshold, a choice that "
                "changes with the angles, so torch autograd cannot differentiate it; use "
                "tnq.param_shift(program, params) or tnq.value_and_grad(program, params, "
                "backend='numpy') (parameter shift through the same Program)")
        rows = [self.run(m, estimate=not shifts) for m in self.matrices(values, shifts)]
        vals = np.array([r[0] for r in rows])
        errs = np.array([r[1] for r in rows])
        batched = values.batch is not None or bool(shifts)
        out = vals if batched else vals[0]
        err = errs.max(axis=-1) if batched else float(errs[0].max())
        return _on_backend(out, values), {"error": err}


def _unitaries(table: np.ndarray, gate) -> np.ndarray:
    """A kind's ``(k, *shape)`` table as ``(k, d, d)`` matrices or ``(k, d)`` diagonals."""
    shape = (gate.dim,) if gate.diagonal else (gate.dim, gate.dim)
    return table.reshape((table.shape[0],) + shape)


def _touches(s: StringSet, q: int) -> bool:
    w, bit = q // 64, np.uint64(1) << np.uint64(q % 64)
    return bool(np.any((s.x[w] | s.z[w]) & bit))


def _on_backend(out: np.ndarray, values: Values):
    """The numpy values on the call's backend and real dtype."""
    like = values.vals
    if isinstance(like, np.ndarray):
        return out.astype(like.dtype)
    return to_backend(np.ascontiguousarray(out, dtype=to_numpy(like).dtype), like)
