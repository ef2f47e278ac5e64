"""Lightcone reduction and structural grouping of observable terms (no arrays).

For a term ``O`` on a few qubits, ``<0|U^dag O U|0>`` only involves the gates
in the backward lightcone of ``O``; every other gate meets its own inverse and
cancels. :func:`reduce_cone` walks the circuit backwards from ``O`` and keeps
a gate only when it can change the operator seen so far:

* a gate on qubits where the operator is still the identity is dropped;
* a diagonal gate on qubits where the operator is diagonal (only ``I``/``Z``
  parts and, since then, only diagonal gates) commutes with it and is dropped;
* a kept diagonal gate makes the operator diagonal, not full, on new qubits.

A forward pass then drops gates that only multiply ``|0...0>`` by a phase
(diagonal gates, and constant gates such as ``cx`` acting on qubits still in
``|0>``). All of this depends on the circuit's structure only, never on
parameter values, so one reduction serves every call.

:func:`group_cones` puts each reduced term in a canonical form (see
:mod:`~tnq.compile.canonical`: qubits renumbered and commuting gates ordered
so that isomorphic networks read the same) and collects terms with equal
forms into a :class:`ConeGroup`: one network and one contraction path
for all of them, the tensors that differ between members stacked along the
:data:`MEMBERS` index.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..circuit import Op
from ..symbols import Symbol
from .canonical import canonical_cone
from .network import BATCH, Network, Source, ket
from .terms import TermGroups

__all__ = ["MEMBERS", "Cone", "ConeGroup", "reduce_cones", "group_cones", "cone_network"]

MEMBERS = -1
"""Label of the index along which the members of a group are stacked."""


@dataclass(frozen=True, eq=False)
class Cone:
    """One observable support after lightcone reduction.

    Attributes
    ----------
    support : tuple of int
        The qubits the (summed) operator acts on: sorted, or in canonical order
        after :func:`group_cones`.
    operator : ndarray
        Its ``2^k x 2^k`` matrix, big-endian in ``support``, or its ``(k, 2, 2)``
        single-qubit factors.
    ops : tuple of int
        Positions in the circuit of the gates kept, in circuit order (or a
        canonical order that is equally valid).
    qubits : tuple of int
        Every qubit the reduced network touches: sorted, or in canonical order.
    row : int
        Its row in the :class:`~tnq.compile.TermGroups` it was reduced from.
    """

    support: tuple[int, ...]
    operator: np.ndarray
    ops: tuple[int, ...]
    qubits: tuple[int, ...]
    row: int = -1


class _Wiring:
    """Per circuit: the previous gate on each qubit of each gate, and the last gate
    on each qubit; which gates are diagonal and which keep ``|0...0>`` as is."""

    def __init__(self, ops: Sequence[Op], n: int):
        last = [-1] * n
        self.pred: list[tuple[int, ...]] = []
        for i, op in enumerate(ops):
            self.pred.append(tuple(last[q] for q in op.qubits))
            for q in op.qubits:
                last[q] = i
        self.last = last
        self.diagonal = [op.gate.diagonal for op in ops]
        self.keeps_zero = [d or _keeps_zero(op) for d, op in zip(self.diagonal, ops)]


def _keeps_zero(op: Op) -> bool:
    """Whether a constant gate maps ``|0...0>`` to itself (up to a phase)."""
    if op.symbolic or op.gate.coeffs is not None:
        return False
    m = op.gate.matrix
    return bool(m is not None and m.ndim == 2 and not np.any(m[1:, 0]))


def _diagonal_on(operator: np.ndarray, k: int) -> tuple[bool, ...]:
    """For each of ``k`` qubits: whether ``operator`` (a matrix, or ``(k, 2, 2)``
    factors) is diagonal on it."""
    if operator.ndim == 3:
        return tuple(not (f[0, 1] or f[1, 0]) for f in operator)
    t = np.abs(operator.reshape((2,) * (2 * k))) > 0
    out = []
    for q in range(k):
        flip = np.take(np.take(t, 0, axis=q), 1, axis=k + q - 1)
        flop = np.take(np.take(t, 1, axis=q), 0, axis=k + q - 1)
        out.append(not (flip.any() or flop.any()))
    return tuple(out)


def reduce_cone(ops: Sequence[Op], wiring: _Wiring, support: tuple[int, ...],
                diagonal: tuple[bool, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Gates (positions, in order) and qubits of the reduced ``<0|U^dag O U|0>``.

    ``diagonal`` says, per qubit of ``support``, whether ``O`` is diagonal there.
    """
    state = {q: 1 if d else 2 for q, d in zip(support, diagonal)}  # 1 diagonal, 2 full
    heap = [-wiring.last[q] for q in support if wiring.last[q] >= 0]
    heapq.heapify(heap)
    seen: set[int] = set()
    kept = []
    while heap:
        i = -heapq.heappop(heap)
        if i in seen:
            continue
        seen.add(i)
        qs, pred = ops[i].qubits, wiring.pred[i]
        states = [state.get(q, 0) for q in qs]
        diag = wiring.diagonal[i]
        if diag and max(states) <= 1:  # commutes with the operator: drop it
            for s, p in zip(states, pred):
                if s and p >= 0:
                    heapq.heappush(heap, -p)
            continue
        kept.append(i)
        for q, s, p in zip(qs, states, pred):
            state[q] = max(s, 1) if diag else 2
            if p >= 0:
                heapq.heappush(heap, -p)
    kept.reverse()
    fresh = set(state)
    final = []
    for i in kept:  # forward: gates that leave |0...0> alone
        qs = ops[i].qubits
        if wiring.keeps_zero[i] and all(q in fresh for q in qs):
            continue
        final.append(i)
        fresh.difference_update(qs)
    touched = set(support).union(*(ops[i].qubits for i in final))
    return tuple(final), tuple(sorted(touched))


