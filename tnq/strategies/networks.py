"""Outputs from closed tensor networks: the state, amplitudes, marginals, samples.

These outputs contract the circuit's ket network, closed by bit vectors
(amplitudes), or the doubled ket-bra network with the other qubits traced
(marginals), so a wide circuit never builds its state. Both tensor-network
strategies (``state`` and ``lightcone``) compute them this way; each network's
plan is made on first use and kept (it travels when the Program is pickled).

Samples are drawn one of two ways, whichever is estimated cheaper before
anything is contracted (:meth:`NetworkOutputs.sample_cost`): from the
probabilities of all ``2**n`` outcomes (when they fit ``max_memory``), or
:data:`SAMPLE_BLOCK` qubits at a time from marginals conditioned on the bits
drawn so far. Each block's network is planned once, at one bitstring, by a
quick search (greedy, then subtree reconfiguration when the path is costly)
or the Program's own ``optimize`` when one was given; the distinct prefixes
of the shots are contracted with that path in batches, so a block costs at
most its planned FLOPs times ``min(shots, 2**start)`` prefixes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cotengra as ctg
import numpy as np
from autoray import do

from ..compile import Network, amplitude_network, marginal_network, state_network
from ..contract import to_backend, to_numpy
from ..errors import ParameterError
from ..memo import Memo
from ..plan import Plan, format_bytes, make_plan
from ..progress import bar
from .base import STEP_COST, SampleCost, Setup, probabilities_cost

__all__ = ["NetworkOutputs", "ClosedNetworkOutputs", "SAMPLE_BLOCK", "DENSE_SAMPLE_QUBITS",
           "REFINE_FLOPS", "sample_in_chunks", "sample_blocks", "quick_plan", "search_seconds"]

SAMPLE_BLOCK = 8
"""Qubits sampled per step when sampling from conditional marginals."""
DENSE_SAMPLE_QUBITS = 20
"""Up to this many qubits, samplers that need no estimate draw from the exact
probability vector (:class:`tnq.TnqExecutor` for batches of parameters)."""
REFINE_FLOPS = 1e6
"""A block's quick greedy path costing more than this many FLOPs for one
bitstring is refined by subtree reconfiguration (about a second on two
thousand tensors; a thousand shots then save far more)."""


def search_seconds(num_tensors: int) -> float:
    """The modelled time of one :func:`quick_plan` search on ``num_tensors``
    tensors (its greedy path and, at most, a reconfiguration): about a second
    at two thousand tensors."""
    return 2.5e-7 * num_tensors**2


def sample_blocks(n: int) -> list[tuple[int, ...]]:
    """The blocks of qubits the conditional sampler draws, in order."""
    return [tuple(range(start, min(start + SAMPLE_BLOCK, n)))
            for start in range(0, n, SAMPLE_BLOCK)]


def quick_plan(network: Network, *, name: str) -> tuple[Plan, float]:
    """A plan of ``network`` (at one bitstring) from a quick, deterministic
    search, and the elements its contraction writes.

    cotengra's greedy path, refined by subtree reconfiguration when it costs
    more than :data:`REFINE_FLOPS`: a second or so on networks of thousands of
    tensors, where a full search can take minutes.
    """
    sizes = network.size_dict(1)
    tree = ctg.array_contract_tree(network.inputs, network.output, sizes, optimize="greedy")
    if float(tree.contraction_cost()) > REFINE_FLOPS:
        tree = tree.subtree_reconfigure(subtree_size=6, maxiter=min(network.num_tensors, 256))
    path = tuple(tuple(int(i) for i in step) for step in tree.get_path())
    out = math.prod(sizes[i] for i in network.output)
    contract = ctg.array_contract_expression(network.inputs, network.output, sizes,
                                             optimize=list(path))
    plan = Plan(name=name, network=network, batch=1, path=path,
                flops=float(tree.contraction_cost()), peak=max(int(tree.max_size()), out),
                search_time=0.0, optimizer="quick", _contract=contract)
    return plan, float(tree.total_write())


def _writes(plan: Plan) -> float:
    """Elements the intermediates of ``plan``'s contraction write (all slices)."""
    network = plan.network
    tree = ctg.ContractionTree.from_path(network.inputs, network.output,
                                         network.size_dict(plan.batch), path=plan.path)
    return float(tree.total_write()) * plan.slices


