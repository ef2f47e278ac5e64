"""Bad input to the ``tnq`` command: one line on stderr, the right exit status,
never a traceback. Most cases call ``main`` in-process; a few run
``python -m tnq`` for real (a device file, signals, pipes)."""

import os
import signal
import subprocess
import sys
import threading

import pytest

import tnq
from tnq.cli import MAX_FILE_BYTES, _read_text, main

TIMEOUT = 60


@pytest.fixture
def bell(tmp_path):
    f = tmp_path / "bell.qasm"
    f.write_text(tnq.to_qasm(tnq.Circuit(2).h(0).cx(0, 1)))
    return str(f)


def _one_error_line(err: str, *expected: str) -> None:
    assert err.startswith("tnq: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tnq", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, **kw)


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: command"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run"], "the following arguments are required: file"),
    (["run", "{bell}", "--samples", "-3"], "argument --samples: expected a positive integer, "
                                          "got '-3'"),
    (["run", "{bell}", "--samples", "abc"], "--samples: expected a positive integer, got 'abc'"),
    (["run", "{bell}", "--samples", "0"], "--samples: expected a positive integer, got '0'"),
    (["run", "{bell}", "--max-bond", "0"], "--max-bond: expected a positive integer, got '0'"),
    (["run", "{bell}", "--max-memory", "-1"], "--max-memory: expected a positive integer"),
    (["run", "{bell}", "--seed", "-1"], "--seed: expected a non-negative integer, got '-1'"),
    (["run", "{bell}", "--amplitude", "012"], "--amplitude: expected a bitstring of 0s and "
                                             "1s, got '012'"),
    (["run", "{bell}", "--amplitude", ""], "--amplitude: expected a bitstring"),
    (["run", "{bell}", "--strategy", "nope"], "argument --strategy: invalid choice: 'nope'"),
    (["run", "{bell}", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["demo", "--steps", "0"], "argument --steps: expected a positive integer, got '0'"),
    (["demo", "--qubits", "-2"], "argument --qubits: expected a positive integer, got '-2'"),
    (["demo", "--layers", "0"], "argument --layers: expected a positive integer, got '0'"),
    (["demo", "--layers", "1.5"], "argument --layers: expected a positive integer, got '1.5'"),
])
def test_a_malformed_command_line_exits_2(argv, expected, bell, capsys):
    assert main([a.format(bell=bell) for a in argv]) == 2
    captured = capsys.readouterr()
    _one_error_line(captured.err, expected, "--help")
    assert captured.out == ""


def test_input_errors_exit_1_with_one_line(tmp_path, bell, capsys):
    binary = tmp_path / "program.bin"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    latin1 = tmp_path / "latin1.qasm"
    latin1.write_bytes(b'OPENQASM 2.0;\nqreg q[1];\n// caf\xe9\nh q[0];\n')
    bad = tmp_path / "bad.qasm"
    bad.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[3];\n')
    huge = tmp_path / "huge.qasm"
    with open(huge, "wb") as fh:  # sparse: refused from its size, never read
        fh.truncate(MAX_FILE_BYTES + 1)
    cases = [
        (["run", str(tmp_path / "missing.qasm")], ["missing.qasm: No such file or directory"]),
        (["run", str(tmp_path)], [f"{tmp_path}: Is a directory"]),
        (["run", str(binary)], ["program.bin: binary, not OpenQASM text", "offset 7"]),
        (["run", str(latin1)], ["latin1.qasm: line 3, column 7: not UTF-8 text (byte 0xe9)"]),
        (["run", str(huge)], [f"larger than {MAX_FILE_BYTES:,} bytes (256 MiB)"]),
        (["run", str(bad)], ["bad.qasm: line 4, column 5: index 3 is out of range"]),
        (["run", bell, "--observable", "Z5"], ["qubit 5", "2 qubits"]),
        (["run", bell, "--observable", "Q0"], ["Q0"]),
        (["run", bell, "--amplitude", "011"], ["'011'", "expected 2"]),
        (["run", bell, "--observable", "Z0", "--max-memory", "10"], ["max_memory"]),
    ]
    for argv, expected in cases:
        assert main(argv) == 1, argv
        _one_error_line(capsys.readouterr().err, *expected)


