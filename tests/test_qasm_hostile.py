"""OpenQASM files are untrusted input: hostile programs end in a QasmError with a
line (or parse correctly), never in another exception, a hang or a huge allocation.

Each hostile case runs in a subprocess with a generous timeout, so a regression
fails the test instead of hanging the suite; no test asserts a duration.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnq

TIMEOUT = 20  # seconds per case: generous, never a timing assertion
HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
RUNNER = textwrap.dedent("""
    import json, signal, sys, tnq

    def alarm(*_):
        raise TimeoutError("case ran past its time limit")

    signal.signal(signal.SIGALRM, alarm)
    results = {}
    for name, path, limits in json.loads(open(sys.argv[1]).read()):
        signal.alarm(int(sys.argv[2]))
        try:
            c = tnq.from_qasm(open(path).read(), **limits)
            out = {"kind": "ok", "num_qubits": c.num_qubits, "num_ops": len(c.ops),
                   "ops": [[op.name, list(op.qubits), list(op.params)] for op in c.ops[:5]]}
        except tnq.QasmError as exc:
            out = {"kind": "QasmError", "line": exc.line, "column": exc.column,
                   "message": str(exc)[:2000]}
        except BaseException as exc:
            out = {"kind": type(exc).__name__, "message": str(exc)[:2000]}
        signal.alarm(0)
        results[name] = out
    print(json.dumps(results))
