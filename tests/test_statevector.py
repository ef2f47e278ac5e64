"""The ``statevector`` strategy and gate fusion: against the dense reference, Qiskit,
parameter shift and finite differences; the fusion's blocks; the planner's choice."""

import math

import jax
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tnq
from tnq.cli import demo_circuit
from tnq.compile.fusion import fuse

from . import reference as ref
from .strategies import circuits, pauli_sums

jax.config.update("jax_enable_x64", True)

ATOL = 1e-10


def _observable(terms):
    return sum(c * tnq.PauliString(tuple(p.items())) for c, p in terms)


def _expected(psi, n, terms):
    return sum(c * ref.pauli_expectation(psi, n, p).real for c, p in terms)


# ----------------------------------------------------------------- reference values
@given(circuits(max_gates=16), st.data())
def test_every_output_matches_the_reference(case, data):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    terms = data.draw(pauli_sums(n))
    psi = ref.simulate(n, steps)
    program = tnq.compile(circuit, _observable(terms), strategy="statevector")
    assert program.plans == ()
    np.testing.assert_allclose(program.state(params, inputs), psi, atol=ATOL)
    assert abs(program(params, inputs) - _expected(psi, n, terms)) < ATOL
    idx = data.draw(st.lists(st.integers(0, 2**n - 1), min_size=1, max_size=3))
    bits = [format(i, f"0{n}b") for i in idx]
    np.testing.assert_allclose(program.amplitude(bits, params, inputs), psi[idx], atol=ATOL)
    keep = data.draw(st.permutations(range(n)))[: data.draw(st.integers(1, n))]
    probs = np.abs(psi.reshape((2,) * n)) ** 2
    rest = tuple(q for q in range(n) if q not in keep)
    expected = np.transpose(probs.sum(axis=rest), np.argsort(np.argsort(keep))).reshape(-1)
    np.testing.assert_allclose(program.probabilities(params, inputs, qubits=keep), expected,
                               atol=ATOL)
    np.testing.assert_allclose(program.probabilities(params, inputs), np.abs(psi) ** 2,
                               atol=ATOL)


@settings(max_examples=15)
@given(circuits(max_gates=16), st.data())
def test_batches_match_one_vector_at_a_time(case, data):
    circuit, params, inputs, _ = case
    assume(params is not None or inputs is not None)
    n = circuit.num_qubits
    terms = data.draw(pauli_sums(n))
    program = tnq.compile(circuit, [_observable(terms), tnq.Z(0)], strategy="statevector")
    rows = np.arange(3)[:, None] * 0.37
    p = None if params is None else params + rows
    x = None if inputs is None else inputs - rows
    states = program.state(p, x)
    values = program(p, x)
    assert states.shape == (3, 2**n) and values.shape == (3, 2)
    for b in range(3):
        pb = None if p is None else p[b]
        xb = None if x is None else x[b]
        np.testing.assert_allclose(states[b], program.state(pb, xb), atol=ATOL)
        np.testing.assert_allclose(values[b], program(pb, xb), atol=ATOL)


def test_width_does_not_change_values(monkeypatch):
    import tnq.strategies.statevector as sv

    c, p = _random_circuit(6, 60, np.random.default_rng(3))
    obs = "Z0 Z5 + 0.5*X2 Y3 - Y1"
    want = tnq.compile(c, obs, strategy="state")
    for width in (1, 2, 3, 5):
        monkeypatch.setattr(sv, "DEFAULT_WIDTH", width)
        program = tnq.compile(c, obs, strategy="statevector")
        assert program._strategy.fusion.width == width
        np.testing.assert_allclose(program.state(p), want.state(p), atol=ATOL)
        assert abs(program(p) - want(p)) < ATOL


