"""DistributedProgram: a compiled Program run on a Dask cluster.

The Program stays what it is (immutable, picklable, no client inside); the
DistributedProgram holds the client and a future of the Program, scattered
to every worker once and taken by reference by every task. A call sends only
numbers: the chunks of its parameter/data batch (or the range of shifted
circuits a task evaluates) go out, values and gradients come back.
"""

from __future__ import annotations

import math
import pickle
import threading
import time
from collections.abc import Mapping

import numpy as np

from ..checks import show
from ..contract import to_numpy
from ..errors import CompileError, ParameterError, TnqError
from ..gradients.executors import Executor
from ..gradients.shift import Gradient, shift_table
from ..plan import format_bytes
from ..program import Program
from . import tasks
from .chunks import SHOT_ROWS, Split, describe, split
from .cluster import Cluster
from .parts import term_parts

__all__ = ["DistributedProgram", "distribute", "LOCAL_SECONDS"]

LOCAL_SECONDS = 0.05
"""A call estimated to take less than this many seconds on one process runs
locally (the default of ``local_below``). Going through a cluster costs a
few tens of milliseconds per call (submitting, scheduling, gathering: 20 to
50 ms measured for a tiny call on a LocalCluster of 2 processes on a busy
2-core machine, ``benchmarks/w9_scale.py``), so only longer calls gain.
The estimate is the call's rows times the time per row measured once, on
the first batched call, by a local call of a few rows."""
PROBE_ROWS = 16
"""Rows of the local call that measures the time per row."""


def distribute(program: Program, client, *, chunk_size: int | None = None,
               terms: int = 1, local_below: float = LOCAL_SECONDS,
               timeout: float | None = None) -> DistributedProgram:
    """``program`` run on a Dask cluster: see :class:`DistributedProgram`.

    Examples
    --------
    >>> import tnq
    >>> program = tnq.compile(tnq.Circuit(1).h(0), "X0")
    >>> tnq.distribute(program, object())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tnq.errors.ParameterError: client must be a dask.distributed.Client or ..., got object
    """
    return DistributedProgram(program, client, chunk_size=chunk_size, terms=terms,
                              local_below=local_below, timeout=timeout)


