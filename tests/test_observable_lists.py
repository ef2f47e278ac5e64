"""A list of observables gives a vector of values: every strategy, batches, gradients."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnq
from tnq.compile import group_terms
from tnq.observables import observable

from . import reference as ref
from .strategies import circuits, pauli_sums

STRATEGIES = ["state", "lightcone", "mps"]


def text(terms):
    return " + ".join(f"{c!r}*" + " ".join(f"{p}{q}" for q, p in sorted(ps.items()))
                      for c, ps in terms)


@given(st.data())
def test_each_value_is_the_reference_expectation(data):
    circuit, params, inputs, steps = data.draw(circuits(max_qubits=4, max_gates=10))
    n = circuit.num_qubits
    sums = [data.draw(pauli_sums(n)) for _ in range(3)]
    psi = ref.simulate(n, steps)
    want = [sum(c * ref.pauli_expectation(psi, n, ps).real for c, ps in terms)
            for terms in sums]
    for strategy in STRATEGIES:
        program = tnq.compile(circuit, [text(t) for t in sums], strategy=strategy)
        got = program(params, inputs)
        assert got.shape == (3,) and program.value_shape == (3,)
        np.testing.assert_allclose(got, want, atol=1e-10)


def qnn():
    theta, x = tnq.parameters(6), tnq.inputs(3)
    c = tnq.Circuit(3)
    for q in range(3):
        c.ry(q, x[q]).rz(q, theta[q])
    c.cx(0, 1).cx(1, 2).crx(2, 0, theta[3]).ry(1, theta[4]).rzz(0, 2, theta[5])
    return c


OBS = ["Z0", "Z0 Z1 + 0.5*X2 - Y1", "2*Z0 + 3", "Y2 X0", "1.5"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batches_give_rows_of_vectors(strategy, rng):
    program = tnq.compile(qnn(), OBS, strategy=strategy)
    w, xs = rng.uniform(0, 6, 6), rng.uniform(0, 6, (4, 3))
    batch = program(w, xs)
    assert batch.shape == (4, len(OBS))
    for row, x in zip(batch, xs):
        np.testing.assert_allclose(row, program(w, x), atol=1e-12)
        np.testing.assert_allclose(
            row, [tnq.compile(qnn(), o, strategy="state")(w, x) for o in OBS], atol=1e-10)


def test_shared_terms_are_evaluated_once():
    h = observable("Z0 Z1 + Z1 Z2 + 0.5*X0 + 0.5*X1 + 0.5*X2")
    one = group_terms(h)
    many = group_terms([h, 2 * h, h + 3])
    assert many.supports == one.supports  # each support's operators are proportional
    np.testing.assert_allclose(many.weights[1], 2 * many.weights[0])
    np.testing.assert_allclose(many.constant, [0, 0, 3])
    # one reduced density matrix per support, a row per independent operator on it
    assert set(group_terms([h, observable("Z0 Z1")]).supports) == set(one.supports)
    exact = group_terms([h, observable("Z0 Z1 - X1")], merge_subsets=False)
    assert len(exact.supports) == len(group_terms(h, merge_subsets=False).supports)
    wide = group_terms([observable("Z0 Z1 Z2 Z3 Z4 Z5 Z6 Z7"), observable("3*Z0 Z1 Z2 Z3 Z4 "
                                                                          "Z5 Z6 Z7 + X0")])
    assert len(wide.supports) == 2  # the long string is one row, weighted 1 and 3
    program = tnq.compile(qnn(), [h, 2 * h, "Z0 Z1"], strategy="lightcone")
    single = tnq.compile(qnn(), h, strategy="lightcone")
    assert sum(g.size for g in program._strategy.groups) == \
        sum(g.size for g in single._strategy.groups)


def test_gradients_are_jacobians(rng):
    torch = pytest.importorskip("torch")
    program = tnq.compile(qnn(), OBS)
    w, x = rng.uniform(0, 6, 6), rng.uniform(0, 6, 3)
    value, jac = tnq.value_and_grad(program, w, x, backend="torch")
    assert value.shape == (5,) and jac.shape == (5, 6)
    shift = tnq.param_shift(program, w, x)
    np.testing.assert_allclose(shift.grad, jac, atol=1e-10)
    np.testing.assert_allclose(shift.value, value, atol=1e-12)
    eps = 1e-6
    for k in range(6):
        d = np.zeros(6)
        d[k] = eps
        fd = (program(w + d, x) - program(w - d, x)) / (2 * eps)
        np.testing.assert_allclose(jac[:, k], fd, atol=1e-7)
    tw = torch.tensor(w, requires_grad=True)
    (program(tw, x) @ torch.arange(5.0, dtype=torch.float64)).backward()
    np.testing.assert_allclose(tw.grad.numpy(), np.arange(5.0) @ jac, atol=1e-10)
    estimate = tnq.param_shift(program, w, x, shots=4000, seed=7)
    assert estimate.grad.shape == (5, 6) and estimate.value.shape == (5,)
    assert np.all(np.abs(estimate.grad - jac) <= 6 * estimate.grad_stderr + 1e-12)
    assert np.all(np.abs(estimate.value - value) <= 6 * estimate.value_stderr + 1e-12)


def test_jax_jacobian(rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    program = tnq.compile(qnn(), OBS)
    w, x = rng.uniform(0, 6, 6), rng.uniform(0, 6, 3)
    value, jac = tnq.value_and_grad(program, jax.numpy.asarray(w), jax.numpy.asarray(x))
    np.testing.assert_allclose(np.asarray(jac), tnq.param_shift(program, w, x).grad,
                               atol=1e-10)
    np.testing.assert_allclose(np.asarray(jax.jit(program)(w, x)), value, atol=1e-12)


def test_torch_layer_with_several_outputs(rng):
    torch = pytest.importorskip("torch")
    layer = tnq.TorchLayer(tnq.compile(qnn(), ["Z0", "Z1", "Z2"]), seed=1)
    out = layer(torch.tensor(rng.uniform(0, 6, (8, 3))))
    assert out.shape == (8, 3)
    out.sum().backward()
    assert layer.weights.grad.shape == (6,) and torch.any(layer.weights.grad != 0)


@pytest.mark.parametrize("bad, match", [
    ([], "empty list"),
    ([["Z0", "Z1"]], "itself a list"),
    (["Z0", "Z9"], "qubit"),
])
def test_bad_lists(bad, match):
    with pytest.raises(tnq.TnqError, match=match):
        tnq.compile(qnn(), bad)


def test_single_observable_stays_scalar_and_pickles():
    program = tnq.compile(qnn(), ("Z0",))
    assert program.value_shape == (1,) and program([0.1] * 6, [0.2] * 3).shape == (1,)
    scalar = tnq.compile(qnn(), "Z0")
    assert scalar.value_shape == () and np.ndim(scalar([0.1] * 6, [0.2] * 3)) == 0
    again = pickle.loads(pickle.dumps(tnq.compile(qnn(), OBS)))
    assert again.observables == tuple(observable(o) for o in OBS)
    np.testing.assert_allclose(again([0.1] * 6, [0.2] * 3),
                               tnq.compile(qnn(), OBS)([0.1] * 6, [0.2] * 3), atol=1e-14)
