"""Qiskit interop: circuits in and out, observables, primitives and the executor,
checked against Qiskit's own simulators (Statevector, StatevectorEstimator,
StatevectorSampler, Aer) and tests/reference.py."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnq

from . import reference as ref
from .strategies import circuits

qiskit = pytest.importorskip("qiskit")
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Parameter, ParameterVector  # noqa: E402
from qiskit.circuit import library as lib  # noqa: E402
from qiskit.primitives import StatevectorEstimator, StatevectorSampler  # noqa: E402
from qiskit.quantum_info import (  # noqa: E402
    Operator,
    Pauli,
    SparseObservable,
    SparsePauliOp,
    Statevector,
)

from tnq.qiskit import Estimator, QiskitExecutor, Sampler  # noqa: E402
from tnq.qiskit.convert import GATE_NAMES  # noqa: E402

ATOL = 1e-10


def qiskit_state(qc) -> np.ndarray:
    """Qiskit's state as tnq orders it (qubit 0 most significant)."""
    n = qc.num_qubits
    sv = Statevector(qc.remove_final_measurements(inplace=False)).data
    return sv.reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)


def same_up_to_phase(a, b) -> bool:
    return abs(abs(np.vdot(a, b)) - 1) < ATOL and np.allclose(np.abs(a), np.abs(b), atol=1e-9)


def random_layer(qc, rng):
    for q in range(qc.num_qubits):
        qc.u(*rng.uniform(-np.pi, np.pi, 3), q)


# ------------------------------------------------------------------ gates


@pytest.mark.parametrize("name", sorted(GATE_NAMES) + ["fsim"])
def test_each_gate_has_qiskits_matrix_both_ways(name, rng):
    gate = tnq.GATES[name]
    n = gate.num_qubits
    params = rng.uniform(-3, 3, gate.num_params).tolist()
    qubits = [int(q) for q in rng.permutation(n + 1)[:n]]
    c = tnq.Circuit(n + 1)
    for q in range(n + 1):
        c.u3(q, *rng.uniform(-3, 3, 3))
    c.apply(name, *qubits, params=params)
    qc = tnq.to_qiskit(c)
    assert qc.data[-1].operation.name == (name if name == "fsim" else
                                          getattr(lib, GATE_NAMES[name])(*params).name)
    state = tnq.state(c)
    np.testing.assert_allclose(qiskit_state(qc), state, atol=ATOL)  # phase included
    back = tnq.from_qiskit(qc)
    assert [(op.name, op.qubits) for op in back.ops] == [(op.name, op.qubits) for op in c.ops]
    np.testing.assert_allclose(tnq.state(back), state, atol=ATOL)


@given(circuits(max_qubits=4, max_gates=10))
def test_random_circuits_match_the_reference_and_round_trip(case):
    circuit, params, inputs, steps = case
    expected = ref.simulate(circuit.num_qubits, steps)
    bound = tnq.to_qiskit(circuit, params, inputs=inputs)
    assert not bound.parameters
    np.testing.assert_allclose(qiskit_state(bound), expected, atol=ATOL)
    symbolic = tnq.to_qiskit(circuit)
    back = tnq.from_qiskit(symbolic)
    assert [(op.name, op.qubits) for op in back.ops] == [(op.name, op.qubits) for op in circuit]
    assert [(v.name, v.size) for v in back.layout.params] == sorted(
        (v.name, v.size) for v in circuit.layout.params + circuit.layout.inputs)
    values = {v.name: (params if v.kind == "param" else inputs)[:v.size]
              for v in circuit.layout.params + circuit.layout.inputs}
    np.testing.assert_allclose(tnq.state(back, params=values or None), expected, atol=ATOL)


