import re
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tnq

from . import reference as ref
from .strategies import circuits

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def test_gate_definitions_expressions_and_registers():
    c = tnq.from_qasm(HEADER + """
qreg a[2]; qreg b[1]; creg c[3];
gate rot(t, p) x, y { rx(t * 2 - pi/4) x; cp(-p^2) x, y; barrier x, y; }
gate outer(t) x, y, z { rot(t, sin(t) / 2) x, z; h y; }
outer(0.3) a[0], a[1], b[0];
U(0.1, 0.2, 0.3) b[0]; CX a[0], b[0];
h a;   // broadcast over the register
barrier a, b;
measure a[0] -> c[0];
""")
    expected = [("rx", (0,), (0.6 - np.pi / 4,)), ("cp", (0, 2), (-(np.sin(0.3) / 2) ** 2,)),
                ("h", (1,), ()), ("u3", (2,), (0.1, 0.2, 0.3)), ("cx", (0, 2), ()),
                ("h", (0,), ()), ("h", (1,), ())]
    got = [(op.name, op.qubits, op.params) for op in c.ops]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g[2], e[2], atol=1e-15)


@pytest.mark.parametrize("text, line, col, match", [
    (HEADER + "qreg q[2];\nh q[2];", 4, 5, "index 2 is out of range"),
    (HEADER + "qreg q[2];\nrx(0.1 q[0];", 4, 8, "expected '\\)'"),
    (HEADER + "qreg q[2];\nfoo q[0];", 4, 1, "gate 'foo' is not defined"),
    ("OPENQASM 2.0;\nqreg q[1];\nh q[0];", 3, 1, 'needs include "qelib1.inc"'),
    (HEADER + "qreg q[2];\ncx q[0], q[0];", 4, 1, "qubit repeated"),
    (HEADER + "qreg q[1]; creg c[1];\nmeasure q[0] -> c[0];\nx q[0];", 5, 1, "after it was"),
    (HEADER + "qreg q[1];\nreset q[0];", 4, 1, "'reset' is not supported"),
    (HEADER + "qreg q[1];\nrx(a) q[0];", 4, 4, "unknown parameter 'a'"),
    (HEADER + "qreg q[2];\nrx(0.1, 0.2) q[0];", 4, 1, "takes 1 parameter"),
    (HEADER + "qreg q[1];\nh q[0] $", 4, 8, "unexpected character '\\$'"),
    ("OPENQASM 3.0;", 1, 10, "only OpenQASM 2"),
    (HEADER + 'include "other.inc";', 3, 9, "cannot include"),
    (HEADER + "qreg q[2]; qreg r[3];\ncx q, r;", 4, 1, "different sizes"),
])
def test_errors_name_line_and_column(text, line, col, match):
    with pytest.raises(tnq.QasmError, match=match) as err:
        tnq.from_qasm(text)
    assert (err.value.line, err.value.column) == (line, col)
    assert str(err.value).startswith(f"line {line}, column {col}:")


@given(circuits(max_qubits=5, max_gates=10))
def test_export_then_import_reproduces_the_state(case):
    circuit, params, inputs, steps = case
    text = tnq.to_qasm(circuit, params=params, inputs=inputs)
    back = tnq.from_qasm(text)
    np.testing.assert_allclose(tnq.state(back), ref.simulate(circuit.num_qubits, steps),
                               atol=1e-10)


def test_export_errors():
    theta = tnq.parameters(1)
    with pytest.raises(tnq.QasmError, match="pass params= values"):
        tnq.to_qasm(tnq.Circuit(1).rx(0, theta[0]))
    with pytest.raises(tnq.QasmError, match="user unitary"):
        tnq.to_qasm(tnq.Circuit(1).unitary(np.eye(2), 0))


@given(circuits(max_qubits=5, max_gates=10))
def test_agrees_with_qiskit_aer_statevector(case):
    qiskit = pytest.importorskip("qiskit")
    aer = pytest.importorskip("qiskit_aer")
    circuit, params, inputs, _ = case
    qc = qiskit.qasm2.loads(tnq.to_qasm(circuit, params=params, inputs=inputs),
                            custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qc.save_statevector()
    # optimization_level=0: higher levels drop gates within about 1e-7 of the identity
    sv = aer.AerSimulator(method="statevector").run(qiskit.transpile(
        qc, aer.AerSimulator(method="statevector"), optimization_level=0)).result() \
        .get_statevector()
    n = circuit.num_qubits
    # qiskit is little-endian (qubit 0 is the rightmost bit): reverse the axes
    theirs = np.asarray(sv).reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)
    np.testing.assert_allclose(tnq.state(circuit, params=params, inputs=inputs), theirs,
                               atol=1e-10)