def _random_circuit(n, gates, rng):
    """A circuit of random 1-3 qubit gates, symbolic and constant, tied parameters."""
    theta = tnq.parameters(5)
    c = tnq.Circuit(n)
    names = ["h", "rx", "ry", "rz", "cx", "cz", "rzz", "crx", "cp", "u3", "swap", "ccx",
             "fsim", "t", "sx", "rxx"]
    for _ in range(gates):
        name = names[rng.integers(len(names))]
        gate = tnq.GATES[name]
        qs = rng.choice(n, gate.num_qubits, replace=False).tolist()
        args = [float(rng.uniform(-3, 3)) * theta[int(rng.integers(5))] + 0.1
                if rng.random() < 0.7 else float(rng.uniform(-3, 3))
                for _ in range(gate.num_params)]
        getattr(c, name)(*qs, *args)
    return c, rng.uniform(0, 2 * np.pi, 5)


# ----------------------------------------------------------------- gradients
def test_gradients_torch_jax_parameter_shift_and_finite_differences():
    c, p = _random_circuit(5, 24, np.random.default_rng(7))
    program = tnq.compile(c, "Z0 Z1 - 0.7*X2 + Y3 Z4", strategy="statevector")
    shift = tnq.param_shift(program, p).grad
    x = torch.tensor(p, requires_grad=True)
    program(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), shift, atol=1e-9)
    jitted = jax.jit(jax.grad(program))(jax.numpy.asarray(p))  # eager jax compiles op by op
    np.testing.assert_allclose(np.asarray(jitted), shift, atol=1e-9)
    eps = 1e-6
    fd = [(program(p + eps * e) - program(p - eps * e)) / (2 * eps) for e in np.eye(len(p))]
    np.testing.assert_allclose(fd, shift, atol=1e-6)


def test_data_inputs_batched_with_torch_autograd():
    x, w = tnq.inputs(3), tnq.parameters(6)
    c = tnq.Circuit(3)
    for q in range(3):
        c.rx(q, x[q]).ry(q, w[q])
    c.cx(0, 1).cx(1, 2).rzz(0, 2, w[3]).crx(2, 0, w[4]).u3(1, w[5], 0.2, 2 * x[0])
    sv = tnq.compile(c, "Z0 + X1 Z2", strategy="statevector")
    st_ = tnq.compile(c, "Z0 + X1 Z2", strategy="state")
    rng = np.random.default_rng(1)
    xs, ws = rng.uniform(0, np.pi, (4, 3)), rng.uniform(0, 2 * np.pi, 6)
    wt = torch.tensor(ws, requires_grad=True)
    sv(wt, torch.tensor(xs)).sum().backward()
    np.testing.assert_allclose(sv(ws, xs), st_(ws, xs), atol=ATOL)
    want = sum(tnq.param_shift(st_, ws, row).grad for row in xs)
    np.testing.assert_allclose(wt.grad.numpy(), want, atol=1e-9)


# ----------------------------------------------------------------- third-party simulators
def _grover(n, marked, qiskit):
    from qiskit.circuit.library import MCXGate

    qc = qiskit.QuantumCircuit(n)
    qc.h(range(n))
    for _ in range(max(1, int(math.pi / 4 * math.sqrt(2**n)))):
        for i, b in enumerate(reversed(marked)):
            if b == "0":
                qc.x(i)
        qc.h(n - 1)
        qc.append(MCXGate(n - 1), list(range(n)))
        qc.h(n - 1)
        for i, b in enumerate(reversed(marked)):
            if b == "0":
                qc.x(i)
        qc.h(range(n))
        qc.x(range(n))
        qc.h(n - 1)
        qc.append(MCXGate(n - 1), list(range(n)))
        qc.h(n - 1)
        qc.x(range(n))
        qc.h(range(n))
    return qc


def _qft_adder(bits, a, b, qiskit):
    """|a>|b> -> |a>|a+b mod 2^bits>: Qiskit's Draper QFT adder on basis inputs."""
    from qiskit.circuit.library import DraperQFTAdder

    qc = qiskit.QuantumCircuit(2 * bits)
    for i in range(bits):
        if (a >> i) & 1:
            qc.x(i)
        if (b >> i) & 1:
            qc.x(bits + i)
    qc.compose(DraperQFTAdder(bits, kind="fixed"), inplace=True)
    return qc


def _tnq_order(statevector, n):
    """Qiskit's little-endian state in tnq's order (qubit 0 most significant)."""
    return np.asarray(statevector).reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)


