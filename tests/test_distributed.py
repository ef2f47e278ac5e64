"""tnq.distributed on a real Dask LocalCluster: 2 worker processes, 1 thread each.

Every distributed result is checked against the local run of the same Program
(itself checked against the dense reference), for batches of values, torch and
jax gradients through the cluster, and parameter shift (exact and with shots).
A worker process is killed by its pid in the middle of a call.
"""

import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnq
from tnq.distributed import DistributedError, split

from . import reference as ref

distributed = pytest.importorskip("distributed")

N = 5


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", memory_limit="2GiB")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def classifier(n=N, layers=2):
    """The W5 classifier: RX(x_i), then layers of RY(w), RZ(w), a CNOT ring."""
    x, w = tnq.inputs(n), tnq.parameters(2 * n * layers)
    c = tnq.Circuit(n)
    for i in range(n):
        c.rx(i, x[i])
    k = 0
    for _ in range(layers):
        for i in range(n):
            c.ry(i, w[k + i])
        for i in range(n):
            c.rz(i, w[k + n + i])
        k += 2 * n
        for i in range(n):
            c.cx(i, (i + 1) % n)
    return c


OBS = "Z0 + 0.5*X1 Y2 - 0.25*Z3 Z4"


def data(batch, n=N, layers=2, seed=7):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, np.pi, (batch, n)), rng.uniform(0, 2 * np.pi, 2 * n * layers)


def reference_value(x, w, n=N, layers=2):
    steps, k = [(ref.gate("rx", x[i]), (i,)) for i in range(n)], 0
    for _ in range(layers):
        steps += [(ref.gate("ry", w[k + i]), (i,)) for i in range(n)]
        steps += [(ref.gate("rz", w[k + n + i]), (i,)) for i in range(n)]
        steps += [(ref.gate("cx"), (i, (i + 1) % n)) for i in range(n)]
        k += 2 * n
    psi = ref.simulate(n, steps)
    return (ref.pauli_expectation(psi, n, {0: "Z"})
            + 0.5 * ref.pauli_expectation(psi, n, {1: "X", 2: "Y"})
            - 0.25 * ref.pauli_expectation(psi, n, {3: "Z", 4: "Z"})).real


def test_without_a_client_dask_is_never_imported():
    code = ("import sys, numpy as np, tnq\n"
            "t = tnq.parameters(2)\n"
            "p = tnq.compile(tnq.Circuit(2).rx(0, t[0]).ry(1, t[1]).cx(0, 1), 'Z0 Z1')\n"
            "p(np.ones((3, 2))); tnq.param_shift(p, [0.1, 0.2]); tnq.value_and_grad(p, [1., 2.])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("strategy", ["statevector", "state", "lightcone"])
def test_batched_values_equal_the_local_run(client, strategy):
    program = tnq.compile(classifier(), OBS, strategy=strategy)
    x, w = data(37)
    local = program(w, x)
    assert np.allclose(local[:3], [reference_value(x[b], w) for b in range(3)], atol=1e-10)
    for chunk in (None, 1, 5, 64):
        front = tnq.distribute(program, client, local_below=0, chunk_size=chunk)
        got = front(w, x)
        assert isinstance(got, np.ndarray) and got.shape == (37,)
        np.testing.assert_allclose(got, local, rtol=0, atol=1e-12)


def test_batched_parameters_and_observable_lists(client):
    program = tnq.compile(classifier(), [OBS, "X0 X1", "Y4"])
    x, w = data(11)
    ws = np.random.default_rng(3).uniform(0, 6, (11, w.size))
    front = tnq.compile(classifier(), [OBS, "X0 X1", "Y4"], client=client, chunk_size=4)
    front = tnq.distribute(front.program, client, local_below=0, chunk_size=4)
    np.testing.assert_allclose(front(ws, x), program(ws, x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(front(ws, x[0]), program(ws, x[0]), rtol=0, atol=1e-12)


def test_small_calls_run_locally(client):
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client)  # default threshold
    x, w = data(4)
    from dask.distributed import get_task_stream

    with get_task_stream(client) as stream:  # no task runs on a worker
        np.testing.assert_allclose(front(w, x), program(w, x), rtol=0, atol=0)
    assert stream.data == []
    assert "runs locally" in front.explain(w, x)
    assert front(w, x[0]) == program(w, x[0])  # one row: always local


def test_torch_autograd_runs_the_backward_pass_on_the_workers(client):
    torch = pytest.importorskip("torch")
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client, local_below=0, chunk_size=6)
    x, w = data(20)
    y = torch.as_tensor(np.random.default_rng(1).choice([-1.0, 1.0], 20))

    def loss_and_grads(fn):
        wt = torch.tensor(w, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        loss = torch.mean((fn(wt, xt) - y) ** 2)
        loss.backward()
        return loss.item(), wt.grad.numpy(), xt.grad.numpy()

    got, want = loss_and_grads(front), loss_and_grads(program)
    assert abs(got[0] - want[0]) < 1e-12
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-12)
    # and against central finite differences of the distributed call itself
    def loss_np(v):
        return float(np.mean((front(v, x) - y.numpy()) ** 2))
    eps, k = 1e-6, 3
    e = np.zeros_like(w)
    e[k] = eps
    assert abs((loss_np(w + e) - loss_np(w - e)) / (2 * eps) - got[1][k]) < 1e-7


def test_torch_batched_parameters_get_one_gradient_row_each(client):
    torch = pytest.importorskip("torch")
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client, local_below=0, chunk_size=3)
    x, w = data(7)
    ws = np.random.default_rng(5).uniform(0, 6, (7, w.size))
    grads = []
    for fn in (front, program):
        wt = torch.tensor(ws, requires_grad=True)
        fn(wt, torch.tensor(x)).sum().backward()
        grads.append(wt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=0, atol=1e-12)


