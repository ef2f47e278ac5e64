"""The mps strategy: routed, truncated matrix product states with a fidelity estimate.

Checked against the dense reference simulator (random circuits over the whole
gate set, any qubit distance, up to five-qubit gates), the state strategy
(convergence in max_bond), quimb's MPS (same tensors, its own contraction),
exact marginals (sampling), and, for gradients, parameter shift and finite
differences.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq
from tnq.mps import TruncationWarning

from . import reference as ref
from .strategies import circuits, pauli_sums

ATOL = 1e-10


def pauli_sum(terms):
    return sum((c * tnq.PauliString(tuple(p.items())) for c, p in terms), tnq.Observable())


def brickwork(n, depth, rng, extra=()):
    """RY / RZZ brickwork (W2 layers) with untied parameters, plus ``extra``
    two-qubit gates ``(name, a, b)`` on far-apart qubits after each layer."""
    count = depth * (2 * n - 1 + len(extra))
    theta = tnq.parameters(count)
    params = rng.uniform(0, 2 * np.pi, count)
    c, k = tnq.Circuit(n), 0
    for _ in range(depth):
        for q in range(n):
            c.ry(q, theta[k])
            k += 1
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                c.rzz(q, q + 1, theta[k])
                k += 1
        for name, a, b in extra:
            getattr(c, name)(a, b, theta[k])
            k += 1
    return c, params


def ising(n):
    return " + ".join([f"Z{i} Z{i + 1}" for i in range(n - 1)] + [f"X{i}" for i in range(n)])


# ------------------------------------------------------------ exactness
@settings(max_examples=60, deadline=None)
@given(circuits(max_qubits=6, max_gates=14), st.data())
def test_random_circuits_match_reference(case, data):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    terms = data.draw(pauli_sums(n))
    program = tnq.compile(circuit, pauli_sum(terms), strategy="mps")
    psi = ref.simulate(n, steps)
    expected = sum(c * ref.pauli_expectation(psi, n, p).real for c, p in terms)
    assert program.strategy == "mps"
    result = program.evaluate(params, inputs)
    assert abs(result.value - expected) < ATOL and result.strategy == "mps"
    assert abs(result.fidelity - 1.0) < 1e-12
    state = program.simulate(params, inputs)
    assert np.abs(state.to_dense() - psi).max() < ATOL
    bits = ["".join(b) for b in np.array(list("01"))[np.indices((2,) * n).reshape(n, -1).T]]
    amps = program.amplitude(bits[:8], params, inputs)
    assert np.abs(amps - psi[: len(amps)]).max() < ATOL


def test_nonadjacent_and_multi_qubit_gates_route_without_notice():
    rng = np.random.default_rng(1)
    c = tnq.Circuit(9)
    for q in range(9):
        c.h(q)
    c.cx(0, 8).rzz(7, 1, 0.3).ccx(8, 0, 4).cswap(2, 7, 5).c3x(6, 1, 8, 3).crx(5, 0, 1.1)
    c.unitary(np.linalg.qr(rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8)))[0],
              [7, 2, 4])
    obs = "Z0 Z8 + X4 + Y1 Y7 + 0.5*X0 Z3 Y5"
    exact = tnq.compile(c, obs, strategy="state")
    program = tnq.compile(c, obs, strategy="mps")
    assert program._strategy.schedule.swaps > 0
    assert abs(program() - exact()) < ATOL
    assert np.abs(program.state() - exact.state()).max() < ATOL
    assert "routing swaps" in program.explain()


def test_convergence_in_max_bond_to_the_exact_state():
    rng = np.random.default_rng(2)
    n = 16
    c, params = brickwork(n, 6, rng, extra=[("crx", 0, 9)])
    exact = float(tnq.compile(c, ising(n), strategy="state")(params))
    errors, fidelities = [], []
    for chi in (2, 8, 32, 2 ** (n // 2)):
        program = tnq.compile(c, ising(n), strategy="mps", max_bond=chi)
        result = program.evaluate(params)
        errors.append(abs(float(result.value) - exact))
        fidelities.append(result.fidelity)
    assert errors[-1] < ATOL and fidelities[-1] > 1 - 1e-12
    assert errors[0] > 1e-4 and fidelities[0] < 0.99
    assert fidelities == sorted(fidelities)
    assert errors[0] > errors[2]


def test_matches_quimb_on_the_same_tensors():
    rng = np.random.default_rng(3)
    c, params = brickwork(10, 3, rng)
    psi = tnq.compile(c, strategy="mps", max_bond=4).simulate(params)
    q = psi.to_quimb()
    for bits in ("0000000000", "1011001110", "1111111111"):
        assert abs(complex(q.amplitude(bits)) - complex(psi.amplitude(
            np.array([[int(b) for b in bits]]))[0])) < ATOL
    assert abs(float(np.real(q.H @ q)) - float(psi.norm())) < ATOL


# ------------------------------------------------------------ fidelity
def test_fidelity_estimate_and_warning():
    rng = np.random.default_rng(4)
    n = 12
    c, params = brickwork(n, 5, rng)
    exact = tnq.compile(c, strategy="state").state(params)
    program = tnq.compile(c, ising(n), strategy="mps", max_bond=2, min_fidelity=0.999)
    with pytest.warns(TruncationWarning, match="fidelity estimate .* under min_fidelity"):
        result = program.evaluate(params)
    with pytest.warns(TruncationWarning):
        psi = program.simulate(params)
    assert 0 < psi.fidelity < 0.999 and psi.truncations > 0
    assert max(psi.bond_dims) == 2
    # the estimate tracks the true overlap with the exact state
    overlap = abs(np.vdot(exact, np.asarray(psi.to_dense()))) ** 2
    assert abs(overlap - psi.fidelity) < 0.05
    assert result.fidelity == psi.fidelity and "fidelity estimate" in program.explain()
    quiet = tnq.compile(c, ising(n), strategy="mps", max_bond=64, min_fidelity=0.999)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quiet.evaluate(params).fidelity > 1 - 1e-12


# ------------------------------------------------------------ outputs
def test_sampling_matches_exact_marginals():
    rng = np.random.default_rng(5)
    n = 10
    c, params = brickwork(n, 2, rng)
    program = tnq.compile(c, strategy="mps", max_bond=64)
    shots = 20000
    s = program.sample(shots, params, seed=7)
    assert s.shape == (shots, n) and s.dtype == np.uint8
    assert np.array_equal(s, program.sample(shots, params, seed=7))
    exact = tnq.compile(c)
    for qs in ((0, 1), (4, 9), (3, 5, 6)):
        p = np.asarray(exact.probabilities(params, qubits=qs))
        assert np.abs(np.asarray(program.probabilities(params, qubits=qs)) - p).max() < ATOL
        idx = sum(s[:, q].astype(int) << (len(qs) - 1 - j) for j, q in enumerate(qs))
        freq = np.bincount(idx, minlength=2 ** len(qs)) / shots
        sigma = np.sqrt(p * (1 - p) / shots) + 1e-12
        assert np.all(np.abs(freq - p) < 5 * sigma + 1e-3)


def test_batched_parameters():
    rng = np.random.default_rng(6)
    c, _ = brickwork(8, 2, rng)
    batch = rng.uniform(0, 6, (3, c.num_params))
    mps = tnq.compile(c, ising(8), strategy="mps")
    state = tnq.compile(c, ising(8), strategy="state")
    assert np.abs(np.asarray(mps(batch)) - np.asarray(state(batch))).max() < ATOL


# ------------------------------------------------------------ gradients
def test_gradients_torch_autodiff_and_parameter_shift():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    c, params = brickwork(6, 3, rng, extra=[("crx", 0, 4)])
    obs = ising(6) + " + 0.4*Y1 X3"
    program = tnq.compile(c, obs, strategy="mps")  # exact at this size
    value, grad = tnq.value_and_grad(program, params, backend="torch")
    shift = tnq.param_shift(program, params)
    state_grad = tnq.value_and_grad(tnq.compile(c, obs, strategy="state"), params,
                                    backend="numpy")[1]
    assert np.abs(grad - shift.grad).max() < 1e-9
    assert np.abs(grad - state_grad).max() < 1e-9
    eps = 1e-6
    e = np.zeros_like(params)
    e[5] = eps
    fd = (float(program(params + e)) - float(program(params - e))) / (2 * eps)
    assert abs(fd - grad[5]) < 1e-6
    # parameter shift on torch and jax arrays gives the same numbers
    g_torch = tnq.param_shift(program, torch.as_tensor(params)).grad
    assert np.abs(np.asarray(g_torch) - shift.grad).max() < 1e-9


def test_torch_autodiff_through_truncation_matches_finite_differences():
    pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    c, params = brickwork(8, 4, rng)
    program = tnq.compile(c, ising(8), strategy="mps", max_bond=3)
    _, grad = tnq.value_and_grad(program, params, backend="torch")
    assert np.all(np.isfinite(grad))
    eps = 1e-6
    for j in (0, 17, 40):
        e = np.zeros_like(params)
        e[j] = eps
        fd = (float(program(params + e)) - float(program(params - e))) / (2 * eps)
        assert abs(fd - grad[j]) < 1e-5 * max(1.0, abs(fd))


def test_jax_parameter_shift_and_autodiff_error():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(9)
    c, params = brickwork(5, 2, rng)
    program = tnq.compile(c, ising(5), strategy="mps")
    g = tnq.param_shift(program, jax.numpy.asarray(params)).grad
    assert np.abs(np.asarray(g) - tnq.param_shift(program, params).grad).max() < 1e-9
    with pytest.raises(tnq.GradientError, match="backend='torch'"):
        tnq.value_and_grad(program, params, backend="jax")


# ------------------------------------------------------------ auto and memory
def test_auto_picks_mps_for_1d_circuits_beyond_the_state_when_truncation_is_allowed():
    rng = np.random.default_rng(10)
    n = 18
    c, params = brickwork(n, 8, rng)
    program = tnq.compile(c, ising(n), max_bond=16, max_memory=2**20)
    assert program.strategy == "mps"
    assert "1D-like" in program.reason and "max_bond=16" in program.reason
    assert "mps:" in program.explain()
    exact = float(tnq.compile(c, ising(n), strategy="state")(params))
    assert abs(float(program(params)) - exact) < 0.1
    small = tnq.compile(c, ising(n), max_bond=16)  # the state fits: exact, no truncation
    assert small.strategy != "mps"


def test_exact_mps_over_memory_is_refused_before_running():
    c, _ = brickwork(64, 16, np.random.default_rng(11))
    with pytest.raises(tnq.MemoryLimitError, match="bond dimension .* pass max_bond="):
        tnq.compile(c, ising(64), strategy="mps")


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"max_bond": 0}, "max_bond must be a positive integer"),
    ({"max_bond": 2.5}, "max_bond must be a positive integer"),
    ({"max_bond": True}, "max_bond must be a positive integer"),
    ({"cutoff": -1e-3}, r"cutoff must be a number in \[0, 1\)"),
    ({"cutoff": "small"}, r"cutoff must be a number in \[0, 1\)"),
    ({"min_fidelity": 1.5}, r"min_fidelity must be a number in \[0, 1\]"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(tnq.CompileError, match=match):
        tnq.compile(tnq.Circuit(2).h(0), "Z0", strategy="mps", **kwargs)


def test_gates_on_too_many_qubits_are_refused():
    c = tnq.Circuit(7).h(0)
    c.unitary(np.eye(64), range(6))
    with pytest.raises(tnq.CompileError, match=r"gate 1 \(unitary .*6 qubits.* at most 5"):
        tnq.compile(c, "Z0", strategy="mps")


def test_single_qubit_and_empty_circuits():
    assert abs(float(tnq.compile(tnq.Circuit(1).rx(0, math.pi / 3), "Z0",
                                 strategy="mps")()) - 0.5) < ATOL
    program = tnq.compile(tnq.Circuit(3), "Z0 + Z1 Z2 + X2", strategy="mps")
    assert abs(float(program()) - 2.0) < ATOL
    assert program.sample(5, seed=0).sum() == 0