def test_gates_outside_tnq_are_decomposed_by_qiskit(rng):
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(4)
    random_layer(qc, rng)
    qc.ecr(0, 2)
    qc.rzx(2 * a + 0.1, 1, 3)
    qc.append(lib.XXPlusYYGate(a, 0.3), [2, 1])
    qc.r(b, -a, 0)
    qc.cx(3, 0, ctrl_state=0)
    qc.dcx(1, 0)
    qc.ccz(0, 1, 2)
    qc.append(lib.MCXGate(3), [0, 1, 2, 3])
    sub = QuantumCircuit(2, name="mine")
    sub.h(0)
    sub.crx(b, 0, 1)
    qc.append(sub.to_gate(), [3, 1])
    qc.append(lib.UnitaryGate(Operator(lib.CYGate()).data @ np.kron(
        Operator(lib.HGate()).data, np.eye(2))), [2, 0])
    c = tnq.from_qiskit(qc)
    assert [v.name for v in c.layout.params] == ["a", "b"]
    values = {a: 0.7, b: -1.3}
    state = tnq.state(c, params=[0.7, -1.3])
    assert same_up_to_phase(state, qiskit_state(qc.assign_parameters(values)))
    assert {op.name for op in c.ops} <= set(tnq.GATES) | {"unitary"}


def test_unitary_gates_stay_unitaries_with_qiskits_qubit_order(rng):
    m = Operator(lib.CXGate()).data @ np.kron(np.eye(2), Operator(lib.RYGate(0.4)).data)
    qc = QuantumCircuit(3)
    random_layer(qc, rng)
    qc.unitary(m, [2, 0])
    c = tnq.from_qiskit(qc)
    assert c.ops[-1].name == "unitary"
    np.testing.assert_allclose(tnq.state(c), qiskit_state(qc), atol=ATOL)
    np.testing.assert_allclose(qiskit_state(tnq.to_qiskit(c)), qiskit_state(qc), atol=ATOL)


# ------------------------------------------------------------------ parameters


def test_parameters_keep_their_names_and_qiskits_order():
    theta, phi = ParameterVector("θ", 3), ParameterVector("phi", 2)
    loose, odd = Parameter("alpha"), Parameter("x y")
    qc = QuantumCircuit(2)
    qc.rx(phi[1], 0)
    qc.ry(-theta[2] / 4 + 1, 1)
    qc.rz(odd, 0)
    qc.u(theta[0], 3 * loose, theta[1] - 0.5, 1)
    qc.cp(phi[0] * 2, 0, 1)
    c = tnq.from_qiskit(qc)
    layout = c.layout
    assert [(v.name, v.size) for v in layout.params] == [
        ("alpha", 1), ("phi", 2), ("x_y", 1), ("θ", 3)]
    assert [str(op) for op in c.ops][:2] == ["rx(phi[1]) q0", "ry(-0.25*θ[2] + 1) q1"]
    # every vector is used in full: tnq's flat order is Qiskit's circuit.parameters order
    values = np.random.default_rng(3).uniform(-2, 2, qc.num_parameters)
    program = tnq.compile(c, "Z0 X1 + 0.5*Y0")
    bound = qc.assign_parameters(values)
    expected = Statevector(bound).expectation_value(SparsePauliOp.from_list(
        [("XZ", 1), ("IY", 0.5)])).real
    assert abs(float(program(values)) - expected) < ATOL
    named = program.unpack(values)
    assert set(named) == {"alpha", "phi", "x_y", "θ"}
    back = tnq.to_qiskit(c)
    assert sorted(p.name for p in back.parameters) == sorted(
        ["alpha[0]", "phi[0]", "phi[1]", "x_y[0]", "θ[0]", "θ[1]", "θ[2]"])


def test_clashing_names_and_a_parameter_only_in_the_global_phase():
    loose, vector, phase = Parameter("theta"), ParameterVector("theta", 2), Parameter("g")
    qc = QuantumCircuit(2)
    qc.rx(loose, 0)
    qc.ry(vector[1], 1)
    qc.crz(vector[0], 1, 0)
    qc.global_phase = phase
    c = tnq.from_qiskit(qc)
    assert [(v.name, v.size) for v in c.layout.params] == [("g", 1), ("theta", 1),
                                                            ("theta_1", 2)]
    values = [0.3, 1.1, -0.4, 2.2]  # Qiskit's order: g, theta, theta[0], theta[1]
    expected = Statevector(qc.assign_parameters(values)).expectation_value(
        SparsePauliOp("YZ")).real
    assert abs(float(tnq.expectation(c, "Z0 Y1", params=values)) - expected) < ATOL


