"""tnq reads OpenQASM 2 as Qiskit's parser (``qiskit.qasm2``) reads it.

The kinds of cases follow Qiskit's own parser tests (structure, scoping, typing,
broadcasting, expressions, lexing), written afresh here. Valid programs are
compared with Qiskit's reading of the same text: the unitary, or the operations
and their parameters. Invalid programs raise a QasmError with a line and column.

Deliberate differences, each tested below: ``if``, ``reset`` and ``opaque`` are
refused (tnq simulates unitary circuits), a gate after a measurement of its
qubit is refused, angles must be finite, a broadcast with an empty register
applies nothing (Qiskit accepts the same statements, but where a non-empty
register follows the empty one it applies the gate to qubits past the empty
register's end), and ``include "qelib1.inc"`` defines
all 43 gates of the qelib1.inc file that Qiskit ships (``p``, ``sx``, ``rxx``,
``u0``, ...; Qiskit's reader keeps the original 23 and adds the others only
through ``LEGACY_CUSTOM_INSTRUCTIONS``).
"""

import math
import re
import sys
from importlib import resources

import numpy as np
import pytest

import tnq

from . import reference as ref

qiskit = pytest.importorskip("qiskit")
from qiskit import qasm2  # noqa: E402
from qiskit.quantum_info import Operator  # noqa: E402

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
ORIGINAL_QELIB1 = ("u3 u2 u1 cx id x y z h s sdg t tdg rx ry rz cz cy ch ccx crz cu1 "
                   "cu3").split()
CALLS = {
    "u3": "u3(0.3, 0.2, 0.1) q[0];", "u2": "u2(0.3, 0.2) q[0];", "u1": "u1(0.3) q[0];",
    "cx": "cx q[0], q[1];", "id": "id q[0];", "x": "x q[0];", "y": "y q[0];", "z": "z q[0];",
    "h": "h q[0];", "s": "s q[0];", "sdg": "sdg q[0];", "t": "t q[0];", "tdg": "tdg q[0];",
    "rx": "rx(0.3) q[0];", "ry": "ry(0.3) q[0];", "rz": "rz(0.3) q[0];", "cz": "cz q[0], q[1];",
    "cy": "cy q[0], q[1];", "ch": "ch q[1], q[0];", "ccx": "ccx q[0], q[1], q[2];",
    "crz": "crz(0.3) q[1], q[0];", "cu1": "cu1(0.3) q[0], q[1];",
    "cu3": "cu3(0.3, 0.2, 0.1) q[0], q[1];", "u0": "u0(2) q[0];", "u": "u(0.3, 0.2, 0.1) q[0];",
    "p": "p(0.3) q[0];", "sx": "sx q[0];", "sxdg": "sxdg q[0];", "swap": "swap q[0], q[2];",
    "cswap": "cswap q[0], q[1], q[2];", "crx": "crx(0.3) q[0], q[1];",
    "cry": "cry(0.3) q[0], q[1];", "cp": "cp(0.3) q[0], q[1];", "csx": "csx q[0], q[1];",
    "cu": "cu(0.3, 0.2, 0.1, 0.4) q[0], q[1];", "rxx": "rxx(0.3) q[0], q[1];",
    "rzz": "rzz(0.3) q[0], q[1];", "rccx": "rccx q[0], q[1], q[2];",
    "rc3x": "rc3x q[0], q[1], q[2], q[3];", "c3x": "c3x q[3], q[1], q[2], q[0];",
    "c3sqrtx": "c3sqrtx q[0], q[1], q[2], q[3];", "c4x": "c4x q[0], q[1], q[2], q[3], q[4];",
}


# ----------------------------------------------------------------- helpers
def unitary(circuit: tnq.Circuit) -> np.ndarray:
    """The circuit's dense unitary (qubit 0 most significant)."""
    steps = [(tnq.gate_matrix(op.name, *op.params), list(op.qubits)) for op in circuit.ops]
    return ref.seq(circuit.num_qubits, steps)


def qiskit_unitary(text: str, *, legacy: bool = False) -> np.ndarray:
    """Qiskit's unitary of ``text``, with the qubit order reversed to tnq's."""
    custom = qasm2.LEGACY_CUSTOM_INSTRUCTIONS if legacy else ()
    qc = qasm2.loads(text, custom_instructions=custom)
    n = qc.num_qubits
    order = list(range(n - 1, -1, -1))
    data = Operator(qc).data.reshape((2,) * 2 * n)
    return data.transpose(order + [n + k for k in order]).reshape(2**n, 2**n)


