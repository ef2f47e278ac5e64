"""Fused blocks at call time: their matrices from a call's gate tables, and
their application to a state vector.

At compile time, :class:`BlockRecipe` turns a :class:`~tnq.compile.fusion.Fusion`
into arrays: constant blocks multiplied out, and the other blocks grouped by
signature (:meth:`~tnq.compile.fusion.Fusion.signature`), each group holding
per step the rows of a gate kind's table it takes (an index array) or its
stacked constant matrices. A call builds the tables once
(:meth:`~tnq.contract.Evaluator.tables`), then every group's matrices by one
batched product per step of its signature, and applies the blocks in order.
Python loops run over groups, steps and blocks, never over gates.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from autoray import do, get_lib_fn, infer_backend

from ..circuit import Op
from ..compile.fusion import Block, Fusion, merged_transpose
from ..contract import Evaluator, device_key, to_backend, unbind
from ..memo import Memo

__all__ = ["BlockRecipe", "ArrayOps", "apply_block", "to_qubit_order"]

LETTERS = "abcdefghijklmnopqrstuvwxy"  # block axes, then new axes; "z": a matrix's columns


def _take(table, rows, axis: int):
    """``table`` indexed by the integer array ``rows`` along ``axis`` (0 or 1)."""
    if infer_backend(table) == "tensorflow":
        return do("gather", table, rows, axis=axis)
    return table[rows] if axis == 0 else table[:, rows]


class _Embedder:
    """Gates as ``d x d`` matrices (or diagonals) of a ``k``-qubit block, cached
    by gate and positions (circuits repeat the same gates many times)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self._cache: dict = {}

    def __call__(self, op: Op, tensor: np.ndarray, pos: tuple[int, ...], k: int,
                 diagonal: bool) -> np.ndarray:
        key = None if op.matrix is not None else (op.name, op.params, pos, k, diagonal)
        hit = self._cache.get(key) if key is not None else None
        if hit is None:
            hit = self._embed(tensor, pos, k, op.gate.diagonal, diagonal)
            if key is not None:
                self._cache[key] = hit
        return hit

    def _embed(self, t: np.ndarray, pos, k: int, gate_diag: bool, block_diag: bool):
        d = 2**k
        if block_diag:
            return _diag_steps(np.ones((2,) * k, dtype=self.dtype), t, pos).reshape(d)
        eye = np.eye(d, dtype=self.dtype).reshape((2,) * k + (d,))
        eq = _equation(pos, k, gate_diag, dense_block=True)
        return np.einsum(eq, t, eye).reshape(d, d)


def _diag_steps(acc: np.ndarray, t: np.ndarray, pos) -> np.ndarray:
    eq = _equation(pos, acc.ndim, True, dense_block=False)
    return np.einsum(eq, t, acc)


def _equation(pos: Sequence[int], k: int, gate_diag: bool, dense_block: bool,
              lead: str = "") -> str:
    """einsum of a gate (on block positions ``pos``) times a block tensor with
    ``k`` row axes (and a column axis ``z`` when ``dense_block``)."""
    acc = LETTERS[:k]
    z = "z" if dense_block else ""
    if gate_diag:
        gate = "".join(acc[p] for p in pos)
        out = acc
    else:
        new = LETTERS[k:k + len(pos)]
        gate = new + "".join(acc[p] for p in pos)
        rename = dict(zip(pos, new))
        out = "".join(rename.get(i, c) for i, c in enumerate(acc))
    return f"{lead}{gate},{lead}{acc}{z}->{lead}{out}{z}"