def test_a_partly_used_vector_keeps_its_size():
    theta = ParameterVector("theta", 4)
    qc = QuantumCircuit(1)
    qc.rx(theta[3], 0)
    c = tnq.from_qiskit(qc)
    assert c.num_params == 4 and str(c.ops[0]) == "rx(theta[3]) q0"


@pytest.mark.parametrize("build, match", [
    (lambda qc, a, b: qc.reset(0), "instruction 1 \\(reset on qubits \\(0,\\)\\) is a reset"),
    (lambda qc, a, b: (qc.measure(0, 0), qc.x(0)), "instruction 2 \\(x on qubits \\(0,\\)\\) "
     "comes after a measurement of qubit 0"),
    (lambda qc, a, b: qc.rx(a * b, 0), "depends on 2 parameters"),
    (lambda qc, a, b: qc.rx(a.sin(), 0), "not an affine function"),
    (lambda qc, a, b: qc.rx(a ** 2, 1), "not an affine function"),
    (lambda qc, a, b: qc.rzx(a.sin(), 0, 1),  # named before Qiskit decomposes rzx
     "instruction 1 \\(rzx on qubits \\(0, 1\\)\\): angle sin\\(a\\) is not an affine"),
    (lambda qc, a, b: qc.rx(1j * a, 0), "instruction 1 \\(rx on qubits \\(0,\\)\\): angle .* "
     "is not a finite real number"),
    (lambda qc, a, b: qc.initialize([0, 1], 0), "instruction 1 \\(initialize"),
])
def test_what_tnq_cannot_simulate_is_refused_by_name(build, match):
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2, 1)
    qc.h(1)
    build(qc, a, b)
    with pytest.raises(tnq.CircuitError, match=match):
        tnq.from_qiskit(qc)


def test_classical_control_is_refused_by_name():
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    with pytest.raises(tnq.CircuitError, match="instruction 2 \\(if_else .*classical control"):
        tnq.from_qiskit(qc)
    with pytest.raises(tnq.CircuitError, match="needs a qiskit.QuantumCircuit"):
        tnq.from_qiskit(tnq.Circuit(1))
    with pytest.raises(tnq.ParameterError, match="params has shape \\(2,\\); expected \\(1,\\)"):
        tnq.to_qiskit(tnq.Circuit(1).rx(0, tnq.parameters(1)[0]), [1.0, 2.0])


def test_final_measurements_and_barriers_are_skipped(rng):
    qc = QuantumCircuit(3, 3)
    random_layer(qc, rng)
    qc.barrier()
    qc.cx(0, 1)
    qc.measure([0, 1], [2, 0])
    qc.h(2)  # a qubit not measured may still get gates
    qc.measure(2, 1)
    c = tnq.from_qiskit(qc)
    assert len(c) == 5
    np.testing.assert_allclose(tnq.state(c), qiskit_state(qc), atol=ATOL)


# ------------------------------------------------------------------ observables


def test_sparse_pauli_ops_are_observables_in_qiskits_qubit_order(rng):
    qc = QuantumCircuit(4)
    random_layer(qc, rng)
    qc.cx(0, 1)
    qc.cx(2, 3)
    random_layer(qc, rng)
    op = SparsePauliOp.from_list([("IIXZ", 0.5), ("YIIZ", -1.2), ("IIII", 0.3), ("ZZZZ", 2)])
    expected = Statevector(qc).expectation_value(op).real
    c = tnq.from_qiskit(qc)
    assert abs(float(tnq.expectation(c, op)) - expected) < ATOL
    assert tnq.observable(SparsePauliOp("IIXZ")) == tnq.observable("Z0 X1")
    assert tnq.observable(Pauli("-XY")) == tnq.observable("-1*Y0 X1")
    proj = SparseObservable.from_sparse_list([("0+", [1, 3], 1.5), ("r", [2], 1.0)], 4)
    psi = Statevector(qc).data
    expected = np.vdot(psi, _dense(proj, 4) @ psi).real
    assert abs(float(tnq.expectation(c, proj)) - expected) < ATOL
    with pytest.raises(tnq.ObservableError, match="coefficient"):
        tnq.observable(SparsePauliOp(["XZ"], [Parameter("a")]))