def assert_matches_qiskit(text: str, *, legacy: bool = False, up_to_phase: bool = False):
    ours, theirs = unitary(tnq.from_qasm(text)), qiskit_unitary(text, legacy=legacy)
    if up_to_phase:
        k = np.argmax(np.abs(theirs))
        ours = ours * (theirs.flat[k] / ours.flat[k])
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


def qiskit_params(text: str) -> list[list[float]]:
    return [[float(p) for p in inst.operation.params] for inst in qasm2.loads(text).data]


def tnq_params(text: str) -> list[list[float]]:
    return [list(op.params) for op in tnq.from_qasm(text).ops]


def refused(text: str, match: str, line: int | None = None,
            column: int | None = None) -> tnq.QasmError:
    with pytest.raises(tnq.QasmError, match=re.escape(match)) as err:
        tnq.from_qasm(text)
    assert err.value.line is not None and err.value.column is not None
    if line is not None:
        assert (err.value.line, err.value.column) == (line, column)
    return err.value


def qelib1_text() -> str:
    """The qelib1.inc that Qiskit ships, read at test time."""
    path = resources.files("qiskit") / "qasm" / "libs" / "qelib1.inc"
    if not path.is_file():
        pytest.skip("this Qiskit does not ship qelib1.inc")
    return path.read_text()


# ------------------------------------------------------ built-ins and qelib1
def test_builtin_u_is_qiskits_u_exactly():
    assert_matches_qiskit("qreg q[2];\nU(0.3, -0.7, 1.9) q[0];\nCX q[0], q[1];\nU(2, 1, 0) q[1];")


@pytest.mark.parametrize("gate", ORIGINAL_QELIB1)
def test_original_qelib1_gates_match_qiskit(gate):
    assert_matches_qiskit(HEADER + "qreg q[3];\nh q[0];\nh q[1];\n" + CALLS[gate])


@pytest.mark.parametrize("gate", sorted(set(CALLS) - set(ORIGINAL_QELIB1)))
def test_later_qelib1_gates_match_qiskits_legacy_instructions(gate):
    assert_matches_qiskit(HEADER + "qreg q[5];\nh q[0];\nh q[1];\nh q[3];\n" + CALLS[gate],
                          legacy=True)


def test_qelib1_has_the_gates_of_the_shipped_file():
    defined = {line.split()[1].split("(")[0] for line in qelib1_text().splitlines()
               if line.startswith("gate ")}
    assert defined == set(tnq.qasm.QELIB1) == set(CALLS)


def test_pasted_qelib1_works_and_gives_the_included_unitaries():
    program = "qreg q[5];\nh q[0];\nh q[1];\nh q[3];\n" + "\n".join(CALLS.values())
    pasted = "OPENQASM 2.0;\n" + qelib1_text() + "\n" + program
    assert_matches_qiskit(pasted)  # Qiskit reads the pasted text as user definitions
    included = unitary(tnq.from_qasm(HEADER + program))
    ours = unitary(tnq.from_qasm(pasted))
    k = np.argmax(np.abs(included))
    np.testing.assert_allclose(ours * (included.flat[k] / ours.flat[k]), included, atol=1e-10)


def test_user_u3_and_cx_do_not_replace_the_builtins():
    text = """
        gate u3(a, b, c) q { U(a, b, c) q; U(c, b, a) q; }
        gate cx a, b { U(pi / 2, 0, pi) b; CX a, b; }
        qreg q[2];
        U(0.1, 0.2, 0.3) q[0];
        u3(0.4, 0.5, 0.6) q[1];
        cx q[0], q[1];
        CX q[1], q[0];
    """
    assert_matches_qiskit(text)
    assert [op.name for op in tnq.from_qasm(text).ops] == ["u3", "u3", "u3", "u3", "cx", "cx"]


def test_definitions_through_the_builtins_like_qelib1():
    text = ("gate cx c, t { CX c, t; }\ngate u3(theta, phi, lambda) q { U(theta, phi, lambda) q; }"
            "\ngate h a { u3(pi / 2, 0, pi) a; }\nqreg q[2];\nh q[0];\ncx q[0], q[1];")
    assert_matches_qiskit(text)
    np.testing.assert_allclose(tnq.state(tnq.from_qasm(text)),
                               [2**-0.5, 0, 0, 2**-0.5], atol=1e-12)


# --------------------------------------------------------------- structure
@pytest.mark.parametrize("text", [
    "", "// nothing but a comment", "// a comment\r\n\t", "OPENQASM 2.0;", "OPENQASM 2;",
    "barrier;", "creg c[3];", "qreg q[0]; creg c[0];",
])
def test_programs_without_qubits_are_empty_circuits(text):
    circuit = tnq.from_qasm(text)
    assert (circuit.num_qubits, len(circuit.ops)) == (0, 0) == (qasm2.loads(text).num_qubits, 0)


