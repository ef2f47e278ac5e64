"""The MPS engine's sweep: gates applied to a batch of matrix product states at once.

A call simulates every row of its batch (parameter vectors, data inputs,
parameter-shift rows) in one pass over the routed schedule
(:mod:`tnq.compile.route`): site tensors are ``(B, left, 2, right)`` arrays
and every QR and SVD is a batched one. Bond dimensions are shared by the
rows: a split keeps, for the whole batch, the largest number of singular
values any row needs, and zeroes the values a row would have dropped on its
own, so each row is exactly the state a run of that row alone gives (its
bonds padded with zeros). With a fixed ``max_bond`` and ``cutoff=0`` no
padding happens.

Before the sweep, the matrices of all two-site steps (the step's gate with
the single-qubit gates before it folded in) are built together from the
call's gate tables by a few batched products (:class:`StepGates`), so the
per-step work is a QR to move the orthogonality centre, one product with
the step's ``4 x 4`` matrix and one SVD. Array functions are looked up once
per call (:class:`Lib`), not per operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import opt_einsum as oe
from autoray import get_lib_fn, infer_backend

from .compile.route import SWAP, Schedule, Step
from .contract import to_backend, to_numpy
from .observables import PAULI

__all__ = ["svd", "Lib", "Account", "StepGates", "sweep"]

_SWAP4 = np.eye(4)[[0, 2, 1, 3]]
_PERM = (0, 2, 1, 3)  # basis |ab> -> |ba> for a 4 x 4 gate seen with its qubits swapped


def svd(matrix):
    """Thin SVD ``U, s, Vh`` of a matrix or a stack of them, on any backend; on
    torch, with a backward pass that stays finite when singular values repeat.

    torch's own SVD gradient divides by ``s_i^2 - s_j^2``; equal values (for
    example the exact zeros of a rank-deficient block) turn that into 0/0.
    Here such pairs, which only rotate vectors within a degenerate subspace,
    contribute zero, and ``1/s`` is taken as 0 for ``s = 0``. Gradients stay
    exact for distinct non-zero singular values, which is the generic case.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(12.0).reshape(2, 3, 2)
    >>> u, s, vh = svd(a)
    >>> np.allclose((u * s[:, None, :]) @ vh, a)
    True
    """
    backend = infer_backend(matrix)
    if backend == "torch":
        return _torch_svd().apply(matrix)
    return get_lib_fn(backend, "linalg.svd")(matrix, full_matrices=False)


@cache
def _torch_svd():
    """The torch autograd function (defined on first use: torch is optional)."""
    import torch

    class SafeSVD(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            u, s, vh = torch.linalg.svd(a, full_matrices=False)
            ctx.save_for_backward(u, s, vh)
            return u, s, vh

        @staticmethod
        def backward(ctx, gu, gs, gvh):
            u, s, vh = ctx.saved_tensors
            v = vh.mH
            gu = torch.zeros_like(u) if gu is None else gu
            gv = torch.zeros_like(v) if gvh is None else gvh.mH
            gs = torch.zeros_like(s) if gs is None else gs
            top = s[..., :1] if s.shape[-1] else torch.ones_like(s[..., :1])
            eps = torch.finfo(s.dtype).eps * top[..., None]  # (..., 1, 1)
            s2 = s * s
            diff = s2[..., None, :] - s2[..., :, None]  # [i, j] = s_j^2 - s_i^2
            f = (diff / (diff * diff + eps**4)).to(u.dtype)  # 1/diff, 0 when equal
            sinv = (s / (s2 + eps[..., 0] ** 2)).to(u.dtype)  # 1/s, 0 for s = 0
            sc = s.to(u.dtype)
            uhgu, vhgv = u.mH @ gu, v.mH @ gv
            inner = (f * (uhgu - uhgu.mH)) * sc[..., None, :] + \
                sc[..., :, None] * (f * (vhgv - vhgv.mH))
            diag = gs.to(u.dtype)
            if u.is_complex():
                diag = diag + 1j * torch.diagonal(uhgu, dim1=-2, dim2=-1).imag * sinv
            ga = u @ (inner + torch.diag_embed(diag)) @ vh
            m, n, k = u.shape[-2], v.shape[-2], s.shape[-1]
            if m > k:
                ga = ga + (gu - u @ uhgu) @ (sinv[..., :, None] * vh)
            if n > k:
                ga = ga + (u * sinv[..., None, :]) @ (gv.mH - (gv.mH @ v) @ vh)
            return ga

    return SafeSVD


class Lib:
    """The array functions one call uses, looked up once for the backend of
    ``like`` (positional arguments only, so the same calls work on numpy, torch
    and jax)."""

    def __init__(self, like):
        self.backend = backend = infer_backend(like)

        def fn(name):
            return get_lib_fn(backend, name)

        self.qr = fn("linalg.qr")
        self.eigh = fn("linalg.eigh")
        self.concat = fn("concatenate")
        self.swapaxes = fn("swapaxes")
        self.broadcast_to = fn("broadcast_to")
        self.sqrt = fn("sqrt")
        self.resolved = RESOLVED * float(np.finfo(_numpy_dtype(like)).eps)
        self.real = fn("real")
        self.like = like

    def plain(self, x) -> bool:
        """Whether nothing differentiates through ``x`` (torch autograd off for it)."""
        return not (self.backend == "torch" and x.requires_grad)

    def const(self, array: np.ndarray):
        """A constant on the call's backend, device and dtype."""
        return to_backend(np.asarray(array, dtype=_numpy_dtype(self.like)), self.like)


