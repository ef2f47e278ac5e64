"""The Program: a compiled circuit (and observable) that is called many times.

Everything that depends only on structure is done once: the tensor networks,
their contraction paths (cached by structure), the grouping of observable
terms, the gate tables' index arrays. A call builds the gate arrays from the
numbers it is given and runs fixed contractions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from autoray import do, infer_backend

from .circuit import Circuit
from .compile import (
    Network,
    amplitude_network,
    group_cones,
    group_terms,
    marginal_network,
    reduce_cones,
    state_network,
)
from .compile.route import Schedule, route
from .contract import Evaluator, to_backend, to_numpy, unbind
from .errors import CompileError, MemoryLimitError, ParameterError
from .lightcone import LightconeEvaluator
from .mps import MPS, simulate, warn_fidelity
from .observables import Observable
from .observables import observable as as_observable
from .plan import PathCache, Plan, check_optimize, default_max_memory, format_bytes, make_plan

__all__ = ["Program", "compile"]

STRATEGIES = ("auto", "state", "lightcone", "mps")
DTYPES = ("complex128", "complex64")
SAMPLE_BLOCK = 8
"""Qubits sampled per step when sampling from a closed network."""
DENSE_SAMPLE_QUBITS = 20
"""Up to this many qubits, samples are drawn from the exact probability vector."""
EXPLAIN_ROWS = 24
"""The most plans :meth:`Program.explain` lists one by one."""
MAX_BATCH = 4096
"""The most parameter vectors :meth:`Program.batch_limit` puts in one contraction."""
DEFAULT_CUTOFF = 1e-24
"""Default ``cutoff`` of the ``mps`` strategy: the squared singular-value weight,
relative to the total, that one split may drop (exact zeros and rounding)."""


class Program:
    """A compiled circuit, optionally with an observable; see :func:`compile`.

    Calling it returns the expectation value of the observable. Its methods
    give amplitudes, the state, probabilities and samples for the same circuit;
    each output's contraction path is found on first use and reused after.
    """

    def __init__(self, circuit: Circuit, observable=None, *, strategy: str = "auto",
                 optimize="auto", max_memory: int | None = None, dtype: str = "complex128",
                 cache: PathCache | None = None, max_bond: int | None = None,
                 cutoff: float = DEFAULT_CUTOFF, min_fidelity: float | None = None):
        if not isinstance(circuit, Circuit):
            raise CompileError(f"expected a tnq.Circuit, got {type(circuit).__name__}")
        if strategy not in STRATEGIES:
            raise CompileError(f"strategy={strategy!r} is not available; expected one of "
                               f"{STRATEGIES}")
        if dtype not in DTYPES:
            raise CompileError(f"dtype={dtype!r} is not supported; expected one of {DTYPES}")
        if max_memory is not None and (not isinstance(max_memory, (int, float))
                                       or max_memory <= 0):
            raise CompileError(f"max_memory must be a positive number of bytes, "
                               f"got {max_memory!r}")
        check_optimize(optimize)
        _check_mps_options(max_bond, cutoff, min_fidelity)
        self.max_bond = None if max_bond is None else int(max_bond)
        self.cutoff = float(cutoff)
        self.min_fidelity = min_fidelity
        self.fidelity: float | None = None
        """The MPS fidelity estimate of the latest call (strategy ``"mps"``)."""
        self._schedule: Schedule | None = None
        self.num_qubits = circuit.num_qubits
        self.num_params = circuit.num_params
        self.num_inputs = circuit.num_inputs
        self.ops = circuit.ops
        self.dtype = dtype
        self.optimize = optimize
        self.max_memory = int(max_memory or default_max_memory())
        self._itemsize = np.dtype(dtype).itemsize
        self._cache = cache
        self._evaluator = Evaluator(self.ops, self.num_params, self.num_inputs, dtype)
        self._plans: OrderedDict = OrderedDict()
        self._derived: dict = {}  # functions made from this Program (e.g. jitted gradients)
        self.observable: Observable | None = None
        self._lightcone: LightconeEvaluator | None = None
        self.strategy = "state"
        self.reason = "no observable: outputs are amplitudes, states and samples"
        if strategy == "mps":
            self.strategy, self.reason = "mps", "requested"
            self._mps_schedule()
        if observable is not None:
            obs = as_observable(observable)
            obs.check(self.num_qubits)
            self.observable = obs
            self._terms = group_terms(obs)
            self._term_ops: dict = {}
            self.strategy, self.reason = self._choose(strategy)

    # ------------------------------------------------------------ strategy
    def _choose(self, strategy: str) -> tuple[str, str]:
        """Pick and plan the strategy for expectation values; say why."""
        n = self.num_qubits
        state_bytes = 2**n * self._itemsize
        if strategy == "state":
            self._plan_state()
            return "state", "requested"
        if strategy == "mps":
            return "mps", "requested"
        cones = self._make_lightcone()
        if strategy == "lightcone":
            self._lightcone_plans()
            return "lightcone", "requested"
        widest = max((len(c.qubits) for c in cones), default=0)
        if state_bytes > self.max_memory:
            why = (f"a {n}-qubit state needs {format_bytes(state_bytes)}, over max_memory; "
                   f"the widest lightcone has {widest} qubits")
            if self.max_bond is None:
                self._lightcone_plans()
                return "lightcone", why
            return self._lightcone_or_mps(why)
        state_guess = len(self.ops) * 2.0 ** (n + 1) + sum(
            2.0 ** (n + len(s)) for s in self._terms.supports)
        cone_guess = sum(2.0 * len(c.ops) * 2.0 ** (len(c.qubits) + 1) + 4.0 ** len(c.support)
                         for c in cones)
        if cone_guess >= state_guess:
            self._plan_state()
            return "state", (f"lightcones span up to {widest} of {n} qubits: estimated "
                             f"{cone_guess:.3g} FLOPs for all terms against {state_guess:.3g} "
                             "for the state")
        state_flops = self._plan_state().flops + sum(
            2.0 ** (n + 2 * len(s)) for s in self._terms.supports)
        try:
            cone_flops = sum(p.flops for p in self._lightcone_plans())
        except MemoryLimitError:
            return "state", "a lightcone group is over max_memory; the state fits"
        if cone_flops < state_flops:
            return "lightcone", (f"{cone_flops:.3g} FLOPs for all lightcone groups against "
                                 f"{state_flops:.3g} for the state and its reduced density "
                                 "matrices")
        return "state", (f"{state_flops:.3g} FLOPs for the state and its reduced density "
                         f"matrices against {cone_flops:.3g} for all lightcone groups")

    def _lightcone_or_mps(self, why: str) -> tuple[str, str]:
        """With ``max_bond`` given and no room for the state: the MPS when the
        circuit is 1D-like and the lightcones cost more (or do not fit)."""
        schedule = self._mps_schedule()
        mps_flops = _mps_flops(schedule, self.max_bond)
        one_d = schedule.swaps <= len(self.ops)
        try:
            cone_flops = sum(p.flops for p in self._lightcone_plans())
        except MemoryLimitError:
            if not one_d:
                raise
            return "mps", (f"{why}, and a lightcone group is over max_memory; the circuit is "
                           f"1D-like ({schedule.swaps} routing swaps): MPS with max_bond="
                           f"{self.max_bond}, about {mps_flops:.3g} FLOPs, fidelity estimated "
                           "per call")
        if one_d and mps_flops < cone_flops:
            return "mps", (f"{why}; the circuit is 1D-like ({schedule.swaps} routing swaps): "
                           f"MPS with max_bond={self.max_bond}, about {mps_flops:.3g} FLOPs "
                           f"against {cone_flops:.3g} for all lightcone groups (fidelity "
                           "estimated per call)")
        return "lightcone", (f"{why}; {cone_flops:.3g} FLOPs for all lightcone groups against "
                             f"about {mps_flops:.3g} for an MPS with max_bond={self.max_bond}")

    def _mps_schedule(self) -> Schedule:
        if self._schedule is None:
            self._diagonal = tuple(op.gate.diagonal for op in self.ops)
            self._gate_refs = tuple(self._evaluator.locate(i) for i in range(len(self.ops)))
            schedule = route(self.ops, self.num_qubits)
            bound = _bond_bounds(schedule, self.max_bond)
            widest = max(bound, default=1)
            block = widest * widest * 4 * self._itemsize
            if block * 4 > self.max_memory:
                b = bound.index(widest)
                raise MemoryLimitError(
                    f"the MPS may reach bond dimension {widest} (bond {b}, between qubits {b} "
                    f"and {b + 1}); its two-site blocks need about {format_bytes(block * 4)}, "
                    f"over max_memory={format_bytes(self.max_memory)}; pass max_bond= to "
                    "truncate")
            self._schedule = schedule
        return self._schedule

    def _plan_state(self) -> Plan:
        return self._plan(("state", frozenset()),
                          lambda: state_network(self.ops, self.num_qubits))[0]

    def _make_lightcone(self):
        assert self.observable is not None
        cone_terms = group_terms(self.observable, merge_subsets=False)
        cones = reduce_cones(self.ops, self.num_qubits, cone_terms)
        self._cone_terms = cone_terms
        self._lightcone = LightconeEvaluator(
            self.ops, group_cones(self.ops, cones), self._evaluator, optimize=self.optimize,
            max_memory=self.max_memory, itemsize=self._itemsize, cache=self._cache)
        return cones

    def _lightcone_plans(self) -> tuple[Plan, ...]:
        assert self._lightcone is not None
        return self._lightcone.plans()

    # ------------------------------------------------------------ plumbing
    def _plan(self, key, build, batch: int = 1) -> tuple[Plan, tuple]:
        full = (key, batch)
        hit = self._plans.get(full)
        if hit is None:
            network: Network = build()
            name = key if isinstance(key, str) else key[0]
            plan = make_plan(network, name=name, optimize=self.optimize, batch=batch,
                             max_memory=self.max_memory, itemsize=self._itemsize,
                             cache=self._cache)
            hit = self._plans[full] = (plan, self._evaluator.refs(network))
            while len(self._plans) > 64:
                self._plans.popitem(last=False)
        self._plans.move_to_end(full)
        return hit

    def _run(self, key, build, params, inputs, like, bits=None, batch: int = 1, conj=False):
        """Contract an unbatched-parameter network (amplitudes, marginals)."""
        values = self._evaluator.values(params, inputs, like)
        if values.batch is not None:
            raise ParameterError(f"'{key if isinstance(key, str) else key[0]}' takes one "
                                 f"parameter vector, got a batch of {values.batch}; batches "
                                 "work for expectation values, states and probabilities")
        plan, refs = self._plan(key, build, batch)
        groups = self._evaluator.groups(values, conj=conj)
        if bits is not None:
            bits = [to_backend(b.astype(self.dtype), values.vals) for b in bits]
        return plan(*self._evaluator.operands(refs, groups, bits))

    def _state(self, params, inputs, like, shifts: dict | None = None):
        """The state, ``(2**n,)`` or ``(B, 2**n)`` for batched values or shifts."""
        e, n = self._evaluator, self.num_qubits
        values = e.values(params, inputs, like)
        batch, shifts = self._shifts(values, shifts)
        kinds = values.batched | frozenset(shifts or ())
        plan, refs = self._plan(("state", kinds),
                                lambda: state_network(self.ops, n, e.batched_ops(kinds)),
                                batch or 1)
        psi = plan(*e.operands(refs, e.groups(values, shifts=shifts)))
        lead = () if batch is None else (batch,)
        if batch is not None and not kinds:  # nothing varies: repeat the one state
            psi = do("broadcast_to", psi[None], (batch,) + tuple(psi.shape))
        return do("reshape", psi, lead + (2**n,))

    def _shifts(self, values, shifts: dict | None) -> tuple[int | None, dict | None]:
        """The call's batch size, and ``shifts`` checked and on the values' backend."""
        if not shifts:
            return values.batch, shifts
        sizes = {s.shape[0] for s in shifts.values()}
        if len(sizes) != 1 or (values.batch is not None and sizes != {values.batch}):
            raise ParameterError(f"shift batches {sorted(sizes)} do not match the "
                                 f"parameter batch {values.batch}")
        real = self._evaluator.real_dtype
        return sizes.pop(), {j: to_backend(np.asarray(s, dtype=real), values.vals)
                             for j, s in shifts.items()}

    def value_and_grad(self, params, inputs=None, *, backend: str | None = None):
        """The value and its gradient; see :func:`tnq.value_and_grad`."""
        from .gradients import value_and_grad

        return value_and_grad(self, params, inputs, backend=backend)

    def batch_limit(self) -> int:
        """How many parameter vectors one batched contraction may take within
        ``max_memory`` (from the unbatched plans' largest tensors)."""
        if self.strategy == "lightcone" and self._lightcone is not None:
            peak = max(p.peak for p in self._lightcone.plans())
        else:
            peak = max(self._plan_state().peak, 2**self.num_qubits)
        per_vector = peak * self._itemsize * 4
        return int(max(1, min(MAX_BATCH, self.max_memory // per_vector)))

    @property
    def plans(self) -> tuple[Plan, ...]:
        """The contraction plans made so far: lightcone groups first (for unbatched
        calls, when that strategy is planned), then the others, oldest first."""
        cones = self._lightcone.planned() if self._lightcone is not None else ()
        return cones + tuple(p for p, _ in self._plans.values())

    # ------------------------------------------------------------ outputs
    def __call__(self, params=None, inputs=None, *, like: str | None = None):
        """The expectation value of the compiled observable (a real scalar)."""
        return self.expectation(params, inputs, like=like)

    def expectation(self, params=None, inputs=None, *, like: str | None = None):
        """The expectation value of the compiled observable (a real scalar).

        Examples
        --------
        >>> import tnq
        >>> c = tnq.Circuit(2).h(0).cx(0, 1)
        >>> round(float(tnq.compile(c, "Z0 Z1 + 0.5*X0 X1")()), 12)
        1.5
        """
        return self._expectation(params, inputs, like)

    def _expectation(self, params, inputs, like, shifts: dict | None = None):
        if self.observable is None:
            raise CompileError("this Program has no observable; pass one to tnq.compile")
        if self.strategy == "lightcone":
            return self._cone_expectation(params, inputs, like, shifts)
        if self.strategy == "mps":
            return self._mps_expectation(params, inputs, like, shifts)
        psi = self._state(params, inputs, like, shifts)
        n, terms = self.num_qubits, self._terms
        cpsi = do("conj", psi)
        total = 0.0
        for support, op in zip(terms.supports, self._operators(psi)):
            if op.ndim == 3:  # a long Pauli string: apply its factors, then overlap
                total = total + do("sum", cpsi * _apply_factors(psi, op, support, n), axis=-1)
                continue
            rho = _reduced_density(psi, cpsi, support, n)
            total = total + do("sum", rho * op, axis=(-2, -1))
        return do("real", total) + terms.constant

    def _cone_expectation(self, params, inputs, like, shifts):
        assert self._lightcone is not None
        e = self._evaluator
        values = e.values(params, inputs, like)
        _, shifts = self._shifts(values, shifts)
        total = do("real", self._lightcone.expectation(values, shifts))
        # gates outside every lightcone drop out; keep the result a function of all
        # the values so autodiff gives zeros for them rather than no gradient at all
        return total + 0.0 * do("sum", values.vals, axis=-1) + self._cone_terms.constant

    def _mps_expectation(self, params, inputs, like, shifts):
        values = self._evaluator.values(params, inputs, like)
        batch, shifts = self._shifts(values, shifts)
        states = self._simulate_all(values, shifts)
        operators = self._operators(states[0].tensors[0])
        out = [m.expectation_terms(self._terms, operators) for m in states]
        total = out[0] if batch is None else do("stack", out)
        return total + 0.0 * do("sum", values.vals, axis=-1)

    def _simulate_all(self, values, shifts=None) -> list[MPS]:
        """One MPS per parameter vector of the call (one when unbatched)."""
        e = self._evaluator
        schedule = self._mps_schedule()
        tables = e.tables(values, shifts)
        consts = e.constants(values.vals)
        batch = values.batch if not shifts else next(iter(shifts.values())).shape[0]
        states = []
        for b in range(batch or 1):
            rows = [unbind(t[b] if t.ndim > len(k.shape) + 1 else t)
                    for t, k in zip(tables, e.kinds)]
            gates = [consts[row] if kind < 0 else rows[kind][row]
                     for kind, row in self._gate_refs]
            states.append(simulate(schedule, gates, consts[0], max_bond=self.max_bond,
                                   cutoff=self.cutoff, diagonal=self._diagonal))
        self.fidelity = min(m.fidelity for m in states)
        warn_fidelity(self.fidelity, self.min_fidelity)
        return states

    def simulate(self, params=None, inputs=None, *, like: str | None = None) -> MPS:
        """The circuit's state as a truncated :class:`~tnq.mps.MPS` (``max_bond``,
        ``cutoff`` as compiled), with its fidelity estimate.

        Examples
        --------
        >>> import tnq
        >>> ghz = tnq.Circuit(40).h(0)
        >>> for q in range(39):
        ...     _ = ghz.cx(q, q + 1)
        >>> psi = tnq.compile(ghz, strategy="mps", max_bond=2).simulate()
        >>> psi.bond_dims[:3], psi.fidelity
        ((2, 2, 2), 1.0)
        """
        values = self._evaluator.values(params, inputs, like)
        if values.batch is not None:
            raise ParameterError(f"simulate takes one parameter vector, got a batch of "
                                 f"{values.batch}")
        return self._simulate_all(values)[0]

    def _operators(self, like) -> list:
        key = infer_backend(like), str(getattr(like, "device", "")) \
            if infer_backend(like) == "torch" else ""
        hit = self._term_ops.get(key)
        if hit is None:
            mats = [np.ascontiguousarray(o if o.ndim == 3 else o.T).astype(self.dtype)
                    for o in self._terms.operators]
            hit = self._term_ops[key] = [to_backend(m, like) for m in mats]
        return hit

    def state(self, params=None, inputs=None, *, like: str | None = None):
        """The state vector, shape ``(2**n,)``, qubit 0 most significant.

        With a batch of parameter or input vectors (a leading axis of size
        ``B``) the result has shape ``(B, 2**n)``.
        """
        if self.strategy == "mps":
            if 2**self.num_qubits * self._itemsize > self.max_memory:
                raise MemoryLimitError(f"a {self.num_qubits}-qubit state vector needs "
                                       f"{format_bytes(2**self.num_qubits * self._itemsize)}, "
                                       "over max_memory")
            values = self._evaluator.values(params, inputs, like)
            states = [m.to_dense() for m in self._simulate_all(values)]
            return states[0] if values.batch is None else do("stack", states)
        return self._state(params, inputs, like)

    def amplitude(self, bits, params=None, inputs=None, *, like: str | None = None):
        """Amplitudes ``<b|U|0>`` of one bitstring (a scalar) or many (a vector).

        The network is closed by one vector per qubit and contracted as a
        whole, so no state vector is ever built.

        Examples
        --------
        >>> import tnq
        >>> ghz = tnq.Circuit(3).h(0).cx(0, 1).cx(1, 2)
        >>> round(float(abs(tnq.compile(ghz).amplitude("111")) ** 2), 12)
        0.5
        """
        onehot, single = _bits(bits, self.num_qubits)
        if self.strategy == "mps":
            amps = self.simulate(params, inputs, like=like).amplitude(onehot.argmax(-1))
            return amps[0] if single else amps
        amps = self._run("amplitude", lambda: amplitude_network(self.ops, self.num_qubits),
                         params, inputs, like, bits=list(onehot.transpose(1, 0, 2)),
                         batch=onehot.shape[0])
        return amps[0] if single else amps

    def probabilities(self, params=None, inputs=None, *, qubits: Sequence[int] | None = None,
                      like: str | None = None):
        """Probabilities of all ``2**k`` outcomes of ``qubits`` (default: all qubits).

        For a subset of qubits the doubled network (ket and bra, the other
        qubits traced) is contracted directly, never the full state.
        """
        if qubits is None:
            psi = self.state(params, inputs, like=like)
            return do("real", psi * do("conj", psi))
        keep = self._check_qubits(qubits)
        if self.strategy == "mps":
            return self.simulate(params, inputs, like=like).probabilities(keep)
        p = self._run(("marginal", keep),
                      lambda: marginal_network(self.ops, self.num_qubits, keep),
                      params, inputs, like, conj=True)
        return do("real", do("reshape", p, (2 ** len(keep),)))

    def sample(self, shots: int, params=None, inputs=None, *, seed=None) -> np.ndarray:
        """``shots`` bitstrings drawn from the circuit's output distribution.

        Returns a ``(shots, n)`` array of 0/1 (``uint8``), qubit 0 in column 0.
        Small circuits sample from the exact probabilities; wide ones sample
        ``SAMPLE_BLOCK`` qubits at a time from closed marginal networks
        conditioned on the bits drawn so far (exact, never the full state).
        """
        if not isinstance(shots, (int, np.integer)) or isinstance(shots, bool) or shots < 1:
            raise ParameterError(f"shots must be a positive integer, got {shots!r}")
        if self._evaluator.values(params, inputs).batch is not None:
            raise ParameterError("sample takes one parameter vector, got a batch; use "
                                 "tnq.TnqExecutor to sample many parameter vectors at once")
        if self.strategy == "mps":
            return self.simulate(params, inputs).sample(int(shots), seed)
        rng = np.random.default_rng(seed)
        n = self.num_qubits
        if n <= DENSE_SAMPLE_QUBITS and 2**n * self._itemsize * 4 <= self.max_memory:
            p = to_numpy(self.probabilities(params, inputs))
            idx = rng.choice(2**n, size=shots, p=p / p.sum())
            return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)
        return self._sample_blocks(int(shots), params, inputs, rng)

    def _sample_blocks(self, shots, params, inputs, rng) -> np.ndarray:
        n = self.num_qubits
        out = np.zeros((shots, n), dtype=np.uint8)
        for start in range(0, n, SAMPLE_BLOCK):
            block = tuple(range(start, min(start + SAMPLE_BLOCK, n)))
            cond = tuple(range(start))
            if cond:
                prefixes, inverse = np.unique(out[:, :start], axis=0, return_inverse=True)
                onehot = np.eye(2)[prefixes]
                probs = self._run(("conditional", block),
                                  lambda b=block, c=cond: marginal_network(self.ops, n, b, c),
                                  params, inputs, None, bits=list(onehot.transpose(1, 0, 2)),
                                  batch=len(prefixes), conj=True)
                probs = to_numpy(do("real", probs)).reshape(len(prefixes), -1)
                rows = probs[inverse.ravel()]
            else:
                p = to_numpy(self.probabilities(params, inputs, qubits=block))
                rows = np.broadcast_to(p, (shots, p.size))
            rows = np.clip(rows, 0, None)
            cdf = np.cumsum(rows, axis=1)
            draw = (cdf < rng.random((shots, 1)) * cdf[:, -1:]).sum(axis=1)
            draw = np.minimum(draw, rows.shape[1] - 1)
            k = len(block)
            out[:, start:start + k] = (draw[:, None] >> np.arange(k - 1, -1, -1)) & 1
        return out

    def _check_qubits(self, qubits) -> tuple[int, ...]:
        qs = tuple(qubits)
        for q in qs:
            if not isinstance(q, (int, np.integer)) or not 0 <= q < self.num_qubits:
                raise ParameterError(f"qubit {q!r} is out of range for a "
                                     f"{self.num_qubits}-qubit circuit")
        if len(set(qs)) != len(qs) or not qs:
            raise ParameterError(f"qubits must be distinct and non-empty, got {qs}")
        return tuple(int(q) for q in qs)

    # ------------------------------------------------------------ report
    def explain(self) -> str:
        """A readable report: circuit, strategy and why, and every plan's costs.

        Examples
        --------
        >>> import tnq
        >>> print(tnq.compile(tnq.Circuit(2).h(0).cx(0, 1), "Z0 Z1").explain())
        ... # doctest: +ELLIPSIS
        tnq Program: 2 qubits, 2 gates (0 symbolic kinds), 0 params, 0 inputs, complex128
        strategy: state ...
        """
        e = self._evaluator
        lines = [
            f"tnq Program: {self.num_qubits} qubits, {len(self.ops)} gates "
            f"({len(e.kinds)} symbolic kinds), {self.num_params} params, "
            f"{self.num_inputs} inputs, {self.dtype}",
            f"strategy: {self.strategy} ({self.reason})",
            f"max_memory: {format_bytes(self.max_memory)}",
        ]
        if self.observable is not None:
            lines.append(f"observable: {self._terms.num_terms} terms in "
                         f"{len(self._terms.supports)} support groups (largest support "
                         f"{max((len(s) for s in self._terms.supports), default=0)} qubits)")
        if self._lightcone is not None and self.strategy != "mps":
            lines += self._lightcone.summary()
        if self._schedule is not None:
            sc = self._schedule
            bound = _bond_bounds(sc, self.max_bond)
            lines.append(f"mps: {len(sc.steps)} steps ({sc.swaps} routing swaps), max_bond="
                         f"{self.max_bond}, cutoff={self.cutoff:g}, bond dimensions up to "
                         f"{max(bound, default=1)}, about {_mps_flops(sc, self.max_bond):.3g} "
                         "FLOPs per simulation")
            if self.fidelity is not None:
                lines.append(f"mps: fidelity estimate of the latest call {self.fidelity:.6g}")
        lines.append(f"{'plan':<22} {'tensors':>7} {'flops':>10} {'peak':>11} "
                     f"{'search':>9}  optimizer")
        rows = [p.row(self._itemsize) for p in self.plans]
        if len(rows) > EXPLAIN_ROWS:
            rows = rows[:EXPLAIN_ROWS] + [f"... and {len(rows) - EXPLAIN_ROWS} more plans"]
        return "\n".join(lines + rows)

    def __repr__(self) -> str:
        obs = f", observable={str(self.observable)!r}" if self.observable is not None else ""
        return f"Program(num_qubits={self.num_qubits}, gates={len(self.ops)}{obs})"


def _check_mps_options(max_bond, cutoff, min_fidelity) -> None:
    if max_bond is not None and (isinstance(max_bond, bool) or not isinstance(
            max_bond, (int, np.integer)) or max_bond < 1):
        raise CompileError(f"max_bond must be a positive integer or None, got {max_bond!r}")
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or \
            not 0 <= cutoff < 1:
        raise CompileError(f"cutoff must be a number in [0, 1) (the relative squared weight "
                           f"one truncation may drop), got {cutoff!r}")
    if min_fidelity is not None and (isinstance(min_fidelity, bool) or not isinstance(
            min_fidelity, (int, float)) or not 0 <= min_fidelity <= 1):
        raise CompileError(f"min_fidelity must be a number in [0, 1] or None, got "
                           f"{min_fidelity!r}")


def _bond_bounds(schedule: Schedule, max_bond: int | None) -> list[int]:
    """The largest bond dimension each bond can reach: limited by the qubits on
    either side, by 4 per two-site step across it, and by ``max_bond``."""
    n = schedule.n
    out = []
    for b, cross in enumerate(schedule.crossings):
        exp = min(b + 1, n - b - 1, 2 * cross)
        chi = 2**exp
        out.append(chi if max_bond is None else min(chi, max_bond))
    return out


def _mps_flops(schedule: Schedule, max_bond: int | None) -> float:
    """About how many FLOPs one simulation takes: an SVD of ``2 chi x 2 chi`` per
    two-site step, at the bounded bond dimension."""
    bound = _bond_bounds(schedule, max_bond)
    total = 0.0
    for st in schedule.steps:
        if st.width > 1:
            chi = max(bound[st.site:st.site + st.width - 1])
            total += 8.0 * (2 * chi) ** 3 * (st.width - 1)
    return total


def _reduced_density(psi, cpsi, support: tuple[int, ...], n: int):
    """Reduced density matrix ``rho[..., i, j]`` (big-endian in ``support``) of
    ``psi`` (shape ``(..., 2**n)``), given also its conjugate ``cpsi``."""
    lead = tuple(psi.shape[:-1])
    lo, hi = support[0], support[-1]
    d = 2 ** len(support)
    if hi - lo + 1 == len(support):  # contiguous: matrix products, no transposes
        shape = lead + (2**lo, d, 2 ** (n - hi - 1))
        t, ct = do("reshape", psi, shape), do("reshape", cpsi, shape)
        if not lead and shape[0] > shape[2]:
            return do("tensordot", t, ct, axes=([0, 2], [0, 2]))
        return do("sum", do("matmul", t, _swap_last(ct)), axis=-3)
    b = len(lead)
    rest = [q for q in range(n) if q not in support]
    perm = tuple(range(b)) + tuple(b + q for q in rest + list(support))
    shape = lead + (2 ** (n - len(support)), d)
    t = do("reshape", do("transpose", do("reshape", psi, lead + (2,) * n), perm), shape)
    ct = do("reshape", do("transpose", do("reshape", cpsi, lead + (2,) * n), perm), shape)
    return do("matmul", _swap_last(t), ct)


def _apply_factors(psi, factors, support: tuple[int, ...], n: int):
    """``psi`` (shape ``(..., 2**n)``) with a 2x2 factor applied to each qubit of
    ``support``."""
    lead = tuple(psi.shape[:-1])
    for f, q in enumerate(support):
        t = do("reshape", psi, lead + (2**q, 2, 2 ** (n - q - 1)))
        t = do("einsum", "ij,...ajb->...aib", factors[f], t)
        psi = do("reshape", t, lead + (2**n,))
    return psi


def _swap_last(x):
    """``x`` with its last two axes swapped."""
    return do("swapaxes", x, -1, -2)


def _bits(bits, n: int) -> tuple[np.ndarray, bool]:
    """One-hot ``(B, n, 2)`` vectors for bitstrings given as text or 0/1 arrays."""
    single = isinstance(bits, str) or (np.ndim(bits) == 1 and not isinstance(bits[0], str))
    rows = [bits] if single else list(bits)
    arr = np.zeros((len(rows), n), dtype=np.int64)
    for r, row in enumerate(rows):
        vals = [int(ch) if ch in "01" else -1 for ch in row] if isinstance(row, str) \
            else list(np.asarray(row).ravel())
        if len(vals) != n or any(v not in (0, 1) for v in vals):
            raise ParameterError(f"bitstring {row!r} is invalid: expected {n} characters "
                                 "'0'/'1' (qubit 0 first)")
        arr[r] = vals
    if not rows:
        raise ParameterError("no bitstrings given")
    return np.eye(2)[arr], single


def compile(circuit: Circuit, observable=None, *, strategy: str = "auto", optimize="auto",
            max_memory: int | None = None, dtype: str = "complex128",
            cache: PathCache | None = None, max_bond: int | None = None,
            cutoff: float = DEFAULT_CUTOFF, min_fidelity: float | None = None) -> Program:
    """Compile ``circuit`` (and optionally an observable) into a :class:`Program`.

    Parameters
    ----------
    circuit : Circuit
    observable : str, PauliString, DenseOperator, Observable or list, optional
        What ``program(params)`` returns the expectation value of.
    strategy : {"auto", "state", "lightcone", "mps"}
        How expectation values are computed: the state vector, one small
        network per group of terms (lightcones), or a truncated matrix product
        state. ``"auto"`` compares costs; it picks ``"mps"`` only when
        ``max_bond`` is given (it never truncates unasked).
    optimize : str or cotengra optimizer
        Path optimizer: ``"auto"`` (opt_einsum for small networks, cotengra's
        preset for large), ``"cotengra"`` (hyper-optimized), any opt_einsum
        name, or a cotengra optimizer object.
    max_memory : int, optional
        Bytes any single tensor may take (default: half the machine's RAM).
    dtype : {"complex128", "complex64"}
    cache : PathCache, optional
        Where paths are cached by structure (default: a shared bounded cache).
    max_bond : int, optional
        ``mps``: the most singular values a split keeps (default: no limit).
    cutoff : float
        ``mps``: a split drops the smallest singular values while their squared
        weight is at most ``cutoff`` times the total (default ``1e-24``: only
        rounding noise, singular values under 1e-12 of the largest).
    min_fidelity : float, optional
        ``mps``: warn (:class:`~tnq.mps.TruncationWarning`) when a call's
        fidelity estimate falls under this.

    Examples
    --------
    >>> import numpy as np, tnq
    >>> theta = tnq.parameters(1)
    >>> c = tnq.Circuit(1).rx(0, theta[0])
    >>> program = tnq.compile(c, "Z0")
    >>> round(float(program(np.array([np.pi / 3]))), 12)
    0.5
    """
    return Program(circuit, observable, strategy=strategy, optimize=optimize,
                   max_memory=max_memory, dtype=dtype, cache=cache, max_bond=max_bond,
                   cutoff=cutoff, min_fidelity=min_fidelity)