@pytest.mark.parametrize("text", [
    "qreg q1[2]; qreg q2[1]; qreg q3[4]; CX q1[1], q3[3]; U(1, 2, 3) q2[0];",
    "qreg a[3]; creg c1[2]; qreg b[1]; creg c2[1]; CX a[2], b[0];",
    "qreg before[2]; CX before[0], before[1]; qreg after[2]; CX after[1], before[0];",
    "qreg q[2]; U(0.5, 0.25, 0.125) q;",
    "qreg q1[2]; qreg q2[2]; CX q1[0], q2; barrier; CX q1, q2[1]; barrier; CX q1, q2;",
    HEADER + "qreg a[2]; qreg b[2]; qreg c[2]; ccx a, b[0], c[1]; ccx a[1], b, c[0]; "
             "ccx a[0], b[1], c; ccx a, b, c[1]; ccx a[1], b, c; ccx a, b[1], c; ccx a, b, c;",
    HEADER + "qreg q1[1]; qreg q2[1]; qreg e1[0]; qreg e2[0]; h q1; h e1; cx q1[0], e1; "
             "cx e1, q2[0]; cx e1, e2; ccx e1, q1[0], q2[0]; ccx q1[0], q2[0], e2;",
    "qreg q[2]; CX q[0], q[1]; CX() q[1], q[0];",
    "gate my_gate a { U(0, 0, 0) a; } qreg q[2]; my_gate q[0]; my_gate q;",
])
def test_registers_and_broadcasting_match_qiskit(text):
    assert_matches_qiskit(text)


def test_broadcast_order_and_qubit_layout():
    c = tnq.from_qasm("qreg a[2]; qreg b[2]; CX a, b; CX a[1], b; U(0, 0, 0) b;")
    assert [(op.name, op.qubits) for op in c.ops] == [
        ("cx", (0, 2)), ("cx", (1, 3)), ("cx", (1, 2)), ("cx", (1, 3)),
        ("u3", (2,)), ("u3", (3,))]


@pytest.mark.parametrize("text", [
    "gate not_bell a, b { U(0, 0, 0) a; CX a, b; } qreg q[2]; not_bell q[0], q[1];",
    "gate bell a, b { U(pi / 2, 0, pi) a; CX a, b; } qreg q[2]; bell q[1], q[0];",
    "gate g(a, b) c { U(a, b, a + 2 * b) c; } qreg q[1]; g(0.25, 0.5) q[0]; g(0.5, 0.25) q[0];",
    "gate g() a { U(0.5, 0, 0) a; } qreg q[1]; g q[0]; g() q[0];",
    HEADER + "gate bell a, b { h a; cx a, b; } qreg q[2]; bell q[0], q[1];",
    HEADER + "gate bell a, b { h a; cx a, b; } gate twice a, b { bell b, a; bell a, b; } "
             "qreg q[2]; twice q[0], q[1];",
    HEADER + "gate bell h, cx { h h; cx h, cx; } qreg q[2]; bell q[0], q[1];",
    HEADER + "gate shadow(rx, rz) a { rz(rz) a; rx(rx) a; } qreg q[1]; shadow(0.5, 2.0) q[0];",
    "gate g(p) q { U(0, 0, 0) q; } qreg q[1]; g(0.5) q[0];",
    "gate g a, b { barrier a; barrier b; barrier a, b; barrier; barrier b, a, b; U(1, 0, 0) a; } "
    "qreg q[2]; g q[0], q[1];",
    "gate bell a, b { U(pi / 2, 0, pi) a; CX a, b; } include \"qelib1.inc\"; "
    "qreg q[2]; bell q[0], q[1]; rx(0.5) q[0]; bell q[1], q[0];",
    HEADER + "qreg qr[1]; gate g(a) q { rz(a) q; rx(pi / 2) q; rz(-a) q; } g(1.0) qr[0];",
])
def test_gate_definitions_match_qiskit(text):
    assert_matches_qiskit(text)


def test_terrible_formatting():
    text = """
        OPENQASM   // the version comes next

        2.0//squeezed
        ;
        include // a file
        "qelib1.inc" // this one
        ; gate // a gate
        bell( // no parameters, loose ( in a comment
        ) a,//
    b{h a;cx a //,,,
    ,b;}qreg // a register
        q
        [ // a bracket


        2];bell q[0],//
    q[1];creg c[2];measure q->c;"""
    assert [str(op) for op in tnq.from_qasm(text).ops] == ["h q0", "cx q0, q1"]
    assert_matches_qiskit(text.replace("measure q->c;", ""))


