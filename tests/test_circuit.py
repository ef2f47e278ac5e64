import math

import numpy as np
import pytest

import tnq


def test_methods_named_like_qasm_gates():
    qelib = ("u u1 u2 u3 p id x y z h s sdg t tdg sx sxdg rx ry rz cx cy cz ch swap ccx cswap "
             "crx cry crz cu1 cp cu3 cu csx rxx rzz rccx rc3x c3x c3sqrtx c4x ryy iswap fsim")
    for name in qelib.split():
        assert callable(getattr(tnq.Circuit, name)), name


def test_symbols_and_counts():
    theta, x = tnq.parameters(5), tnq.inputs(3)
    c = tnq.Circuit(3).rx(0, x[2]).ry(1, 2 * theta[1] - 0.5).rzz(0, 2, theta[1]).h(2)
    assert (c.num_params, c.num_inputs, len(c)) == (5, 3, 4)
    sym = c.ops[1].params[0]
    assert (sym.kind, sym.index, sym.scale, sym.offset) == ("param", 1, 2.0, -0.5)
    assert repr(-(theta[0] / 2) + 1) == "-0.5*theta[0] + 1"


@pytest.mark.parametrize("build, match", [
    (lambda c: c.h(3), "qubit 3 is out of range for a 3-qubit circuit"),
    (lambda c: c.h(-1), "qubit -1 is out of range"),
    (lambda c: c.cx(1, 1), r"qubit repeated in \(1, 1\)"),
    (lambda c: c.rx(0), "takes 1 qubit\\(s\\) then 1 parameter"),
    (lambda c: c.rx(0, 0.1, 0.2), "got 3"),
    (lambda c: c.apply("u3", 0, params=(1.0,)), "takes 3 parameter\\(s\\), got 1"),
    (lambda c: c.rx(0, float("nan")), "parameter 0 is nan"),
    (lambda c: c.rz(0, math.inf), "parameter 0 is inf"),
    (lambda c: c.rx(0, "a"), "expected a real number or a tnq symbol"),
    (lambda c: c.rx(0, 1j), "expected a real number"),
    (lambda c: c.h(1.5), "qubit 1.5 is not an integer"),
    (lambda c: c.apply("nope", 0), "unknown gate 'nope'"),
    (lambda c: c.unitary(np.ones((2, 2)), [0]), "is not unitary"),
    (lambda c: c.unitary(np.eye(2), [0, 1]), "expected a 4x4 matrix"),
    (lambda c: c.unitary(np.full((2, 2), np.nan), [0]), "NaN or inf"),
    (lambda c: c.unitary([["a", "b"], ["c", "d"]], [0]), "not numeric"),
])
def test_bad_input(build, match):
    with pytest.raises(tnq.CircuitError, match=match) as err:
        build(tnq.Circuit(3))
    assert isinstance(err.value, tnq.TnqError) and isinstance(err.value, ValueError)


def test_failed_gate_leaves_circuit_unchanged():
    c = tnq.Circuit(2).h(0)
    with pytest.raises(tnq.CircuitError):
        c.cx(0, 5)
    assert len(c) == 1


@pytest.mark.parametrize("bad, match", [
    (lambda: tnq.Circuit(0), "positive integer"),
    (lambda: tnq.parameters(0), "positive integer"),
    (lambda: tnq.parameters(2)[2], "out of range"),
    (lambda: tnq.parameters(2)[0] + tnq.parameters(2)[1], "affine function of a single"),
    (lambda: tnq.parameters(2)[0] * float("inf"), "non-finite"),
    (lambda: tnq.parameters(2)[0] / 0, "division"),
])
def test_bad_symbols(bad, match):
    with pytest.raises(tnq.TnqError, match=match):
        bad()


def test_unitary_diagonal_is_detected_and_frozen():
    c = tnq.Circuit(2).unitary(np.diag([1, 1j, -1, 1]), [1, 0])
    assert c.ops[0].gate.diagonal
    with pytest.raises(ValueError):
        c.ops[0].matrix[0, 0] = 2