class _Group:
    """Blocks of one signature: per step, table rows (kinds) or stacked constants."""

    def __init__(self, dim: int, diagonal: bool, steps: list[tuple]):
        self.dim, self.diagonal = dim, diagonal
        # per step: None for constants, else (kind, positions, gate diagonal)
        self._kinds = [None if s[0] == "const" else (s[1], s[3], s[4]) for s in steps]
        self._parts: list[list] = [[] for _ in steps]  # constant matrices or table rows
        self.members: list[int] = []  # block positions in the fusion
        # ("const", (M, d[, d])) or ("kind", j, rows, pos, diag, basis): see _basis
        self.steps: list[tuple] = []

    def add(self, b: int, steps: list[tuple]) -> None:
        self.members.append(b)
        for part, s in zip(self._parts, steps):
            part.append(s[1] if s[0] == "const" else s[2])

    def freeze(self, dtype) -> None:
        k = self.dim.bit_length() - 1
        self.steps = [("const", np.stack(p)) if s is None else
                      ("kind", s[0], np.array(p, dtype=np.int64), s[1], s[2],
                       _basis(s[1], k, s[2], self.diagonal, np.dtype(dtype).name))
                      for s, p in zip(self._kinds, self._parts)]
        self._parts = []


@lru_cache(maxsize=256)
def _basis(pos: tuple[int, ...], k: int, gate_diag: bool, block_diag: bool, dtype: str):
    """``(m, d*d)`` (``(m, d)`` for a diagonal block): each entry of a gate on
    block positions ``pos`` (``m`` of them: ``4^g``, or ``2^g`` when diagonal)
    embedded in the ``k``-qubit block; None when the gate is the block."""
    if tuple(pos) == tuple(range(k)) and gate_diag == block_diag:
        return None
    g = len(pos)
    m = 2**g if gate_diag else 4**g
    units = np.eye(m, dtype=dtype).reshape((m,) + (2,) * (g if gate_diag else 2 * g))
    embed = _Embedder(np.dtype(dtype))
    out = np.stack([embed._embed(u, pos, k, gate_diag, block_diag) for u in units])
    return out.reshape(m, -1)


