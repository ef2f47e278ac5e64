"""The ``tnq.qubit`` PennyLane device: tnq Programs behind PennyLane's device API.

Each tape is translated (:mod:`tnq.pennylane.translate`) into a circuit whose
gate parameters are all symbols, so the Program compiled for it depends only
on the structure; programs are kept on the device by structure and terms,
and a QNode run many times with new numbers compiles once. Expectation
values and variances come from one Program call over all the Pauli words
(and dense terms) the tape measures, weighted on the call's backend, so
``backprop`` differentiates through tnq with jax, torch or autograd arrays.
Device derivatives (``"device"``, ``"adjoint"``) come from
:func:`tnq.value_and_grad`. With shots, measurements are rotated into
their eigenbases by PennyLane's own transforms and processed from tnq's
samples.
"""

from __future__ import annotations

import operator
import threading
from dataclasses import replace
from functools import reduce
from typing import Any

import numpy as np

from ..errors import CompileError
from ..gradients import value_and_grad
from ..memo import Memo
from ..optional import require
from ..program import STRATEGIES, Program
from . import translate as tr

qml = require("pennylane", "tnq.pennylane")

from pennylane.devices import Device, ExecutionConfig  # noqa: E402
from pennylane.devices.modifiers import simulator_tracking, single_tape_support  # noqa: E402
from pennylane.devices.preprocess import (  # noqa: E402
    decompose,
    device_resolve_dynamic_wires,
    no_sampling,
    validate_device_wires,
    validate_measurements,
)
from pennylane.measurements import (  # noqa: E402
    ExpectationMP,
    ProbabilityMP,
    StateMeasurement,
    StateMP,
    VarianceMP,
)
from pennylane.transforms import (  # noqa: E402
    broadcast_expand,
    defer_measurements,
    diagonalize_measurements,
    split_non_commuting,
)
from pennylane.transforms.core import CompilePipeline, transform  # noqa: E402

__all__ = ["TnqDevice"]

DIFF_METHODS = ("backprop", "adjoint", "device")


@transform
def sample_in_eigenbases(tape):
    """With shots: measurements split into commuting groups and rotated into the
    computational basis (PennyLane's ``split_non_commuting`` and
    ``diagonalize_measurements``); without shots the tape is unchanged."""
    if not tape.shots:
        return (tape,), lambda results: results[0]
    tapes, combine = split_non_commuting(tape)
    rotated, fns = [], []
    for t in tapes:
        (d,), fn = diagonalize_measurements(t)
        rotated.append(d)
        fns.append(fn)
    return tuple(rotated), lambda results: combine([f((r,)) for f, r in zip(fns, results)])


