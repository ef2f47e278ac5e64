"""tnq beside PennyLane: the extra named when PennyLane is missing, and tnq's
calls correct on the autoray PennyLane pins (0.8, whose namespaces of
string-named backends collide) as on newer ones. Runs in every environment."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import tnq
from tnq.plan import dispatch


def test_pennylane_missing_names_the_extra():
    if importlib.util.find_spec("pennylane") is not None:
        from tnq.pennylane import TnqDevice

        assert TnqDevice.name == "tnq.qubit"
        return
    code = ("import tnq\ntry:\n    import tnq.pennylane\nexcept tnq.MissingDependencyError as e:"
            "\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == 'tnq.pennylane needs pennylane: pip install "tnq[pennylane]"'


def test_backends_alternate_in_one_process():
    """numpy, torch (with autograd) and numpy again through the same plans: each
    call contracts on its own backend, whichever came first."""
    torch = pytest.importorskip("torch")
    theta = tnq.parameters(3)
    c = tnq.Circuit(3).h(0).rx(1, theta[0]).rzz(0, 1, theta[1]).cx(1, 2).ry(2, theta[2])
    x = np.array([0.1, 0.2, 0.3])
    for strategy in ("state", "lightcone", "statevector"):
        program = tnq.compile(c, "Z0 Z1 + X2", strategy=strategy)
        first = program(x)
        t = torch.tensor(x, requires_grad=True)
        value = program(t)
        value.backward()
        assert abs(float(value.detach()) - first) < 1e-12
        assert abs(program(x) - first) < 1e-12
        _, grad = tnq.value_and_grad(program, x, backend="numpy")  # parameter shift
        np.testing.assert_allclose(t.grad.numpy(), grad, atol=1e-10)


def test_dispatch_names_the_backend_by_an_array():
    torch = pytest.importorskip("torch")
    how = dispatch([np.ones(2), torch.ones(2), 1.0])
    assert isinstance(how["backend"], torch.Tensor)
    assert how["implementation"][0](
        "ab,b->a", torch.eye(2, dtype=torch.float64),
        torch.ones(2, dtype=torch.float64)).tolist() == [1.0, 1.0]
