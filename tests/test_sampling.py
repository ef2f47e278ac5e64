"""Sampling: the way is chosen by estimated cost before anything runs, refusals
name the estimate and the alternatives, samples follow the exact distribution,
seeds repeat, and progress bars show only when allowed."""

import subprocess
import sys

import numpy as np
import pytest

import tnq
import tnq.progress
from tnq.cli import main

DEEP_LAYERS = 12  # 50 qubits: 12 layers of RY on every qubit and a CX brickwork = 894 gates


def chain(n: int, layers: int, seed: int = 0) -> tnq.Circuit:
    """``layers`` of random RY rotations on every qubit, each followed by a
    brickwork of CX on neighbours (alternating offsets)."""
    rng = np.random.default_rng(seed)
    c = tnq.Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.ry(q, float(rng.uniform(0, np.pi)))
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
    return c


def chi_square(shots: np.ndarray, p: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic of the outcomes of ``shots`` (rows of bits, qubit 0
    most significant) against probabilities ``p``, bins under 5 expected
    counts pooled into one; and its degrees of freedom."""
    k = shots.shape[1]
    idx = shots.astype(np.int64) @ (1 << np.arange(k - 1, -1, -1))
    observed = np.bincount(idx, minlength=p.size).astype(float)
    expected = p / p.sum() * len(shots)
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    stat = float((((obs - exp) ** 2)[keep] / exp[keep]).sum())
    return stat, int(keep.sum()) - 1


def assert_follows(shots: np.ndarray, p: np.ndarray) -> None:
    """The statistic within six standard deviations of its mean (seeded: fixed)."""
    stat, dof = chi_square(shots, p)
    assert stat < dof + 6 * np.sqrt(2 * dof), (stat, dof)


# ------------------------------------------------------------ the choice of method
def test_a_small_circuit_samples_from_exact_probabilities():
    program = tnq.compile(chain(6, 3), strategy="state")
    way = program.sample_method(1000)
    assert way.method == "probabilities" and way.usable and not way.partial
    shots = program.sample(20000, seed=3)
    assert_follows(shots, np.asarray(program.probabilities()))


def test_a_wide_shallow_circuit_samples_conditional_blocks():
    c = chain(40, 2)
    program = tnq.compile(c)
    way = program.sample_method(2000)
    assert way.method == "conditional" and way.flops < 1e10 and not way.partial
    text = program.explain()
    assert "sampling 1000 shots: exact probabilities:" in text and "over max_memory" in text
    shots = program.sample(2000, seed=4)
    assert shots.shape == (2000, 40) and shots.dtype == np.uint8
    for keep in ([7, 8], [0, 15, 16], [23, 24, 39]):  # across block boundaries
        p = np.asarray(program.probabilities(qubits=keep))
        assert_follows(shots[:, keep], p)
    assert any(p.name.startswith("sample[8:16]") for p in program.plans)


def test_conditional_blocks_follow_the_exact_distribution():
    """Ten qubits: two blocks, the second conditioned on the first's bits."""
    rng = np.random.default_rng(7)
    c = chain(10, 3, seed=1)
    for q in range(9):
        c.rz(q + 1, float(rng.uniform(0, 3))).cx(q, q + 1)
    program = tnq.compile(c, strategy="state")
    way = program.sample_method(20000, method="conditional")
    assert way.method == "conditional" and not way.partial
    shots = program.sample(20000, seed=11, method="conditional")
    assert_follows(shots, np.asarray(program.probabilities()))


def test_ghz_across_blocks_stays_correlated():
    ghz = tnq.Circuit(20).h(0)
    for q in range(19):
        ghz.cx(q, q + 1)
    shots = tnq.compile(ghz, strategy="state").sample(300, seed=2, method="conditional")
    assert set(shots.sum(axis=1)) <= {0, 20} and 100 < shots[:, 0].sum() < 200


@pytest.mark.parametrize("options, method", [
    ({"strategy": "state"}, "probabilities"),
    ({"strategy": "state"}, "conditional"),
    ({"strategy": "mps", "max_bond": 8}, "mps"),
])
def test_seeded_samples_repeat(options, method):
    program = tnq.compile(chain(12, 3), **options)
    a = program.sample(500, seed=5, method=method)
    assert np.array_equal(a, program.sample(500, seed=5, method=method))
    assert not np.array_equal(a, program.sample(500, seed=6, method=method))


def test_mps_samples_follow_the_mps_state():
    program = tnq.compile(chain(8, 4), strategy="mps", max_bond=64)  # exact at 8 qubits
    assert program.sample_method(100).method == "mps"
    assert_follows(program.sample(20000, seed=8), np.asarray(program.probabilities()))


# ------------------------------------------------------------ refusals
def test_the_deep_chain_is_refused_quickly_with_the_mps_alternative(tmp_path):
    """The 50-qubit, 894-gate chain: the conditional marginals would take hours,
    so sampling is refused before contracting, naming the estimate and the MPS
    way (in a subprocess, so that a regression cannot hang the run)."""
    c = chain(50, DEEP_LAYERS)
    assert len(c) == 894
    path = tmp_path / "deep_chain.qasm"
    path.write_text(tnq.to_qasm(c))
    run = subprocess.run([sys.executable, "-m", "tnq", "run", str(path), "--observable",
                          "Z0 Z1", "--samples", "1000", "--seed", "1"],
                         capture_output=True, timeout=120)
    stderr = run.stderr.decode()  # bytes: text mode would turn the bars' "\r" into "\n"
    assert run.returncode == 1, stderr
    assert "<Z0 Z1> = " in run.stdout.decode()
    error = stderr.split("\r")[-1]
    assert stderr.count("\n") == 1 and error.startswith("tnq: error: sample: 1000 shots")
    assert "FLOPs" in error and "over max_flops=1e+12" in error and "conditional" in error
    assert "compile with strategy='mps', max_bond=" in error and "--max-bond" in error


def test_the_deep_chain_samples_from_an_mps():
    c = chain(50, DEEP_LAYERS)
    exact = float(tnq.compile(c, "Z0 Z1")())
    program = tnq.compile(c, strategy="mps", max_bond=64)
    way = program.sample_method(1000)
    assert way.method == "mps" and way.seconds < 60
    shots = program.sample(1000, seed=1)
    assert shots.shape == (1000, 50)
    parity = np.mean(1 - 2 * (shots[:, 0] ^ shots[:, 1]).astype(int))
    assert abs(parity - exact) < 6 * np.sqrt((1 - exact**2) / 1000)


def test_a_program_with_max_bond_that_is_not_mps_names_its_bond():
    program = tnq.compile(chain(30, 6), "Z0", max_bond=8)
    assert program.strategy != "mps"
    with pytest.raises(tnq.CostLimitError, match=r"over max_flops=1e\+03.*compile with "
                       r"strategy='mps', max_bond=8\."):
        program.sample(1000, seed=1, max_flops=1e3)


def test_nothing_fits_memory():
    ghz = tnq.Circuit(24).h(0)
    for q in range(23):
        ghz.cx(q, q + 1)
    program = tnq.compile(ghz, max_memory=2**12)
    with pytest.raises(tnq.MemoryLimitError, match=r"no way of drawing them fits max_memory="
                       r"4 KiB: exact probabilities: .*; conditional marginals: qubits 0-7 "
                       r"need .* for one bitstring"):
        program.sample(10, seed=1)


def test_no_limit_and_bad_arguments():
    program = tnq.compile(chain(10, 2), strategy="state")
    assert program.sample(10, seed=1, max_flops=None).shape == (10, 10)
    for bad in (0, -1.0, True, "1e9", float("nan")):
        with pytest.raises(tnq.ParameterError, match="max_flops must be a positive number"):
            program.sample(10, max_flops=bad)
    with pytest.raises(tnq.ParameterError, match=r"method='mps' is not a way strategy "
                       r"'state' samples; expected None \(the cheapest\) or one of "
                       r"\['probabilities', 'conditional'\]"):
        program.sample(10, method="mps")
    with pytest.raises(tnq.CompileError, match="progress must be True or False"):
        tnq.compile(chain(2, 1), progress="yes")


# ------------------------------------------------------------ progress bars
@pytest.fixture
def always_show(monkeypatch):
    """Bars for any estimate, however short."""
    monkeypatch.setattr(tnq.progress, "SHOW_AFTER", -1.0)


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bars_show_only_when_allowed(always_show, capsys, progress):
    closed = tnq.compile(chain(20, 2), strategy="state", progress=progress)
    closed.sample(50, seed=1, method="conditional")
    mps = tnq.compile(chain(6, 2), "Z0", strategy="mps", max_bond=4, progress=progress)
    mps.sample(50, seed=1)
    cones = tnq.compile(chain(12, 2), "Z0 + Z5 + X11", strategy="lightcone",
                        progress=progress)
    cones()
    err = capsys.readouterr().err
    bars = ["tnq: sampling: planning blocks", "tnq: samples (8-qubit blocks)",
            "tnq: MPS sweeps", "tnq: MPS samples", "tnq: lightcone groups"]
    if progress:
        assert all(b in err for b in bars), err
    else:
        assert err == ""


def test_the_command_shows_bars_unless_told_not_to(always_show, capsys, tmp_path):
    path = tmp_path / "chain.qasm"
    path.write_text(tnq.to_qasm(chain(12, 2)))
    args = ["run", str(path), "--samples", "20", "--seed", "1", "--strategy", "mps"]
    assert main(args) == 0
    assert "tnq: MPS sweeps" in capsys.readouterr().err
    assert main(args + ["--no-progress"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "12 qubits" in out.out


def test_a_refusal_after_bars_is_one_line(always_show, capsys, tmp_path):
    path = tmp_path / "chain.qasm"
    path.write_text(tnq.to_qasm(chain(30, 4)))
    assert main(["run", str(path), "--samples", "100", "--max-flops", "10"]) == 1
    err = capsys.readouterr().err
    assert "tnq: sampling: planning blocks" in err and err.count("\n") == 1
    assert err.split("\r")[-1].startswith("tnq: error: sample: 100 shots")
