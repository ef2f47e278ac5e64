"""The tnq.qubit PennyLane device, checked against PennyLane's default.qubit (an
independent state-vector simulator) at 1e-10, gradients against finite
differences and the parameter-shift rule, shots against exact values."""

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")

import tnq  # noqa: E402
from tnq.pennylane import TnqDevice  # noqa: E402

ATOL = 1e-10


def _layer(x, wires):
    """A small circuit touching every gate kind the device maps (and some it
    decomposes): ``x`` has 8 angles."""
    a, b, c = wires
    qml.Hadamard(a)
    qml.RX(x[0], a)
    qml.RY(x[1], b)
    qml.IsingZZ(x[2], [a, b])
    qml.CRX(x[3], [b, c])
    qml.U3(x[4], x[5], x[6], c)
    qml.Rot(x[7], x[0], x[1], a)  # decomposed
    qml.MultiRZ(x[2], wires=[a, b, c])  # decomposed
    qml.CNOT([c, a])
    qml.ISWAP([a, b])
    qml.Toffoli([a, b, c])
    qml.S(b)
    qml.adjoint(qml.T)(c)
    qml.SX(a)
    qml.IsingXX(x[3], [b, c])
    qml.IsingYY(x[4], [a, c])
    qml.ControlledPhaseShift(x[5], [a, c])
    qml.CRZ(x[6], [c, b])
    qml.CRY(x[7], [a, b])
    qml.CSWAP([a, b, c])
    qml.PhaseShift(x[1], b)
    qml.CY([a, b])
    qml.CH([b, c])


X8 = np.random.default_rng(3).uniform(0, 2 * np.pi, 8)


def _both(fn, wires=3, **kwargs):
    """The same QNode on tnq.qubit and default.qubit."""
    return (qml.QNode(fn, qml.device("tnq.qubit", wires=wires), **kwargs),
            qml.QNode(fn, qml.device("default.qubit", wires=wires), **kwargs))


def _close(a, b, atol=ATOL):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, atol)
    else:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=0)


def test_registered_through_the_entry_point():
    dev = qml.device("tnq.qubit", wires=2, strategy="state")
    assert isinstance(dev, TnqDevice) and dev.name == "tnq.qubit"


def test_measurements_match_default_qubit():
    obs = qml.Hamiltonian([0.3, -1.2, 0.7], [qml.Z(0) @ qml.Z(1), qml.X(2), qml.Y(0) @ qml.X(1)])
    herm = np.array([[2, 1 - 1j], [1 + 1j, -1]])

    def circuit(x):
        _layer(x, [0, 1, 2])
        return (qml.expval(obs), qml.var(obs), qml.expval(qml.X(0) + 2 * qml.Z(2)),
                qml.var(qml.Y(1)), qml.expval(qml.Hermitian(herm, 1) @ qml.Z(2)),
                qml.var(qml.Hermitian(herm, 0)), qml.probs(wires=[2, 0]),
                qml.probs(op=qml.X(1) @ qml.Y(2)), qml.expval(qml.Identity(0)))

    ours, ref = _both(circuit)
    _close(ours(X8), ref(X8))


def test_state_with_state_preparation_and_global_phase():
    init = np.random.default_rng(5).normal(size=8) + 1j * np.random.default_rng(6).normal(size=8)
    init /= np.linalg.norm(init)

    def circuit(x):
        qml.StatePrep(init, wires=[0, 1, 2])
        _layer(x, [2, 0, 1])
        qml.GlobalPhase(0.4)
        qml.QubitUnitary(qml.matrix(qml.Rot(0.1, 0.2, 0.3, wires=0)), wires=1)
        return qml.state()

    ours, ref = _both(circuit)
    _close(ours(X8), ref(X8))


def test_wire_labels_and_device_without_wires():
    def circuit(x):
        _layer(x, ["a", 7, "c"])
        return qml.expval(qml.Z("a") @ qml.X(7)), qml.probs(wires=["c"])

    ours = qml.QNode(circuit, qml.device("tnq.qubit", wires=["c", 7, "a"]))
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=["c", 7, "a"]))
    _close(ours(X8), ref(X8))
    _close(qml.QNode(circuit, qml.device("tnq.qubit"))(X8), ref(X8))


def test_broadcasting_is_one_batched_call():
    xs = np.random.default_rng(8).uniform(0, 6, (4, 8))

    def circuit(x):
        _layer([x[:, k] if k % 2 else x[0, k] for k in range(8)], [0, 1, 2])
        return qml.expval(qml.Z(0) @ qml.Y(2)), qml.probs(wires=[1]), qml.state()

    ours, ref = _both(circuit)
    _close(ours(xs), ref(xs))


def test_one_compile_per_structure():
    dev = qml.device("tnq.qubit", wires=3)

    @qml.qnode(dev)
    def circuit(x):
        _layer(x, [0, 1, 2])
        return qml.expval(qml.Z(0) @ qml.Z(1) + 0.5 * qml.X(2))

    for seed in range(5):
        circuit(np.random.default_rng(seed).uniform(0, 6, 8))
    assert dev.compiles == 1 and len(dev.programs) == 1
    circuit.func = lambda x: (_layer(x, [1, 2, 0]), qml.expval(qml.Z(0)))[1]
    circuit(X8)
    assert dev.compiles == 2


