"""Canonical forms of reduced lightcones, so that isomorphic cones share a key.

Two terms can be contracted with one network and one path when their reduced
networks are equal after renaming qubits and reordering gates that commute.
On a random graph (QAOA), the cones of different edges are often isomorphic
but come with different qubit numbers and gate orders, so comparing gate
lists directly finds few matches.

:func:`canonical_cone` puts a cone into a canonical form by colour refinement
(1-dimensional Weisfeiler-Leman) on its network as a graph: tensors (inputs,
gates, the operator) and wire segments are nodes, an edge joins a tensor to
each wire it touches and carries the role of that wire for the tensor.
Remaining ties are broken by individualising one node at a time and refining
again. The canonical qubit numbering and gate order follow from the final
colours.

The key returned is the relabelled gate list itself, so equal keys always
mean equal networks, whatever the refinement did: a tie broken the "wrong"
way can only cost a missed match, never a wrong result.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from functools import cache

import numpy as np

from ..circuit import Op
from ..gates import GATES, gate_matrix

__all__ = ["canonical_cone"]

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix(x: np.ndarray) -> np.ndarray:
    """A 64-bit integer hash (splitmix64's finaliser), element-wise."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _text_hash(text: str) -> int:
    """A hash of ``text`` that does not change between runs (unlike ``hash``)."""
    h = np.uint64(len(text))
    for ch in text.encode():
        h = _mix(np.array([h ^ np.uint64(ch)], dtype=np.uint64))[0]
    return int(h)


@cache
def _kind_colour(name: str, symbolic: bool) -> int:
    return _text_hash(f"{name}/{symbolic}")


@cache
def _symmetric(op_name: str) -> bool:
    """Whether a two-qubit registry gate is unchanged by swapping its qubits."""
    gate = GATES.get(op_name)
    if gate is None or gate.num_qubits != 2:
        return False
    rng = np.random.default_rng(0)
    m = gate_matrix(op_name, *rng.uniform(0.1, 3.0, gate.num_params))
    if m.ndim == 1:
        m = np.diag(m)
    swap = m.reshape(2, 2, 2, 2).transpose(1, 0, 3, 2).reshape(4, 4)
    return bool(np.allclose(swap, m, atol=1e-12))


class _Graph:
    """The network of one cone as arrays: initial colours and labelled edges."""

    def __init__(self, gates: Sequence[Op], qubits: Sequence[int], support: Sequence[int]):
        colours: list[int] = []
        src: list[int] = []
        dst: list[int] = []
        lab: list[int] = []
        in_colour, wire_colour = _text_hash("input"), _text_hash("wire")

        def node(colour: int) -> int:
            colours.append(colour)
            return len(colours) - 1

        def link(tensor: int, wire: int, role: int) -> None:
            src.extend((tensor, wire))
            dst.extend((wire, tensor))
            lab.extend((role, role + 1000))

        self.inputs = [node(in_colour) for _ in qubits]
        where = {q: node(wire_colour) for q in qubits}
        for q, t in zip(qubits, self.inputs):
            link(t, where[q], 0)
        self.gates = []
        for op in gates:
            t = node(_kind_colour(op.name, op.symbolic))
            self.gates.append(t)
            sym = _symmetric(op.name)
            for j, q in enumerate(op.qubits):
                slot = 0 if sym else j
                if op.gate.diagonal:
                    link(t, where[q], 10 + slot)
                else:
                    link(t, where[q], 100 + slot)
                    where[q] = node(wire_colour)
                    link(t, where[q], 300 + slot)
        obs = node(_text_hash("operator"))
        for q in support:
            link(obs, where[q], 500)
        order = np.argsort(np.array(src), kind="stable")
        self.colours = np.array(colours, dtype=np.uint64)
        self.src = np.array(src, dtype=np.int64)[order]
        self.dst = np.array(dst, dtype=np.int64)[order]
        self.lab = _mix(np.array(lab, dtype=np.uint64)[order] + np.uint64(1))
        self.starts = np.flatnonzero(np.r_[True, self.src[1:] != self.src[:-1]])

    def refine(self, col: np.ndarray) -> np.ndarray:
        """Colour refinement until the number of colours stops growing."""
        count = len(np.unique(col))
        while True:
            msg = _mix(col[self.dst] ^ self.lab)
            agg = np.add.reduceat(msg, self.starts)
            new = _mix(col * np.uint64(3) + agg)
            new_count = len(np.unique(new))
            if new_count == count:
                return col
            col, count = new, new_count

    def canonical_colours(self) -> np.ndarray:
        """Refine, then individualise the first node of the smallest tied colour
        until every node has its own colour."""
        col = self.refine(self.colours)
        while True:
            values, first, counts = np.unique(col, return_index=True, return_counts=True)
            tied = counts > 1
            if not tied.any():
                return col
            c = values[tied][0]
            col = col.copy()
            col[first[tied][0]] = _mix(np.array([c ^ np.uint64(0x5BD1E995)]))[0]
            col = self.refine(col)


def _gate_order(gates: Sequence[Op], priority: Sequence[int]) -> list[int]:
    """A topological order of ``gates`` that takes, among the gates free to go
    next, the one of smallest ``priority``. Diagonal gates next to each other
    on a wire commute, so they are free together."""
    blocks: dict[int, list[list[int]]] = {}
    for i, op in enumerate(gates):
        for q in op.qubits:
            wire = blocks.setdefault(q, [])
            if not wire or not (op.gate.diagonal and gates[wire[-1][0]].gate.diagonal):
                wire.append([])
            wire[-1].append(i)
    position = {q: 0 for q in blocks}
    left = {q: len(b[0]) for q, b in blocks.items()}

    def ready(i: int) -> bool:
        return all(i in blocks[q][position[q]] for q in gates[i].qubits)

    heap = [(priority[i], i) for i in range(len(gates)) if ready(i)]
    heapq.heapify(heap)
    pushed = {i for _, i in heap}
    order: list[int] = []
    while heap:
        _, i = heapq.heappop(heap)
        order.append(i)
        for q in gates[i].qubits:
            left[q] -= 1
            if left[q] == 0 and position[q] + 1 < len(blocks[q]):
                position[q] += 1
                block = blocks[q][position[q]]
                left[q] = len(block)
                for j in block:
                    if j not in pushed and ready(j):
                        pushed.add(j)
                        heapq.heappush(heap, (priority[j], j))
    return order


def canonical_cone(ops: Sequence[Op], positions: Sequence[int], qubits: Sequence[int],
                   support: Sequence[int]):
    """Canonical gate order, qubit order and support order of a reduced cone.

    Parameters
    ----------
    ops : sequence of Op
        The circuit's gates.
    positions : sequence of int
        The cone's gates (positions in ``ops``), in circuit order.
    qubits, support : sequence of int
        The qubits the cone touches, and the operator's qubits in its order.

    Returns
    -------
    gate_order : tuple of int
        The canonical gate order, as indices into ``positions`` (still a valid
        order to apply them).
    qubit_order : tuple of int
        The canonical qubit order, as indices into ``qubits``.
    support_order : tuple of int
        The canonical support order, as indices into ``support``.
    key : tuple
        The relabelled gate list and support: equal keys mean equal networks
        (and isomorphic cones get equal keys unless a tie is broken apart).

    Examples
    --------
    >>> from tnq import Circuit
    >>> a = Circuit(3).h(0).h(1).cz(0, 1).h(2).cz(1, 2).ops
    >>> b = Circuit(3).h(2).h(1).cz(2, 1).h(0).cz(1, 0).ops
    >>> ka = canonical_cone(a, range(5), (0, 1, 2), (1,))[3]
    >>> kb = canonical_cone(b, range(5), (0, 1, 2), (1,))[3]
    >>> ka == kb
    True
    """
    gates = [ops[i] for i in positions]
    graph = _Graph(gates, qubits, support)
    col = graph.canonical_colours()
    by_colour = sorted(range(len(qubits)), key=lambda j: col[graph.inputs[j]])
    rank = {qubits[j]: r for r, j in enumerate(by_colour)}
    order = _gate_order(gates, [int(col[t]) for t in graph.gates])
    support_order = tuple(sorted(range(len(support)), key=lambda j: rank[support[j]]))
    relabelled = []
    for i in order:
        op = gates[i]
        qs = tuple(rank[q] for q in op.qubits)
        if _symmetric(op.name):
            qs = tuple(sorted(qs))
        relabelled.append((op.name, op.symbolic, qs))
    key = (len(qubits), tuple(relabelled), tuple(rank[support[j]] for j in support_order))
    return tuple(order), tuple(by_colour), support_order, key
