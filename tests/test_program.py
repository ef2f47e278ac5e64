import cotengra
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnq
from tnq.cli import demo_circuit

from . import reference as ref
from .strategies import circuits, pauli_sums

ATOL = 1e-10


@given(circuits())
def test_state_matches_reference(case):
    circuit, params, inputs, steps = case
    psi = tnq.compile(circuit).state(params, inputs)
    np.testing.assert_allclose(psi, ref.simulate(circuit.num_qubits, steps), atol=ATOL)


@given(circuits(), st.data())
def test_amplitudes_and_marginals_match_reference(case, data):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    psi = ref.simulate(n, steps)
    program = tnq.compile(circuit)
    idx = data.draw(st.lists(st.integers(0, 2**n - 1), min_size=1, max_size=4))
    bits = [format(i, f"0{n}b") for i in idx]
    np.testing.assert_allclose(program.amplitude(bits, params, inputs), psi[idx], atol=ATOL)
    assert np.isclose(program.amplitude(bits[0], params, inputs), psi[idx[0]], atol=ATOL)
    keep = data.draw(st.permutations(range(n)))[: data.draw(st.integers(1, n))]
    probs = np.abs(psi.reshape((2,) * n)) ** 2
    rest = tuple(q for q in range(n) if q not in keep)
    expected = np.transpose(probs.sum(axis=rest), np.argsort(np.argsort(keep))).reshape(-1)
    got = program.probabilities(params, inputs, qubits=keep)
    np.testing.assert_allclose(got, expected, atol=ATOL)


@given(circuits(), st.data())
def test_expectation_matches_reference(case, data):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    terms = data.draw(pauli_sums(n))
    obs = sum(c * tnq.PauliString(tuple(p.items())) for c, p in terms)
    psi = ref.simulate(n, steps)
    expected = sum(c * np.vdot(psi, ref.pauli_matrix(n, p) @ psi).real for c, p in terms)
    value = tnq.compile(circuit, obs)(params, inputs)
    assert np.isreal(value) and abs(value - expected) < ATOL
    text = " + ".join(f"{c!r}*" + " ".join(f"{v}{q}" for q, v in p.items()) for c, p in terms)
    assert abs(tnq.expectation(circuit, text, params=params, inputs=inputs) - expected) < ATOL


def test_dense_operator_terms(rng):
    c = tnq.Circuit(3).h(0).cx(0, 2).ry(1, 0.3).rzz(1, 2, 0.7)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    herm = a + a.conj().T
    obs = tnq.DenseOperator(herm, (2, 0)) + 0.5 * tnq.Z(1) + 2.0
    psi = ref.simulate(3, [(ref.H, [0]), (ref.gate("cx"), [0, 2]), (ref.gate("ry", 0.3), [1]),
                           (ref.gate("rzz", 0.7), [1, 2])])
    dense = np.vdot(psi, ref.apply(psi.reshape(2, 2, 2), herm, [2, 0]).reshape(-1)).real
    z1 = np.vdot(psi, ref.pauli_matrix(3, {1: "Z"}) @ psi).real
    assert abs(tnq.expectation(c, obs) - (dense + 0.5 * z1 + 2.0)) < ATOL


def test_ghz_150_amplitudes_and_marginals_without_state():
    c = tnq.Circuit(150).h(0)
    for q in range(149):
        c.cx(q, q + 1)
    program = tnq.compile(c, max_memory=2**26)  # 64 MiB: a state vector could never fit
    amps = program.amplitude(["1" * 150, "0" * 150, "01" * 75])
    np.testing.assert_allclose(amps, [2**-0.5, 2**-0.5, 0], atol=ATOL)
    np.testing.assert_allclose(program.probabilities(qubits=[0, 75, 149])[[0, 7]], [0.5, 0.5])
    with pytest.raises(tnq.MemoryLimitError, match="2\\^150.0 elements"):
        program.state()
    shots = program.sample(200, seed=3)
    assert set(shots.sum(axis=1)) <= {0, 150} and 50 < shots[:, 0].sum() < 150


def test_parameters_arrive_per_call_without_new_plans(rng):
    circuit, ham = demo_circuit(6, 2)
    program = tnq.compile(circuit, ham, strategy="state")
    plans = program.plans
    values = [program(rng.uniform(0, 6, circuit.num_params)) for _ in range(3)]
    assert program.plans == plans and len(set(values)) == 3
    again = tnq.compile(circuit, ham, strategy="state")  # same structure: cached path
    assert again.plans[0].search_time == 0 and again.plans[0].path == plans[0].path


def test_sampling_is_seeded_and_follows_probabilities():
    theta = tnq.parameters(2)
    c = tnq.Circuit(2).ry(0, theta[0]).cry(0, 1, theta[1])
    params = np.array([1.1, 2.0])
    program = tnq.compile(c)
    a, b = program.sample(4000, params, seed=7), program.sample(4000, params, seed=7)
    assert a.shape == (4000, 2) and a.dtype == np.uint8 and np.array_equal(a, b)
    p = program.probabilities(params)
    freq = np.bincount(a[:, 0] * 2 + a[:, 1], minlength=4) / 4000
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 4000) + 1e-9)


