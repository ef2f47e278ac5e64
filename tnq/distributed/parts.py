"""Term parts: one many-term observable cut into Programs whose values add up.

``<O> = sum_k <O_k>`` for any partition of the terms of ``O``, so a Program
with many terms (a Hamiltonian on thousands of qubits) becomes ``K``
Programs over the same circuit, compiled here once with the same strategy
and options. Each is a task of every call; the values and gradients are
summed. With the ``lightcone`` strategy whole structural groups of cones go
to one part (a group is one batched contraction, so splitting one would
repeat its fixed costs in every part), largest first into the part with
the least work so far (members x 2^width); otherwise the terms are cut into
contiguous shares. No Dask here.
"""

from __future__ import annotations

import math

from ..circuit import Circuit
from ..compile import group_cones, group_terms, reduce_cones
from ..errors import CompileError
from ..observables import Observable
from ..program import Program, compile

__all__ = ["term_parts"]


def term_parts(program: Program, parts: int) -> tuple[Program, ...]:
    """``program`` as ``parts`` Programs over contiguous shares of its terms
    (fewer when it has fewer terms); ``(program,)`` for ``parts == 1``.

    Examples
    --------
    >>> import tnq
    >>> p = tnq.compile(tnq.Circuit(3).h(0).cx(0, 1), "Z0 Z1 + X0 + 0.5*Z2")
    >>> [str(q.observable) for q in term_parts(p, 2)]
    ['Z0 Z1 + X0', '0.5*Z2']
    """
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise CompileError(f"terms must be a positive integer (the parts a many-term "
                           f"observable is cut into), got {parts!r}")
    if parts == 1:
        return (program,)
    if program.value_shape:
        raise CompileError(f"terms={parts} cuts one observable into parts; this Program has a "
                           f"list of {len(program.observables)} observables: compile one "
                           "Program per observable, or pass terms=1")
    terms = program.observables[0].terms
    if program.strategy == "lightcone":
        shares = _by_group(program, terms, parts)
    else:
        size = math.ceil(len(terms) / min(parts, max(1, len(terms))))
        shares = [list(terms[a:a + size]) for a in range(0, len(terms), size)]
    circuit = Circuit._from_ops(program.num_qubits, program.ops)
    return tuple(compile(circuit, Observable(tuple(share)), strategy=program.strategy,
                         max_memory=program.max_memory, dtype=program.dtype,
                         max_bond=program.max_bond, cutoff=program.cutoff,
                         progress=program.progress)
                 for share in shares if share)


def _by_group(program: Program, terms, parts: int) -> list[list]:
    """The terms in ``parts`` shares of whole lightcone groups, balanced by work."""
    grouped = group_terms(program.observables[0], merge_subsets=False)
    groups = group_cones(program.ops, reduce_cones(program.ops, program.num_qubits, grouped))
    bins: list[list[int]] = [[] for _ in range(min(parts, max(1, len(groups))))]
    work = [0.0] * len(bins)
    share_of: dict[tuple[int, ...], int] = {}
    for g in sorted(groups, key=lambda g: -g.size * 2.0**g.width):
        k = min(range(len(bins)), key=work.__getitem__)
        work[k] += g.size * 2.0**g.width
        for cone in g.cones:
            share_of[tuple(sorted(grouped.supports[cone.row]))] = k
    shares: list[list] = [[] for _ in bins]
    for t in terms:  # a term whose support is not a cone's (the constant): the first share
        shares[share_of.get(tuple(sorted(t.qubits)), 0)].append(t)
    return shares
