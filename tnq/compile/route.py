"""Gate schedules for a matrix product state on a line of sites (no arrays).

An MPS only applies gates to neighbouring sites. :func:`route` turns a
circuit into steps on blocks of adjacent sites: a gate whose qubits are apart
is preceded by SWAPs that bring its qubits next to each other and followed by
the same SWAPs undone, so qubit ``q`` is on site ``q`` between gates. Each
step carries the ``einsum`` subscripts that apply its gate tensor to the
block, with the gate's qubit order mapped onto the block's sites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..circuit import Op
from ..errors import CompileError

__all__ = ["Step", "Schedule", "route", "MAX_ARITY", "SWAP"]

MAX_ARITY = 5
"""The most qubits one gate may act on in the ``mps`` strategy."""

SWAP = -1
"""The ``op`` of a step that swaps two neighbouring sites."""


@dataclass(frozen=True)
class Step:
    """One gate (or SWAP) applied to the sites ``site .. site + width - 1``.

    ``subscripts`` contracts the gate tensor (first operand, omitted for a
    SWAP) with the block tensor ``(left, 2, ..., 2, right)``; ``order[j]`` is
    the gate qubit on block site ``j``. A two-qubit step also applies the
    single-qubit gates ``pre[j]`` (in order) to block site ``j`` first.
    ``left`` says where the orthogonality centre goes after the split: to
    the block's first site when the next multi-site step lies to the left.
    """

    op: int
    site: int
    width: int
    subscripts: str
    order: tuple[int, ...] = (0,)
    pre: tuple[tuple[int, ...], ...] = ()
    left: bool = False


@dataclass(frozen=True)
class Schedule:
    """Steps for a circuit on ``n`` sites, and what routing cost."""

    steps: tuple[Step, ...]
    n: int
    swaps: int
    crossings: tuple[int, ...]
    """For each bond ``b`` (between sites ``b`` and ``b + 1``): how many
    multi-site steps act across it."""


def _subscripts(op: Op, order: Sequence[int]) -> str:
    """``einsum`` for gate ``op`` on a block whose site ``j`` holds ``op.qubits[order[j]]``."""
    k = len(order)
    ins = [chr(ord("a") + j) for j in range(k)]
    outs = [chr(ord("n") + j) for j in range(k)]
    pos = {m: j for j, m in enumerate(order)}  # gate qubit -> block site
    block = "A" + "".join(ins) + "B"
    if op.gate.diagonal:
        return f"{''.join(ins[pos[m]] for m in range(k))},{block}->{block}"
    gate = "".join(outs[pos[m]] for m in range(k)) + "".join(ins[pos[m]] for m in range(k))
    return f"{gate},{block}->A{''.join(outs)}B"


def _distance(op: Op, site: int) -> int:
    """How far ``site`` is from the span of ``op``'s qubits."""
    return max(min(op.qubits) - site, site - max(op.qubits), 0)


def _local_order(ops: Sequence[Op]) -> list[int]:
    """A gate order that keeps each qubit's gates in circuit order and, among
    the multi-qubit gates free to go next, takes the one nearest the last one
    (so a brickwork layer is swept in one direction, then back)."""
    last: dict[int, int] = {}
    after: list[list[int]] = [[] for _ in ops]
    waiting = [0] * len(ops)
    for i, op in enumerate(ops):
        for q in op.qubits:
            if q in last:
                after[last[q]].append(i)
                waiting[i] += 1
            last[q] = i
    singles = [i for i, op in enumerate(ops) if not waiting[i] and len(op.qubits) == 1]
    multi = {i for i, op in enumerate(ops) if not waiting[i] and len(op.qubits) > 1}
    order: list[int] = []
    centre = 0

    def done(i: int) -> None:
        order.append(i)
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j]:
                continue
            if len(ops[j].qubits) == 1:
                singles.append(j)
            else:
                multi.add(j)

    while singles or multi:
        while singles:
            done(singles.pop())
        if multi:
            i = min((_distance(ops[j], centre), j) for j in multi)[1]
            multi.discard(i)
            centre = max(ops[i].qubits)
            done(i)
    return order


def route(ops: Sequence[Op], n: int) -> Schedule:
    """The steps that apply ``ops`` to an ``n``-site MPS.

    Single-qubit gates are folded into the next two-qubit step on their qubit
    where there is one; gates on disjoint qubits may be reordered (see
    :func:`_local_order`), which does not change the state.

    Examples
    --------
    >>> from tnq import Circuit
    >>> s = route(Circuit(4).h(0).cx(3, 1).h(1).ops, 4)
    >>> [(st.op, st.site, st.width) for st in s.steps], s.swaps
    ([(-1, 2, 2), (1, 1, 2), (-1, 2, 2), (0, 0, 1), (2, 1, 1)], 2)
    >>> s.steps[1].subscripts, s.steps[1].order  # qubit 3 (control) is on site 2
    ('onba,AabB->AnoB', (1, 0))
    """
    steps: list[Step] = []
    swaps = 0
    pending: dict[int, list[int]] = {}  # qubit -> single-qubit gates not yet applied

    def flush(qubits) -> None:
        for q in qubits:
            for j in pending.pop(q, ()):
                steps.append(Step(j, q, 1, _subscripts(ops[j], (0,))))

    for i in _local_order(ops):
        op = ops[i]
        k = len(op.qubits)
        if k > MAX_ARITY:
            raise CompileError(f"gate {i} ({op}) acts on {k} qubits; the 'mps' strategy "
                               f"applies gates on at most {MAX_ARITY} qubits")
        if k == 1:
            pending.setdefault(op.qubits[0], []).append(i)
            continue
        if k > 2:
            flush(op.qubits)
        at = list(range(n))  # site -> qubit, for this gate only
        sites = sorted(op.qubits)
        moves = []
        for j in range(1, k):
            s = at.index(sites[j])
            for t in range(s - 1, sites[0] + j - 1, -1):
                moves.append(t)
                at[t], at[t + 1] = at[t + 1], at[t]
        order = tuple(op.qubits.index(at[sites[0] + j]) for j in range(k))
        pre = tuple(tuple(pending.pop(op.qubits[m], ())) for m in order) if k == 2 else ()
        steps += [Step(SWAP, t, 2, "AabB->AbaB", (1, 0)) for t in moves]
        steps.append(Step(i, sites[0], k, _subscripts(op, order), order, pre))
        steps += [Step(SWAP, t, 2, "AabB->AbaB", (1, 0)) for t in reversed(moves)]
        swaps += 2 * len(moves)
    flush(sorted(pending))
    crossings = [0] * max(n - 1, 0)
    for st in steps:
        for b in range(st.site, st.site + st.width - 1):
            crossings[b] += 1
    return Schedule(_directions(steps), n, swaps, tuple(crossings))


def _directions(steps: list[Step]) -> tuple[Step, ...]:
    """Mark two-site steps whose next multi-site step lies to their left."""
    out = list(steps)
    nxt = None
    for j in range(len(out) - 1, -1, -1):
        st = out[j]
        if st.width < 2:
            continue
        if st.width == 2 and nxt is not None and nxt < st.site:
            out[j] = Step(st.op, st.site, st.width, st.subscripts, st.order, st.pre, True)
        nxt = st.site
    return tuple(out)
