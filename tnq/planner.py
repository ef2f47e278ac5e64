"""The planner: which strategy a Program uses, and why.

A requested strategy is built and prepared as asked. For ``"auto"``, every
registered strategy that may be considered (:meth:`Strategy.unavailable`)
is built from the structure and gives an :class:`~tnq.strategies.Estimate`;
those over ``max_memory`` drop out. Then, best first: while the cheapest
candidate's estimate is only a rough count, it is refined by planning its
contractions (a candidate whose plans do not fit drops out), until the
cheapest candidate's cost comes from its own plans. That one is chosen, and
the reason lists every strategy's numbers. Costs are compared as
:attr:`Estimate.cost` (FLOPs plus a fixed cost per array operation), so a
strategy known exactly from the structure (``statevector``) is never beaten
by a rough estimate without that one being planned first. Nothing here knows
a strategy by name except the defaults for circuits without an observable.
"""

from __future__ import annotations

import math

from .errors import MemoryLimitError
from .plan import format_bytes
from .strategies import REGISTRY, Estimate, Setup, Strategy

__all__ = ["choose", "NO_OBSERVABLE"]

NO_OBSERVABLE = ("statevector", "state")
"""The strategies of a Program without an observable under ``"auto"``, in order
of preference: the first that may be considered and fits is taken."""


def choose(setup: Setup, requested: str) -> tuple[Strategy, str]:
    """The strategy for ``setup`` (prepared: its expectation plans made) and why."""
    if requested != "auto":
        strategy = REGISTRY[requested](setup)
        strategy.prepare()
        return strategy, "requested"
    if not setup.observables:
        return _no_observable(setup)
    notes: list[str] = []
    candidates: list[tuple[Estimate, Strategy]] = []
    error: MemoryLimitError | None = None
    for name, cls in REGISTRY.items():
        why = cls.unavailable(setup)
        if why is not None:
            notes.append(f"{name}: not considered ({why})")
            continue
        try:
            strategy = cls(setup)
        except MemoryLimitError as err:
            notes.append(f"{name}: over max_memory")
            error = err
            continue
        est = strategy.estimate()
        if est.memory > setup.max_memory or math.isinf(est.cost):
            over = "over max_memory" if est.memory > setup.max_memory else "not suitable"
            notes.append(f"{name}: {est.note}, {over}")
            continue
        candidates.append((est, strategy))
    while candidates:
        candidates.sort(key=lambda c: c[0].cost)
        est, best = candidates[0]
        if est.planned:
            break
        try:
            candidates[0] = (best.refine(), best)
        except MemoryLimitError as err:
            notes.append(f"{best.name}: a contraction is over max_memory "
                         f"({format_bytes(setup.max_memory)})")
            error = err
            candidates.pop(0)
    else:
        if error is not None:
            raise error
        raise MemoryLimitError("no strategy fits max_memory=" + format_bytes(setup.max_memory)
                               + ": " + "; ".join(notes))
    best.prepare()
    others = [f"{s.name}: {e.describe()}" for e, s in candidates[1:]]
    return best, "; ".join([f"the cheapest: {est.describe()}"] + others + notes)


def _no_observable(setup: Setup) -> tuple[Strategy, str]:
    """The first strategy of :data:`NO_OBSERVABLE` that may be considered and fits."""
    notes = []
    for name in NO_OBSERVABLE[:-1]:
        why = REGISTRY[name].unavailable(setup)
        if why is None:
            try:
                return REGISTRY[name](setup), \
                    "no observable: outputs are amplitudes, states and samples"
            except MemoryLimitError:
                why = "over max_memory"
        notes.append(f"{name}: {why}")
    return REGISTRY[NO_OBSERVABLE[-1]](setup), \
        "; ".join(["no observable: outputs are amplitudes, states and samples"] + notes)