def _dense(obs, n):
    """A SparseObservable as a dense matrix, built from Qiskit's own letters."""
    mats = {"X": "X", "Y": "Y", "Z": "Z"}
    out = np.zeros((2**n, 2**n), complex)
    one = {"0": np.diag([1, 0]), "1": np.diag([0, 1]),
           "+": np.full((2, 2), 0.5), "-": np.array([[0.5, -0.5], [-0.5, 0.5]]),
           "r": np.array([[0.5, -0.5j], [0.5j, 0.5]]), "l": np.array([[0.5, 0.5j], [-0.5j, 0.5]])}
    for letters, qubits, coeff in obs.to_sparse_list():
        factors = [np.eye(2)] * n
        for ch, q in zip(letters, qubits):
            factors[n - 1 - q] = Operator(Pauli(mats[ch])).data if ch in mats else one[ch]
        term = factors[0]
        for f in factors[1:]:
            term = np.kron(term, f)
        out += coeff * term
    return out


# ------------------------------------------------------------------ Estimator


def random_circuit(n, seed, *, measure=False):
    """A parametrized circuit (EfficientSU2 layers and a few other gates)."""
    rng = np.random.default_rng(seed)
    qc = lib.efficient_su2(n, reps=2, entanglement="linear")
    qc.rzz(Parameter("g") * 0.5, 0, n - 1)
    qc.ecr(n - 1, 0)
    qc.cry(rng.uniform(-1, 1), 1, 2)
    if measure:
        qc.measure_all()
    return qc


def random_ops(n, count, rng):
    return [SparsePauliOp.from_list([("".join(rng.choice(list("IXYZ"), n)), rng.normal())
                                     for _ in range(3)]) for _ in range(count)]


@pytest.mark.parametrize("obs_shape, value_shape", [
    ((), ()), ((3,), ()), ((), (4,)), ((3, 1), (3, 5)), ((2, 1, 1), (4, 3)), ((4,), (4,))])
def test_estimator_matches_statevector_estimator_with_broadcasting(obs_shape, value_shape):
    rng = np.random.default_rng(abs(hash((obs_shape, value_shape))) % 2**32)
    qc = random_circuit(4, 1)
    ops = random_ops(4, int(np.prod(obs_shape)), rng)
    obs = np.empty(len(ops), dtype=object)
    for k, op in enumerate(ops):
        obs[k] = op
    values = rng.uniform(-np.pi, np.pi, value_shape + (qc.num_parameters,))
    pub = (qc, obs.reshape(obs_shape).tolist() if obs_shape else ops[0], values)
    ours = Estimator().run([pub, pub]).result()
    theirs = StatevectorEstimator().run([pub]).result()[0]
    assert len(ours) == 2 and ours.metadata == {"version": 2}
    for result in ours:
        assert result.data.evs.shape == theirs.data.evs.shape == np.broadcast_shapes(
            obs_shape, value_shape)
        np.testing.assert_allclose(result.data.evs, theirs.data.evs, atol=ATOL)
        assert result.metadata == theirs.metadata


def test_estimator_precision_is_drawn_as_qiskit_draws_it():
    qc = random_circuit(3, 2)
    rng = np.random.default_rng(5)
    pubs = [(qc, random_ops(3, 2, rng), rng.uniform(-3, 3, (3, 1, qc.num_parameters))),
            (qc, "ZZI", rng.uniform(-3, 3, qc.num_parameters), 0.2)]
    ours = Estimator(seed=11).run(pubs, precision=0.05).result()
    theirs = StatevectorEstimator(seed=11).run(pubs, precision=0.05).result()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data.evs, b.data.evs, atol=ATOL)
        assert a.metadata == b.metadata
    assert np.all(ours[0].data.stds == 0.05) and np.all(ours[1].data.stds == 0.2)
    exact = Estimator().run(pubs[:1]).result()[0].data.evs
    assert 0 < np.abs(ours[0].data.evs - exact).max() < 0.05 * 6
    with pytest.raises(tnq.ParameterError, match="precision must be a non-negative"):
        Estimator().run(pubs, precision=-1.0)


