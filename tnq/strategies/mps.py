"""Strategy ``mps``: a truncated matrix product state (engine in :mod:`tnq.mps`).

At compile time the circuit is routed into a schedule of one- and
multi-site steps (:mod:`tnq.compile.route`), the matrices of its two-site
steps are laid out for one batched build per call (:class:`~tnq.mps_sweep.StepGates`)
and the bond dimensions it can reach are bounded, so a state that would not
fit ``max_memory`` is refused before anything runs. A call simulates all its
rows (parameter vectors, inputs, parameter-shift rows) in one batched sweep
(:func:`~tnq.mps_sweep.sweep`) and returns the fidelity estimate and an error
bar with the value.

The number of singular values kept depends on their values, so this strategy
runs eagerly only: under ``jax.jit``, ``jax.vmap``, ``jax.grad`` or
``torch.func`` transformations it raises; torch autograd differentiates
through its SVDs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from autoray import do

from .. import checks
from ..compile.route import SWAP, Schedule, Step, route
from ..contract import Values
from ..errors import MemoryLimitError, ParameterError
from ..mps import MPS, batch_probabilities, batch_term_values, warn_fidelity
from ..mps_sweep import StepGates, Swept, sweep
from ..observables import PAULI
from ..plan import Plan, as_float, format_bytes
from ..progress import bar
from .base import (
    FLOPS_PER_SECOND,
    MAX_BATCH,
    STEP_COST,
    Estimate,
    SampleCost,
    Setup,
    Strategy,
    TermOperators,
    anchored,
)
from .networks import sample_in_chunks

__all__ = ["MpsStrategy", "bond_bounds", "mps_flops", "mps_sample_cost", "SUGGEST_SECONDS"]

SUGGEST_SECONDS = 10.0
"""A refusal that suggests the ``mps`` strategy names the largest ``max_bond``
(a power of two, or the exact bond dimension) whose sampling is estimated
within this many seconds."""


class MpsStrategy(Strategy):
    """Simulate a matrix product state with SVD truncation (``max_bond``, ``cutoff``)."""

    name = "mps"
    outputs = frozenset({"expectation", "state", "amplitude", "probabilities", "sample",
                         "simulate"})
    transforms = frozenset[str]()

    def __init__(self, setup: Setup):
        super().__init__(setup)
        e = setup.evaluator
        self.diagonal = tuple(op.gate.diagonal for op in setup.ops)
        self.gate_refs = tuple(e.locate(i) for i in range(len(setup.ops)))
        self.schedule: Schedule = long_range(route(setup.ops, setup.num_qubits), setup.ops,
                                             setup.max_bond)
        self.recipe = StepGates.build(self.schedule, self.gate_refs,
                                      [k.shape for k in e.kinds], e.constants(),
                                      self.diagonal)
        self.splits = splits(self.schedule)
        self.max_bond, self.cutoff = setup.max_bond, setup.cutoff
        if setup.target_fidelity is not None:  # bonds free up to what memory allows
            self.cutoff = -math.expm1(math.log(setup.target_fidelity) / max(self.splits, 1))
            if self.max_bond is None:
                self.max_bond = memory_bond(self.schedule, setup.itemsize, setup.max_memory)
        self.bounds = bond_bounds(self.schedule, self.max_bond)
        self.operators = TermOperators(setup.terms, setup.dtype) \
            if setup.terms is not None else None
        self.spread = _spreads(setup.terms) if setup.terms is not None else None
        self.peak = peak_bytes(self.schedule, self.bounds, setup.itemsize)
        if self.peak > setup.max_memory:
            widest = max(self.bounds, default=1)
            b = self.bounds.index(widest)
            raise MemoryLimitError(
                f"the MPS may reach bond dimension {_dimension(widest)} (bond {b}, between "
                f"qubits {b} and {b + 1}); its state and two-site blocks need about "
                f"{format_bytes(self.peak)}, over max_memory={format_bytes(setup.max_memory)}; "
                "pass max_bond= to truncate (or target_fidelity=)")
        self.flops = mps_flops(self.schedule, self.max_bond)

    @classmethod
    def unavailable(cls, setup: Setup) -> str | None:
        if setup.max_bond is None and setup.target_fidelity is None:
            return "auto truncates only when max_bond is given"
        if 2**setup.num_qubits * setup.itemsize <= setup.max_memory:
            return "the exact state fits, and auto does not truncate then"
        return None

    def estimate(self) -> Estimate:
        sc = self.schedule
        one_d = sc.swaps <= len(self.setup.ops)
        shape = "1D-like" if one_d else "not 1D-like"
        note = (f"the circuit is {shape} ({sc.swaps} routing swaps): MPS with max_bond="
                f"{self.max_bond}, fidelity estimated per call")
        # a circuit that needs more routing swaps than it has gates is no MPS circuit:
        # its cost is not the schedule's but that of the bonds it cannot represent
        return Estimate(self.flops if one_d else float("inf"), self.peak, True, note)

    def prepare(self) -> None:
        pass

    def plans(self) -> tuple[Plan, ...]:
        return ()

    def explain(self) -> list[str]:
        s, sc = self.setup, self.schedule
        if s.target_fidelity is not None:
            how = (f"target_fidelity={s.target_fidelity:g}: each of {self.splits} splits drops "
                   f"at most {self.cutoff:.3g} of its weight, bonds grow where needed up to "
                   f"max_bond={self.max_bond}" + ("" if s.max_bond is not None else
                                                   " (the largest that fits max_memory)"))
        else:
            how = f"max_bond={s.max_bond}, cutoff={s.cutoff:g}"
        return [f"mps: {len(sc.steps)} steps ({sc.swaps} routing swaps), {how}; bond "
                f"dimensions up to {max(self.bounds, default=1)}, by bond: "
                f"{profile(self.bounds)}; peak memory about {format_bytes(self.peak)} per "
                f"state (max_memory={format_bytes(s.max_memory)}); about {self.flops:.3g} "
                "FLOPs per simulation; the fidelity estimate and an error bar come with each "
                "result (Program.evaluate)"]

    def batch_limit(self) -> int:
        """All rows are simulated together: as many as fit ``max_memory`` at the
        peak memory of one state (:func:`peak_bytes`)."""
        return int(max(1, min(MAX_BATCH, self.setup.max_memory // self.peak)))

    def sweep(self, values: Values, shifts: dict | None = None) -> tuple[Swept, int | None]:
        """All rows of the call simulated in one batched sweep, and the call's
        batch size (None when unbatched)."""
        s, e = self.setup, self.setup.evaluator
        batch, shifts = e.shifts(values, shifts)
        tables = e.tables(values, shifts)
        consts = e.constants(values.vals)
        kinds = e.kinds

        def gate_of(i: int):
            kind, row = self.gate_refs[i]
            if kind < 0:
                return consts[row][None]
            t = tables[kind]
            return t[:, row] if t.ndim > len(kinds[kind].shape) + 1 else t[row][None]

        with bar(len(self.schedule.steps), "MPS sweeps", show=s.progress,
                 seconds=self._seconds() * (batch or 1), unit="step") as shown:
            swept = sweep(self.schedule, self.recipe, tables, consts, gate_of,
                          batch=batch or 1, max_bond=self.max_bond, cutoff=self.cutoff,
                          shown=shown)
        reached = float(swept.account.fidelity.min())
        if s.target_fidelity is not None and s.min_fidelity is None:
            warn_fidelity(reached, s.target_fidelity * (1 - 1e-12), "target_fidelity",
                          f"bonds were capped at {self.max_bond}; raise max_bond or max_memory")
        else:
            warn_fidelity(reached, s.min_fidelity)
        return swept, batch

    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        terms, operators = self.setup.terms, self.operators
        assert terms is not None and operators is not None
        swept, batch = self.sweep(values, shifts)
        ops = operators.on(swept.tensors[0])
        total = operators.combine(batch_term_values(swept.tensors, swept.centre, terms, ops))
        fidelity = swept.account.fidelity
        assert self.spread is not None
        # trace distance sqrt(1 - F) for the fidelity estimate F, times the largest
        # spread of eigenvalues among the observables (see docs/mps.md)
        error = 2.0 * float(self.spread.max()) * np.sqrt(np.clip(1.0 - fidelity, 0.0, None))
        if batch is None:
            total = total[0]
            return anchored(total, values), {"fidelity": float(fidelity[0]),
                                             "error": float(error[0])}
        return anchored(total, values), {"fidelity": fidelity, "error": error}

    def _states(self, values: Values) -> list[MPS]:
        swept, _ = self.sweep(values)
        acc = swept.account
        return [MPS([t[b] for t in swept.tensors], swept.centre, float(acc.fidelity[b]),
                    int(acc.truncations[b]), float(acc.largest[b]))
                for b in range(acc.batch)]

    def simulate(self, values: Values) -> MPS:
        if values.batch is not None:
            raise ParameterError(f"simulate, amplitudes and marginals of an MPS take one "
                                 f"parameter vector, got a batch of {values.batch}")
        return self._states(values)[0]

    def state(self, values: Values):
        n, s = self.setup.num_qubits, self.setup
        checks.fits(2**n * s.itemsize, s.max_memory, f"a {n}-qubit state vector",
                    "pass a larger max_memory= to tnq.compile, or ask for amplitudes, "
                    "probabilities of fewer qubits or samples")
        states = [m.to_dense() for m in self._states(values)]
        return states[0] if values.batch is None else do("stack", states)

    def amplitude(self, values: Values, onehot: np.ndarray):
        return self.simulate(values).amplitude(onehot.argmax(-1))

    def probabilities(self, values: Values, qubits):
        """Probabilities from the MPS without a ``2^k x 2^k`` matrix (see
        :func:`~tnq.mps.batch_probabilities`): ``2^k`` values per row, with one
        ``chi x chi`` environment per outcome for scattered qubits."""
        s = self.setup
        if qubits is not None and values.batch is not None:  # as every strategy's marginals
            raise ParameterError(f"simulate, amplitudes and marginals of an MPS take one "
                                 f"parameter vector, got a batch of {values.batch}")
        qs = tuple(range(s.num_qubits)) if qubits is None else tuple(qubits)
        k, chi = len(qs), max(self.bounds, default=1)
        rows = values.batch or 1
        checks.fits(rows * 2**k * chi * chi * s.itemsize, s.max_memory,
                    f"probabilities of {k} qubits from the MPS (one {chi} x {chi} environment "
                    f"per outcome)", "pass a larger max_memory= to tnq.compile, or ask for "
                    "fewer qubits (or samples)")
        swept, batch = self.sweep(values)
        p = batch_probabilities(swept.tensors, swept.centre, qs)
        return p[0] if batch is None else p

    def _seconds(self) -> float:
        """The estimated seconds of one simulation (for progress bars)."""
        return (self.flops + STEP_COST * 4 * len(self.schedule.steps)) / FLOPS_PER_SECOND

    def _per_shot(self) -> int:
        """Working bytes per shot: a ``(2, chi)`` block per site, and the bits."""
        s = self.setup
        return 8 * max(self.bounds, default=1) * s.itemsize + 2 * s.num_qubits

    def sample(self, values: Values, shots: int, rng: np.random.Generator) -> np.ndarray:
        """Perfect samples of the MPS, in chunks of shots whose working arrays
        (a ``(shots, 2, chi)`` block per site) fit ``max_memory``."""
        return self.sample_with(self.sample_cost(shots)[0], values, shots, rng)

    def sample_cost(self, shots: int, limit: float = math.inf, *, plan: bool = True,
                    method: str | None = None) -> tuple[SampleCost, ...]:
        """Simulating the MPS once, then sampling it (see :func:`mps_sample_cost`)."""
        if method not in (None, "mps"):
            return ()
        s = self.setup
        cost = mps_sample_cost(self.schedule, self.bounds, shots, s.itemsize, s.max_memory)
        return (cost,)

    def sample_with(self, cost: SampleCost, values: Values, shots: int,
                    rng: np.random.Generator) -> np.ndarray:
        s, mps = self.setup, self.simulate(values)
        sampling = (cost.cost - self.flops) / FLOPS_PER_SECOND
        chunk = max(1, s.max_memory // self._per_shot())
        seconds = sampling * min(chunk, shots) / shots
        return sample_in_chunks(lambda k: mps.sample(k, rng, progress=s.progress,
                                                     seconds=seconds),
                                shots, s.num_qubits, self._per_shot(), s.max_memory)

    @classmethod
    def sample_alternative(cls, setup: Setup, shots: int) -> SampleCost | None:
        """Sampling from an MPS of a 1D-like circuit, at the Program's ``max_bond``
        or else the largest one that takes at most :data:`SUGGEST_SECONDS`."""
        schedule = route(setup.ops, setup.num_qubits)
        if schedule.swaps > len(setup.ops):  # not 1D-like (as the planner judges)
            return None
        exact = max(bond_bounds(schedule, None), default=1)
        chi = min(setup.max_bond, exact) if setup.max_bond is not None else \
            _suggest_bond(schedule, exact, shots, setup)
        cost = mps_sample_cost(schedule, bond_bounds(schedule, chi), shots, setup.itemsize,
                               setup.max_memory)
        how = (f"exact: bond dimensions up to {_dimension(exact)} kept" if chi >= exact else
               f"approximate: bonds truncated to {chi}, where the exact state may need up "
               f"to {_dimension(exact)}; results come with a fidelity estimate")
        block = chi * chi * 4 * setup.itemsize * 4
        fits = cost.fits and block <= setup.max_memory
        return SampleCost("mps", cost.flops, max(cost.memory, block), fits, how,
                          steps=cost.steps, advice=f"compile with strategy='mps', "
                          f"max_bond={chi}")


def _suggest_bond(schedule: Schedule, exact: int, shots: int, setup: Setup) -> int:
    """The largest bond dimension, a power of two or ``exact``, whose simulation
    and sampling take at most :data:`SUGGEST_SECONDS` (at least 2)."""
    chi, bond = min(2, exact), 2
    while bond < 2 * exact:
        b = min(bond, exact)
        cost = mps_sample_cost(schedule, bond_bounds(schedule, b), shots, setup.itemsize,
                               setup.max_memory)
        if cost.seconds > SUGGEST_SECONDS:
            break
        chi, bond = b, 2 * bond
    return chi


def _dimension(chi: int) -> str:
    """A bond dimension as text: a power of two beyond 2^64 (no 1,000-digit numbers)."""
    return str(chi) if chi <= 2**64 else f"2^{chi.bit_length() - 1}"


# ------------------------------------------------------------ long-range gates
_PAULI = np.array([PAULI[c] for c in "IXYZ"])  # (4, 2, 2): I, X, Y, Z
QR_COST = 0.25
"""A QR's cost relative to an SVD of the same matrix, in the choice between
SWAP chains and MPOs (about what LAPACK takes on the sizes an MPS uses)."""


def long_range(schedule: Schedule, ops, max_bond: int | None) -> Schedule:
    """``schedule`` with each two-qubit gate on distant qubits applied as an
    MPO across the gap (:func:`tnq.mps_sweep.mpo_step`) instead of its SWAP
    chains there and back, where the cost model says it is cheaper: ``d`` QRs
    and SVDs at bond ``r chi`` (``r``: the gate's operator rank in the Pauli
    basis of one side) against ``2d - 1`` SVDs at ``2 chi``.

    The MPO step's ``subscripts`` are ``"mpo:<side>:<paulis>"``: the side
    (``a``, the lower qubit, or ``b``) whose factors are the Pauli matrices
    listed (``0123`` for ``I X Y Z``). Its single-qubit gates are applied
    just before it, as one-site steps.
    """
    bounds = bond_bounds(schedule, max_bond)
    steps = schedule.steps
    out: list[Step] = []
    j = 0
    changed = False
    while j < len(steps):
        gate = steps[j]
        j += 1
        if gate.op == SWAP or gate.width != 2 or len(ops[gate.op].qubits) != 2:
            out.append(gate)
            continue
        op = ops[gate.op]
        lo, hi = sorted(op.qubits)
        d = hi - lo  # route put d - 1 SWAPs just before the gate and d - 1 just after
        if d < 2:
            out.append(gate)
            continue
        rank, text = _pauli_rank(op)
        chi = max(bounds[lo:hi], default=1)
        swap_cost = (2 * d - 1) * _svd_cost(2 * chi, 2 * chi)
        mpo_cost = d * (QR_COST * _svd_cost(2 * chi, rank * chi) + _svd_cost(rank * chi, 2 * chi))
        around = list(out[len(out) - (d - 1):]) + list(steps[j:j + d - 1])
        if mpo_cost >= swap_cost or len(around) != 2 * (d - 1) or \
                any(st.op != SWAP for st in around):
            out.append(gate)
            continue
        del out[len(out) - (d - 1):]
        j += d - 1
        for side, pre in zip(gate.order, gate.pre):  # gate.order: the gate qubit on each side
            out.extend(Step(i, op.qubits[side], 1, "") for i in pre)
        out.append(Step(gate.op, lo, d + 1, text, (0, 1) if op.qubits[0] < op.qubits[1]
                        else (1, 0)))
        changed = True
    if not changed:
        return schedule
    crossings = [0] * max(schedule.n - 1, 0)
    for st in out:
        for b in range(st.site, st.site + st.width - 1):
            crossings[b] += 1
    swaps = sum(1 for st in out if st.op == SWAP)
    return Schedule(tuple(out), schedule.n, swaps, tuple(crossings))


def _svd_cost(m: int, n: int) -> float:
    return 8.0 * m * n * min(m, n)


def _pauli_rank(op) -> tuple[int, str]:
    """The fewest Pauli factors on one side that write the gate as
    ``sum_P P (x) B_P`` (from two random parameter draws: a structural
    pattern), and the MPO text for it."""
    rng = np.random.default_rng(0)
    a_side: set[int] = set()
    b_side: set[int] = set()
    for _ in range(2):
        g = _sample_matrix(op, rng).reshape(2, 2, 2, 2)
        if op.qubits[0] > op.qubits[1]:  # basis (lower qubit, higher qubit)
            g = g.transpose(1, 0, 3, 2)
        c = np.einsum("pij,qkl,ikjl->pq", _PAULI.conj(), _PAULI.conj(), g) / 4
        a_side |= {p for p in range(4) if np.abs(c[p]).max() > 1e-12}
        b_side |= {q for q in range(4) if np.abs(c[:, q]).max() > 1e-12}
    side, paulis = ("a", a_side) if len(a_side) <= len(b_side) else ("b", b_side)
    return max(len(paulis), 1), f"mpo:{side}:" + "".join(map(str, sorted(paulis) or [0]))


def _sample_matrix(op, rng) -> np.ndarray:
    if op.matrix is not None or op.gate.num_params == 0:
        m = np.asarray(op.gate.matrix)
    else:
        m = np.asarray(op.gate.table(*rng.uniform(0, 2 * np.pi, (op.gate.num_params, 1))))[0]
    return np.diag(m.reshape(-1)) if op.gate.diagonal else m.reshape(4, 4)


def splits(schedule: Schedule) -> int:
    """How many SVD splits one simulation makes."""
    return sum(st.width - 1 for st in schedule.steps)


def peak_bytes(schedule: Schedule, bounds: Sequence[int], itemsize: int) -> int:
    """Peak memory of one simulation at bond dimensions up to ``bounds``: the
    site tensors, plus four arrays the size of the largest block (the block,
    the factors of its split and their workspace)."""
    chis = [1] + list(bounds) + [1]
    state = sum(2 * a * b for a, b in zip(chis, chis[1:]))
    block = 0
    for st in schedule.steps:
        if st.subscripts.startswith("mpo"):  # one site with the operator's index, at a time
            rank = len(st.subscripts.split(":")[2])
            widest = max(chis[st.site:st.site + st.width + 1])
            block = max(block, 2 * rank * widest * widest * 2)
        elif st.width > 1:
            block = max(block, chis[st.site] * chis[st.site + st.width] * 2**st.width)
    return int((state + 4 * block) * itemsize)


def memory_bond(schedule: Schedule, itemsize: int, max_memory: int) -> int:
    """The largest ``max_bond`` whose simulation fits ``max_memory`` (at least 1)."""
    exact = max(bond_bounds(schedule, None), default=1)
    lo, hi = 1, exact
    if peak_bytes(schedule, bond_bounds(schedule, hi), itemsize) <= max_memory:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if peak_bytes(schedule, bond_bounds(schedule, mid), itemsize) <= max_memory:
            lo = mid
        else:
            hi = mid
    return lo


def profile(bounds: Sequence[int]) -> str:
    """Bond dimensions as short text, runs of equal values counted.

    Examples
    --------
    >>> profile([2, 4, 8, 8, 8, 8, 4, 2])
    '2 4 8x4 4 2'
    """
    out: list[str] = []
    for chi in bounds:
        if out and out[-1].split("x")[0] == str(chi):
            head, _, count = out[-1].partition("x")
            out[-1] = f"{head}x{int(count or 1) + 1}"
        else:
            out.append(str(chi))
    return " ".join(out) or "-"


def _spreads(terms) -> np.ndarray:
    """For each observable, half the spread of its eigenvalues or more: the
    weighted sum of its rows' operator norms (``(K,)``)."""
    norms = []
    for op in terms.operators:
        if op.ndim == 3:
            norms.append(float(np.prod([np.linalg.norm(f, 2) for f in op])))
        else:
            norms.append(float(np.linalg.norm(op, 2)))
    return np.abs(terms.weights) @ np.array(norms)


