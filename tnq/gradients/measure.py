"""Measuring a Pauli sum from counts, as on hardware.

Terms that commute qubit by qubit (each qubit measured in one Pauli basis)
share a measurement *setting*: one circuit with basis rotations appended,
sampled in the computational basis. Each setting's estimate comes with the
variance of its mean, from the per-shot values of all its terms together (so
correlations between terms of one setting are counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..circuit import Circuit
from ..errors import ExecutorError, ObservableError
from ..observables import PauliString
from ..observables import observable as as_observable

__all__ = ["Setting", "measurement_settings", "counts_array", "check_counts"]


@dataclass(frozen=True)
class Setting:
    """One measurement setting: a Pauli basis per qubit, and the terms it measures.

    ``terms`` holds ``(coefficient, qubits)`` pairs: each term's value on a shot
    is ``coefficient * (-1) ** (number of 1s among its qubits)``. For several
    observables a coefficient is a ``(K,)`` array: the term's weight in each.
    """

    bases: tuple[tuple[int, str], ...]
    terms: tuple[tuple[Any, tuple[int, ...]], ...]

    def rotate(self, circuit: Circuit) -> Circuit:
        """A copy of ``circuit`` with the rotations that map each basis to Z."""
        out = circuit.copy()
        for q, basis in self.bases:
            if basis == "X":
                out.h(q)
            elif basis == "Y":
                out.sdg(q).h(q)
        return out

    def estimate(self, counts: Mapping[str, int], num_qubits: int):
        """Mean of this setting's terms and the variance of that mean, from
        ``counts`` (floats; ``(K,)`` arrays for several observables)."""
        bits, weights = counts_array(counts, num_qubits)
        shots = weights.sum()
        scalar = not self.terms or np.ndim(self.terms[0][0]) == 0
        coeffs = np.array([np.atleast_1d(c) for c, _ in self.terms])  # (T, K)
        signs = np.stack([1 - 2 * (bits[:, list(qs)].sum(axis=1) % 2) for _, qs in self.terms],
                         axis=1)  # (outcomes, T)
        values = signs @ coeffs  # (outcomes, K)
        mean = weights @ values / shots
        var = np.full_like(mean, np.inf) if shots < 2 else \
            weights @ (values - mean) ** 2 / (shots - 1) / shots
        return (float(mean[0]), float(var[0])) if scalar else (mean, var)


def counts_array(counts: Mapping[str, int], num_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(K, n)`` bits (qubit 0 in column 0) and ``(K,)`` counts of a counts mapping."""
    keys = list(counts)
    bits = np.frombuffer("".join(keys).encode(), dtype=np.uint8).reshape(len(keys), num_qubits)
    return (bits - ord("0")).astype(np.int64), np.array([counts[k] for k in keys], dtype=float)


def measurement_settings(obs) -> tuple[tuple[Setting, ...], Any]:
    """Group a Pauli sum's terms into qubit-wise commuting settings.

    Returns the settings and the constant (identity) part. Greedy: terms with
    the most qubits first, each into the first setting it fits. For a list of
    observables, their Pauli strings are measured together (a string shared
    by several is measured once) and coefficients and constants are ``(K,)``
    arrays.

    Examples
    --------
    >>> settings, const = measurement_settings("Z0 Z1 + Z1 Z2 + X0 + X1 + X2 + 2")
    >>> [s.bases for s in settings], const
    ([((0, 'Z'), (1, 'Z'), (2, 'Z')), ((0, 'X'), (1, 'X'), (2, 'X'))], 2.0)
    """
    vector = isinstance(obs, (list, tuple))
    observables = [as_observable(o) for o in obs] if vector else [as_observable(obs)]
    constant = np.zeros(len(observables))
    coeffs: dict[tuple, np.ndarray] = {}
    paulis: list[PauliString] = []
    for j, o in enumerate(observables):
        for k, term in enumerate(o.terms):
            if not isinstance(term, PauliString):
                raise ObservableError(f"term {k} ({term}) is a dense operator; estimates "
                                      "from shots need Pauli strings")
            if abs(term.coeff.imag) > 1e-12:
                raise ObservableError(f"term {k} ({term}) has a complex coefficient; a "
                                      "measured observable must be Hermitian")
            if not term.paulis:
                constant[j] += term.coeff.real
                continue
            if term.paulis not in coeffs:
                coeffs[term.paulis] = np.zeros(len(observables))
                paulis.append(term)
            coeffs[term.paulis][j] += term.coeff.real
    groups: list[tuple[dict[int, str], list[PauliString]]] = []
    for term in sorted(paulis, key=lambda t: -len(t.paulis)):
        for bases, members in groups:
            if all(bases.get(q, p) == p for q, p in term.paulis):
                bases.update(term.paulis)
                members.append(term)
                break
        else:
            groups.append((dict(term.paulis), [term]))
    settings = tuple(
        Setting(tuple(sorted(bases.items())),
                tuple((coeffs[t.paulis] if vector else float(coeffs[t.paulis][0]), t.qubits)
                      for t in members))
        for bases, members in groups)
    return settings, (constant if vector else float(constant[0]))


def check_counts(results, circuits, shots: int) -> list[Mapping[str, int]]:
    """Validate what an executor returned: one counts mapping per circuit."""
    try:
        results = list(results)
    except TypeError:
        raise ExecutorError(f"executor returned {type(results).__name__}, expected a list of "
                            "counts mappings") from None
    if len(results) != len(circuits):
        raise ExecutorError(f"executor returned {len(results)} results for {len(circuits)} "
                            "circuits")
    for i, (counts, circuit) in enumerate(zip(results, circuits)):
        n = circuit.num_qubits
        if not isinstance(counts, Mapping):
            raise ExecutorError(f"result {i} is {type(counts).__name__}, expected a mapping "
                                "from bitstrings to counts")
        keys = list(counts)
        bad = next((k for k in keys if not isinstance(k, str) or len(k) != n), None)
        if bad is None and set("".join(keys)) - {"0", "1"}:
            bad = next(k for k in keys if set(k) - {"0", "1"})
        if bad is not None:
            raise ExecutorError(f"result {i} has outcome {bad!r}; expected a string of "
                                f"{n} '0'/'1' characters (qubit 0 first)")
        for key, value in counts.items():
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ExecutorError(f"result {i} has count {value!r} for {key!r}; expected "
                                    "a non-negative integer")
        total = sum(counts.values())
        if total != shots:
            raise ExecutorError(f"result {i} has {total} shots in all, expected {shots}")
    return results
