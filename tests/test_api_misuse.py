"""Misuse of the public API: any argument of any type gives a result or a
``tnq.TnqError`` that names the argument, never another exception.

The property tests draw arguments of every kind (None, integers of any size,
NaN and inf, text, booleans, bytes, lists, tuples, dicts, numpy scalars and
arrays); the example tests check what the messages say.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tnq
from tnq import checks

SETTINGS = settings(max_examples=60, deadline=None)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-3, 5),
    st.sampled_from([2**63, 10**30, -(10**30), 10**400, np.int64(2), np.uint8(1),
                     np.float64("nan"), np.bool_(True), np.float32(1.0)]),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(),
    st.text(max_size=6), st.binary(max_size=3),
)
_arrays = hnp.arrays(
    st.sampled_from([np.int64, np.uint8, np.float64, np.bool_, np.complex128, "U2"]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
NASTY = [np.array([1, 2]), np.array([]), np.zeros((2, 3)), np.array("numpy"), np.array([0.5]),
         "", [], (), {}, [[]], [None], -0.0, object(), range(3), b"01"]
"""Values that have broken argument checks before."""
ANY = st.recursive(
    st.one_of(_scalars, _arrays, st.sampled_from(NASTY)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=2), inner, max_size=2)),
    max_leaves=8)
"""Any argument at all."""
BITS = st.one_of(
    st.text("01", max_size=5), st.text("012 ", max_size=4),
    st.lists(st.text("01", min_size=3, max_size=3) | st.text("01", max_size=4), max_size=4),
    st.lists(st.sampled_from([0, 1, 2, -1, 0.5, 1.0, True, np.int8(1)]), max_size=4),
    st.lists(st.lists(st.sampled_from([0, 1, 1.0, 2]), min_size=2, max_size=4), max_size=3),
    hnp.arrays(st.sampled_from([np.int64, np.float64, np.bool_]),
               hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4),
               elements=st.sampled_from([0, 1])))
"""Bitstrings of a 3-qubit circuit, right and wrong."""
QUBITS = st.one_of(
    st.lists(st.integers(-1, 3), max_size=4), st.lists(st.sampled_from([0, 1.0, True, "1"])),
    st.sampled_from([range(2), range(0), (2, 0), np.arange(3), np.array([0.0]), {1, 2}]))
"""Qubit lists of a 3-qubit circuit, right and wrong."""


def tnq_error_or_result(call):
    """Run ``call()``: its result, or None when it raised a TnqError. Any other
    exception fails the test."""
    try:
        return call()
    except tnq.TnqError as err:
        assert str(err), "an error without a message"
        return None


def circuit() -> tnq.Circuit:
    theta = tnq.parameters(1)
    return tnq.Circuit(3).rx(0, theta[0]).cx(0, 1).h(2)


@functools.cache
def program() -> tnq.Program:
    """A small Program, compiled once; sampling is limited to 1 MiB of output."""
    return tnq.compile(circuit(), "Z0 Z1 + 0.5*X2", max_memory=2**20)


PARAMS = np.array([0.3])

# ----------------------------------------------------------------- compile


@pytest.mark.parametrize("option", ["strategy", "optimize", "max_memory", "dtype",
                                    "max_bond", "cutoff", "min_fidelity", "cache"])
@SETTINGS
@given(value=ANY)
def test_compile_options_of_any_type(option, value):
    p = tnq_error_or_result(lambda: tnq.compile(circuit(), "Z0", **{option: value}))
    if p is not None:
        assert abs(float(p(PARAMS)) - np.cos(0.3)) < 1e-10


@SETTINGS
@given(obs=ANY)
def test_compile_observable_of_any_type(obs):
    tnq_error_or_result(lambda: tnq.compile(circuit(), obs)(PARAMS))


@SETTINGS
@given(c=ANY)
def test_compile_something_that_is_not_a_circuit(c):
    with pytest.raises(tnq.CompileError, match="expected a tnq.Circuit"):
        tnq.compile(c)


@pytest.mark.parametrize("value, match", [
    (float("nan"), r"max_memory must be a positive number of bytes .*got nan \(float\)"),
    (float("inf"), "got inf"), (-1, "got -1"), (0, "got 0"), (True, r"got True \(bool\)"),
    ("1GB", r"got '1GB' \(str\)"), (0.5, "at least 1"),
])
def test_bad_max_memory_names_it(value, match):
    with pytest.raises(tnq.CompileError, match=match):
        tnq.compile(circuit(), max_memory=value)


def test_max_memory_may_be_a_float_or_numpy_integer():
    assert tnq.compile(circuit(), max_memory=1e9).max_memory == 10**9
    assert tnq.compile(circuit(), max_memory=np.int64(2**30)).max_memory == 2**30


# ----------------------------------------------------------------- calls


@SETTINGS
@given(params=ANY, inputs=ANY, like=ANY)
def test_program_call_with_any_arguments(params, inputs, like):
    tnq_error_or_result(lambda: program()(params, inputs, like=like))


@SETTINGS
@given(like=ANY | st.sampled_from(["numpy", "torch", "jax", "tensorflow2", "cupy", ""]))
def test_like_is_a_supported_backend(like):
    p = tnq.compile(tnq.Circuit(2).h(0).cx(0, 1), "Z0 Z1")
    value = tnq_error_or_result(lambda: p(like=like))
    assert (value is None) == (like is not None and not (isinstance(like, str) and like in (
        "numpy", "torch", "jax")))
    if value is not None:  # jax computes in single precision unless x64 is enabled
        assert abs(float(value) - 1) < 1e-6


@pytest.mark.parametrize("like", ["tensorflow2", 3, "NumPy"])
def test_unknown_backend_names_like(like):
    with pytest.raises(tnq.ParameterError, match=r"like=.* is not a backend tnq supports; "
                                                 r"expected one of \('numpy', 'jax', 'torch'\)"):
        program().state(PARAMS, like=like)


@SETTINGS
@given(bits=ANY | BITS)
def test_amplitude_with_any_bits(bits):
    amps = tnq_error_or_result(lambda: program().amplitude(bits, PARAMS))
    if amps is not None:  # what was accepted is bitstrings of 0/1 of the right length
        rows, single = checks.bits(bits, 3)
        assert rows.shape[1] == 3 and set(np.unique(rows)) <= {0, 1}
        assert np.shape(amps) == (() if single else (len(rows),))


@pytest.mark.parametrize("bits, match", [
    (5, r"bits must be a bitstring of 3 characters .*got 5 \(int\)"),
    ([], "bits is empty"),
    (["000", "00"], r"bits\[1\]: bitstring '00' \(str\) is invalid; expected 3 characters"),
    ([[0, 1, 1], [0, 1]], r"bits\[1\] has 2 bits; expected 3"),
    ([True, False, True], r"bit True \(bool\) is invalid; expected the integers 0 or 1"),
    (np.array([True, False, True]), "booleans are not taken for bits"),
    (np.full((2, 3), 0.5), r"entry \(0, 0\) is 0.5; expected 0 or 1"),
    ("012", "bitstring '012'"),
])
def test_bad_bits_say_what_is_expected(bits, match):
    with pytest.raises(tnq.ParameterError, match=match):
        program().amplitude(bits, PARAMS)


def test_bits_as_arrays_and_lists_agree():
    p = program()
    text = p.amplitude(["110", "001"], PARAMS)
    np.testing.assert_allclose(p.amplitude(np.array([[1, 1, 0], [0, 0, 1]]), PARAMS), text)
    np.testing.assert_allclose(p.amplitude(np.array([[1.0, 1, 0], [0, 0, 1]]), PARAMS), text)
    np.testing.assert_allclose(p.amplitude([[1, 1, 0], "001"], PARAMS), text)
    assert np.isclose(p.amplitude([1, 1, 0], PARAMS), text[0])


@SETTINGS
@given(qubits=ANY | QUBITS)
def test_probabilities_with_any_qubits(qubits):
    probs = tnq_error_or_result(lambda: program().probabilities(PARAMS, qubits=qubits))
    if probs is not None:
        assert abs(float(np.sum(probs)) - 1) < 1e-10


@pytest.mark.parametrize("qubits, match", [
    (1, r"qubits must be a non-empty sequence .*e.g. \[1\], got 1 \(int\)"),
    ([True, False], r"qubit True \(bool\) is not an integer"),
    ([], "qubits is empty"),
    ([1, 1], "qubit 1 appears more than once"),
    ([3], r"qubit 3 is out of range for a 3-qubit circuit \(expected 0..2\)"),
    ([1.0], r"qubit 1.0 \(float\) is not an integer"),
    ("01", r"got '01' \(str\)"),
])
def test_bad_qubits_say_what_is_expected(qubits, match):
    with pytest.raises(tnq.ParameterError, match=match):
        program().probabilities(PARAMS, qubits=qubits)


@SETTINGS
@given(shots=ANY | st.integers(-2, 2**19), seed=ANY)
def test_sample_with_any_shots_and_seed(shots, seed):
    bits = tnq_error_or_result(lambda: program().sample(shots, PARAMS, seed=seed))
    if bits is not None:
        assert bits.shape == (shots, 3) and bits.dtype == np.uint8


@pytest.mark.parametrize("seed", ["a", -1, 1.5, True, [1, 2]])
def test_bad_seed_names_it(seed):
    with pytest.raises(tnq.ParameterError, match=r"seed must be None, a non-negative integer, "
                                                 r"or a numpy Generator or SeedSequence; got"):
        program().sample(10, PARAMS, seed=seed)
    with pytest.raises(tnq.ParameterError, match="seed must be"):
        tnq.sample(circuit(), 10, params=PARAMS, seed=seed)
    with pytest.raises(tnq.ParameterError, match="seed must be"):
        tnq.TnqExecutor().run([tnq.Circuit(1).h(0)], 10, seed=seed)


def test_seeds_of_every_accepted_kind_reproduce():
    p = program()
    a = p.sample(50, PARAMS, seed=np.int64(3))
    np.testing.assert_array_equal(a, p.sample(50, PARAMS, seed=3))
    np.testing.assert_array_equal(a, p.sample(50, PARAMS, seed=np.random.default_rng(3)))
    np.testing.assert_array_equal(a, p.sample(50, PARAMS, seed=np.random.SeedSequence(3)))


@pytest.mark.parametrize("shots, match", [
    (1.5, r"shots must be a positive integer, got 1.5 \(float\)"),
    (True, r"got True \(bool\)"), (0, "got 0"), (-5, "got -5"),
    (10**30, r"at most 9223372036854775807\), got 2\^99.7"),
])
def test_bad_shots_name_them(shots, match):
    with pytest.raises(tnq.ParameterError, match=match):
        program().sample(shots, PARAMS)
    with pytest.raises(tnq.ParameterError, match="shots must be"):
        tnq.TnqExecutor().run([tnq.Circuit(1).h(0)], shots)


# ----------------------------------------------------------------- one-shot functions


@settings(max_examples=25, deadline=None)
@given(c=st.just("circuit") | ANY, arg=ANY, params=st.just(PARAMS) | ANY, kw=ANY)
def test_one_shot_functions_with_any_arguments(c, arg, params, kw):
    c = circuit() if c == "circuit" else c
    tnq_error_or_result(lambda: tnq.state(c, params=params, max_memory=kw))
    tnq_error_or_result(lambda: tnq.expectation(c, arg, params=params, strategy=kw))
    tnq_error_or_result(lambda: tnq.amplitude(c, arg, params=params, dtype=kw))
    tnq_error_or_result(lambda: tnq.probabilities(c, qubits=arg, params=params, optimize=kw))
    tnq_error_or_result(lambda: tnq.sample(c, arg, params=params, seed=kw, max_memory=2**20))


# ----------------------------------------------------------------- IR


@SETTINGS
@given(n=ANY | st.integers(-2, 10**7))
def test_circuit_size_of_any_type(n):
    c = tnq_error_or_result(lambda: tnq.Circuit(n))
    if c is not None:
        assert 1 <= c.num_qubits <= tnq.circuit.MAX_QUBITS


def test_circuit_too_wide_names_the_limit():
    with pytest.raises(tnq.CircuitError, match=r"num_qubits=1000000000 \(int\) is over the "
                                                r"limit of tnq.circuit.MAX_QUBITS = 1,000,000"):
        tnq.Circuit(10**9)
    assert tnq.Circuit(tnq.circuit.MAX_QUBITS).num_qubits == 10**6


@SETTINGS
@given(a=ANY | st.integers(-1, 4), b=ANY | st.integers(-1, 4), angle=ANY)
def test_gate_methods_with_any_qubits_and_parameters(a, b, angle):
    c = tnq.Circuit(4)
    tnq_error_or_result(lambda: c.h(a))
    tnq_error_or_result(lambda: c.cx(a, b))
    tnq_error_or_result(lambda: c.rx(a, angle))
    tnq_error_or_result(lambda: c.rzz(a, b, angle))
    tnq_error_or_result(lambda: c.apply("cz", a, b))
    for op in c.ops:  # whatever was accepted is well formed
        assert all(isinstance(q, int) and 0 <= q < 4 for q in op.qubits)
        assert len(set(op.qubits)) == len(op.qubits)


@SETTINGS
@given(obj=ANY | st.text("XYZI0123456789+-*. ", max_size=12))
def test_observable_from_anything(obj):
    tnq_error_or_result(lambda: tnq.observable(obj))


@SETTINGS
@given(q=ANY, matrix=ANY)
def test_pauli_and_dense_terms_from_anything(q, matrix):
    for make in (tnq.X, tnq.Y, tnq.Z):
        tnq_error_or_result(lambda make=make: make(q))
    tnq_error_or_result(lambda: tnq.DenseOperator(matrix, q))
    tnq_error_or_result(lambda: tnq.DenseOperator(np.eye(2), q))
    tnq_error_or_result(lambda: tnq.Z(0) * matrix)


@pytest.mark.parametrize("make", [
    lambda: tnq.observable("Z1000000000"), lambda: tnq.Z(10**9),
    lambda: tnq.observable("Z" + "9" * 5000), lambda: tnq.X(10**5000),
    lambda: tnq.DenseOperator(np.eye(2), (10**9,)),
])
def test_observables_beyond_the_widest_circuit_are_refused(make):
    with pytest.raises(tnq.ObservableError, match="0..999999"):
        make()


def test_observable_on_a_missing_qubit_names_the_range():
    with pytest.raises(tnq.ObservableError, match=r"acts on qubit 999999, but the circuit has "
                                                  r"3 qubits \(0..2\)"):
        tnq.compile(circuit(), "Z999999")
    with pytest.raises(tnq.ObservableError, match=r"acts on qubit 5000"):
        tnq.compile(circuit(), tnq.DenseOperator(np.eye(2), (5000,)))


def test_dense_operator_on_many_qubits_is_refused_without_its_matrix():
    with pytest.raises(tnq.ObservableError, match=r"expected a 2\^20000x2\^20000 matrix for "
                                                  r"20000 qubit\(s\), got shape \(2, 2\)"):
        tnq.DenseOperator(np.eye(2), range(20000))


def test_huge_coefficients_are_refused():
    for make in (lambda: tnq.observable(10**400), lambda: tnq.Z(0) * 10**400,
                 lambda: tnq.observable("1e999*Z0")):
        with pytest.raises(tnq.ObservableError, match="must be a finite number"):
            make()


def _two_outputs():
    th, x = tnq.parameters(2), tnq.inputs(1)
    c = tnq.Circuit(2).rx(0, x[0]).ry(0, th[0]).rx(1, th[1])
    return tnq.compile(c, ["Z0", "X1"])


@pytest.mark.parametrize("call, match", [
    (lambda p: tnq.value_and_grad(p, None), "value_and_grad needs the 2 parameters"),
    (lambda p: tnq.value_and_grad(p, "x"), "value_and_grad needs"),
    (lambda p: tnq.TorchLayer(p, weights="ab"), "weights must be 2 real numbers"),
    (lambda p: tnq.TorchLayer(p, weights=[float("nan"), 0]), "finite"),
    (lambda p: tnq.TorchLayer(p, seed=1)("a"), "inputs must be real numbers"),
    (lambda p: tnq.param_shift(p, [0, 1], [0.0], shots=10, executor=3), "run\\(circuits"),
    (lambda p: tnq.QiskitExecutor(None), "run\\(\\) method"),
    (lambda p: tnq.TnqExecutor(cache_size=-1), "cache_size"),
    (lambda p: tnq.parameters(10**12), "MAX_SIZE"),
    (lambda p: tnq.gate_matrix("rx", float("nan")), "finite"),
    (lambda p: tnq.Circuit(1).unitary(np.ones((2, 2)), [0], atol=float("nan")), "atol"),
    (lambda p: tnq.parameters(1)[0] % 2, "affine"),
    (lambda p: round(tnq.parameters(1)[0]), "affine"),
    (lambda p: np.sin(np.array(list(tnq.parameters(2)))), "affine"),
    (lambda p: tnq.parameters(1)[0] < 1, "no value before a call"),
])
def test_more_misuse_found_in_review(call, match):
    pytest.importorskip("torch")
    with pytest.raises(tnq.TnqError, match=match):
        call(_two_outputs())


def test_torch_layer_takes_mappings():
    torch = pytest.importorskip("torch")
    layer = tnq.TorchLayer(_two_outputs(), weights={"theta": [0.1, 0.2]})
    out = layer({"x": [0.3]})
    np.testing.assert_allclose(out.detach().numpy(), [np.cos(0.3) * np.cos(0.1), 0.0],
                               atol=1e-12)
    assert isinstance(out, torch.Tensor)


@pytest.mark.parametrize("params, match", [
    ([float("nan")], "finite"), ([float("inf")], "finite"), (["a"], "no real number"),
])
def test_to_qasm_refuses_values_it_cannot_write(params, match):
    c = tnq.Circuit(1).rx(0, tnq.parameters(1)[0])
    with pytest.raises(tnq.ParameterError, match=match):
        tnq.to_qasm(c, params=params)
    with pytest.raises(tnq.ParameterError, match="tnq.Circuit"):
        tnq.to_qasm("x")


def _two_kinds():
    th = tnq.parameters(2)
    return tnq.compile(tnq.Circuit(2).ry(0, th[0]).cx(0, 1).rx(1, th[1]), "Z0 Z1",
                       strategy="state")


def test_booleans_are_not_parameters():
    program = _two_kinds()
    with pytest.raises(tnq.ParameterError, match="booleans"):
        program([True, False])
    with pytest.raises(tnq.ParameterError, match="dtype bool"):
        program(np.array([True, False]))


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_non_finite_parameters_on_every_backend(backend):
    program = _two_kinds()
    if backend == "torch":
        torch = pytest.importorskip("torch")
        bad = torch.tensor([0.1, float("nan")], dtype=torch.float64)
        flags = torch.tensor([True, False])
        with pytest.raises(tnq.ParameterError, match="dtype torch.bool"):
            program(flags)
    else:
        jnp = pytest.importorskip("jax.numpy")
        bad = jnp.array([0.1, jnp.inf])
    with pytest.raises(tnq.ParameterError, match=r"params\[1\] is (nan|inf); expected finite"):
        program(bad)


@pytest.mark.parametrize("shifts, match", [
    ([1], "must be a dict"),
    ({0: "x"}, r"shifts\[0\] must be real numbers"),
    ({5: np.zeros((1, 1, 1))}, r"key 5 is not a gate kind's position; expected an integer "
                               r"in \[0, 2\)"),
    ({True: np.zeros((1, 1, 1))}, "key True"),
    ({0: np.zeros((2, 3, 1))}, r"shape \(2, 3, 1\); expected \(batch, 1, 1\)"),
    ({0: np.full((1, 1, 1), np.nan)}, r"shifts\[0\]\[\(0, 0, 0\)\] is nan"),
])
def test_bad_shifts_name_what_is_expected(shifts, match):
    with pytest.raises(tnq.ParameterError, match=match):
        _two_kinds().evaluate(np.zeros(2), shifts=shifts)


def test_good_shifts_shift():
    program = _two_kinds()
    shifted = program.evaluate(np.zeros(2), shifts={0: np.full((1, 1, 1), 0.3)}).value
    np.testing.assert_allclose(shifted, [program(np.array([0.3, 0.0]))], atol=1e-12)