@simulator_tracking
@single_tape_support
class TnqDevice(Device):
    """PennyLane device ``"tnq.qubit"``: tnq's tensor-network simulator.

    Parameters
    ----------
    wires : int or iterable, optional
        The device's wires (None: the wires of each circuit).
    shots : int or list, optional
        Default shots (None: exact results).
    seed : int or numpy Generator, optional
        Seeds the samples drawn with shots.
    strategy : str
        tnq's strategy (``"auto"`` picks; wide circuits get ``"lightcone"``).
    max_bond, cutoff, max_memory, optimize, dtype :
        As for :func:`tnq.compile`.

    Examples
    --------
    >>> import pennylane as qml
    >>> dev = qml.device("tnq.qubit", wires=2)
    >>> @qml.qnode(dev)
    ... def bell():
    ...     qml.Hadamard(0)
    ...     qml.CNOT([0, 1])
    ...     return qml.expval(qml.Z(0) @ qml.Z(1))
    >>> round(float(bell()), 12)
    1.0
    """

    name = "tnq.qubit"

    def __init__(self, wires=None, shots=None, *, seed=None, strategy: str = "auto",
                 max_bond: int | None = None, cutoff: float | None = None,
                 max_memory: int | None = None, optimize="auto", dtype: str = "complex128"):
        super().__init__(wires=wires, shots=shots)
        if strategy not in STRATEGIES:
            raise CompileError(f"tnq.qubit: strategy={strategy!r} is not available; expected "
                               f"one of {STRATEGIES}")
        options: dict[str, Any] = {"strategy": strategy, "max_bond": max_bond,
                                   "max_memory": max_memory, "optimize": optimize,
                                   "dtype": dtype, "progress": False}
        if cutoff is not None:
            options["cutoff"] = cutoff
        self._options = options
        self._rng = np.random.default_rng(seed)
        self._programs = Memo(64, travel=False)
        self._lock = threading.Lock()
        self._compiles = 0

    @property
    def compiles(self) -> int:
        """How many Programs this device has compiled (one per circuit structure
        and set of measured terms)."""
        return self._compiles

    @property
    def programs(self) -> tuple[Program, ...]:
        """The Programs kept on this device, least recently used first."""
        return tuple(p for _, p in self._programs.items())

    # ------------------------------------------------------------ configuration
    def setup_execution_config(self, config: ExecutionConfig | None = None,
                               circuit=None) -> ExecutionConfig:
        config = config or ExecutionConfig()
        updates: dict = {}
        method = config.gradient_method
        if method == "best":
            method = updates["gradient_method"] = "backprop"
        if config.use_device_gradient is None:
            updates["use_device_gradient"] = method in DIFF_METHODS
        if config.use_device_jacobian_product is None:
            updates["use_device_jacobian_product"] = False
        if config.grad_on_execution is None:
            updates["grad_on_execution"] = method in ("adjoint", "device")
        if method == "backprop":
            updates["convert_to_numpy"] = False
        return replace(config, **updates)

    def preprocess_transforms(self, execution_config: ExecutionConfig | None = None):
        config = execution_config or ExecutionConfig()
        pipeline = CompilePipeline()
        pipeline.add_transform(validate_device_wires, self.wires, name=self.name)
        pipeline.add_transform(defer_measurements, allow_postselect=False)
        pipeline.add_transform(decompose, stopping_condition=tr.supported,
                               skip_initial_state_prep=False, target_gates=tr.TARGET_GATES,
                               device_wires=self.wires, name=self.name)
        pipeline.add_transform(device_resolve_dynamic_wires, wires=self.wires,
                               allow_resets=False)
        pipeline.add_transform(validate_device_wires, self.wires, name=self.name)
        pipeline.add_transform(validate_measurements, name=self.name)
        pipeline.add_transform(sample_in_eigenbases)
        if config.gradient_method == "backprop":
            pipeline.add_transform(no_sampling, name="backprop + tnq.qubit")
        if config.gradient_method in ("adjoint", "device"):
            pipeline.add_transform(no_sampling, name=f"{config.gradient_method} + tnq.qubit")
            pipeline.add_transform(broadcast_expand)
        return pipeline

    def supports_derivatives(self, execution_config=None, circuit=None) -> bool:
        if execution_config is None:
            return True
        method = execution_config.gradient_method
        if method not in DIFF_METHODS + ("best",):
            return False
        if circuit is None:
            return True
        if circuit.shots:
            return False
        if method in ("adjoint", "device"):
            return _device_differentiable(circuit)
        return True

    # ------------------------------------------------------------ execution
    def execute(self, circuits, execution_config: ExecutionConfig | None = None):
        return tuple(self._run(tape) for tape in circuits)

    def compute_derivatives(self, circuits, execution_config: ExecutionConfig | None = None):
        return tuple(self._derivatives(tape)[1] for tape in circuits)

    def execute_and_compute_derivatives(self, circuits,
                                        execution_config: ExecutionConfig | None = None):
        pairs = [self._derivatives(tape) for tape in circuits]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    # ------------------------------------------------------------ internals
    def _wire_map(self, tape):
        wires = self.wires if self.wires is not None else tape.wires
        return wires, {w: i for i, w in enumerate(wires)}

    def program(self, struct: tr.Structure, num_qubits: int, keys: tuple, *,
                weighted: bool = False) -> Program:
        """The Program for a structure and the measured terms (compiled once):
        one observable per term key, or (``weighted``) per weighted sum
        ``((c, key), ...)`` of them."""
        def make():
            with self._lock:
                self._compiles += 1
            if weighted:
                observables = [reduce(operator.add, [c * tr.term_observable(k)
                                                     for c, k in pairs if k != ("P", ())])
                               for pairs in keys]
            else:
                observables = [tr.term_observable(k) for k in keys]
            return Program(struct.circuit(num_qubits), observables or None, **self._options)

        return self._programs.get((struct.key, num_qubits, keys, weighted), make)

    def _run(self, tape):
        wires, index = self._wire_map(tape)
        n = max(len(wires), 1)
        if tape.shots:  # the structure includes the measurements' basis rotations
            return _sampled(self, tape, n, wires)
        return _exact(self, tape, tr.structure(tape.operations, index), n, wires)

    def _derivatives(self, tape):
        """Values and gradients of expectation values and variances: one Program
        whose observables are the measured sums themselves (``O``, and ``O @ O``
        for a variance), so :func:`tnq.value_and_grad` differentiates one value
        per sum rather than one per Pauli word."""
        wires, index = self._wire_map(tape)
        struct = tr.structure(tape.operations, index)
        weights, _ = _weights(tape, index)
        theta = np.asarray([float(np.real(qml.math.unwrap(p))) for p in
                            tr.gate_params(tape.operations, struct)])
        sums = {}  # (constant, tnq observable or None) per distinct weighted sum
        for w in weights:
            for part in w.values():
                key = tuple((float(np.real(qml.math.unwrap(c))), k) for c, k in part)
                sums.setdefault(key, len(sums))
        keys = [k for k in sums if any(t != ("P", ()) for _, t in k)]
        values, jac = np.zeros(0), np.zeros((0, len(theta)))
        if keys:  # else only the identity is measured: constants
            program = self.program(struct, max(len(wires), 1), tuple(keys), weighted=True)
            if len(theta):
                values, jac = value_and_grad(program, theta)
            else:
                values = program()
            values, jac = np.atleast_1d(values), np.reshape(jac, (len(keys), len(theta)))
        row = {k: i for i, k in enumerate(keys)}

        def part(pairs):
            key = tuple((float(np.real(qml.math.unwrap(c))), k) for c, k in pairs)
            const = sum(c for c, k in key if k == ("P", ()))
            if key not in row:
                return const, np.zeros(len(theta))
            return values[row[key]] + const, jac[row[key]]

        results, grads = [], []
        for w in weights:
            mean, grad = part(w["mean"])
            if "square" in w:
                square, grad_square = part(w["square"])
                mean, grad = square - mean**2, grad_square - 2 * mean * grad
            results.append(mean)
            grads.append(_trainable(grad, struct, tape))
        if len(results) == 1:
            return results[0], grads[0]
        return tuple(results), tuple(grads)