def test_jax_grad_outside_jit(client):
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client, local_below=0, chunk_size=5)
    x, w = data(12)
    was = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)  # complex128 in jax needs x64
    try:
        xj = jax.numpy.asarray(x)
        value, grad = jax.value_and_grad(lambda v: jax.numpy.sum(front(v, xj) ** 2))(
            jax.numpy.asarray(w))
    finally:
        jax.config.update("jax_enable_x64", was)
    wt = torch.tensor(w, requires_grad=True)  # the local run, by torch autograd
    want = torch.sum(program(wt, torch.tensor(x)) ** 2)
    want.backward()
    assert abs(float(value) - want.item()) < 1e-12
    np.testing.assert_allclose(np.asarray(grad), wt.grad.numpy(), rtol=0, atol=1e-12)


def test_param_shift_exact_equals_the_serial_run(client):
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client, local_below=0)
    x, w = data(1)
    got, want = front.param_shift(w, x[0]), tnq.param_shift(program, w, x[0])
    assert abs(got.value - want.value) < 1e-12
    np.testing.assert_allclose(got.grad, want.grad, rtol=0, atol=1e-12)
    assert got.executions == want.executions and front.split().tasks >= 1


def test_param_shift_with_shots_is_reproducible_and_split_by_seed(client):
    program = tnq.compile(classifier(), OBS)
    x, w = data(1)
    front = tnq.distribute(program, client, local_below=0)
    local = tnq.distribute(program, client, local_below=1e9)  # every call locally
    got = front.param_shift(w, x[0], shots=200, seed=11)
    again = local.param_shift(w, x[0], shots=200, seed=11)
    np.testing.assert_array_equal(got.grad, again.grad)
    np.testing.assert_array_equal(got.grad_stderr, again.grad_stderr)
    exact = tnq.param_shift(program, w, x[0]).grad
    assert np.all(np.abs(got.grad - exact) < 6 * got.grad_stderr + 1e-12)
    # one task (few parameters): the seed is passed as it is, as tnq.param_shift does
    t = tnq.parameters(2)
    small = tnq.compile(tnq.Circuit(2).ry(0, t[0]).rx(1, t[1]).cx(0, 1), "Z0 Z1 + X1")
    a = tnq.distribute(small, client, local_below=0).param_shift([0.3, 0.7], shots=300,
                                                                seed=5)
    b = tnq.param_shift(small, [0.3, 0.7], shots=300, seed=5)
    np.testing.assert_array_equal(a.grad, b.grad)
    assert a.value == b.value


def test_unpicklable_executor_is_a_clear_error(client):
    program = tnq.compile(classifier(), OBS)

    class Locked(tnq.TnqExecutor):
        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()

    x, w = data(1)
    front = tnq.distribute(program, client, local_below=0)
    with pytest.raises(tnq.TnqError, match="executor Locked cannot be sent to the workers"):
        front.param_shift(w, x[0], shots=10, executor=Locked())