FAST_PATH_STATEMENTS = [
    "h q[0];", "cx q[0],q[1];", "cx q[0], q[0];", "rx(pi/2) q[1];", "rx(0.5,) q[1];",
    "U(0,0,0) q;", "CX q, r;", "CX q[0], r;", "cx q, q;", "rz(1e400) q[0];", "rz(007) q[0];",
    "rz(0.7a) q[0];", "g(0.1) q[0], q[1];", "g(1/0) q[0], q[1];", "h q[5];", "h q[00];",
    "h  q [ 1 ] ;", "h q[1],;", "hq[0];", "h//c\n q[0];", "measure q[0] -> c[0];", "x q[0];",
    "barrier q;", "u0(3) q[1];", "U() q[0];", "CX() q[0], q[1];", "rx(-+0.5) q[0];",
    "rx(- 0.5) q[0];", "rx(.5e-3) q[0];", "rx(1.e2) q[0];", "foo q[0];", "q q[0];",
    "rx(a) q[0];", "cx q[0] q[1];", "ccx q, r, r;", "rx(0.1) q[0]; // x;", "rx(1, 2) q[0];",
    "swap q[0], r[1];", "e q;", "e q[0]", "rx( +1.5e+3 ) q[1];", "rx(1_000) q[0];",
]


def _outcome(text):
    try:
        c = tnq.from_qasm(text)
    except tnq.QasmError as exc:
        return str(exc)
    return c.num_qubits, [(op.name, op.qubits, op.params) for op in c.ops]


@given(st.lists(st.sampled_from(FAST_PATH_STATEMENTS), min_size=1, max_size=8))
def test_fast_path_agrees_with_the_token_reader(statements):
    text = (HEADER + "qreg q[2];\nqreg r[2];\ncreg c[2];\n"
            "gate g(t) a, b { rx(t) a; cx a, b; }\ngate e a { }\n" + "\n".join(statements))
    fast = _outcome(text)
    with mock.patch.object(tnq.qasm, "_FAST", re.compile("(?!)")):  # never matches
        assert _outcome(text) == fast


def test_a_program_without_qubits_reads_but_does_not_compile():
    empty = tnq.from_qasm("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n")
    assert empty.num_qubits == 0 and len(empty) == 0
    with pytest.raises(tnq.CompileError, match="no qubits"):
        tnq.compile(empty)
    with pytest.raises(tnq.CompileError, match="no qubits"):
        tnq.state(empty)


# ------------------------------------------------ fast paths agree bit for bit
NUMBERS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "00", "007", "1.", ".5", "00.25", "1e3", "1E-3", "2.5e+2", "01e5",
                     "0e0", "1e400", "1e-400", "123456789012345678901234567890", "pi"]))
SIGNED = st.tuples(st.sampled_from(["", "", "-", "+", "--", "-+", "- ", " -"]), NUMBERS,
                   st.sampled_from(["", " "])).map("".join)


@st.composite
def arithmetic(draw):
    """A constant expression of signed numbers and pi joined by + - * /."""
    atoms = draw(st.lists(SIGNED, min_size=1, max_size=5))
    ops = draw(st.lists(st.sampled_from(["+", "-", "*", "/", " * ", " / ", " - "]),
                        min_size=len(atoms) - 1, max_size=len(atoms) - 1))
    return atoms[0] + "".join(op + atom for op, atom in zip(ops, atoms[1:]))


def _parsed(text):
    """The values the token reader gives a parameter list, or None if it refuses it."""
    from tnq.qasm_expr import read_values

    return read_values(text, 0, len(text))


@given(st.lists(arithmetic(), min_size=1, max_size=3), st.sampled_from(["", ",", ", "]))
def test_fast_values_are_the_parsers_values_bit_for_bit(exprs, trailing):
    from tnq.qasm_expr import fast_values

    text = ", ".join(exprs) + trailing
    fast = fast_values(text)
    if fast is not None:  # None: left to the parser (which may refuse the text)
        parsed = _parsed(text)
        assert parsed is not None, text
        assert [x.hex() for x in fast] == [x.hex() for x in parsed], text


@pytest.mark.parametrize("text", [
    "0.123", "-0.5", "pi", "-pi", "pi/2", "-pi/2", "2*0.123", "0.1/2", "3*pi/4", "pi/2,0,-pi",
    "1e-3, 2.5", "0.5,", "2 * -pi", "pi - 0.25", "-+0.5", "1/1e400"])
def test_fast_values_take_the_common_angles(text):
    from tnq.qasm_expr import fast_values

    fast = fast_values(text)
    assert fast is not None
    assert [x.hex() for x in fast] == [x.hex() for x in _parsed(text)]


@pytest.mark.parametrize("text", ["1/0", "007", "1e400", "2*1e308*10", "sin(1)", "(1)", "2^2",
                                  "1.2.3", "0.7a", "1_000", "2pi", "1,,2", " ", ""])
def test_fast_values_leave_the_rest_to_the_parser(text):
    from tnq.qasm_expr import fast_values

    assert fast_values(text) == (() if text.isspace() or not text else None)


