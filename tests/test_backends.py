"""numpy, jax and torch arrays in -> the same kind out, with the same numbers."""

import numpy as np
import pytest

import tnq
from tnq.cli import demo_circuit

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
jax.config.update("jax_enable_x64", True)  # complex128 in jax needs x64


@pytest.fixture(scope="module")
def problem():
    circuit, ham = demo_circuit(5, 2)
    params = np.random.default_rng(0).uniform(0, 6, circuit.num_params)
    program = tnq.compile(circuit, ham)
    return program, params, float(program(params)), program.state(params)


def test_torch_in_torch_out(problem):
    program, params, energy, psi = problem
    t = torch.tensor(params, requires_grad=True)
    value = program(t)
    assert isinstance(value, torch.Tensor) and abs(value.item() - energy) < 1e-10
    value.backward()  # the call is differentiable end to end
    assert t.grad.shape == t.shape and torch.isfinite(t.grad).all()
    np.testing.assert_allclose(program.state(t).detach().numpy(), psi, atol=1e-10)


def test_jax_in_jax_out(problem):
    program, params, energy, psi = problem
    x = jax.numpy.asarray(params)
    value = program(x)
    assert isinstance(value, jax.Array) and abs(float(value) - energy) < 1e-10
    assert abs(float(jax.jit(program)(x)) - energy) < 1e-10
    amp = program.amplitude("01010", x)
    assert isinstance(amp, jax.Array) and abs(complex(amp) - psi[0b01010]) < 1e-10


def test_constant_circuit_with_like():
    c = tnq.Circuit(2).h(0).cx(0, 1)
    psi = tnq.compile(c).state(like="torch")
    assert isinstance(psi, torch.Tensor)
    np.testing.assert_allclose(psi.numpy(), [2**-0.5, 0, 0, 2**-0.5], atol=1e-12)