def test_bad_arguments(client):
    program = tnq.compile(classifier(), OBS)
    with pytest.raises(tnq.ParameterError, match="client must be a dask.distributed.Client"):
        tnq.distribute(program, 8786)
    with pytest.raises(DistributedError, match="could not connect to a Dask scheduler"):
        tnq.distribute(program, "not an address")
    with pytest.raises(tnq.ParameterError, match="chunk_size must be a positive integer"):
        tnq.distribute(program, client, chunk_size=0)
    with pytest.raises(tnq.CompileError, match="compiled with an observable"):
        tnq.distribute(tnq.compile(tnq.Circuit(1).h(0)), client)
    front = tnq.distribute(program, client, local_below=0)
    x, w = data(4)
    with pytest.raises(tnq.ParameterError, match="different sizes 3 and 4"):
        front(np.tile(w, (3, 1)), x)
    with pytest.raises(tnq.TnqError, match="does not pickle"):
        pickle.dumps(front)
    assert pickle.loads(pickle.dumps(front.program)).num_params == program.num_params


def test_a_worker_error_comes_back_as_the_tnq_error(client):
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client, local_below=0)
    x, w = data(6)
    with pytest.raises(tnq.ParameterError):
        front(w[:-1], x)  # wrong number of parameters: raised by the Program on a worker


def test_explain_tells_the_split(client):
    program = tnq.compile(classifier(), OBS)
    front = tnq.distribute(program, client, local_below=0, chunk_size=10)
    x, w = data(25)
    text = front.explain(w, x)
    assert "cluster: 2 workers, 2 threads" in text
    assert "25 rows in 3 tasks of up to 10 rows (chunk set by chunk_size given)" in text
    assert f"ships {tnq.plan.format_bytes(x.nbytes + 3 * w.nbytes)} of numbers out" in text
    assert "runs on the cluster" in text


def test_a_scheduler_address_and_compile_with_client(client):
    front = tnq.compile(classifier(), OBS, client=client.scheduler.address)
    try:
        assert isinstance(front, tnq.DistributedProgram)
        x, w = data(9)
        np.testing.assert_allclose(front(w, x), front.program(w, x), atol=1e-12, rtol=0)
    finally:
        front.client.close()


def test_timeout_is_an_error_not_a_hang(client):
    program = tnq.compile(classifier(9, 4), "Z0 Z8")
    front = tnq.distribute(program, client, local_below=0, chunk_size=1, timeout=1e-3)
    x, w = data(40, 9, 4)
    with pytest.raises(DistributedError, match="did not finish within timeout"):
        front(w, x)


@given(rows=st.integers(1, 10**6), limit=st.integers(1, 5000), threads=st.integers(1, 64),
       chunk=st.one_of(st.none(), st.integers(1, 10**5)))