class DistributedProgram:
    """A :class:`~tnq.Program` whose batched calls and parameter-shift
    gradients run on a Dask cluster.

    Calls take what the Program takes and return what it returns, equal to
    the local call up to rounding (about 1e-15) whatever the number of
    workers. A batch (parameters ``(B, P)`` and/or inputs ``(B, D)``) is cut
    into chunks of rows (see :mod:`tnq.distributed.chunks`), one task each.
    With ``terms=K``, the observable's terms are cut into ``K`` parts (see
    :mod:`tnq.distributed.parts`), each a task of every call (of every chunk
    of a batch), values and gradients summed. Calls estimated under
    ``local_below`` seconds run locally, and so do unbatched calls without
    term parts. torch tensors that require grad and jax arrays (outside
    ``jax.jit``) are differentiable: the backward pass runs per chunk on the
    workers too. Every other attribute (``explain`` aside) is the Program's.

    Parameters
    ----------
    program : Program
        Compiled with an observable; pickled and sent to every worker once.
    client : dask.distributed.Client or str
        A client, or the address of a scheduler to connect to.
    chunk_size : int, optional
        Rows per task (default: from the Program's ``batch_limit``, the
        workers' memory and their number of threads).
    terms : int
        Parts the terms of a many-term observable are cut into, one task each
        (default 1: not cut). Each part is compiled here, with the Program's
        strategy and options, and sent once. Calls then always go to the
        cluster.
    local_below : float
        Seconds under which a call runs locally (:data:`LOCAL_SECONDS`; 0:
        every batched call goes to the cluster).
    timeout : float, optional
        Seconds a call may wait for its tasks before raising
        :class:`~tnq.distributed.DistributedError` (default: no limit).
    """

    def __init__(self, program: Program, client, *, chunk_size: int | None = None,
                 terms: int = 1, local_below: float = LOCAL_SECONDS,
                 timeout: float | None = None):
        if not isinstance(program, Program) or program.observable is None:
            raise CompileError(f"tnq.distribute needs a Program compiled with an observable, "
                               f"got {show(program)}")
        if chunk_size is not None:
            split(1, batch_limit=1, threads=1, chunk_size=chunk_size)  # checks it
        if isinstance(local_below, bool) or not isinstance(local_below, (int, float)) \
                or not local_below >= 0:
            raise ParameterError(f"local_below must be a number of seconds >= 0, got "
                                 f"{show(local_below)}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, (int, float)) or not timeout > 0):
            raise ParameterError(f"timeout must be a positive number of seconds or None, "
                                 f"got {show(timeout)}")
        self._parts = term_parts(program, terms)
        self._cluster = Cluster(client)
        self._program = program
        self._chunk_size, self._local_below, self._timeout = chunk_size, local_below, timeout
        self._lock = threading.Lock()
        self._row_seconds: float | None = None
        self._future = self._cluster.scatter(program, "the Program")
        self._part_futures = [self._future] if len(self._parts) == 1 else \
            [self._cluster.scatter(q, f"term part {k} of the Program")
             for k, q in enumerate(self._parts)]

    # ------------------------------------------------------------ what it is
    @property
    def program(self) -> Program:
        """The compiled Program (local; picklable)."""
        return self._program

    @property
    def parts(self) -> tuple[Program, ...]:
        """The term parts (see ``terms``): ``(program,)`` when not cut."""
        return self._parts

    @property
    def client(self):
        """The ``dask.distributed.Client`` the calls go to."""
        return self._cluster.client

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._program, name)

    def __reduce__(self):
        raise TnqError("a DistributedProgram holds a Dask client and does not pickle; "
                       "pickle its .program and call tnq.distribute again")

    def __repr__(self) -> str:
        return f"DistributedProgram({self._program!r}, workers={len(self._workers())})"

    def _workers(self) -> dict:
        return self._cluster.client.scheduler_info()["workers"]

    def _remote(self, parts: bool = True) -> list:
        """The futures of the term parts (or of the whole Program); any that the
        cluster lost every copy of is scattered again."""
        with self._lock:
            if not self._cluster.alive(self._future):
                self._future = self._cluster.scatter(self._program, "the Program")
            if len(self._parts) == 1:
                self._part_futures = [self._future]
            for k, f in enumerate(self._part_futures):
                if not self._cluster.alive(f):
                    self._part_futures[k] = self._cluster.scatter(self._parts[k], "a term part")
            return list(self._part_futures) if parts else [self._future]

    # ------------------------------------------------------------ values
    def __call__(self, params=None, inputs=None):
        """The expectation values of a call, as ``program(params, inputs)``."""
        return self.expectation(params, inputs)

    def expectation(self, params=None, inputs=None):
        """The expectation values of a call, as ``program(params, inputs)``; a batch
        runs on the cluster (see the class docstring)."""
        kind = _backend(params, inputs)
        if kind == "numpy":
            p, x, rows = self._numbers(params, inputs)
        else:  # torch or jax arrays (maybe traced): only their shapes are read here
            p, x = self._program.pack(params), self._program.pack(inputs, "inputs")
            rows = _rows(p, x)
        if len(self._parts) == 1 and (rows is None or self._runs_locally(rows, p, x)):
            return self._program(params, inputs)
        if kind == "torch":
            from .autodiff import torch_call

            return torch_call(self, params, inputs)
        if kind == "jax":
            from .autodiff import jax_call

            return jax_call(self, params, inputs)
        return self._values(p, x, rows)

    def _values(self, p, x, rows: int | None) -> np.ndarray:
        s = self._split(rows or 1)
        out = self._run(tasks.values, [(take(p, a, b), take(x, a, b)) for a, b in s.ranges()],
                        s, "values")
        return _add([np.concatenate(c) if rows is not None else c[0] for c in out])

    def _forward(self, p, x, rows: int | None, wrt: tuple[bool, bool]):
        """Values of a call whose backward pass will follow: each task keeps its
        torch graph on its worker (:class:`~tnq.distributed.tasks.Held`), held
        there while the returned handle lives."""
        s = self._split(rows or 1)
        handle: list = []
        out = self._run(tasks.forward, [(take(p, a, b), take(x, a, b), wrt)
                                        for a, b in s.ranges()], s, "values", keep=handle)
        values = _add([np.concatenate([h.values for h in c]) if rows is not None
                       else c[0].values for c in out])
        return values, (s, handle)

    def _backward(self, handle, p, x, rows: int | None, cotangent,
                  wrt: tuple[bool, bool]):
        """The vector-Jacobian products of a :meth:`_forward` call, per chunk on
        the workers that hold its graphs."""
        s, held = handle
        cot = np.asarray(to_numpy(cotangent), dtype=float)
        chunks = s.ranges()
        calls = [(held[k * len(chunks) + i], take(p, a, b), take(x, a, b),
                  cot[a:b] if rows is not None else cot, wrt)
                 for k in range(len(held) // len(chunks)) for i, (a, b) in enumerate(chunks)]
        futures = self._remote()
        out = self._cluster.run(tasks.backward, [(futures[j // len(chunks)],) + c
                                                 for j, c in enumerate(calls)],
                                rows=[b - a for a, b in chunks] * len(futures),
                                what="gradients", show=self._program.progress,
                                seconds=0.0, timeout=self._timeout,
                                near=[c[0] for c in calls])
        per = [out[k * len(chunks):(k + 1) * len(chunks)] for k in range(len(futures))]
        return (_add([_join(p, [g for g, _ in c]) for c in per]),
                _add([_join(x, [g for _, g in c]) for c in per]))

    def vjp(self, params, inputs, cotangent, *, wrt: tuple[bool, bool] = (True, False)):
        """Values and vector-Jacobian products of a batched call, per chunk on the
        workers (torch autograd there).

        Returns ``(values, grad_params, grad_inputs)``: ``cotangent`` (shape of
        the values) times the Jacobian with respect to the parameters (a
        shared ``(P,)`` vector gets the sum over rows) and to the inputs, each
        None unless asked for in ``wrt``.
        """
        p, x, rows = self._numbers(params, inputs)
        cot = np.asarray(to_numpy(cotangent), dtype=float)
        s = self._split(rows or 1)
        batched = rows is not None
        out = self._run(tasks.vjp, [(take(p, a, b), take(x, a, b),
                                     cot[a:b] if batched else cot, tuple(wrt))
                                    for a, b in s.ranges()], s, "gradients")
        values = _add([np.concatenate([v for v, _, _ in c]) if batched else c[0][0]
                       for c in out])
        return (values, _add([_join(p, [g for _, g, _ in c]) for c in out]),
                _add([_join(x, [g for _, _, g in c]) for c in out]))

    # ------------------------------------------------------------ param shift
    def param_shift(self, params, inputs=None, *, shots: int | None = None,
                    executor: Executor | None = None, seed: int | None = None) -> Gradient:
        """:func:`tnq.param_shift` with the shifted circuits evaluated on the cluster.

        Exact (``shots=None``): the shift table's rows in chunks, values equal
        to the serial run to rounding. With shots: tasks of
        :data:`~tnq.distributed.chunks.SHOT_ROWS` shifted circuits, each run by
        ``executor`` (pickled to the workers; default a
        :class:`~tnq.TnqExecutor`) with its own seed split from ``seed``
        (``numpy.random.SeedSequence(seed).spawn``), so the estimates are the
        same whatever the number of workers, and equal to the local run (and
        to :func:`tnq.param_shift`'s when there is only one task).
        """
        from ..gradients import param_shift

        program = self._program
        p = _one_vector(program.pack(params), program.num_params, "params")
        x = _one_vector(program.pack(inputs, "inputs"), program.num_inputs, "inputs")
        table = program.derived("shift-table", lambda: shift_table(program))
        rows = table.num_rows
        if shots is None:
            if executor is not None:
                raise ParameterError("an executor needs shots; pass shots=... or no executor")
            if len(self._parts) == 1 and self._runs_locally(rows, None, None, p, x):
                return param_shift(program, p, x)
            s = self._split(rows)
            values = _add([np.concatenate(c) for c in self._run(
                tasks.shifted_values, [(p, x, a, b) for a, b in s.ranges()], s,
                "shifted circuits")])
            variances, executions = np.zeros_like(values), rows
        else:
            values, variances, executions = self._shots(p, x, rows, shots, executor, seed)
        grad = (table.weights @ values.reshape(rows, -1)).T
        grad_err = np.sqrt(table.weights**2 @ variances.reshape(rows, -1)).T
        if not program.value_shape:
            return Gradient(float(values[0]), grad[0], float(np.sqrt(variances[0])),
                            grad_err[0], executions, shots)
        return Gradient(values[0], grad, np.sqrt(variances[0]), grad_err, executions, shots)

    def _shots(self, p, x, rows: int, shots, executor, seed):
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
            raise ParameterError(f"shots must be a positive integer, got {shots!r}")
        if executor is not None:
            if not callable(getattr(executor, "run", None)):
                raise ParameterError(f"executor must have a run(circuits, shots, seed) method, "
                                     f"got {show(executor)}")
            try:
                pickle.dumps(executor)
            except Exception as exc:  # noqa: BLE001 - any pickling failure is reported
                raise ParameterError(f"the executor {type(executor).__name__} cannot be sent "
                                     f"to the workers: it does not pickle "
                                     f"({type(exc).__name__}: {exc}); use one that pickles, "
                                     "or call tnq.param_shift locally") from None
        s = Split(rows, SHOT_ROWS, math.ceil(rows / SHOT_ROWS), "shots (fixed)")
        seeds = _seeds(seed, s.tasks)
        calls = [(p, x, a, b, int(shots), executor, sd) for (a, b), sd in zip(s.ranges(), seeds)]
        if self._runs_locally(rows, None, None, p, x):
            parts = [tasks.shifted_estimates(self._program, *c) for c in calls]
        else:
            parts = self._run(tasks.shifted_estimates, calls, s, "shifted circuits (shots)",
                              whole=True)[0]
        return (np.concatenate([e for e, _, _ in parts]),
                np.concatenate([v for _, v, _ in parts]), sum(n for _, _, n in parts))

    # ------------------------------------------------------------ how it is split
    def split(self, params=None, inputs=None) -> Split:
        """How a call with these arguments would be cut into tasks."""
        _, _, rows = self._numbers(params, inputs)
        return self._split(rows or 1)

    def explain(self, params=None, inputs=None) -> str:
        """The Program's report, then the cluster and how a call with these
        arguments would be split: rows, tasks, bytes shipped each way."""
        workers = self._workers()
        memory = self._cluster.worker_memory()
        lines = [self._program.explain(),
                 f"cluster: {len(workers)} workers, {self._cluster.threads()} threads, "
                 f"worker memory {format_bytes(memory) if memory else 'unlimited'}; Program "
                 f"sent once ({format_bytes(len(pickle.dumps(self._program)))} pickled)"]
        p, x, rows = self._numbers(params, inputs)
        k = len(self._parts)
        if k > 1:
            sizes = ", ".join(str(len(q.observables[0].terms)) for q in self._parts)
            lines.append(f"terms: {len(self._program.observables[0].terms)} in {k} parts "
                         f"({sizes} terms), each a task of every chunk; always on the cluster")
        if rows is None:
            lines.append("call: one row, " + (f"{k} tasks" if k > 1 else "runs locally"))
        else:
            s = self._split(rows)
            out = sum(_nbytes(take(p, a, b)) + _nbytes(take(x, a, b)) for a, b in s.ranges())
            out *= k  # every chunk goes to every term part
            back = k * rows * 8 * max(1, math.prod(self._program.value_shape))
            where = "locally (under local_below)" if k == 1 and self._runs_locally(
                rows, p, x, probe=False) else "on the cluster"
            lines.append(f"call: {describe(s, out, back)}; runs {where}")
        table = self._program.derived("shift-table", lambda: shift_table(self._program))
        st = self._split(table.num_rows)
        lines.append(f"param_shift: {table.num_rows} shifted circuits in {st.tasks} tasks "
                     f"(exact), {math.ceil(table.num_rows / SHOT_ROWS)} tasks with shots")
        return "\n".join(lines)

    # ------------------------------------------------------------ helpers
    def _numbers(self, params, inputs):
        """Params and inputs as numpy (packed if mappings), and the batch size."""
        program = self._program
        p = None if params is None else _numpy(program.pack(params), "params")
        x = None if inputs is None else _numpy(program.pack(inputs, "inputs"), "inputs")
        return p, x, _rows(p, x)

    def _split(self, rows: int) -> Split:
        program = self._program
        return split(rows, batch_limit=program.batch_limit(), threads=self._cluster.threads(),
                     max_memory=program.max_memory, worker_memory=self._cluster.worker_memory(),
                     chunk_size=self._chunk_size)

    def _runs_locally(self, rows: int, p, x, p1=None, x1=None, *, probe: bool = True) -> bool:
        """Whether a call of ``rows`` rows is estimated under ``local_below``."""
        if self._local_below == 0:
            return False
        if self._row_seconds is None:
            if not probe:
                return False
            self._row_seconds = self._probe(p, x, p1, x1)
        return rows * self._row_seconds < self._local_below

    def _probe(self, p, x, p1, x1) -> float:
        """Seconds per row of a local batched call (the second of two)."""
        n = PROBE_ROWS
        if p is None and x is None:  # parameter shift: rows of one vector
            p = None if p1 is None else np.broadcast_to(p1, (n,) + p1.shape)
            x = x1
        else:  # the shapes of the call's first rows (the values do not matter)
            p, x = (None if a is None else np.zeros(tuple(take(a, 0, n).shape))
                    for a in (p, x))
        self._program(p, x)
        t0 = time.perf_counter()
        self._program(p, x)
        got = max(len(a) for a in (p, x) if a is not None and a.ndim == 2) \
            if any(a is not None and a.ndim == 2 for a in (p, x)) else 1
        return (time.perf_counter() - t0) / got

    def _run(self, fn, calls: list[tuple], s: Split, what: str, *,
             whole: bool = False, keep: list | None = None) -> list[list]:
        """``fn`` on every chunk's ``calls`` for every term part (or the whole
        Program): the results as ``[part][chunk]``."""
        seconds = 0.0 if self._row_seconds is None else \
            s.rows * self._row_seconds / self._cluster.threads()
        futures = self._remote(parts=not whole)
        out = self._cluster.run(fn, [(f,) + c for f in futures for c in calls],
                                rows=[b - a for a, b in s.ranges()] * len(futures), what=what,
                                show=self._program.progress, seconds=seconds,
                                timeout=self._timeout, keep=keep)
        return [out[k * len(calls):(k + 1) * len(calls)] for k in range(len(futures))]


def _rows(p, x) -> int | None:
    """The batch size of a call (None: unbatched), from the arrays' shapes."""
    sizes = [tuple(a.shape) for a in (p, x) if a is not None and len(a.shape) == 2]
    if len({s[0] for s in sizes}) > 1:
        raise ParameterError(f"params and inputs are batches of different sizes "
                             f"{sizes[0][0]} and {sizes[1][0]}; expected one batch size")
    return sizes[0][0] if sizes else None


def take(a, start: int, stop: int):
    """Rows ``start:stop`` of a batched array; a shared one (or None) as it is."""
    return a if a is None or a.ndim < 2 else a[start:stop]


def _add(arrays: list):
    """The sum of the term parts' arrays, in part order (None stays None)."""
    total = arrays[0]
    if total is None:
        return None
    for a in arrays[1:]:
        total = total + a
    return total


def _join(given, parts: list):
    """Per-chunk gradients of ``given``: summed when it is shared by the rows,
    else concatenated; None when not asked for."""
    if given is None or parts[0] is None:
        return None
    return np.sum(parts, axis=0) if given.ndim < 2 else np.concatenate(parts)


def _nbytes(a) -> int:
    return 0 if a is None else int(a.nbytes)


def _numpy(a, name: str) -> np.ndarray:
    if isinstance(a, Mapping):
        raise ParameterError(f"{name}: a mapping must name the circuit's vectors")
    try:
        arr = np.asarray(to_numpy(a), dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be an array of real numbers, got {show(a)} "
                             f"({exc})") from None
    if arr.ndim > 2:
        raise ParameterError(f"{name} must be one vector or a (batch, size) array, got shape "
                             f"{arr.shape}")
    return arr


def _backend(params, inputs) -> str:
    for a in (params, inputs):
        module = type(a).__module__.split(".")[0]
        if module == "torch":
            return "torch"
        if module in ("jax", "jaxlib"):
            return "jax"
    return "numpy"


def _one_vector(x, n: int, name: str):
    if x is None:
        return None
    arr = _numpy(x, name)
    if arr.shape != (n,):
        raise ParameterError(f"param_shift takes one {name} vector of shape ({n},), got shape "
                             f"{arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ParameterError(f"{name}[{bad[0]}] is {arr[bad[0]]}; expected finite values")
    return arr


def _seeds(seed, tasks_: int) -> list:
    """One seed per task: ``seed`` itself for a single task, else integers split
    from it by ``SeedSequence.spawn`` (fresh entropy when ``seed`` is None)."""
    if tasks_ == 1:
        return [seed]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ParameterError(f"seed must be a non-negative integer or None, got {show(seed)}")
    children = np.random.SeedSequence(seed).spawn(tasks_)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
