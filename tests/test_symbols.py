"""Parameter and input vectors: identity, names, layout, mappings, non-affine refusals."""

import math
import pickle

import numpy as np
import pytest

import tnq

from .reference import gate, pauli_expectation, simulate


def qaoa(n=3, p=2):
    gamma, beta = tnq.parameters(p, "gamma"), tnq.parameters(p, "beta")
    c = tnq.Circuit(n)
    for q in range(n):
        c.h(q)
    for k in range(p):
        for q in range(n - 1):
            c.rzz(q, q + 1, 2 * gamma[k])
        for q in range(n):
            c.rx(q, beta[k])
    return c, gamma, beta


def qaoa_reference(n, gammas, betas):
    steps = [(gate("h"), (q,)) for q in range(n)]
    for g, b in zip(gammas, betas):
        steps += [(gate("rzz", 2 * g), (q, q + 1)) for q in range(n - 1)]
        steps += [(gate("rx", b), (q,)) for q in range(n)]
    psi = simulate(n, steps)
    return sum(pauli_expectation(psi, n, {q: "Z", q + 1: "Z"}).real for q in range(n - 1))


def test_vectors_are_distinct_even_with_equal_size():
    a, b = tnq.parameters(2), tnq.parameters(2)
    assert a[0] != b[0] and a[0] == a[0]
    assert tnq.parameters(2, "gamma")[1] != tnq.parameters(2, "gamma")[1]
    assert repr(tnq.parameters(2, "gamma")[1] * 2 + 1) == "2*gamma[1] + 1"
    assert repr(tnq.inputs(3, "pixels")[0]) == "pixels[0]"


def test_named_vectors_give_the_reference_qaoa_energy():
    c, gamma, beta = qaoa()
    assert c.layout.params == (gamma, beta) and c.num_params == 4
    program = tnq.compile(c, "Z0 Z1 + Z1 Z2")
    g, b = [0.3, -0.7], [1.1, 0.4]
    want = qaoa_reference(3, g, b)
    assert program(np.array(g + b)) == pytest.approx(want, abs=1e-10)
    assert program({"gamma": g, "beta": b}) == pytest.approx(want, abs=1e-10)
    # the trap the issue describes: with aliasing, gamma and beta would be tied
    assert program({"gamma": g, "beta": g}) != pytest.approx(want, abs=1e-6)


def test_layout_is_order_of_first_use():
    a, b = tnq.parameters(1, "a"), tnq.parameters(2, "b")
    c = tnq.Circuit(2).ry(0, b[1]).rx(1, a[0]).rz(0, b[0])
    assert [v.name for v in c.layout.params] == ["b", "a"]
    program = tnq.compile(c, "Z0 + X1")
    flat = program.pack({"a": [0.5], "b": [0.1, 0.2]})
    np.testing.assert_array_equal(flat, [0.1, 0.2, 0.5])
    parts = program.unpack(flat)
    assert list(parts) == ["b", "a"]
    np.testing.assert_array_equal(parts["a"], [0.5])


def test_single_vector_style_and_inputs_mapping():
    theta, x = tnq.parameters(2), tnq.inputs(1)
    c = tnq.Circuit(1).rx(0, x[0]).ry(0, theta[0]).rz(0, theta[1])
    program = tnq.compile(c, "Z0")
    assert program([0.2, 0.3], [0.5]) == pytest.approx(
        program({"theta": [0.2, 0.3]}, {"x": [0.5]}), abs=1e-14)


def test_batched_mapping_broadcasts_unbatched_vectors():
    c, _, _ = qaoa()
    program = tnq.compile(c, "Z0 Z1 + Z1 Z2")
    gam = np.array([[0.3, -0.7], [0.1, 0.2], [0.5, 0.5]])
    values = program({"gamma": gam, "beta": [1.1, 0.4]})
    assert values.shape == (3,)
    for row, v in zip(gam, values):
        assert v == pytest.approx(qaoa_reference(3, row, [1.1, 0.4]), abs=1e-10)


