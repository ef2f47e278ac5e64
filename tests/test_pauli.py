"""The pauli strategy: Heisenberg-picture Pauli propagation with a threshold.

Checked against the dense reference simulator (random circuits of every 1- and
2-qubit gate and user unitaries, exact at ``threshold=0``), the exact lightcone
strategy on a small heavy-hex kicked-Ising circuit (convergence as the threshold
falls), stim at the Clifford points of the 115-qubit W10 circuit, and for
gradients parameter shift against finite differences and torch autograd of the
exact lightcone strategy.
"""

import pickle

import numpy as np
import pytest
import rustworkx as rx
import stim
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq
from tnq.compile.pauli import observable_strings, pauli_layout
from tnq.strategies.pauli import propagate, transfer_matrices

from . import reference as ref

ATOL = 1e-10
ONE_QUBIT = sorted(g for g, gate in tnq.GATES.items() if gate.num_qubits == 1)
TWO_QUBIT = sorted(g for g, gate in tnq.GATES.items() if gate.num_qubits == 2)
angles = st.floats(-7, 7, allow_nan=False, allow_infinity=False)


@st.composite
def small_circuits(draw):
    """(circuit, params, reference steps): 1- and 2-qubit gates, tied symbols."""
    n = draw(st.integers(1, 5))
    theta = tnq.parameters(2)
    params = np.array(draw(st.lists(angles, min_size=2, max_size=2)))
    circuit, steps = tnq.Circuit(n), []
    for _ in range(draw(st.integers(0, 12))):
        names = ONE_QUBIT + (TWO_QUBIT + ["unitary"] if n > 1 else [])
        name = draw(st.sampled_from(names))
        if name == "unitary":
            qs = draw(st.permutations(range(n)))[:2]
            seed = draw(st.integers(0, 2**16))
            rng = np.random.default_rng(seed)
            u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
            circuit.unitary(u, qs)
            steps.append((u, qs))
            continue
        gate = tnq.GATES[name]
        qs = draw(st.permutations(range(n)))[:gate.num_qubits]
        args, values = [], []
        for _ in range(gate.num_params):
            a, b, k = draw(angles), draw(angles), draw(st.integers(0, 2))
            if k == 2:
                args.append(b)
                values.append(b)
            else:
                args.append(a * theta[k] + b)
                values.append(a * params[k] + b)
        getattr(circuit, name)(*qs, *args)
        steps.append((ref.gate(name, *values), qs))
    return circuit, (params if circuit.num_params else None), steps


@st.composite
def observables(draw, n):
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        qs = draw(st.permutations(range(n)))[:draw(st.integers(1, n))]
        terms.append((draw(st.floats(-2, 2, allow_nan=False)),
                      {q: draw(st.sampled_from("XYZ")) for q in qs}))
    return terms


def as_observable(terms):
    return sum((c * tnq.PauliString(tuple(p.items())) for c, p in terms), tnq.Observable())


@settings(max_examples=40, deadline=None)
@given(small_circuits(), st.data())
def test_exact_at_threshold_zero_on_random_circuits(case, data):
    circuit, params, steps = case
    n = circuit.num_qubits
    terms = data.draw(observables(n))
    psi = ref.simulate(n, steps)
    expected = sum(c * ref.pauli_expectation(psi, n, p).real for c, p in terms)
    result = tnq.compile(circuit, as_observable(terms), strategy="pauli").evaluate(params)
    assert result.strategy == "pauli"
    assert abs(float(result.value) - expected) < ATOL
    assert result.error < 1e-12


def test_transfer_matrices_of_rotations_and_cliffords():
    t = 0.3
    r = transfer_matrices(tnq.gate_matrix("rx", t)[None])[0]
    # Heisenberg: RX^† Z RX = cos t Z + sin t Y ; codes I=0, X=1, Z=2, Y=3
    assert np.allclose(r[:, 2], [0, 0, np.cos(t), np.sin(t)], atol=1e-14)
    cx = transfer_matrices(tnq.gate_matrix("cx")[None])[0]
    assert np.allclose(np.abs(cx).sum(axis=0), 1) and set(np.unique(np.abs(cx))) <= {0.0, 1.0}
    assert np.allclose(cx @ cx.T, np.eye(16), atol=1e-14)


def test_dense_terms_and_constants_expand_into_strings():
    rng = np.random.default_rng(3)
    c = tnq.Circuit(3).h(0).cx(0, 1).ry(2, 0.4).rzz(1, 2, 0.7)
    m = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    obs = tnq.DenseOperator(m + m.conj().T, (2, 0)) + 0.25 + tnq.X(1)
    exact = tnq.compile(c, obs, strategy="statevector")()
    assert abs(float(tnq.compile(c, obs, strategy="pauli")()) - float(exact)) < ATOL
    strings, constant = observable_strings(tnq.observables.parse("Z0 + Z0 - X1"),
                                           pauli_layout([], 2))
    assert len(strings) == 2 and constant == 0.0