BODY_EXPRS = ["a", "b", "-a", "2*a", "a*2", "a/2", "2/a", "a+1", "1-a", "a-b", "a^2", "2^a",
              "sin(a)", "ln(a)", "sqrt(a)", "exp(a)", "a*b", "a/b", "pi", "0.5", "-(a+b)*2",
              "a*1e308", "1/(a*1e308)", "-a/2", "+a"]
VALUES = [0.0, -0.0, 0.5, -1.5, 1e308, -1e-300, 3.0, 710.0]


@given(st.lists(st.sampled_from(BODY_EXPRS), min_size=1, max_size=3),
       st.tuples(st.sampled_from(VALUES), st.sampled_from(VALUES)))
def test_compiled_values_are_evaluated_values_bit_for_bit(texts, env):
    from tnq.qasm_expr import SAME, EvalError, compile_values, parse, value
    from tnq.qasm_lexer import Lexer

    exprs = [parse(Lexer(t), {"a": 0, "b": 1}) for t in texts]

    def outcome(fn):
        try:
            return [x.hex() for x in fn()]
        except EvalError as exc:
            return exc.message, exc.pos

    compiled = compile_values(exprs, 2)
    got = outcome(lambda: compiled if type(compiled) is tuple else env if compiled is SAME
                  else compiled(env))
    assert got == outcome(lambda: tuple(value(x, env) for x in exprs)), texts


PRIMS = {"rx": (1, 1), "rz": (1, 1), "u3": (3, 1), "u0": (1, 1), "h": (0, 1), "cx": (0, 2),
         "cu1": (1, 2), "ccx": (0, 3)}


@st.composite
def nested_programs(draw):
    """Gates calling primitives and earlier gates with parameter expressions, then calls."""
    gates: dict[str, tuple[int, int]] = {}
    lines = [HEADER, "qreg q[4];\nqreg r[4];\n"]
    for k in range(draw(st.integers(1, 4))):
        params = ["a", "b"][:draw(st.integers(0, 2))]
        qubits = ["x", "y", "z"][:draw(st.integers(1, 3))]
        body = []
        for _ in range(draw(st.integers(0, 4))):
            name = draw(st.sampled_from(sorted(PRIMS) + sorted(gates)))
            num_params, num_qubits = PRIMS.get(name) or gates[name]
            if num_qubits > len(qubits):
                continue
            forms = [e for e in BODY_EXPRS if not set(e) & ({"a", "b"} - set(params))]
            exprs = [draw(st.sampled_from(forms)) for _ in range(num_params)]
            args = draw(st.permutations(qubits))[:num_qubits]
            body.append(f"{name}({', '.join(exprs)}) {', '.join(args)};")
        gates[f"g{k}"] = (len(params), len(qubits))
        lines.append(f"gate g{k}({', '.join(params)}) {', '.join(qubits)} {{ {' '.join(body)} }}\n")
    for _ in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(sorted(gates)))
        num_params, num_qubits = gates[name]
        values = [repr(draw(st.sampled_from([0.0, 0.5, -1.5, 2.0]))) for _ in range(num_params)]
        regs = draw(st.booleans())
        args = (["q", "r", "q"] if regs else [f"q[{i}]" for i in draw(st.permutations(range(4)))])
        if regs and num_qubits == 3:
            continue  # q twice
        lines.append(f"{name}({', '.join(values)}) {', '.join(args[:num_qubits])};\n")
    return "".join(lines)


def _ops(text):
    try:
        c = tnq.from_qasm(text)
    except tnq.QasmError as exc:
        return str(exc)
    return [(op.name, op.qubits, [p.hex() for p in op.params]) for op in c.ops]


@given(nested_programs())
def test_flattened_and_remembered_calls_expand_like_the_stack(text):
    reference = {"_TEMPLATE_STEPS": 0, "_MEMO_STEPS": 10**9}  # every call expanded anew
    with mock.patch.multiple(tnq.qasm, **reference):
        want = _ops(text)
    assert _ops(text) == want
    with mock.patch.multiple(tnq.qasm, _MEMO_STEPS=0):  # every call remembered
        assert _ops(text) == want


def test_nested_calls_keep_each_callers_parameters():
    text = HEADER + """qreg q[2];
gate g0(a) x { rx(a) x; }
gate g1(a) x { g0(2 * a) x; rz(a) x; }
gate g2(a) x, y { g0(a + 1) x; g1(a / 2) y; g0(a) y; g1(a) x; }
g2(0.25) q[0], q[1];
"""
    got = [(op.name, op.qubits, op.params) for op in tnq.from_qasm(text).ops]
    assert got == [("rx", (0,), (1.25,)), ("rx", (1,), (0.25,)), ("rz", (1,), (0.125,)),
                   ("rx", (1,), (0.25,)), ("rx", (0,), (0.5,)), ("rz", (0,), (0.25,))]
