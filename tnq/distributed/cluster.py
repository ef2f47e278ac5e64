"""The Dask side: a client, the Program scattered to it once, tasks run and gathered.

Only this module talks to Dask, and it imports ``distributed`` only when a
client is given (``pip install "tnq[dask]"``). A call's tasks are submitted
together and gathered as they complete (with a progress bar for long calls).
Tasks are pure, so Dask may rerun one on another worker when its worker
dies; a task whose workers keep dying (Dask's ``allowed-failures``, most
often a worker running out of memory) is reported as a
:class:`~tnq.MemoryLimitError` naming the chunk size and how to shrink it.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Sequence
from typing import Any

from .. import progress
from ..errors import CompileError, MemoryLimitError, ParameterError, TnqError
from ..optional import require

__all__ = ["Cluster", "DistributedError"]

CONNECT_SECONDS = 30
"""Seconds to wait for a scheduler given by its address."""
POLL_SECONDS = 1.0
"""Longest wait between two looks at the states of a call's tasks."""
RETRIES = 1
"""Reruns of a task that raised an unexpected (non-tnq) exception on a worker.
Lost workers are handled by Dask's scheduler (``allowed-failures``), not here."""


class DistributedError(TnqError, RuntimeError):
    """A distributed call could not finish: it timed out, or the cluster lost
    what it needed."""


class Cluster:
    """A ``dask.distributed.Client`` (or a scheduler address to connect to) and
    what tnq asks of it: threads, worker memory, scatter, run tasks."""

    def __init__(self, client):
        distributed = require("distributed", "tnq.distributed")
        if isinstance(client, str):
            try:
                client = distributed.Client(client, timeout=CONNECT_SECONDS)
            except (OSError, ValueError, TimeoutError) as exc:
                raise DistributedError(f"could not connect to a Dask scheduler at {client!r} "
                                       f"within {CONNECT_SECONDS} s ({exc}); expected an "
                                       "address such as 'tcp://host:8786'") from None
        if not isinstance(client, distributed.Client):
            raise ParameterError(f"client must be a dask.distributed.Client or a scheduler "
                                 f"address such as 'tcp://host:8786', got "
                                 f"{type(client).__name__}")
        self.client = client
        self._distributed = distributed

    def threads(self) -> int:
        """Worker threads in the cluster now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def worker_memory(self) -> int | None:
        """The smallest worker memory limit in bytes (None: no limits set)."""
        limits = [w.get("memory_limit") or 0
                  for w in self.client.scheduler_info()["workers"].values()]
        limits = [m for m in limits if m > 0]
        return min(limits) if limits else None

    def scatter(self, obj: Any, what: str) -> Any:
        """``obj`` sent to every worker once; a future that tasks take by reference."""
        try:
            pickle.dumps(obj)
        except Exception as exc:  # noqa: BLE001 - any pickling failure is reported
            raise CompileError(f"{what} cannot be sent to the workers: it does not pickle "
                               f"({type(exc).__name__}: {exc})") from None
        return self.client.scatter(obj, broadcast=True, hash=False)

    def alive(self, future: Any) -> bool:
        return future.status == "finished"

    def run(self, fn: Callable, calls: Sequence[tuple], *, rows: Sequence[int], what: str,
            show: bool, seconds: float | None, timeout: float | None,
            keep: list | None = None, near: Sequence | None = None) -> list:
        """``fn(*args)`` for every ``args`` of ``calls`` on the cluster, results in
        order; ``rows[i]`` is the number of rows of task ``i`` (for messages).
        ``keep``: a list the tasks' futures are added to, so that their results
        stay on the workers for later tasks (while the caller holds them).
        ``near[i]``: a future whose worker task ``i`` should run on (any other
        worker when that one is gone)."""
        where = self._holders(near) if near is not None else [None] * len(calls)
        futures = [self.client.submit(fn, *args, pure=False, retries=RETRIES, workers=w,
                                      allow_other_workers=w is not None)
                   for args, w in zip(calls, where)]
        if keep is not None:
            keep.extend(futures)
        start = time.perf_counter()
        try:
            with progress.bar(len(futures), what, show=show, seconds=seconds,
                              unit="task") as bar:
                for future in self._completed(futures, start, timeout):
                    if future.status == "error":
                        self._raise(future, futures, rows, what)
                    bar.update(1)
            return self.client.gather(futures)
        except self._distributed.TimeoutError:
            raise DistributedError(
                f"{what}: {len(futures)} tasks did not finish within timeout={timeout} s "
                f"(waited {time.perf_counter() - start:.1f} s); the cluster may have too few "
                "workers left, or pass a larger timeout=") from None
        finally:
            for f in futures:
                if f.status == "pending":
                    f.cancel()

    def _completed(self, futures: list, start: float, timeout: float | None):
        """The futures as they finish (or fail), read from their states every
        :data:`POLL_SECONDS` at the latest, so that a completion notice Dask
        delivers late or not at all (``as_completed`` has been seen waiting
        forever on failed tasks) never stalls a call; Dask's TimeoutError after
        ``timeout`` seconds."""
        pending = list(futures)
        while pending:
            left = None if timeout is None else start + timeout - time.perf_counter()
            if left is not None and left <= 0:
                raise self._distributed.TimeoutError()
            wait = POLL_SECONDS if left is None else min(POLL_SECONDS, left)
            try:
                self._distributed.wait(pending, timeout=wait, return_when="FIRST_COMPLETED")
            except self._distributed.TimeoutError:
                pass
            done = [f for f in pending if f.status != "pending"]
            pending = [f for f in pending if f.status == "pending"]
            yield from done

    def _holders(self, near: Sequence) -> list:
        """For each future, the workers that hold its result (None: unknown)."""
        who = self.client.who_has(list(near))
        return [list(who.get(f.key, ())) or None for f in near]

    def _raise(self, future: Any, futures: list, rows: Sequence[int], what: str) -> None:
        exc = future.exception()
        if isinstance(exc, TnqError):
            raise exc
        if isinstance(exc, self._distributed.KilledWorker):
            n = rows[futures.index(future)]
            raise MemoryLimitError(
                f"{what}: a task of {n} rows was lost with every worker that ran it "
                f"(Dask's allowed-failures); a worker most likely ran out of memory. "
                f"Pass a smaller chunk_size= (e.g. {max(1, n // 4)}) to tnq.distribute or "
                "tnq.compile(client=...), compile with a smaller max_memory=, or start "
                "workers with more memory") from exc
        raise exc