@pytest.mark.parametrize("text", [
    HEADER + "qreg q[2]; barrier; h q[0];",
    HEADER + ";;; qreg q[2];; h q[0];",
    HEADER + "gate g a { h a; }; qreg q[1]; g q[0];",
    HEADER + "qreg q[2]; cu3(0.5, 0.25, 0.125,) q[0], q[1],;",
    HEADER + "gate g(p0, p1,) q0, q1, { rx(p0) q0; cx q0, q1,; } qreg q[2]; g(1, 2,) q[0], q[1];",
    HEADER + "qreg q[2]; barrier q[0], q[1],; rx(sin(pi / 2,)) q[0];",
    "OPENQASM 2.0;\ninclude 'qelib1.inc';\nqreg q[1];\nh q[0];",
    "OPENQASM 2;\nqreg q[1];\nU(1, 2, 3) q[0];",
    HEADER + "qreg q[2]; qreg e[0]; barrier e; barrier q, e; barrier q, q; barrier q[0], q;",
])
def test_leniencies_match_qiskit(text):
    assert_matches_qiskit(text.replace("'qelib1.inc'", '"qelib1.inc"'))
    assert tnq.from_qasm(text).num_qubits == qasm2.loads(text).num_qubits


def test_u0_is_an_identity():
    c = tnq.from_qasm(HEADER + "qreg q[1];\nu0(3) q[0];\nx q[0];")
    assert [op.name for op in c.ops] == ["id", "x"]


# ------------------------------------------------------------- expressions
@pytest.mark.parametrize("expr", [
    "4 + 3 * 2 ^ 2", "cos(pi) * (1 - ln(1))", "2 ^ 3 ^ 2", "-(0.5 + 0.5)", "+(+1 - 2)",
    "-+-+2", "1.0 + 2.0 * -3.0 ^ 1.5 - 0.5 / +0.25", "(1.0 + 2.0) + 3.0", "(4.0 / 2.0) * 3.0",
    "2.0 - 1.0 - 1.0", "4.0 / 2.0 / 2.0", "2 * -3 ^ 2", "-2 ^ 2", "2 ^ -2 ^ 2",
    f"1 + {sys.float_info.epsilon / 2} + {sys.float_info.epsilon / 2}",
    f"{sys.float_info.epsilon / 2} + {sys.float_info.epsilon / 2} + 1",
    f"{sys.float_info.max} * 0.5 * 2.0", f"{1 << 200} * 2.0", f"-{1 << 200}",
    "sin(0.5)", "cos(1.0)", "tan(pi)", "exp(0.5)", "ln(2)", "sqrt(2)", "tan(pi / 2)",
    "0.25", "00.25", "2.5e-1", "2.5e-01", "0.025E+1", ".25", ".025e1", "25e-2", "1.", "1e-400",
    *(f"0.25 {op} 0.5" for op in "+-*/^"), *(f"3.2 {op} -0.8" for op in "+-*/^"),
])
def test_constant_expressions_match_qiskit_bit_for_bit(expr):
    text = f"qreg q[1];\nU({expr}, 0, 0) q[0];"
    assert tnq_params(text) == qiskit_params(text)


@pytest.mark.parametrize("body, values", [
    ("U(-(a + a), +(+b - c), -+-+c) q;", (0.5, 1.0, 2.0)),
    *((f"U(a {op} b, a {op} (b {op} c), 0) q;", (1.0, 2.0, 3.0)) for op in "+-*/^"),
    *((f"U({f}(a), {f}(b), {f}(c)) q;", (0.5, 1.0, math.pi))
      for f in ("sin", "cos", "tan", "exp", "ln", "sqrt")),
])
def test_expressions_of_parameters_match_qiskit(body, values):
    args = ", ".join(map(repr, values))
    text = f"gate g(a, b, c) q {{ {body} }}\nqreg q[1];\ng({args}) q[0];"
    got = tnq_params(text)[0]
    inner = qasm2.loads(text).data[0].operation.definition.data[0].operation
    want = [float(p) for p in inner.params]
    assert got == pytest.approx(want, rel=1e-15, abs=1e-15)


def test_very_deep_expressions():
    minus = "-" * 100_000
    nested = "1.0+(" * 20_000 + "1.0" + ")" * 20_000
    text = f"qreg q[1];\nU({minus}2.0, -{minus}2.0, {nested}) q[0];"
    assert tnq_params(text) == [[2.0, -2.0, 20_001.0]]


