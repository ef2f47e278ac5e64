"""Observable terms grouped by the qubits they act on, for one or several observables.

Each group is a support (sorted qubits) and one Hermitian matrix: the weighted
sum of every term whose qubits lie inside that support. A call then needs one
reduced density matrix (or one lightcone) per group, never one pass per term.
A Pauli string on more than :data:`DENSE_SUPPORT` qubits is never summed with
others: it is kept as its ``(k, 2, 2)`` single-qubit factors, since its matrix
would have ``4^k`` entries.

With several observables (a Program with a vector of values) the supports are
chosen once for all of their terms. On each support every observable has its
own summed operator; only those linearly independent of the ones before are
kept as *rows*, and a ``(K, rows)`` weight matrix gives each observable's
value from the rows' values. A term shared by several observables (or an
operator repeated up to a factor) is evaluated once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..observables import PAULI, Observable, PauliString

__all__ = ["TermGroups", "group_terms", "DENSE_SUPPORT", "SPAN_RTOL"]

DENSE_SUPPORT = 6
"""Pauli strings on more qubits than this are kept as products of 2x2 factors."""
SPAN_RTOL = 1e-12
"""An operator within this relative distance of the span of a support's rows
is written as their combination instead of becoming a row."""


@dataclass(frozen=True, eq=False)
class TermGroups:
    """Rows (a support and an operator each), how each observable weighs them,
    and each observable's constant (identity) part.

    An operator is a ``(2^k, 2^k)`` matrix, or ``(k, 2, 2)`` factors whose
    tensor product it is. Observable ``j``'s value is
    ``weights[j] @ row_values + constant[j]``.
    """

    supports: tuple[tuple[int, ...], ...]
    operators: tuple[np.ndarray, ...]
    weights: np.ndarray  # (K, rows)
    constant: np.ndarray  # (K,)
    num_terms: int

    @property
    def num_outputs(self) -> int:
        return len(self.constant)

    @property
    def summed(self) -> bool:
        """One observable whose value is the plain sum of the rows' values."""
        return self.num_outputs == 1 and bool(np.all(self.weights == 1.0))


def _lift(matrix: np.ndarray, qubits: tuple[int, ...], support: tuple[int, ...]) -> np.ndarray:
    """``matrix`` on ``qubits`` as a matrix on the larger sorted ``support``."""
    s = len(support)
    rest = [q for q in support if q not in qubits]
    full = np.kron(matrix, np.eye(2 ** len(rest)))
    order = list(qubits) + rest  # current axis order of ``full``
    perm = [order.index(q) for q in support]
    t = full.reshape((2,) * 2 * s).transpose(perm + [s + p for p in perm])
    return t.reshape(2**s, 2**s)


def _long(term) -> bool:
    return isinstance(term, PauliString) and len(term.qubits) > DENSE_SUPPORT


def _supports(observables: Sequence[Observable], merge_subsets: bool) -> dict:
    """The support each term's qubits go to, largest supports first (insertion order)."""
    place: dict[tuple[int, ...], tuple[int, ...]] = {}
    by_qubit: dict[int, list[tuple[int, ...]]] = {}  # qubit -> supports holding it
    qubit_sets = {t.qubits for obs in observables for t in obs.terms
                  if t.qubits and not _long(t)}
    for qs in sorted(qubit_sets, key=lambda q: -len(q)):
        found = next((sp for sp in by_qubit.get(qs[0], ()) if set(qs) <= set(sp)),
                     None) if merge_subsets else None
        if found is None:
            found = qs
            for q in qs:
                by_qubit.setdefault(q, []).append(qs)
        place[qs] = found
    return place


def group_terms(observables: Observable | Sequence[Observable],
                merge_subsets: bool = True) -> TermGroups:
    """Group the terms of one observable (or several) by support, largest first.

    With ``merge_subsets`` a term joins the first group whose support contains
    its qubits (the state strategy: fewer reduced density matrices); without,
    only terms on exactly the same qubits are summed (the lightcone strategy,
    where a smaller support means a smaller network).

    Examples
    --------
    >>> from tnq.observables import observable
    >>> g = group_terms(observable("Z0 Z1 + Z1 Z2 + X0 + X1 + X2 + 3"))
    >>> g.supports, g.constant
    (((0, 1), (1, 2)), array([3.]))
    >>> group_terms(observable("Z0 Z1 + X0 + 2*Z1 Z0"), merge_subsets=False).supports
    ((0, 1), (0,))
    >>> two = group_terms([observable("Z0 Z1 + X2"), observable("2*Z0 Z1")])
    >>> two.supports, two.weights
    (((0, 1), (2,)), array([[1., 1.],
           [2., 0.]]))
    """
    obs_list = [observables] if isinstance(observables, Observable) else list(observables)
    place = _supports(obs_list, merge_subsets)
    k_out = len(obs_list)
    constant = np.zeros(k_out)
    dense: dict[tuple[int, ...], list[np.ndarray | None]] = {}  # support -> per-observable
    slots: list[tuple] = []  # ("dense", support) or ("long", paulis), in order of creation
    long_coeffs: dict[tuple, np.ndarray] = {}
    for j, obs in enumerate(obs_list):
        for term in sorted(obs.terms, key=lambda t: -len(t.qubits)):
            qs = term.qubits
            if not qs:
                constant[j] += term.coeff.real
            elif isinstance(term, PauliString) and _long(term):
                if term.paulis not in long_coeffs:
                    long_coeffs[term.paulis] = np.zeros(k_out)
                    slots.append(("long", term.paulis))
                long_coeffs[term.paulis][j] += term.coeff.real
            else:
                sp = place[qs]
                if sp not in dense:
                    dense[sp] = [None] * k_out
                    slots.append(("dense", sp))
                local = term.coeff.real * term.local_matrix()
                lifted = local if qs == sp else _lift(local, qs, sp)
                have = dense[sp][j]
                dense[sp][j] = lifted if have is None else have + lifted
    supports: list[tuple[int, ...]] = []
    ops: list[np.ndarray] = []
    columns: list[np.ndarray] = []  # per row: its weight in each observable
    for kind, key in sorted(slots, key=lambda s: -len(s[1])):
        if kind == "long":
            supports.append(tuple(q for q, _ in key))
            ops.append(np.array([PAULI[p] for _, p in key]))
            columns.append(long_coeffs[key])
            continue
        first = len(ops)
        for j, m in enumerate(dense[key]):
            if m is None:
                continue
            coeffs = _in_span(m, ops[first:])
            if coeffs is None:
                supports.append(key)
                ops.append(m)
                columns.append(np.zeros(k_out))
                columns[-1][j] = 1.0
            else:
                for r, c in enumerate(coeffs):
                    columns[first + r][j] += c
    weights = np.array(columns).T.reshape(k_out, len(ops))
    return TermGroups(tuple(supports), tuple(ops), weights, constant,
                      sum(len(o.terms) for o in obs_list))


def _in_span(m: np.ndarray, rows: list[np.ndarray]) -> np.ndarray | None:
    """Real coefficients writing ``m`` as a combination of ``rows``, or None."""
    if not rows:
        return None
    a = np.array([r.ravel() for r in rows]).T
    coeffs = np.linalg.lstsq(a, m.ravel(), rcond=None)[0]
    scale = max(1.0, float(np.linalg.norm(m)))
    if np.linalg.norm(a @ coeffs - m.ravel()) > SPAN_RTOL * scale:
        return None
    return coeffs.real
