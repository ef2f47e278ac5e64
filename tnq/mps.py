"""Strategy ``mps``: a matrix product state, truncated, with a fidelity estimate.

The state is a list of site tensors ``(left, 2, right)``, qubit ``q`` on site
``q``, kept in mixed canonical form around one site (the orthogonality
centre). A gate on neighbouring sites contracts them into one block, applies
the gate, and splits the block again with SVDs; a split keeps at most
``max_bond`` singular values and drops the smallest ones while their squared
weight stays within ``cutoff`` times the total. Since the centre is inside the
block, the weight kept is the squared overlap of the truncated state with the
untruncated one; their product over all splits is the fidelity estimate
reported with every result, and the state is renormalised after each split.

Gates on qubits that are apart are routed by SWAPs (see
:mod:`tnq.compile.route`). Expectation values of Pauli sums use left and
right environments computed once per state, so a term costs a contraction
over its own sites only. Everything runs on the autoray backend of the
parameters, so torch autograd differentiates through the truncated SVDs (see
:func:`svd`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import opt_einsum as oe
from autoray import do, infer_backend

from . import checks
from .compile.route import SWAP, Schedule, Step
from .compile.terms import TermGroups, group_terms
from .contract import to_backend, to_numpy
from .observables import observable as as_observable
from .optional import require
from .progress import bar

__all__ = ["MPS", "TruncationWarning", "simulate", "svd"]


class TruncationWarning(UserWarning):
    """An MPS result's fidelity estimate fell under the Program's ``min_fidelity``."""


def svd(matrix):
    """Thin SVD ``U, s, Vh`` on any backend; on torch, with a backward pass
    that stays finite when singular values repeat.

    torch's own SVD gradient divides by ``s_i^2 - s_j^2``; equal values (for
    example the exact zeros of a rank-deficient block) turn that into 0/0.
    Here such pairs, which only rotate vectors within a degenerate subspace,
    contribute zero, and ``1/s`` is taken as 0 for ``s = 0``. Gradients stay
    exact for distinct non-zero singular values, which is the generic case.
    """
    if infer_backend(matrix) == "torch":
        return _torch_svd().apply(matrix)
    return do("linalg.svd", matrix, full_matrices=False)


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
            eps = torch.finfo(s.dtype).eps * (s[0] if s.numel() else 1.0)
            s2 = s * s
            diff = s2[None, :] - s2[:, None]  # [i, j] = s_j^2 - s_i^2
            f = (diff / (diff * diff + eps**4)).to(u.dtype)  # 1/diff, 0 when equal
            sinv = (s / (s2 + eps**2)).to(u.dtype)  # 1/s, 0 for s = 0
            sc = s.to(u.dtype)
            uhgu, vhgv = u.mH @ gu, v.mH @ gv
            inner = (f * (uhgu - uhgu.mH)) * sc[None, :] + sc[:, None] * (f * (vhgv - vhgv.mH))
            inner = inner + torch.diag(gs.to(u.dtype) + 1j * torch.diagonal(uhgu).imag
                                       * sinv if u.is_complex() else gs.to(u.dtype))
            ga = u @ inner @ vh
            m, n, k = u.shape[0], v.shape[0], s.shape[0]
            if m > k:
                ga = ga + (gu - u @ uhgu) @ (sinv[:, None] * vh)
            if n > k:
                ga = ga + (u * sinv[None, :]) @ (gv.mH - (gv.mH @ v) @ vh)
            return ga

    return SafeSVD


@dataclass
class _Truncation:
    """The running account of what the splits dropped."""

    max_bond: int | None
    cutoff: float
    fidelity: float = 1.0
    largest_discarded: float = 0.0
    truncations: int = 0

    def keep(self, s) -> tuple[int, float]:
        """How many singular values to keep, and the weight fraction kept."""
        w = to_numpy(s).astype(float) ** 2
        total = float(w.sum())
        if total <= 0.0:
            return 1, 1.0
        tail = np.cumsum(w[::-1])[::-1] / total  # tail[i]: weight of values i..end
        k = int(np.count_nonzero(tail > self.cutoff)) or 1
        if self.max_bond is not None:
            k = min(k, self.max_bond)
        kept = float(w[:k].sum()) / total if k < len(w) else 1.0
        if k < len(w):
            self.truncations += 1
            self.largest_discarded = max(self.largest_discarded, 1.0 - kept)
        self.fidelity *= kept
        return k, kept


def _split(block, truncation: _Truncation, left: bool):
    """``(l, 2, 2, r)`` block -> two site tensors, truncated and renormalised;
    the singular values go to the left tensor when ``left``."""
    shape = tuple(block.shape)
    u, s, vh = svd(do("reshape", block, (shape[0] * 2, 2 * shape[3])))
    k, _ = truncation.keep(s)
    u, s, vh = u[:, :k], s[:k], vh[:k]
    s = s / do("sqrt", do("sum", s * s))
    if left:
        a, b = u * s[None, :], vh
    else:
        a, b = u, s[:, None] * vh
    return do("reshape", a, (shape[0], 2, k)), do("reshape", b, (k, 2, shape[3]))


def _qr_right(a, b):
    """Move the centre from site tensor ``a`` to its right neighbour ``b``."""
    dl, _, dr = a.shape
    q, rr = do("linalg.qr", do("reshape", a, (dl * 2, dr)))
    k = q.shape[1]
    return do("reshape", q, (dl, 2, k)), do("tensordot", rr, b, 1)


def _qr_left(a, b):
    """Move the centre from site tensor ``b`` to its left neighbour ``a``."""
    dl, _, dr = b.shape
    q, rr = do("linalg.qr", do("transpose", do("reshape", b, (dl, 2 * dr))))
    k = q.shape[1]
    b2 = do("reshape", do("transpose", q), (k, 2, dr))
    return do("tensordot", a, do("transpose", rr), 1), b2


class MPS:
    """A simulated matrix product state; qubit ``q`` lives on site ``q``.

    Made by :meth:`tnq.Program.simulate` (strategy ``"mps"``). Site tensors
    have shape ``(left, 2, right)`` and are arrays of the backend the
    parameters came in.

    Attributes
    ----------
    tensors : list of arrays
    centre : int
        The orthogonality centre: sites left of it are left-orthonormal, sites
        right of it right-orthonormal.
    fidelity : float
        Estimated squared overlap with the exact state: the product, over all
        truncations, of the fraction of squared singular-value weight kept.
    truncations : int
        Splits that dropped non-zero weight.
    largest_discarded : float
        The largest weight fraction dropped by one split.
    """

    def __init__(self, tensors: list, centre: int, fidelity: float = 1.0,
                 truncations: int = 0, largest_discarded: float = 0.0):
        self.tensors = tensors
        self.centre = centre
        self.fidelity = fidelity
        self.truncations = truncations
        self.largest_discarded = largest_discarded

    @property
    def num_qubits(self) -> int:
        return len(self.tensors)

    @property
    def bond_dims(self) -> tuple[int, ...]:
        """The ``n - 1`` bond dimensions, left to right."""
        return tuple(int(t.shape[2]) for t in self.tensors[:-1])

    def __repr__(self) -> str:
        return (f"MPS(num_qubits={self.num_qubits}, max_bond={max(self.bond_dims, default=1)}, "
                f"fidelity={self.fidelity:.6g})")

    # -------------------------------------------------------- environments
    def _environments(self) -> tuple[list, list]:
        """``L[s]``: sites ``< s`` contracted with their conjugates; ``R[s]``:
        sites ``>= s``. Identities where the canonical form gives them."""
        t, n, c = self.tensors, self.num_qubits, self.centre
        left: list[Any] = [None] * (n + 1)
        right: list[Any] = [None] * (n + 1)
        for s in range(c + 1):
            d = t[s].shape[0]
            left[s] = _eye(d, t[s])
        for s in range(c, n):
            left[s + 1] = _transfer_right(left[s], t[s])
        for s in range(n, c, -1):
            d = t[s - 1].shape[2]
            right[s] = _eye(d, t[s - 1])
        for s in range(c, -1, -1):
            right[s] = _transfer_left(right[s + 1], t[s])
        return left, right

    def _term_values(self, terms: TermGroups, operators: Sequence) -> list:
        """``<O>`` for each support group of ``terms`` (complex, unnormalised)."""
        left, right = self._environments()
        t = self.tensors
        out = []
        for support, op in zip(terms.supports, operators):
            first, last = support[0], support[-1]
            env = left[first]
            if op.ndim == 3:  # single-qubit factors
                factors = dict(zip(support, (op[f] for f in range(len(support)))))
                for s in range(first, last + 1):
                    env = _transfer_right(env, t[s], factors.get(s))
                out.append(do("sum", env * right[last + 1]))
                continue
            rho = self._reduced(support, left, right)  # [i, j] = psi_i psi*_j
            out.append(do("sum", rho * op))  # op is O transposed
        return out

    def norm(self):
        """``<psi|psi>`` (1 up to rounding, since splits renormalise)."""
        c = self.tensors[self.centre]
        return do("real", do("sum", c * do("conj", c)))

    def term_values(self, terms: TermGroups, operators: Sequence | None = None) -> list:
        """``<O>`` of each row of grouped terms (see :func:`~tnq.compile.group_terms`),
        complex, as a list.

        ``operators``: the terms' operators already on the state's backend, dense
        ones transposed (a Program keeps them so per backend); made here if None.
        """
        if operators is None:
            ref = self.tensors[0]
            operators = [_like(o if o.ndim == 3 else np.ascontiguousarray(o.T), ref)
                         for o in terms.operators]
        return self._term_values(terms, operators)

    def expectation(self, observable):
        """``<psi|O|psi>`` for an observable (text, PauliString, Observable, ...).

        Examples
        --------
        >>> import tnq
        >>> p = tnq.compile(tnq.Circuit(3).h(0).cx(0, 1).cx(1, 2), strategy="mps")
        >>> round(float(p.simulate().expectation("Z0 Z2 + X0 X1 X2")), 12)
        2.0
        """
        obs = as_observable(observable)
        obs.check(self.num_qubits)
        terms = group_terms(obs)
        vals = self.term_values(terms)
        return do("real", sum(vals[1:], vals[0])) + terms.constant[0] if vals \
            else float(terms.constant[0])

    def probabilities(self, qubits: Sequence[int]):
        """Probabilities of the ``2^k`` outcomes of ``qubits`` (in that order):
        the diagonal of their reduced density matrix."""
        qs = tuple(qubits)
        order = sorted(range(len(qs)), key=lambda j: qs[j])
        k = len(qs)
        rho = self._reduced(tuple(qs[j] for j in order), *self._environments())
        p = do("reshape", do("real", do("diagonal", rho)), (2,) * k)
        p = do("transpose", p, tuple(order.index(j) for j in range(k)))
        return do("reshape", p, (2**k,))

    def _reduced(self, support: tuple[int, ...], left, right):
        """The reduced density matrix ``[i, j] = psi_i psi*_j`` of sorted ``support``."""
        t = self.tensors
        first, last = support[0], support[-1]
        env = left[first][None, None]
        dk = 1
        for s in range(first, last + 1):
            a = t[s]
            if s in support:
                env = oe.contract("ijab,asc,btd->isjtcd", env, a, do("conj", a))
                dk *= 2
                env = do("reshape", env, (dk, dk) + tuple(env.shape[4:]))
            else:
                env = _transfer_right(env, a)
        return oe.contract("ijcd,cd->ij", env, right[last + 1])

    # -------------------------------------------------------- amplitudes
    def amplitude(self, bits: np.ndarray):
        """``<b|psi>`` for a ``(B, n)`` array of 0/1 bits: a ``(B,)`` vector."""
        bits = np.asarray(bits, dtype=np.int64)
        v = self.tensors[0][0, bits[:, 0], :]  # (B, r)
        for s, a in enumerate(self.tensors[1:], 1):
            v = oe.contract("bl,lbr->br", v, a[:, bits[:, s], :])
        return v[:, 0]

    def to_dense(self):
        """The state vector, ``(2**n,)``, qubit 0 most significant."""
        v = self.tensors[0][0]  # (2, r)
        for a in self.tensors[1:]:
            v = do("reshape", oe.contract("pl,lsr->psr", v, a), (-1, a.shape[2]))
        return v[:, 0]

    def sample(self, shots: int, seed=None, *, progress: bool = False,
               seconds: float | None = None) -> np.ndarray:
        """``shots`` bitstrings drawn exactly from the MPS (perfect sampling):
        a ``(shots, n)`` uint8 array, qubit 0 in column 0.

        A progress bar over the sites shows when ``progress`` and the estimated
        ``seconds`` are over :data:`tnq.progress.SHOW_AFTER` (see :func:`tnq.progress.bar`).

        Examples
        --------
        >>> import tnq
        >>> ghz = tnq.Circuit(3).h(0).cx(0, 1).cx(1, 2)
        >>> psi = tnq.compile(ghz, strategy="mps").simulate()
        >>> sorted({"".join(map(str, row)) for row in psi.sample(100, seed=1)})
        ['000', '111']
        """
        rng = np.random.default_rng(checks.seed(seed))
        ts = [to_numpy(a) for a in self.tensors]
        for s in range(self.centre, 0, -1):  # right-canonical: centre to site 0
            ts[s - 1], ts[s] = _qr_left(ts[s - 1], ts[s])
        out = np.zeros((shots, len(ts)), dtype=np.uint8)
        v = np.ones((shots, 1), dtype=ts[0].dtype)
        with bar(len(ts), "MPS samples", show=progress, seconds=seconds, unit="site") as shown:
            for s, a in enumerate(ts):
                w = np.einsum("bl,lsr->bsr", v, a)
                p = np.sum(np.abs(w) ** 2, axis=2)
                p = p / p.sum(axis=1, keepdims=True)
                bit = (rng.random(shots) > p[:, 0]).astype(np.int64)
                out[:, s] = bit
                chosen = w[np.arange(shots), bit]
                v = chosen / np.linalg.norm(chosen, axis=1, keepdims=True)
                shown.update(1)
        return out

    def to_quimb(self):
        """The same state as a ``quimb.tensor.MatrixProductState`` (numpy data)."""
        qtn = require("quimb.tensor", "tnq.mps.MPS.to_quimb")
        arrays = [to_numpy(a) for a in self.tensors]
        n = len(arrays)
        if n == 1:
            return qtn.MatrixProductState([arrays[0][0, :, 0]], shape="p")
        data = [arrays[0][0].T] + [a.transpose(0, 2, 1) for a in arrays[1:-1]] + \
            [arrays[-1][:, :, 0]]
        return qtn.MatrixProductState(data, shape="lrp")


def _transfer_right(env, a, op=None):
    """``env[..., a, b] A[a, s, c] op[t, s] A*[b, t, d] -> [..., c, d]``
    (``op`` the identity when None), with two tensordots."""
    x = do("tensordot", env, a, ((env.ndim - 2,), (0,)))  # (..., b, s, c)
    if op is not None:
        x = do("moveaxis", do("tensordot", x, op, ((x.ndim - 2,), (1,))), -1, -2)
    return do("tensordot", x, do("conj", a), ((x.ndim - 3, x.ndim - 2), (0, 1)))


def _transfer_left(env, a):
    """``A[a, s, c] A*[b, s, d] env[c, d] -> [a, b]``."""
    x = do("tensordot", a, env, ((2,), (0,)))  # (a, s, d)
    return do("tensordot", x, do("conj", a), ((1, 2), (1, 2)))


def _eye(d: int, like):
    return _like(np.eye(d), like)


def _like(array: np.ndarray, ref):
    """Constant ``array`` with the backend, device and dtype of ``ref``."""
    return to_backend(np.asarray(array, dtype=_numpy_dtype(ref)), ref)


def _numpy_dtype(ref) -> np.dtype:
    name = str(ref.dtype).replace("torch.", "")
    return np.dtype(name)


def _one(gate, diagonal: bool):
    """A single-qubit gate tensor as a ``2 x 2`` matrix."""
    return do("diag", gate) if diagonal else gate


def _two(step: Step, gates, diagonal: Sequence[bool]):
    """The ``4 x 4`` matrix of a two-site step in block order, its single-qubit
    gates ``pre`` folded in."""
    g = gates[step.op]
    swapped = step.order == (1, 0)
    if diagonal[step.op]:
        m = do("diag", do("reshape", do("transpose", g) if swapped else g, (4,)))
    else:
        m = do("reshape", do("transpose", g, (1, 0, 3, 2)) if swapped else g, (4, 4))
    if any(step.pre):
        sides = []
        for ops in step.pre:
            u = None
            for j in ops:
                v = _one(gates[j], diagonal[j])
                u = v if u is None else v @ u
            sides.append(u)
        eye = None
        if sides[0] is None or sides[1] is None:
            eye = _eye(2, m)
        m = m @ do("kron", sides[0] if sides[0] is not None else eye,
                   sides[1] if sides[1] is not None else eye)
    return m


def simulate(schedule: Schedule, gates: Sequence, zero, *, max_bond: int | None,
             cutoff: float, diagonal: Sequence[bool], progress: bool = False,
             seconds: float | None = None) -> MPS:
    """Run ``schedule`` from ``|0...0>``.

    ``gates[i]`` is the tensor of circuit gate ``i`` (``(2,)*2k``, or
    ``(2,)*k`` when ``diagonal[i]``); ``zero`` is the ``(2,)`` vector ``|0>``
    on the call's backend and dtype. A progress bar over the steps shows when
    ``progress`` and the estimated ``seconds`` are over
    :data:`tnq.progress.SHOW_AFTER`.
    """
    with bar(len(schedule.steps), "MPS sweeps", show=progress, seconds=seconds,
             unit="step") as shown:
        return _run(schedule, gates, zero, max_bond, cutoff, diagonal, shown)


def _run(schedule: Schedule, gates: Sequence, zero, max_bond: int | None, cutoff: float,
         diagonal: Sequence[bool], shown) -> MPS:
    """:func:`simulate`'s steps; ``shown.update(1)`` after each."""
    n = schedule.n
    site = do("reshape", zero, (1, 2, 1))
    tensors = [site] * n
    centre = 0
    account = _Truncation(max_bond, cutoff)
    for st in schedule.steps:
        shown.update(1)
        lo, hi = st.site, st.site + st.width - 1
        if st.width == 1:
            g = gates[st.op]
            t = tensors[lo]
            tensors[lo] = t * g[None, :, None] if diagonal[st.op] else \
                do("matmul", g, t)
            continue
        while centre < lo:
            tensors[centre], tensors[centre + 1] = _qr_right(tensors[centre], tensors[centre + 1])
            centre += 1
        while centre > hi:
            tensors[centre - 1], tensors[centre] = _qr_left(tensors[centre - 1], tensors[centre])
            centre -= 1
        if st.width == 2:
            a, b = tensors[lo], tensors[hi]
            dl, dr = a.shape[0], b.shape[2]
            block = do("reshape", do("tensordot", a, b, 1), (dl, 4, dr))
            if st.op == SWAP:
                block = do("reshape", do("transpose", do("reshape", block, (dl, 2, 2, dr)),
                                         (0, 2, 1, 3)), (dl, 4, dr))
            else:
                block = do("matmul", _two(st, gates, diagonal), block)
            tensors[lo], tensors[hi] = _split(do("reshape", block, (dl, 2, 2, dr)), account,
                                              st.left)
            centre = lo if st.left else hi
            continue
        block = tensors[lo]
        for s in range(lo + 1, hi + 1):
            block = do("reshape", do("tensordot", block, tensors[s], 1),
                       tuple(block.shape[:-1]) + (2, tensors[s].shape[2]))
        block = oe.contract(st.subscripts, gates[st.op], block)
        for s in range(lo, hi):  # split off one site at a time, left to right
            a, b = _split(do("reshape", block, (block.shape[0], 2, 2, -1)), account, False)
            tensors[s] = a
            block = do("reshape", b, (b.shape[0],) + tuple(block.shape[2:]))
        tensors[hi] = block
        centre = hi
    return MPS(tensors, centre, account.fidelity, account.truncations,
               account.largest_discarded)


def warn_fidelity(fidelity: float, threshold: float | None) -> None:
    if threshold is not None and fidelity < threshold:
        warnings.warn(f"MPS fidelity estimate {fidelity:.6g} is under min_fidelity="
                      f"{threshold:g}; raise max_bond (or lower cutoff) for a more "
                      "accurate result", TruncationWarning, stacklevel=3)