# --------------------------------------------------------------- kicked Ising

def heavy_hex_layers(distance):
    """W10 lattice: heavy_hex_graph(d), edges sorted, coloured greedily in order."""
    graph = rx.generators.heavy_hex_graph(distance)
    layers = []
    for u, v in sorted(tuple(sorted(e)) for e in graph.edge_list()):
        for layer in layers:
            if all(u not in e and v not in e for e in layer):
                layer.append((u, v))
                break
        else:
            layers.append([(u, v)])
    return graph.num_nodes(), layers


def kicked_ising(n, layers, steps):
    theta = tnq.parameters(1)
    c = tnq.Circuit(n)
    for _ in range(steps):
        for q in range(n):
            c.rx(q, theta[0])
        for layer in layers:
            for u, v in layer:
                c.rzz(u, v, -np.pi / 2)
    return c


def magnetization(n):
    return sum((tnq.Z(q) * (1.0 / n) for q in range(n)), tnq.Observable())


def test_converges_to_the_exact_lightcone_value():
    n, layers = heavy_hex_layers(3)
    c, obs = kicked_ising(n, layers, 4), magnetization(n)
    theta = np.array([0.7])
    exact = float(tnq.compile(c, obs, strategy="lightcone")(theta))
    errors, estimates = [], []
    for threshold in (3e-2, 1e-2, 1e-3, 1e-5, 0.0):
        result = tnq.compile(c, obs, strategy="pauli", threshold=threshold).evaluate(theta)
        errors.append(abs(float(result.value) - exact))
        estimates.append(result.error)
    assert errors[0] > errors[1] > errors[2] and errors[0] > 1e-2  # the knob converges
    assert errors[2] < 1e-3 and errors[3] < 1e-8 and errors[4] < ATOL
    assert all(err <= est for err, est in zip(errors[:3], estimates[:3]))


def test_error_estimate_follows_the_actual_error():
    n, layers = heavy_hex_layers(3)
    c, obs = kicked_ising(n, layers, 5), tnq.Z(7)
    exact = float(tnq.compile(c, obs, strategy="lightcone")(np.array([0.7])))
    for threshold in (1e-2, 1e-3, 3e-4):
        result = tnq.compile(c, obs, strategy="pauli", threshold=threshold).evaluate([0.7])
        actual = abs(float(result.value) - exact)
        assert actual <= 3 * result.error + 1e-6
        assert result.error <= 20 * actual + 1e-3


def stim_magnetization(n, layers, steps, theta):
    """Average and per-site <Z> of the kicked-Ising circuit at a Clifford angle, by stim."""
    circuit = stim.Circuit()
    for _ in range(steps):
        if theta == np.pi / 2:
            circuit.append("SQRT_X", range(n))  # RX(pi/2) up to a global phase
        for layer in layers:  # RZZ(-pi/2) = exp(i pi/4 ZZ), up to a phase
            circuit.append("SQRT_ZZ_DAG", [q for e in layer for q in e])
    sim = stim.TableauSimulator()
    sim.set_num_qubits(n)
    sim.do_circuit(circuit)
    sites = [sim.peek_z(q) for q in range(n)]
    return np.mean(sites), sites


@pytest.mark.parametrize("theta", [np.pi / 2, 0.0])
def test_exact_at_clifford_points_against_stim(theta):
    n, layers = heavy_hex_layers(7)
    assert n == 115
    for steps in (5, 20):
        c = kicked_ising(n, layers, steps)
        expected, sites = stim_magnetization(n, layers, steps, theta)
        program = tnq.compile(c, [magnetization(n), tnq.Z(62)], strategy="pauli",
                              threshold=1e-3)
        result = program.evaluate(np.array([theta]))
        assert abs(float(result.value[0]) - expected) < ATOL
        assert abs(float(result.value[1]) - sites[62]) < ATOL
        assert result.error < ATOL


# --------------------------------------------------------------- gradients