@pytest.mark.parametrize("expr, match", [
    ("2.0 / 0.0", "division by zero"), ("2.0 / (1.0 - 1.0)", "division by zero"),
    ("ln(0.0)", "ln of a non-positive"), ("ln(2.0 - 3.0)", "ln of a non-positive"),
    ("sqrt(-2.0)", "sqrt of a negative"), ("sqrt(2.0 - 3.0)", "sqrt of a negative"),
    ("*1.0", "not a unary operator"), ("/1.0", "not a unary operator"),
    ("^1.0", "not a unary operator"), ("1.0 +", "expected an expression"),
    ("(1.0 *)", "expected an expression"), ("(1 + 1 2)", "expected ')'"),
    ("sin()", "expected an expression, got ')'"), ("sin 1", "expected '(' after the function"),
    ("sin(1, 2)", "expected ')'"), ("2 + .", "unexpected character '.'"), ("a", "unknown"),
    ("1e400", "not a finite number"), (f"{sys.float_info.max} * 2.0", "not a finite number"),
    ("(-8) ^ (1 / 3)", "no finite value"), ("exp(1000)", "no finite value"),
])
def test_bad_expressions(expr, match):
    err = refused(f"qreg q[1];\nU({expr}, 0, 0) q[0];", match)
    assert err.line == 2


@pytest.mark.parametrize("expr, match", [
    ("a / 0.0", "division by zero"), ("a + ln(0.0)", "ln of a non-positive"),
    ("a + sqrt(-2.0)", "sqrt of a negative"), ("a + b", "unknown parameter 'b' in gate 'g'"),
    ("q", "'q' is a qubit of gate 'g', not a parameter"),
])
def test_bad_expressions_in_definitions_are_refused_where_written(expr, match):
    err = refused(f"gate g(a) q {{\n  U({expr}, 0, 0) q;\n}}", match)
    assert err.line == 2


# ------------------------------------------------------------- bad programs
PRELUDE = "OPENQASM 2.0; qreg q[5]; creg c[5]; creg cond[1];"
TOKENS = ["OPENQASM", "barrier", "creg", "gate", "if", "include", "measure", "opaque", "qreg",
          "reset", "pi", "->", "==", ";", ",", "(", ")", "[", "]", "{", "}", "q", "1.5", "1",
          '"qelib1.inc"']
PREFIXES = [
    "", "OPENQASM", "OPENQASM 2.0", "include", 'include "qelib1.inc"', "gate", "gate g",
    "gate g (", "gate g (a", "gate g (a,", "gate g (a, b)", "gate g (a, b) x",
    "gate g (a, b) x,", "gate g x {", "gate g x { U", "gate g x { U(0, 0, 0)",
    "gate g x { U(0, 0, 0) x", "qreg", "qreg r", "qreg r[", "qreg r[5", "qreg r[5]", "creg",
    "creg r", "creg r[", "creg r[5", "creg r[5]", "CX", "CX(", "CX()", "CX q", "CX q[", "CX q[0",
    "CX q[0]", "CX q[0],", "CX q[0], q", "U(0", "U(0, 0, 0) q[0]", "measure", "measure q",
    "measure q[", "measure q[0", "measure q[0]", "measure q[0] ->", "measure q[0] -> c",
    "measure q[0] -> c[", "measure q[0] -> c[0", "measure q[0] -> c[0]", "barrier",
    "barrier q", "barrier q[", "barrier q[0", "barrier q[0]", "opaque", "reset", "if",
]


def test_every_token_qiskit_refuses_after_a_prefix_is_refused():
    wrong = []
    for prefix in PREFIXES:
        for token in TOKENS:
            text = ("" if prefix.startswith("OPENQASM") else PRELUDE) + f" {prefix} {token}"
            try:
                qasm2.loads(text)
                continue
            except qasm2.QASM2ParseError:
                pass
            try:
                tnq.from_qasm(text)
                wrong.append((text, "accepted"))
            except tnq.QasmError as exc:
                if exc.line is None or exc.column is None:
                    wrong.append((text, str(exc)))
    assert not wrong


@pytest.mark.parametrize("statement", [
    "OPENQASM 2.0;", 'include "qelib1.inc";', "gate g(a, b) x, y { U(a, b, 0) x; CX x, y; }",
    "qreg r[5];", "creg r[5];", "CX() q[0], q[1];", "U(1, 2, 3) q[0];",
    "measure q[0] -> c[0];", "barrier q;",
])
def test_every_unfinished_statement_ends_with_an_error_at_the_end(statement):
    tokens = tnq.qasm_lexer.Lexer(statement)
    ends = []
    while (tok := tokens.next())[0] != "eof":
        ends.append(tok[3])
    for end in ends[:-1]:
        prelude = "" if statement.startswith("OPENQASM") else PRELUDE + "\n"
        refused(prelude + statement[:end], "end of the input")


