"""Outputs from closed tensor networks: the state, amplitudes, marginals, samples.

These outputs contract the circuit's ket network, closed by bit vectors
(amplitudes), or the doubled ket-bra network with the other qubits traced
(marginals), so a wide circuit never builds its state. Both tensor-network
strategies (``state`` and ``lightcone``) compute them this way; each network's
plan is made on first use and kept (it travels when the Program is pickled).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from autoray import do

from ..compile import Network, amplitude_network, marginal_network, state_network
from ..contract import to_backend, to_numpy
from ..errors import ParameterError
from ..memo import Memo
from ..plan import Plan, make_plan
from .base import Setup

__all__ = ["NetworkOutputs", "ClosedNetworkOutputs", "SAMPLE_BLOCK", "DENSE_SAMPLE_QUBITS",
           "sample_in_chunks"]

SAMPLE_BLOCK = 8
"""Qubits sampled per step when sampling from a closed network."""
DENSE_SAMPLE_QUBITS = 20
"""Up to this many qubits, samples are drawn from the exact probability vector."""


class NetworkOutputs:
    """Plans (made on first use) and calls of a circuit's closed networks."""

    def __init__(self, setup: Setup):
        self.setup = setup
        self._plans = Memo(64)

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
        return tuple(plan for _, (plan, _) in self._plans.items())

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

    def sample(self, values, shots: int, rng: np.random.Generator) -> np.ndarray:
        """Exact samples: from the probability vector of a small circuit, else
        ``SAMPLE_BLOCK`` qubits at a time from marginals conditioned on the
        bits drawn so far (never the full state); in chunks of shots whose
        working arrays fit ``max_memory``."""
        n = self.setup.num_qubits
        per_shot = 3 * 8 * 2**SAMPLE_BLOCK + 24 * n  # block probabilities, CDFs, bits
        return sample_in_chunks(lambda k: self._draw(values, k, rng), shots, n, per_shot,
                                self.setup.max_memory)

    def _draw(self, values, shots: int, rng: np.random.Generator) -> np.ndarray:
        s = self.setup
        n = s.num_qubits
        if n <= DENSE_SAMPLE_QUBITS and 2**n * s.itemsize * 4 <= s.max_memory:
            p = to_numpy(self.probabilities(values, None))
            idx = rng.choice(2**n, size=shots, p=p / p.sum())
            return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)
        out = np.zeros((shots, n), dtype=np.uint8)
        for start in range(0, n, SAMPLE_BLOCK):
            block = tuple(range(start, min(start + SAMPLE_BLOCK, n)))
            cond = tuple(range(start))
            if cond:
                prefixes, inverse = np.unique(out[:, :start], axis=0, return_inverse=True)
                onehot = np.eye(2)[prefixes]
                probs = self.run(("conditional", block),
                                 lambda b=block, c=cond: marginal_network(s.ops, n, b, c),
                                 values, bits=list(onehot.transpose(1, 0, 2)),
                                 batch=len(prefixes), conj=True)
                probs = to_numpy(do("real", probs)).reshape(len(prefixes), -1)
                rows = probs[inverse.ravel()]
            else:
                p = to_numpy(self.probabilities(values, block))
                rows = np.broadcast_to(p, (shots, p.size))
            rows = np.clip(rows, 0, None)
            cdf = np.cumsum(rows, axis=1)
            draw = (cdf < rng.random((shots, 1)) * cdf[:, -1:]).sum(axis=1)
            draw = np.minimum(draw, rows.shape[1] - 1)
            k = len(block)
            out[:, start:start + k] = (draw[:, None] >> np.arange(k - 1, -1, -1)) & 1
        return out


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