# ---------------------------------------------------------------- measured terms
def _device_differentiable(tape) -> bool:
    """Only expectation values and variances, and no trainable observable
    parameters (device derivatives are with respect to gate parameters)."""
    if not all(isinstance(m, (ExpectationMP, VarianceMP)) and m.obs is not None
               for m in tape.measurements):
        return False
    num_gate = sum(len(op.data) for op in tape.operations)
    return all(i < num_gate for i in tape.trainable_params)


def _weights(tape, index) -> tuple[list, tuple]:
    """Per measurement, ``{"mean": [(c, k)], "square": [(c, k)]}`` (the latter
    for variances), and every distinct non-identity term key, in order."""
    weights: list[dict] = []
    keys: dict[tuple, int] = {}
    for mp in tape.measurements:
        w = {}
        if isinstance(mp, (ExpectationMP, VarianceMP)) and mp.obs is not None:
            w["mean"] = tr.terms(mp.obs, index)
            if isinstance(mp, VarianceMP):
                w["square"] = tr.square(w["mean"])
        for pairs in w.values():
            for _, k in pairs:
                if k != ("P", ()):
                    keys.setdefault(k, len(keys))
        weights.append(w)
    return weights, tuple(keys)


def _weighted(pairs, values, keys_at: dict, identity: float = 1.0):
    """``sum_k c_k <T_k>`` on the values' backend (``values``: ``(..., K)``;
    ``identity``: the value of the identity term, 0 for a derivative)."""
    total = 0.0
    for c, k in pairs:
        term = identity if k == ("P", ()) else values[..., keys_at[k]]
        total = total + c * term
    return qml.math.real(total)