class NetworkOutputs:
    """Plans (made on first use) and calls of a circuit's closed networks."""

    def __init__(self, setup: Setup):
        self.setup = setup
        self._plans = Memo(64)
        self._blocks = Memo(len(sample_blocks(setup.num_qubits)) + 1)
        self._batched = Memo(16, travel=False)

    def plan(self, key, build: Callable[[], Network], batch: int = 1) -> tuple[Plan, tuple]:
        """The plan of the network ``build()`` names ``key``, and its operand refs."""
        s = self.setup

        def make():
            network = build()
            name = key if isinstance(key, str) else key[0]
            plan = make_plan(network, name=name, batch=batch, **s.plan_options)
            return plan, s.evaluator.refs(network)

        return self._plans.get((key, batch), make)

    def plan_if_made(self, key, batch: int = 1) -> Plan | None:
        """The plan of ``key`` if it was made already."""
        hit = self._plans.lookup((key, batch))
        return None if hit is None else hit[0]

    def plans(self) -> tuple[Plan, ...]:
        blocks = [plan for _, (plan, _, _) in sorted(self._blocks.items())]
        return tuple(plan for _, (plan, _) in self._plans.items()) + tuple(blocks)

    def state_plan(self) -> Plan:
        s = self.setup
        return self.plan(("state", frozenset()), lambda: state_network(s.ops, s.num_qubits))[0]

    def run(self, key, build, values, bits=None, batch: int = 1, conj: bool = False):
        """Contract an unbatched-parameter network (amplitudes, marginals)."""
        e = self.setup.evaluator
        if values.batch is not None:
            raise ParameterError(f"'{key if isinstance(key, str) else key[0]}' takes one "
                                 f"parameter vector, got a batch of {values.batch}; batches "
                                 "work for expectation values, states and probabilities")
        plan, refs = self.plan(key, build, batch)
        groups = e.groups(values, conj=conj)
        if bits is not None:
            bits = [to_backend(b.astype(self.setup.dtype), values.vals) for b in bits]
        return plan(*e.operands(refs, groups, bits))

    def state(self, values, shifts: dict | None = None):
        """The state, ``(2**n,)`` or ``(B, 2**n)`` for batched values or shifts."""
        e, n = self.setup.evaluator, self.setup.num_qubits
        batch, shifts = e.shifts(values, shifts)
        kinds = values.batched | frozenset(shifts or ())
        plan, refs = self.plan(("state", kinds),
                               lambda: state_network(self.setup.ops, n, e.batched_ops(kinds)),
                               batch or 1)
        psi = plan(*e.operands(refs, e.groups(values, shifts=shifts)))
        lead = () if batch is None else (batch,)
        if batch is not None and not kinds:  # nothing varies: repeat the one state
            psi = do("broadcast_to", psi[None], (batch,) + tuple(psi.shape))
        return do("reshape", psi, lead + (2**n,))

    def amplitude(self, values, onehot: np.ndarray):
        n = self.setup.num_qubits
        return self.run("amplitude", lambda: amplitude_network(self.setup.ops, n), values,
                        bits=list(onehot.transpose(1, 0, 2)), batch=onehot.shape[0])

    def probabilities(self, values, qubits: tuple[int, ...] | None):
        """Of all qubits (from the state) when ``qubits`` is None, else a marginal."""
        n = self.setup.num_qubits
        if qubits is None:
            psi = self.state(values)
            return do("real", psi * do("conj", psi))
        p = self.run(("marginal", qubits),
                     lambda: marginal_network(self.setup.ops, n, qubits), values, conj=True)
        return do("real", do("reshape", p, (2 ** len(qubits),)))

    # ------------------------------------------------------------ sampling
    def sample_cost(self, shots: int, limit: float = math.inf, *, plan: bool = True,
                    method: str | None = None) -> tuple[SampleCost, ...]:
        """The estimated costs of sampling from all probabilities and from
        conditional marginals (see :meth:`conditional_cost`; not planned when
        the probabilities cost less than its steps alone), or of ``method`` only."""
        dense = self.probabilities_cost(shots)
        if method is not None:
            ways = {"probabilities": lambda: dense,
                    "conditional": lambda: self.conditional_cost(shots, limit, plan=plan)}
            return (ways[method](),) if method in ways else ()
        if dense.fits:
            floor = STEP_COST * len(sample_blocks(self.setup.num_qubits)) * \
                (len(self.setup.ops) + self.setup.num_qubits)
            if dense.cost <= floor:  # cheaper than the blocks' array operations alone
                return dense, SampleCost("conditional", 0.0, 0, True, "not planned: exact "
                                         "probabilities cost less than its steps alone",
                                         steps=floor / STEP_COST, partial=True)
            limit = min(limit, dense.flops)
        return dense, self.conditional_cost(shots, limit, plan=plan)

    def probabilities_cost(self, shots: int) -> SampleCost:
        """Sampling from the state's probabilities (its plan's costs once planned)."""
        plan = self.plan_if_made(("state", frozenset()))
        if plan is None:
            return probabilities_cost(self.setup, shots)
        return probabilities_cost(self.setup, shots, plan.flops, plan.network.num_tensors)

    def block_plan(self, block: tuple[int, ...]) -> tuple[Plan, tuple, float]:
        """The plan of ``block``'s marginals conditioned on one bitstring of the
        qubits before it, its operand refs, and the elements it writes."""
        s = self.setup
        n = s.num_qubits

        def make():
            network = marginal_network(s.ops, n, block, tuple(range(block[0])))
            name = f"sample[{block[0]}:{block[-1] + 1}]"
            if isinstance(s.optimize, str) and s.optimize == "auto":
                plan, writes = quick_plan(network, name=name)
            else:  # the optimizer the user asked for
                plan = make_plan(network, name=name, batch=1, **s.plan_options)
                writes = _writes(plan)
            return plan, s.evaluator.refs(network), writes

        return self._blocks.get(block, make)

    def _shot_bytes(self) -> int:
        """Working bytes per shot of the conditional sampler: a block's
        probabilities, their running sums, the bits and their prefixes."""
        return 3 * 8 * 2**SAMPLE_BLOCK + 24 * self.setup.num_qubits

    def _shot_chunk(self) -> int:
        """Shots per chunk of the conditional sampler (see :func:`sample_in_chunks`)."""
        return max(1, self.setup.max_memory // self._shot_bytes())

    def _per_contraction(self, plan: Plan) -> int:
        """Bitstrings one contraction of ``plan``'s path takes within ``max_memory``
        (0: not even one; 1 for a sliced plan, run one bitstring at a time)."""
        need = 2 * plan.peak * self.setup.itemsize
        if plan.slices > 1:
            return 1
        return int(self.setup.max_memory // need)

    def conditional_cost(self, shots: int, limit: float = math.inf, *,
                         plan: bool = True) -> SampleCost:
        """Sampling ``SAMPLE_BLOCK`` qubits at a time: per block, its plan's FLOPs
        (at one bitstring) times the distinct prefixes the shots can have,
        ``min(shots, 2**start)`` (per chunk of shots). Blocks are planned in
        order (a progress bar when that is expected to take a while), and the
        estimate stops once past ``limit`` FLOPs, or at the first block not
        yet planned when ``plan`` is false (``partial``)."""
        s = self.setup
        blocks = sample_blocks(s.num_qubits)
        todo = [b for b in blocks if self._blocks.lookup(b) is None] if plan else []
        with bar(len(todo), "sampling: planning blocks", show=s.progress, unit="block",
                 seconds=sum(search_seconds(self._block_tensors(b)) for b in todo)) as shown:
            return self._conditional_cost(blocks, shots, limit, plan, shown)

    def _block_tensors(self, block: tuple[int, ...]) -> int:
        """Tensors of ``block``'s conditional network: the ket and bra, and one
        bit vector per qubit before the block."""
        return 2 * (len(self.setup.ops) + self.setup.num_qubits) + block[0]

    def _conditional_cost(self, blocks, shots: int, limit: float, search: bool,
                          shown) -> SampleCost:
        s = self.setup
        chunks = math.ceil(shots / self._shot_chunk())
        flops = writes = steps = memory = 0.0
        for i, block in enumerate(blocks):
            made = self._blocks.lookup(block)
            if made is None and not search:
                return SampleCost("conditional", flops, memory, True, "not planned yet "
                                  "(its blocks are planned by the first sample call)",
                                  steps=steps, writes=writes, partial=True)
            if made is None:
                made = self.block_plan(block)
                shown.update(1)
            plan, _, w = made
            start, per = block[0], self._per_contraction(plan)
            if per < 1:
                need = 2 * plan.peak * s.itemsize
                return SampleCost("conditional", math.inf, need, False,
                                  f"qubits {start}-{block[-1]} need {format_bytes(need)} for "
                                  f"one bitstring, over max_memory={format_bytes(s.max_memory)}")
            prefixes = chunks if start == 0 else min(shots, chunks * 2**min(start, 62))
            calls = chunks if start == 0 else max(chunks, math.ceil(prefixes / per))
            flops += plan.flops * prefixes + 2 * shots * 2 ** len(block)  # and the draws
            writes += w * prefixes
            steps += calls * max(plan.network.num_tensors - 1, 1) + 6 * chunks  # and draws
            memory = max(memory, min(per, prefixes) * 2 * plan.peak * s.itemsize)
            if flops > limit and i + 1 < len(blocks):
                return SampleCost("conditional", flops, memory, True,
                                  f"{SAMPLE_BLOCK} qubits at a time; estimate stopped after "
                                  f"block {i + 1} of {len(blocks)}",
                                  steps=steps, writes=writes, partial=True)
        return SampleCost("conditional", flops, memory, True,
                          f"{len(blocks)} blocks of {SAMPLE_BLOCK} qubits, at most "
                          f"min({shots}, 2^start) prefixes each",
                          steps=steps, writes=writes)

    def sample_with(self, cost: SampleCost, values, shots: int,
                    rng: np.random.Generator) -> np.ndarray:
        """Exact samples, drawn as ``cost`` says: from the probability vector,
        or ``SAMPLE_BLOCK`` qubits at a time from conditional marginals (never
        the full state); in chunks of shots whose working arrays fit
        ``max_memory``."""
        n = self.setup.num_qubits
        if values.batch is not None:
            raise ParameterError("sample takes one parameter vector, got a batch of "
                                 f"{values.batch}")
        if cost.method == "probabilities":
            return sample_in_chunks(lambda k: self._draw_dense(values, k, rng), shots, n,
                                    8 + 8 * n, self.setup.max_memory)
        chunk = self._shot_chunk()
        blocks = sample_blocks(n)
        total = len(blocks) * math.ceil(shots / chunk)
        with bar(total, f"samples ({SAMPLE_BLOCK}-qubit blocks)", show=self.setup.progress,
                 seconds=cost.seconds, unit="block") as shown:
            return sample_in_chunks(lambda k: self._draw_blocks(values, k, rng, shown), shots,
                                    n, self._shot_bytes(), self.setup.max_memory)

    def sample(self, values, shots: int, rng: np.random.Generator) -> np.ndarray:
        """Exact samples the cheapest way (see :meth:`sample_cost`)."""
        costs = [c for c in self.sample_cost(shots) if c.usable and not c.partial]
        best = min(costs, key=lambda c: c.cost, default=None)
        return self.sample_with(best or self.conditional_cost(shots), values, shots, rng)

    def _draw_dense(self, values, shots: int, rng: np.random.Generator) -> np.ndarray:
        n = self.setup.num_qubits
        p = to_numpy(self.probabilities(values, None))
        p = np.clip(p, 0, None)
        idx = rng.choice(2**n, size=shots, p=p / p.sum())
        return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)

    def _draw_blocks(self, values, shots: int, rng: np.random.Generator, shown) -> np.ndarray:
        s = self.setup
        n, e = s.num_qubits, s.evaluator
        groups = e.groups(values, conj=True)
        out = np.zeros((shots, n), dtype=np.uint8)
        for block in sample_blocks(n):
            plan, refs, _ = self.block_plan(block)
            start, k = block[0], len(block)
            if start == 0:
                p = to_numpy(do("real", plan(*e.operands(refs, groups)))).reshape(1, -1)
                rows = np.broadcast_to(p, (shots, p.shape[1]))
            else:
                prefixes, inverse = np.unique(out[:, :start], axis=0, return_inverse=True)
                rows = self._conditional(block, plan, refs, groups, prefixes, values)
                rows = rows[inverse.ravel()]
            rows = np.clip(rows, 0, None)
            cdf = np.cumsum(rows, axis=1)
            draw = (cdf < rng.random((shots, 1)) * cdf[:, -1:]).sum(axis=1)
            draw = np.minimum(draw, rows.shape[1] - 1)
            out[:, start:start + k] = (draw[:, None] >> np.arange(k - 1, -1, -1)) & 1
            shown.update(1)
        return out

    def _conditional(self, block, plan: Plan, refs, groups, prefixes: np.ndarray,
                     values) -> np.ndarray:
        """``(P, 2**k)`` probabilities of ``block`` given each of the ``P``
        prefixes (unnormalised), in batches that fit ``max_memory``."""
        e, dtype = self.setup.evaluator, self.setup.dtype
        per = max(self._per_contraction(plan), 1)
        parts = []
        for lo in range(0, len(prefixes), per):
            chunk = prefixes[lo:lo + per]
            onehot = np.eye(2, dtype=dtype)[chunk]  # (B, start, 2)
            bits = [to_backend(np.ascontiguousarray(onehot[:, q]), values.vals)
                    for q in range(chunk.shape[1])]
            contract = plan if len(chunk) == 1 else self._rebatched(block, plan, len(chunk))
            p = contract(*e.operands(refs, groups, bits))
            parts.append(to_numpy(do("real", p)).reshape(len(chunk), -1))
        return np.concatenate(parts)

    def _rebatched(self, block, plan: Plan, batch: int):
        """``plan``'s path as a contraction of ``batch`` bitstrings at once (each
        pairwise step costs at most ``batch`` times its cost at one)."""
        network = plan.network

        def make():
            return ctg.array_contract_expression(network.inputs, network.output,
                                                 network.size_dict(batch),
                                                 optimize=list(plan.path))

        return self._batched.get((block, batch), make)


def sample_in_chunks(draw: Callable[[int], np.ndarray], shots: int, n: int, per_shot: int,
                     max_memory: int) -> np.ndarray:
    """``shots`` samples, a ``(shots, n)`` uint8 array, from ``draw(k)`` (``k``
    samples) called for chunks of at most ``max_memory // per_shot`` shots: a
    sampler whose working arrays take ``per_shot`` bytes a shot stays within
    ``max_memory``. One call when all shots fit."""
    chunk = max(1, max_memory // per_shot)
    if shots <= chunk:
        return draw(shots)
    out = np.empty((shots, n), dtype=np.uint8)
    for start in range(0, shots, chunk):
        k = min(chunk, shots - start)
        out[start:start + k] = draw(k)
    return out


class ClosedNetworkOutputs:
    """A strategy's state, amplitudes, marginals and samples from its
    :class:`NetworkOutputs` (mixed into the tensor-network strategies)."""

    networks: NetworkOutputs

    def state(self, values):
        return self.networks.state(values)

    def amplitude(self, values, onehot: np.ndarray):
        return self.networks.amplitude(values, onehot)

    def probabilities(self, values, qubits):
        return self.networks.probabilities(values, qubits)

    def sample(self, values, shots: int, rng: np.random.Generator) -> np.ndarray:
        return self.networks.sample(values, shots, rng)

    def sample_cost(self, shots: int, limit: float = math.inf, *, plan: bool = True,
                    method: str | None = None) -> tuple[SampleCost, ...]:
        return self.networks.sample_cost(shots, limit, plan=plan, method=method)

    def sample_with(self, cost: SampleCost, values, shots: int,
                    rng: np.random.Generator) -> np.ndarray:
        return self.networks.sample_with(cost, values, shots, rng)
