"""Long-range two-qubit gates in the mps strategy: MPOs across the gap instead of SWAP chains.

Checked against the dense reference simulator on circuits whose gates span
the whole chain (every two-qubit gate of the registry, either qubit order),
with truncation (fidelity estimate and error bar against the exact state),
and for gradients against parameter shift and finite differences.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq

from . import reference as ref
from .test_mps import ising

ATOL = 1e-10
TWO = sorted(name for name, g in tnq.GATES.items() if g.num_qubits == 2)


def mpo_steps(program):
    return [s for s in program._strategy.schedule.steps if s.subscripts.startswith("mpo")]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_gates_spanning_the_chain_match_the_reference(data):
    n = data.draw(st.integers(3, 7))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    c, steps = tnq.Circuit(n), []
    for q in range(n):
        c.ry(q, 0.3 + q)
        steps.append((ref.gate("ry", 0.3 + q), [q]))
    for _ in range(data.draw(st.integers(1, 6))):
        name = data.draw(st.sampled_from(TWO))
        a, b = data.draw(st.sampled_from([(0, n - 1), (n - 1, 0), (1, n - 1), (n - 2, 0)]))
        args = rng.uniform(-3, 3, tnq.GATES[name].num_params)
        getattr(c, name)(a, b, *args)
        steps.append((ref.gate(name, *args), [a, b]))
        q = data.draw(st.integers(0, n - 1))
        c.rx(q, 0.7)
        steps.append((ref.gate("rx", 0.7), [q]))
    psi = ref.simulate(n, steps)
    program = tnq.compile(c, strategy="mps")
    assert np.abs(np.asarray(program.state()) - psi).max() < ATOL


def whole_chain(n):
    c = tnq.Circuit(n)
    theta = tnq.parameters(3 * n + 5)
    for q in range(n):
        c.ry(q, theta[q])
    for q in range(0, n - 1, 2):
        c.rzz(q, q + 1, theta[n + q])
    c.crx(0, n - 1, theta[2 * n]).rzz(n - 1, 0, theta[2 * n + 1]).cx(n - 1, 1)
    c.cp(2, n - 1, theta[2 * n + 2]).rxx(0, n - 2, theta[2 * n + 3]).cz(n - 1, 0)
    for q in range(n):
        c.rx(q, theta[2 * n + 4 + q])
    return c


def test_mpos_replace_swap_chains_where_cheaper():
    n = 10
    c = whole_chain(n).swap(0, n - 1)
    program = tnq.compile(c, ising(n) + f" + Z0 Z{n - 1}", strategy="mps")
    params = np.random.default_rng(40).uniform(0, 2 * np.pi, c.num_params)
    mpo = mpo_steps(program)
    assert len(mpo) == 6 and {s.width for s in mpo} >= {n}  # every gate but the SWAP
    assert program._strategy.schedule.swaps == 2 * (n - 2)  # the SWAP (rank 4) by swaps
    exact = tnq.compile(c, ising(n) + f" + Z0 Z{n - 1}", strategy="state")
    assert abs(float(program(params)) - float(exact(params))) < ATOL
    assert np.abs(np.asarray(program.state(params)) - np.asarray(exact.state(params))).max() \
        < ATOL


def test_truncated_mpos_keep_the_fidelity_estimate_and_error_bar_honest():
    n = 12
    c = whole_chain(n)
    params = np.random.default_rng(41).uniform(0, 2 * np.pi, c.num_params)
    psi = np.asarray(tnq.compile(c, strategy="state").state(params))
    exact = float(tnq.compile(c, ising(n), strategy="state")(params))
    program = tnq.compile(c, ising(n), strategy="mps", max_bond=4)
    assert mpo_steps(program)
    result = program.evaluate(params)
    state = program.simulate(params)
    assert max(state.bond_dims) == 4 and result.fidelity < 0.999
    overlap = abs(np.vdot(psi, np.asarray(state.to_dense()))) ** 2
    assert abs(overlap - result.fidelity) < 0.1 * (1 - result.fidelity) + 1e-9
    assert abs(float(result.value) - exact) <= result.error


def test_gradients_through_mpos_match_parameter_shift_and_finite_differences():
    pytest.importorskip("torch")
    n = 5
    c = whole_chain(n)
    program = tnq.compile(c, ising(n), strategy="mps")
    assert mpo_steps(program)
    params = np.random.default_rng(42).uniform(0, 2 * np.pi, c.num_params)
    _, grad = tnq.value_and_grad(program, params, backend="torch")
    assert np.abs(grad - tnq.param_shift(program, params).grad).max() < 1e-9
    eps = 1e-6
    for j in (2 * n, 2 * n + 3):  # the crx and rxx spanning the chain
        e = np.zeros_like(params)
        e[j] = eps
        fd = (float(program(params + e)) - float(program(params - e))) / (2 * eps)
        assert abs(fd - grad[j]) < 1e-6
