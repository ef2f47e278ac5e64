"""The strategy interface: what every way of evaluating a circuit provides.

A strategy is made at compile time from a :class:`Setup` (the circuit's
operations, the observable's grouped terms, the compile options). It does its
structure-only work in its constructor (reducing cones, routing a schedule),
gives a cheap :meth:`Strategy.estimate` of its cost, and on
:meth:`Strategy.prepare` plans its contractions so that :meth:`Strategy.refine`
can give the planned cost. The planner (:mod:`tnq.planner`) compares these
estimates; the Program calls the chosen strategy's outputs.

Outputs take a call's :class:`~tnq.contract.Values` and return arrays on the
values' backend. An expectation value comes back with a dict of per-call
facts (a fidelity estimate, an error estimate), which the Program returns in
a :class:`Result`, never keeps.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cotengra as ctg
import numpy as np
from autoray import do, get_dtype_name

from ..circuit import Op
from ..compile import TermGroups
from ..contract import Evaluator, Values, device_key, to_backend
from ..errors import UnsupportedError
from ..memo import Memo
from ..observables import Observable
from ..plan import PathCache, Plan, format_bytes, pow2

__all__ = ["Estimate", "Result", "Setup", "Strategy", "TermOperators", "OUTPUTS", "TRANSFORMS",
           "MAX_BATCH", "STEP_COST", "WRITE_COST", "combine", "anchored", "plan_writes",
           "FLOPS_PER_SECOND", "SampleCost", "duration", "probabilities_cost"]

MAX_BATCH = 4096
"""The most parameter vectors one batched contraction takes."""
STEP_COST = 2**14
"""The fixed cost of one array operation of a call (a pairwise contraction, a
block product), in scalar multiply-adds: about the time a small operation
takes in Python and a backend (some 15 us)."""
WRITE_COST = 16
"""The cost of writing one element of a contraction's intermediate, in scalar
multiply-adds: pairwise contractions transpose and copy their operands, which
measured about 16 times the time of a multiply-add in a matrix product."""

OUTPUTS = ("expectation", "state", "amplitude", "probabilities", "sample", "simulate")
"""Every output a Program has; a strategy names those it supports."""
TRANSFORMS = frozenset({"jax.jit", "jax.vmap", "jax.grad", "torch.func.vmap",
                        "torch.func.grad"})
"""Function transformations a strategy may support (eager torch autograd works on
every exact strategy; ``pauli``, whose kept strings depend on the angles, takes
gradients by parameter shift)."""


@dataclass(frozen=True, eq=False)
class Setup:
    """What a strategy is built from: structure and options, no numbers."""

    ops: tuple[Op, ...]
    num_qubits: int
    evaluator: Evaluator
    observables: tuple[Observable, ...]
    """The observables whose values a call returns (none: no expectation values)."""
    terms: TermGroups | None
    optimize: Any
    max_memory: int
    dtype: str
    cache: PathCache | None
    max_bond: int | None
    cutoff: float
    min_fidelity: float | None
    progress: bool = True
    """Whether calls (and compiles) expected to take more than a couple of
    seconds show a progress bar (:mod:`tnq.progress`)."""
    target_fidelity: float | None = None
    """``mps``: the fidelity estimate each call must reach; bonds grow where
    needed (within ``max_bond`` and ``max_memory``)."""
    threshold: float | None = None
    """``pauli``: drop Pauli strings under this fraction of the observable's
    largest coefficient (None: not asked to truncate; ``auto`` then never picks ``pauli``)."""

    @property
    def itemsize(self) -> int:
        return np.dtype(self.dtype).itemsize

    @property
    def plan_options(self) -> dict:
        """Keyword arguments of :func:`~tnq.plan.make_plan` from the options."""
        return dict(optimize=self.optimize, max_memory=self.max_memory,
                    itemsize=self.itemsize, cache=self.cache, progress=self.progress)


@dataclass(frozen=True)
class Estimate:
    """A strategy's cost for all expectation values of a Program.

    Attributes
    ----------
    flops : float
        Scalar multiply-adds of one unbatched call.
    steps : int
        Array operations of one unbatched call (see :attr:`cost`).
    writes : float
        Elements that memory-bound operations of one unbatched call write:
        the intermediates of a planned contraction (each made by transposes
        and a product), the transposed states of a state-vector simulation.
        Rough estimates leave it out (it needs the plan), which keeps them
        optimistic: a rough candidate is planned before it can lose.
    memory : int
        Bytes of the largest tensor it makes.
    planned : bool
        Whether the numbers come from planned contraction paths (otherwise a
        rough structural count, which :meth:`Strategy.refine` can replace).
    note : str
        What the numbers describe, for :meth:`tnq.Program.explain`.
    """

    flops: float
    memory: int
    planned: bool
    note: str = ""
    steps: int = 0
    writes: float = 0.0

    @property
    def cost(self) -> float:
        """What the planner compares, in multiply-adds: the FLOPs, plus
        :data:`WRITE_COST` per element written by a memory-bound operation and
        :data:`STEP_COST` per array operation."""
        return self.flops + WRITE_COST * self.writes + STEP_COST * self.steps

    def describe(self) -> str:
        how = "planned" if self.planned else "estimated"
        note = f" ({self.note})" if self.note else ""
        writes = f", {self.writes:.3g} writes" if self.writes else ""
        steps = f" in {self.steps} steps" if self.steps else ""
        return f"{self.flops:.3g} FLOPs{writes}{steps} {how}{note}"


@dataclass(frozen=True)
class Result:
    """An expectation value with the facts of the call that made it.

    Attributes
    ----------
    value : array
        A real scalar, or ``(B,)`` for a batch, on the parameters' backend.
    strategy : str
        The strategy that computed it.
    fidelity : float or ndarray or None
        ``mps``: the fidelity estimate of the state (one per batch row);
        ``None`` for exact strategies.
    error : float or ndarray or None
        An estimate of the value's absolute error, where the strategy gives
        one; ``None`` for exact strategies.
    seconds : float
        Wall time of the call.
    """

    value: Any
    strategy: str
    fidelity: Any = None
    error: Any = None
    seconds: float = 0.0


FLOPS_PER_SECOND = 1e9
"""Multiply-adds per second assumed when a cost is told in seconds (progress
bars, refusals): about what one core does on the products tnq runs. A cost in
seconds counts its FLOPs, writes and steps as :attr:`Estimate.cost` does."""

SAMPLE_METHODS = {"probabilities": "exact probabilities",
                  "conditional": "conditional marginals",
                  "mps": "MPS sampling"}
"""The ways samples are drawn, by name, with the words errors use for them."""


def duration(seconds: float) -> str:
    """Seconds as readable text (``"0.2 s"``, ``"4.1 min"``, ``"3.2 days"``).

    Examples
    --------
    >>> duration(0.25), duration(700), duration(3e5), duration(float("inf"))
    ('0.25 s', '12 min', '3.5 days', 'forever')
    """
    if not math.isfinite(seconds):
        return "forever"
    for unit, size in (("years", 3.15e7), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.2g} {unit}"
    return f"{seconds:.2g} s"


@dataclass(frozen=True)
class SampleCost:
    """The estimated cost of one way of drawing samples (see :meth:`Strategy.sample_cost`).

    Attributes
    ----------
    method : str
        ``"probabilities"`` (from the exact probabilities of all outcomes),
        ``"conditional"`` (blocks of qubits from marginals conditioned on the
        bits drawn so far) or ``"mps"`` (perfect sampling from an MPS).
    flops : float
        Scalar multiply-adds in all (``inf``: beyond floats).
    memory : float
        Bytes of its largest working array.
    fits : bool
        Whether ``memory`` is within ``max_memory``.
    note : str
        What the numbers count, or why it does not fit.
    steps, writes : float
        Array operations, and elements written by memory-bound ones (as in
        :class:`Estimate`).
    partial : bool
        The estimate stopped early, past a limit: ``flops`` is a lower bound.
    advice : str
        For a way of another strategy, how to compile for it (``""``: this
        Program's own).
    """

    method: str
    flops: float
    memory: float
    fits: bool
    note: str = ""
    steps: float = 0
    writes: float = 0.0
    partial: bool = False
    advice: str = ""

    @property
    def cost(self) -> float:
        """FLOPs, writes and steps in multiply-adds, as :attr:`Estimate.cost`."""
        return self.flops + WRITE_COST * self.writes + STEP_COST * self.steps

    @property
    def seconds(self) -> float:
        """The estimated duration at :data:`FLOPS_PER_SECOND`."""
        return self.cost / FLOPS_PER_SECOND

    @property
    def usable(self) -> bool:
        """Whether this Program can draw this way (its own way, and it fits)."""
        return self.fits and not self.advice

    def describe(self) -> str:
        what = SAMPLE_METHODS.get(self.method, self.method)
        if not self.fits or (self.partial and not self.flops):
            return f"{what}: {self.note}"
        bound = "at least " if self.partial else "about "
        note = f" ({self.note})" if self.note else ""
        return (f"{what}: {bound}{self.flops:.2g} FLOPs, {bound}{duration(self.seconds)}"
                f"{note}")


def probabilities_cost(setup: Setup, shots: int, flops: float | None = None,
                       steps: float | None = None) -> SampleCost:
    """Sampling from the probabilities of all ``2**n`` outcomes: the state
    (``flops`` and ``steps`` when known, else a gate-by-gate count), its
    probabilities, their running sum and one search per shot."""
    n, ops = setup.num_qubits, setup.ops
    if flops is None:
        flops = sum(pow2(n) if op.gate.diagonal else pow2(n + len(op.qubits)) for op in ops)
        steps = len(ops) + n
    memory = 4 * pow2(n) * setup.itemsize  # the state, probabilities, their sum, a copy
    fits = memory <= setup.max_memory
    note = (f"the state's {pow2(n):.3g} probabilities need {format_bytes(memory)}"
            + ("" if fits else f", over max_memory={format_bytes(setup.max_memory)}"))
    return SampleCost("probabilities", flops + shots * n, memory, fits, note,
                      steps=(steps or 0) + 4, writes=3 * pow2(n))


class Strategy(ABC):
    """One way of evaluating a compiled circuit.

    Subclasses set :attr:`name`, :attr:`outputs` and :attr:`transforms`,
    implement :meth:`estimate`, :meth:`prepare`, :meth:`expectation` and
    the outputs they list, and are registered in :mod:`tnq.strategies`.
    """

    name: ClassVar[str]
    outputs: ClassVar[frozenset[str]]
    """The Program outputs this strategy computes (see :data:`OUTPUTS`)."""
    transforms: ClassVar[frozenset[str]]
    """The function transformations it can run under (see :data:`TRANSFORMS`)."""

    def __init__(self, setup: Setup):
        self.setup = setup

    @classmethod
    def unavailable(cls, setup: Setup) -> str | None:
        """Why ``auto`` must not consider this strategy for ``setup`` (None: it may)."""
        return None

    @abstractmethod
    def estimate(self) -> Estimate:
        """The cost of the expectation values, from structure alone (cheap)."""

    def refine(self) -> Estimate:
        """The cost from planned paths (plans are made here, once)."""
        self.prepare()
        return self.estimate()

    @abstractmethod
    def prepare(self) -> None:
        """Make the plans an expectation value needs (idempotent, thread-safe)."""

    @abstractmethod
    def plans(self) -> tuple[Plan, ...]:
        """The contraction plans made so far."""

    @abstractmethod
    def explain(self) -> list[str]:
        """Lines for :meth:`tnq.Program.explain` about this strategy."""

    @abstractmethod
    def batch_limit(self) -> int:
        """How many parameter vectors one batched call may take within ``max_memory``."""

    @abstractmethod
    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        """The real expectation value(s) and the call's facts (see :class:`Result`)."""

    # Outputs a strategy may leave out; the Program checks :attr:`outputs` first.
    def state(self, values: Values):
        raise self._unsupported("state")

    def amplitude(self, values: Values, onehot: np.ndarray):
        raise self._unsupported("amplitude")

    def probabilities(self, values: Values, qubits: Sequence[int] | None):
        raise self._unsupported("probabilities")

    def sample(self, values: Values, shots: int, rng: np.random.Generator) -> np.ndarray:
        raise self._unsupported("sample")

    def simulate(self, values: Values):
        raise self._unsupported("simulate")

    def sample_cost(self, shots: int, limit: float = math.inf, *, plan: bool = True,
                    method: str | None = None) -> tuple[SampleCost, ...]:
        """The ways this strategy can draw ``shots`` samples, with their estimated
        costs, before anything runs (:meth:`tnq.Program.sample` takes the cheapest
        that fits). An estimate may stop once it is past ``limit`` FLOPs or
        another way's cost, and with ``plan=False`` it searches no paths (then
        it is ``partial``). ``method``: only that way (none if the strategy has
        no such way), estimated in full. Default: from the state's probabilities."""
        if method not in (None, "probabilities"):
            return ()
        return (probabilities_cost(self.setup, shots),)

    def sample_with(self, cost: SampleCost, values: Values, shots: int,
                    rng: np.random.Generator) -> np.ndarray:
        """``shots`` samples drawn the way ``cost`` (one of :meth:`sample_cost`'s)
        says. Default: :meth:`sample`."""
        return self.sample(values, shots, rng)

    @classmethod
    def sample_alternative(cls, setup: Setup, shots: int) -> SampleCost | None:
        """The cost of ``shots`` samples of a Program compiled for this strategy
        instead, with ``advice`` saying how to compile it; None when there is
        nothing to suggest (named in refusals, so it must be cheap: no paths)."""
        return None

    def _unsupported(self, output: str) -> UnsupportedError:  # pragma: no cover - guarded
        return UnsupportedError(f"strategy {self.name!r} does not compute {output}")


class TermOperators:
    """The grouped terms' operators on each backend a Program is called with:
    ``(k, 2, 2)`` factors of long Pauli strings as they are, dense matrices
    transposed (so ``sum(rho * op)`` is ``Tr(rho O)``); and the observables'
    values from the rows' values (:meth:`combine`)."""

    def __init__(self, terms: TermGroups, dtype: str):
        self.terms, self.dtype = terms, dtype
        self._memo = Memo(8, travel=False)

    def on(self, like) -> list:
        def make():
            return [to_backend(np.ascontiguousarray(o if o.ndim == 3 else o.T)
                               .astype(self.dtype), like) for o in self.terms.operators]

        return self._memo.get(device_key(like), make)

    def combine(self, values: Sequence):
        """``(..., K)`` real values of the observables from the rows' (complex)
        values, each ``(...)``, on their backend."""
        return combine(self.terms, values, self._memo)


def combine(terms: TermGroups, values: Sequence, memo: Memo | None = None):
    """``(..., K)`` real values of ``terms``' observables from the values of its
    rows (each ``(...)``; a plain sum when :attr:`TermGroups.summed`)."""
    if not values:
        return terms.constant
    like = values[0]
    if terms.summed:
        total = do("real", sum(values[1:], values[0]))
        return total[..., None] + float(terms.constant[0])
    real = do("real", do("stack", list(values), axis=-1))

    def make():
        dtype = get_dtype_name(real)
        return (to_backend(np.ascontiguousarray(terms.weights.T, dtype=dtype), real),
                to_backend(terms.constant.astype(dtype), real))

    w, c = make() if memo is None else memo.get(("weights", device_key(like)), make)
    return do("matmul", real, w) + c


def anchored(value, values: Values):
    """``value`` (``(..., K)``) made a function of every number of the call: it
    then has the call's batch shape and backend, and autodiff gives zeros (not
    no gradient) for parameters it does not depend on."""
    if isinstance(value, (np.ndarray, float)):  # only constants: not yet on the backend
        value = to_backend(np.asarray(value, dtype=get_dtype_name(values.vals)), values.vals)
    return value + 0.0 * do("sum", values.vals, axis=-1)[..., None]


def plan_writes(plan: Plan) -> float:
    """Elements written by the intermediates (and output) of ``plan``'s
    contraction, summed over its slices: the memory traffic of one call."""
    network = plan.network
    if network.num_tensors < 2:
        return 0.0
    tree = ctg.ContractionTree.from_path(network.inputs, network.output,
                                         network.size_dict(plan.batch), path=plan.path)
    return float(tree.total_write()) * plan.slices