@pytest.mark.parametrize("options, match", [
    ({"strategy": "fast"}, "strategy='fast' is not available"),
    ({"max_bond": 0}, "max_bond must be a positive integer"),
    ({"max_memory": -1}, "max_memory must be a positive number of bytes"),
    ({"seed": -3}, "seed must be None, a non-negative integer"),
    ({"cache_size": 0}, "cache_size must be a positive integer"),
])
def test_primitive_options_are_checked_when_built(options, match):
    for make in (Estimator, Sampler):
        with pytest.raises(tnq.TnqError, match=match):
            make(**options)
    with pytest.raises(tnq.ParameterError, match="default_shots must be a positive integer"):
        Sampler(default_shots=0)
    with pytest.raises(tnq.ParameterError, match="default_precision must be a non-negative"):
        Estimator(default_precision=float("nan"))


def test_estimator_compiles_once_per_structure_and_observables():
    qc = random_circuit(4, 3)
    est = Estimator()
    rng = np.random.default_rng(0)
    for _ in range(3):
        est.run([(qc, "ZZII", rng.uniform(-1, 1, qc.num_parameters))]).result()
    est.run([(qc.copy(), ["ZZII"], rng.uniform(-1, 1, (2, qc.num_parameters)))]).result()
    assert len(est.programs) == 1
    est.run([(qc, "XXII", rng.uniform(-1, 1, qc.num_parameters))]).result()
    assert len(est.programs) == 2


def test_circuits_differing_only_in_numbers_share_a_program():
    qc = lib.efficient_su2(4, reps=2)
    qc.crz(0.4, 0, 3)
    qc.measure_all()
    rng = np.random.default_rng(8)
    est, sampler = Estimator(), Sampler(seed=1)
    for _ in range(3):
        bound = qc.assign_parameters(rng.uniform(-3, 3, qc.num_parameters))
        pub = (bound.remove_final_measurements(inplace=False), ["ZZII", "IXIY"])
        ours = est.run([pub]).result()[0].data.evs
        np.testing.assert_allclose(ours, StatevectorEstimator().run([pub]).result()[0].data.evs,
                                   atol=ATOL)
        counts = sampler.run([bound], shots=20000).result()[0].data.meas.get_counts()
        exact = Statevector(pub[0]).probabilities_dict()
        assert max(abs(counts.get(k, 0) / 20000 - p) for k, p in exact.items()) < 0.02
    assert len(est.programs) == len(sampler.programs) == 1
    assert est.programs[0].num_inputs == qc.num_parameters + 1  # the numbers are inputs


def test_estimator_on_a_wide_circuit_uses_lightcones():
    n = 60
    theta = ParameterVector("t", 2 * n)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(theta[q], q)
    for q in range(0, n - 1, 2):
        qc.cz(q, q + 1)
    for q in range(n):
        qc.rx(theta[n + q], q)
    obs = SparsePauliOp.from_sparse_list([("ZZ", [q, q + 1], 1.0) for q in range(n - 1)], n)
    values = np.random.default_rng(1).uniform(-1, 1, (2, 2 * n))
    est = Estimator()
    evs = est.run([(qc, obs, values)]).result()[0].data.evs
    assert est.programs[0].strategy == "lightcone"
    c = tnq.from_qiskit(qc)
    for row, ev in zip(values, evs):
        assert abs(float(tnq.expectation(c, obs, params=row, strategy="mps")) - ev) < 1e-9


# ------------------------------------------------------------------ Sampler


def registers_circuit():
    q, a, b = QuantumRegister(4, "q"), ClassicalRegister(3, "alpha"), ClassicalRegister(2, "beta")
    qc = QuantumCircuit(q, a, b)
    theta = Parameter("theta")
    qc.x(0)
    qc.rx(theta, 2)
    qc.x(3)
    qc.measure(0, a[2])
    qc.measure(2, a[0])
    qc.measure(3, b[1])  # alpha[1] and beta[0] are never measured: 0
    return qc


