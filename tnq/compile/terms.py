"""Observable terms grouped by the qubits they act on (the state strategy).

Each group is a support (sorted qubits) and one Hermitian matrix: the weighted
sum of every term whose qubits lie inside that support. A call then needs one
reduced density matrix per group, never one pass over the state per term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..observables import Observable

__all__ = ["TermGroups", "group_terms"]


@dataclass(frozen=True, eq=False)
class TermGroups:
    """Supports, their summed local operators, and the constant (identity) part."""

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


def group_terms(obs: Observable) -> TermGroups:
    """Group the terms of ``obs`` by support, largest supports first.

    Examples
    --------
    >>> from tnq.observables import observable
    >>> g = group_terms(observable("Z0 Z1 + Z1 Z2 + X0 + X1 + X2 + 3"))
    >>> g.supports, g.constant
    (((0, 1), (1, 2)), 3.0)
    """
    supports: list[tuple[int, ...]] = []
    ops: list[np.ndarray] = []
    constant = 0.0
    for term in sorted(obs.terms, key=lambda t: -len(t.qubits)):
        qs = term.qubits
        if not qs:
            constant += term.coeff.real
            continue
        local = term.coeff.real * term.local_matrix()
        for i, sup in enumerate(supports):
            if set(qs) <= set(sup):
                ops[i] = ops[i] + _lift(local, qs, sup)
                break
        else:
            supports.append(qs)
            ops.append(local)
    return TermGroups(tuple(supports), tuple(ops), constant, len(obs.terms))