class BlockRecipe:
    """How a call builds every block's matrix; made at compile time.

    Parameters
    ----------
    fusion : Fusion
    ops : sequence of Op
        The circuit's operations (those the fusion was made from).
    evaluator : Evaluator
        Where the gates' tensors come from.
    """

    def __init__(self, fusion: Fusion, ops: Sequence[Op], evaluator: Evaluator):
        self.fusion = fusion
        self._consts = evaluator.constants()
        embed = _Embedder(evaluator.dtype)
        self.constant: dict[int, np.ndarray] = {}  # block -> its matrix (diagonal)
        groups: dict[tuple, _Group] = {}
        for b, block in enumerate(fusion.blocks):
            steps = self._steps(block, ops, evaluator, embed)
            if len(steps) == 1 and steps[0][0] == "const":
                self.constant[b] = steps[0][1]
                continue
            key = fusion.signature(block, ops)
            if key not in groups:
                groups[key] = _Group(block.dim, block.diagonal, steps)
            groups[key].add(b, steps)
        for group in groups.values():
            group.freeze(evaluator.dtype)
        self.groups = tuple(groups.values())
        # the first block that is not constant: those before it are a constant prefix
        self.first = next((b for b in range(len(fusion.blocks)) if b not in self.constant),
                          len(fusion.blocks))
        self.dtype = evaluator.dtype
        self._kind_ndim = [len(k.shape) + 1 for k in evaluator.kinds]
        self._backend = Memo(8, travel=False)

    def _steps(self, block: Block, ops: Sequence[Op], e: Evaluator, embed: _Embedder
               ) -> list[tuple]:
        """The block's steps: ``("const", matrix)`` for runs of constant gates
        (multiplied out), ``("kind", j, row, positions, diagonal)`` for symbolic ones."""
        k = len(block.qubits)
        steps: list[tuple] = []
        run = None
        for i, pos in zip(block.ops, block.positions):
            op = ops[i]
            if op.symbolic:
                if run is not None:
                    steps.append(("const", run))
                    run = None
                j, row = e.locate(i)
                steps.append(("kind", j, row, pos, op.gate.diagonal))
                continue
            m = embed(op, self._consts[e.locate(i)[1]], pos, k, block.diagonal)
            run = m if run is None else (m * run if block.diagonal else m @ run)
        if run is not None:
            steps.append(("const", run))
        return steps

    def flops(self) -> float:
        """Multiply-adds of building the symbolic blocks in one unbatched call."""
        total = 0.0
        for g in self.groups:
            d, m = g.dim, len(g.members)
            for s in g.steps:
                if g.diagonal:
                    total += m * d
                elif s[0] == "const":
                    total += m * d**3
                else:
                    total += m * d * d * (1 if s[4] else 2 ** len(s[3]))
        return total

    def _on_backend(self, like):
        def make():
            consts = {b: to_backend(m, like) for b, m in self.constant.items()}
            groups = [[("const", to_backend(s[1], like)) if s[0] == "const" else
                       ("kind", s[1], to_backend(s[2], like), s[3], s[4],
                        None if s[5] is None else to_backend(s[5], like)) for s in g.steps]
                      for g in self.groups]
            eyes = {}
            for g in self.groups:
                eye = np.ones((1, g.dim), dtype=self.dtype) if g.diagonal else \
                    np.eye(g.dim, dtype=self.dtype)[None]
                eyes[(g.dim, g.diagonal)] = to_backend(eye, like)
            return consts, groups, eyes

        return self._backend.get(device_key(like), make)

    def matrices(self, tables: list, like) -> list:
        """Every block's matrix (diagonal), ``(d, d)`` (``(d,)``), with a leading
        batch axis where a batched table went into it."""
        consts, groups, eyes = self._on_backend(like)
        out: list = [None] * len(self.fusion.blocks)
        for b, m in consts.items():
            out[b] = m
        for group, steps in zip(self.groups, groups):
            acc = self._build(group, steps, tables, eyes)
            rows = unbind(acc, acc.ndim - (2 if group.diagonal else 3))
            for b, m in zip(group.members, rows):
                out[b] = m
        return out

    def _build(self, group: _Group, steps: list, tables: list, eyes: dict):
        """``(..., M, d, d)`` (``(..., M, d)``): the group's matrices."""
        acc = None
        for s in steps:
            acc = self._step(group, s, acc, tables, eyes)
        return acc

    def _gate(self, s: tuple, tables: list, table=None):
        """A symbolic step's gates embedded in the block, flat: ``(..., M, d*d)``
        (``(..., M, d)`` for a diagonal block), by one product with the step's
        basis; from ``table`` instead of their kind's table when given (e.g.
        their derivatives)."""
        _, j, rows, pos, gate_diag, basis = s
        table = tables[j] if table is None else table
        axis = int(table.ndim > self._kind_ndim[j])
        g = _take(table, rows, axis)
        lead = tuple(g.shape[:axis + 1])
        flat = do("reshape", g, lead + (-1,))
        e = flat if basis is None else do("matmul", flat, basis)
        return e

    def _step(self, group: _Group, s: tuple, acc, tables: list, eyes: dict,
              transpose: bool = False):
        """``acc`` with step ``s`` applied on the left (its transpose, when
        ``transpose``); ``acc=None`` stands for the identity."""
        d, diag = group.dim, group.diagonal
        if s[0] == "const":
            c = do("swapaxes", s[1], -1, -2) if transpose and not diag else s[1]
            return c if acc is None else (c * acc if diag else do("matmul", c, acc))
        e = self._gate(s, tables)
        if not diag:
            e = do("reshape", e, tuple(e.shape[:-1]) + (d, d))
            if transpose:
                e = do("swapaxes", e, -1, -2)
        if acc is None:
            return e
        return e * acc if diag else do("matmul", e, acc)

    def derivatives(self, g: int, tables: list, dtables: list, overlap, like) -> list:
        """``2 Re sum_ij (dB/dt)_ij R_ij`` for every parameter ``t`` of the
        symbolic gates of group ``g``'s blocks ``B``, given their overlaps ``R``
        (``overlap``: ``(..., M, d, d)``, or ``(..., M, d)`` for a diagonal
        group) and the derivatives of the gate tables (``dtables[kind][column]``).

        With the block ``B = S_T ... S_1`` (steps), ``dB/dt = A dS_t C`` for
        ``C = S_{t-1} ... S_1`` and ``A = S_T ... S_{t+1}``, and the sum is
        ``sum_ij (dS_t)_ij Y_ij`` with ``Y = (A^T R) C^T``: the prefixes ``C``
        on the way forward, ``A^T R`` on the way back, one product per step.
        Returns ``(kind, rows, column, (..., M) values)`` per step and column.
        """
        _, groups, eyes = self._on_backend(like)
        group, steps = self.groups[g], groups[g]
        diag = group.diagonal
        prefix: list = []
        acc = None
        for s in steps:
            prefix.append(acc)
            acc = self._step(group, s, acc, tables, eyes)
        z = overlap
        out = []
        for t in range(len(steps) - 1, -1, -1):
            s = steps[t]
            if s[0] == "kind":
                c = prefix[t]
                if c is None:
                    y = z
                else:
                    y = z * c if diag else do("matmul", z, do("swapaxes", c, -1, -2))
                if not diag:
                    y = do("reshape", y, tuple(y.shape[:-2]) + (-1,))
                for col, dt in enumerate(dtables[s[1]]):
                    de = self._gate(s, tables, dt)
                    out.append((s[1], s[2], col, 2 * do("sum", do("real", de * y), axis=-1)))
            if t:
                z = self._step(group, s, z, tables, eyes, transpose=True)
        return out


