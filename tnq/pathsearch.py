"""Seeded contraction-path searches: one network, one path, in every process.

Every search tnq runs by name is deterministic. Small networks get
opt_einsum's exact or greedy searches, called with integer labels (text
labels would make ties depend on Python's per-process string hashing).
Large networks get :class:`RandomGreedy`: batches of cotengra's random-greedy
trials (its pure-Python backend, seeded from a local generator) whose best
path is refined by subtree reconfiguration. Nothing here touches Python's
global random generator, and no search stops on a clock: where cotengra's
presets stop after a time proportional to the best path's FLOPs, a
:class:`RandomGreedy` stops after a *modelled* time (:func:`trial_seconds`),
so how many trials run never depends on the machine or its load.

A cotengra optimizer object passed by the user runs as it is (seeding it is
the user's choice).

Examples
--------
>>> inputs = [(0, 1), (1, 2), (2, 3), (3, 0)]
>>> search(inputs, (), {i: 2 for i in range(4)}, "auto")
((0, 1), (0, 1), (0, 1))
>>> settings("auto", 200) == settings("auto", 200), settings(object(), 200)
(True, None)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import cotengra as ctg
import opt_einsum as oe

from .progress import bar

__all__ = ["SEED", "SMALL", "OPT_EINSUM", "RandomGreedy", "resolve", "settings", "search",
           "trial_seconds"]

SEED = 0
"""The seed of every named path search."""
SMALL = 48
"""Networks with at most this many tensors use opt_einsum's 'auto' under "auto"."""
OPT_EINSUM = {"optimal", "dp", "greedy", "branch-1", "branch-2", "branch-all",
              "random-greedy", "random-greedy-128", "auto-hq"}
"""The opt_einsum names ``optimize`` accepts (the random ones run seeded, below)."""
HQ_SMALL = 16
"""Under "auto-hq", opt_einsum's exact searches up to this many tensors."""

Path = tuple[tuple[int, ...], ...]


def trial_seconds(num_tensors: int) -> float:
    """The modelled time of one random-greedy trial on ``num_tensors`` tensors.

    Roughly what cotengra's Python greedy takes on circuit networks
    (0.1 s at 700 tensors on a laptop-class core). Searches budget their
    trials with this model, never with a clock, so that they are repeatable.
    """
    return 2e-7 * num_tensors**2