@pytest.mark.parametrize("name", ["grover", "adder"])
def test_openqasm_circuits_agree_with_qiskit(name):
    qiskit = pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector

    qc = _grover(6, "101101", qiskit) if name == "grover" else _qft_adder(3, 5, 6, qiskit)
    qc = qiskit.transpile(qc, basis_gates=["u3", "u2", "u1", "cx", "h", "x", "cp", "ccx"],
                          optimization_level=0)
    n = qc.num_qubits
    theirs = _tnq_order(Statevector(qc).data, n)
    circuit = tnq.from_qasm(qiskit.qasm2.dumps(qc))
    program = tnq.compile(circuit)
    assert program.strategy == "statevector"
    mine = program.state()
    k = int(np.argmax(np.abs(theirs)))
    phase = mine[k] / theirs[k]  # OpenQASM 2 carries no global phase
    assert abs(abs(phase) - 1) < 1e-10
    np.testing.assert_allclose(mine, phase * theirs, atol=1e-10)
    bits = format(k, f"0{n}b")
    assert abs(program.amplitude(bits) - mine[k]) < 1e-12
    if name == "grover":
        assert abs(mine[int("101101", 2)]) ** 2 > 0.9
    else:  # a = 5 on qubits 0-2, b = 6 on 3-5 (little-endian): 3-5 hold 11 mod 8 = 3
        assert abs(mine[int("101" + "110", 2)]) > 1 - 1e-10


def test_qiskit_aer_statevector_when_installed():
    qiskit = pytest.importorskip("qiskit")
    aer = pytest.importorskip("qiskit_aer")
    qc = _grover(5, "01101", qiskit)
    text = qiskit.qasm2.dumps(qiskit.transpile(qc, basis_gates=["u3", "cx"],
                                               optimization_level=0))
    ref_qc = qiskit.qasm2.loads(text)
    ref_qc.save_statevector()
    sim = aer.AerSimulator(method="statevector")
    sv = sim.run(qiskit.transpile(ref_qc, sim, optimization_level=0)).result().get_statevector()
    theirs = _tnq_order(sv, 5)
    mine = tnq.compile(tnq.from_qasm(text)).state()
    k = int(np.argmax(np.abs(theirs)))
    np.testing.assert_allclose(mine, mine[k] / theirs[k] * theirs, atol=1e-10)


# ----------------------------------------------------------------- fusion
def test_blocks_absorb_single_qubit_gates_and_merge_pairs():
    c = tnq.Circuit(3).h(0).h(1).cx(0, 1).rz(1, 0.3).cx(0, 1).x(0).cx(1, 2).h(2)
    f = fuse(c.ops, 3, width=2)
    assert [b.ops for b in f.blocks] == [(0, 1, 2, 3, 4, 5), (6, 7)]
    assert [b.qubits for b in f.blocks] == [(0, 1), (1, 2)]
    assert f.blocks[0].positions[2] == (0, 1) and f.blocks[0].positions[3] == (1,)
    wide = fuse(c.ops, 3, width=3)
    assert len(wide.blocks) == 1 and wide.blocks[0].ops == tuple(range(8))


def test_gates_wider_than_the_width_make_their_own_blocks():
    c = tnq.Circuit(4).h(3).ccx(0, 1, 3).cx(0, 1).t(2)
    f = fuse(c.ops, 4, width=2)
    assert [(set(b.qubits), b.ops) for b in f.blocks] == [({0, 1, 3}, (0, 1, 2)), ({2}, (3,))]


def test_diagonal_runs_are_diagonal_blocks():
    theta = tnq.parameters(2)
    c = tnq.Circuit(4).rzz(0, 1, theta[0]).cz(1, 2).rz(2, theta[1]).cp(0, 2, 0.3).rzz(2, 3, 0.1)
    f = fuse(c.ops, 4, width=3)
    assert [b.diagonal for b in f.blocks] == [True, True]
    assert {b.mode for b in f.blocks} == {"diag"}
    program = tnq.compile(c.h(3), "X3 + Z0 Z2", strategy="statevector")
    want = tnq.compile(c, "X3 + Z0 Z2", strategy="state")
    p = np.array([0.4, -1.3])
    assert abs(program(p) - want(p)) < ATOL


