"""The mps strategy with accuracy as the knob: target_fidelity, error bars, memory.

Targets are checked by the fidelity estimate each call reports and by the
exact state (dense reference); error bars against the exact energy on
circuits small enough to contract exactly; memory refusals before anything
runs; gradients of the target-fidelity path against parameter shift and
finite differences where no truncation happens.
"""

import warnings

import numpy as np
import pytest

import tnq
from tnq.mps import TruncationWarning

from .test_mps import brickwork, ising

N = 10


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(30)
    c, params = brickwork(N, 6, rng, extra=[("crx", 2, 9)])
    exact = tnq.compile(c, ising(N), strategy="state")
    return c, params, float(exact(params)), np.asarray(exact.state(params))


@pytest.mark.parametrize("target", [0.95, 0.999, 0.99999])
def test_target_fidelity_is_met_and_the_error_bar_covers_the_exact_error(case, target):
    c, params, energy, psi = case
    program = tnq.compile(c, ising(N), strategy="mps", target_fidelity=target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the target is met: no TruncationWarning
        result = program.evaluate(params)
        state = program.simulate(params)
    assert target <= result.fidelity < 1.0
    assert abs(float(result.value) - energy) <= result.error
    assert result.error < 2 * (2 * N - 1) * np.sqrt(1 - target) + 1e-12
    overlap = abs(np.vdot(psi, np.asarray(state.to_dense()))) ** 2
    assert overlap > 1 - 2 * (1 - result.fidelity)
    exact_bonds = tnq.compile(c, strategy="mps").simulate(params).bond_dims
    assert max(state.bond_dims) < max(exact_bonds)  # truncated where it could be
    text = program.explain()
    assert f"target_fidelity={target:g}" in text and "by bond:" in text and "peak memory" in text


def test_a_higher_target_grows_the_bonds_and_shrinks_the_error(case):
    c, params, energy, _ = case
    rows = []
    for target in (0.9, 0.99, 0.9999):
        program = tnq.compile(c, ising(N), strategy="mps", target_fidelity=target)
        result = program.evaluate(params)
        rows.append((sum(program.simulate(params).bond_dims), result.error,
                     abs(float(result.value) - energy)))
    assert rows[0][0] < rows[1][0] < rows[2][0]
    assert rows[0][1] > rows[1][1] > rows[2][1]
    assert rows[2][2] < rows[0][2]


@pytest.mark.parametrize("max_bond", [2, 3, 5, 8])
def test_error_bars_cover_the_exact_errors_of_a_batch(max_bond):
    rng = np.random.default_rng(31 + max_bond)
    c, _ = brickwork(10, 5, rng)
    batch = rng.uniform(0, 2 * np.pi, (4, c.num_params))
    observables = [ising(10), "Z0 Z9 + 0.5*Y4 X5"]
    exact = np.asarray(tnq.compile(c, observables, strategy="state")(batch))
    result = tnq.compile(c, observables, strategy="mps", max_bond=max_bond).evaluate(batch)
    worst = np.abs(np.asarray(result.value) - exact).max(axis=1)
    assert result.error.shape == (4,) and np.all(worst <= result.error)
    assert np.all(result.error > 0)


def test_exact_runs_have_a_zero_error_bar():
    c, params = brickwork(8, 3, np.random.default_rng(35), extra=[("crx", 0, 7)])
    energy = float(tnq.compile(c, ising(8), strategy="state")(params))
    result = tnq.compile(c, ising(8), strategy="mps").evaluate(params)
    assert result.error < 1e-5 and abs(float(result.value) - energy) < 1e-10


def test_a_target_beyond_max_memory_warns_with_the_fidelity_reached(case):
    c, params, _, _ = case
    program = tnq.compile(c, ising(N), strategy="mps", target_fidelity=0.999999,
                          max_memory=6000)
    assert "the largest that fits max_memory" in program.explain()
    with pytest.warns(TruncationWarning, match="under target_fidelity=0.999999; bonds were "
                      "capped at [0-9]+; raise max_bond or max_memory"):
        result = program.evaluate(params)
        state = program.simulate(params)
    assert result.fidelity < 0.999999
    assert max(state.bond_dims) < 8


def test_memory_is_estimated_and_refused_before_running():
    c, _ = brickwork(40, 8, np.random.default_rng(32))
    with pytest.raises(tnq.MemoryLimitError, match=r"bond dimension 256 .* need about"):
        tnq.compile(c, ising(40), strategy="mps", max_bond=256, max_memory=2**20)
    program = tnq.compile(c, ising(40), strategy="mps", max_bond=16, max_memory=2**20)
    assert "peak memory about" in program.explain()


def test_auto_takes_mps_for_a_target_when_the_state_does_not_fit():
    c, params = brickwork(18, 8, np.random.default_rng(33))
    program = tnq.compile(c, ising(18), target_fidelity=0.999, max_memory=2**20)
    assert program.strategy == "mps"
    assert program.evaluate(params).fidelity >= 0.999


def test_gradients_of_the_target_path_match_parameter_shift_and_finite_differences():
    pytest.importorskip("torch")
    rng = np.random.default_rng(34)
    c, params = brickwork(6, 3, rng)
    program = tnq.compile(c, ising(6), strategy="mps", target_fidelity=1 - 1e-12)
    assert program.evaluate(params).fidelity > 1 - 1e-12  # only rounding-level drops
    _, grad = tnq.value_and_grad(program, params, backend="torch")
    assert np.abs(grad - tnq.param_shift(program, params).grad).max() < 1e-9
    eps = 1e-6
    e = np.zeros_like(params)
    e[4] = eps
    fd = (float(program(params + e)) - float(program(params - e))) / (2 * eps)
    assert abs(fd - grad[4]) < 1e-6


@pytest.mark.parametrize("kwargs, match", [
    ({"target_fidelity": 1.0}, r"target_fidelity must be a number in \(0, 1\)"),
    ({"target_fidelity": 0}, r"target_fidelity must be a number in \(0, 1\)"),
    ({"target_fidelity": "high"}, r"target_fidelity must be a number in \(0, 1\)"),
    ({"target_fidelity": 0.99, "cutoff": 1e-8}, "pass either target_fidelity"),
])
def test_bad_targets(kwargs, match):
    with pytest.raises(tnq.CompileError, match=match):
        tnq.compile(tnq.Circuit(2).h(0), "Z0", strategy="mps", **kwargs)
