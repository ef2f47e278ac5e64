"""Term parts: one many-term observable cut into Programs whose values add up.

``<O> = sum_k <O_k>`` for any partition of the terms of ``O``, so a Program
with many terms (a Hamiltonian on thousands of qubits) becomes ``K``
Programs over the same circuit, each with a contiguous share of the terms
(and so of the lightcone groups), compiled here once with the same strategy
and options. Each is a task of every call; the values and gradients are
summed. No Dask here.
"""

from __future__ import annotations

import math

from ..circuit import Circuit
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
    size = math.ceil(len(terms) / min(parts, max(1, len(terms))))
    circuit = Circuit._from_ops(program.num_qubits, program.ops)
    return tuple(compile(circuit, Observable(terms[a:a + size]), strategy=program.strategy,
                         max_memory=program.max_memory, dtype=program.dtype,
                         max_bond=program.max_bond, cutoff=program.cutoff,
                         progress=program.progress)
                 for a in range(0, len(terms), size))