def test_sampler_bits_and_registers_match_statevector_sampler():
    qc = registers_circuit()
    values = np.array([[0.0], [np.pi]])
    ours = Sampler(seed=1).run([(qc, values)], shots=50).result()[0]
    theirs = StatevectorSampler(seed=1).run([(qc, values)], shots=50).result()[0]
    assert ours.metadata == theirs.metadata == {"shots": 50, "circuit_metadata": {}}
    for name in ("alpha", "beta"):
        a, b = ours.data[name], theirs.data[name]
        assert (a.shape, a.num_shots, a.num_bits) == (b.shape, b.num_shots, b.num_bits)
        for i in range(2):
            assert a.get_counts(i) == b.get_counts(i)
    assert ours.data.alpha.get_counts(1) == {"101": 50} and ours.data.beta.get_counts(0) == {
        "10": 50}


def test_sampler_registers_over_a_byte_and_shots_per_pub():
    qc = QuantumCircuit(10, 10)
    for q in (0, 3, 8, 9):
        qc.x(q)
    qc.h(5)
    qc.measure(range(10), list(range(10))[::-1])
    ours = Sampler(seed=1).run([(qc, None, 40), qc], shots=7).result()
    theirs = StatevectorSampler(seed=1).run([(qc, None, 40), qc], shots=7).result()
    for a, b in zip(ours, theirs):
        assert a.data.c.array.shape == b.data.c.array.shape
        assert sorted(a.data.c.get_counts()) == sorted(b.data.c.get_counts()) == [
            "1001000011", "1001010011"]
    assert [r.data.c.num_shots for r in ours] == [40, 7]


@pytest.mark.parametrize("value_shape", [(), (3,), (2, 2)])
def test_sampler_distributions_match_qiskit(value_shape):
    qc = random_circuit(4, 4)
    qc.measure_all()
    rng = np.random.default_rng(7)
    values = rng.uniform(-np.pi, np.pi, value_shape + (qc.num_parameters,))
    shots = 4000
    result = Sampler(seed=3).run([(qc, values)], shots=shots).result()[0]
    bits = result.data.meas
    assert bits.shape == value_shape and bits.num_shots == shots and bits.num_bits == 4
    bound = qc.remove_final_measurements(inplace=False)
    for index in np.ndindex(*value_shape):
        exact = Statevector(bound.assign_parameters(values[index])).probabilities_dict()
        counts = bits.get_counts(index if value_shape else None)
        seen = np.array([counts.get(k, 0) / shots for k in exact])
        p = np.array(list(exact.values()))
        assert np.all(np.abs(seen - p) < 5 * np.sqrt(p * (1 - p) / shots) + 1e-3)
    again = Sampler(seed=3).run([(qc, values)], shots=shots).result()[0].data.meas
    assert again == bits  # seeded


def test_sampler_refuses_mid_circuit_measurements():
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.h(0)
    with pytest.raises(tnq.CircuitError, match="after a measurement"):
        Sampler().run([qc]).result()


# ------------------------------------------------------------------ executor


@pytest.fixture
def shift_problem():
    theta = tnq.parameters(4)
    c = tnq.Circuit(3)
    for q in range(3):
        c.ry(q, theta[q])
    c.cx(0, 1).cx(1, 2).crx(2, 0, 2 * theta[3] - 0.3).fsim(0, 1, 0.4, 0.2)
    program = tnq.compile(c, "Z0 Z1 + 0.5*X2 - 0.7*Y0 Y1")
    params = np.array([0.3, -0.8, 1.1, 0.6])
    return program, params, tnq.param_shift(program, params)


def test_parameter_shift_on_aer_sampler_v2_matches_exact_gradient(shift_problem):
    aer = pytest.importorskip("qiskit_aer.primitives")
    program, params, exact = shift_problem
    ex = QiskitExecutor(aer.SamplerV2(seed=4))
    g = tnq.param_shift(program, params, shots=3000, executor=ex)
    assert np.all(g.grad_stderr > 0)
    assert np.abs((g.grad - exact.grad) / g.grad_stderr).max() < 5
    assert abs(g.value - exact.value) < 5 * g.value_stderr
    assert len(ex._templates) == 2  # two structures: unshifted/shifted rows share them


