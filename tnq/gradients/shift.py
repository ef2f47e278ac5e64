"""The parameter-shift rule: gradients from shifted evaluations, exact or from shots.

Every trainable parameter *slot* (one parameter of one gate) is shifted on its
own, so tied parameters and affine bindings ``a * theta[k] + b`` follow from
the chain rule: ``d/dtheta_k = sum over slots of k of a * (slot derivative)``.
All shifted circuits share the circuit's structure. Exactly (``shots=None``)
they are one batched evaluation of the compiled Program, in memory-sized
chunks; with shots they go, with one measurement setting per group of
qubit-wise commuting terms, to an :class:`~tnq.gradients.executors.Executor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import checks
from ..circuit import Circuit, Op
from ..contract import to_numpy
from ..errors import CompileError, ParameterError
from ..program import Program
from ..symbols import Symbol
from .executors import Executor, TnqExecutor
from .measure import check_counts, measurement_settings
from .rules import gate_rules

__all__ = ["Gradient", "param_shift", "shift_table"]


@dataclass(frozen=True)
class Gradient:
    """A value and its gradient, with standard errors when estimated from shots.

    For a Program with a vector of ``K`` values, ``value`` and ``value_stderr``
    are ``(K,)`` and ``grad`` and ``grad_stderr`` the ``(K, P)`` Jacobian.

    Attributes
    ----------
    value : float or ndarray
    grad : ndarray, shape (P,) or (K, P)
    value_stderr : float or ndarray
        0 for exact evaluations.
    grad_stderr : ndarray, shape (P,) or (K, P)
    executions : int
        Circuit evaluations used (shifted circuits times measurement settings).
    shots : int or None
    """

    value: Any
    grad: np.ndarray
    value_stderr: Any
    grad_stderr: np.ndarray
    executions: int
    shots: int | None


@dataclass(frozen=True)
class ShiftTable:
    """All evaluations a parameter-shift gradient needs, for one Program.

    Row 0 is the unshifted circuit. Row ``r > 0`` shifts one slot: ``slot[r]`` =
    (kind, gate row, column) by ``shift[r]``. ``weights`` is ``(P, rows)``:
    ``grad = weights @ values``.
    """

    kind: np.ndarray
    row: np.ndarray
    col: np.ndarray
    shift: np.ndarray
    weights: np.ndarray

    @property
    def num_rows(self) -> int:
        return len(self.shift)


def shift_table(program: Program) -> ShiftTable:
    """The shifted evaluations of ``program``'s trainable slots (structure only)."""
    e = program.evaluator
    kind, row, col, shift = [-1], [0], [0], [0.0]
    weights: list[tuple[int, int, float]] = []  # (param, table row, weight)
    for j, r, c, k, scale in e.slots():
        rule = gate_rules(e.ops[e.kinds[j].ops[0]].gate)[c]
        for s, coeff in zip(rule.shifts, rule.coeffs):
            for sign in (1.0, -1.0):
                weights.append((k, len(shift), sign * coeff * scale))
                kind.append(j)
                row.append(r)
                col.append(c)
                shift.append(sign * s)
    w = np.zeros((program.num_params, len(shift)))
    for k, r, v in weights:
        w[k, r] += v
    return ShiftTable(np.array(kind), np.array(row), np.array(col), np.array(shift), w)


def param_shift(program: Program, params, inputs=None, *, shots: int | None = None,
                executor: Executor | None = None, seed: int | None = None) -> Gradient:
    """Value and gradient of ``program`` by the parameter-shift rule.

    Parameters
    ----------
    program : Program
        A compiled circuit with an observable.
    params, inputs : array_like or mapping
        One parameter vector (and data inputs, if the circuit has any), flat or
        as a mapping ``{name: array}`` (see :meth:`tnq.Program.pack`); the
        gradient is flat, in :attr:`tnq.Program.layout` order
        (:meth:`tnq.Program.unpack` names its parts).
    shots : int, optional
        ``None`` evaluates every shifted circuit exactly, as one batched
        contraction. An integer estimates each from that many shots per
        measurement setting, with standard errors.
    executor : Executor, optional
        What runs the circuits when ``shots`` is given (default: a
        :class:`TnqExecutor`).
    seed : int, optional
        Passed to the executor; the same seed gives the same estimates.

    Examples
    --------
    >>> import numpy as np, tnq
    >>> theta = tnq.parameters(1)
    >>> program = tnq.compile(tnq.Circuit(1).rx(0, theta[0]), "Z0")
    >>> g = tnq.param_shift(program, [0.3])
    >>> print(round(g.grad[0], 10), round(-np.sin(0.3), 10))
    -0.2955202067 -0.2955202067
    """
    if not isinstance(program, Program) or program.observable is None:
        raise CompileError("param_shift needs a Program compiled with an observable")
    params = _one_vector(program.pack(params), program.num_params, "params")
    inputs = _one_vector(program.pack(inputs, "inputs"), program.num_inputs, "inputs")
    table = program.derived("shift-table", lambda: shift_table(program))  # structure only
    if executor is not None and not callable(getattr(executor, "run", None)):
        raise ParameterError(f"executor must have a run(circuits, shots, seed) method (a "
                             f"tnq.TnqExecutor, a QiskitExecutor or your own), got "
                             f"{checks.show(executor)}")
    if shots is None:
        if executor is not None:
            raise ParameterError("an executor needs shots; pass shots=... or no executor")
        values = _exact(program, table, params, inputs)
        variances = np.zeros_like(values)
        executions = table.num_rows
    else:
        if not isinstance(shots, (int, np.integer)) or isinstance(shots, bool) or shots < 1:
            raise ParameterError(f"shots must be a positive integer, got {shots!r}")
        values, variances, executions = _measured(program, table, params, inputs, int(shots),
                                                  executor or TnqExecutor(), seed)
    grad = (table.weights @ values.reshape(len(values), -1)).T  # (K, P)
    grad_err = np.sqrt(table.weights**2 @ variances.reshape(len(values), -1)).T
    if not program.value_shape:
        return Gradient(float(values[0]), grad[0], float(np.sqrt(variances[0])), grad_err[0],
                        executions, shots)
    return Gradient(values[0], grad, np.sqrt(variances[0]), grad_err, executions, shots)


