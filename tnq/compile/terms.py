"""Observable terms grouped by the qubits they act on.

Each group is a support (sorted qubits) and one Hermitian matrix: the weighted
sum of every term whose qubits lie inside that support. A call then needs one
reduced density matrix (or one lightcone) per group, never one pass per term.
A Pauli string on more than :data:`DENSE_SUPPORT` qubits is never summed with
others: it is kept as its ``(k, 2, 2)`` single-qubit factors (the coefficient
in the first), since its matrix would have ``4^k`` entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..observables import PAULI, Observable, PauliString

__all__ = ["TermGroups", "group_terms", "DENSE_SUPPORT"]

DENSE_SUPPORT = 6
"""Pauli strings on more qubits than this are kept as products of 2x2 factors."""


@dataclass(frozen=True, eq=False)
class TermGroups:
    """Supports, their summed local operators, and the constant (identity) part.

    An operator is a ``(2^k, 2^k)`` matrix, or ``(k, 2, 2)`` factors whose
    tensor product it is.
    """

    supports: tuple[tuple[int, ...], ...]
    operators: tuple[np.ndarray, ...]
    constant: float
    num_terms: int


def _lift(matrix: np.ndarray, qubits: tuple[int, ...], support: tuple[int, ...]) -> np.ndarray:
    """``matrix`` on ``qubits`` as a matrix on the larger sorted ``support``."""
    s = len(support)
    rest = [q for q in support if q not in qubits]
    full = np.kron(matrix, np.eye(2 ** len(rest)))
    order = list(qubits) + rest  # current axis order of ``full``
    perm = [order.index(q) for q in support]
    t = full.reshape((2,) * 2 * s).transpose(perm + [s + p for p in perm])
    return t.reshape(2**s, 2**s)


def group_terms(obs: Observable, merge_subsets: bool = True) -> TermGroups:
    """Group the terms of ``obs`` by support, largest supports first.

    With ``merge_subsets`` a term joins the first group whose support contains
    its qubits (the state strategy: fewer reduced density matrices); without,
    only terms on exactly the same qubits are summed (the lightcone strategy,
    where a smaller support means a smaller network).

    Examples
    --------
    >>> from tnq.observables import observable
    >>> g = group_terms(observable("Z0 Z1 + Z1 Z2 + X0 + X1 + X2 + 3"))
    >>> g.supports, g.constant
    (((0, 1), (1, 2)), 3.0)
    >>> group_terms(observable("Z0 Z1 + X0 + 2*Z1 Z0"), merge_subsets=False).supports
    ((0, 1), (0,))
    """
    supports: list[tuple[int, ...]] = []
    ops: list[np.ndarray] = []
    exact: dict[tuple[int, ...], int] = {}
    by_qubit: dict[int, list[int]] = {}  # qubit -> groups whose support holds it
    constant = 0.0
    for term in sorted(obs.terms, key=lambda t: -len(t.qubits)):
        qs = term.qubits
        if not qs:
            constant += term.coeff.real
            continue
        if isinstance(term, PauliString) and len(qs) > DENSE_SUPPORT:
            factors = np.array([PAULI[p] for _, p in term.paulis])
            factors[0] = factors[0] * term.coeff.real
            supports.append(qs)
            ops.append(factors)
            continue
        local = term.coeff.real * term.local_matrix()
        found = exact.get(qs)
        if found is None and merge_subsets:
            found = next((i for i in by_qubit.get(qs[0], ()) if set(qs) <= set(supports[i])),
                         None)
        if found is not None:
            ops[found] = ops[found] + _lift(local, qs, supports[found])
            continue
        exact[qs] = len(supports)
        for q in qs:
            by_qubit.setdefault(q, []).append(len(supports))
        supports.append(qs)
        ops.append(local)
    return TermGroups(tuple(supports), tuple(ops), constant, len(obs.terms))
