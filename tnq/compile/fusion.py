"""Gate fusion: a circuit cut into blocks of few qubits, and the order in which
a state vector meets them. Structure only, no arrays.

A *block* is a run of gates on at most ``width`` qubits (a gate on more qubits
makes a block of its own qubits) whose product is applied to the state as one
``2^k x 2^k`` matrix (or one diagonal, when every gate in it is diagonal).
Blocks are made greedily in gate order, as state-vector simulators fuse gates:
a gate joins the latest block on its qubits when the union of qubits stays
within the width; single-qubit blocks left over join the next (else the
previous) block on their qubit. The blocks, applied in order, give the
circuit's unitary.

The state is kept as an ``n``-axis tensor whose axes are in a *layout* (a
permutation of the qubits) that changes as blocks are applied, so that no
block needs more than one transpose: a block whose qubits are adjacent axes
is applied to a reshaped view (``mode`` ``"left"``: ``U @ (a, d, c)``;
``"right"``: ``(a, d) @ U^T``), others move their qubits to the last axes
first (``"back"``: ``(rest, d) @ U^T``, which changes the layout), and a
diagonal block multiplies the state by a broadcast view (``"diag"``). Each
block's qubits are listed in layout order, so its matrix needs no transpose.

Each block also has a *signature*: the sequence of its steps, each ``("const",
())`` for a run of constant gates (multiplied out at compile time) or the
symbolic gate's name with its positions in the block. Blocks with equal
signatures are built together in a call, by a few batched matrix products
over the gate tables (one per step), never a loop over gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..circuit import Op

__all__ = ["Block", "Fusion", "fuse", "merged_transpose", "DEFAULT_WIDTH", "LEFT_MIN"]

DEFAULT_WIDTH = 4
"""Qubits a block may span unless one gate spans more (see :func:`fuse`)."""
LEFT_MIN = 16
"""A block on adjacent axes is applied as ``U @ (a, d, c)`` (``a`` matrix
products of ``c`` columns) when ``c`` or ``1/a`` is at least this large:
otherwise many tiny products would cost more than moving its qubits last."""


@dataclass(frozen=True)
class Block:
    """A fused run of gates, applied to the state as one matrix.

    Attributes
    ----------
    qubits : tuple of int
        The block's qubits in the order of its matrix (the first is the most
        significant bit of a row index): their order in the layout.
    ops : tuple of int
        Circuit positions of its gates, in order of application.
    positions : tuple of tuples of int
        For each gate, its qubits as positions in :attr:`qubits`.
    diagonal : bool
        Whether every gate is diagonal (the block is then a diagonal).
    mode : str
        How it meets the state: ``"left"``, ``"right"``, ``"back"`` or ``"diag"``.
    shape : tuple of int
        The state's view for the block: ``(a, d, c)`` (left), ``(a, d)`` (right),
        sizes of alternating other/block axis runs (diag); ``"back"``: ``(rest,
        d)`` after the transpose, then the view before it (runs of axes that
        move together, merged).
    perm : tuple of int
        ``"back"``: the transpose of that view's axes; ``"diag"``: the shape of
        the diagonal's view (2 on block axes, 1 elsewhere).
    """

    qubits: tuple[int, ...]
    ops: tuple[int, ...]
    positions: tuple[tuple[int, ...], ...]
    diagonal: bool
    mode: str
    shape: tuple[int, ...]
    perm: tuple[int, ...] = ()

    @property
    def dim(self) -> int:
        return 2 ** len(self.qubits)


@dataclass(frozen=True)
class Fusion:
    """A circuit's blocks in order of application, and the final layout.

    Attributes
    ----------
    num_qubits : int
    width : int
        The fusion width the blocks were made with.
    blocks : tuple of Block
    layout : tuple of int
        The qubit of each state axis after the last block; the state is
        transposed back to qubit order (qubit 0 first) at the end.
    """

    num_qubits: int
    width: int
    blocks: tuple[Block, ...]
    layout: tuple[int, ...]

    def flops(self) -> float:
        """Multiply-adds of applying every block to one state: ``2^n * d`` per
        dense block of dimension ``d``, ``2^n`` per diagonal one."""
        size = 2.0**self.num_qubits
        return sum(size if b.diagonal else size * b.dim for b in self.blocks)

    def signature(self, block: Block, ops: Sequence[Op]) -> tuple:
        """The block's steps: ``("const", ())`` for a run of constant gates, else
        ``(name, positions)`` of a symbolic gate; with its dimension and diagonality."""
        steps: list[tuple] = []
        for i, pos in zip(block.ops, block.positions):
            if not ops[i].symbolic:
                if not steps or steps[-1][0] != "const":
                    steps.append(("const", ()))
            else:
                steps.append((ops[i].name, pos))
        return (block.dim, block.diagonal, tuple(steps))


def fuse(ops: Sequence[Op], num_qubits: int, width: int = DEFAULT_WIDTH) -> Fusion:
    """Cut ``ops`` into blocks of at most ``width`` qubits and lay them out.

    Examples
    --------
    >>> import tnq
    >>> c = tnq.Circuit(3).h(0).h(1).cx(0, 1).rz(1, 0.3).cx(1, 2).x(2)
    >>> f = fuse(c.ops, 3, width=2)
    >>> [(b.qubits, b.ops, b.mode) for b in f.blocks]
    [((0, 1), (0, 1, 2, 3), 'left'), ((1, 2), (4, 5), 'right')]
    >>> fuse(c.ops, 3, width=3).blocks[0].ops
    (0, 1, 2, 3, 4, 5)
    """
    groups = _greedy(ops, num_qubits, width)
    return _schedule(groups, ops, num_qubits, width)


def _greedy(ops: Sequence[Op], n: int, width: int) -> list[tuple[list[int], list[int]]]:
    """Blocks as ``(qubits in order of first use, gate positions)``, in order."""
    blocks: list[tuple[list[int], list[int]]] = []
    last = [-1] * n  # the latest block on each qubit
    for i, op in enumerate(ops):
        qs = op.qubits
        b = last[qs[0]] if len(qs) == 1 else max([last[q] for q in qs])
        if b >= 0:
            bq, gates = blocks[b]
            new = [q for q in qs if q not in bq]
            if not new or len(bq) + len(new) <= width:
                bq += new
                gates.append(i)
                for q in new:
                    last[q] = b
                continue
        blocks.append((list(qs), [i]))
        b = len(blocks) - 1
        for q in qs:
            last[q] = b
    return _absorb_singles(blocks, n)


def _absorb_singles(blocks: list[tuple[list[int], list[int]]], n: int
                    ) -> list[tuple[list[int], list[int]]]:
    """Single-qubit blocks join the next block on their qubit (their gates
    come first in it). Greedy fusion leaves at most one such block per qubit,
    its first; a qubit that only ever meets single-qubit gates keeps it."""
    head: dict[int, list[int]] = {}  # gates prepended to a block
    single = [-1] * n  # a single-qubit block waiting on each qubit
    gone: set[int] = set()
    for b, (qs, _) in enumerate(blocks):
        if len(qs) == 1 and single[qs[0]] == -1:
            single[qs[0]] = b
            continue
        for q in qs:
            s = single[q]
            if s >= 0 and s != b:
                head.setdefault(b, []).extend(blocks[s][1])
                gone.add(s)
                single[q] = -2  # absorbed: later blocks on q are not single
    return [(qs, head.get(b, []) + gates) for b, (qs, gates) in enumerate(blocks)
            if b not in gone]


def _schedule(groups, ops: Sequence[Op], n: int, width: int) -> Fusion:
    """Each block's axes, qubit order and mode, following the layout."""
    layout = list(range(n))
    where = list(range(n))  # the axis of each qubit
    diagonal: dict = {}
    blocks = []
    for qs, gates in groups:
        diag = all([_is_diagonal(ops[i], diagonal) for i in gates])
        axes = sorted([where[q] for q in qs])
        order = tuple([layout[a] for a in axes])
        k = len(axes)
        d = 2**k
        if diag:
            mode, shape, perm = "diag", *_diag_view(axes, n)
        elif axes[-1] - axes[0] + 1 == k and _adjacent_ok(axes[0], n - 1 - axes[-1]):
            a, c = 2 ** axes[0], 2 ** (n - 1 - axes[-1])
            mode, shape, perm = ("right", (a, d), ()) if c == 1 else ("left", (a, d, c), ())
        else:
            inside = set(axes)
            rest = [a for a in range(n) if a not in inside]
            layout = [layout[a] for a in rest + axes]
            for a, q in enumerate(layout):
                where[q] = a
            view, perm = merged_transpose(rest + axes)
            mode, shape = "back", (2 ** (n - k), d) + view
        pos = {q: p for p, q in enumerate(order)}
        positions = tuple([tuple([pos[q] for q in ops[i].qubits]) for i in gates])
        blocks.append(Block(order, tuple(gates), positions, diag, mode, shape, perm))
    return Fusion(n, width, tuple(blocks), tuple(layout))