@pytest.mark.parametrize("text, line, column, match", [
    # versions
    ("OPENQASM 3.0;", 1, 10, "only OpenQASM 2.0 is supported, got version '3.0'"),
    ("OPENQASM 2.1;", 1, 10, "only OpenQASM 2.0"),
    ("OPENQASM 20.e-1;", 1, 10, "only OpenQASM 2.0"),
    ("qreg q[1];\nOPENQASM 2.0;", 2, 1, "must come first"),
    # scoping: define before use, never redefine
    ("CX after[0], after[1]; qreg after[2];", 1, 4, "quantum register 'after' is not defined"),
    ("qreg q[2];\nmeasure q[0] -> c[0];\ncreg c[2];", 2, 17, "'c' is not defined"),
    ("OPENQASM 2.0;\nqreg q[2];\ncx q[0], q[1];", 3, 1, "'cx' is not defined; it needs include"),
    ("qreg q[2];\ncx q[0], q[1];\ngate cx a, b { CX a, b; }", 2, 1, "'cx' is not defined"),
    ("gate cx a, b {\n  cx a, b;\n}", 2, 3, "a gate cannot call itself"),
    ("gate cx a, b { CX a, b; }\ngate other c { CX a, b; }", 2, 19, "'a' is not a qubit"),
    ("gate f(a, b) q { U(a, 0, b) q; }\ngate s q { U(a, 0, b) q; }", 2, 14,
     "unknown parameter 'a' in gate 's'"),
    ("qreg q[2];\ngate g a { CX a, q; }", 2, 18, "'q' is not a qubit of gate 'g'"),
    ("gate g(a) q { }\nqreg r[2];\nU(a, 0, 0) r;", 3, 3, "unknown parameter 'a'"),
    ("gate g(a) q { }\nU(0, 0, 0) q;", 2, 12, "quantum register 'q' is not defined"),
    ('include "qelib1.inc";\ngate h q { }', 2, 6, "'h' is already defined as a gate of qelib1"),
    ("gate h q { }\ngate h q { }", 2, 6, "'h' is already defined as a gate at line 1"),
    ('gate h q { }\ninclude "qelib1.inc";', 2, 1, "qelib1.inc defines it too"),
    ('include "qelib1.inc";\ninclude "qelib1.inc";', 2, 1, "already included"),
    ("qreg r[2];\nqreg r[2];", 2, 6, "'r' is already defined as a quantum register"),
    ("creg r[2];\nqreg r[2];", 2, 6, "'r' is already defined as a classical register"),
    ("gate r a { }\ncreg r[2];", 2, 6, "'r' is already defined as a gate"),
    ("qreg r[2];\ngate r a { }", 2, 6, "'r' is already defined"),
    ("gate U(a, b, c) q { }", 1, 6, "'U' is already defined as a built-in gate"),
    ("gate CX a, b { }", 1, 6, "'CX' is already defined as a built-in gate"),
    ("qreg CX[2];", 1, 6, "'CX' is already defined"),
    # typing: each name used as what it is
    ("qreg q[2];\nCX q[0], U;", 2, 10, "'U' is defined as a built-in gate, not as a quantum"),
    ("qreg q[2];\ncreg c[2];\nmeasure U -> c[0];", 3, 9, "not as a quantum register"),
    ("qreg q[2];\ncreg c[2];\nmeasure q[0] -> U;", 3, 17, "not as a classical register"),
    ("qreg q[2];\nbarrier U;", 2, 9, "not as a quantum register"),
    ("gate g a { U(0, 0, 0) U; }", 1, 23, "'U' is not a qubit of gate 'g'"),
    ("qreg q[2];\ncreg c[2];\nmeasure q[0] -> q[1];", 3, 17, "'q' is defined as a quantum"),
    ("qreg q[2];\nq q[0], q[1];", 2, 1, "'q' is defined as a quantum register at line 1, not as"),
    ("qreg q[2];\ncreg c[2];\nCX q[0], c[1];", 3, 10, "'c' is defined as a classical register"),
    ("qreg q[2];\ncreg c[2];\nmeasure c[0] -> c[1];", 3, 9, "not as a quantum register"),
    ("qreg q[2];\ncreg c[2];\nbarrier c[0];", 3, 9, "not as a quantum register"),
    ("qreg q[2];\ncreg c[2];\nc q[0], q[1];", 3, 1, "not as a gate"),
    ("gate g(p) q { CX p, q; }", 1, 18, "'p' is a parameter of gate 'g', not a qubit"),
    ("gate g(p) q { U(q, q, q) q; }", 1, 17, "'q' is a qubit of gate 'g', not a parameter"),
    ('include "qelib1.inc"; qreg q[5];\nh;', 2, 2, "expected a qubit"),
    ('include "qelib1.inc"; qreg q[5];\nh q[0], q[1];', 2, 1, "takes 0 parameters and 1 qubit"),
    ("qreg q[5];\nCX q[0];", 2, 1, "takes 0 parameters and 2 qubits, got 0 parameters and 1"),
    ("qreg q[5];\nCX q[0], q[1], q[2];", 2, 1, "got 0 parameters and 3 qubits"),
    ('include "qelib1.inc"; qreg q[5];\nccx q[0], q[1];', 2, 1, "takes 0 parameters and 3"),
    ("qreg q[5];\nU(0, 0) q[0];", 2, 1, "takes 3 parameters and 1 qubit, got 2 parameters"),
    ("qreg q[5];\nU(0, 0, 0, 0) q[0];", 2, 1, "got 4 parameters"),
    ('include "qelib1.inc"; qreg q[5];\nrx q[0];', 2, 1, "takes 1 parameter and 1 qubit, got 0"),
    ('include "qelib1.inc"; qreg q[5];\nu3(0) q[0];', 2, 1, "takes 3 parameters"),
    # definitions
    ("gate zero { }", 1, 6, "must act on at least one qubit"),
    ("gate zero(a) { }", 1, 6, "must act on at least one qubit"),
    ("gate g a {\n  CX a[0], a[1];\n}", 2, 7, "cannot be indexed"),
    ("gate g(a, a) q { }", 1, 11, "'a' is already a parameter of gate 'g'"),
    ("gate g a, a { }", 1, 11, "'a' is already a qubit of gate 'g'"),
    ("gate g(a) a { }", 1, 11, "'a' is already a parameter of gate 'g'"),
    ("creg c[5];\ngate g q { measure q -> c; }", 2, 12, "only gate applications and barriers"),
    ("gate g q { reset q; }", 1, 12, "only gate applications and barriers"),
    ("creg c[5];\ngate g q { if (c == 0) U(0, 0, 0) q; }", 2, 12, "got 'if'"),
    ("gate g q { gate h q { } }", 1, 12, "got 'gate'"),
    ("gate g q { creg c[1]; }", 1, 12, "got 'creg'"),
    ("gate g q { U(0, 0, 0) q }", 1, 25, "expected ',' or ';' after a qubit, got '}'"),
    ("gate g q { U(0, 0, 0) q;", 1, 6, "not closed"),
    # bits: ranges, duplicates, broadcasting
    ("qreg q[2];\nU(0, 0, 0) q[2];", 2, 14, "index 2 is out of range for qreg q[2]"),
    ("qreg q[2];\ncreg c[2];\nmeasure q[2] -> c[0];", 3, 11, "out of range for qreg q[2]"),
    ("qreg q[2];\ncreg c[2];\nmeasure q[0] -> c[2];", 3, 19, "out of range for creg c[2]"),
    ("qreg q[2];\nU(0, 0, 0) q[-1];", 2, 14, "expected an integer index, got '-'"),
    ("qreg q[2];\nU(0, 0, 0) q[1.0];", 2, 14, "expected an integer index, got '1.0'"),
])
def test_errors_name_line_and_column(text, line, column, match):
    refused(text, match, line, column)