def test_gradients_take_mappings():
    torch = pytest.importorskip("torch")
    c, _, _ = qaoa()
    program = tnq.compile(c, "Z0 Z1 + Z1 Z2")
    params = {"gamma": [0.3, -0.7], "beta": [1.1, 0.4]}
    value, grad = tnq.value_and_grad(program, params, backend="torch")
    assert set(grad) == {"gamma", "beta"}
    shift = tnq.param_shift(program, params)
    flat = np.concatenate([np.asarray(grad["gamma"]), np.asarray(grad["beta"])])
    np.testing.assert_allclose(flat, shift.grad, atol=1e-10)
    assert value == pytest.approx(shift.value, abs=1e-12)
    g = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    program({"gamma": g, "beta": [1.1, 0.4]}).backward()
    np.testing.assert_allclose(g.grad.numpy(), flat[:2], atol=1e-10)


def test_two_vectors_with_one_name_are_refused():
    c = tnq.Circuit(2).rx(0, tnq.parameters(1)[0])
    with pytest.raises(tnq.CircuitError, match="second, different vector named 'theta'"):
        c.ry(1, tnq.parameters(1)[0])
    gamma = tnq.parameters(1, "gamma")
    with pytest.raises(tnq.CircuitError, match="named 'gamma'"):
        tnq.Circuit(1).rx(0, gamma[0]).rz(0, tnq.inputs(1, "gamma")[0])


@pytest.mark.parametrize("values, match", [
    ({"gamma": [0.1, 0.2]}, "missing \\['beta'\\]"),
    ({"gamma": [0.1, 0.2], "beta": [1, 2], "delta": [0]}, "unknown \\['delta'\\]"),
    ({"gamma": [0.1], "beta": [1, 2]}, "gamma.*shape \\(1,\\)"),
    ({"gamma": "ab", "beta": [1, 2]}, "gamma"),
    ({"gamma": np.ones((2, 2)), "beta": np.ones((3, 2))}, "batch"),
])
def test_bad_mappings(values, match):
    program = tnq.compile(qaoa()[0], "Z0")
    with pytest.raises(tnq.ParameterError, match=match):
        program(values)


def test_identity_survives_pickling():
    c, gamma, _ = qaoa()
    program = tnq.compile(c, "Z0 Z1")
    again = pickle.loads(pickle.dumps((program, gamma)))
    assert again[1] == gamma and again[1][0] == gamma[0]
    assert again[0]({"gamma": [0.3, 0.1], "beta": [0.2, 0.5]}) == pytest.approx(
        program({"gamma": [0.3, 0.1], "beta": [0.2, 0.5]}), abs=1e-14)


@pytest.mark.parametrize("make", [
    lambda t: np.sin(t),
    lambda t: np.exp(2 * t),
    lambda t: math.sin(t),
    lambda t: t ** 2,
    lambda t: 2 ** t,
    lambda t: 1 / t,
    lambda t: abs(t),
    lambda t: t * tnq.inputs(1)[0],
    lambda t: np.arctan(t),
])
def test_non_affine_expressions_are_refused_with_a_recipe(make):
    t = tnq.parameters(2)[0]
    with pytest.raises(tnq.ParameterError, match="affine function of a single symbol") as err:
        make(t)
    assert "inputs" in str(err.value) and "ZZ feature map" in str(err.value)


def test_numpy_numbers_keep_expressions_affine():
    t = tnq.parameters(1)[0]
    for s in (np.float64(2) * t, t * np.float32(2), np.array(2.0) * t, np.float64(4) * t / 2):
        assert (s.scale, s.offset) == (2.0, 0.0)
    s = np.float64(1.0) - t
    assert (s.scale, s.offset) == (-1.0, 1.0)
    assert np.negative(t).scale == -1.0