def test_split_covers_every_row_once(rows, limit, threads, chunk):
    s = split(rows, batch_limit=limit, threads=threads, chunk_size=chunk)
    spans = s.ranges()
    assert spans[0][0] == 0 and spans[-1][1] == rows and len(spans) == s.tasks
    assert all(a < b and b - a <= s.chunk for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    if chunk is None:
        assert s.chunk <= limit


def test_split_refuses_rows_over_the_workers_memory():
    with pytest.raises(tnq.MemoryLimitError, match="more than a worker's memory limit"):
        split(10, batch_limit=1, threads=2, max_memory=2**34, worker_memory=2**30)
    s = split(10_000, batch_limit=4000, threads=2, max_memory=2**34, worker_memory=2**32)
    assert s.chunk == 1000 and "worker memory" in s.why


def test_a_killed_worker_changes_nothing(client):
    program = tnq.compile(classifier(13, 3), OBS)
    x, w = data(240, 13, 3)
    local = program(w, x)
    front = tnq.distribute(program, client, local_below=0, chunk_size=4)  # 60 tasks
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    result: dict = {}
    call = threading.Thread(target=lambda: result.setdefault("v", front(w, x)))
    call.start()
    deadline = time.monotonic() + 30
    while not client.processing().get(victim) and time.monotonic() < deadline:
        time.sleep(0.005)  # until the victim runs one of the call's tasks
    assert call.is_alive()
    os.kill(pids[victim], signal.SIGKILL)
    call.join(120)
    assert not call.is_alive() and "v" in result
    np.testing.assert_allclose(result["v"], local, rtol=0, atol=1e-12)
    client.wait_for_workers(2, timeout=60)
    assert pids[victim] not in client.run(os.getpid).values()  # it was killed, and replaced


def test_a_worker_out_of_memory_is_a_memory_limit_error_naming_the_chunk_size():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.worker.memory.terminate": 0.9}):
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", memory_limit="600MiB")
        c = distributed.Client(cluster)
    try:
        t = tnq.parameters(21)
        circuit = tnq.Circuit(21)
        for q in range(21):
            circuit.ry(q, t[q])
        program = tnq.compile(circuit, "Z0 Z20", strategy="statevector")
        front = tnq.distribute(program, c, local_below=0, chunk_size=32, timeout=120)
        params = np.random.default_rng(0).uniform(0, 1, (32, 21))
        with pytest.raises(tnq.MemoryLimitError, match=r"a task of 32 rows .* chunk_size="):
            front(params)
    finally:
        c.close()
        cluster.close()


def wide(n=8, depth=2):
    """A W2 brickwork with the W1 observable (lightcone groups)."""
    t = tnq.parameters(depth * (n + n - 1))
    c, k = tnq.Circuit(n), 0
    for _ in range(depth):
        for q in range(n):
            c.ry(q, t[k])
            k += 1
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                c.rzz(q, q + 1, t[k])
                k += 1
    obs = sum((tnq.Z(q) * tnq.Z(q + 1) for q in range(n - 1)), tnq.X(0))
    for q in range(1, n):
        obs = obs + 0.5 * tnq.X(q)
    return c, obs, np.random.default_rng(2).uniform(0, 2 * np.pi, k)


def test_term_parts_of_a_many_term_observable(client):
    torch = pytest.importorskip("torch")
    circuit, obs, theta = wide()
    program = tnq.compile(circuit, obs, strategy="lightcone")
    front = tnq.distribute(program, client, terms=3)
    shares = [p.observables[0].terms for p in front.parts]
    assert len(shares) == 3 and sorted(map(str, sum(shares, ()))) == sorted(map(str, obs.terms))
    assert abs(front(theta) - program(theta)) < 1e-12  # one vector: 3 tasks
    batch = np.random.default_rng(4).uniform(0, 6, (5, theta.size))
    np.testing.assert_allclose(front(batch), program(batch), rtol=0, atol=1e-12)
    grads = []
    for fn in (front, program):
        t = torch.tensor(theta, requires_grad=True)
        fn(t).backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=0, atol=1e-12)
    g = front.param_shift(theta)
    np.testing.assert_allclose(g.grad, grads[1], rtol=0, atol=1e-10)
    sizes = ", ".join(str(len(t)) for t in shares)
    assert f"terms: 15 in 3 parts ({sizes} terms)" in front.explain(theta)
    state = tnq.distribute(tnq.compile(circuit, obs, strategy="state"), client, terms=4)
    assert [len(p.observables[0].terms) for p in state.parts] == [4, 4, 4, 3]  # contiguous
    assert abs(state(theta) - program(theta)) < 1e-12
    with pytest.raises(tnq.CompileError, match="terms must be a positive integer"):
        tnq.distribute(program, client, terms=0)
    with pytest.raises(tnq.CompileError, match="list of 2 observables"):
        tnq.distribute(tnq.compile(circuit, ["Z0", "Z1"]), client, terms=2)


def test_a_held_graph_travels_as_values_and_backward_recomputes_it():
    pytest.importorskip("torch")
    from tnq.distributed import tasks

    program = tnq.compile(classifier(), OBS)
    x, w = data(6)
    cot = np.arange(6.0)
    held = tasks.forward(program, w, x, (True, True))
    moved = pickle.loads(pickle.dumps(held))  # as Dask moves or spills it
    assert moved.graph is None and np.array_equal(moved.values, held.values)
    kept = tasks.backward(program, held, w, x, cot, (True, True))
    again = tasks.backward(program, moved, w, x, cot, (True, True))
    _, gp, gx = tasks.vjp(program, w, x, cot, (True, True))
    for a, b in ((kept[0], gp), (kept[1], gx), (again[0], gp), (again[1], gx)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert gp.shape == w.shape and gx.shape == x.shape


def test_mps_batch_rows_as_tasks(client):
    circuit, obs, theta = wide(8, 2)
    program = tnq.compile(circuit, obs, strategy="mps", max_bond=4)
    batch = np.random.default_rng(6).uniform(0, 6, (6, theta.size))
    front = tnq.distribute(program, client, local_below=0, chunk_size=2)
    np.testing.assert_allclose(front(batch), program(batch), rtol=0, atol=1e-12)


def test_a_held_graph_tells_dask_its_memory():
    pytest.importorskip("torch")
    from dask.sizeof import sizeof

    from tnq.distributed import tasks

    program = tnq.compile(classifier(10, 2), OBS)
    x, w = data(512, 10, 2)
    held = tasks.forward(program, w, x, (True, False))
    assert sizeof(held) >= held.values.nbytes
    tasks.backward(program, held, w, x, np.ones(512), (True, False))
    assert held.graph is None and sizeof(held) < 2 * held.values.nbytes