def _one_vector(x, n: int, name: str):
    if x is None:
        return None
    arr = to_numpy(x)
    if arr.ndim != 1:
        raise ParameterError(f"param_shift takes one {name} vector of shape ({n},), "
                             f"got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr.astype(float)))
    if bad.size:
        raise ParameterError(f"{name}[{bad[0]}] is {arr[bad[0]]}; expected finite values")
    return arr


def _exact(program: Program, table: ShiftTable, params, inputs) -> np.ndarray:
    """Every row's expectation value, in batched chunks."""
    chunks = program.derived("shift-chunks", lambda: _shift_chunks(program, table))
    if not chunks:
        return to_numpy(program(params, inputs)).reshape((1,) + program.value_shape)
    return np.concatenate([to_numpy(program.evaluate(params, inputs, shifts=shifts).value)
                           for shifts in chunks])


def _shift_chunks(program: Program, table: ShiftTable) -> list[dict]:
    """The table's rows as per-kind shift arrays, in chunks of ``batch_limit()`` rows."""
    step = program.batch_limit()
    chunks = [shift_rows(program, table, start, min(start + step, table.num_rows))
              for start in range(0, table.num_rows, step)]
    return [c for c in chunks if c is not None]  # none at all without trainable kinds


def shift_rows(program: Program, table: ShiftTable, start: int, stop: int) -> dict | None:
    """Rows ``start:stop`` of the table as per-kind shift arrays, ``(rows, gates,
    params)`` for each kind with trainable parameters (None: there is none)."""
    e = program.evaluator
    trainable = [j for j, kind in enumerate(e.kinds) if "param" in kind.uses]
    if not trainable:
        return None
    rows = np.arange(start, stop)
    shifts = {j: np.zeros((len(rows),) + e.kinds[j].src.shape) for j in trainable}
    for b, r in enumerate(rows):
        if table.kind[r] >= 0:
            shifts[table.kind[r]][b, table.row[r], table.col[r]] = table.shift[r]
    return shifts


def _measured(program: Program, table: ShiftTable, params, inputs, shots: int,
              executor: Executor, seed) -> tuple[np.ndarray, np.ndarray, int]:
    """Every row's estimate and the variance of it, from ``shots`` per setting."""
    return shot_estimates(program, table, params, inputs, range(table.num_rows), shots,
                          executor, seed)


def shot_estimates(program: Program, table: ShiftTable, params, inputs, rows: range,
                   shots: int, executor: Executor, seed) -> tuple[np.ndarray, np.ndarray, int]:
    """The estimates (and their variances) of the table's ``rows``, from ``shots``
    per measurement setting drawn by ``executor`` with ``seed``; and the number
    of circuits run."""
    observables = program.observable
    settings, constant = measurement_settings(
        list(observables) if isinstance(observables, tuple) else observables)
    n = program.num_qubits
    circuits = [s.rotate(c) for c in shifted_circuits(program, table, params, inputs, rows)
                for s in settings]
    counts = check_counts(executor.run(circuits, shots, seed), circuits, shots) \
        if settings else []
    values = np.zeros((len(rows),) + program.value_shape) + constant
    variances = np.zeros_like(values)
    for i, c in enumerate(counts):
        mean, var = settings[i % len(settings)].estimate(c, n)
        values[i // len(settings)] += mean
        variances[i // len(settings)] += var
    return values, variances, len(circuits)


def shifted_circuits(program: Program, table: ShiftTable, params, inputs,
                     rows: range) -> list[Circuit]:
    """The bound (numeric) circuits of the table's ``rows``."""
    e, n = program.evaluator, program.num_qubits
    base = [Op(op.name, op.qubits, tuple(_number(p, params, inputs) for p in op.params),
               op.matrix) for op in e.ops]
    out = []
    for r in rows:
        ops = base
        if table.kind[r] >= 0:
            i = e.kinds[table.kind[r]].ops[table.row[r]]
            numbers = list(base[i].params)
            numbers[table.col[r]] = float(numbers[table.col[r]] + table.shift[r])
            ops = base[:i] + [Op(base[i].name, base[i].qubits, tuple(numbers))] + base[i + 1:]
        out.append(Circuit._from_ops(n, ops))
    return out


def _number(p, params, inputs) -> float:
    if isinstance(p, Symbol):
        return float(p.value(params, inputs))
    return float(p)