""")


def doubling_gates(levels: int) -> str:
    """Gates that each call the previous one twice: 3 * 2**levels - 1 applications."""
    lines = ["gate g0 a { U(0, 0, 0) a; }"]
    lines += [f"gate g{k} a {{ g{k - 1} a; g{k - 1} a; }}" for k in range(1, levels + 1)]
    return "\n".join(lines) + f"\nqreg q[1];\ng{levels} q[0];\n"


def doubling_h(levels: int) -> str:
    """``g1`` applies h twice, each next gate calls the one before twice: 2**levels
    operations and 2**(levels + 1) - 1 applications, inside the default limit at 22."""
    lines = [HEADER + "gate g1 a { h a; h a; }"]
    lines += [f"gate g{k} a {{ g{k - 1} a; g{k - 1} a; }}" for k in range(2, levels + 1)]
    return "\n".join(lines) + f"\nqreg q[1];\ng{levels} q[0];\n"


def nested_calls(levels: int) -> str:
    lines = ["gate g0(t) a { U(t, 0, 0) a; }"]
    lines += [f"gate g{k}(t) a {{ g{k - 1}(t + 1) a; }}" for k in range(1, levels + 1)]
    return "\n".join(lines) + f"\nqreg q[1];\ng{levels}(0) q[0];\n"


def unsupported(statement: str) -> str:
    # A lexical error near the end proves the rest of the 19 MB file is never read.
    return (HEADER + "qreg q[1];\ncreg c[1];\n" + statement + "\n"
            + "x q[0];\n" * 2_400_000 + "$\n")


DEEP = 50_000
MINUS = "-" * 100_001
SUM = " + ".join(["a"] * 3000)
# name: (program, limits, expected): expected is ("ok", check) or (line, message part)
CASES = {
    "bomb": (doubling_gates(40), {}, (43, f"{3 * 2**40 - 1:,} gate applications")),
    "doubling inside the limits": (doubling_h(22), {}, ("ok", [["h", [0], []]] * 5)),
    "mutual": ("gate a x { b x; }\ngate b x { a x; }\nqreg q[1];\na q[0];\n", {},
               (1, "gate 'b' is not defined")),
    "self": ("gate a x { a x; }\n", {}, (1, "a gate cannot call itself")),
    "nested": (nested_calls(1500), {}, ("ok", [["u3", [0], [1500.0, 0.0, 0.0]]])),
    "empty gates": ("gate e a { }\nqreg q[100000];\n" + "e q;\n" * 200, {},
                    (103, "with the 10,000,000 operations before it")),
    "parentheses": (f"qreg q[1];\nU({'(' * DEEP}0.5{')' * DEEP}, 0, 0) q[0];\n", {},
                    ("ok", [["u3", [0], [0.5, 0.0, 0.0]]])),
    "unclosed": (f"qreg q[1];\nU({'(' * DEEP}0.5, 0, 0) q[0];\n", {}, (2, "expected ')'")),
    "unclosed at end": (f"qreg q[1];\nU({'(' * DEEP}\n", {}, (3, "end of the input")),
    "sums": (f"gate g(a) q {{ U({SUM}, {MINUS}a, 0) q; }}\nqreg q[1];\ng(0.001) q[0];\n"
             f"U({' + '.join(['1'] * 3000)}, 0, 0) q[0];\n", {},
             ("ok", [["u3", [0], [3.0, -0.001, 0.0]], ["u3", [0], [3000.0, 0.0, 0.0]]])),
    "huge angle": ("qreg q[1];\nU(" + "9" * 5000 + ", 0, 0) q[0];", {},
                   (2, "not a finite number")),
    "inf angle": ("qreg q[1];\nU(1e400, 0, 0) q[0];", {}, (2, "not a finite number")),
    "huge size": ("qreg q[" + "7" * 5000 + "];", {}, (1, "max_qubits")),
    "huge index": ("qreg q[1];\nU(0, 0, 0) q[" + "3" * 5000 + "];", {}, (2, "out of range")),
    "huge version": ("OPENQASM " + "2" * 5000 + ";", {}, (1, "only OpenQASM 2.0")),
    "malformed number": ("qreg q[1];\nU(0, 0, 0) q[0];\nU(" + "1" * 5000 + "x, 0, 0) q[0];",
                         {}, (3, "malformed number")),
    "long fraction": ("qreg q[1];\nU(0." + "0" * 4999 + "1, 1." + "5" * 5000 + ", 0) q[0];", {},
                      ("ok", [["u3", [0], [0.0, 1.5555555555555556, 0.0]]])),
    "division": (HEADER + "qreg q[1];\n\nrx(pi / (1 - 1)) q[0];", {}, (5, "division by zero")),
    "division in body": (HEADER + "gate g(a) q {\n  rx(pi / a) q;\n}\nqreg q[1];\ng(0) q[0];",
                         {}, (4, "called at line 7")),
    "fractional size": ("qreg q[1.5];", {}, (1, "expected an integer register size, got '1.5'")),
    "billion qubits": ("qreg q[1000000000];\nU(0, 0, 0) q;", {}, (1, "max_qubits=100,000")),
    "million raised": ("qreg q[1000000];\nU(0, 0, 0) q;",
                       {"max_qubits": 10**6, "max_operations": 10**5},
                       (2, "1,000,000 gate applications")),
    "qubits in all": ("qreg q[60000];\nqreg r[60000];", {}, (2, "100,000 qubits in all")),
    "billion bits": ("creg c[1000000000];", {}, (1, "max_qubits=100,000 bits")),
    "version 20": ("OPENQASM 20.0;", {}, (1, "only OpenQASM 2.0 is supported, got version '20.0'")),
    "qelib1 redefined": (HEADER + "gate h a { x a; }", {},
                         (3, "'h' is already defined as a gate of qelib1.inc")),
    "parameter pi": (HEADER + "gate g(pi) a { rx(pi) a; }", {},
                     (3, "expected a parameter name or ')', got 'pi'")),
    "formal qubit twice": (HEADER + "gate g a, a { cx a, a; }", {},
                           (3, "'a' is already a qubit of gate 'g'")),
    "bit out of range": (HEADER + "qreg q[2];\ncreg c[2];\nmeasure q[1] -> c[2];", {},
                         (5, "out of range for creg c[2]")),
    "unterminated in body": (HEADER + "gate g a {\n  h a;\n  x a\n}\nqreg q[1];", {},
                             (6, "expected ',' or ';'")),
    "unclosed body": (HEADER + "gate g a {\n  h a;\n", {}, (3, "is not closed")),
    "gate after measure": (HEADER + "qreg q[1];\ncreg c[1];\nmeasure q -> c;\nh q[0];", {},
                           (6, "after it was measured")),
    "if": (unsupported("if (c == 0) x q[0];"), {}, (5, "'if' is not supported")),
    "reset": (unsupported("reset q[0];"), {}, (5, "'reset' is not supported")),
    "opaque": (unsupported("opaque g a;"), {}, (5, "'opaque' gates have no definition")),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every case, run once in one fresh process; each case under its own time limit."""
    folder = tmp_path_factory.mktemp("hostile")
    jobs = []
    for k, (name, (text, limits, _)) in enumerate(CASES.items()):
        path = folder / f"case{k}.qasm"
        path.write_text(text)
        jobs.append([name, str(path), limits])
    (folder / "jobs.json").write_text(json.dumps(jobs))
    root = Path(tnq.__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(folder / "jobs.json"), str(TIMEOUT)],
                          capture_output=True, text=True, cwd=root,
                          timeout=TIMEOUT * len(CASES) + 30)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(results, name):
    out = results[name]
    expected = CASES[name][2]
    if expected[0] == "ok":
        assert out["kind"] == "ok", out
        for got, want in zip(out["ops"], expected[1], strict=True):
            assert got[:2] == want[:2] and got[2] == pytest.approx(want[2], abs=1e-12), out
    else:
        line, match = expected
        assert out["kind"] == "QasmError", out
        assert (out["line"], out["column"] is not None) == (line, True), out
        assert match in out["message"], out