def _trainable(grad: np.ndarray, struct: tr.Structure, tape):
    """The gradient with respect to the tape's trainable parameters, as PennyLane
    arranges it (a number for one parameter, else a tuple); a global phase has
    none."""
    out = tuple(np.array(0.0 if struct.slots.get(i) is None else grad[struct.slots[i]])
                for i in tape.trainable_params)
    return out[0] if len(out) == 1 else out


def _stack(params: list, batch: int | None):
    """The gate parameters as one float64 array ``(P,)`` (``(B, P)`` for a
    broadcast tape) on their own interface; None when there are none."""
    if not params:
        return None
    iface = qml.math.get_interface(*params)
    if iface == "numpy":
        params = [np.asarray(qml.math.unwrap(p), dtype=float) for p in params]
    items = [qml.math.cast(qml.math.asarray(p, like=iface), "float64") for p in params]
    if batch is not None:
        ones = qml.math.ones(batch, like=iface, dtype="float64") if iface != "numpy" \
            else np.ones(batch)
        items = [p if qml.math.ndim(p) else ones * p for p in items]
    return qml.math.stack(items, axis=-1, like=iface)


def _phase(tape, struct: tr.Structure):
    """The global phase ``exp(-i sum phi)`` of the tape's ``GlobalPhase``
    operations, or None."""
    if not struct.phases:
        return None
    data = [p for op in tape.operations for p in op.data]
    return qml.math.exp(-1j * sum(data[i] for i in struct.phases))


def _autograd(fn, theta):
    """``fn(theta)`` for an autograd array ``theta`` (PennyLane's default
    interface), as an autograd primitive: computed on numpy, its vector-Jacobian
    products by torch autograd through the same Program, themselves primitives
    of the same kind (so second derivatives work too)."""
    from autograd.extend import defvjp, primitive

    torch = require("torch", "backprop with autograd arrays on tnq.qubit")

    @primitive
    def run(x):
        return fn(np.asarray(x))

    def vjp(ans, x):
        def back(g):
            g = np.asarray(g)
            return _autograd(lambda t: _torch_vjp(torch, fn, t, g), x)
        return back

    defvjp(run, vjp)
    return run(theta)


