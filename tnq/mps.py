"""Matrix product states: what a simulated MPS gives (values, probabilities, samples).

The state is a list of site tensors ``(left, 2, right)``, qubit ``q`` on site
``q``, kept in mixed canonical form around one site (the orthogonality
centre). The sweep that makes it (:mod:`tnq.mps_sweep`) applies the routed
gates to a whole batch of states at once, truncating each split to at most
``max_bond`` singular values and dropping the smallest ones while their
squared weight stays within ``cutoff`` of the total; the product over all
splits of the weight kept is the fidelity estimate reported with every
result.

The functions here work on a batch of states, site tensors ``(B, left, 2,
right)``: expectation values of Pauli sums from left and right environments
(a term costs a contraction over its own sites only), probabilities of any
qubits without a ``2^k x 2^k`` density matrix. :class:`MPS` is one state of
a batch, as :meth:`tnq.Program.simulate` returns it. Everything runs on the
autoray backend of the parameters, so torch autograd differentiates through
the truncated SVDs (see :func:`tnq.mps_sweep.svd`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import opt_einsum as oe

from . import checks
from .compile.terms import TermGroups, group_terms
from .contract import to_numpy
from .mps_sweep import Lib, _qr_left, svd
from .observables import observable as as_observable
from .optional import require
from .progress import bar

__all__ = ["MPS", "TruncationWarning", "svd", "batch_term_values", "batch_probabilities",
           "warn_fidelity"]


class TruncationWarning(UserWarning):
    """An MPS result's fidelity estimate fell under the Program's ``min_fidelity``."""


# ------------------------------------------------------------ environments
def _transfer_right(env, a, lib: Lib, op=None):
    """``env[B, a, b] A[B, a, s, c] op[t, s] A*[B, b, t, d] -> [B, c, d]``."""
    bt, da, _, dc = a.shape
    x = (lib.swapaxes(env, 1, 2) @ a.reshape((bt, da, -1))).reshape((bt, -1, 2, dc))
    if op is not None:
        x = op @ x
    x = lib.swapaxes(x.reshape((bt, -1, dc)), 1, 2)
    return x @ a.conj().reshape((bt, -1, dc))


def _transfer_left(env, a, lib: Lib):
    """``A[B, a, s, c] env[B, c, d] A*[B, b, s, d] -> [B, a, b]``."""
    bt, da, _, dc = a.shape
    x = (a.reshape((bt, -1, dc)) @ env).reshape((bt, da, -1))
    return x @ lib.swapaxes(a.conj().reshape((bt, da, -1)), 1, 2)


def _eye(d: int, batch: int, lib: Lib):
    return lib.broadcast_to(lib.const(np.eye(d))[None], (batch, d, d))


def left_env(tensors: Sequence, centre: int, site: int, lib: Lib):
    """Sites ``< site`` contracted with their conjugates: ``(B, d, d)``."""
    bt, d = tensors[0].shape[0], tensors[min(site, centre)].shape[1]
    env = _eye(d, bt, lib)
    for s in range(centre, site):
        env = _transfer_right(env, tensors[s], lib)
    return env


def right_env(tensors: Sequence, centre: int, site: int, lib: Lib):
    """Sites ``>= site`` contracted with their conjugates: ``(B, d, d)``."""
    bt = tensors[0].shape[0]
    start = max(site, centre + 1)
    env = _eye(tensors[start - 1].shape[3], bt, lib)
    for s in range(start - 1, site - 1, -1):
        env = _transfer_left(env, tensors[s], lib)
    return env


def _environments(tensors: Sequence, centre: int, lib: Lib) -> tuple[list, list]:
    """All left (``L[s]``: sites ``< s``) and right (``R[s]``: sites ``>= s``)
    environments, identities where the canonical form gives them."""
    n, bt = len(tensors), tensors[0].shape[0]
    left: list[Any] = [None] * (n + 1)
    right: list[Any] = [None] * (n + 1)
    for s in range(centre + 1):
        left[s] = _eye(tensors[s].shape[1], bt, lib)
    for s in range(centre, n):
        left[s + 1] = _transfer_right(left[s], tensors[s], lib)
    for s in range(n, centre, -1):
        right[s] = _eye(tensors[s - 1].shape[3], bt, lib)
    for s in range(centre, -1, -1):
        right[s] = _transfer_left(right[s + 1], tensors[s], lib)
    return left, right


# ------------------------------------------------------------ values
def batch_term_values(tensors: Sequence, centre: int, terms: TermGroups,
                      operators: Sequence) -> list:
    """``<O>`` (``(B,)``, complex, unnormalised) for each support group of
    ``terms`` in each state of the batch. ``operators``: the groups' operators
    on the states' backend, dense ones transposed."""
    lib = Lib(tensors[0])
    left, right = _environments(tensors, centre, lib)
    out = []
    for support, op in zip(terms.supports, operators):
        first, last = support[0], support[-1]
        env = left[first]
        if op.ndim == 3:  # single-qubit factors
            factors = dict(zip(support, (op[f] for f in range(len(support)))))
            for s in range(first, last + 1):
                env = _transfer_right(env, tensors[s], lib, factors.get(s))
            out.append((env * right[last + 1]).sum((1, 2)))
            continue
        rho = _reduced(tensors, support, left, right, lib)  # [B, i, j] = psi_i psi*_j
        out.append((rho * op).sum((1, 2)))
    return out