def reduce_cones(ops: Sequence[Op], n: int, terms: TermGroups) -> list[Cone]:
    """One reduced :class:`Cone` per support of ``terms``."""
    wiring = _Wiring(ops, n)
    cones = []
    for row, (support, operator) in enumerate(zip(terms.supports, terms.operators)):
        kept, qubits = reduce_cone(ops, wiring, support, _diagonal_on(operator, len(support)))
        cones.append(Cone(support, operator, kept, qubits, row))
    return cones


def _binding(op: Op) -> tuple:
    """What makes two gates of the same kind equal: name, parameters, matrix."""
    params = tuple((p.kind, p.index, p.scale, p.offset) if isinstance(p, Symbol) else p
                   for p in op.params)
    return (op.name, params, None if op.matrix is None else op.matrix.tobytes())


def _permuted(operator: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """``operator`` on its support reordered as ``support[order]``."""
    if list(order) == sorted(order):
        return operator
    if operator.ndim == 3:
        return operator[list(order)]
    k = len(order)
    axes = list(order) + [k + j for j in order]
    return operator.reshape((2,) * (2 * k)).transpose(axes).reshape(operator.shape)


def _rank_key(ops: Sequence[Op], cone: Cone) -> tuple:
    """The cone with qubits numbered by rank: equal for translated copies."""
    rank = {q: r for r, q in enumerate(cone.qubits)}
    gates = tuple((ops[i].name, ops[i].symbolic, tuple(rank[q] for q in ops[i].qubits))
                  for i in cone.ops)
    return gates, tuple(rank[q] for q in cone.support), cone.operator.shape


def canonical(ops: Sequence[Op], cone: Cone, seen: dict | None = None) -> tuple[Cone, tuple]:
    """``cone`` with its gates, qubits and support in canonical order, and its key.

    Cones equal after numbering qubits by rank (translated copies) get the same
    canonical form; ``seen`` caches it by that cheaper key.
    """
    fast = _rank_key(ops, cone)
    hit = None if seen is None else seen.get(fast)
    if hit is None:
        hit = canonical_cone(ops, cone.ops, cone.qubits, cone.support)
        if seen is not None:
            seen[fast] = hit
    gate_order, qubit_order, order, key = hit
    support = tuple(cone.support[j] for j in order)
    return (Cone(support, _permuted(cone.operator, order),
                 tuple(cone.ops[i] for i in gate_order),
                 tuple(cone.qubits[j] for j in qubit_order), cone.row),
            key + (cone.operator.shape,))


@dataclass(frozen=True, eq=False)
class ConeGroup:
    """Terms whose reduced networks are equal up to relabelling qubits.

    Attributes
    ----------
    cones : tuple of Cone
        The members, in observable order.
    ops : ndarray
        ``(M, T)`` circuit positions of each member's ``T`` gates.
    varies : ndarray
        ``(T,)`` bool: whether gate position ``t`` differs between members
        (then it is stacked along :data:`MEMBERS`; otherwise shared).
    operators : ndarray
        ``(M, 2^k, 2^k)`` the members' operators (or ``(M, k, 2, 2)`` factors).
    operator_varies : bool
    """

    cones: tuple[Cone, ...]
    ops: np.ndarray
    varies: np.ndarray
    operators: np.ndarray
    operator_varies: bool

    @property
    def size(self) -> int:
        return len(self.cones)

    @property
    def width(self) -> int:
        """Qubits in each member's reduced network."""
        return len(self.cones[0].qubits)


def group_cones(ops: Sequence[Op], cones: Sequence[Cone]) -> list[ConeGroup]:
    """Collect cones with equal structural keys, largest groups first."""
    by_key: dict[tuple, list[Cone]] = {}
    seen: dict = {}
    for cone in cones:
        cone, key = canonical(ops, cone, seen)
        by_key.setdefault(key, []).append(cone)
    binding_ids: dict[tuple, int] = {}
    bindings = np.array([binding_ids.setdefault(_binding(op), len(binding_ids)) for op in ops])
    groups = []
    for members in by_key.values():
        idx = np.array([c.ops for c in members], dtype=np.int64).reshape(
            len(members), len(members[0].ops))
        b = bindings[idx]
        varies = (b != b[:1]).any(axis=0)
        mats = np.array([c.operator for c in members])
        op_varies = bool(len(members) > 1 and not np.all(mats == mats[:1]))
        groups.append(ConeGroup(tuple(members), idx, varies, mats, op_varies))
    return sorted(groups, key=lambda g: -g.size)


def cone_network(ops: Sequence[Op], group: ConeGroup,
                 batched_ops: frozenset[int] = frozenset()) -> Network:
    """``<0|U^dag O U|0>`` for a group: ket gates, the operator, conjugated gates.

    Sources of kind ``"op"`` carry a gate's position ``t`` in the group (not in
    the circuit); ``"obs"`` is the operator. Positions that vary between
    members carry the :data:`MEMBERS` index; positions with a gate in
    ``batched_ops`` (parameters varying across a call's batch) carry
    :data:`~tnq.compile.network.BATCH`.
    """
    cone, varies, idx, op_varies = group.cones[0], group.varies, group.ops, \
        group.operator_varies
    m = len(cone.qubits)
    rank = {q: r for r, q in enumerate(cone.qubits)}
    batched = [bool(batched_ops) and any(int(i) in batched_ops for i in idx[:, t])
               for t in range(idx.shape[1])]

    gates = [ops[i] for i in cone.ops]
    leads = [((BATCH,) if b else ()) + ((MEMBERS,) if v else ()) for b, v in zip(batched, varies)]

    k_in, k_src, wires, label = ket(gates, m, 1, leads=leads, rank=rank)
    k = len(cone.support)
    rows = tuple(range(label, label + k))
    cols = tuple(wires[rank[q]] for q in cone.support)
    lead = (MEMBERS,) if op_varies else ()
    if cone.operator.ndim == 3:  # a product of single-qubit factors
        obs = tuple(lead + (r, c) for r, c in zip(rows, cols))
    else:
        obs = (lead + rows + cols,)
    b_in, b_src, b_wires, _ = ket(gates, m, label + k, True, leads=leads, rank=rank)
    final = dict(zip(b_wires, wires))
    for q, r in zip(cone.support, rows):
        final[b_wires[rank[q]]] = r
    b_in = [tuple(final.get(i, i) for i in t) for t in b_in]
    output = ((BATCH,) if any(batched) else ()) + \
        ((MEMBERS,) if op_varies or varies.any() else ())
    return Network(tuple(k_in) + obs + tuple(b_in), output,
                   tuple(k_src) + tuple(Source("obs", f) for f in range(len(obs)))
                   + tuple(b_src),
                   batched=any(batched), fixed=((MEMBERS, len(idx)),))