def test_wide_circuits_use_the_lightcone():
    n = 120
    dev = qml.device("tnq.qubit", wires=n)

    @qml.qnode(dev)
    def circuit(x):
        for q in range(n):
            qml.RY(x[q], q)
        for q in range(0, n - 1, 2):
            qml.IsingZZ(x[q], [q, q + 1])
        for q in range(1, n - 1, 2):
            qml.IsingZZ(x[q + 1], [q, q + 1])
        return qml.expval(qml.sum(*[qml.Z(q) @ qml.Z(q + 1) for q in range(n - 1)]))

    x = np.random.default_rng(2).uniform(0, 6, n)
    value = circuit(x)
    assert dev.programs[0].strategy == "lightcone"
    # the same value on a dense reference restricted to the cone of each term
    small = qml.device("default.qubit", wires=8)
    total = 0.0
    for q in range(n - 1):
        lo = max(0, q - 3) - (max(0, q - 3) % 2)
        wires = list(range(lo, min(n, lo + 8)))

        @qml.qnode(small)
        def part(x, wires=tuple(wires), q=q):
            for w in wires:
                qml.RY(x[w], w - wires[0])
            for w in wires[:-1]:
                if w % 2 == 0:
                    qml.IsingZZ(x[w], [w - wires[0], w + 1 - wires[0]])
            for w in wires[:-1]:
                if w % 2 == 1:
                    qml.IsingZZ(x[w + 1], [w - wires[0], w + 1 - wires[0]])
            return qml.expval(qml.Z(q - wires[0]) @ qml.Z(q + 1 - wires[0]))

        total += part(x)
    assert abs(float(value) - total) < 1e-9


@pytest.mark.parametrize("method", ["device", "adjoint", "parameter-shift", "backprop"])
def test_gradients_autograd(method):
    obs = qml.Hamiltonian([0.4, 1.1], [qml.Z(0) @ qml.X(1), qml.Y(2)])

    def circuit(x):
        _layer(x, [0, 1, 2])
        return qml.expval(obs), qml.var(qml.X(0) @ qml.Z(2))

    dev = qml.device("tnq.qubit", wires=3)
    qnode = qml.QNode(circuit, dev, diff_method=method)
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=3), diff_method="backprop")
    x = qml.numpy.array(X8, requires_grad=True)
    jac = qml.jacobian(lambda x: qml.math.stack(qnode(x)))(x)
    expected = qml.jacobian(lambda x: qml.math.stack(ref(x)))(x)
    np.testing.assert_allclose(jac, expected, atol=1e-9)


def test_device_gradient_against_finite_differences():
    dev = qml.device("tnq.qubit", wires=3)

    @qml.qnode(dev, diff_method="device")
    def f(x):
        _layer(x, [0, 1, 2])
        return qml.expval(qml.X(0) @ qml.Y(1) - 0.3 * qml.Z(2))

    x = qml.numpy.array(X8, requires_grad=True)
    grad = qml.grad(f)(x)
    h = 1e-6
    fd = [(f(X8 + h * e) - f(X8 - h * e)) / (2 * h) for e in np.eye(8)]
    np.testing.assert_allclose(grad, fd, atol=1e-7)


def test_backprop_torch():
    torch = pytest.importorskip("torch")

    def circuit(x):
        _layer(x, [0, 1, 2])
        return qml.expval(qml.Z(0) @ qml.Z(1) + 0.3 * qml.X(2)), qml.probs(wires=[0])

    ours, ref = _both(circuit, interface="torch", diff_method="backprop")
    out = []
    for qnode in (ours, ref):
        x = torch.tensor(X8, requires_grad=True)
        e, p = qnode(x)
        (e + p[1] ** 2).backward()
        out.append((e.detach().numpy(), p.detach().numpy(), x.grad.numpy()))
    _close(out[0], out[1])


def test_backprop_jax_under_jit():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)

    def circuit(x):  # small: jit compiles of larger circuits take tens of seconds
        qml.RX(x[0], 0)
        qml.RY(x[1], 1)
        qml.IsingZZ(x[2], [0, 2])
        qml.CNOT([1, 2])
        qml.CRY(x[0], [2, 0])
        return qml.expval(qml.Z(0) @ qml.Z(1) + 0.3 * qml.X(2))

    ours, ref = _both(circuit, interface="jax", diff_method="backprop")
    x = jax.numpy.array(X8[:3])
    got = jax.jit(jax.value_and_grad(ours))(x)
    again = jax.jit(jax.value_and_grad(ours))(x + 0.1)
    _close(got, jax.value_and_grad(ref)(x))
    _close(again, jax.value_and_grad(ref)(x + 0.1))