def _reduced(tensors: Sequence, support: tuple[int, ...], left, right, lib: Lib):
    """The reduced density matrices ``[B, i, j] = psi_i psi*_j`` of sorted ``support``."""
    first, last = support[0], support[-1]
    env = left[first][:, None, None]
    dk, bt = 1, tensors[0].shape[0]
    for s in range(first, last + 1):
        a = tensors[s]
        if s in support:
            env = oe.contract("Zijab,Zasc,Zbtd->Zisjtcd", env, a, a.conj())
            dk *= 2
            env = env.reshape((bt, dk, dk) + tuple(env.shape[5:]))
        else:
            env = oe.contract("Zijab,Zasc,Zbsd->Zijcd", env, a, a.conj())
    return oe.contract("Zijcd,Zcd->Zij", env, right[last + 1])


def batch_probabilities(tensors: Sequence, centre: int, qubits: Sequence[int]):
    """``(B, 2^k)`` probabilities of the outcomes of ``qubits`` (in that order,
    the first most significant), never building a ``2^k x 2^k`` matrix.

    Contiguous qubits with the centre at or right of the first are read as
    amplitudes, ``O(2^k chi^2)`` per site (all qubits: ``O(2^n chi^2)``);
    otherwise the sweep carries one ``chi x chi`` environment per outcome of
    the qubits kept so far, ``O(n chi^3 + 2^k chi^3)``.
    """
    lib = Lib(tensors[0])
    qs = tuple(int(q) for q in qubits)
    k, bt = len(qs), tensors[0].shape[0]
    support = tuple(sorted(qs))
    first, last = support[0], support[-1]
    right = right_env(tensors, centre, last + 1, lib)
    if centre >= first and support == tuple(range(first, last + 1)):
        p = _contiguous(tensors, first, last, right, lib)
    else:
        p = _marginal(tensors, support, left_env(tensors, centre, first, lib), right, lib)
    order = sorted(range(k), key=lambda j: qs[j])
    if order != list(range(k)):
        p = p.reshape((bt,) + (2,) * k)
        perm = (0,) + tuple(1 + order.index(j) for j in range(k))
        p = p.permute(perm) if lib.backend == "torch" else p.transpose(perm)
    return p.reshape((bt, 2**k))


def _contiguous(tensors, first: int, last: int, right, lib: Lib):
    """Probabilities of sites ``first..last`` from their amplitudes, the
    sites left of ``first`` being left-orthonormal (summed over their bond)."""
    a = tensors[first]
    bt, dl = a.shape[0], a.shape[1]
    v = a.reshape((bt, dl * 2, a.shape[3]))  # (B, left bond * outcomes, right bond)
    for s in range(first + 1, last + 1):
        t = tensors[s]
        v = (v @ t.reshape((bt, t.shape[1], -1))).reshape((bt, -1, t.shape[3]))
    w = (v @ right) * v.conj()
    n_out = 2 ** (last - first + 1)
    return lib.real(w.reshape((bt, dl, n_out, -1)).sum((1, 3)))


