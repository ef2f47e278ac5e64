"""OpenQASM 2 import and export.

:func:`from_qasm` reads a program using ``qelib1.inc`` gates, user ``gate``
definitions (nested, with parameter expressions), ``barrier``, ``qreg`` and
``creg``. Measurements are accepted only at the end of a qubit's life: tnq
simulates the state before measurement, so final ``measure`` statements are
ignored; a gate after a measurement on the same qubit is an error, as are
``reset``, ``if`` and ``opaque``. Several quantum registers are laid out one
after the other in declaration order.

Examples
--------
>>> c = from_qasm('''OPENQASM 2.0; include "qelib1.inc";
... qreg q[2]; creg c[2];
... gate bell a, b { h a; cx a, b; }
... bell q[0], q[1];
... measure q -> c;''')
>>> [str(op) for op in c.ops]
['h q0', 'cx q0, q1']
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .circuit import Circuit
from .errors import CircuitError, QasmError
from .gates import GATES
from .symbols import Symbol

__all__ = ["from_qasm", "to_qasm", "QELIB1"]

QELIB1 = frozenset(
    "u u1 u2 u3 p id x y z h s sdg t tdg sx sxdg rx ry rz cx cy cz ch swap ccx cswap crx "
    "cry crz cu1 cp cu3 cu csx rxx rzz rccx rc3x c3x c3sqrtx c4x".split()
)
_FUNCS = {"sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp,
          "ln": math.log, "sqrt": math.sqrt}
_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+|//[^\n]*) | (?P<nl>\n)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*) | (?P<str>"[^"\n]*")
  | (?P<sym>->|==|[;,()\[\]{}+\-*/^])
  | (?P<bad>.)""", re.VERBOSE)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int
    col: int


def _tokens(text: str) -> list[_Tok]:
    out, line, start = [], 1, 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "bad"
        col = m.start() - start + 1
        if kind == "nl":
            line, start = line + 1, m.end()
        elif kind == "bad":
            raise QasmError(f"unexpected character {m.group()!r}", line, col)
        elif kind != "ws":
            out.append(_Tok(kind, m.group(), line, col))
    out.append(_Tok("eof", "end of input", line, len(text) - start + 1))
    return out