def test_block_sampling_matches_distribution():
    """Wide-circuit sampling (closed networks, blocks of qubits) against exact marginals."""
    rng = np.random.default_rng(5)
    c = tnq.Circuit(24)  # above DENSE_SAMPLE_QUBITS: the closed-network sampler
    for q in range(24):
        c.ry(q, rng.uniform(0, 3))
    for q in range(23):
        c.cx(q, q + 1).rz(q + 1, rng.uniform(0, 3))
    program = tnq.compile(c)
    shots = program.sample(3000, seed=1)
    for keep in ([0], [9], [3, 8], [7, 8, 23]):
        p = np.asarray(tnq.compile(c).probabilities(qubits=keep))
        idx = shots[:, keep] @ (2 ** np.arange(len(keep) - 1, -1, -1))
        freq = np.bincount(idx, minlength=p.size) / 3000
        assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 3000) + 1e-9), keep


def test_complex64_on_request():
    theta = tnq.parameters(1)
    c = tnq.Circuit(2).h(0).crx(0, 1, theta[0])
    program = tnq.compile(c, "Z1 + X0", dtype="complex64")
    assert program.state(np.array([0.4])).dtype == np.complex64
    exact = tnq.compile(c, "Z1 + X0")(np.array([0.4]))
    assert abs(program(np.array([0.4])) - exact) < 1e-6


def test_explain_reports_costs():
    circuit, ham = demo_circuit(5, 2)
    text = tnq.compile(circuit, ham).explain()
    assert "9 terms in 4 support groups" in text and "state" in text and "flops" in text


@pytest.mark.parametrize("call, exc, match", [
    (lambda p: p(), tnq.ParameterError, r"pass params= an array of shape \(3,\)"),
    (lambda p: p(np.ones(4)), tnq.ParameterError, r"shape \(4,\); expected \(3,\)"),
    (lambda p: p(np.array([1, np.nan, 0])), tnq.ParameterError, r"params\[1\] is nan"),
    (lambda p: p(np.ones(3, complex)), tnq.ParameterError, "must be real"),
    (lambda p: p.amplitude("012", np.ones(3)), tnq.ParameterError, "bitstring '012'"),
    (lambda p: p.amplitude("0", np.ones(3)), tnq.ParameterError, "expected 3 characters"),
    (lambda p: p.probabilities(np.ones(3), qubits=[3]), tnq.ParameterError, "out of range"),
    (lambda p: p.sample(0, np.ones(3)), tnq.ParameterError, "shots must be"),
])
def test_bad_call_input(call, exc, match):
    theta = tnq.parameters(3)
    program = tnq.compile(tnq.Circuit(3).rx(0, theta[0]).ry(1, theta[2]).h(2), "Z0")
    with pytest.raises(exc, match=match):
        call(program)


@pytest.mark.parametrize("kwargs, match", [
    ({"strategy": "magic"}, "strategy='magic' is not available"),
    ({"dtype": "float16"}, "dtype='float16' is not supported"),
    ({"optimize": "fastest"}, "optimize='fastest' is not known"),
    ({"max_memory": -1}, "max_memory must be a positive"),
])
def test_bad_compile_options(kwargs, match):
    with pytest.raises(tnq.CompileError, match=match):
        tnq.compile(tnq.Circuit(1).h(0), "Z0", **kwargs)


def test_memory_guard_refuses_before_contracting():
    c = tnq.Circuit(20).h(0)
    with pytest.raises(tnq.MemoryLimitError, match="max_memory=1 MiB") as err:
        tnq.compile(c, "Z0", max_memory=2**20, strategy="state")
    assert "16 MiB" in str(err.value) and isinstance(err.value, MemoryError)
    program = tnq.compile(c, "X0", max_memory=2**20)  # auto: the lightcone fits
    assert program.strategy == "lightcone" and "over max_memory" in program.reason
    assert abs(program() - 1) < ATOL


def test_no_observable_and_wrong_circuit():
    with pytest.raises(tnq.CompileError, match="no observable"):
        tnq.compile(tnq.Circuit(1))()
    with pytest.raises(tnq.CompileError, match="expected a tnq.Circuit"):
        tnq.compile("h q[0];")
    with pytest.raises(tnq.ObservableError, match="acts on qubit 4"):
        tnq.compile(tnq.Circuit(2), "Z4")


def test_cotengra_optimizer_gives_same_result():
    circuit, ham = demo_circuit(6, 2)
    params = np.linspace(0, 1, circuit.num_params)
    a = tnq.compile(circuit, ham, optimize="greedy")(params)
    opt = cotengra.HyperOptimizer(max_repeats=4, parallel=False, progbar=False)
    b = tnq.compile(circuit, ham, optimize=opt)(params)
    assert abs(a - b) < ATOL