def merged_transpose(order: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A transpose of ``n`` qubit axes (axis ``order[i]`` goes to place ``i``) on
    fewer, larger axes: runs of axes that stay together are merged. Returns the
    view (sizes of the runs in input order) and the transpose of its axes.

    Examples
    --------
    >>> merged_transpose([2, 3, 4, 0, 1])
    ((4, 8), (1, 0))
    """
    runs: list[list[int]] = []
    for a in order:
        if runs and runs[-1][-1] + 1 == a:
            runs[-1].append(a)
        else:
            runs.append([a])
    by_start = sorted(range(len(runs)), key=lambda r: runs[r][0])
    place = {r: i for i, r in enumerate(by_start)}
    return (tuple(2 ** len(runs[r]) for r in by_start),
            tuple(place[r] for r in range(len(runs))))


def _adjacent_ok(before: int, after: int) -> bool:
    """Whether a block on adjacent axes, with ``before`` and ``after`` axes
    around it, is applied in place: at the end, or as ``a`` products with
    ``c`` columns each where ``a`` is small or ``c`` is not."""
    return after == 0 or 2**after >= LEFT_MIN or 2**before <= LEFT_MIN


def _is_diagonal(op: Op, cache: dict) -> bool:
    key = op.name if op.matrix is None else id(op.matrix)
    if key not in cache:
        cache[key] = op.gate.diagonal
    return cache[key]


def _diag_view(axes: list[int], n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The state's view (runs of other axes merged) and the diagonal's view."""
    shape: list[int] = []
    dshape: list[int] = []
    at = 0
    for a in axes:
        if a > at:
            shape.append(2 ** (a - at))
            dshape.append(1)
        shape.append(2)
        dshape.append(2)
        at = a + 1
    if at < n:
        shape.append(2 ** (n - at))
        dshape.append(1)
    return tuple(shape), tuple(dshape)