def _marginal(tensors, support, left, right, lib: Lib):
    """Probabilities of sorted ``support`` from one environment per outcome."""
    first, last = support[0], support[-1]
    env = left[:, None]  # (B, outcomes, a, b)
    for s in range(first, last + 1):
        a = tensors[s]
        halves = []
        for x in (0, 1):
            ax = a[:, None, :, x, :]  # (B, 1, a, c)
            y = lib.swapaxes(env, -1, -2) @ ax  # (B, P, b, c)
            halves.append(lib.swapaxes(y, -1, -2) @ ax.conj())  # (B, P, c, d)
        if s in support:
            bt, outs = env.shape[0], env.shape[1]
            both = lib.concat([h[:, :, None] for h in halves], 2)
            env = both.reshape((bt, 2 * outs) + tuple(both.shape[3:]))
        else:
            env = halves[0] + halves[1]
    return lib.real((env * right[:, None]).sum((2, 3)))


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

    def _batch(self) -> list:
        return [t[None] for t in self.tensors]

    def norm(self):
        """``<psi|psi>`` (1 up to rounding, since splits renormalise)."""
        c = self.tensors[self.centre]
        return (c * c.conj()).sum().real

    def term_values(self, terms: TermGroups, operators: Sequence | None = None) -> list:
        """``<O>`` of each row of grouped terms (see :func:`~tnq.compile.group_terms`),
        complex, as a list.

        ``operators``: the terms' operators already on the state's backend, dense
        ones transposed (a Program keeps them so per backend); made here if None.
        """
        if operators is None:
            lib = Lib(self.tensors[0])
            operators = [lib.const(o if o.ndim == 3 else np.ascontiguousarray(o.T))
                         for o in terms.operators]
        return [v[0] for v in batch_term_values(self._batch(), self.centre, terms, operators)]

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
        return sum(vals[1:], vals[0]).real + terms.constant[0] if vals \
            else float(terms.constant[0])

    def probabilities(self, qubits: Sequence[int] | None = None):
        """Probabilities of the ``2^k`` outcomes of ``qubits`` (all by default),
        in that order, the first most significant.

        No ``2^k x 2^k`` density matrix is made: all qubits (or any contiguous
        run) cost ``O(2^k chi^2)`` per site, other marginals ``O(n chi^3 +
        2^k chi^3)`` (see :func:`batch_probabilities`).

        Examples
        --------
        >>> import tnq
        >>> psi = tnq.compile(tnq.Circuit(3).h(0).cx(0, 2), strategy="mps").simulate()
        >>> psi.probabilities([2, 1]).round(3).tolist()
        [0.5, 0.0, 0.5, 0.0]
        """
        qs = tuple(range(self.num_qubits)) if qubits is None else \
            checks.qubits(qubits, self.num_qubits)
        return batch_probabilities(self._batch(), self.centre, qs)[0]

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
            v = (v @ a.reshape((a.shape[0], -1))).reshape((-1, a.shape[2]))
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
        ts = [to_numpy(a)[None] for a in self.tensors]
        lib = Lib(ts[0])
        for s in range(self.centre, 0, -1):  # right-canonical: centre to site 0
            ts[s - 1], ts[s] = _qr_left(ts[s - 1], ts[s], lib)
        ts = [a[0] for a in ts]
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


def warn_fidelity(fidelity: float, threshold: float | None, name: str = "min_fidelity",
                  advice: str = "raise max_bond (or lower cutoff)") -> None:
    """Warn (:class:`TruncationWarning`) when ``fidelity`` is under ``threshold``,
    the option ``name``."""
    if threshold is not None and fidelity < threshold:
        warnings.warn(f"MPS fidelity estimate {fidelity:.6g} is under {name}="
                      f"{threshold:g}; {advice} for a more accurate result",
                      TruncationWarning, stacklevel=3)
