"""What a worker runs: pure functions of a Program and a chunk of numbers.

Each takes the Program (scattered once; a worker holds it by reference) and
numpy arrays, and returns numpy arrays, so a task rerun on another worker
after a failure gives the same result. Nothing here imports Dask, and no task
searches a contraction path: the Program carries its plans.
"""

from __future__ import annotations

import os

import numpy as np

from ..contract import to_numpy
from ..gradients.executors import Executor, TnqExecutor
from ..gradients.shift import shift_rows, shift_table, shot_estimates
from ..optional import require
from ..program import Program

__all__ = ["values", "vjp", "Held", "forward", "backward", "shifted_values",
           "shifted_estimates"]


def values(program: Program, params, inputs) -> np.ndarray:
    """The Program's values for a chunk of rows."""
    return np.asarray(to_numpy(program(params, inputs)))


def vjp(program: Program, params, inputs, cotangent: np.ndarray,
        wrt: tuple[bool, bool]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Values of a chunk and the vector-Jacobian products ``cotangent . d values /
    d params`` (and ``/ d inputs``), by torch autograd on the worker.

    A parameter vector shared by the chunk's rows gets one ``(P,)`` product
    (the chunk's share of the sum over rows); batched ones one row each.
    """
    torch = require("torch", "gradients through a tnq.distributed call")
    real = getattr(torch, program.evaluator.real_dtype)

    def tensor(x, grad: bool):
        if x is None:
            return None
        return torch.as_tensor(np.asarray(x), dtype=real).requires_grad_(grad)

    p, x = tensor(params, wrt[0]), tensor(inputs, wrt[1])
    value = program(p, x)
    leaves = [t for t, w in zip((p, x), wrt) if w and t is not None]
    grads = torch.autograd.grad(value, leaves, grad_outputs=torch.as_tensor(
        cotangent, dtype=value.dtype), allow_unused=True) if leaves else ()
    found = iter(grads)
    out: list[np.ndarray | None] = []
    for t, w in zip((p, x), wrt):
        if not w or t is None:
            out.append(None)
            continue
        g = next(found)
        out.append(np.zeros(tuple(t.shape)) if g is None else g.numpy())
    return value.detach().numpy(), out[0], out[1]


class Held:
    """A chunk's values with torch's graph of them, kept on the worker that made
    them so that the backward pass (:func:`backward`) needs no second forward
    pass. It travels (to the client, to another worker, to disk when Dask
    spills) as its values alone: the graph stays behind, and :func:`backward`
    then recomputes it."""

    def __init__(self, values: np.ndarray, graph: tuple | None = None, nbytes: int = 0):
        self.values = values
        self.graph = graph
        self.nbytes = max(int(nbytes), values.nbytes)

    def __sizeof__(self) -> int:
        """What Dask's memory manager counts (it spills, and so drops the graph,
        when a worker fills up): the memory the forward pass took."""
        return self.nbytes if self.graph is not None else self.values.nbytes

    def __reduce__(self):
        return (Held, (self.values,))


def forward(program: Program, params, inputs, wrt: tuple[bool, bool]) -> Held:
    """A chunk's values, with their torch graph kept for :func:`backward`."""
    torch = require("torch", "gradients through a tnq.distributed call")
    real = getattr(torch, program.evaluator.real_dtype)
    p, x = (None if a is None else torch.as_tensor(np.asarray(a), dtype=real).requires_grad_(w)
            for a, w in zip((params, inputs), wrt))
    before = _resident()
    value = program(p, x)
    return Held(value.detach().numpy(), (value, p, x), _resident() - before)


def _resident() -> int:
    """This process's resident memory in bytes (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def backward(program: Program, held: Held, params, inputs, cotangent: np.ndarray,
             wrt: tuple[bool, bool]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The vector-Jacobian products of a chunk whose forward pass is ``held``
    (recomputed when its graph did not stay on this worker)."""
    if held.graph is None:
        _, gp, gx = vjp(program, params, inputs, cotangent, wrt)
        return gp, gx
    torch = require("torch", "gradients through a tnq.distributed call")
    value, p, x = held.graph
    held.graph = None  # one backward pass per forward pass, as in torch
    leaves = [t for t, w in zip((p, x), wrt) if w and t is not None]
    grads = iter(torch.autograd.grad(value, leaves, grad_outputs=torch.as_tensor(
        cotangent, dtype=value.dtype), allow_unused=True) if leaves else ())
    out: list[np.ndarray | None] = []
    for t, w in zip((p, x), wrt):
        g = next(grads) if w and t is not None else None
        out.append(None if not w or t is None else
                   np.zeros(tuple(t.shape)) if g is None else g.numpy())
    return out[0], out[1]


def shifted_values(program: Program, params, inputs, start: int, stop: int) -> np.ndarray:
    """Exact values of rows ``start:stop`` of the Program's parameter-shift
    table (row 0: unshifted), as one batched evaluation."""
    table = program.derived("shift-table", lambda: shift_table(program))
    shifts = shift_rows(program, table, start, stop)
    if shifts is None:
        return np.asarray(to_numpy(program(params, inputs))).reshape(
            (1,) + program.value_shape)
    return np.asarray(to_numpy(program.evaluate(params, inputs, shifts=shifts).value))


def shifted_estimates(program: Program, params, inputs, start: int, stop: int, shots: int,
                      executor: Executor | None, seed: int | None
                      ) -> tuple[np.ndarray, np.ndarray, int]:
    """Estimates (and their variances) of rows ``start:stop`` of the shift
    table from ``shots`` per measurement setting, drawn by ``executor`` with
    ``seed``; and the number of circuits run."""
    table = program.derived("shift-table", lambda: shift_table(program))
    runner = executor if executor is not None else TnqExecutor()
    return shot_estimates(program, table, params, inputs, range(start, stop), shots, runner,
                          seed)