def test_reading_stops_at_the_limit(tmp_path):
    r, w = os.pipe()  # a pipe has no size to check first: the read itself is bounded
    os.write(w, b"OPENQASM 2.0;\n" * 10)
    os.close(w)
    try:
        with pytest.raises(tnq.QasmError, match="larger than 100 bytes"):
            _read_text(f"/dev/fd/{r}", limit=100)
    finally:
        os.close(r)
    f = tmp_path / "small.qasm"
    f.write_text("OPENQASM 2.0;\n")
    assert _read_text(str(f), limit=14) == "OPENQASM 2.0;\n"
    with pytest.raises(tnq.QasmError, match="larger than 13 bytes"):
        _read_text(str(f), limit=13)


def test_help_exits_0(capsys):
    assert main(["run", "--help"]) == 0
    assert "256 MiB" in capsys.readouterr().out


def test_python_m_tnq_version_and_an_endless_device():
    done = _cli("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"tnq {tnq.__version__}\n", "")
    done = _cli("run", "/dev/zero")
    assert done.returncode == 1 and done.stdout == ""
    _one_error_line(done.stderr, "/dev/zero: binary, not OpenQASM text")


def _qasm(tmp_path, name: str, body: str) -> str:
    f = tmp_path / f"{name}.qasm"
    f.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ngate g0 a { h a; }\n'
                 + body)
    return str(f)


def test_deep_or_oversized_qasm(tmp_path, capsys):
    deep = [  # deeper than Python's recursion limit: read without recursion
        "rx(" + "(" * 10_000 + "1" + ")" * 10_000 + ") q[0];\n",
        "".join(f"gate g{k} a {{ g{k - 1} a; }}\n" for k in range(1, 2000)) + "g1999 q[0];\n",
    ]
    for i, body in enumerate(deep):
        assert main(["run", _qasm(tmp_path, f"deep{i}", body)]) == 0
        assert capsys.readouterr().err == ""
    doubling = "".join(f"gate g{k} a {{ g{k - 1} a; g{k - 1} a; }}\n" for k in range(1, 64))
    cases = [(doubling + "g63 q[0];\n", "max_operations"), ("qreg r[1000000];\n", "max_qubits")]
    for body, limit in cases:
        assert main(["run", _qasm(tmp_path, "big", body)]) == 1
        _one_error_line(capsys.readouterr().err, "big.qasm: line ", limit)
    # the limits are options of the command
    wide = _qasm(tmp_path, "wide", "qreg r[3];\nh r;\n")
    assert main(["run", wide, "--max-operations", "2"]) == 1
    _one_error_line(capsys.readouterr().err, "wide.qasm: line ", "--max-operations")
    assert main(["run", wide, "--max-qubits", "4", "--max-operations", "3"]) == 0
    capsys.readouterr()
    assert main(["run", wide, "--max-qubits", "3"]) == 1
    _one_error_line(capsys.readouterr().err, "wide.qasm: line ", "--max-qubits")


# ``python -m tnq``, with Ctrl-C raising KeyboardInterrupt even where this process
# was started with SIGINT ignored (a background job), which its children inherit
PYTHON_M_TNQ = [sys.executable, "-c", "import runpy, signal; signal.signal(signal.SIGINT, "
                "signal.default_int_handler); runpy.run_module('tnq', run_name='__main__')"]


def _endless_demo(**kw) -> subprocess.Popen:
    """``tnq demo`` for a billion steps, killed after TIMEOUT seconds whatever happens."""
    proc = subprocess.Popen([*PYTHON_M_TNQ, "demo", "--qubits", "3", "--layers", "1",
                             "--steps", "1000000000"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)
    timer = threading.Timer(TIMEOUT, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def test_ctrl_c_exits_130_with_one_line():
    proc = _endless_demo(env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in proc.stdout:
            if "energy = " in line:  # inside main, well past the imports
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "tnq: interrupted\n"


def test_a_closed_stdout_stops_quietly():
    proc = _endless_demo()
    try:
        assert proc.stdout.readline().startswith("Variational demo")
        proc.stdout.close()  # as `tnq demo | head -1` does
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 141
    assert err == ""