def bond_bounds(schedule: Schedule, max_bond: int | None) -> list[int]:
    """The largest bond dimension each bond can reach: limited by the qubits on
    either side, by 4 per two-site step across it, and by ``max_bond``."""
    n = schedule.n
    out = []
    for b, cross in enumerate(schedule.crossings):
        exp = min(b + 1, n - b - 1, 2 * cross)
        chi = 2**exp
        out.append(chi if max_bond is None else min(chi, max_bond))
    return out


def mps_flops(schedule: Schedule, max_bond: int | None) -> float:
    """About how many FLOPs one simulation takes: an SVD of ``2 chi x 2 chi`` per
    two-site step, at the bounded bond dimension."""
    return _steps_flops(schedule, bond_bounds(schedule, max_bond))


def _steps_flops(schedule: Schedule, bounds: list[int]) -> float:
    total = 0.0
    for st in schedule.steps:
        if st.width > 1:
            chi = max(bounds[st.site:st.site + st.width - 1])
            total += as_float(8 * (2 * chi) ** 3 * (st.width - 1))  # inf beyond floats
    return total


def mps_sample_cost(schedule: Schedule, bounds: list[int], shots: int, itemsize: int,
                    max_memory: int) -> SampleCost:
    """The cost of one MPS simulation with bond dimensions up to ``bounds``
    (:func:`mps_flops`), then ``shots`` perfect samples: one ``(shots, chi)``
    by ``(chi, 2, chi)`` product per site."""
    chis = [1] + list(bounds) + [1]
    simulation = _steps_flops(schedule, bounds)
    draws = float(shots) * sum(2.0 * a * b for a, b in zip(chis, chis[1:]))
    per_shot = 8 * max(bounds, default=1) * itemsize + 2 * schedule.n
    memory = min(shots, max(1, max_memory // per_shot)) * per_shot
    note = f"{len(schedule.steps)} steps, bond dimensions up to {max(bounds, default=1)}"
    return SampleCost("mps", simulation + draws, memory, memory <= max_memory, note,
                      steps=4 * len(schedule.steps) + 4 * schedule.n)
