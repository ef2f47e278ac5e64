"""The strategy interface as users meet it through a Program: one interface for
every strategy, no per-call state (threads), pickling at any time, the
jit/vmap contract, unsupported outputs, and the planner's choice."""

import copy
import pickle
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest
import torch

import tnq
from tnq.strategies import REGISTRY, Strategy, supporting

jax.config.update("jax_enable_x64", True)

ATOL = 1e-10
OBS = "Z0 Z1 + 0.5*X2 - Y0 X1 Z2 + 0.3*X3 X4"
OPTIONS = {"state": {}, "lightcone": {}, "mps": {"max_bond": 2}, "statevector": {},
           "pauli": {"threshold": 1e-2}}
STATES = [name for name, cls in REGISTRY.items() if "state" in cls.outputs]
"""Strategies with every output (pauli computes expectation values only)."""
AUTOGRAD = [name for name in REGISTRY if name != "pauli"]
"""Strategies torch autograd differentiates (pauli: parameter shift, docs/wide.md)."""


def circuit(n=5, depth=3):
    theta = tnq.parameters(depth * (2 * n - 1))
    c, k = tnq.Circuit(n), 0
    for _ in range(depth):
        for q in range(n):
            c.ry(q, theta[k])
            k += 1
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                c.crx(q, q + 1, theta[k])
                k += 1
    return c


def compiled(strategy):
    return tnq.compile(circuit(), OBS, strategy=strategy, **OPTIONS[strategy])


def params(count, rows=None, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 2 * np.pi, (count,) if rows is None else (rows, count))


# ------------------------------------------------------------ the interface
def test_every_registered_strategy_implements_the_interface():
    assert list(REGISTRY) == ["state", "lightcone", "mps", "statevector", "pauli"]
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Strategy) and cls.name == name
        assert "expectation" in cls.outputs and cls.transforms <= tnq.strategies.TRANSFORMS
    assert supporting(output="simulate") == ["mps"]
    assert supporting(transform="jax.jit") == ["state", "lightcone", "statevector"]


@pytest.mark.parametrize("strategy", STATES)
def test_strategies_agree_and_results_carry_their_facts(strategy):
    p = params(27)
    exact = tnq.compile(circuit(), OBS, strategy="state")
    program = tnq.compile(circuit(), OBS, strategy=strategy)  # untruncated
    result = program.evaluate(p)
    assert result.strategy == strategy and result.seconds >= 0
    assert abs(float(result.value) - float(exact(p))) < ATOL
    assert (result.fidelity is None) == (strategy != "mps")
    assert np.abs(program.state(p) - exact.state(p)).max() < ATOL
    assert abs(program.amplitude("10110", p) - exact.amplitude("10110", p)) < ATOL
    marginal = program.probabilities(p, qubits=[3, 1])
    assert np.abs(marginal - exact.probabilities(p, qubits=[3, 1])).max() < ATOL
    assert program.sample(4, p, seed=3).shape == (4, 5)


def test_batched_mps_fidelities_come_one_per_row():
    program = compiled("mps")
    batch = params(27, rows=3)
    result = program.evaluate(batch)
    assert result.fidelity.shape == (3,) and np.all(result.fidelity < 1)
    for row, f in zip(batch, result.fidelity):
        assert program.evaluate(row).fidelity == f


def test_an_output_a_strategy_lacks_names_those_that_have_it():
    program = compiled("state")
    with pytest.raises(tnq.UnsupportedError, match=r"simulate .* strategy 'state'.*\['mps'\]"):
        program.simulate(params(27))
    assert compiled("mps").simulate(params(27)).fidelity < 1


def test_a_program_is_immutable():
    program = compiled("lightcone")
    with pytest.raises(AttributeError, match="immutable"):
        program.strategy = "state"
    with pytest.raises(AttributeError, match="immutable"):
        program.max_bond = 4


# ------------------------------------------------------------ threads
@pytest.mark.parametrize("strategy", STATES)
def test_eight_threads_get_their_own_values_and_fidelities(strategy):
    rows = params(27, rows=16, seed=5)
    sequential = compiled(strategy)
    expected = [sequential.evaluate(p) for p in rows]
    expected_amps = [sequential.amplitude("01101", p) for p in rows]
    program = compiled(strategy)  # fresh: its output plans are made under the threads
    results: dict = {}
    errors: list = []
    barrier = threading.Barrier(8)

    def work(t):
        try:
            barrier.wait()
            for i in range(t, len(rows), 8):
                results[i] = (program.evaluate(rows[i]), program.amplitude("01101", rows[i]))
                _ = program.plans, program.explain()  # reading while others call
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, (want, amp) in enumerate(zip(expected, expected_amps)):
        got, got_amp = results[i]
        assert abs(float(got.value) - float(want.value)) < ATOL
        assert got.fidelity == want.fidelity
        assert abs(got_amp - amp) < ATOL
    if strategy == "mps":
        assert len({r.fidelity for r in expected}) > 1  # the check can tell rows apart