@dataclass(frozen=True)
class RandomGreedy:
    """A seeded random-greedy search with subtree reconfiguration.

    Trials run in batches of ``batch`` (cotengra's ``RandomGreedyOptimizer``,
    each batch seeded from ``seed``); each batch's best tree is reconfigured
    (optimal sub-paths over subtrees of ``reconf`` tensors) and the best tree
    over batches is kept. With a ``rate``, the search stops once the modelled
    search time exceeds the best tree's FLOPs divided by ``rate`` (a quick
    stop for cheap contractions, as in cotengra's presets); it always stops
    after ``trials`` trials. ``final_reconf`` reconfigures the winner once
    more over larger subtrees.

    Examples
    --------
    >>> inputs = [(i, i + 1) for i in range(60)]
    >>> quick = RandomGreedy(trials=8, rate=None, reconf=4)
    >>> quick.run(inputs, (0, 60), {i: 2 for i in range(61)}) == \\
    ...     quick.run(inputs, (0, 60), {i: 2 for i in range(61)})
    True
    """

    trials: int
    rate: float | None
    reconf: int
    final_reconf: int = 0
    minimize: str = "flops"
    """What picks the best tree and guides reconfiguration: "flops" or "size"."""
    costmod: tuple[float, float] = (0.1, 4.0)
    temperature: tuple[float, float] = (0.001, 1.0)
    batch: int = 8
    seed: int = SEED

    def run(self, inputs, output, sizes: dict, *, progress: bool = False) -> Path:
        """The best path found (a linear opt_einsum-style path)."""
        n = len(inputs)
        per_batch = self.batch * trial_seconds(n)
        batches = max(math.ceil(self.trials / self.batch), 1)
        seeds = random.Random(self.seed)  # a local generator: global state is left alone
        best: Any = None
        shown: Any = None
        try:
            for b in range(batches):
                tree = self._batch(seeds.randrange(2**32), inputs, output, sizes)
                if best is None or self._score(tree) < self._score(best):
                    best = tree
                planned = self._batches(best, per_batch, batches)
                total = planned + bool(self.final_reconf)
                if shown is None:
                    what = ", smaller peak" if self.minimize == "size" else ""
                    shown = bar(total, f"path search ({n} tensors{what})", show=progress,
                                seconds=self._seconds(planned, per_batch, n))
                shown.total = total  # fewer batches once a better tree is found
                shown.set_postfix_str(f"best {float(best.contraction_cost()):.3g} FLOPs")
                shown.update(1)
                if b + 1 >= planned:
                    break
            if self.final_reconf:
                shown.set_postfix_str(f"refining {float(best.contraction_cost()):.3g} FLOPs")
                best = best.subtree_reconfigure(subtree_size=self.final_reconf,
                                                maxiter=min(n, 128), minimize=self.minimize)
        finally:
            if shown is not None:
                shown.close()
        return tuple(tuple(step) for step in best.get_path())

    def _batch(self, seed: int, inputs, output, sizes: dict):
        """The best tree of one batch of trials, reconfigured."""
        tree = ctg.RandomGreedyOptimizer(
            max_repeats=self.batch, costmod=self.costmod, temperature=self.temperature,
            seed=seed, accel=False, parallel=False,
        ).search(inputs, output, sizes)
        if self.reconf:
            tree = tree.subtree_reconfigure(subtree_size=self.reconf, maxiter=min(len(inputs), 128),
                                            minimize=self.minimize)
        return tree

    def _score(self, tree) -> tuple[float, float]:
        flops, size = float(tree.contraction_cost()), float(tree.max_size())
        return (size, flops) if self.minimize == "size" else (flops, size)

    def _batches(self, best, per_batch: float, batches: int) -> int:
        """How many batches to run in all, given the best tree so far."""
        if self.rate is None:
            return batches
        budget = float(best.contraction_cost()) / self.rate
        return min(max(math.ceil(budget / per_batch), 1), batches)

    def _seconds(self, planned: int, per_batch: float, n: int) -> float:
        """The modelled duration of the whole search (decides whether a bar shows)."""
        return planned * per_batch + (0.002 * n if self.final_reconf else 0.0)


SEARCHES = {
    "auto": RandomGreedy(trials=128, rate=1e9, reconf=4),
    "cotengra": RandomGreedy(trials=256, rate=1e8, reconf=6, final_reconf=8),
    "min-size": RandomGreedy(trials=32, rate=None, reconf=4, minimize="size"),
    "random-greedy": RandomGreedy(trials=32, rate=None, reconf=0),
    "random-greedy-128": RandomGreedy(trials=128, rate=None, reconf=0),
}
"""The searches run for large networks, by the name given as ``optimize``
("min-size": the retry when a path's largest tensor is over ``max_memory``)."""


def resolve(optimize, num_tensors: int) -> Any:
    """What runs for ``optimize`` on ``num_tensors`` tensors: an opt_einsum
    function's name, a :class:`RandomGreedy`, or the user's optimizer object."""
    if not isinstance(optimize, str):
        return optimize
    if optimize == "auto" and num_tensors <= SMALL:
        return "auto"
    if optimize == "auto-hq":
        return "auto-hq" if num_tensors <= HQ_SMALL else SEARCHES["random-greedy-128"]
    return SEARCHES.get(optimize, optimize)


def settings(optimize, num_tensors: int) -> str | None:
    """Canonical text of the search run for ``optimize`` (seed included), for
    cache keys; None for a user's optimizer object, whose settings are unknown."""
    how = resolve(optimize, num_tensors)
    if isinstance(how, str):
        return f"opt_einsum:{how}"
    return repr(how) if isinstance(how, RandomGreedy) else None


def search(inputs, output, sizes: dict, optimize, *, progress: bool = False) -> Path:
    """A contraction path for the network ``inputs -> output`` (labels: ints)."""
    if len(inputs) == 1:
        return ((0,),)
    how = resolve(optimize, len(inputs))
    if isinstance(how, str):
        fn = oe.paths.get_path_fn(how)
        path = fn([frozenset(t) for t in inputs], frozenset(output), dict(sizes), None)
    elif isinstance(how, RandomGreedy):
        path = how.run(inputs, output, sizes, progress=progress)
    else:
        path = ctg.array_contract_tree(inputs, output, sizes, optimize=how).get_path()
    return tuple(tuple(int(i) for i in step) for step in path)
