import numpy as np
import pytest

import tnq
from tnq.gates import get_gate

from . import reference as ref


@pytest.mark.parametrize("name", sorted(tnq.GATES))
def test_gate_matrix_matches_reference(name, rng):
    g = tnq.GATES[name]
    params = rng.uniform(-4, 4, g.num_params)
    np.testing.assert_allclose(tnq.gate_matrix(name, *params), ref.gate(name, *params),
                               atol=1e-12)


@pytest.mark.parametrize("name", [n for n, g in tnq.GATES.items() if g.num_params])
def test_table_is_batched(name, rng):
    g = tnq.GATES[name]
    params = rng.uniform(-4, 4, (5, g.num_params))
    table = g.table(*params.T)
    for k in range(5):
        m = np.diag(table[k]) if g.diagonal else table[k]
        np.testing.assert_allclose(m, ref.gate(name, *params[k]), atol=1e-12)


def test_table_float32_gives_complex64():
    t = get_gate("u3").table(*(np.ones(2, np.float32),) * 3)
    assert t.dtype == np.complex64


def test_unknown_gate_and_wrong_arity():
    with pytest.raises(tnq.CircuitError, match="unknown gate 'foo'"):
        tnq.gate_matrix("foo")
    with pytest.raises(tnq.CircuitError, match="takes 1 parameter"):
        tnq.gate_matrix("rx")
