"""How a distributed call is cut into tasks: pure arithmetic, no Dask.

A call's independent *rows* (the vectors of a parameter/data batch, the
shifted circuits of a parameter-shift gradient) are cut into contiguous
chunks, one task each. The chunk size is the smallest of

- the Program's :meth:`~tnq.Program.batch_limit` (what one batched
  contraction may take within ``max_memory``),
- that limit scaled to the smallest worker's memory (``batch_limit *
  worker_memory // max_memory``) when the workers have less memory than
  ``max_memory``,
- ``ceil(rows / (threads * TASKS_PER_THREAD))``, so that every worker thread
  gets work and a lost worker costs little to redo,

or the ``chunk_size`` the caller gives. The cut never changes a value beyond
rounding: every row is computed by the same plan whatever chunk it is in.

Examples
--------
>>> s = split(10_000, batch_limit=4096, threads=2)
>>> s.chunk, s.tasks, s.ranges()[:2]
(2500, 4, [(0, 2500), (2500, 5000)])
>>> split(10_000, batch_limit=4096, threads=2, chunk_size=3000).tasks
4
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import checks
from ..errors import MemoryLimitError, ParameterError
from ..plan import format_bytes

__all__ = ["Split", "split", "TASKS_PER_THREAD", "SHOT_ROWS"]

TASKS_PER_THREAD = 2
"""Tasks per worker thread a call is cut into (at least): enough to balance
uneven workers and to make a retried task cheap, few enough that the per-task
overhead (about a millisecond) stays small."""

SHOT_ROWS = 16
"""Shifted circuits per task of a parameter-shift gradient from shots. Fixed,
not taken from the cluster, so that the seeds of the tasks (one per chunk,
split from the call's seed) and hence the estimates do not depend on how many
workers there are."""


@dataclass(frozen=True)
class Split:
    """The cut of one call: ``rows`` in ``tasks`` chunks of ``chunk`` rows.

    Attributes
    ----------
    rows : int
        Independent rows of the call.
    chunk : int
        Rows per task (the last task may have fewer).
    tasks : int
    why : str
        Which bound set the chunk size.
    """

    rows: int
    chunk: int
    tasks: int
    why: str

    def ranges(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of each task's rows."""
        return [(a, min(a + self.chunk, self.rows)) for a in range(0, self.rows, self.chunk)]


def split(rows: int, *, batch_limit: int, threads: int, max_memory: int | None = None,
          worker_memory: int | None = None, chunk_size: int | None = None) -> Split:
    """Cut ``rows`` into chunks (see the module's docstring for the rule).

    Raises
    ------
    MemoryLimitError
        When the workers have less memory than one row needs (``max_memory /
        batch_limit`` bytes, the share of one row in the Program's budget,
        over 4: a plan's peak with the planner's headroom), before anything
        is sent.
    """
    if rows < 1:
        raise ParameterError(f"a distributed call needs at least one row, got {rows}")
    limit, why = max(1, int(batch_limit)), "batch_limit (max_memory)"
    if worker_memory and max_memory and worker_memory < max_memory:
        row_bytes = max_memory / limit / 4
        if row_bytes > worker_memory:
            raise MemoryLimitError(
                f"one row of this call needs about {format_bytes(int(row_bytes))}, more than "
                f"a worker's memory limit ({format_bytes(worker_memory)}); start workers "
                "with more memory, or compile with a smaller max_memory= so that slicing "
                "keeps each contraction within it")
        scaled = max(1, limit * worker_memory // max_memory)
        if scaled < limit:
            limit, why = scaled, f"worker memory ({format_bytes(worker_memory)})"
    if chunk_size is not None:
        chunk = _positive(chunk_size)
        return Split(rows, min(chunk, rows), math.ceil(rows / min(chunk, rows)),
                     "chunk_size given")
    spread = math.ceil(rows / (max(1, threads) * TASKS_PER_THREAD))
    if spread < limit:
        limit, why = spread, f"{TASKS_PER_THREAD} tasks per worker thread ({threads} threads)"
    return Split(rows, limit, math.ceil(rows / limit), why)


def _positive(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"chunk_size must be a positive integer (rows per task), "
                             f"got {checks.show(value)}")
    return int(value)


def describe(s: Split, bytes_out: int, bytes_back: int) -> str:
    """One line for ``explain``: rows, chunks, tasks, bytes each way."""
    return (f"{s.rows} rows in {s.tasks} tasks of up to {s.chunk} rows (chunk set by "
            f"{s.why}); ships {format_bytes(bytes_out)} of numbers out and "
            f"{format_bytes(bytes_back)} back; the Program is sent once, by reference")
