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
    sv = aer.AerSimulator(method="statevector").run(qiskit.transpile(
        qc, aer.AerSimulator(method="statevector"))).result().get_statevector()
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
