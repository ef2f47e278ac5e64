"""Hypothesis strategies for random circuits over the whole gate set."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tnq

from . import reference as ref

NAMES = sorted(tnq.GATES)
angles = st.floats(-7, 7, allow_nan=False, allow_infinity=False)


@st.composite
def circuits(draw, max_qubits=5, max_gates=12, symbolic=True):
    """(circuit, params, inputs, reference steps) with tied/affine symbols."""
    n = draw(st.integers(1, max_qubits))
    names = [g for g in NAMES if tnq.GATES[g].num_qubits <= n]
    theta, x = tnq.parameters(3), tnq.inputs(2)
    params = np.array(draw(st.lists(angles, min_size=3, max_size=3)))
    inputs = np.array(draw(st.lists(angles, min_size=2, max_size=2)))
    circuit, steps = tnq.Circuit(n), []
    for _ in range(draw(st.integers(0, max_gates))):
        name = draw(st.sampled_from(names))
        gate = tnq.GATES[name]
        qubits = draw(st.permutations(range(n)))[: gate.num_qubits]
        args, values = [], []
        for _ in range(gate.num_params):
            kind = draw(st.sampled_from(["const", "param", "input"] if symbolic else ["const"]))
            if kind == "const":
                v = draw(angles)
                args.append(v)
                values.append(v)
            else:
                a, b = draw(angles), draw(angles)
                k = draw(st.integers(0, 2 if kind == "param" else 1))
                sym = (theta if kind == "param" else x)[k]
                args.append(a * sym + b)
                values.append(a * (params if kind == "param" else inputs)[k] + b)
        getattr(circuit, name)(*qubits, *args)
        steps.append((ref.gate(name, *values), qubits))
    return circuit, (params if circuit.num_params else None), \
        (inputs if circuit.num_inputs else None), steps


@st.composite
def pauli_sums(draw, n):
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(1, n))
        qs = draw(st.permutations(range(n)))[:k]
        ps = {q: draw(st.sampled_from("XYZ")) for q in qs}
        terms.append((draw(st.floats(-2, 2, allow_nan=False)), ps))
    return terms
