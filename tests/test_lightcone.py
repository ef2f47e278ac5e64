"""The lightcone strategy: reduced networks, structural groups, batched contraction.

Checked against the dense reference simulator (random circuits up to 14
qubits), against the state strategy, against analytic values of GHZ, graph
and QAOA states of 100+ qubits, and, for gradients, against parameter shift
and finite differences.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq

from . import reference as ref
from .strategies import circuits, pauli_sums

ATOL = 1e-10


def pauli_sum(terms):
    return sum((c * tnq.PauliString(tuple(p.items())) for c, p in terms), tnq.Observable())


def dense_expectation(n, steps, terms):
    psi = ref.simulate(n, steps)
    return sum(c * ref.pauli_expectation(psi, n, p).real for c, p in terms)


def brickwork(n, depth, rng, kinds=None, tied=False):
    """RY/RZZ-style brickwork and its reference steps.

    ``kinds`` (a function of (layer, qubit) -> (one-qubit gate, two-qubit gate))
    breaks translation invariance; ``tied`` uses one parameter per layer and role.
    """
    count = 3 * depth if tied else depth * (2 * n - 1)
    theta = tnq.parameters(count)
    params = rng.uniform(-math.pi, math.pi, count)
    c, steps, k = tnq.Circuit(n), [], 0
    for layer in range(depth):
        for q in range(n):
            one = kinds(layer, q)[0] if kinds else "ry"
            idx = 3 * layer if tied else k
            getattr(c, one)(q, theta[idx])
            steps.append((ref.gate(one, params[idx]), [q]))
            k += 1
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                two = kinds(layer, q)[1] if kinds else "rzz"
                idx = 3 * layer + 1 + start if tied else k
                if two in ("cx", "cz"):
                    getattr(c, two)(q, q + 1)
                    steps.append((ref.gate(two), [q, q + 1]))
                else:
                    getattr(c, two)(q, q + 1, theta[idx])
                    steps.append((ref.gate(two, params[idx]), [q, q + 1]))
                k += 1
    return c, params, steps


def chain_terms(n, rng):
    """ZZ on neighbours and X on every qubit, with random coefficients."""
    terms = [(rng.normal(), {i: "Z", i + 1: "Z"}) for i in range(n - 1)]
    return terms + [(rng.normal(), {i: "X"}) for i in range(n)]


# ------------------------------------------------------------ against the reference
@given(circuits(max_qubits=6, max_gates=16), st.data())
def test_random_circuits_match_reference(case, data):
    circuit, params, inputs, steps = case
    n = circuit.num_qubits
    terms = data.draw(pauli_sums(n))
    program = tnq.compile(circuit, pauli_sum(terms), strategy="lightcone")
    expected = dense_expectation(n, steps, terms)
    assert program.strategy == "lightcone"
    assert abs(program(params, inputs) - expected) < ATOL


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brickworks_up_to_14_qubits_match_reference(seed):
    rng = np.random.default_rng(seed)
    n = 14 if seed == 0 else 11
    one, two = ["rx", "ry", "rz"], ["rzz", "cx", "cz", "crx", "rxx"]
    table = {(layer, q): (one[rng.integers(3)], two[rng.integers(5)])
             for layer in range(3) for q in range(n)}
    for kinds in (None, lambda layer, q: table[(layer, q)]):
        circuit, params, steps = brickwork(n, 3, rng, kinds)
        terms = chain_terms(n, rng) + [(0.7, {0: "Y", n // 2: "X", n - 1: "Z"})]
        program = tnq.compile(circuit, pauli_sum(terms), strategy="lightcone")
        assert abs(program(params) - dense_expectation(n, steps, terms)) < ATOL


# ------------------------------------------------------------ grouping
def test_translation_invariant_brickwork_groups_bulk_terms():
    rng = np.random.default_rng(3)
    n = 14
    stacked = {}
    for tied in (False, True):
        circuit, params, steps = brickwork(n, 2, rng, tied=tied)
        terms = chain_terms(n, rng)
        program = tnq.compile(circuit, pauli_sum(terms), strategy="lightcone")
        groups = program._strategy.groups
        assert sum(g.size for g in groups) == len(terms)
        # bulk terms at even and odd sites are mirror images: they group too
        assert max(g.size for g in groups) >= 10 and len(groups) <= 6
        # untied: members differ in every gate; tied: only where a mirror image
        # swaps the even- and odd-bond parameters (boundary pairs: nowhere)
        stacked[tied] = [int(g.varies.sum()) for g in groups]
        assert tied or all(g.varies.all() for g in groups if g.size > 1)
        assert not tied or min(stacked[True]) == 0
        assert abs(program(params) - dense_expectation(n, steps, terms)) < ATOL
        state = tnq.compile(circuit, pauli_sum(terms), strategy="state")
        assert abs(program(params) - state(params)) < ATOL
    assert sum(stacked[True]) < sum(stacked[False]) / 2


def test_group_members_equal_their_own_networks():
    """Each member of a batched group gives what its term alone gives."""
    rng = np.random.default_rng(4)
    n = 12
    circuit, params, _ = brickwork(n, 2, rng)
    terms = chain_terms(n, rng)
    program = tnq.compile(circuit, pauli_sum(terms), strategy="lightcone")
    big = max(program._strategy.groups, key=lambda g: g.size)
    total = 0.0
    for cone in big.cones:
        obs = tnq.DenseOperator(cone.operator, cone.support)
        total += tnq.compile(circuit, obs, strategy="state")(params)
    single = [g for g in program._strategy.groups if g is not big]
    rest = sum(tnq.compile(circuit, tnq.DenseOperator(c.operator, c.support),
                           strategy="state")(params) for g in single for c in g.cones)
    assert abs(program(params) - total - rest) < ATOL


def test_structure_only_reduction():
    """Cancelled gates and kept gates do not depend on parameter values."""
    theta = tnq.parameters(4)
    c = (tnq.Circuit(4).h(0).h(1).h(2).h(3).rzz(0, 1, theta[0]).rzz(2, 3, theta[1])
         .rzz(1, 2, theta[2]).rx(1, theta[3]).cx(2, 3))
    program = tnq.compile(c, "Z0 Z1 + X3", strategy="lightcone")
    cones = {tuple(sorted(g.cones[0].support)): g.cones[0] for g in program._strategy.groups}
    # Z0 Z1: rx(1) is kept, rzz(1,2) then acts on a non-diagonal qubit; rzz(0,1) and
    # the later cx(2, 3) commute with or miss the operator
    assert sorted(cones[(0, 1)].ops) == [0, 1, 2, 4, 6, 7]
    assert sorted(cones[(3,)].ops) == [1, 2, 3, 5, 6, 8]
    for p in np.random.default_rng(5).uniform(-3, 3, (3, 4)):
        state = tnq.compile(c, "Z0 Z1 + X3", strategy="state")
        assert abs(program(p) - state(p)) < ATOL


# ------------------------------------------------------------ batches and gradients
def test_batched_parameters_and_inputs():
    rng = np.random.default_rng(6)
    x = tnq.inputs(3)
    theta = tnq.parameters(4)
    c = tnq.Circuit(6)
    for q in range(6):
        c.rx(q, x[q % 3])
    for q in range(5):
        c.rzz(q, q + 1, theta[q % 4])
    for q in range(6):
        c.ry(q, theta[(q + 1) % 4])
    obs = "Z0 Z1 + Z2 Z3 - 0.5*X4 + Y5"
    program = tnq.compile(c, obs, strategy="lightcone")
    state = tnq.compile(c, obs, strategy="state")
    P, X = rng.uniform(-3, 3, (5, 4)), rng.uniform(-3, 3, (5, 3))
    for args in ((P, X[0]), (P[0], X), (P, X)):
        got = program(*args)
        assert got.shape == (5,)
        np.testing.assert_allclose(got, state(*args), atol=ATOL)


@pytest.mark.parametrize("tied", [False, True])
def test_gradients_autodiff_parameter_shift_and_finite_differences(tied):
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(7)
    circuit, params, _ = brickwork(8, 3, rng, tied=tied)
    obs = pauli_sum(chain_terms(8, rng))
    program = tnq.compile(circuit, obs, strategy="lightcone")
    state = tnq.compile(circuit, obs, strategy="state")
    shift = tnq.param_shift(program, params)
    _, expected = tnq.value_and_grad(state, params, backend="torch")
    np.testing.assert_allclose(shift.grad, expected, atol=ATOL)
    value, grad = tnq.value_and_grad(program, params, backend="torch")
    np.testing.assert_allclose(grad, expected, atol=ATOL)
    assert abs(value - shift.value) < ATOL
    if tied:  # jax compiles each distinct contraction once; one case keeps this quick
        value, grad = jax.value_and_grad(program)(jax.numpy.asarray(params))
        np.testing.assert_allclose(np.asarray(grad), expected, atol=ATOL)
        assert abs(float(value) - shift.value) < ATOL
    t = torch.tensor(params, requires_grad=True)
    program(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), expected, atol=ATOL)
    h = 1e-6
    k = int(rng.integers(len(params)))
    e = np.zeros_like(params)
    e[k] = h
    assert abs((program(params + e) - program(params - e)) / (2 * h) - expected[k]) < 1e-6


def test_gradient_of_parameters_outside_every_lightcone_is_zero():
    torch = pytest.importorskip("torch")
    theta = tnq.parameters(2)
    c = tnq.Circuit(3).ry(0, theta[0]).ry(2, theta[1])
    t = torch.tensor([0.3, 0.4], dtype=torch.float64, requires_grad=True)
    tnq.compile(c, "Z0", strategy="lightcone")(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), [-math.sin(0.3), 0.0], atol=ATOL)


# ------------------------------------------------------------ wide circuits, analytic
def ghz(n):
    c = tnq.Circuit(n).h(0)
    for i in range(n - 1):
        c.cx(i, i + 1)
    return c


def test_ghz_120_analytic():
    n = 120
    obs = (tnq.Z(3) * tnq.Z(97) + 0.5 * tnq.Z(0) + tnq.observable(" ".join(
        f"X{i}" for i in range(n))) - tnq.observable("Y0 Y1 " + " ".join(
            f"X{i}" for i in range(2, n))))
    program = tnq.compile(ghz(n), obs, max_memory=2**24)
    assert program.strategy == "lightcone"
    assert abs(program() - 3.0) < ATOL  # 1 + 0 + 1 + 1


def test_graph_state_of_150_qubits_analytic():
    n = 150
    c = tnq.Circuit(n)
    for q in range(n):
        c.h(q)
    edges = [(q, (q + 1) % n) for q in range(n)] + [(q, q + 7) for q in range(0, n - 7, 5)]
    for u, v in edges:
        c.cz(u, v)
    neighbours = {q: set() for q in range(n)}
    for u, v in edges:
        neighbours[u].add(v)
        neighbours[v].add(u)
    terms = []
    for q in range(0, n, 3):  # stabilizers X_q prod Z_nb = 1
        terms.append(tnq.PauliString(((q, "X"),) + tuple((b, "Z") for b in neighbours[q])))
    obs = sum(terms, tnq.Observable()) + 0.25 * tnq.X(1) + tnq.Z(2) + tnq.Z(5) * tnq.Z(6)
    program = tnq.compile(c, obs)
    assert program.strategy == "lightcone"
    assert abs(program() - len(terms)) < ATOL


def qaoa(n, edges, p):
    theta = tnq.parameters(2 * p)
    c = tnq.Circuit(n)
    for q in range(n):
        c.h(q)
    for k in range(p):
        for u, v in edges:
            c.rzz(u, v, theta[2 * k])
        for q in range(n):
            c.rx(q, theta[2 * k + 1])
    cut = sum((0.5 - 0.5 * tnq.Z(u) * tnq.Z(v) for u, v in edges), tnq.Observable())
    return c, cut


def qaoa_p1_closed_form(n, edges, gamma, beta):
    """Expected cut of p=1 QAOA (Wang et al. 2018) for RZZ(gamma), RX(beta) gates."""
    g, b = -gamma, beta / 2  # exp(-i g C) and exp(-i b X) in the paper's convention
    nb = {q: set() for q in range(n)}
    for u, v in edges:
        nb[u].add(v)
        nb[v].add(u)
    total = 0.0
    for u, v in edges:
        du, dv, lam = len(nb[u]) - 1, len(nb[v]) - 1, len(nb[u] & nb[v])
        total += (0.5 + 0.25 * math.sin(4 * b) * math.sin(g) * (math.cos(g) ** du
                                                                + math.cos(g) ** dv)
                  - 0.25 * math.sin(2 * b) ** 2 * math.cos(g) ** (du + dv - 2 * lam)
                  * (1 - math.cos(2 * g) ** lam))
    return total


def random_graph(n, rng, extra):
    """A ring with random chords: varied degrees and some triangles."""
    edges = {(q, (q + 1) % n) if q < (q + 1) % n else ((q + 1) % n, q) for q in range(n)}
    while len(edges) < n + extra:
        u, v = sorted(int(x) for x in rng.choice(n, 2, replace=False))
        edges.add((u, v))
    return sorted(edges)


def test_qaoa_p1_closed_form_small_and_wide():
    rng = np.random.default_rng(8)
    for n, extra in ((9, 5), (120, 60)):
        edges = random_graph(n, rng, extra)
        circuit, cut = qaoa(n, edges, 1)
        gamma, beta = rng.uniform(-2, 2, 2)
        program = tnq.compile(circuit, cut)
        value = program(np.array([gamma, beta]))
        assert abs(value - qaoa_p1_closed_form(n, edges, gamma, beta)) < ATOL
        if n < 10:
            state = tnq.compile(circuit, cut, strategy="state")
            assert abs(state(np.array([gamma, beta])) - value) < ATOL
        else:
            assert program.strategy == "lightcone"


def test_thousand_qubit_brickwork_bulk_matches_small_chain():
    """Translation invariance: with uniform parameters, a bulk term of a 1000-qubit
    chain has the value of the same term in the middle of a 24-qubit chain."""
    depth, angles = 3, np.array([0.3, -0.7])

    def chain(n):
        theta = tnq.parameters(2)
        c = tnq.Circuit(n)
        for _ in range(depth):
            for q in range(n):
                c.ry(q, theta[0])
            for start in (0, 1):
                for q in range(start, n - 1, 2):
                    c.rzz(q, q + 1, theta[1])
        return c

    wide = chain(1000)
    terms = sum((tnq.Z(i) * tnq.Z(i + 1) for i in range(999)), tnq.Observable()) + sum(
        (tnq.X(i) for i in range(1000)), tnq.Observable())
    program = tnq.compile(wide, terms)
    assert program.strategy == "lightcone" and len(program._strategy.groups) <= 30
    small = chain(24)
    zz = [tnq.compile(small, f"Z{i} Z{i + 1}", strategy="state")(angles) for i in (10, 11)]
    x = [tnq.compile(small, f"X{i}", strategy="state")(angles) for i in (10, 11)]
    edge = tnq.compile(small, " + ".join([f"Z{i} Z{i + 1}" for i in range(8)]
                                         + [f"X{i}" for i in range(9)]), strategy="state")
    mirror = tnq.compile(small, " + ".join([f"Z{i} Z{i + 1}" for i in range(15, 23)]
                                           + [f"X{i}" for i in range(15, 24)]),
                         strategy="state")
    # ZZ 0..7, X 0..8 and ZZ 991..998, X 991..999 (shifted by 976) see the ends;
    # in the bulk, ZZ 8..990 and X 9..990 alternate between even and odd sites
    bulk = 492 * zz[0] + 491 * zz[1] + 491 * (x[0] + x[1])
    expected = edge(angles) + mirror(angles) + bulk
    assert abs(program(angles) - expected) < 1e-9


# ------------------------------------------------------------ memory, auto, explain
def test_memory_limit_slices_or_names_the_term():
    rng = np.random.default_rng(9)
    circuit, params, steps = brickwork(10, 3, rng)
    terms = chain_terms(10, rng)
    sliced = tnq.compile(circuit, pauli_sum(terms), strategy="lightcone", max_memory=2**10)
    assert any(p.slices > 1 for p in sliced.plans)
    assert "slices" in sliced.explain()
    assert abs(sliced(params) - dense_expectation(10, steps, terms)) < ATOL
    wide = ghz(60)
    with pytest.raises(tnq.MemoryLimitError, match=r"lightcone group 0 .*qubits \[0, 59\]"):
        tnq.compile(wide, "Z0 Z59", strategy="lightcone", max_memory=16)


def test_auto_strategy_and_explanation():
    rng = np.random.default_rng(10)
    deep, _, _ = brickwork(6, 8, rng)
    program = tnq.compile(deep, pauli_sum(chain_terms(6, rng)))
    assert program.strategy in ("state", "statevector") and "lightcone" in program.reason
    shallow, params, _ = brickwork(24, 1, rng)
    obs = pauli_sum(chain_terms(24, rng))
    program = tnq.compile(shallow, obs)
    assert program.strategy == "lightcone" and "FLOPs" in program.reason
    text = program.explain()
    assert "47 supports in" in text and "structural groups" in text
    assert "largest reduced network" in text and "lightcone[0]" in text


@settings(max_examples=20)
@given(st.integers(1, 6), st.integers(0, 3))
def test_terms_on_untouched_qubits(n, gates):
    c = tnq.Circuit(n + 1)
    for q in range(min(gates, n)):
        c.h(q)
    program = tnq.compile(c, f"Z{n} + 2*X{n}", strategy="lightcone")
    assert abs(program() - 1.0) < ATOL


def test_parameter_shift_when_no_shifted_gate_is_in_any_cone():
    theta = tnq.parameters(2)
    c = tnq.Circuit(3).rx(1, theta[0]).ry(2, theta[1]).h(0)
    program = tnq.compile(c, "0.5*X0", strategy="lightcone")
    g = tnq.param_shift(program, np.array([0.3, 0.4]))
    assert abs(g.value - 0.5) < ATOL and np.all(g.grad == 0)