def _torch_vjp(torch, fn, t, g):
    """``g^T J_fn(t)`` by torch autograd: numpy in and out, or, for a torch
    ``t`` (a derivative of this), a torch tensor that can be differentiated."""
    leaf = not isinstance(t, torch.Tensor)
    if leaf:
        t = torch.tensor(np.asarray(t), dtype=torch.float64, requires_grad=True)
    out = fn(t)
    cot = torch.as_tensor(np.conj(g) if out.is_complex() else g.real).to(out.dtype)
    (grad,) = torch.autograd.grad(out, t, grad_outputs=cot, create_graph=not leaf,
                                  allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(t)
    return grad.detach().numpy() if leaf else grad


def _call(fn, theta):
    """``fn(theta)``, through :func:`_autograd` for autograd arrays."""
    if theta is not None and qml.math.get_interface(theta) == "autograd":
        return _autograd(fn, theta)
    return fn(theta)


def _exact(dev: TnqDevice, tape, struct: tr.Structure, n: int, wires):
    index = {w: i for i, w in enumerate(wires)}
    weights, keys = _weights(tape, index)
    theta = _stack(tr.gate_params(tape.operations, struct), tape.batch_size)
    program = dev.program(struct, n, keys)
    values = _call(program, theta) if keys else None
    at = {k: i for i, k in enumerate(keys)}
    results = []
    for mp, w in zip(tape.measurements, weights):
        if "mean" in w:
            mean = _weighted(w["mean"], values, at)
            results.append(mean if "square" not in w else
                           _weighted(w["square"], values, at) - mean**2)
        elif isinstance(mp, ProbabilityMP) and mp.mv is None:
            results.append(_probabilities(dev, tape, mp, struct, n, wires, theta))
        elif isinstance(mp, StateMeasurement):  # the state, or what follows from it
            psi = _call(program.state, theta)
            phase = _phase(tape, struct)
            if phase is not None:
                psi = psi * (phase[..., None] if qml.math.ndim(phase) else phase)
            results.append(psi if type(mp) is StateMP and not mp.wires else
                           mp.process_state(psi, wires))
        else:
            raise CompileError(f"tnq.qubit cannot compute {mp} without shots")
    return results[0] if len(results) == 1 else tuple(results)


def _probabilities(dev: TnqDevice, tape, mp, struct, n: int, wires, theta):
    """``qml.probs`` on its wires; of an observable: in its eigenbasis, after its
    diagonalizing gates (a Program of its own)."""
    index = {w: i for i, w in enumerate(wires)}
    qubits = [index[w] for w in mp.wires] if mp.wires else list(range(len(wires)))
    if mp.obs is not None:
        ops = list(tape.operations) + list(mp.obs.diagonalizing_gates())
        struct = tr.structure(ops, index)
        theta = _stack(tr.gate_params(ops, struct), tape.batch_size)
    program = dev.program(struct, n, ())

    def probs(x):
        if tape.batch_size is None:
            return program.probabilities(x, qubits=qubits)
        rows = [program.probabilities(x[b], qubits=qubits) for b in range(tape.batch_size)]
        return qml.math.stack(rows)  # marginals take one parameter vector

    return _call(probs, theta)


def _sampled(dev: TnqDevice, tape, n: int, wires):
    """Measurements (already in the computational basis) from tnq's samples,
    one bin of PennyLane's shot vector at a time."""
    ops = list(tape.operations) + _rotations(tape)
    struct = tr.structure(ops, {w: i for i, w in enumerate(wires)})
    program = dev.program(struct, n, ())
    params = [np.asarray(qml.math.unwrap(p), dtype=float)
              for p in tr.gate_params(ops, struct)]
    theta = _stack(params, tape.batch_size)

    def one(row):
        bits = program.sample(tape.shots.total_shots, row, seed=dev._rng).astype(np.int64)
        out = []
        for lo, hi in tape.shots.bins():
            r = tuple(mp.process_samples(bits, wires, shot_range=(lo, hi))
                      for mp in tape.measurements)
            out.append(r[0] if len(r) == 1 else r)
        return tuple(out) if tape.shots.has_partitioned_shots else out[0]

    if tape.batch_size is None:
        return one(theta)
    return _stack_results([one(theta[b]) for b in range(tape.batch_size)])


def _rotations(tape) -> list:
    """The diagonalizing gates of the observables that PennyLane's
    ``diagonalize_measurements`` leaves as they are (``Hermitian``, a state
    ``Projector``): their eigenvalues are read from samples in their eigenbasis."""
    out, seen = [], set()
    for mp in tape.measurements:
        if mp.obs is None or not mp.obs.has_diagonalizing_gates:
            continue
        gates = mp.obs.diagonalizing_gates()
        key = repr(gates)
        if gates and key not in seen:
            seen.add(key)
            out += gates
    return out


def _stack_results(rows: list):
    """Results of a broadcast tape, one per row, as PennyLane arranges them:
    tuples kept, arrays stacked along a leading batch axis."""
    first = rows[0]
    if isinstance(first, tuple):
        return tuple(_stack_results([r[i] for r in rows]) for i in range(len(first)))
    if isinstance(first, dict):
        return tuple(rows)
    return np.stack([np.asarray(r) for r in rows])
