"""Strategy ``state``: contract the circuit to its state vector, then evaluate
every observable term on it at once (reduced density matrices per support).

For up to about 30 qubits. Amplitudes, marginals and samples contract closed
networks (:mod:`tnq.strategies.networks`), so they work at any width.
"""

from __future__ import annotations

from typing import Any

from autoray import do

from ..contract import Values
from ..plan import Plan, format_bytes, pow2
from .base import (
    MAX_BATCH,
    TRANSFORMS,
    Estimate,
    Setup,
    Strategy,
    TermOperators,
    anchored,
    plan_writes,
)
from .networks import ClosedNetworkOutputs, NetworkOutputs

__all__ = ["StateStrategy", "reduced_density", "apply_factors", "state_expectation"]


class StateStrategy(ClosedNetworkOutputs, Strategy):
    """The dense state of the circuit's ket network, contracted with one plan."""

    name = "state"
    outputs = frozenset({"expectation", "state", "amplitude", "probabilities", "sample"})
    transforms = TRANSFORMS

    def __init__(self, setup: Setup):
        super().__init__(setup)
        self.networks = NetworkOutputs(setup)
        self.operators = TermOperators(setup.terms, setup.dtype) \
            if setup.terms is not None else None

    def estimate(self) -> Estimate:
        s, n = self.setup, self.setup.num_qubits
        supports = s.terms.supports if s.terms is not None else ()
        memory = 2**n * s.itemsize
        note = f"a {n}-qubit state needs {format_bytes(memory)}"
        terms = sum(pow2(n + len(sp)) for sp in supports)  # one reduced density matrix each
        planned = self.networks.plan_if_made(("state", frozenset()))
        if planned is not None:
            return Estimate(planned.flops + terms, max(memory, planned.peak * s.itemsize), True,
                            note, steps=planned.network.num_tensors + len(supports),
                            writes=plan_writes(planned))
        # each gate met by a 2^n state (pow2 is math.inf beyond floats: more than
        # about 1,020 qubits, never a candidate)
        flops = sum(pow2(n) if op.gate.diagonal else pow2(n + len(op.qubits)) for op in s.ops)
        return Estimate(flops + terms, memory, False, note,
                        steps=n + len(s.ops) + len(supports))

    def prepare(self) -> None:
        self.networks.state_plan()

    def plans(self) -> tuple[Plan, ...]:
        return self.networks.plans()

    def explain(self) -> list[str]:
        return []

    def batch_limit(self) -> int:
        s = self.setup
        peak = max(self.networks.state_plan().peak, 2**s.num_qubits)
        return int(max(1, min(MAX_BATCH, s.max_memory // (peak * s.itemsize * 4))))

    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        assert self.operators is not None
        psi = self.networks.state(values, shifts)
        return state_expectation(psi, self.operators, self.setup.num_qubits, values), {}


def state_expectation(psi, operators: TermOperators, n: int, values: Values):
    """``(..., K)`` values of the observables of ``operators`` in the state
    ``psi`` (``(..., 2**n)``), anchored to the call's ``values``: one reduced
    density matrix per support (long Pauli strings: factors applied)."""
    terms = operators.terms
    cpsi = do("conj", psi)
    rows, rhos = [], {}
    for support, op in zip(terms.supports, operators.on(psi)):
        if op.ndim == 3:  # a long Pauli string: apply its factors, then overlap
            rows.append(do("sum", cpsi * apply_factors(psi, op, support, n), axis=-1))
            continue
        if support not in rhos:  # several observables: rows may share a support
            rhos[support] = reduced_density(psi, cpsi, support, n)
        rows.append(do("sum", rhos[support] * op, axis=(-2, -1)))
    return anchored(operators.combine(rows), values)


def reduced_density(psi, cpsi, support: tuple[int, ...], n: int):
    """Reduced density matrix ``rho[..., i, j]`` (big-endian in ``support``) of
    ``psi`` (shape ``(..., 2**n)``), given also its conjugate ``cpsi``."""
    lead = tuple(psi.shape[:-1])
    lo, hi = support[0], support[-1]
    d = 2 ** len(support)
    if hi - lo + 1 == len(support):  # contiguous: matrix products, no transposes
        shape = lead + (2**lo, d, 2 ** (n - hi - 1))
        t, ct = do("reshape", psi, shape), do("reshape", cpsi, shape)
        if not lead and shape[0] > shape[2]:
            return do("tensordot", t, ct, axes=([0, 2], [0, 2]))
        return do("sum", do("matmul", t, _swap_last(ct)), axis=-3)
    b = len(lead)
    rest = [q for q in range(n) if q not in support]
    perm = tuple(range(b)) + tuple(b + q for q in rest + list(support))
    shape = lead + (2 ** (n - len(support)), d)
    t = do("reshape", do("transpose", do("reshape", psi, lead + (2,) * n), perm), shape)
    ct = do("reshape", do("transpose", do("reshape", cpsi, lead + (2,) * n), perm), shape)
    return do("matmul", _swap_last(t), ct)


def apply_factors(psi, factors, support: tuple[int, ...], n: int):
    """``psi`` (shape ``(..., 2**n)``) with a 2x2 factor applied to each qubit of
    ``support``."""
    lead = tuple(psi.shape[:-1])
    for f, q in enumerate(support):
        t = do("reshape", psi, lead + (2**q, 2, 2 ** (n - q - 1)))
        t = do("einsum", "ij,...ajb->...aib", factors[f], t)
        psi = do("reshape", t, lead + (2**n,))
    return psi


def _swap_last(x):
    """``x`` with its last two axes swapped."""
    return do("swapaxes", x, -1, -2)