# ------------------------------------------------------------ pickling
@pytest.mark.parametrize("strategy", AUTOGRAD)
def test_pickles_and_copies_before_and_after_calls_on_every_backend(strategy):
    p = params(27)
    program = compiled(strategy)
    want = float(program(p))

    def roundtrips(prog):
        for clone in (pickle.loads(pickle.dumps(prog)), copy.deepcopy(prog)):
            assert abs(float(clone(p)) - want) < ATOL
            assert clone.strategy == prog.strategy and clone.reason == prog.reason

    roundtrips(compiled(strategy))  # before any call
    roundtrips(program)  # after numpy
    program(torch.tensor(p, requires_grad=True)).backward()
    roundtrips(program)  # after torch autograd
    tnq.param_shift(program, p)
    roundtrips(program)  # after parameter shift (its tables are made once, not pickled)
    if "jax.jit" in program.transforms:
        jax.jit(jax.grad(program))(jax.numpy.asarray(p))
        tnq.value_and_grad(program, jax.numpy.asarray(p))
    else:
        program(jax.numpy.asarray(p))
    roundtrips(program)  # after jax


def test_an_unpickled_program_searches_no_paths(tmp_path):
    c = circuit(8, 3)
    program = tnq.compile(c, "Z0 Z7 + X3", strategy="state", optimize="greedy")
    p = params(c.num_params)
    program.amplitude("0" * 8, p)  # a plan made on first use travels too
    (tmp_path / "program.pkl").write_bytes(pickle.dumps(program))
    script = (
        "import pickle, sys, numpy as np, tnq.plan\n"
        "def refuse(*args):\n"
        "    raise AssertionError('path search after unpickling')\n"
        "tnq.plan._search = refuse\n"
        "program = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "p = np.array([float(x) for x in sys.argv[2].split(',')])\n"
        "print(repr(float(program(p))), repr(complex(program.amplitude('0' * 8, p))))\n")
    numbers = ",".join(repr(float(x)) for x in p)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "program.pkl"), numbers],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    value, amp = out.stdout.split()
    assert abs(float(value) - float(program(p))) < ATOL
    assert abs(complex(amp) - complex(program.amplitude("0" * 8, p))) < ATOL


# ------------------------------------------------------------ jit / vmap contract
TRANSFORMED = {
    "jax.jit": lambda f, x: jax.jit(f)(jax.numpy.asarray(x[0])),
    "jax.vmap": lambda f, x: jax.vmap(f)(jax.numpy.asarray(x)),
    "jax.grad": lambda f, x: jax.grad(f)(jax.numpy.asarray(x[0])),
    "torch.func.vmap": lambda f, x: torch.func.vmap(f)(torch.tensor(x)),
    "torch.func.grad": lambda f, x: torch.func.grad(f)(torch.tensor(x[0])),
}


@pytest.mark.parametrize("strategy", list(REGISTRY))
@pytest.mark.parametrize("how", list(TRANSFORMED))
def test_transformations_work_or_say_which_strategies_support_them(strategy, how):
    program = compiled(strategy)
    rows = params(27, rows=3, seed=2)
    if how not in program.transforms:
        with pytest.raises(tnq.UnsupportedError, match=rf"cannot run under {how}; .*'state'"):
            TRANSFORMED[how](program, rows)
        return
    out = np.asarray(TRANSFORMED[how](program, rows))
    if how.endswith("vmap"):
        np.testing.assert_allclose(out, [float(program(r)) for r in rows], atol=ATOL)
    elif how.endswith("grad"):
        np.testing.assert_allclose(out, tnq.param_shift(program, rows[0]).grad, atol=1e-9)
    else:
        assert abs(float(out) - float(program(rows[0]))) < ATOL


@pytest.mark.parametrize("strategy", AUTOGRAD)
def test_torch_autograd_works_on_every_strategy(strategy):
    program = tnq.compile(circuit(), OBS, strategy=strategy)  # untruncated: exact gradient
    p = params(27, seed=4)
    x = torch.tensor(p, requires_grad=True)
    program(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), tnq.param_shift(program, p).grad, atol=1e-8)


# ------------------------------------------------------------ the planner
def test_auto_reason_lists_every_strategy():
    program = tnq.compile(circuit(), OBS)
    assert program.strategy in ("state", "lightcone", "statevector")
    for name in REGISTRY:
        assert f"{name}:" in program.reason or name == program.strategy
    assert "not considered (auto truncates only when max_bond is given)" in program.reason


@pytest.mark.parametrize("strategy", STATES)
def test_one_vector_outputs_refuse_a_batch(strategy):
    program = compiled(strategy)
    batch = params(27, rows=2)
    with pytest.raises(tnq.ParameterError, match="batch of 2"):
        program.amplitude("00000", batch)
    with pytest.raises(tnq.ParameterError, match="batch of 2"):
        program.probabilities(batch, qubits=[0, 1])
    with pytest.raises(tnq.ParameterError, match="got a batch"):
        program.sample(3, batch)
    assert program.probabilities(batch).shape == (2, 32)  # all qubits: batched
