import numpy as np
import pytest

import tnq
from tnq import X, Y, Z


def test_parse_and_build_agree():
    assert tnq.observable("Z0 Z1 + 0.5*X3 - Y2") == Z(0) * Z(1) + 0.5 * X(3) - Y(2)
    assert tnq.observable("2.5e-1 X0*Y1 - 3") == 0.25 * X(0) * Y(1) - 3
    assert tnq.observable("-Z0 + I") == -Z(0) + 1


def test_pauli_algebra_and_hermiticity():
    assert (X(0) * Y(0)).paulis == ((0, "Z"),) and (X(0) * Y(0)).coeff == 1j
    assert not tnq.observable(X(0) * Y(0)).is_hermitian
    with pytest.raises(tnq.ObservableError, match="complex coefficient"):
        tnq.observable(X(0) * Y(0)).check(2)


@pytest.mark.parametrize("text, match", [
    ("Z0 Z0", "qubit 0 appears twice"),
    ("Q1", "unexpected 'Q' at column 1"),
    ("Z0 +", "expected a term at column 5"),
    ("* X1", "'\\*' at column 1"),
    ("Z0 2", "number at column 4 must come first"),
    ("", "expected a term"),
])
def test_parse_errors(text, match):
    with pytest.raises(tnq.ObservableError, match=match):
        tnq.observable(text)


def test_other_bad_input():
    with pytest.raises(tnq.ObservableError, match="not Hermitian"):
        tnq.DenseOperator(np.array([[0, 1], [0, 0]]), (0,))
    with pytest.raises(tnq.ObservableError, match="expected a 4x4"):
        tnq.DenseOperator(np.eye(2), (0, 1))
    with pytest.raises(tnq.ObservableError, match="cannot make an observable"):
        tnq.observable(object())
    with pytest.raises(tnq.ObservableError, match="acts on qubit 5"):
        tnq.observable("Z5").check(3)
    with pytest.raises(tnq.ObservableError, match="finite number"):
        Z(0) * float("nan")


def test_dense_operator_qubits_are_sorted_consistently():
    m = np.kron(np.diag([1.0, 0.0]), np.diag([0.0, 1.0]))  # |0><0| on q1, |1><1| on q0
    op = tnq.DenseOperator(m, (1, 0))
    np.testing.assert_allclose(op.matrix, np.kron(np.diag([0.0, 1.0]), np.diag([1.0, 0.0])))
