"""Shift rules: derived from spectra, checked on trigonometric polynomials and on
every parametrized gate's matrix from the independent reference."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnq
from tnq.gates import Gate
from tnq.gradients import frequencies, gate_rules, shift_rule

from . import reference as ref

PARAM_GATES = sorted(name for name, g in tnq.GATES.items() if g.num_params)


def test_two_and_four_term_rules_have_their_textbook_values():
    two = shift_rule((1.0,))
    assert two.shifts == pytest.approx((math.pi / 2,)) and two.coeffs == pytest.approx((0.5,))
    four = shift_rule((0.5, 1.0))
    r2 = math.sqrt(2)
    assert four.shifts == pytest.approx((math.pi / 2, 3 * math.pi / 2))
    assert four.coeffs == pytest.approx(((r2 + 1) / (4 * r2), -(r2 - 1) / (4 * r2)))


@pytest.mark.parametrize("name, evaluations", [
    ("rx", 2), ("rzz", 2), ("ryy", 2), ("p", 2), ("cp", 2), ("cu1", 2),
    ("crx", 4), ("cry", 4), ("crz", 4), ("fsim", 4)])
def test_gate_rule_sizes(name, evaluations):
    assert gate_rules(tnq.GATES[name])[0].num_evaluations == evaluations


@given(st.lists(st.floats(0.1, 3.0), min_size=1, max_size=4, unique=True),
       st.integers(0, 2**31 - 1))
def test_rule_differentiates_any_trig_polynomial(freqs, seed):
    freqs = tuple(sorted(round(f, 3) for f in freqs))
    if len(set(freqs)) != len(freqs) or min(np.diff(freqs), default=1) < 0.05:
        return
    rng = np.random.default_rng(seed)
    a, b, c0 = rng.normal(size=len(freqs)), rng.normal(size=len(freqs)), rng.normal()
    w = np.array(freqs)

    def f(t):
        return c0 + a @ np.cos(w * t) + b @ np.sin(w * t)

    try:
        rule = shift_rule(freqs)
    except tnq.GradientError:  # an ill-conditioned frequency set is refused, not guessed
        return
    t = rng.uniform(-3, 3)
    exact = -a @ (w * np.sin(w * t)) + b @ (w * np.cos(w * t))
    got = sum(c * (f(t + s) - f(t - s)) for s, c in zip(rule.shifts, rule.coeffs))
    assert got == pytest.approx(exact, abs=1e-8)


@pytest.mark.parametrize("name", PARAM_GATES)
def test_declared_spectra_give_exact_derivatives_of_the_reference_matrices(name, rng):
    """d/dp tr(A U rho U^dag) by each parameter's rule equals a finite difference,
    with U from the test's own gate definitions (not tnq's)."""
    gate = tnq.GATES[name]
    d = 2**gate.num_qubits
    m = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    a = m + m.conj().T
    v = rng.normal(size=d) + 1j * rng.normal(size=d)
    rho = np.outer(v, v.conj()) / np.vdot(v, v)
    params = rng.uniform(-3, 3, gate.num_params)

    def f(i, t):
        p = params.copy()
        p[i] = t
        u = ref.gate(name, *p)
        return np.trace(a @ u @ rho @ u.conj().T).real

    for i, rule in enumerate(gate_rules(gate)):
        h = 1e-5
        fd = (f(i, params[i] + h) - f(i, params[i] - h)) / (2 * h)
        ps = sum(c * (f(i, params[i] + s) - f(i, params[i] - s))
                 for s, c in zip(rule.shifts, rule.coeffs))
        assert ps == pytest.approx(fd, abs=1e-7), (name, i)


def test_frequencies_of_spectra():
    assert frequencies((-0.5, 0.5)) == (1.0,)
    assert frequencies((0.0, 0.0, -0.5, 0.5)) == (0.5, 1.0)
    assert frequencies((-1.0, 0.0, 0.0, 1.0)) == (1.0, 2.0)


def test_bad_rules_are_refused():
    with pytest.raises(tnq.GradientError, match="positive"):
        shift_rule((0.0,))
    with pytest.raises(tnq.GradientError, match="no generator spectrum"):
        gate_rules(Gate("mystery", 1, 1, basis=np.array([np.eye(2)]), coeffs=lambda t: [t]))