@dataclass
class _GateDef:
    params: list[str]
    qargs: list[str]
    body: list  # (name, [expr], [qarg names], token)


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0
        self.qregs: dict[str, tuple[int, int]] = {}
        self.cregs: dict[str, int] = {}
        self.defs: dict[str, _GateDef] = {}
        self.qelib = False
        self.ops: list[tuple[str, tuple[int, ...], tuple[float, ...], _Tok]] = []
        self.measured: set[int] = set()

    # ------------------------------------------------------------- tokens
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, msg: str, tok: _Tok | None = None) -> QasmError:
        tok = tok or self.tok
        return QasmError(msg, tok.line, tok.col)

    def take(self, text: str | None = None, kind: str | None = None) -> _Tok:
        tok = self.tok
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            want = repr(text) if text is not None else {"id": "a name", "num": "a number",
                                                         "str": "a string"}[kind or "id"]
            raise self.error(f"expected {want}, got {tok.text!r}")
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.tok.text == text:
            self.i += 1
            return True
        return False

    # ---------------------------------------------------------- statements
    def program(self) -> Circuit:
        if self.accept("OPENQASM"):
            v = self.take(kind="num")
            if not v.text.startswith("2"):
                raise self.error(f"only OpenQASM 2 is supported, got version {v.text}", v)
            self.take(";")
        while self.tok.kind != "eof":
            self.statement()
        n = sum(size for _, size in self.qregs.values())
        if n == 0:
            raise QasmError("no qreg declared: the program has no qubits")
        circuit = Circuit(n)
        for name, qubits, params, tok in self.ops:
            try:
                circuit.apply(name, *qubits, params=params)
            except CircuitError as exc:
                raise QasmError(str(exc), tok.line, tok.col) from None
        return circuit

    def statement(self) -> None:
        tok = self.tok
        word = tok.text
        if word == "include":
            self.i += 1
            f = self.take(kind="str")
            if f.text.strip('"') != "qelib1.inc":
                raise self.error(f"cannot include {f.text}: only \"qelib1.inc\" is known", f)
            self.qelib = True
            self.take(";")
        elif word in ("qreg", "creg"):
            self.i += 1
            name = self.take(kind="id")
            self.take("[")
            size = int(self.take(kind="num").text)
            self.take("]")
            self.take(";")
            if name.text in self.qregs or name.text in self.cregs:
                raise self.error(f"register '{name.text}' is declared twice", name)
            if word == "qreg":
                self.qregs[name.text] = (sum(s for _, s in self.qregs.values()), size)
            else:
                self.cregs[name.text] = size
        elif word == "gate":
            self.gate_def()
        elif word == "opaque":
            raise self.error("opaque gates have no definition and cannot be simulated")
        elif word in ("reset", "if"):
            raise self.error(f"'{word}' is not supported: tnq simulates unitary circuits "
                             "(final measurements only)")
        elif word == "measure":
            self.i += 1
            qs = self.argument()
            self.take("->")
            self.creg_argument()
            self.take(";")
            self.measured.update(qs)
        elif word == "barrier":
            self.i += 1
            self.arguments()
            self.take(";")
        elif tok.kind == "id":
            self.application()
        else:
            raise self.error(f"expected a statement, got {word!r}")

    def gate_def(self) -> None:
        self.take("gate")
        name = self.take(kind="id")
        params = self.id_list("(", ")") if self.tok.text == "(" else []
        qargs = [self.take(kind="id").text]
        while self.accept(","):
            qargs.append(self.take(kind="id").text)
        self.take("{")
        body = []
        while not self.accept("}"):
            t = self.tok
            if t.text == "barrier":
                self.i += 1
                while self.tok.text != ";":
                    self.i += 1
                self.take(";")
                continue
            gname = self.take(kind="id")
            exprs = self.expr_list() if self.tok.text == "(" else []
            args = [self.take(kind="id")]
            while self.accept(","):
                args.append(self.take(kind="id"))
            self.take(";")
            for a in args:
                if a.text not in qargs:
                    raise self.error(f"'{a.text}' is not an argument of gate '{name.text}'", a)
            body.append((gname, exprs, [a.text for a in args]))
        self.defs[name.text] = _GateDef(params, qargs, body)

    def id_list(self, open_: str, close: str) -> list[str]:
        self.take(open_)
        out = []
        if not self.accept(close):
            out.append(self.take(kind="id").text)
            while self.accept(","):
                out.append(self.take(kind="id").text)
            self.take(close)
        return out

    def expr_list(self) -> list:
        self.take("(")
        out = []
        if not self.accept(")"):
            out.append(self.expr())
            while self.accept(","):
                out.append(self.expr())
            self.take(")")
        return out

    def application(self) -> None:
        name = self.take(kind="id")
        exprs = self.expr_list() if self.tok.text == "(" else []
        args = self.arguments()
        self.take(";")
        params = [self.evaluate(e, {}) for e in exprs]
        sizes = {len(a) for a in args if len(a) > 1}
        if len(sizes) > 1:
            raise self.error(f"registers of different sizes {sorted(sizes)} in one "
                             f"'{name.text}' statement", name)
        for k in range(sizes.pop() if sizes else 1):
            qubits = [a[k] if len(a) > 1 else a[0] for a in args]
            self.call(name, params, qubits)

    def call(self, name: _Tok, params: list[float], qubits: list[int]) -> None:
        gname = {"U": "u3", "CX": "cx"}.get(name.text, name.text)
        for q in qubits:
            if q in self.measured:
                raise self.error(f"gate '{name.text}' acts on qubit {q} after it was measured; "
                                 "only final measurements are supported", name)
        if gname in self.defs:
            d = self.defs[gname]
            if len(params) != len(d.params) or len(qubits) != len(d.qargs):
                raise self.error(f"gate '{gname}' takes {len(d.params)} parameter(s) and "
                                 f"{len(d.qargs)} qubit(s), got {len(params)} and "
                                 f"{len(qubits)}", name)
            env = dict(zip(d.params, params))
            where = dict(zip(d.qargs, qubits))
            for sub, exprs, args in d.body:
                self.call(sub, [self.evaluate(e, env) for e in exprs], [where[a] for a in args])
            return
        if gname not in GATES or (gname not in ("u3", "cx") and gname not in QELIB1):
            raise self.error(f"gate '{name.text}' is not defined"
                             + ("" if self.qelib else " (did you forget include \"qelib1.inc\"?)"),
                             name)
        if gname not in ("u3", "cx") and not self.qelib:
            raise self.error(f"gate '{name.text}' needs include \"qelib1.inc\"", name)
        gate = GATES[gname]
        if len(params) != gate.num_params or len(qubits) != gate.num_qubits:
            raise self.error(f"gate '{name.text}' takes {gate.num_params} parameter(s) and "
                             f"{gate.num_qubits} qubit(s), got {len(params)} and "
                             f"{len(qubits)}", name)
        self.ops.append((gname, tuple(qubits), tuple(params), name))

    def arguments(self) -> list[list[int]]:
        args = [self.argument()]
        while self.accept(","):
            args.append(self.argument())
        return args

    def argument(self) -> list[int]:
        name = self.take(kind="id")
        if name.text not in self.qregs:
            raise self.error(f"'{name.text}' is not a quantum register", name)
        start, size = self.qregs[name.text]
        if self.accept("["):
            idx = self.take(kind="num")
            self.take("]")
            k = int(idx.text)
            if k >= size:
                raise self.error(f"index {k} is out of range for qreg {name.text}[{size}]", idx)
            return [start + k]
        return list(range(start, start + size))

    def creg_argument(self) -> None:
        name = self.take(kind="id")
        if name.text not in self.cregs:
            raise self.error(f"'{name.text}' is not a classical register", name)
        if self.accept("["):
            self.take(kind="num")
            self.take("]")

    # --------------------------------------------------------- expressions
    def expr(self):
        node = self.term()
        while self.tok.text in ("+", "-"):
            op = self.take().text
            node = (op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.tok.text in ("*", "/"):
            op = self.take().text
            node = (op, node, self.unary())
        return node

    def unary(self):
        if self.accept("-"):
            return ("neg", self.unary())
        if self.accept("+"):
            return self.unary()
        node = self.atom()
        if self.accept("^"):
            return ("^", node, self.unary())
        return node

    def atom(self):
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            return ("num", float(tok.text))
        if self.accept("("):
            node = self.expr()
            self.take(")")
            return node
        if tok.kind == "id":
            self.i += 1
            if tok.text == "pi":
                return ("num", math.pi)
            if tok.text in _FUNCS:
                self.take("(")
                arg = self.expr()
                self.take(")")
                return ("fn", tok, arg)
            return ("var", tok)
        raise self.error(f"expected an expression, got {tok.text!r}")

    def evaluate(self, node, env: dict[str, float]) -> float:
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "var":
            if node[1].text not in env:
                raise self.error(f"unknown parameter '{node[1].text}'", node[1])
            return env[node[1].text]
        if kind == "neg":
            return -self.evaluate(node[1], env)
        if kind == "fn":
            try:
                return _FUNCS[node[1].text](self.evaluate(node[2], env))
            except (ValueError, OverflowError) as exc:
                raise self.error(f"{node[1].text}(...) failed: {exc}", node[1]) from None
        a, b = self.evaluate(node[1], env), self.evaluate(node[2], env)
        try:
            return {"+": a + b, "-": a - b, "*": a * b}[kind] if kind in "+-*" \
                else (a / b if kind == "/" else a**b)
        except (ZeroDivisionError, OverflowError) as exc:
            raise QasmError(f"arithmetic error in a parameter expression: {exc}") from None


def from_qasm(text: str) -> Circuit:
    """Read an OpenQASM 2 program into a :class:`~tnq.Circuit`.

    Raises :class:`~tnq.QasmError` naming the line and column of the problem.
    """
    if not isinstance(text, str):
        raise QasmError(f"expected OpenQASM text (str), got {type(text).__name__}")
    return _Parser(text).program()


def to_qasm(circuit: Circuit, *, params=None, inputs=None) -> str:
    """OpenQASM 2 text for ``circuit``; symbolic parameters take the given values.

    Gates outside ``qelib1.inc`` (``ryy``, ``iswap``, ``fsim``) are written with
    ``gate`` definitions; user unitaries have no OpenQASM 2 form and raise
    :class:`~tnq.QasmError`.

    Examples
    --------
    >>> import tnq
    >>> print(tnq.to_qasm(tnq.Circuit(2).h(0).cx(0, 1)))
    OPENQASM 2.0;
    include "qelib1.inc";
    qreg q[2];
    h q[0];
    cx q[0],q[1];
    <BLANKLINE>
    """
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    needed: list[str] = []
    body = []
    for k, op in enumerate(circuit.ops):
        if op.name == "unitary":
            raise QasmError(f"operation {k} ({op}) is a user unitary, which OpenQASM 2 cannot "
                            "express; decompose it into named gates first")
        for dep in (["ryy"] if op.name == "fsim" else []) + [op.name]:
            if GATES[dep].qasm and dep not in needed:
                needed.append(dep)
        values = []
        for p in op.params:
            if isinstance(p, Symbol):
                src = params if p.kind == "param" else inputs
                if src is None:
                    raise QasmError(f"operation {k} ({op}) has symbolic parameter {p!r}; pass "
                                    f"{'params' if p.kind == 'param' else 'inputs'}= values")
                values.append(p.value(params, inputs))
            else:
                values.append(p)
        args = "(" + ",".join(repr(float(v)) for v in values) + ")" if values else ""
        body.append(f"{op.name}{args} " + ",".join(f"q[{q}]" for q in op.qubits) + ";")
    lines += [GATES[g].qasm or "" for g in needed]
    lines.append(f"qreg q[{circuit.num_qubits}];")
    return "\n".join(lines + body) + "\n"