@pytest.mark.parametrize("call", [
    "CX q1[0], q1[0];", "CX q1, q1[0];", "CX q1[0], q1;", "CX q1, q1;",
    "ccx q1[0], q1[1], q1[0];", "ccx q2, q1, q2[0];",
])
def test_duplicate_qubits(call):
    refused(HEADER + "qreg q1[3];\nqreg q2[3];\nqreg q3[3];\n" + call, "qubit repeated", 6, 1)


@pytest.mark.parametrize("registers, call", [
    (("q1[1]", "q2[2]"), "CX q1, q2"), (("q1[1]", "q2[2]"), "CX q2, q1"),
    (("q1[3]", "q2[2]"), "CX q1, q2"), (("q1[2]", "q2[3]", "q3[3]"), "ccx q1, q2, q3"),
    (("q1[2]", "q2[3]", "q3[3]"), "ccx q3, q1, q2"),
    (("q1[2]", "q2[3]", "q3[3]"), "ccx q1, q2[0], q3"),
    (("q1[2]", "q2[3]", "q3[3]"), "ccx q2[0], q3, q1"),
])
def test_broadcast_sizes_must_agree(registers, call):
    text = HEADER + "".join(f"qreg {r};\n" for r in registers) + call + ";"
    with pytest.raises(qasm2.QASM2ParseError, match="broadcast"):
        qasm2.loads(text)
    refused(text, "registers of different sizes", 3 + len(registers), 1)