def test_shots_sample_counts_and_parameter_shift():
    dev = qml.device("tnq.qubit", wires=3, seed=11)

    @qml.set_shots(4000)
    @qml.qnode(dev, diff_method="parameter-shift")
    def f(x):
        _layer(x, [0, 1, 2])
        return qml.expval(qml.X(0) @ qml.Y(1) + 0.5 * qml.Z(2))

    exact = qml.QNode(f.func, qml.device("default.qubit", wires=3))
    x = qml.numpy.array(X8, requires_grad=True)
    # 4000 shots: the standard error of each term is at most 1/sqrt(4000) = 0.016
    assert abs(f(x) - exact(x)) < 0.1
    np.testing.assert_allclose(qml.grad(f)(x), qml.grad(exact)(x), atol=0.2)

    @qml.set_shots([100, (50, 2)])
    @qml.qnode(dev)
    def g():
        qml.Hadamard(0)
        qml.CNOT([0, 1])
        return qml.sample(wires=[0, 1]), qml.counts(qml.Z(0) @ qml.Z(1)), qml.expval(qml.X(0))

    out = g()
    assert len(out) == 3 and out[0][0].shape == (100, 2)
    assert all((s[:, 0] == s[:, 1]).all() for s, _, _ in out)
    assert all(c == {1: len(s)} or c == {1.0: len(s)} for s, c, _ in out)


def test_seeded_shots_repeat():
    def make():
        dev = qml.device("tnq.qubit", wires=2, seed=3)

        @qml.set_shots(50)
        @qml.qnode(dev)
        def f():
            qml.Hadamard(0)
            qml.RY(0.7, 1)
            return qml.sample()

        return f()

    np.testing.assert_array_equal(make(), make())


def test_strategies_and_options_pass_through():
    def circuit(x):
        _layer(x, [0, 1, 2])
        return qml.expval(qml.Z(0) @ qml.X(2))

    ref = qml.QNode(circuit, qml.device("default.qubit", wires=3))(X8)
    for kwargs in ({"strategy": "state"}, {"strategy": "lightcone"},
                   {"strategy": "mps", "max_bond": 8}, {"strategy": "statevector"}):
        dev = qml.device("tnq.qubit", wires=3, **kwargs)
        assert abs(qml.QNode(circuit, dev)(X8) - ref) < ATOL
        assert dev.programs[0].strategy == kwargs["strategy"]


def test_bad_options_are_tnq_errors():
    with pytest.raises(tnq.CompileError, match="strategy='fast'"):
        qml.device("tnq.qubit", wires=2, strategy="fast")
    dev = qml.device("tnq.qubit", wires=2, max_bond=0, strategy="mps")

    @qml.qnode(dev)
    def f():
        return qml.expval(qml.Z(0))

    with pytest.raises(tnq.CompileError, match="max_bond"):
        f()


def test_hessian_through_autograd_backprop():
    def circuit(x):
        qml.RX(x[0], 0)
        qml.CRY(x[1], [0, 1])
        qml.IsingXX(x[2], [1, 0])
        return qml.expval(qml.Z(0) @ qml.Y(1) + qml.X(1))

    ours, ref = _both(circuit, wires=2, diff_method="backprop")
    x = qml.numpy.array([0.4, -1.1, 0.8], requires_grad=True)
    _close(qml.jacobian(qml.grad(ours))(x), qml.jacobian(qml.grad(ref))(x), 1e-9)


ONE = ["PauliX", "PauliY", "PauliZ", "Hadamard", "S", "T", "SX", "RX", "RY", "RZ",
       "PhaseShift", "U1", "U2", "U3", "Rot"]
TWO = ["CNOT", "CY", "CZ", "CH", "SWAP", "ISWAP", "ControlledPhaseShift", "CRX", "CRY",
       "CRZ", "IsingXX", "IsingYY", "IsingZZ", "CRot", "SISWAP"]
THREE = ["Toffoli", "CSWAP"]


def test_random_circuits_match_default_qubit():
    from hypothesis import given
    from hypothesis import strategies as st

    gate = st.one_of(
        st.tuples(st.sampled_from(ONE), st.permutations(range(4)).map(lambda p: p[:1])),
        st.tuples(st.sampled_from(TWO), st.permutations(range(4)).map(lambda p: p[:2])),
        st.tuples(st.sampled_from(THREE), st.permutations(range(4)).map(lambda p: p[:3])))

    @given(st.lists(gate, min_size=1, max_size=12),
           st.lists(st.floats(-7, 7), min_size=36, max_size=36))
    def check(gates, angles):
        it = iter(angles)
        ops = [(getattr(qml, name), wires) for name, wires in gates]
        ops = [(op, [next(it) for _ in range(op.num_params)], wires) for op, wires in ops]

        def circuit():
            for op, params, wires in ops:
                op(*params, wires=list(wires))
            return qml.state(), qml.expval(qml.X(0) @ qml.Y(2) - 0.5 * qml.Z(3))

        ours = qml.QNode(circuit, qml.device("tnq.qubit", wires=4))()
        ref = qml.QNode(circuit, qml.device("default.qubit", wires=4))()
        _close(ours, ref)

    check()
