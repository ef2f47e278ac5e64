"""Strategy ``statevector``: apply the circuit's fused gate blocks to a state
vector in gate order, then evaluate every observable term on it at once.

For narrow circuits of any depth, where the state fits in memory: no path
search, and a cost known exactly from the structure (``2^n * d`` per block of
dimension ``d``). At compile time the gates are fused into blocks of a few
qubits (:mod:`tnq.compile.fusion`); constant blocks are multiplied out, and
the others are grouped by signature (:mod:`tnq.strategies.blocks`). A call
builds the gate tables, every block by a few batched matrix products, and
applies the blocks one matrix product each. Amplitudes, probabilities and
samples come from the state vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from autoray import do

from ..checks import fits
from ..compile.fusion import DEFAULT_WIDTH, fuse
from ..contract import Values, device_key, to_backend, to_numpy
from ..errors import ParameterError
from ..memo import Memo
from ..plan import Plan, format_bytes, pow2
from .base import (
    MAX_BATCH,
    TRANSFORMS,
    Estimate,
    SampleCost,
    Setup,
    Strategy,
    TermOperators,
    probabilities_cost,
)
from .blocks import ArrayOps, BlockRecipe, apply_block, to_qubit_order
from .networks import DENSE_SAMPLE_QUBITS, sample_in_chunks
from .state import state_expectation

__all__ = ["StateVectorStrategy", "WORKING_STATES", "CACHED_STATE"]

WORKING_STATES = 4
"""States (of one parameter vector) a call may hold at once: the state, a
transposed copy, a product and its conjugate; ``auto`` considers this strategy
only when that many fit ``max_memory``."""


CACHED_STATE = 2**18
"""Amplitudes (4 MiB in complex128) up to which a state is taken to stay in
cache: beyond, every state a call writes counts as memory-bound writes."""


class StateVectorStrategy(Strategy):
    """The state vector, computed in gate order over fused blocks.

    Examples
    --------
    >>> import tnq
    >>> c = tnq.Circuit(3).h(0).cx(0, 1).cx(1, 2)
    >>> program = tnq.compile(c, "Z0 Z2", strategy="statevector")
    >>> round(float(program()), 12), program.plans
    (1.0, ())
    """

    name = "statevector"
    outputs = frozenset({"expectation", "state", "amplitude", "probabilities", "sample"})
    transforms = TRANSFORMS

    def __init__(self, setup: Setup):
        super().__init__(setup)
        n = setup.num_qubits
        fits(2**n * setup.itemsize, setup.max_memory, f"strategy 'statevector': a {n}-qubit "
             "state", "pass a larger max_memory= to tnq.compile, or use strategy 'state', "
             "'lightcone' or 'mps'")
        self.fusion = fuse(setup.ops, n, width=DEFAULT_WIDTH)
        self.recipe = BlockRecipe(self.fusion, setup.ops, setup.evaluator)
        self.operators = TermOperators(setup.terms, setup.dtype) \
            if setup.terms is not None else None
        self._prefix = self.recipe.first
        self._start = Memo(8, travel=False)

    @classmethod
    def unavailable(cls, setup: Setup) -> str | None:
        n = setup.num_qubits
        need = WORKING_STATES * 2**n * setup.itemsize
        if need > setup.max_memory:
            return (f"{WORKING_STATES} {n}-qubit states need {format_bytes(need)}, over "
                    f"max_memory={format_bytes(setup.max_memory)}")
        if not setup.observables and n > DENSE_SAMPLE_QUBITS:
            return (f"no observable and over {DENSE_SAMPLE_QUBITS} qubits: amplitudes and "
                    "samples from closed networks need no state vector")
        return None

    def estimate(self) -> Estimate:
        s, n, f = self.setup, self.setup.num_qubits, self.fusion
        supports = s.terms.supports if s.terms is not None else ()
        flops = f.flops() + self.recipe.flops() + sum(pow2(n + len(sp)) for sp in supports)
        memory = 2**n * s.itemsize
        note = (f"{len(s.ops)} gates in {len(f.blocks)} blocks; a {n}-qubit state needs "
                f"{format_bytes(memory)}")
        steps = len(f.blocks) + sum(len(g.steps) for g in self.recipe.groups) + len(supports)
        return Estimate(flops, memory, True, note, steps=steps, writes=self._writes(supports))

    def _writes(self, supports) -> float:
        """States written (each block's product, transposed copies, the conjugate
        and the copies reduced density matrices of scattered supports make),
        counted only for states beyond :data:`CACHED_STATE`: smaller ones stay
        in cache, where the products' FLOPs are the cost."""
        n = self.setup.num_qubits
        if 2**n <= CACHED_STATE:
            return 0.0
        moved = sum(2 if b.mode == "back" else 1 for b in self.fusion.blocks)
        scattered = sum(2 for sp in supports if sp[-1] - sp[0] + 1 != len(sp))
        return (moved + scattered + 1) * pow2(n)

    def prepare(self) -> None:
        """Nothing to plan: the blocks were made with the strategy."""

    def plans(self) -> tuple[Plan, ...]:
        return ()

    def explain(self) -> list[str]:
        f, r = self.fusion, self.recipe
        widest = max((len(b.qubits) for b in f.blocks), default=0)
        diagonal = sum(b.diagonal for b in f.blocks)
        return [f"statevector: {len(self.setup.ops)} gates fused into {len(f.blocks)} blocks "
                f"(width {f.width}, widest {widest} qubits, {diagonal} diagonal); "
                f"{len(r.constant)} constant, the others in {len(r.groups)} signature groups"]

    def batch_limit(self) -> int:
        s = self.setup
        per = WORKING_STATES * 2**s.num_qubits * s.itemsize
        return int(max(1, min(MAX_BATCH, s.max_memory // per)))

    # ------------------------------------------------------------ per call
    def _initial(self, like):
        """The state after the leading constant blocks, on ``like``'s backend."""
        def numpy_state():
            n = self.setup.num_qubits
            psi = np.zeros(2**n, dtype=self.setup.dtype)
            psi[0] = 1.0
            xp = ArrayOps(psi)
            for b in range(self._prefix):
                psi = apply_block(psi, self.recipe.constant[b], self.fusion.blocks[b], n, xp)
            return psi

        start = self._start.get("numpy", numpy_state)
        return self._start.get(device_key(like), lambda: to_backend(start, like))

    def _state(self, values: Values, shifts: dict | None = None):
        """``(2**n,)`` or ``(B, 2**n)`` in qubit order."""
        e, n = self.setup.evaluator, self.setup.num_qubits
        batch, shifts = e.shifts(values, shifts)
        psi = self._initial(values.vals)
        blocks = self.fusion.blocks
        if self._prefix < len(blocks):
            matrices = self.recipe.matrices(e.tables(values, shifts), values.vals)
            xp = ArrayOps(psi)
            for b in range(self._prefix, len(blocks)):
                psi = apply_block(psi, matrices[b], blocks[b], n, xp)
        psi = to_qubit_order(psi, self.fusion)
        if batch is not None and len(psi.shape) == 1:  # nothing varies: one state for all
            psi = do("broadcast_to", psi[None], (batch, 2**n))
        return psi

    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        assert self.operators is not None
        psi = self._state(values, shifts)
        return state_expectation(psi, self.operators, self.setup.num_qubits, values), {}

    def state(self, values: Values):
        return self._state(values)

    def amplitude(self, values: Values, onehot: np.ndarray):
        _one_vector(values, "amplitude")
        n = self.setup.num_qubits
        index = onehot[:, :, 1].astype(np.int64) @ (1 << np.arange(n - 1, -1, -1))
        psi = self._state(values)
        return psi[to_backend(index, psi)]

    def probabilities(self, values: Values, qubits: Sequence[int] | None):
        if qubits is not None:
            _one_vector(values, ("marginal", qubits))
        psi = self._state(values)
        p = do("real", psi * do("conj", psi))
        if qubits is None:
            return p
        n = self.setup.num_qubits
        kept = sorted(qubits)
        t = do("reshape", p, (2,) * n)
        others = tuple(q for q in range(n) if q not in set(kept))
        if others:
            t = do("sum", t, axis=others)
        t = do("transpose", t, tuple(kept.index(q) for q in qubits))
        return do("reshape", t, (2 ** len(qubits),))

    def sample_cost(self, shots: int, limit: float = math.inf, *, plan: bool = True,
                    method: str | None = None) -> tuple[SampleCost, ...]:
        """From the state's probabilities, at the simulation's exact cost."""
        if method not in (None, "probabilities"):
            return ()
        f = self.fusion
        return (probabilities_cost(self.setup, shots, flops=f.flops() + self.recipe.flops(),
                                   steps=len(f.blocks)),)

    def sample(self, values: Values, shots: int, rng: np.random.Generator) -> np.ndarray:
        n = self.setup.num_qubits
        p = np.clip(to_numpy(self.probabilities(values, None)), 0, None)
        p = p / p.sum()

        def draw(k: int) -> np.ndarray:
            idx = rng.choice(2**n, size=k, p=p)
            return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)

        return sample_in_chunks(draw, shots, n, 8 + 8 * n, self.setup.max_memory)


def _one_vector(values: Values, key) -> None:
    """Refuse a batch of parameter vectors for an output that takes one."""
    if values.batch is not None:
        name = key if isinstance(key, str) else key[0]
        raise ParameterError(f"'{name}' takes one parameter vector, got a batch of "
                             f"{values.batch}; batches work for expectation values, states "
                             "and probabilities")