def test_the_expansion_bomb_is_small_and_names_its_limit():
    text = CASES["bomb"][0]
    assert len(text) < 2048 and text.count("\n") == 43
    with pytest.raises(tnq.QasmError, match="max_operations=10,000,000"):
        tnq.from_qasm(text)


def test_doubling_gates_inside_the_limits_expand_in_full(results):
    assert len(doubling_h(22)) < 800
    assert results["doubling inside the limits"]["num_ops"] == 2**22


def test_expansion_limit_is_a_keyword():
    text = doubling_gates(10)  # 3071 applications, 1024 operations
    assert len(tnq.from_qasm(text).ops) == 1024
    with pytest.raises(tnq.QasmError, match="3,071 gate applications") as err:
        tnq.from_qasm(text, max_operations=3000)
    assert err.value.line == 13
    assert len(tnq.from_qasm(text, max_operations=3071).ops) == 1024


def test_limit_counts_the_whole_program():
    text = "qreg q[4];\n" + "U(0, 0, 0) q;\n" * 3
    assert len(tnq.from_qasm(text, max_operations=12).ops) == 12
    with pytest.raises(tnq.QasmError, match="with the 8 operations before it") as err:
        tnq.from_qasm(text, max_operations=11)
    assert err.value.line == 4


def test_qubit_limit_is_a_keyword():
    assert tnq.from_qasm("qreg q[3]; qreg r[2];", max_qubits=5).num_qubits == 5
    with pytest.raises(tnq.QasmError, match="max_qubits=4"):
        tnq.from_qasm("qreg q[3]; qreg r[2];", max_qubits=4)
    for bad in (1.5, -1, True, "10"):
        with pytest.raises(tnq.QasmError, match="must be a non-negative integer"):
            tnq.from_qasm("", max_qubits=bad)
    with pytest.raises(tnq.QasmError, match="above the most qubits a tnq circuit may have"):
        tnq.from_qasm("", max_qubits=10**9)


def test_final_measurements_are_ignored():
    c = tnq.from_qasm(HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\nmeasure q -> c;\n"
                      "measure q[0] -> c[1];\nbarrier q;")
    assert [str(op) for op in c.ops] == ["h q0"]


def test_measurements_count_towards_the_limit():
    text = "qreg q[3];\ncreg c[3];\nmeasure q -> c;\nmeasure q -> c;"
    tnq.from_qasm(text, max_operations=6)
    with pytest.raises(tnq.QasmError, match="max_operations=5") as err:
        tnq.from_qasm(text, max_operations=5)
    assert err.value.line == 4


# ------------------------------------------------------------- random input
TOKENS = ["OPENQASM", "2.0", "include", '"qelib1.inc"', "'qelib1.inc'", "qreg", "creg", "gate",
          "opaque", "measure", "reset", "barrier", "if", "pi", "sin", "ln", "sqrt", "U", "CX",
          "h", "cx", "rx", "u0", "q", "c", "a", "g", "0", "1", "2", "1.5", ".5", "1e3", "00",
          "1e", "9" * 30, "1e400", ";", ",", "(", ")", "[", "]", "{", "}", "->", "==", "+", "-",
          "*", "/", "^", "=", "$", "\u00e9", "\x00", "_a", "Q", "/*", "//c\n", "\n", '"x',
          "qreg q[2];", "creg c[2];", "gate g(a) b { U(a, 0, 0) b; }", "g(pi) q[0];",
          "cx q[0], q[1];", "U(0, 0, 0) q;", "measure q -> c;", 'include "qelib1.inc";']


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from(["", " ", "\n"]))
def test_random_token_streams_parse_or_raise_qasm_error(tokens, sep):
    text = sep.join(tokens)
    try:
        circuit = tnq.from_qasm(text)
    except tnq.QasmError as exc:
        assert exc.line is not None and exc.column is not None
    else:
        assert isinstance(circuit, tnq.Circuit)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("qgcU (),;[]{}01.e+-*/^->=\"'/\nabx")),
               max_size=60))
def test_random_characters_parse_or_raise_qasm_error(text):
    try:
        tnq.from_qasm('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2];\n' + text)
    except tnq.QasmError as exc:
        assert exc.line is not None and exc.column is not None
