"""Gradients: parameter shift (exact and from shots) against autodiff on every
installed backend and against finite differences of the dense reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq
from tnq.cli import demo_circuit

from .strategies import circuits, pauli_sums

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
jax.config.update("jax_enable_x64", True)


def observable_of(terms):
    return sum((c * tnq.PauliString(tuple(ps.items())) for c, ps in terms), tnq.Observable())


def finite_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = h
        g[k] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@st.composite
def problems(draw):
    circuit, params, inputs, _ = draw(circuits(max_qubits=4, max_gates=10))
    terms = draw(pauli_sums(circuit.num_qubits))
    return circuit, params, inputs, terms


@given(problems())
def test_parameter_shift_equals_autodiff_and_finite_differences(problem):
    """Every parametrized gate, tied and affine bindings, data inputs as constants."""
    circuit, params, inputs, terms = problem
    if params is None:
        return
    program = tnq.compile(circuit, observable_of(terms))
    exact = tnq.param_shift(program, params, inputs)
    assert exact.value == pytest.approx(float(program(params, inputs)), abs=1e-10)
    value, grad = tnq.value_and_grad(program, params, inputs, backend="torch")
    np.testing.assert_allclose(exact.grad, grad, atol=1e-10)
    _, jgrad = tnq.value_and_grad(program, params, inputs, backend="jax")
    np.testing.assert_allclose(exact.grad, jgrad, atol=1e-10)
    fd = finite_difference(lambda p: float(program(p, inputs)), params)
    np.testing.assert_allclose(exact.grad, fd, atol=1e-6)
    slots = [(op.gate, i) for op in circuit.ops for i, p in enumerate(op.params)
             if isinstance(p, tnq.Symbol) and p.kind == "param"]
    assert exact.executions == 1 + sum(tnq.gradients.gate_rules(g)[i].num_evaluations
                                       for g, i in slots)


@settings(max_examples=15)
@given(problems())
def test_input_gradients_by_autodiff_match_finite_differences(problem):
    circuit, params, inputs, terms = problem
    if inputs is None:
        return
    program = tnq.compile(circuit, observable_of(terms))
    x = torch.tensor(inputs, requires_grad=True)
    p = None if params is None else torch.tensor(params)
    program(p, x).backward()
    fd = finite_difference(lambda v: float(program(params, v)), inputs)
    np.testing.assert_allclose(x.grad.numpy(), fd, atol=1e-6)
    jg = jax.grad(lambda v: program(params, v))(jax.numpy.asarray(inputs))
    np.testing.assert_allclose(np.asarray(jg), x.grad.numpy(), atol=1e-10)


@pytest.fixture(scope="module")
def classifier():
    """A W5-style circuit: data inputs, trainable weights, a CNOT ring."""
    n, layers = 4, 2
    x, w = tnq.inputs(n), tnq.parameters(2 * n * layers)
    c = tnq.Circuit(n)
    for i in range(n):
        c.rx(i, x[i])
    k = 0
    for _ in range(layers):
        for i in range(n):
            c.ry(i, w[k]).rz(i, 0.5 * w[k + 1] - 0.1)
            k += 2
        for i in range(n):
            c.cx(i, (i + 1) % n)
    rng = np.random.default_rng(3)
    return (tnq.compile(c, "Z0 + 0.5*X1 X2"), rng.uniform(0, 6, c.num_params),
            rng.uniform(0, np.pi, (6, n)))


def test_jax_jit_vmap_and_grad_work_on_a_program(classifier):
    program, w, xs = classifier
    loop = np.array([float(program(w, x)) for x in xs])
    f = jax.jit(jax.vmap(program, in_axes=(None, 0)))
    np.testing.assert_allclose(f(w, xs), loop, atol=1e-10)
    np.testing.assert_allclose(program(w, xs), loop, atol=1e-10)  # native batch
    ws = np.stack([w, w + 0.1])
    np.testing.assert_allclose(jax.vmap(program, in_axes=(0, None))(ws, xs[0]),
                               [float(program(v, xs[0])) for v in ws], atol=1e-10)
    y = np.array([1, -1, 1, 1, -1, -1.0])

    def loss(w):
        return jax.numpy.mean((program(w, xs) - y) ** 2)

    g = jax.jit(jax.grad(loss))(w)
    fd = finite_difference(lambda v: float(np.mean((program(v, xs) - y) ** 2)), w)
    np.testing.assert_allclose(g, fd, atol=1e-6)


def test_torch_func_vmap_and_batched_autograd(classifier):
    program, w, xs = classifier
    wt = torch.tensor(w, requires_grad=True)
    out = program(wt, torch.tensor(xs))
    loop = torch.stack([program(wt, torch.tensor(x)) for x in xs])
    torch.testing.assert_close(out, loop, atol=1e-10, rtol=0)
    (g1,) = torch.autograd.grad(out.sum(), wt)
    (g2,) = torch.autograd.grad(loop.sum(), wt)
    torch.testing.assert_close(g1, g2, atol=1e-10, rtol=0)
    vm = torch.func.vmap(program, in_dims=(None, 0))(torch.tensor(w), torch.tensor(xs))
    torch.testing.assert_close(vm, loop.detach(), atol=1e-10, rtol=0)


def test_value_and_grad_returns_numpy_or_the_given_kind(classifier):
    program, w, xs = classifier
    v, g = tnq.value_and_grad(program, w, xs[0])
    assert isinstance(v, float) and isinstance(g, np.ndarray) and g.shape == w.shape
    vt, gt = tnq.value_and_grad(program, torch.tensor(w), xs[0])
    assert isinstance(gt, torch.Tensor)
    vj, gj = tnq.value_and_grad(program, jax.numpy.asarray(w), xs[0])
    assert isinstance(gj, jax.Array)
    vn, gn = tnq.value_and_grad(program, w, xs[0], backend="numpy")
    for other in (gt.numpy(), np.asarray(gj), gn):
        np.testing.assert_allclose(other, g, atol=1e-10)
    with pytest.raises(tnq.GradientError, match="scalar"):
        tnq.value_and_grad(program, w, xs, backend="torch")
    with pytest.raises(tnq.GradientError, match="not an autodiff backend"):
        tnq.value_and_grad(program, w, xs[0], backend="mxnet")


def test_tensorflow_gradient_tape_when_installed(classifier):
    tf = pytest.importorskip("tensorflow")
    program, w, xs = classifier
    v = tf.Variable(w)
    with tf.GradientTape() as tape:
        e = program(v, tf.constant(xs[0]))
    g = tape.gradient(e, v)
    np.testing.assert_allclose(g.numpy(), tnq.param_shift(program, w, xs[0]).grad, atol=1e-10)


def test_shifted_circuits_are_one_batched_evaluation(classifier):
    program, w, xs = classifier
    program = tnq.compile(_rebuilt(program), program.observable, strategy="state")
    before = len(program.plans)
    g = tnq.param_shift(program, w, xs[0])
    new = program.plans[before:]
    assert len(new) == 1 and new[0].batch == g.executions == 1 + 2 * w.size


def test_chunked_batches_match(classifier):
    program, w, xs = classifier
    small = tnq.Program(_rebuilt(program), program.observable, max_memory=16 * 2**4 * 8 * 3)
    assert small.batch_limit() < 33
    np.testing.assert_allclose(tnq.param_shift(small, w, xs[0]).grad,
                               tnq.param_shift(program, w, xs[0]).grad, atol=1e-12)


def _rebuilt(program):
    c = tnq.Circuit(program.num_qubits)
    for op in program.ops:
        c.apply(op.name, *op.qubits, params=op.params)
    return c


# ----------------------------------------------------------------- shots


@pytest.fixture(scope="module")
def tfim():
    circuit, ham = demo_circuit(5, 2)
    program = tnq.compile(circuit, ham)
    params = np.random.default_rng(11).uniform(0, 2 * np.pi, circuit.num_params)
    return program, params, tnq.param_shift(program, params)


def test_shot_gradient_is_within_its_standard_errors_and_seeded(tfim):
    program, params, exact = tfim
    a = tnq.param_shift(program, params, shots=4000, seed=123)
    b = tnq.param_shift(program, params, shots=4000, seed=123)
    np.testing.assert_array_equal(a.grad, b.grad)
    assert a.executions == 2 * (1 + 2 * params.size)  # two settings: ZZ and X
    z = (a.grad - exact.grad) / a.grad_stderr
    assert np.abs(z).max() < 5
    assert abs(a.value - exact.value) < 5 * a.value_stderr
    assert tnq.param_shift(program, params, shots=4000, seed=124).grad.tolist() != a.grad.tolist()


def test_reported_standard_errors_match_the_spread_over_seeds():
    theta = tnq.parameters(1)
    program = tnq.compile(tnq.Circuit(2).ry(0, theta[0]).cx(0, 1), "Z0 Z1 + X0 + 0.5*Z1")
    runs = [tnq.param_shift(program, [0.7], shots=500, seed=s) for s in range(200)]
    spread = np.std([r.grad[0] for r in runs], ddof=1)
    reported = np.mean([r.grad_stderr[0] for r in runs])
    assert 0.8 < spread / reported < 1.25
    vspread = np.std([r.value for r in runs], ddof=1)
    assert 0.8 < vspread / np.mean([r.value_stderr for r in runs]) < 1.25


def test_measurement_settings_group_qubitwise_commuting_terms():
    obs = tnq.observable("Z0 Z1 + Z1 Z2 + X0 + X1 X2 + Y0 Z2 + 2")
    settings, const = tnq.measurement_settings(obs)
    assert const == 2
    measured = sorted((c, q) for s in settings for c, q in s.terms)
    assert len(measured) == 5
    for s in settings:
        bases = dict(s.bases)
        for term in obs.terms:
            if term.qubits and all(bases.get(q) == p for q, p in term.paulis):
                assert (term.coeff.real, term.qubits) in s.terms or any(
                    (term.coeff.real, term.qubits) in o.terms for o in settings)
    assert len(settings) == 3  # {ZZZ}, {X0, X1 X2}, {Y0 Z2}
    with pytest.raises(tnq.ObservableError, match="dense operator"):
        tnq.measurement_settings(tnq.DenseOperator(np.eye(2), (0,)))


class Broken:
    def __init__(self, fn):
        self.fn = fn

    def run(self, circuits, shots, seed=None):
        good = tnq.TnqExecutor().run(circuits, shots, seed)
        return self.fn(good)


@pytest.mark.parametrize("fn, match", [
    (lambda r: r[:-1], "results for"),
    (lambda r: [dict(r[0], **{"01": 5})] + r[1:], "shots in all"),
    (lambda r: [{"0x": 1}] + r[1:], "outcome '0x'"),
    (lambda r: [{k + "0": v for k, v in r[0].items()}] + r[1:], "outcome"),
    (lambda r: [{k: -v for k, v in r[0].items()}] + r[1:], "non-negative"),
    (lambda r: [list(r[0].items())] + r[1:], "mapping"),
    (lambda r: 7, "list"),
])
def test_malformed_counts_from_an_executor_are_named(fn, match):
    theta = tnq.parameters(1)
    program = tnq.compile(tnq.Circuit(2).ry(0, theta[0]).cx(0, 1), "Z0 Z1")
    assert isinstance(Broken(fn), tnq.Executor)
    with pytest.raises(tnq.ExecutorError, match=match):
        tnq.param_shift(program, [0.3], shots=100, executor=Broken(fn), seed=1)


def test_bad_gradient_requests(tfim):
    program, params, _ = tfim
    with pytest.raises(tnq.ParameterError, match="one params vector"):
        tnq.param_shift(program, np.stack([params, params]))
    bad = params.copy()
    bad[3] = np.nan
    with pytest.raises(tnq.ParameterError, match=r"params\[3\] is nan"):
        tnq.param_shift(program, bad)
    with pytest.raises(tnq.ParameterError, match="shape"):
        tnq.value_and_grad(program, params[:-1])
    with pytest.raises(tnq.ParameterError, match="shots must be a positive integer"):
        tnq.param_shift(program, params, shots=0)
    with pytest.raises(tnq.ParameterError, match="needs shots"):
        tnq.param_shift(program, params, executor=tnq.TnqExecutor())
    with pytest.raises(tnq.CompileError, match="observable"):
        tnq.param_shift(tnq.compile(tnq.Circuit(1)), [])


def test_tnq_executor_batches_one_structure_and_keeps_it_compiled():
    ex = tnq.TnqExecutor()
    circuits = [tnq.Circuit(3).ry(0, t).cx(0, 1).rzz(1, 2, 2 * t) for t in (0.1, 0.5, 2.0)]
    circuits.append(tnq.Circuit(3).x(2))
    counts = ex.run(circuits, 2000, seed=9)
    assert counts[3] == {"001": 2000}
    for t, c in zip((0.1, 0.5, 2.0), counts):
        p1 = np.sin(t / 2) ** 2
        seen = (c.get("110", 0) + c.get("111", 0)) / 2000
        assert abs(seen - p1) < 5 * np.sqrt(p1 * (1 - p1) / 2000) + 1e-9
    assert len(ex._programs) == 2 and ex.run(circuits, 2000, seed=9) == counts


# ----------------------------------------------------------------- qiskit and torch layer


def test_parameter_shift_on_qiskit_aer_matches_exact_and_feels_noise(tfim):
    aer = pytest.importorskip("qiskit_aer")
    noise = pytest.importorskip("qiskit_aer.noise")
    program, params, exact = tfim
    ex = tnq.QiskitExecutor(aer.AerSimulator())
    g = tnq.param_shift(program, params, shots=4000, executor=ex, seed=5)
    assert np.abs((g.grad - exact.grad) / g.grad_stderr).max() < 5
    model = noise.NoiseModel()
    model.add_all_qubit_quantum_error(noise.depolarizing_error(0.1, 2), ["cx"])
    noisy = tnq.param_shift(program, params, shots=4000,
                            executor=tnq.QiskitExecutor(aer.AerSimulator(noise_model=model)),
                            seed=5)
    assert abs(noisy.value) < abs(exact.value) - 5 * noisy.value_stderr  # damped by noise


def test_torch_layer_trains_weights_and_passes_input_gradients(classifier):
    program, w, xs = classifier
    layer = tnq.TorchLayer(program, weights=w)
    assert [n for n, _ in layer.named_parameters()] == ["weights"]
    x = torch.tensor(xs, requires_grad=True)
    out = layer(x)
    torch.testing.assert_close(out, torch.tensor([float(program(w, r)) for r in xs],
                                                 dtype=torch.float64),
                               atol=1e-10, rtol=0)
    out.sum().backward()
    fd = finite_difference(lambda v: float(np.sum(program(v, xs))), w)
    np.testing.assert_allclose(layer.weights.grad.numpy(), fd, atol=1e-6)
    assert x.grad.shape == x.shape
    y = torch.tensor([1, -1, 1, 1, -1, -1.0], dtype=torch.float64)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = torch.mean((layer(torch.tensor(xs)) - y) ** 2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    with pytest.raises(tnq.ParameterError, match="weights have shape"):
        tnq.TorchLayer(program, weights=w[:-1])


def test_rebuild_swaps_symbols_and_numpy_numbers_both_ways():
    from tnq.gradients.executors import rebuild

    th = tnq.parameters(1)
    symbolic = tnq.Circuit(2).rx(0, th[0]).cx(0, 1)
    bound = rebuild(symbolic.ops, 2, [(np.float64(0.3),), ()])
    assert bound.ops[0].params == (0.3,) and bound.num_params == 0
    lifted = rebuild(tnq.Circuit(2).rx(0, 0.2).cx(0, 1).ops, 2, [(th[0],), ()])
    assert lifted.ops[0].params == (th[0],)