@settings(max_examples=40)
@given(circuits(max_qubits=6, max_gates=30, symbolic=False), st.integers(1, 5))
def test_blocks_keep_every_qubits_gate_order(case, width):
    circuit = case[0]
    ops, n = circuit.ops, circuit.num_qubits
    f = fuse(ops, n, width=width)
    order = [i for b in f.blocks for i in b.ops]
    assert sorted(order) == list(range(len(ops)))
    for q in range(n):
        on_q = [i for i in order if q in ops[i].qubits]
        assert on_q == sorted(on_q)
    for b in f.blocks:
        widest = max(len(ops[i].qubits) for i in b.ops)
        assert len(b.qubits) <= max(width, widest)
        assert all(tuple(b.qubits[p] for p in pos) == ops[i].qubits
                   for i, pos in zip(b.ops, b.positions))


def test_blocks_of_one_signature_are_built_together():
    c, ham = _w1(16, 6)
    program = tnq.compile(c, ham, strategy="statevector")
    recipe = program._strategy.recipe
    blocks = len(program._strategy.fusion.blocks)
    assert sum(len(g.members) for g in recipe.groups) + len(recipe.constant) == blocks
    assert len(recipe.groups) < blocks / 2
    steps = sum(len(g.steps) for g in recipe.groups)  # batched products in a call
    assert steps < c.num_params / 2


def _w1(n, layers):
    return demo_circuit(n, layers)  # the W1 ansatz and its Ising energy


# ----------------------------------------------------------------- planner and limits
def _deep(n, gates, rng):
    c = tnq.Circuit(n)
    for _ in range(gates // 3):
        a, b = rng.choice(n, 2, replace=False).tolist()
        c.h(int(a)).cp(int(a), int(b), float(rng.uniform(0, 3))).t(int(b))
    return c


@pytest.mark.parametrize("observable", [None, "Z0 + X3 Y5"])
def test_a_deep_narrow_circuit_compiles_without_any_path_search(observable):
    c = _deep(11, 10_000, np.random.default_rng(0))
    program = tnq.compile(c, observable)
    assert program.strategy == "statevector"
    assert all(p.search_time == 0 for p in program.plans)
    assert program.plans == ()
    psi = program.state()
    assert abs(np.vdot(psi, psi) - 1) < 1e-9
    if observable:
        assert "9999 gates in" in program.reason and "state:" in program.reason


def test_wide_circuits_are_not_considered_and_requests_are_refused():
    c = tnq.Circuit(40).h(0).cx(0, 39)
    program = tnq.compile(c, "Z0 Z39")
    assert program.strategy == "lightcone" and "statevector: not considered" in program.reason
    with pytest.raises(tnq.MemoryLimitError, match="strategy 'statevector': a 40-qubit state"):
        tnq.compile(c, "Z0", strategy="statevector")


def test_explain_and_estimate_are_exact_from_the_structure():
    c, ham = _w1(6, 2)
    program = tnq.compile(c, ham, strategy="statevector")
    text = program.explain()
    assert "statevector: 28 gates fused into" in text and "signature groups" in text
    est = program._strategy.estimate()
    assert est.planned and est.memory == 2**6 * 16 and est.steps > 0
    assert est.flops >= program._strategy.fusion.flops() > 0


def test_batches_and_one_vector_outputs():
    c, ham = _w1(4, 1)
    program = tnq.compile(c, ham, strategy="statevector")
    rows = np.random.default_rng(0).uniform(0, 2 * np.pi, (5, 7))
    assert program.batch_limit() >= 1
    assert program.probabilities(rows).shape == (5, 16)
    with pytest.raises(tnq.ParameterError, match="'amplitude' takes one parameter vector"):
        program.amplitude("0000", rows)
    shots = program.sample(200, rows[0], seed=4)
    assert shots.shape == (200, 4)
    np.testing.assert_array_equal(shots, program.sample(200, rows[0], seed=4))
