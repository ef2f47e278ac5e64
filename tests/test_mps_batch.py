"""The mps strategy's batched sweep and its probabilities.

Probabilities are checked against the dense reference simulator (all qubits,
scattered marginals in any order, wherever the orthogonality centre ends);
batches against row-by-row runs (values, fidelities, bond dimensions, with
and without truncation) and, for gradients, against parameter shift and
finite differences.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq

from . import reference as ref
from .strategies import circuits
from .test_mps import brickwork, ising

ATOL = 1e-10


# ------------------------------------------------------------ probabilities
@settings(max_examples=40, deadline=None)
@given(circuits(max_qubits=6, max_gates=14), st.data())
def test_probabilities_match_reference_for_any_qubits_in_any_order(case, data):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    qubits = data.draw(st.permutations(range(n)))[: data.draw(st.integers(1, n))]
    psi = ref.simulate(n, steps)
    full = (np.abs(psi) ** 2).reshape((2,) * n)
    expected = marginal(psi, n, qubits)
    full = np.abs(psi) ** 2
    program = tnq.compile(circuit, strategy="mps")
    got = np.asarray(program.probabilities(params, inputs, qubits=qubits))
    assert np.abs(got - expected).max() < ATOL
    mps = program.simulate(params, inputs)
    assert np.abs(np.asarray(mps.probabilities(qubits)) - expected).max() < ATOL
    assert np.abs(np.asarray(mps.probabilities()) - full).max() < ATOL


def test_probabilities_of_a_bond_one_chain_need_no_density_matrix():
    n = 14
    c = tnq.Circuit(n)
    for q in range(n):
        c.ry(q, 0.1 + 0.2 * q).rz(q, 0.3 * q)
    psi = tnq.compile(c, strategy="mps").simulate()
    assert max(psi.bond_dims) == 1
    exact = np.abs(np.asarray(tnq.compile(c, strategy="state").state())) ** 2
    assert np.abs(np.asarray(psi.probabilities()) - exact).max() < ATOL
    assert abs(float(np.sum(psi.probabilities([13, 0, 6]))) - 1.0) < ATOL


@pytest.mark.parametrize("last", [0, 4, 8])
def test_marginals_wherever_the_centre_ends(last):
    rng = np.random.default_rng(20)
    n = 10
    c, params = brickwork(n, 3, rng, extra=[("crx", 0, 9)])
    for q in range(n - 2, last - 1, -1):  # a chain that must end at (last, last + 1),
        c.cx(q + 1, q)  # where the orthogonality centre stays
    psi = ref_state(c, params)
    program = tnq.compile(c, strategy="mps")
    mps = program.simulate(params)
    assert mps.centre in (last, last + 1)
    for qubits in [(0, 1, 2), (3, 4, 5, 6), (9, 0), (2, 7, 5), (8, 9), tuple(range(10))]:
        expected = marginal(psi, n, qubits)
        assert np.abs(np.asarray(mps.probabilities(qubits)) - expected).max() < ATOL
        got = program.probabilities(params, qubits=qubits)
        assert np.abs(np.asarray(got) - expected).max() < ATOL


def marginal(psi, n, qubits):
    """Dense reference: probabilities of ``qubits`` in that order."""
    full = (np.abs(psi) ** 2).reshape((2,) * n)
    rest = tuple(q for q in range(n) if q not in qubits)
    kept = full.sum(axis=rest)  # axes: sorted(qubits)
    return np.transpose(kept, [sorted(qubits).index(q) for q in qubits]).reshape(-1)


def ref_state(circuit, params):
    return np.asarray(tnq.compile(circuit, strategy="state").state(params))


# ------------------------------------------------------------ batches
@pytest.mark.parametrize("max_bond, cutoff", [(4, 0.0), (None, 1e-3), (None, 1e-24)])
def test_a_batch_is_its_rows_run_alone(max_bond, cutoff):
    rng = np.random.default_rng(21)
    n = 9
    c, _ = brickwork(n, 4, rng, extra=[("crx", 1, 7)])
    batch = rng.uniform(0, 2 * np.pi, (5, c.num_params))
    program = tnq.compile(c, [ising(n), "Z0 Z8 + Y3"], strategy="mps", max_bond=max_bond,
                          cutoff=cutoff)
    result = program.evaluate(batch)
    assert result.value.shape == (5, 2) and result.fidelity.shape == (5,)
    for b in range(5):
        single = program.evaluate(batch[b])
        assert np.abs(np.asarray(result.value[b]) - np.asarray(single.value)).max() < ATOL
        assert abs(result.fidelity[b] - single.fidelity) < 1e-12
    if cutoff == 1e-3:  # the rows needed different bonds: the batch padded them
        dims = {program.simulate(row).bond_dims for row in batch}
        assert len(dims) > 1
    if max_bond is None and cutoff < 1e-20:
        exact = tnq.compile(c, [ising(n), "Z0 Z8 + Y3"], strategy="state")
        assert np.abs(np.asarray(result.value) - np.asarray(exact(batch))).max() < ATOL


def test_a_batch_of_inputs():
    n = 6
    x, w = tnq.inputs(n), tnq.parameters(2 * n)
    c = tnq.Circuit(n)
    for q in range(n):
        c.rx(q, x[q]).ry(q, w[q])
    for q in range(n - 1):
        c.cx(q, q + 1)
    for q in range(n):
        c.rz(q, w[n + q])
    rng = np.random.default_rng(22)
    params, inputs = rng.uniform(0, 3, 2 * n), rng.uniform(0, 3, (7, n))
    mps = tnq.compile(c, ising(n), strategy="mps")
    exact = tnq.compile(c, ising(n), strategy="state")
    assert np.abs(np.asarray(mps(params, inputs)) - np.asarray(exact(params, inputs))).max() \
        < ATOL


def test_gradients_through_a_batch_match_parameter_shift_and_finite_differences():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(23)
    n = 5
    c, _ = brickwork(n, 2, rng, extra=[("crx", 0, 4)])
    batch = rng.uniform(0, 2 * np.pi, (2, c.num_params))
    program = tnq.compile(c, ising(n), strategy="mps")  # exact: no truncation
    t = torch.tensor(batch, requires_grad=True)
    values = program(t)
    values.sum().backward()
    grad = t.grad.numpy()
    eps = 1e-6
    for b in range(2):
        shift = tnq.param_shift(program, batch[b]).grad
        assert np.abs(grad[b] - shift).max() < 1e-9
        e = np.zeros(c.num_params)
        e[7] = eps
        fd = (float(program(batch[b] + e)) - float(program(batch[b] - e))) / (2 * eps)
        assert abs(fd - grad[b, 7]) < 1e-6