def test_parameter_shift_gradient_against_finite_differences_and_autograd():
    torch = pytest.importorskip("torch")
    theta = tnq.parameters(2)
    n = 8  # a ring, two kicked-Ising-like steps with a tied, scaled angle
    c = tnq.Circuit(n)
    for step in range(2):
        for q in range(n):
            c.rx(q, theta[0] * (1 + 0.1 * step))
        for q in range(n):
            c.rzz(q, (q + 1) % n, theta[1])
    obs = tnq.Z(4) + 0.5 * tnq.Z(1) * tnq.Z(2)
    p = np.array([0.7, -1.1])
    program = tnq.compile(c, obs, strategy="pauli", threshold=0.0)
    g = tnq.param_shift(program, p)
    fd = np.array([(float(program(p + e)) - float(program(p - e))) / 2e-6
                   for e in np.eye(2) * 1e-6])
    assert np.abs(g.grad - fd).max() < 1e-6
    exact = tnq.compile(c, obs, strategy="lightcone")
    value, grad = tnq.value_and_grad(exact, torch.tensor(p))
    assert abs(g.value - float(value)) < ATOL
    assert np.abs(g.grad - grad.numpy()).max() < 1e-9
    value, grad = tnq.value_and_grad(program, p, backend="numpy")
    assert np.abs(grad - g.grad).max() < 1e-12
    coarse = tnq.compile(c, obs, strategy="pauli", threshold=1e-2)
    shifted = tnq.param_shift(coarse, p).grad
    assert 0 < np.abs(shifted - g.grad).max() < 0.1


def test_torch_autograd_is_refused_with_advice():
    torch = pytest.importorskip("torch")
    theta = tnq.parameters(1)
    program = tnq.compile(tnq.Circuit(1).rx(0, theta[0]), "Z0", strategy="pauli")
    p = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    with pytest.raises(tnq.UnsupportedError, match="param_shift"):
        program(p)
    value = program(p.detach())
    assert isinstance(value, torch.Tensor) and abs(float(value) - np.cos(0.3)) < ATOL


# --------------------------------------------------------------- Program

def test_auto_approximates_only_when_asked():
    n, layers = heavy_hex_layers(3)
    small = kicked_ising(n, layers, 2)
    assert tnq.compile(small, tnq.Z(3)).strategy != "pauli"
    assert "pauli: not considered" in tnq.compile(small, tnq.Z(3)).reason
    n, layers = heavy_hex_layers(7)
    c = kicked_ising(n, layers, 12)
    program = tnq.compile(c, tnq.Z(62), threshold=1e-3)
    assert program.strategy == "pauli" and program.threshold == 1e-3
    text = program.explain()
    assert "threshold=0.001" in text and "pauli:" in text and "FLOPs" in text
    assert "the cheapest" in program.reason
    wide = tnq.compile(tnq.Circuit(3).h(0).ccx(0, 1, 2), "Z2", threshold=1e-3)
    assert wide.strategy != "pauli" and "'ccx' acts on 3" in wide.reason


def test_batches_pickling_and_threshold_checks():
    n, layers = heavy_hex_layers(3)
    c, obs = kicked_ising(n, layers, 2), tnq.Z(3)
    program = tnq.compile(c, obs, strategy="pauli", threshold=1e-6)
    thetas = np.array([[0.1], [0.7], [np.pi / 2]])
    batch = program.evaluate(thetas)
    assert batch.value.shape == (3,) and np.shape(batch.error) == (3,)
    one = [float(program(t)) for t in thetas]
    assert np.allclose(batch.value, one, atol=ATOL)
    clone = pickle.loads(pickle.dumps(program))
    assert float(clone(thetas[1])) == one[1]
    for bad in (-1e-3, 1.0, "small", True):
        with pytest.raises(tnq.CompileError, match="threshold"):
            tnq.compile(c, obs, strategy="pauli", threshold=bad)


def test_unsupported_input_is_refused_before_work():
    with pytest.raises(tnq.UnsupportedError, match="'ccx' on qubits"):
        tnq.compile(tnq.Circuit(3).ccx(0, 1, 2), "Z2", strategy="pauli")
    wide = tnq.DenseOperator(np.eye(2**9), tuple(range(9)))
    with pytest.raises(tnq.UnsupportedError, match="9 qubits"):
        tnq.compile(tnq.Circuit(9).h(0), wide, strategy="pauli")
    program = tnq.compile(tnq.Circuit(2).h(0), "Z0", strategy="pauli")
    with pytest.raises(tnq.UnsupportedError, match="state is not an output"):
        program.state()


def test_propagate_reports_the_strict_bound():
    n, layers = heavy_hex_layers(3)
    c = kicked_ising(n, layers, 5)
    program = tnq.compile(c, tnq.Z(5), strategy="pauli", threshold=1e-2)
    s = program._strategy
    matrices = s.matrices(program.evaluator.values(np.array([0.7]), None), None)[0]
    exact = float(tnq.compile(c, tnq.Z(5), strategy="lightcone")(np.array([0.7])))
    value, bound, most = propagate(s.strings[0], s.layout.gates, matrices, 1e-2)
    assert 1e-6 < abs(value - exact) <= bound and most > 1
