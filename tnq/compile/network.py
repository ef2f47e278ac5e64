"""Tensor-network specs of a circuit: index labels per tensor, and where each
tensor's array comes from at call time. No arrays are built here.

Every wire carries dimension 2 except the batch index :data:`BATCH`, whose size
is the number of bitstrings, or of parameter vectors, given in a call. A gate
on ``k`` qubits is a tensor with ``k`` new output labels followed by its ``k``
input labels; a diagonal gate keeps the wires' labels (a hyperedge), so it adds
no new index at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..circuit import Op

__all__ = ["BATCH", "Source", "Network", "state_network", "amplitude_network",
           "marginal_network"]

BATCH = 0
"""Label of the batch index: bitstrings, or parameter vectors of a batched call."""


@dataclass(frozen=True)
class Source:
    """Where a tensor's array comes from.

    ``kind`` is ``"zero"`` (the ``|0>`` vector), ``"op"`` (gate ``index`` of the
    circuit, complex-conjugated when ``conj``), ``"bit"`` (the projection
    vector of qubit ``index`` given per call) or ``"obs"`` (an observable's
    operator).
    """

    kind: str
    index: int = -1
    conj: bool = False


@dataclass(frozen=True)
class Network:
    """A closed or open tensor network: labels per tensor and their sources."""

    inputs: tuple[tuple[int, ...], ...]
    output: tuple[int, ...]
    sources: tuple[Source, ...]
    batched: bool = False
    fixed: tuple[tuple[int, int], ...] = ()
    """Labels of fixed size other than 2 (such as a group's member index)."""

    def size_dict(self, batch: int = 1) -> dict[int, int]:
        sizes = {i: 2 for t in self.inputs for i in t}
        sizes.update((i, s) for i, s in self.fixed if i in sizes)
        if self.batched:
            sizes[BATCH] = batch
        return sizes

    @property
    def num_tensors(self) -> int:
        return len(self.inputs)


def ket(ops: Sequence[Op], n: int, start: int, conj: bool = False,
        batched: frozenset[int] = frozenset(), leads: Sequence[tuple] | None = None,
        rank: dict[int, int] | None = None):
    """Labels and sources of ``U|0...0>`` for ``ops`` on ``n`` wires from ``start``.

    Gate ``i`` gets the leading labels ``leads[i]`` (default: the batch index
    when ``i`` is in ``batched``); ``rank`` maps circuit qubits to wires
    ``0..n-1`` (default: the identity).
    """
    wires = list(range(start, start + n))
    label = start + n
    inputs: list[tuple[int, ...]] = [(w,) for w in wires]
    sources = [Source("zero")] * n
    for i, op in enumerate(ops):
        qs = op.qubits if rank is None else tuple(rank[q] for q in op.qubits)
        ins = tuple(wires[q] for q in qs)
        lead = leads[i] if leads is not None else (BATCH,) if i in batched else ()
        if op.gate.diagonal:
            inputs.append(lead + ins)
        else:
            outs = tuple(range(label, label + len(ins)))
            label += len(ins)
            for q, o in zip(qs, outs):
                wires[q] = o
            inputs.append(lead + outs + ins)
        sources.append(Source("op", i, conj))
    return inputs, sources, wires, label


def state_network(ops: Sequence[Op], n: int, batched: frozenset[int] = frozenset()) -> Network:
    """The ket ``U|0...0>`` with the ``n`` final wires open, in qubit order.

    The gates at positions ``batched`` carry a leading batch index (their
    parameters vary across a batch), which then leads the output too.
    """
    inputs, sources, wires, _ = ket(ops, n, 1, batched=batched)
    lead = (BATCH,) if batched else ()
    return Network(tuple(inputs), lead + tuple(wires), tuple(sources), batched=bool(batched))


def amplitude_network(ops: Sequence[Op], n: int) -> Network:
    """``<b|U|0...0>`` for a batch of bitstrings ``b``, closed by one vector per qubit."""
    inputs, sources, wires, _ = ket(ops, n, 1)
    inputs += [(BATCH, w) for w in wires]
    sources += [Source("bit", q) for q in range(n)]
    return Network(tuple(inputs), (BATCH,), tuple(sources), batched=True)


def marginal_network(ops: Sequence[Op], n: int, keep: Sequence[int],
                     condition: Sequence[int] = ()) -> Network:
    """Probabilities of the ``keep`` qubits, optionally with the ``condition``
    qubits projected onto per-call bitstrings (batched), the rest traced out.

    The ket and its conjugate share their final wires, so the kept wires appear
    in the output as hyperedges (the diagonal of the reduced density matrix).
    """
    k_in, k_src, wires, label = ket(ops, n, 1)
    b_in, b_src, b_wires, _ = ket(ops, n, label, conj=True)
    relabel = dict(zip(b_wires, wires))
    b_in = [tuple(relabel.get(i, i) for i in t) for t in b_in]
    inputs = k_in + b_in
    sources = k_src + b_src
    inputs += [(BATCH, wires[q]) for q in condition]
    sources += [Source("bit", q) for q in condition]
    output = ((BATCH,) if condition else ()) + tuple(wires[q] for q in keep)
    return Network(tuple(inputs), output, tuple(sources), batched=bool(condition))