def _numpy_dtype(ref) -> np.dtype:
    return np.dtype(str(ref.dtype).replace("torch.", ""))


@dataclass
class Account:
    """What the splits of a batch dropped, row by row.

    ``cutoff`` is the squared weight (relative to the total) one split may
    drop; ``max_bond`` caps the values kept. ``fidelity`` is the product over
    splits of the weight kept; ``discarded`` the sum of the weights dropped.
    """

    batch: int
    max_bond: int | None
    cutoff: float
    fidelity: np.ndarray = field(init=False)
    discarded: np.ndarray = field(init=False)
    largest: np.ndarray = field(init=False)
    truncations: np.ndarray = field(init=False)
    last: np.ndarray = field(init=False)
    """The weight fractions the last split dropped."""
    no_gram: set = field(default_factory=set)
    """Bonds whose next split skips the Gram-matrix method (see :func:`_split`):
    a bond enters after a split whose drop that method could not resolve, and
    leaves after an SVD split that dropped more than :data:`RESOLVED`."""

    def __post_init__(self):
        self.fidelity = np.ones(self.batch)
        self.discarded = np.zeros(self.batch)
        self.largest = np.zeros(self.batch)
        self.truncations = np.zeros(self.batch, dtype=np.int64)
        self.last = np.zeros(self.batch)

    def plan(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ``(B, K)`` squared singular values ``w`` (descending): how many
        each row keeps, and the weight fraction each drops."""
        big = w.shape[1]
        total = w.sum(axis=1)
        total = np.where(total > 0.0, total, 1.0)
        tail = np.cumsum(w[:, ::-1], axis=1)[:, ::-1] / total[:, None]
        counts = np.maximum(np.count_nonzero(tail > self.cutoff, axis=1), 1)
        if self.max_bond is not None:
            counts = np.minimum(counts, self.max_bond)
        rows = np.arange(len(counts))
        dropped = np.where(counts < big, tail[rows, np.minimum(counts, big - 1)], 0.0)
        return counts, np.clip(dropped, 0.0, 1.0)

    def record(self, counts: np.ndarray, dropped: np.ndarray) -> tuple[int, np.ndarray | None]:
        """Account for a split planned by :meth:`plan`: the number of values the
        batch keeps, and a ``(B, k)`` 0/1 mask of each row's (None: all)."""
        self.truncations += dropped > 0.0
        self.largest = np.maximum(self.largest, dropped)
        self.discarded += dropped
        self.fidelity *= 1.0 - dropped
        self.last = dropped
        k = int(counts.max())
        if int(counts.min()) == k:
            return k, None
        return k, (np.arange(k)[None, :] < counts[:, None]).astype(float)

    def keep(self, s) -> tuple[int, np.ndarray | None]:
        """:meth:`plan` and :meth:`record` for ``(B, K)`` singular values ``s``."""
        w = np.square(to_numpy(s).real.astype(float))
        if self.cutoff <= 0.0 and (self.max_bond is None or w.shape[1] <= self.max_bond) \
                and bool((w[:, -1] > 0.0).all()):
            self.last = np.zeros(self.batch)
            return w.shape[1], None
        return self.record(*self.plan(w))


# ------------------------------------------------------------ step matrices
@dataclass(frozen=True)
class _Source:
    """Where a stack of gate matrices comes from: constants (numpy, built at
    compile time) or rows of one gate kind's call-time table, whose gates have
    ``shape`` (``(2,) * k`` when diagonal, else ``(2,) * 2k``)."""

    kind: int  # -1: constants
    rows: np.ndarray
    swapped: bool = False
    constants: np.ndarray | None = None
    shape: tuple[int, ...] = ()
    diagonal: bool = False


@dataclass(frozen=True)
class StepGates:
    """Structure-only recipe for the ``4 x 4`` matrices of all two-site steps.

    ``one`` and ``two`` list the sources of the single- and two-qubit matrix
    stacks; ``pre[r, t, side]`` indexes the one-qubit stack (its last entry is
    the identity) for the ``r``-th gate folded into side ``side`` of two-site
    step ``t``; ``gate[t]`` indexes the two-qubit stack.
    """

    one: tuple[_Source, ...]
    two: tuple[_Source, ...]
    pre: np.ndarray  # (m, S, 2)
    gate: np.ndarray  # (S,)
    steps: tuple[int, ...]  # positions in the schedule of the two-site steps

    @classmethod
    def build(cls, schedule: Schedule, refs: Sequence[tuple[int, int]],
              shapes: Sequence[tuple[int, ...]], constants: Sequence[np.ndarray],
              diagonal: Sequence[bool]) -> StepGates:
        """``refs[i]``: ``(kind, row)`` of gate ``i`` in the call's tables (kind
        ``j``'s gates have ``shapes[j]``), or ``(-1, position)`` in ``constants``."""
        two_steps = [j for j, st in enumerate(schedule.steps) if st.width == 2]
        singles = sorted({(i, False) for j in two_steps for side in schedule.steps[j].pre
                          for i in side})
        info = (refs, shapes, constants, diagonal)
        one_src, one_at = _sources(singles, info, 1)
        width = max([len(side) for j in two_steps for side in schedule.steps[j].pre] + [0])
        pre = np.full((width, len(two_steps), 2), len(singles), dtype=np.int64)
        keys = []
        for t, j in enumerate(two_steps):
            st = schedule.steps[j]
            for side, ops in enumerate(st.pre):
                for r, i in enumerate(ops):
                    pre[r, t, side] = one_at[(i, False)]
            keys.append((st.op, st.op != SWAP and st.order == (1, 0)))
        two_src, two_at = _sources(sorted(set(keys)), info, 2)
        gate = np.array([two_at[k] for k in keys], dtype=np.int64)
        eye = _Source(-1, np.zeros(0, np.int64), False, np.eye(2)[None])
        return cls(one_src + (eye,), two_src, pre, gate, tuple(two_steps))

    def matrices(self, tables: Sequence, batch: int, lib: Lib):
        """``(B, S, 4, 4)`` step matrices from the call's gate tables."""
        if not self.steps:
            return None
        two = _stack(self.two, tables, batch, lib)[:, self.gate]
        if self.pre.shape[0] == 0:
            return two
        one = _stack(self.one, tables, batch, lib)
        left, right = one[:, self.pre[0, :, 0]], one[:, self.pre[0, :, 1]]
        for r in range(1, self.pre.shape[0]):
            left = one[:, self.pre[r, :, 0]] @ left
            right = one[:, self.pre[r, :, 1]] @ right
        b, s = left.shape[0], left.shape[1]
        kron = (left[:, :, :, None, :, None] * right[:, :, None, :, None, :]).reshape(
            (b, s, 4, 4))
        return two @ kron


def _sources(keys: Sequence[tuple[int, bool]], info, width: int):
    """Sources of the matrices of ``keys`` (``(gate, swapped)``), grouped by
    kind, and each key's position in their concatenated stack."""
    refs, shapes, constants, diagonal = info
    groups: dict[tuple[int, bool], list] = {}
    for i, swapped in keys:
        kind = -1 if i == SWAP else refs[i][0]
        groups.setdefault((kind, swapped and kind >= 0), []).append((i, swapped))
    out, at, pos = [], {}, 0
    for (kind, swapped), members in sorted(groups.items()):
        if kind < 0:
            mats = np.stack([_constant(i, s, refs, constants, diagonal, width)
                             for i, s in members])
            out.append(_Source(-1, np.zeros(0, np.int64), False, mats))
        else:
            out.append(_Source(kind, np.array([refs[i][1] for i, _ in members]), swapped,
                               None, tuple(shapes[kind]), bool(diagonal[members[0][0]])))
        for m in members:
            at[m] = pos
            pos += 1
    return tuple(out), at


def _constant(i: int, swapped: bool, refs, constants, diagonal, width: int) -> np.ndarray:
    if i == SWAP:
        return _SWAP4
    g = np.asarray(constants[refs[i][1]])
    m = np.diag(g.reshape(-1)) if diagonal[i] else g.reshape(2**width, 2**width)
    return m[np.ix_(_PERM, _PERM)] if swapped else m


def _stack(sources: Sequence[_Source], tables: Sequence, batch: int, lib: Lib):
    """The ``(B, k, d, d)`` matrices of ``sources``, concatenated along ``k``."""
    parts = []
    for src in sources:
        if src.kind < 0:
            c = lib.const(np.asarray(src.constants))
            parts.append(lib.broadcast_to(c[None], (batch,) + tuple(c.shape)))
            continue
        m = _full(tables[src.kind], src, lib)
        if src.swapped:
            lead = tuple(m.shape[:-2])
            m = lib.swapaxes(lib.swapaxes(m.reshape(lead + (2,) * 4), -4, -3), -2, -1)
            m = m.reshape(lead + (4, 4))
        if m.ndim == 3:
            m = lib.broadcast_to(m[None], (batch,) + tuple(m.shape))
        parts.append(m)
    return parts[0] if len(parts) == 1 else lib.concat(parts, 1)


def _full(table, src: _Source, lib: Lib):
    """Rows of a kind's table as full ``d x d`` matrices, ``(k, d, d)`` or
    ``(B, k, d, d)`` when the table is batched."""
    lead = table.ndim - len(src.shape)  # 1 unbatched, 2 batched
    t = table[:, src.rows] if lead == 2 else table[src.rows]
    if src.diagonal:
        d = 2 ** len(src.shape)
        flat = t.reshape(tuple(t.shape[:lead]) + (d,))
        return flat[..., :, None] * lib.const(np.eye(d))
    d = 2 ** (len(src.shape) // 2)
    return t.reshape(tuple(t.shape[:lead]) + (d, d))


# ------------------------------------------------------------ the sweep
def _qr_right(a, b, lib: Lib):
    """Move the centre from ``(B, l, 2, r)`` site ``a`` to its right neighbour ``b``."""
    bt, dl, _, dr = a.shape
    q, rr = lib.qr(a.reshape((bt, dl * 2, dr)))
    k = q.shape[-1]
    return q.reshape((bt, dl, 2, k)), (rr @ b.reshape((bt, dr, -1))).reshape(
        (bt, k, 2, b.shape[3]))


def _qr_left(a, b, lib: Lib):
    """Move the centre from site ``b`` to its left neighbour ``a``."""
    bt, dl, _, dr = b.shape
    q, rr = lib.qr(lib.swapaxes(b.reshape((bt, dl, 2 * dr)), 1, 2))
    k = q.shape[-1]
    b2 = lib.swapaxes(q, 1, 2).reshape((bt, k, 2, dr))
    a2 = (a.reshape((bt, -1, dl)) @ lib.swapaxes(rr, 1, 2)).reshape(
        (bt, a.shape[1], 2, k))
    return a2, b2


def _split(block, account: Account, left: bool, lib: Lib, bond: int):
    """``(B, l, 4, r)`` block -> two site tensors, truncated and renormalised;
    the orthogonality centre goes to the left tensor when ``left``.

    Where nothing differentiates through it and the Gram matrix on the side
    that stays orthonormal is not the larger one, the split diagonalises that
    Gram matrix (``eigh``, about half an SVD) and projects the block on the
    kept eigenvectors: the kept part is the same orthogonal projection an SVD
    gives, without dividing by small singular values. Otherwise it takes an SVD.
    """
    bt, dl, _, dr = block.shape
    x = block.reshape((bt, dl * 2, 2 * dr))
    m, n = 2 * dl, 2 * dr
    if bond not in account.no_gram and lib.plain(block) and (n <= m if left else m <= n):
        out = _split_eigh(x, account, left, lib, (bt, dl, dr))
        if out is not None:
            return out
        account.no_gram.add(bond)
    u, s, vh = svd(x)
    k, mask = account.keep(s)
    if float(account.last.min()) >= lib.resolved:
        account.no_gram.discard(bond)
    if k < s.shape[-1]:
        u, s, vh = u[:, :, :k], s[:, :k], vh[:, :k]
    if mask is not None:
        s = s * lib.const(mask).real
    s = s / lib.sqrt((s * s).sum(-1))[:, None]
    if left:
        a, b = u * s[:, None, :], vh
    else:
        a, b = u, s[:, :, None] * vh
    return a.reshape((bt, dl, 2, k)), b.reshape((bt, k, 2, dr))


RESOLVED = 4.5e5
"""The smallest weight fraction a split may drop by the Gram-matrix method, in
units of the dtype's machine epsilon (``1e-10`` in complex128): its
eigenvalues carry errors of a few epsilon of the total, so a smaller drop is
not resolved and the split is redone by SVD (complex64: always)."""


def _split_eigh(x, account: Account, left: bool, lib: Lib, dims):
    """:func:`_split` by the eigenvectors of ``x x^H`` (centre right) or ``x^H x``
    (centre left); eigenvalues come in ascending order, so the kept ones are
    last. None when the weight dropped is below :data:`RESOLVED`."""
    bt, dl, dr = dims
    xh = lib.swapaxes(x.conj(), 1, 2)
    lam, vec = lib.eigh(xh @ x if left else x @ xh)
    size = lam.shape[-1]
    counts, dropped = account.plan(np.clip(to_numpy(lam).real[:, ::-1], 0.0, None))
    if int(counts.min()) < size and float(dropped.min()) < lib.resolved:
        return None
    k, mask = account.record(counts, dropped)
    iso = vec[:, :, size - k:] if k < size else vec  # (B, n or m, k)
    if left:
        centre = x @ iso  # (B, m, k)
        if mask is not None:
            centre = centre * lib.const(mask[:, ::-1])[:, None, :]
        centre = centre / lib.sqrt(lib.real((centre * centre.conj()).sum((1, 2))))[:, None, None]
        return centre.reshape((bt, dl, 2, k)), lib.swapaxes(iso.conj(), 1, 2).reshape(
            (bt, k, 2, dr))
    centre = lib.swapaxes(iso.conj(), 1, 2) @ x  # (B, k, n)
    if mask is not None:
        centre = centre * lib.const(mask[:, ::-1])[:, :, None]
    centre = centre / lib.sqrt(lib.real((centre * centre.conj()).sum((1, 2))))[:, None, None]
    return iso.reshape((bt, dl, 2, k)), centre.reshape((bt, k, 2, dr))


@dataclass
class Swept:
    """The batch of states a sweep made: ``(B, l, 2, r)`` site tensors, the
    orthogonality centre and the truncation account."""

    tensors: list
    centre: int
    account: Account


def sweep(schedule: Schedule, recipe: StepGates, tables: Sequence, consts: Sequence,
          gate_of, *, batch: int, max_bond: int | None, cutoff: float,
          shown: Any) -> Swept:
    """Run ``schedule`` from ``|0...0>`` for ``batch`` rows at once.

    ``tables`` and ``consts`` are the call's gate tables and constants (the
    ``|0>`` vector first); ``gate_of(i)`` gives gate ``i``'s tensor, with a
    leading batch axis of 1 or ``batch`` (for one- and multi-site steps).
    ``shown.update(1)`` is called after each step.
    """
    lib = Lib(consts[0])
    n = schedule.n
    zero = consts[0].reshape((1, 1, 2, 1))
    site = lib.broadcast_to(zero, (batch, 1, 2, 1))
    tensors = [site] * n
    centre = 0
    account = Account(batch, max_bond, cutoff)
    mats = recipe.matrices(tables, batch, lib)
    where = {j: t for t, j in enumerate(recipe.steps)}
    for j, st in enumerate(schedule.steps):
        shown.update(1)
        lo, hi = st.site, st.site + st.width - 1
        if st.width == 1:
            tensors[lo] = _one_site(tensors[lo], gate_of(st.op), lib)
            continue
        centre = _move_centre(tensors, centre, lo, hi, lib)
        if st.width == 2:
            a, b = tensors[lo], tensors[hi]
            bt, dl, dr = a.shape[0], a.shape[1], b.shape[3]
            block = (a.reshape((bt, dl * 2, -1)) @ b.reshape((bt, b.shape[1], 2 * dr)))
            block = mats[:, where[j]][:, None] @ block.reshape((bt, dl, 4, dr))
            tensors[lo], tensors[hi] = _split(block, account, st.left, lib, lo)
            centre = lo if st.left else hi
            continue
        if st.subscripts.startswith("mpo"):
            tensors, centre = mpo_step(st, tensors, centre, gate_of(st.op), account, lib)
            continue
        tensors, centre = _multi(st, tensors, gate_of(st.op), account, lib)
    return Swept(tensors, centre, account)


def _move_centre(tensors: list, centre: int, lo: int, hi: int, lib) -> int:
    """The orthogonality centre moved by QRs into sites ``lo..hi`` (``tensors``
    updated in place); returns the new centre."""
    while centre < lo:
        tensors[centre], tensors[centre + 1] = _qr_right(tensors[centre], tensors[centre + 1], lib)
        centre += 1
    while centre > hi:
        tensors[centre - 1], tensors[centre] = _qr_left(tensors[centre - 1], tensors[centre], lib)
        centre -= 1
    return centre


_PAULI = np.array([PAULI[c] for c in "IXYZ"])  # (4, 2, 2): I, X, Y, Z


def mpo_step(st: Step, tensors: list, centre: int, gate, account: Account, lib: Lib):
    """A two-qubit gate on sites ``a = st.site`` and ``b = a + st.width - 1``
    applied as an MPO across the gap, without SWAPs.

    The gate is written ``sum_P P (x) B_P`` with the Pauli matrices ``P`` that
    ``st.subscripts`` names on one side (``"mpo:a:03"``: ``I`` and ``Z`` on
    ``a``) and ``B_P = Tr_P[(P (x) 1) G] / 2`` on the other, linear in the gate
    (so autodiff needs no decomposition). A sweep from ``a`` to ``b`` applies
    it exactly, the operator's index ``P`` riding on the bonds in between
    (bonds grow at most ``r``-fold), with QRs keeping the sites left-orthonormal;
    a sweep back from ``b`` truncates each bond by SVD with the centre in
    place, as a two-site split would, and leaves the centre at ``a``.
    """
    _, side, names = st.subscripts.split(":")
    a, b = st.site, st.site + st.width - 1
    bt = tensors[a].shape[0]
    centre = _move_centre(tensors, centre, a, a, lib)
    g = gate if gate.ndim == 5 else (gate.reshape((gate.shape[0], 4))[:, :, None]
                                     * lib.const(np.eye(4))).reshape((-1, 2, 2, 2, 2))
    if st.order == (1, 0):  # gate axes to (a, b) order
        g = lib.swapaxes(lib.swapaxes(g, 1, 2), 3, 4)
    paulis = lib.const(_PAULI[[int(c) for c in names]])  # (r, 2, 2)
    if side == "a":  # G[i, k, j, l] = sum_P P[i, j] B_P[k, l]
        first = lib.broadcast_to(paulis[None], (bt,) + tuple(paulis.shape))
        last = oe.contract("pji,zikjl->zpkl", paulis, g) / 2
    else:
        first = oe.contract("plk,zikjl->zpij", paulis, g) / 2
        last = lib.broadcast_to(paulis[None], (bt,) + tuple(paulis.shape))
    out = list(tensors)
    m = out[a]
    w = oe.contract("zpst,zltr->zlspr", first, m)
    carry = _push(w, out, a, lib)
    for s in range(a + 1, b):
        w = oe.contract("zmpr,zrsq->zmspq", carry, out[s])
        carry = _push(w, out, s, lib)
    out[b] = oe.contract("zpts,zmpr,zrsq->zmtq", last, carry, out[b])
    for s in range(b, a, -1):  # truncate bond s - 1 with the centre on site s
        c = out[s]
        dm, dq = c.shape[1], c.shape[3]
        u, sv, vh = svd(c.reshape((bt, dm, 2 * dq)))
        k, mask = account.keep(sv)
        u, sv, vh = u[:, :, :k], sv[:, :k], vh[:, :k]
        if mask is not None:
            sv = sv * lib.const(mask).real
        sv = sv / lib.sqrt((sv * sv).sum(-1))[:, None]
        out[s] = vh.reshape((bt, k, 2, dq))
        prev = out[s - 1]
        out[s - 1] = (prev.reshape((bt, -1, dm)) @ (u * sv[:, None, :])).reshape(
            (bt, prev.shape[1], 2, k))
    return out, a


def _push(w, out: list, s: int, lib: Lib):
    """Site ``s`` from ``w`` ``(B, l, 2, r, q)`` (``r``: the operator's index) by
    QR: the orthonormal factor stays, the rest ``(B, m, r, q)`` is returned."""
    bt, dl, _, dp, dq = w.shape
    q, rr = lib.qr(w.reshape((bt, dl * 2, dp * dq)))
    k = q.shape[-1]
    out[s] = q.reshape((bt, dl, 2, k))
    return rr.reshape((bt, k, dp, dq))


def _one_site(t, g, lib: Lib):
    """A single-qubit gate (``(b, 2, 2)`` or diagonal ``(b, 2)``) on site ``t``."""
    if g.ndim == 2:
        return t * g[:, None, :, None]
    return g[:, None] @ t


def _multi(st: Step, tensors: list, gate, account: Account, lib: Lib):
    """A gate on ``k > 2`` adjacent sites: contracted into one block, applied,
    and split off one site at a time, left to right."""
    lo, hi = st.site, st.site + st.width - 1
    bt = tensors[lo].shape[0]
    block = tensors[lo]
    for s in range(lo + 1, hi + 1):
        nxt = tensors[s]
        block = (block.reshape((bt, -1, nxt.shape[1])) @ nxt.reshape((bt, nxt.shape[1], -1)))
        block = block.reshape((bt,) + tuple(tensors[lo].shape[1:2]) + (2,) * (s - lo + 1)
                              + (nxt.shape[3],))
    if gate.shape[0] != bt:
        gate = lib.broadcast_to(gate, (bt,) + tuple(gate.shape[1:]))
    ins, out = st.subscripts.split("->")
    g, b = ins.split(",")
    block = oe.contract(f"Z{g},Z{b}->Z{out}", gate, block)
    out_tensors = list(tensors)
    for s in range(lo, hi):
        shape = tuple(block.shape)
        a, b2 = _split(block.reshape((bt, shape[1], 4, -1)), account, False, lib, s)
        out_tensors[s] = a
        block = b2.reshape((bt, b2.shape[1]) + shape[3:])
    out_tensors[hi] = block
    return out_tensors, hi