class ArrayOps:
    """The array functions a simulation calls per block, looked up once for the
    backend of ``like`` (a dispatch per block would cost more than the block
    itself on small states)."""

    def __init__(self, like):
        backend = infer_backend(like)
        self.reshape = get_lib_fn(backend, "reshape")
        self.matmul = get_lib_fn(backend, "matmul")
        self.transpose = get_lib_fn(backend, "transpose")
        self.swapaxes = get_lib_fn(backend, "swapaxes")


def apply_block(psi, matrix, block: Block, n: int, xp: ArrayOps | None = None):
    """``psi`` (``(2**n,)`` or ``(B, 2**n)``, axes in the fusion's layout
    before ``block``) with the block's matrix applied (layout after it)."""
    xp = xp or ArrayOps(psi)
    lead = tuple(psi.shape[:-1])
    mode = block.mode
    if mode == "diag":
        t = xp.reshape(psi, lead + block.shape)
        out = t * xp.reshape(matrix, tuple(matrix.shape[:-1]) + block.perm)
        return xp.reshape(out, tuple(out.shape[:out.ndim - len(block.shape)]) + (2**n,))
    if mode == "left":
        t = xp.reshape(psi, lead + block.shape)
        out = xp.matmul(matrix if matrix.ndim == 2 else matrix[:, None], t)
        return xp.reshape(out, tuple(out.shape[:-3]) + (2**n,))
    if mode == "back":
        b = len(lead)
        t = xp.reshape(psi, lead + block.shape[2:])
        t = xp.transpose(t, tuple(range(b)) + tuple(b + p for p in block.perm))
        t = xp.reshape(t, lead + block.shape[:2])
    else:
        t = xp.reshape(psi, lead + block.shape)
    out = xp.matmul(t, xp.swapaxes(matrix, -1, -2))
    return xp.reshape(out, tuple(out.shape[:-2]) + (2**n,))


def to_qubit_order(psi, fusion: Fusion):
    """``psi`` with its axes moved from the fusion's final layout to qubit order."""
    n = fusion.num_qubits
    layout = fusion.layout
    if layout == tuple(range(n)):
        return psi
    where = {q: a for a, q in enumerate(layout)}
    view, perm = merged_transpose([where[q] for q in range(n)])
    lead = tuple(psi.shape[:-1])
    b = len(lead)
    t = do("reshape", psi, lead + view)
    t = do("transpose", t, tuple(range(b)) + tuple(b + p for p in perm))
    return do("reshape", t, lead + (2**n,))