@pytest.mark.parametrize("registers, call", [
    (("e[0]", "a[1]"), "cx e, a"), (("e[0]", "a[2]", "b[2]"), "ccx e, a, b"),
    (("e[0]", "f[0]"), "cx e, f"), (("e[0]", "a[3]"), "ccx e, a[0], a[1]"),
    (("e[0]",), "cx e, e"), (("e[0]", "f[0]", "a[2]"), "ccx e, f, a"),
    (("e[0]", "a[1]"), "pair e, a"),
])
def test_an_empty_register_before_the_others_applies_nothing(registers, call):
    text = (HEADER + "gate pair x, y { cx x, y; }\n"
            + "".join(f"qreg {r};\n" for r in registers) + call + ";\nbarrier;")
    qasm2.loads(text)  # Qiskit's rule: the size before may be 0, or must be the same
    assert tnq.from_qasm(text).ops == ()


@pytest.mark.parametrize("registers, call", [
    (("e[0]", "a[1]"), "cx a, e"), (("e[0]", "a[2]", "b[2]"), "ccx a, e, b"),
    (("e[0]", "a[2]", "b[2]"), "ccx a, b, e"), (("e[0]", "a[2]", "b[3]"), "ccx e, a, b"),
])
def test_an_empty_register_after_another_is_refused(registers, call):
    text = HEADER + "".join(f"qreg {r};\n" for r in registers) + call + ";"
    with pytest.raises(qasm2.QASM2ParseError, match="broadcast"):
        qasm2.loads(text)
    refused(text, "registers of different sizes", 3 + len(registers), 1)


@pytest.mark.parametrize("setup, operands", [
    ("qreg q[2]; creg c[2];", "q[0] -> c"), ("qreg q[2]; creg c[2];", "q -> c[0]"),
    ("qreg q[1]; creg c[2];", "q -> c[0]"), ("qreg q[2]; creg c[1];", "q[0] -> c"),
    ("qreg q[2]; creg c[3];", "q -> c"),
])
def test_measure_sizes_must_agree(setup, operands):
    refused(f"{setup}\nmeasure {operands};", "measure needs a qubit and a bit", 2, 1)


@pytest.mark.parametrize("text, column, match", [
    ("\xff", 1, "unexpected character"), ("qreg \xff", 6, "unexpected character"),
    (".\xff", 1, "unexpected character"), ("0123", 1, "leading zeros"),
    ("qreg q[00];", 8, "leading zeros"), ("12.34e", 1, "malformed number"),
    ("12.34e+", 1, "malformed number"), ("Qubit", 1, "identifiers start with a lowercase"),
    ("qreg _q[1];", 6, "identifiers start with a lowercase"),
    ('include "qelib1.inc', 9, "unterminated string"), ('include "qe\nlib1.inc";', 9,
                                                          "unterminated string"),
    ("OPENQASM 2a;", 10, "malformed number"), ("OPENQASM 2.0a;", 10, "malformed number"),
    ("OPENQASM .5a;", 10, "malformed number"), ("qreg q[2a];", 8, "malformed number"),
    ("qreg q[1]; U(2.0a, 0, 0) q[0];", 14, "malformed number"),
    ("if (a = 2) U(0, 0, 0) q[0];", 1, "'if' is not supported"),
    ("qreg q[1]; U(2 + ., 0, 0) q[0];", 18, "unexpected character '.'"),
    ("!", 1, "unexpected character '!'"), ("/* block */", 1, "expected a statement, got '/'"),
    ('include "other.inc";', 9, 'only "qelib1.inc" is available'),
])
def test_lexical_errors(text, column, match):
    refused(text, match, 2 if "\n" in text and "qe\n" not in text else 1, column)


# ---------------------------------------------------- deliberate differences
@pytest.mark.parametrize("text, match", [
    ("qreg q[1];\ncreg c[1];\nif (c == 0) U(0, 0, 0) q[0];", "'if' is not supported"),
    ("qreg q[1];\nreset q[0];", "'reset' is not supported"),
    ("opaque g a;\nqreg q[1];\ng q[0];", "'opaque' gates have no definition"),
    ("qreg q[1];\ncreg c[1];\nmeasure q -> c;\nU(0, 0, 0) q[0];", "after it was measured"),
    ("qreg q[1];\nU(1e400, 0, 0) q[0];", "not a finite number"),
])
def test_what_qiskit_reads_but_tnq_refuses(text, match):
    qasm2.loads(text)
    refused(text, match)
