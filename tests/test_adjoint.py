"""Adjoint gradients (tnq.gradients.adjoint): against the dense reference, finite
differences, parameter shift and torch autograd through the ``state`` strategy
(a contraction, independent of the fused blocks)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq
from tnq.cli import demo_circuit
from tnq.gradients.adjoint import AdjointSweep, adjoint_applies, matrix_rule

from . import reference as ref
from .strategies import circuits, pauli_sums

ATOL = 1e-10
PARAMETRIC = sorted(name for name, g in tnq.GATES.items() if g.num_params)


def _observable(terms):
    return sum(c * tnq.PauliString(tuple(p.items())) for c, p in terms)


def _torch_jacobian(program, params, inputs):
    """Values and Jacobian (by params and inputs) by torch autograd."""
    if params is None and inputs is None:
        value = np.atleast_1d(program())
        return value, np.zeros((len(value), 0))
    p = torch.tensor(params if params is not None else np.zeros(0), requires_grad=True)
    x = torch.tensor(inputs if inputs is not None else np.zeros(0), requires_grad=True)
    value = program(p if params is not None else None, x if inputs is not None else None)
    value = value.reshape(-1)
    rows = []
    for k in range(value.shape[0]):
        gp, gx = torch.autograd.grad(value[k], (p, x), retain_graph=True, allow_unused=True)
        rows.append(np.concatenate([np.zeros(len(p)) if gp is None else gp.numpy(),
                                    np.zeros(len(x)) if gx is None else gx.numpy()]))
    return value.detach().numpy(), np.array(rows)


# ----------------------------------------------------------------- gate derivatives
@pytest.mark.parametrize("name", PARAMETRIC)
def test_matrix_rule_gives_every_gates_matrix_derivative(name):
    gate = tnq.GATES[name]
    point = np.random.default_rng(3).uniform(-3, 3, gate.num_params)
    h = 1e-5
    for c, spectrum in enumerate(gate.spectra):
        rule = matrix_rule(spectrum)

        def table(shift, c=c):
            p = point.copy()
            p[c] += shift
            return gate.table(*(np.array([v]) for v in p))[0]

        exact = sum(w * (table(s) - table(-s)) for s, w in zip(rule.shifts, rule.coeffs))
        fd = (table(h) - table(-h)) / (2 * h)
        assert np.abs(exact - fd).max() < 1e-8, (name, c)


# ----------------------------------------------------------------- random circuits
@settings(max_examples=40, deadline=None)
@given(circuits(max_qubits=5, max_gates=14), st.data(), st.sampled_from([2, 3, 4]))
def test_values_and_slot_derivatives_match_reference_and_autograd(case, data, width):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    terms = data.draw(pauli_sums(n))
    program = tnq.compile(circuit, _observable(terms), strategy="state")
    sweep = AdjointSweep(program.setup, width=width)
    value, jac = sweep.value_and_jacobian(program.evaluator.values(params, inputs))
    psi = ref.simulate(n, steps)
    expected = sum(c * ref.pauli_expectation(psi, n, p).real for c, p in terms)
    assert abs(value[0] - expected) < ATOL
    _, tj = _torch_jacobian(program, params, inputs)
    assert jac.shape == (1, tj.shape[1] + 1) and np.allclose(jac[:, :-1], tj, rtol=0, atol=ATOL)


def test_observable_lists_give_the_jacobian_and_batches_a_vjp():
    circuit, _ = demo_circuit(6, 2)
    observables = ["Z0 Z1 + 0.5*X2", "Y3", "X0 Y1 Z2 X3 Y4 Z5", "Z5"]
    program = tnq.compile(circuit, observables, strategy="statevector")
    rng = np.random.default_rng(0)
    params = rng.uniform(0, 2 * np.pi, program.num_params)
    value, jac = tnq.value_and_grad(program, params, backend="adjoint")
    tv, tj = _torch_jacobian(program, params, None)
    assert value.shape == (4,) and jac.shape == (4, program.num_params)
    assert np.abs(value - tv).max() < ATOL and np.abs(jac - tj).max() < ATOL
    # a batch of parameter vectors with cotangents: one reverse sweep for all rows
    batch = rng.uniform(0, 2 * np.pi, (3, program.num_params))
    cot = rng.normal(size=(3, 4))
    sweep = AdjointSweep(program.setup)
    values = program.evaluator.values(batch, None)
    psi, tables, mats = sweep.forward(values)
    vjp = sweep.vjp(values, psi, tables, mats, cot)
    for b in range(3):
        _, tj = _torch_jacobian(program, batch[b], None)
        assert np.abs(vjp[b, :program.num_params] - cot[b] @ tj).max() < ATOL


def test_w1_gradient_matches_parameter_shift_and_finite_differences():
    circuit, ham = demo_circuit(8, 3)
    program = tnq.compile(circuit, ham)
    assert program.strategy == "statevector" and adjoint_applies(program)
    params = np.random.default_rng(1).uniform(0, 2 * np.pi, program.num_params)
    value, grad = tnq.value_and_grad(program, params)  # numpy in: adjoint by default
    shift = tnq.param_shift(program, params)
    assert abs(value - shift.value) < ATOL and np.abs(grad - shift.grad).max() < ATOL
    h = 1e-6
    fd = [(program(params + h * e) - program(params - h * e)) / (2 * h)
          for e in np.eye(len(params))]
    assert np.abs(grad - np.array(fd, dtype=float)).max() < 1e-7


def test_data_inputs_differentiate_and_params_may_be_a_mapping():
    w, x = tnq.parameters(4, "w"), tnq.inputs(3)
    c = tnq.Circuit(3)
    for q in range(3):
        c.rx(q, 2 * x[q] + 0.1).ry(q, w[q])
    c.cx(0, 1).crz(1, 2, w[3]).rzz(0, 2, -x[0]).u(2, w[0], 0.3 * w[1], x[2])
    program = tnq.compile(c, "Z0 Z2 + 0.4*Y1", strategy="statevector")
    params, inputs = np.array([0.3, -1.2, 2.0, 0.7]), np.array([0.5, -0.4, 1.1])
    value, grad = tnq.value_and_grad(program, {"w": params}, inputs)
    tv, tj = _torch_jacobian(program, params, inputs)
    assert abs(value - tv[0]) < ATOL and np.abs(grad["w"] - tj[0, :4]).max() < ATOL
    sweep = AdjointSweep(program.setup)
    _, jac = sweep.value_and_jacobian(program.evaluator.values(params, inputs))
    assert np.abs(jac[0, 4:7] - tj[0, 4:]).max() < ATOL


def test_default_backend_outside_the_state_regime_is_autodiff():
    c = tnq.Circuit(40)
    theta = tnq.parameters(40)
    for q in range(40):
        c.ry(q, theta[q])
    program = tnq.compile(c, "Z0 Z1", strategy="lightcone")
    assert not adjoint_applies(program)
    value, grad = tnq.value_and_grad(program, np.full(40, 0.3))
    assert abs(value - np.cos(0.3) ** 2) < ATOL


def test_bad_input_is_refused_before_the_sweep():
    program = tnq.compile(demo_circuit(4, 1)[0], "Z0", strategy="statevector",
                          max_memory=2**4 * 16 * 3)
    params = np.zeros(program.num_params)
    with pytest.raises(tnq.MemoryLimitError, match="adjoint vectors"):
        tnq.value_and_grad(program, params, backend="adjoint")
    program = tnq.compile(demo_circuit(4, 1)[0], "Z0")
    with pytest.raises(tnq.GradientError, match="batch of 2"):
        tnq.value_and_grad(program, np.zeros((2, program.num_params)), backend="adjoint")
    with pytest.raises(tnq.ParameterError, match="shape"):
        tnq.value_and_grad(program, np.zeros(program.num_params + 1), backend="adjoint")
    with pytest.raises(tnq.CompileError, match="observable"):
        AdjointSweep(tnq.compile(demo_circuit(4, 1)[0]).setup)


# ----------------------------------------------------------------- TorchLayer
def _classifier(n=4, layers=2):
    w, x = tnq.parameters(2 * n * layers), tnq.inputs(n)
    c, k = tnq.Circuit(n), 0
    for q in range(n):
        c.rx(q, x[q])
    for _ in range(layers):
        for q in range(n):
            c.ry(q, w[k]).rz(q, w[k + 1])
            k += 2
        for q in range(n):
            c.cx(q, (q + 1) % n)
    return c


@pytest.mark.parametrize("observables", ["Z0", ["Z0", "X1 Y2", "Z3"],
                                         ["Z0", "Z1", "Z2", "Z3", "X0 X1", "Y2"]])
def test_torch_layer_adjoint_equals_autograd(observables):
    program = tnq.compile(_classifier(), observables)
    x = torch.tensor(np.random.default_rng(7).uniform(0, np.pi, (5, 4)), requires_grad=True)
    results = []
    for gradient in ("adjoint", "autograd"):
        layer = tnq.TorchLayer(program, seed=3, gradient=gradient)
        assert layer._adjoint(x) == (gradient == "adjoint")
        out = layer(x)
        loss = (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum() ** 2
        x.grad = None
        loss.backward()
        results.append((out.detach().numpy(), layer.weights.grad.numpy(), x.grad.numpy()))
    for a, b in zip(*results):
        assert a.shape == b.shape and np.abs(a - b).max() < ATOL


def test_torch_layer_adjoint_one_vector_and_no_gradient():
    program = tnq.compile(_classifier(), "Z0 Z1")
    layer = tnq.TorchLayer(program, seed=1)
    x = torch.tensor([0.1, 0.2, 0.3, 0.4])
    out = layer(x)
    assert out.shape == () and abs(out.item() - float(program(layer.weights.detach(), x))) \
        < ATOL
    with torch.no_grad():
        assert abs(float(layer(x)) - out.item()) < ATOL
    with pytest.raises(tnq.GradientError, match="gradient="):
        tnq.TorchLayer(program, gradient="backprop")
    wide = tnq.compile(tnq.Circuit(40).ry(0, tnq.parameters(1)[0]), "Z0", strategy="lightcone")
    with pytest.raises(tnq.GradientError, match="state regime"):
        tnq.TorchLayer(wide, gradient="adjoint")
