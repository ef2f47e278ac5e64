"""Resources: very wide circuits, the memory guard on every output, and the
default ``max_memory`` under the process's real limits.

Tests that a regression could turn into a huge allocation run in a child
process under an address-space limit (``RLIMIT_AS``), so a failure is a
failed test, not a killed test run.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tnq
from tnq import plan

from . import reference as ref

GIB = 2**30
resource = pytest.importorskip("resource")


def run_limited(code: str, address_space: int, timeout: float = 120) -> dict:
    """Run ``code`` in a fresh Python under ``RLIMIT_AS = address_space`` (set
    before numpy or tnq is imported); it prints one JSON object, returned here."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({address_space}, {address_space}))
        import json, sys
        import numpy as np
        import tnq
    """)
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def brickwork(n: int, layers: int = 2) -> tnq.Circuit:
    """Layers of rzz on alternating bonds, then rx on every qubit (tied angles)."""
    theta = tnq.parameters(2)
    c = tnq.Circuit(n)
    for layer in range(layers):
        for q in range(layer % 2, n - 1, 2):
            c.rzz(q, q + 1, theta[0])
        for q in range(n):
            c.rx(q, theta[1])
    return c


def brickwork_bond_values(n: int, params, layers: int = 2) -> list[float]:
    """``<Z_i Z_i+1>`` of every bond of :func:`brickwork` from the dense reference."""
    steps = []
    for layer in range(layers):
        steps += [(ref.gate("rzz", params[0]), [q, q + 1]) for q in range(layer % 2, n - 1, 2)]
        steps += [(ref.gate("rx", params[1]), [q]) for q in range(n)]
    psi = ref.simulate(n, steps)
    return [ref.pauli_expectation(psi, n, {i: "Z", i + 1: "Z"}).real for i in range(n - 1)]


def wide_brickwork_reference(n: int, params, small: int = 14, edge: int = 4) -> float:
    """Sum of ``<Z_i Z_i+1>`` over a ``n``-qubit brickwork (``n`` even): a bond's
    two-layer lightcone spans at most 6 qubits, so bonds ``edge`` or more from
    either end take the value of the same-parity bond of a ``small``-qubit
    circuit, and the bonds near the ends that of the matching end bond there."""
    assert n % 2 == 0 == small % 2
    vals = brickwork_bond_values(small, params)
    total = 0.0
    for i in range(n - 1):
        if i < edge:
            total += vals[i]
        elif i >= n - 1 - edge:
            total += vals[i - (n - small)]
        else:
            total += vals[edge + (i - edge) % 2]
    return total


# ----------------------------------------------------------------- wide circuits


def test_sizes_and_costs_of_any_width_are_finite_text_or_inf():
    assert plan.format_bytes(2**5000 * 16) == "2^5004 B"
    assert plan.format_bytes(3 * 2**29) == "1.5 GiB"
    assert plan.format_bytes(2**80 + 2**79) == "2^80.6 B"
    assert plan.pow2(10) == 1024.0 and plan.pow2(10_000) == math.inf
    assert plan.as_float(2**10) == 1024.0 and plan.as_float(2**5000) == math.inf


def test_the_wide_reference_holds_on_a_circuit_it_can_check():
    params = [0.37, 0.81]
    exact = sum(brickwork_bond_values(18, params))
    assert abs(wide_brickwork_reference(18, params) - exact) < 1e-12


def test_5000_qubit_brickwork_compiles_runs_and_refuses_its_state():
    params = [0.37, 0.81]
    out = run_limited("""
        n = 5000
        theta = tnq.parameters(2)
        c = tnq.Circuit(n)
        for layer in range(2):
            for q in range(layer % 2, n - 1, 2):
                c.rzz(q, q + 1, theta[0])
            for q in range(n):
                c.rx(q, theta[1])
        obs = tnq.observable([tnq.Z(i) * tnq.Z(i + 1) for i in range(n - 1)])
        program = tnq.compile(c, obs)
        out = {"strategy": program.strategy, "reason": program.reason,
               "value": float(program(np.array([0.37, 0.81]))), "explain": program.explain()}
        for name, call in [("state", lambda: program.state(np.array([0.37, 0.81]))),
                           ("probabilities", lambda: program.probabilities(np.zeros(2))),
                           ("requested", lambda: tnq.compile(c, obs, strategy="state"))]:
            try:
                call()
                out[name] = None
            except tnq.MemoryLimitError as err:
                out[name] = str(err)
        print(json.dumps(out))
    """, 4 * GIB)
    assert out["strategy"] == "lightcone"
    assert "state: a 5000-qubit state needs 2^5004 B, over max_memory" in out["reason"]
    assert abs(out["value"] - wide_brickwork_reference(5000, params)) < 1e-9
    assert "max_memory:" in out["explain"]
    for name in ("state", "probabilities", "requested"):
        assert out[name] is not None, f"{name} was not refused"
        assert "needs 2^5004 B for its output (2^5000.0 elements of 16 bytes)" in out[name]
        assert "pass a larger max_memory=" in out[name]


def test_5000_qubit_ghz_amplitudes():
    out = run_limited("""
        n = 5000
        ghz = tnq.Circuit(n).h(0)
        for q in range(n - 1):
            ghz.cx(q, q + 1)
        amps = tnq.amplitude(ghz, ["1" * n, "0" * n, "01" * (n // 2)])
        print(json.dumps({"amps": [abs(complex(a)) for a in amps]}))
    """, 4 * GIB)
    np.testing.assert_allclose(out["amps"], [2**-0.5, 2**-0.5, 0.0], atol=1e-12)


def test_10000_qubit_estimates_are_inf_not_overflow():
    n = 10_000
    c = tnq.Circuit(n)
    for q in range(0, n - 1, 2):
        c.cz(q, q + 1)
    with pytest.raises(tnq.MemoryLimitError, match=r"needs 2\^10004 B .* over max_memory=1 MiB"):
        tnq.compile(c, "Z0", strategy="state", max_memory=2**20)
    from tnq.strategies.state import StateStrategy

    program = tnq.compile(c, "Z0 Z1")
    assert program.strategy == "lightcone"
    assert "state: a 10000-qubit state needs 2^10004 B, over max_memory" in program.reason
    estimate = StateStrategy(program._setup).estimate()
    assert estimate.flops == math.inf and estimate.memory == 2**n * 16
    assert abs(program() - 1) < 1e-12


def test_mps_of_unbounded_bonds_is_refused_with_its_size():
    n = 300
    nested = tnq.Circuit(n)
    for q in range(n // 2):
        nested.cx(q, n - 1 - q)  # routed by SWAPs: bonds up to 2^150
    with pytest.raises(tnq.MemoryLimitError,
                       match=r"bond dimension 2\^150 \(bond 149, between qubits 149 and "
                             r"150\); .* need about 2\^309.1 B"):
        tnq.compile(nested, "Z0", strategy="mps")


# ----------------------------------------------------------------- the guard on outputs


def test_sampling_a_billion_shots_is_refused_before_allocating():
    out = run_limited("""
        program = tnq.compile(tnq.Circuit(10).h(0), max_memory=2**30)
        try:
            program.sample(10**9, seed=1)
            print(json.dumps({"error": None}))
        except tnq.MemoryLimitError as err:
            print(json.dumps({"error": str(err)}))
    """, 3 * GIB)
    assert out["error"] == (
        "sample: 1000000000 shots of 10 qubits (one byte per bit) needs 9.31 GiB, over "
        "max_memory=1 GiB; draw fewer shots per call, or pass a larger max_memory= to "
        "tnq.compile")


@pytest.mark.parametrize("n, strategy", [(24, "auto"), (12, "mps")])
def test_samples_are_drawn_in_chunks_within_max_memory(n, strategy):
    ghz = tnq.Circuit(n).h(0)
    for q in range(n - 1):
        ghz.cx(q, q + 1)
    options = {"max_bond": 2} if strategy == "mps" else {}
    program = tnq.compile(ghz, strategy=strategy, max_memory=2**19, **options)
    shots = program.sample(2000, seed=5)  # several chunks of a few hundred shots
    assert shots.shape == (2000, n) and shots.dtype == np.uint8
    assert set(shots.sum(axis=1)) <= {0, n}
    assert 850 < shots[:, 0].sum() < 1150
    np.testing.assert_array_equal(shots, program.sample(2000, seed=5))


def test_marginals_of_too_many_qubits_are_refused():
    c = tnq.Circuit(50).h(0)
    with pytest.raises(tnq.MemoryLimitError, match=r"'marginal' needs 16 TiB for its output "
                                                   r"\(2\^40.0 elements"):
        tnq.compile(c).probabilities(qubits=range(40))
    ghz = tnq.Circuit(12).h(0)
    for q in range(11):
        ghz.cx(q, q + 1)
    program = tnq.compile(ghz, strategy="mps", max_bond=2, max_memory=2**24)
    full = np.zeros(2**12)
    full[[0, -1]] = 0.5  # all 12 qubits: no 2^12 x 2^12 matrix, so within 16 MiB
    np.testing.assert_allclose(program.probabilities(qubits=range(12)), full, atol=1e-12)
    wide = tnq.Circuit(22).h(0)
    for q in range(21):
        wide.cx(q, q + 1)
    wide_program = tnq.compile(wide, strategy="mps", max_bond=2, max_memory=2**24)
    with pytest.raises(tnq.MemoryLimitError, match=r"probabilities of 22 qubits from the MPS "
                                                   r"\(one 2 x 2 environment per outcome\) "
                                                   r"needs 256 MiB, over max_memory=16 MiB"):
        wide_program.probabilities(qubits=range(22))
    np.testing.assert_allclose(program.probabilities(qubits=[0, 5]), [0.5, 0, 0, 0.5],
                               atol=1e-12)
    with pytest.raises(tnq.MemoryLimitError, match="a 12-qubit state vector needs 64 KiB"):
        tnq.compile(ghz, strategy="mps", max_bond=2, max_memory=2**15).state()


def test_a_circuit_of_a_billion_qubits_is_refused():
    with pytest.raises(tnq.CircuitError, match="MAX_QUBITS = 1,000,000"):
        tnq.Circuit(10**9)


# ----------------------------------------------------------------- default max_memory


def test_a_28_qubit_state_under_a_4_gib_address_space_is_refused():
    out = run_limited("""
        from tnq.plan import default_max_memory
        c = tnq.Circuit(28).h(0)
        out = {"default": default_max_memory(), "heavy": sorted(
            m for m in ("torch", "jax", "tensorflow") if m in sys.modules)}
        try:
            tnq.state(c)
            out["error"] = None
        except tnq.MemoryLimitError as err:
            out["error"] = str(err)
        print(json.dumps(out))
    """, 4 * GIB)
    assert out["heavy"] == []  # importing tnq pulls in no torch or jax
    assert 0 < out["default"] < 2 * GIB
    assert out["error"] is not None
    assert "needs 4 GiB for its output" in out["error"]
    assert "over max_memory=" in out["error"] and "pass a larger max_memory=" in out["error"]
    assert "the default is half the memory this process may use" in out["error"]


def test_the_default_is_half_of_the_smallest_limit(tmp_path, monkeypatch):
    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    limit.write_text("1073741824\n")
    usage.write_text(str(2**28))
    monkeypatch.setattr(plan, "CGROUP_FILES", ((str(limit), str(usage)),))
    assert plan._cgroup_left() == GIB - 2**28
    assert plan.default_max_memory() <= (GIB - 2**28) // 2
    limit.write_text("max\n")  # cgroup v2 without a limit
    assert plan._cgroup_left() is None
    limit.write_text("9223372036854771712\n")  # cgroup v1 "unlimited"
    assert plan._cgroup_left() is None
    monkeypatch.setattr(plan, "CGROUP_FILES", ((str(tmp_path / "missing"), str(usage)),))
    assert plan._cgroup_left() is None
    assert plan.default_max_memory() <= plan.psutil.virtual_memory().available // 2


def test_the_default_follows_the_address_space_limit():
    out = run_limited("""
        from tnq.plan import default_max_memory
        print(json.dumps({"default": default_max_memory()}))
    """, 3 * GIB)
    assert GIB // 2 < out["default"] < 3 * GIB // 2
