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

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from autoray import do, get_dtype_name

from ..circuit import Op
from ..compile import TermGroups
from ..contract import Evaluator, Values, device_key, to_backend
from ..errors import UnsupportedError
from ..memo import Memo
from ..observables import Observable
from ..plan import PathCache, Plan

__all__ = ["Estimate", "Result", "Setup", "Strategy", "TermOperators", "OUTPUTS", "TRANSFORMS",
           "MAX_BATCH", "combine", "anchored"]

MAX_BATCH = 4096
"""The most parameter vectors one batched contraction takes."""

OUTPUTS = ("expectation", "state", "amplitude", "probabilities", "sample", "simulate")
"""Every output a Program has; a strategy names those it supports."""
TRANSFORMS = frozenset({"jax.jit", "jax.vmap", "jax.grad", "torch.func.vmap",
                        "torch.func.grad"})
"""Function transformations a strategy may support (torch autograd always works)."""


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

    @property
    def itemsize(self) -> int:
        return np.dtype(self.dtype).itemsize

    @property
    def plan_options(self) -> dict:
        """Keyword arguments of :func:`~tnq.plan.make_plan` from the options."""
        return dict(optimize=self.optimize, max_memory=self.max_memory,
                    itemsize=self.itemsize, cache=self.cache)


@dataclass(frozen=True)
class Estimate:
    """A strategy's cost for all expectation values of a Program.

    Attributes
    ----------
    flops : float
        Scalar multiply-adds of one unbatched call.
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

    def describe(self) -> str:
        how = "planned" if self.planned else "estimated"
        note = f" ({self.note})" if self.note else ""
        return f"{self.flops:.3g} FLOPs {how}{note}"


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
