"""The Program: a compiled circuit (and observable) that is called many times.

A Program is a thin, immutable front. At compile time it validates the
options, sorts the circuit's gates for call-time evaluation
(:class:`~tnq.contract.Evaluator`) and asks the planner (:mod:`tnq.planner`)
for a strategy (:mod:`tnq.strategies`), which does all structure-only work:
networks, paths, term groups. A call validates the numbers it is given and
forwards them to the strategy. Per-call facts (an MPS fidelity estimate)
come back with the result (:meth:`Program.evaluate`), never stored on the
Program, so one Program can be called from many threads, pickled at any
time and shipped to other processes with its plans.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from . import checks
from .circuit import Circuit, Op
from .compile import group_terms
from .contract import Evaluator, Values, to_backend, transformation
from .errors import CompileError, CostLimitError, MemoryLimitError, ParameterError, UnsupportedError
from .memo import Memo
from .observables import Observable
from .observables import observable as as_observable
from .plan import PathCache, Plan, check_optimize, default_max_memory, format_bytes
from .planner import choose
from .strategies import REGISTRY, Result, Setup, supporting
from .strategies.base import FLOPS_PER_SECOND, SampleCost, duration
from .symbols import KINDS, Layout, Symbol

__all__ = ["Program", "compile", "Result", "STRATEGIES", "MAX_SAMPLE_FLOPS"]

STRATEGIES = ("auto",) + tuple(REGISTRY)
DTYPES = ("complex128", "complex64")
EXPLAIN_ROWS = 24
"""The most plans :meth:`Program.explain` lists one by one."""
MAX_SAMPLE_FLOPS = 1e12
"""The most FLOPs :meth:`Program.sample` spends by default (about a quarter of
an hour at :data:`~tnq.strategies.base.FLOPS_PER_SECOND`); over it, sampling is
refused with :class:`~tnq.CostLimitError` before anything runs. Pass
``max_flops=`` to allow more."""
EXPLAIN_SHOTS = 1000
"""The shots :meth:`Program.explain`'s sampling line is estimated for."""
DEFAULT_CUTOFF = 1e-24
"""Default ``cutoff`` of the ``mps`` strategy: the squared singular-value weight,
relative to the total, that one split may drop (exact zeros and rounding)."""