def test_executor_takes_statevector_sampler_and_pass_managers(shift_problem):
    aer = pytest.importorskip("qiskit_aer")
    from qiskit.transpiler import generate_preset_pass_manager

    program, params, exact = shift_problem
    backend = aer.AerSimulator()
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend)
    # StatevectorSampler reseeds every circuit with an integer seed (the same draws for
    # each); a Generator gives independent ones
    for ex in (QiskitExecutor(StatevectorSampler(seed=np.random.default_rng(2))),
               QiskitExecutor(aer.primitives.SamplerV2(seed=2), pass_manager=pm),
               QiskitExecutor(Sampler(seed=2)), QiskitExecutor(backend)):
        g = tnq.param_shift(program, params, shots=2000, executor=ex, seed=3)
        assert np.abs((g.grad - exact.grad) / g.grad_stderr).max() < 5
        assert len(ex._templates) == 2  # prepared once per structure (and setting)
    with pytest.raises(tnq.ExecutorError, match="BackendV2 .* or a SamplerV2 primitive"):
        QiskitExecutor(object())
    from tnq.gradients.qiskit import QiskitExecutor as Old
    from tnq.gradients.qiskit import to_qiskit as old_to_qiskit

    assert Old is QiskitExecutor is tnq.QiskitExecutor
    assert old_to_qiskit(tnq.Circuit(2).h(0)).count_ops() == {"h": 1, "measure": 2,
                                                              "barrier": 1}


@pytest.mark.parametrize("seed", range(6))
def test_estimator_on_qiskits_random_circuits(seed):
    from qiskit.circuit.random import random_circuit

    qc = random_circuit(4, 6, max_operands=3, seed=seed)  # many gates outside tnq's set
    ops = random_ops(4, 3, np.random.default_rng(seed))
    ours = Estimator().run([(qc, ops)]).result()[0].data.evs
    theirs = StatevectorEstimator().run([(qc, ops)]).result()[0].data.evs
    np.testing.assert_allclose(ours, theirs, atol=ATOL)
    np.testing.assert_allclose(np.abs(tnq.state(tnq.from_qiskit(qc))) ** 2,
                               np.abs(qiskit_state(qc)) ** 2, atol=ATOL)


@given(st.data())
def test_estimator_broadcasts_as_qiskit_does(data):
    """Any broadcastable pair of observables-array and parameter-value shapes."""
    out = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=3), label="shape")
    obs_shape = tuple(d if data.draw(st.booleans()) else 1 for d in out)
    value_shape = tuple(d if data.draw(st.booleans()) else 1 for d in out)
    obs_shape = obs_shape[data.draw(st.integers(0, len(obs_shape))):]
    value_shape = value_shape[data.draw(st.integers(0, len(value_shape))):]
    qc = random_circuit(3, data.draw(st.integers(0, 3)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    ops = random_ops(3, int(np.prod(obs_shape)), rng)
    obs = np.empty(len(ops), dtype=object)
    for k, op in enumerate(ops):
        obs[k] = op
    pub = (qc, obs.reshape(obs_shape).tolist() if obs_shape else ops[0],
           rng.uniform(-3, 3, value_shape + (qc.num_parameters,)))
    ours = Estimator().run([pub]).result()[0].data.evs
    theirs = StatevectorEstimator().run([pub]).result()[0].data.evs
    assert ours.shape == theirs.shape == np.broadcast_shapes(obs_shape, value_shape)
    np.testing.assert_allclose(ours, theirs, atol=ATOL)


def test_without_qiskit_the_features_name_the_extra():
    script = """
import json, sys
sys.modules["qiskit"] = None
import tnq
out = []
for call in (lambda: tnq.from_qiskit(None), lambda: tnq.to_qiskit(tnq.Circuit(1)),
             lambda: __import__("tnq.qiskit", fromlist=["Estimator"]).Estimator,
             lambda: tnq.QiskitExecutor(None)):
    try:
        call()
    except tnq.MissingDependencyError as exc:
        out.append(str(exc))
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        f'tnq.{name} needs qiskit: pip install "tnq[qiskit]"'
        for name in ("from_qiskit", "to_qiskit", "qiskit.Estimator", "QiskitExecutor")]