class Program:
    """A compiled circuit, optionally with an observable; see :func:`compile`.

    Calling it returns the expectation value of the observable;
    :meth:`evaluate` returns it with the call's facts (strategy, fidelity).
    Its methods give amplitudes, the state, probabilities and samples for the
    same circuit; each output's contraction path is found on first use and
    reused after. A Program never changes after compile: it is safe to call
    from many threads, and it pickles (with its plans) at any time.
    """

    def __init__(self, circuit: Circuit, observable=None, *, strategy: str = "auto",
                 optimize="auto", max_memory: int | None = None, dtype: str = "complex128",
                 cache: PathCache | None = None, max_bond: int | None = None,
                 cutoff: float = DEFAULT_CUTOFF, min_fidelity: float | None = None,
                 progress: bool = True, threshold: float | None = None,
                 target_fidelity: float | None = None):
        if not isinstance(circuit, Circuit):
            raise CompileError(f"expected a tnq.Circuit, got {type(circuit).__name__}")
        if not isinstance(strategy, str) or strategy not in STRATEGIES:
            raise CompileError(f"strategy={strategy!r} is not available; expected one of "
                               f"{STRATEGIES}")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise CompileError(f"dtype={dtype!r} is not supported; expected one of {DTYPES}")
        if max_memory is not None:
            max_memory = checks.positive_bytes(max_memory, "max_memory")
        check_optimize(optimize)
        _check_mps_options(max_bond, cutoff, min_fidelity)
        _check_threshold(threshold)
        _check_target(target_fidelity, cutoff)
        if not isinstance(progress, (bool, np.bool_)):
            raise CompileError(f"progress must be True or False, got {progress!r}")
        if circuit.num_qubits == 0:
            raise CompileError("the circuit has no qubits (an OpenQASM program without qreg): "
                               "there is nothing to simulate")
        observables, vector = _observables(observable, circuit.num_qubits)
        layout = circuit.layout
        ops = _flat_ops(circuit.ops, layout)
        setup = Setup(
            ops=ops, num_qubits=circuit.num_qubits,
            evaluator=Evaluator(ops, layout.size("param"), layout.size("input"), dtype),
            observables=observables,
            terms=group_terms(observables) if observables else None,
            optimize=optimize, max_memory=int(max_memory or default_max_memory()),
            dtype=dtype, cache=cache, max_bond=None if max_bond is None else int(max_bond),
            cutoff=float(cutoff), min_fidelity=min_fidelity, progress=bool(progress),
            threshold=None if threshold is None else float(threshold),
            target_fidelity=None if target_fidelity is None else float(target_fidelity))
        self._setup, self._layout, self._vector = setup, layout, vector
        self._strategy, self._reason = choose(setup, strategy)
        self._derived = Memo(32, travel=False)

    # ------------------------------------------------------------ what it is
    @property
    def strategy(self) -> str:
        """The name of the strategy that evaluates this Program."""
        return self._strategy.name

    @property
    def reason(self) -> str:
        """Why the strategy was chosen (the estimates compared, for ``"auto"``)."""
        return self._reason

    @property
    def observable(self) -> Observable | tuple[Observable, ...] | None:
        """The observable compiled (a tuple of them for a vector of values), or None."""
        obs = self._setup.observables
        return obs if self._vector else (obs[0] if obs else None)

    @property
    def observables(self) -> tuple[Observable, ...]:
        """The observables whose values a call returns, in order (empty: none)."""
        return self._setup.observables

    @property
    def value_shape(self) -> tuple[int, ...]:
        """``()`` for one observable, ``(K,)`` for a list of ``K``: the shape of a
        call's value (after a leading batch axis, for a batch)."""
        return (len(self.observables),) if self._vector else ()

    @property
    def num_qubits(self) -> int:
        return self._setup.num_qubits

    @property
    def num_params(self) -> int:
        return self._setup.evaluator.num_params

    @property
    def num_inputs(self) -> int:
        return self._setup.evaluator.num_inputs

    @property
    def ops(self) -> tuple:
        """The circuit's operations, as compiled (with several symbol vectors of a
        kind, their symbols are those of one flat vector; see :attr:`layout`)."""
        return self._setup.ops

    @property
    def layout(self) -> Layout:
        """The circuit's parameter and input vectors, in the order of the flat
        arrays a call takes."""
        return self._layout

    def pack(self, values, kind: str = "params"):
        """``values`` as one flat array: a mapping ``{name: array}`` of the
        circuit's vectors of ``kind`` (``"params"`` or ``"inputs"``) is
        concatenated in :attr:`layout` order (arrays of shape ``(size,)`` or
        ``(batch, size)``); anything else is returned as it is.

        Examples
        --------
        >>> import tnq
        >>> gamma, beta = tnq.parameters(1, "gamma"), tnq.parameters(2, "beta")
        >>> c = tnq.Circuit(2).rx(0, gamma[0]).ry(1, beta[1]).rz(0, beta[0])
        >>> tnq.compile(c).pack({"beta": [2.0, 3.0], "gamma": [1.0]})
        array([1., 2., 3.])
        """
        return _pack(self._layout, values, _kind(kind))

    def unpack(self, flat, kind: str = "params") -> dict:
        """The flat array ``flat`` (last axis: the vectors of ``kind`` in
        :attr:`layout` order) split into ``{name: array}``."""
        vectors = self._layout.vectors(_kind(kind))
        size = sum(v.size for v in vectors)
        shape = tuple(getattr(flat, "shape", ()))
        if not shape or shape[-1] != size:
            raise ParameterError(f"unpack: expected an array whose last axis has the "
                                 f"{size} {kind} ({self._layout.describe(_kind(kind))}), "
                                 f"got shape {shape}")
        out, at = {}, 0
        for v in vectors:
            out[v.name] = flat[..., at:at + v.size]
            at += v.size
        return out

    @property
    def dtype(self) -> str:
        return self._setup.dtype

    @property
    def max_memory(self) -> int:
        """Bytes any single tensor may take."""
        return self._setup.max_memory

    @property
    def max_bond(self) -> int | None:
        return self._setup.max_bond

    @property
    def cutoff(self) -> float:
        return self._setup.cutoff

    @property
    def threshold(self) -> float | None:
        """``pauli``: the fraction of the observable's largest coefficient under which Pauli
        strings are dropped (None: not given)."""
        return self._setup.threshold

    @property
    def progress(self) -> bool:
        """Whether calls estimated over a couple of seconds show a progress bar."""
        return self._setup.progress

    @property
    def setup(self) -> Setup:
        """What the strategy was built from: operations, evaluator, grouped terms
        and options (structure only; used by tnq's adjoint gradients)."""
        return self._setup

    @property
    def evaluator(self) -> Evaluator:
        """How gate arrays are built from the numbers of a call (see :mod:`tnq.contract`)."""
        return self._setup.evaluator

    @property
    def plans(self) -> tuple[Plan, ...]:
        """The contraction plans made so far (expectation plans first)."""
        return self._strategy.plans()

    @property
    def transforms(self) -> frozenset[str]:
        """The function transformations (``"jax.jit"``, ``"jax.vmap"``, ``"jax.grad"``,
        ``"torch.func.vmap"``, ``"torch.func.grad"``) the strategy runs under; torch
        autograd always works."""
        return self._strategy.transforms

    def batch_limit(self) -> int:
        """How many parameter vectors one batched contraction may take within
        ``max_memory``."""
        return self._strategy.batch_limit()

    def derived(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """A structure-only object made from this Program once (``make()``) and
        kept with it: a jitted function, a shift table. Used by tnq's own layers
        (gradients, executors); not pickled with the Program."""
        return self._derived.get(key, make)

    def __setattr__(self, name: str, value) -> None:
        if "_derived" in self.__dict__:
            raise AttributeError(f"a compiled Program is immutable; cannot set {name!r} "
                                 "(compile again with other options)")
        super().__setattr__(name, value)

    # ------------------------------------------------------------ outputs
    def __call__(self, params=None, inputs=None, *, like: str | None = None):
        """The expectation value of the compiled observable (a real scalar)."""
        return self.evaluate(params, inputs, like=like).value

    def expectation(self, params=None, inputs=None, *, like: str | None = None):
        """The expectation value of the compiled observable (a real scalar).

        Examples
        --------
        >>> import tnq
        >>> c = tnq.Circuit(2).h(0).cx(0, 1)
        >>> round(float(tnq.compile(c, "Z0 Z1 + 0.5*X0 X1")()), 12)
        1.5
        """
        return self.evaluate(params, inputs, like=like).value

    def evaluate(self, params=None, inputs=None, *, like: str | None = None,
                 shifts: dict | None = None) -> Result:
        """The expectation value with the facts of this call: a :class:`Result`.

        ``result.value`` is what calling the Program returns; ``result.fidelity``
        is the MPS fidelity estimate (``None`` for exact strategies; one per row
        for a batch), ``result.strategy`` the strategy used. ``shifts`` (used by
        :func:`tnq.param_shift`) maps a gate kind to a ``(B, k, p)`` array added
        to its parameters: ``B`` shifted evaluations in one call.

        Examples
        --------
        >>> import tnq
        >>> ghz = tnq.Circuit(30).h(0)
        >>> for q in range(29):
        ...     _ = ghz.cx(q, q + 1)
        >>> result = tnq.compile(ghz, "Z0 Z29", strategy="mps", max_bond=2).evaluate()
        >>> round(float(result.value), 12), result.fidelity, result.strategy
        (1.0, 1.0, 'mps')
        """
        if not self.observables:
            raise CompileError("this Program has no observable; pass one to tnq.compile")
        t0 = time.perf_counter()
        values = self._values(params, inputs, like, "expectation")
        value, facts = self._strategy.expectation(values, shifts)
        if not self._vector:  # one observable: a scalar (numpy: a numpy float)
            value = value[0] if len(value.shape) == 1 else value[..., 0]
        return Result(value, self.strategy, seconds=time.perf_counter() - t0, **facts)

    def state(self, params=None, inputs=None, *, like: str | None = None):
        """The state vector, shape ``(2**n,)``, qubit 0 most significant.

        With a batch of parameter or input vectors (a leading axis of size
        ``B``) the result has shape ``(B, 2**n)``.
        """
        return self._strategy.state(self._values(params, inputs, like, "state"))

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
        values = self._values(params, inputs, like, "amplitude")
        amps = self._strategy.amplitude(values, onehot)
        return amps[0] if single else amps

    def probabilities(self, params=None, inputs=None, *, qubits: Sequence[int] | None = None,
                      like: str | None = None):
        """Probabilities of all ``2**k`` outcomes of ``qubits`` (default: all qubits).

        For a subset of qubits the doubled network (ket and bra, the other
        qubits traced) is contracted directly, never the full state.
        """
        keep = None if qubits is None else self._check_qubits(qubits)
        values = self._values(params, inputs, like, "probabilities")
        return self._strategy.probabilities(values, keep)

    def sample(self, shots: int, params=None, inputs=None, *, seed=None,
               max_flops: float | None = MAX_SAMPLE_FLOPS,
               method: str | None = None) -> np.ndarray:
        """``shots`` bitstrings drawn from the circuit's output distribution.

        Returns a ``(shots, n)`` array of 0/1 (``uint8``), qubit 0 in column 0.
        ``seed`` is None, a non-negative integer, or a numpy ``Generator`` or
        ``SeedSequence``; the same seed gives the same samples.

        Before anything runs, the strategy estimates each way it can draw
        (:meth:`~tnq.strategies.Strategy.sample_cost`): from the exact
        probabilities of all outcomes (when they fit ``max_memory``), from
        marginals of 8 qubits at a time conditioned on the bits drawn so far
        (wide circuits; never the full state), or from the MPS (strategy
        ``"mps"``). The cheapest is taken. When every way is over
        ``max_memory``, or the cheapest is over ``max_flops`` (default
        :data:`MAX_SAMPLE_FLOPS`; None: no limit), it refuses with
        :class:`~tnq.MemoryLimitError` or :class:`~tnq.CostLimitError`, giving
        the estimates and the ways other strategies would take (such as
        ``strategy="mps", max_bond=...``). ``method`` (``"probabilities"``,
        ``"conditional"``, ``"mps"``) asks for one way, if the strategy has it
        (see :meth:`sample_method`). A result over ``max_memory``
        (``shots * n`` bytes) is refused too; working arrays are kept within
        ``max_memory`` by drawing the shots in chunks. With ``progress`` (see
        :func:`compile`), sampling estimated over a couple of seconds shows a
        progress bar.

        Examples
        --------
        >>> import tnq
        >>> bell = tnq.compile(tnq.Circuit(2).h(0).cx(0, 1))
        >>> bits = bell.sample(1000, seed=1)
        >>> bits.shape, sorted({"".join(map(str, row)) for row in bits})
        ((1000, 2), ['00', '11'])
        """
        shots, n = checks.shots(shots), self.num_qubits
        rng = np.random.default_rng(checks.seed(seed))
        limit = _max_flops(max_flops)
        checks.fits(shots * n, self.max_memory, f"sample: {shots} shots of {n} qubits (one "
                    "byte per bit)", "draw fewer shots per call, or pass a larger max_memory= "
                    "to tnq.compile")
        values = self._values(params, inputs, None, "sample")
        if values.batch is not None:
            raise ParameterError("sample takes one parameter vector, got a batch; use "
                                 "tnq.TnqExecutor to sample many parameter vectors at once")
        cost = self._sample_method(shots, limit, method)
        return self._strategy.sample_with(cost, values, shots, rng)

    def sample_method(self, shots: int, *, max_flops: float | None = MAX_SAMPLE_FLOPS,
                      method: str | None = None) -> SampleCost:
        """The way :meth:`sample` would draw ``shots`` samples, with its estimated
        cost (a :class:`~tnq.strategies.base.SampleCost`), or the refusal it
        would raise; contraction paths it needs are planned here, once.

        Examples
        --------
        >>> import tnq
        >>> way = tnq.compile(tnq.Circuit(3).h(0), strategy="state").sample_method(1000)
        >>> way.method, way.flops < 1e6
        ('probabilities', True)
        """
        return self._sample_method(checks.shots(shots), _max_flops(max_flops), method)

    def _sample_method(self, shots: int, limit: float, method: str | None) -> SampleCost:
        """The cheapest way the strategy can draw ``shots`` samples within the
        limits (or the way ``method`` names); else a refusal with every
        estimate and the alternatives."""
        costs = self._strategy.sample_cost(shots, limit if method is None else math.inf,
                                           method=method)
        if method is not None and not costs:
            names = [c.method for c in self._strategy.sample_cost(1, plan=False)]
            raise ParameterError(f"method={method!r} is not a way strategy {self.strategy!r} "
                                 f"samples; expected None (the cheapest) or one of {names}")
        fitting = [c for c in costs if c.usable]
        complete = [c for c in fitting if not c.partial]
        best = min(complete or fitting, key=lambda c: c.cost, default=None)
        if best is not None and best.flops <= limit and not best.partial:
            return best
        others = [cls.sample_alternative(self._setup, shots)
                  for name, cls in REGISTRY.items() if name != self.strategy]
        better = sorted((c for c in others if c is not None and c.fits
                         and (best is None or best.partial or c.cost < best.cost)),
                        key=lambda c: c.cost)
        what = f"sample: {shots} shots of this {self.num_qubits}-qubit circuit " \
            f"(strategy {self.strategy!r})"
        ways = "; ".join(c.describe() for c in costs)
        advice = "".join(f" Instead: {c.describe()}: {c.advice}." for c in better[:1])
        if best is None:
            raise MemoryLimitError(
                f"{what}: no way of drawing them fits max_memory="
                f"{format_bytes(self.max_memory)}: {ways}.{advice} Or pass a larger "
                "max_memory= to tnq.compile")
        bound = "at least " if best.partial else "about "
        raise CostLimitError(
            f"{what} would take {bound}{best.flops:.2g} FLOPs ({bound}"
            f"{duration(best.seconds)} at {FLOPS_PER_SECOND:.0e} FLOP/s, with its memory "
            f"traffic), over max_flops={limit:.2g}: {ways}.{advice} Or pass a larger "
            "max_flops= to sample (None: no limit)")

    def simulate(self, params=None, inputs=None, *, like: str | None = None):
        """The circuit's state as a truncated :class:`~tnq.mps.MPS` (``max_bond``,
        ``cutoff`` as compiled), with its fidelity estimate; strategy ``"mps"``.

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
        return self._strategy.simulate(self._values(params, inputs, like, "simulate"))

    def _values(self, params, inputs, like, output: str) -> Values:
        """The call's checked values, for an output and a transformation the
        strategy supports."""
        if output not in self._strategy.outputs:
            raise UnsupportedError(
                f"{output} is not an output of strategy {self.strategy!r}; strategies that "
                f"compute it: {supporting(output=output)} (pass strategy= to tnq.compile)")
        values = self.evaluator.values(_pack(self._layout, params, "param"),
                                       _pack(self._layout, inputs, "input"), like)
        how = transformation(values.vals)
        if how is not None and how not in self._strategy.transforms:
            raise UnsupportedError(
                f"strategy {self.strategy!r} cannot run under {how}; strategies that can: "
                f"{supporting(transform=how)}. Call it eagerly (torch autograd works), or "
                "use tnq.param_shift")
        return values

    def _check_qubits(self, qubits) -> tuple[int, ...]:
        return checks.qubits(qubits, self.num_qubits)

    # ------------------------------------------------------------ report
    def explain(self) -> str:
        """A readable report: circuit, strategy and why, and every plan's costs.

        Examples
        --------
        >>> import tnq
        >>> print(tnq.compile(tnq.Circuit(2).h(0).cx(0, 1), "Z0 Z1").explain())
        ... # doctest: +ELLIPSIS
        tnq Program: 2 qubits, 2 gates (0 symbolic kinds), 0 params, 0 inputs, complex128
        strategy: statevector ...
        """
        e, s = self.evaluator, self._setup
        lines = [
            f"tnq Program: {self.num_qubits} qubits, {len(self.ops)} gates "
            f"({len(e.kinds)} symbolic kinds), {self.num_params} params, "
            f"{self.num_inputs} inputs, {self.dtype}",
            f"strategy: {self.strategy} ({self.reason})",
            f"max_memory: {format_bytes(self.max_memory)}",
        ]
        if s.terms is not None:
            what = f"{len(s.observables)} observables" if self._vector else "observable"
            lines.append(f"{what}: {s.terms.num_terms} terms in "
                         f"{len(s.terms.supports)} support groups (largest support "
                         f"{max((len(p) for p in s.terms.supports), default=0)} qubits)")
        lines += self._strategy.explain()
        if "sample" in self._strategy.outputs:
            costs = self._strategy.sample_cost(EXPLAIN_SHOTS, MAX_SAMPLE_FLOPS, plan=False)
            lines.append(f"sampling {EXPLAIN_SHOTS} shots: " +
                         "; ".join(c.describe() for c in costs))
        lines.append(f"{'plan':<22} {'tensors':>7} {'flops':>10} {'peak':>11} "
                     f"{'search':>9} {'source':<8} optimizer")
        rows = [p.row(s.itemsize) for p in self.plans]
        if len(rows) > EXPLAIN_ROWS:
            rows = rows[:EXPLAIN_ROWS] + [f"... and {len(rows) - EXPLAIN_ROWS} more plans"]
        return "\n".join(lines + rows)

    def __repr__(self) -> str:
        shown = [str(o) for o in self.observables]
        obs = "" if not shown else f", observable={shown[0]!r}" if not self._vector \
            else f", observables={shown!r}"
        return f"Program(num_qubits={self.num_qubits}, gates={len(self.ops)}{obs})"


def _observables(given, num_qubits: int) -> tuple[tuple[Observable, ...], bool]:
    """The observables of ``tnq.compile``'s argument, and whether it is a list
    (a vector of values) rather than one observable."""
    if given is None:
        return (), False
    vector = isinstance(given, (list, tuple))
    items = list(given) if vector else [given]
    if vector and not items:
        raise CompileError("observable is an empty list; give at least one observable "
                           "(or None for a Program without expectation values)")
    out = []
    for k, item in enumerate(items):
        if vector and isinstance(item, (list, tuple)):
            raise CompileError(f"observable {k} of the list is itself a list ({item!r}); a "
                               "list gives one value per observable: write a sum as a sum "
                               "('Z0 + Z1' or tnq.Z(0) + tnq.Z(1))")
        obs = as_observable(item)
        obs.check(num_qubits)
        out.append(obs)
    return tuple(out), vector


def _flat_ops(ops: Sequence[Op], layout: Layout) -> tuple[Op, ...]:
    """``ops`` with every symbol in its kind's flat vector (as they are when each
    kind has at most one vector)."""
    if len(layout.params) <= 1 and len(layout.inputs) <= 1:
        return tuple(ops)
    offsets = {kind: layout.offsets(kind) for kind in KINDS}
    return tuple(Op(op.name, op.qubits, tuple(layout.flatten(p, offsets)
                                              if isinstance(p, Symbol) else p
                                              for p in op.params), op.matrix)
                 if op.symbolic else op for op in ops)


def _kind(kind: str) -> str:
    if kind not in ("params", "inputs"):
        raise ParameterError(f"kind must be 'params' or 'inputs', got {kind!r}")
    return kind[:-1] if kind == "inputs" else "param"


def _pack(layout: Layout, values, kind: str):
    """A mapping of named vectors as one flat array on the backend of its arrays
    (see :meth:`Program.pack`); anything else as it is."""
    return layout.pack(values, kind, convert=to_backend)


def _max_flops(max_flops) -> float:
    """``max_flops`` of :meth:`Program.sample` checked: a positive number, or
    None for no limit."""
    if max_flops is None:
        return math.inf
    if isinstance(max_flops, bool) or not isinstance(max_flops, (int, float, np.integer,
                                                                  np.floating)) \
            or not max_flops > 0:
        raise ParameterError(f"max_flops must be a positive number of FLOPs or None (no "
                             f"limit), got {max_flops!r}")
    return float(max_flops)


def _check_target(target_fidelity, cutoff) -> None:
    if target_fidelity is None:
        return
    if isinstance(target_fidelity, bool) or not isinstance(
            target_fidelity, (int, float, np.integer, np.floating)) or not 0 < target_fidelity < 1:
        raise CompileError(f"target_fidelity must be a number in (0, 1) (the fidelity estimate "
                           f"an MPS must reach) or None, got {target_fidelity!r}")
    if cutoff != DEFAULT_CUTOFF:
        raise CompileError(f"pass either target_fidelity (got {target_fidelity!r}) or cutoff "
                           f"(got {cutoff!r}): with a target, each split's cutoff follows from it")


def _check_threshold(threshold) -> None:
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(
            threshold, (int, float, np.integer, np.floating)) or not 0 <= threshold < 1):
        raise CompileError(f"threshold must be a number in [0, 1) (the fraction of the "
                           f"observable's largest coefficient under which strategy 'pauli' "
                           f"drops Pauli "
                           f"strings) or None, got {threshold!r}")


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


def _bits(bits, n: int) -> tuple[np.ndarray, bool]:
    """One-hot ``(B, n, 2)`` vectors for bitstrings given as text or 0/1 arrays
    (see :func:`tnq.checks.bits`)."""
    rows, single = checks.bits(bits, n)
    return np.eye(2)[rows], single


def compile(circuit: Circuit, observable=None, *, strategy: str = "auto", optimize="auto",
            max_memory: int | None = None, dtype: str = "complex128",
            cache: PathCache | None = None, max_bond: int | None = None,
            cutoff: float = DEFAULT_CUTOFF, min_fidelity: float | None = None,
            progress: bool = True, threshold: float | None = None,
            target_fidelity: float | None = None) -> Program:
    """Compile ``circuit`` (and optionally an observable) into a :class:`Program`.

    Parameters
    ----------
    circuit : Circuit
    observable : str, PauliString, DenseOperator, Observable, or a list of them
        What ``program(params)`` returns the expectation value of. A list (or
        tuple) of ``K`` observables gives a vector of ``K`` values (``(B, K)``
        for a batch), computed together: terms shared between them are
        evaluated once. To sum observables, write a sum.
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
    target_fidelity : float, optional
        ``mps``: the fidelity estimate each call must reach, instead of a
        ``cutoff``: each split may drop at most ``1 - target**(1/splits)`` of
        its weight, so bonds grow where the state needs them, up to
        ``max_bond`` or the largest bond that fits ``max_memory`` (then a
        :class:`~tnq.mps.TruncationWarning` says the target was missed).
        ``explain()`` shows the bond caps and the peak memory (see docs/mps.md).
    progress : bool
        Show a progress bar (tqdm, on stderr, cleared when done) for work
        estimated to take more than a couple of seconds: path searches,
        lightcone groups, samples, MPS sweeps (default True; False: never).
    threshold : float, optional
        ``pauli`` (Pauli propagation, for circuits whose lightcones are too
        wide): drop Pauli strings whose coefficient is under this fraction of
        the observable's largest coefficient; each result carries an estimate
        of its error (:meth:`Program.evaluate`). ``"auto"`` considers ``"pauli"`` only when
        it is given (it never approximates unasked); ``0`` is exact.

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
                   cutoff=cutoff, min_fidelity=min_fidelity, progress=progress,
                   threshold=threshold, target_fidelity=target_fidelity)


