"""OpenQASM 2 import and export.

:func:`from_qasm` reads OpenQASM 2.0 as Qiskit's parser (``qiskit.qasm2``)
reads it:

- The built-in gates ``U(theta, phi, lambda)`` (equal to qelib1's ``u3``) and
  ``CX`` are always defined. The 43 gates of ``qelib1.inc`` (``u3`` ... ``c4x``,
  ``u0``, ``p``, ``sx``, ``rxx``, ...) are defined by ``include "qelib1.inc";``
  and only then; pasting their ``gate`` definitions instead gives the same
  unitaries up to global phase.
- One namespace holds gates and registers: everything is defined before it is
  used and never redefined. Gate bodies are checked where they are written.
  Gate parameters and qubits are local to their definition.
- Register sizes and indices are integers; a gate applied to registers is
  broadcast over them (their sizes must agree; a single qubit joins every
  application), and so is ``measure`` (register into register of the same
  size, or qubit into bit). As in Qiskit, a register of size 0 may come
  before the registers of another size (``cx q, r;`` with ``qreg q[0];``),
  never after one; a statement with an empty register applies nothing.
- Accepted leniencies: a bare ``barrier;``, empty statements and ``};``,
  trailing commas in lists, single-quoted includes, zero-size registers and
  programs without qubits, expressions of any depth.

tnq simulates the state before measurement: final ``measure`` statements are
ignored; a gate after a measurement of the same qubit is an error, and so are
``reset``, ``if`` and ``opaque`` (refused where they appear, before the rest
of the file is read). Several quantum registers are laid out one after the
other in declaration order.

A file is untrusted input. Every problem raises :class:`~tnq.QasmError` with
its line and column, and two limits are checked before memory is used:
:data:`MAX_OPERATIONS` operations in all (gate applications after expanding
``gate`` definitions, each call of a definition counted too, and measured
qubits) and :data:`MAX_QUBITS` qubits (and bits per classical register).
Raise them with ``from_qasm(text, max_operations=..., max_qubits=...)``.
Expressions of any depth are read without recursion; angles must be finite.

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

import gc
import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from .checks import MAX_QUBITS as CIRCUIT_MAX_QUBITS
from .circuit import Circuit, Op
from .errors import CircuitError, ParameterError, QasmError
from .gates import GATES
from .qasm_expr import (
    SAME,
    EvalError,
    Expr,
    compile_values,
    fast_values,
    flatten,
    instantiate,
    parse,
    read_values,
)
from .qasm_lexer import KEYWORDS, Lexer, Token, describe, where
from .symbols import Symbol

__all__ = ["from_qasm", "to_qasm", "QELIB1", "MAX_OPERATIONS", "MAX_QUBITS"]

MAX_OPERATIONS = 10_000_000
"""Default limit on gate applications after expanding ``gate`` definitions."""
MAX_QUBITS = 100_000
"""Default limit on qubits in all, and on the bits of each classical register."""

QELIB1 = frozenset(
    "u3 u2 u1 cx id u0 u p x y z h s sdg t tdg rx ry rz sx sxdg cz cy swap ch ccx cswap crx "
    "cry crz cu1 cp cu3 csx cu rxx rzz rccx rc3x c3x c3sqrtx c4x".split()
)
_SIZE_CAP = 10**30  # expansion sizes saturate here (no huge integers from hostile files)
_CACHE_SIZE = 1 << 16
_TEMPLATE_STEPS = 256  # definitions expanding into at most this many steps are flattened
_MEMO_STEPS = 32  # where a call of this many steps or more was expanded is remembered
_MISSING = object()
# A gate application in one match: name, parameter text (no nested parentheses) and
# argument text. Anything unusual falls back to the token-by-token reader. The pattern
# never backtracks far: names end at a word boundary, comments at the end of the line,
# and the argument text stops at ';', '{' or '}', so a failed match costs at most the
# length of the statement.
_FAST = re.compile(r"""(?:\s|//[^\n]*(?![^\n]))*
    ([a-z]\w*(?!\w)|U(?!\w)|CX(?!\w))\s*
    (?:\(([^()]*)\)\s*)?
    ([a-z][^;{}]*);""", re.VERBOSE | re.ASCII)
_ARG = re.compile(r"\s*([a-z]\w*)\s*(?:\[\s*(\d+)\s*\]\s*)?", re.ASCII)


@dataclass(frozen=True, eq=False)
class _Gate:
    """A gate known to the program: built in, from qelib1.inc, or defined.

    ``prim`` is the registry gate a primitive becomes (``None`` for a
    definition, whose ``body`` holds ``(callee, exprs, qubit indices, pos,
    values)``, ``values`` from :func:`~tnq.qasm_expr.compile_values`);
    ``steps`` counts the applications one call expands into, itself included.
    """

    name: str
    num_params: int
    num_qubits: int
    prim: str | None = None
    keep_params: bool = True
    body: tuple = ()
    steps: int = 1


_BUILTINS = (_Gate("U", 3, 1, prim="u3"), _Gate("CX", 0, 2, prim="cx"))


def from_qasm(text: str, *, max_operations: int = MAX_OPERATIONS,
              max_qubits: int = MAX_QUBITS) -> Circuit:
    """Read an OpenQASM 2 program into a :class:`~tnq.Circuit`.

    Parameters
    ----------
    text : str
        The program.
    max_operations : int
        Most gate applications the program may expand into, counting the calls
        of ``gate`` definitions at every nesting level (default
        :data:`MAX_OPERATIONS`).
    max_qubits : int
        Most qubits in all, and bits per classical register (default
        :data:`MAX_QUBITS`; at most ``tnq.checks.MAX_QUBITS``, the most qubits
        a circuit may have).

    Raises
    ------
    QasmError
        Naming the line and column of the problem, what was found and what was
        expected.

    Examples
    --------
    >>> c = from_qasm("OPENQASM 2.0; qreg q[2]; U(pi/2, 0, pi) q[0]; CX q[0], q[1];")
    >>> c
    Circuit(num_qubits=2, gates=2, params=0)
    >>> from_qasm("qreg q[3]; U(0, 0, 0) q;", max_operations=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tnq.errors.QasmError: line 1, column 12: this 'U' statement expands into 3 gate ...
    """
    if not isinstance(text, str):
        raise QasmError(f"expected OpenQASM text (str), got {type(text).__name__}")
    for name, limit in (("max_operations", max_operations), ("max_qubits", max_qubits)):
        if not isinstance(limit, numbers.Integral) or isinstance(limit, bool) or limit < 0:
            raise QasmError(f"{name} must be a non-negative integer, got {limit!r}")
    if max_qubits > CIRCUIT_MAX_QUBITS:
        raise QasmError(f"max_qubits={max_qubits:,} is above the most qubits a tnq circuit may "
                        f"have ({CIRCUIT_MAX_QUBITS:,})")
    # The reader makes an object or three per operation and no reference cycles: the
    # cyclic garbage collector, left on, would rescan them all again and again (a
    # third of the time of a large file). It is paused, and restored however we leave.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Reader(text, int(max_operations), int(max_qubits)).run()
    finally:
        if collecting:
            gc.enable()


def _circuit(num_qubits: int, ops: list[Op]) -> Circuit:
    """The circuit of a program: ``ops`` become its operations as they are.

    Every parameter is a number, so ``Circuit._from_ops``'s bookkeeping of
    symbol vectors has nothing to record and is skipped. A program without
    qubits gets an empty one-qubit circuit with its qubit dropped
    (``Circuit(0)`` is refused by the public constructor).
    """
    circuit = Circuit(max(num_qubits, 1))
    circuit._n = num_qubits
    circuit._ops = ops
    return circuit


class _Reader:
    """Reads one program: statements one by one, gate applications in one regular
    expression match when they are plain, token by token otherwise."""

    def __init__(self, text: str, max_operations: int, max_qubits: int):
        self.text = text
        self.lex = Lexer(text)
        self.max_operations = max_operations
        self.max_qubits = max_qubits
        self.gates: dict[str, _Gate] = {g.name: g for g in _BUILTINS}
        self.qregs: dict[str, tuple[int, int]] = {}
        self.cregs: dict[str, int] = {}
        # how each global name was defined, and where (formatted only for errors)
        self.origins: dict[str, tuple[str, int]] = {
            g.name: ("as a built-in gate", -1) for g in _BUILTINS}
        self.num_qubits = 0
        self.included: int | None = None
        self.started = False
        self.ops: list[Op] = []
        self.total = 0
        self.measured: dict[int, int] = {}
        # per-program caches of plain statements, parameter and argument texts (bounded)
        self.cache: dict[str, tuple | Op] = {}
        self.param_cache: dict[str, tuple | None] = {}
        self.arg_cache: dict[str, tuple | list | None] = {}
        # flattened definitions, and where the operations of a call already are in `ops`
        self.templates: dict[_Gate, tuple] = {}
        self.memo: dict[tuple, tuple[int, int]] = {}

    def error(self, message: str, pos: int) -> QasmError:
        return QasmError(message, *where(self.text, pos))

    def line(self, pos: int) -> int:
        return where(self.text, pos)[0]

    # ------------------------------------------------------------ statements
    def run(self) -> Circuit:
        text, fast, cached = self.text, _FAST.match, self.cache.get
        measured, append, limit = self.measured, self.ops.append, self.max_operations
        ops, templates = self.ops, self.templates
        pos = 0
        while True:
            m = fast(text, pos)
            if m is not None:
                entry: Any = cached(m.group())
                if entry is None:
                    entry = self.fast_entry(m)
                if entry is not None:
                    kind = type(entry)
                    if kind is Op and not measured and self.total < limit:
                        self.total += 1
                        append(entry)
                    elif kind is tuple and len(entry) == 3 and not measured \
                            and self.total + entry[0].steps <= limit:  # one call, no checks
                        gate, values, qubits = entry
                        self.total += gate.steps
                        template = templates.get(gate) if gate.steps < _MEMO_STEPS else None
                        if template is None:
                            self.call(gate, values, qubits, m.start(1))
                        else:  # the common case: a small definition, flattened already
                            try:
                                instantiate(template[2], values, qubits, ops)
                            except EvalError as exc:
                                raise self.called(exc, gate, m.start(1)) from None
                    else:
                        self.commit(entry, m.group(1), m.start(1))
                    pos = m.end()
                    continue
            pos = self.statement(pos)
            if pos < 0:
                break
        try:
            return _circuit(self.num_qubits, self.ops)
        except CircuitError as exc:  # the parser checks what Circuit does; kept as a guard
            raise QasmError(f"the program does not make a valid circuit: {exc}") from None

    def statement(self, pos: int) -> int:
        """Read one statement token by token; the position after it, or -1 at the end."""
        lex = self.lex
        lex.pos = pos
        tok = lex.next()
        kind = tok[0]
        if kind == "eof":
            return -1
        if kind == "OPENQASM":
            self.version(tok)
        elif kind != ";":
            self.started = True
            handler = _STATEMENTS.get(kind)
            if handler is None:
                raise self.error(f"expected a statement, got {describe(tok)}", tok[2])
            handler(self, tok)
        return lex.pos

    def version(self, tok: Token) -> None:
        if self.started:
            raise self.error("the OPENQASM version statement must come first", tok[2])
        num = self.lex.next()
        if num[0] not in ("int", "real") or "e" in num[1].lower() or float(num[1]) != 2.0:
            raise self.error(f"only OpenQASM 2.0 is supported, got version {describe(num)}",
                             num[2])
        self.lex.expect(";")

    def include(self, tok: Token) -> None:
        lex = self.lex
        file = lex.expect("str", "a file name in quotes")
        lex.expect(";")
        if file[1][1:-1] != "qelib1.inc":
            raise self.error(f"cannot include {file[1]}: only \"qelib1.inc\" is available",
                             file[2])
        if self.included is not None:
            raise self.error(f"\"qelib1.inc\" is already included at line "
                             f"{self.line(self.included)}", tok[2])
        for name in sorted(QELIB1):
            self.check_new(name, tok[2], "; qelib1.inc defines it too")
            gate = GATES["id" if name == "u0" else name]
            self.gates[name] = _Gate(name, 1 if name == "u0" else gate.num_params,
                                     gate.num_qubits, prim=gate.name, keep_params=name != "u0")
            self.origins[name] = ("as a gate of qelib1.inc, included", tok[2])
        self.included = tok[2]

    def register(self, tok: Token) -> None:
        lex = self.lex
        name = lex.expect("id", "a register name")
        lex.expect("[")
        size_tok = lex.expect("int", "an integer register size")
        lex.expect("]")
        lex.expect(";")
        self.check_new(name[1], name[2])
        size = self.size(tok[0], name[1], size_tok)
        if tok[0] == "qreg":
            self.qregs[name[1]] = (self.num_qubits, size)
            self.num_qubits += size
            self.origins[name[1]] = ("as a quantum register", name[2])
        else:
            self.cregs[name[1]] = size
            self.origins[name[1]] = ("as a classical register", name[2])

    def size(self, kind: str, name: str, tok: Token) -> int:
        digits = tok[1]
        limit = self.max_qubits - (self.num_qubits if kind == "qreg" else 0)
        if len(digits) <= 18 and int(digits) <= limit:
            return int(digits)
        shown = digits if len(digits) <= 18 else f"<a {len(digits)}-digit number>"
        what = "qubits in all" if kind == "qreg" else "bits in one classical register"
        raise self.error(f"{kind} {name}[{shown}] is above the limit of max_qubits="
                         f"{self.max_qubits:,} {what} (raise it with from_qasm(..., "
                         "max_qubits=N) or tnq run --max-qubits N)", tok[2])

    def check_new(self, name: str, pos: int, note: str = "") -> None:
        if name in self.origins:
            raise self.error(f"{name!r} is already defined {self.origin(name)}{note}", pos)

    def origin(self, name: str) -> str:
        what, pos = self.origins[name]
        return what if pos < 0 else f"{what} at line {self.line(pos)}"

    def unsupported(self, tok: Token) -> None:
        if tok[0] == "opaque":
            raise self.error("'opaque' gates have no definition and cannot be simulated",
                             tok[2])
        raise self.error(f"{tok[0]!r} is not supported: tnq simulates unitary circuits "
                         "(final measurements only)", tok[2])

    def measure(self, tok: Token) -> None:
        lex = self.lex
        start, size, is_reg = self.qarg(lex.expect("id", "a qubit or quantum register"))
        lex.expect("->", "'->'")
        bits, bits_reg = self.carg(lex.expect("id", "a bit or classical register"))
        lex.expect(";")
        if is_reg != bits_reg or size != bits:
            raise self.error("measure needs a qubit and a bit, or two registers of one size; "
                             f"got {_operand(size, is_reg, 'qubit')} and "
                             f"{_operand(bits, bits_reg, 'bit')}", tok[2])
        self.check_limit(size, "measure", tok[2])  # measured qubits count towards the limit
        self.total += size
        for q in range(start, start + size):
            self.measured.setdefault(q, tok[2])

    def barrier(self, tok: Token) -> None:
        self.qargs(allow_empty=True)

    def application(self, tok: Token) -> None:
        name, pos = tok[1], tok[2]
        gate = self.gate_named(name, pos)
        params = self.expr_list(None) if self.lex.accept("(") else []
        args = self.qargs(allow_empty=False)
        values = cast(tuple[float, ...], tuple(params))  # no parameters outside a definition
        self.commit(self.apply(gate, name, pos, values, args), name, pos)

    def gate_named(self, name: str, pos: int, inside: str | None = None) -> _Gate:
        gate = self.gates.get(name)
        if gate is not None:
            return gate
        if name in self.qregs or name in self.cregs:
            raise self.error(f"{name!r} is defined {self.origin(name)}, not as a gate", pos)
        hint = ""
        if name == inside:
            hint = "; a gate cannot call itself"
        elif name in QELIB1:
            hint = '; it needs include "qelib1.inc" before it is used'
        raise self.error(f"gate {name!r} is not defined{hint}", pos)

    # ------------------------------------------------------------- arguments
    def qargs(self, *, allow_empty: bool) -> list[tuple[int, int, bool]]:
        """Arguments up to ';' (a trailing comma is allowed)."""
        lex = self.lex
        args: list[tuple[int, int, bool]] = []
        while True:
            tok = lex.next()
            if tok[0] == ";" and (args or allow_empty):
                return args
            if tok[0] != "id":
                raise self.error(f"expected a qubit or a quantum register, got {describe(tok)}",
                                 tok[2])
            args.append(self.qarg(tok))
            tok = lex.next()
            if tok[0] == ";":
                return args
            if tok[0] != ",":
                raise self.error(f"expected ',' or ';' after an argument, got {describe(tok)}",
                                 tok[2])

    def qarg(self, tok: Token) -> tuple[int, int, bool]:
        """``(first qubit, size, is a whole register)`` of ``q`` or ``q[i]``."""
        name = tok[1]
        if name not in self.qregs:
            raise self.error(self.not_a(name, "quantum register"), tok[2])
        start, size = self.qregs[name]
        if self.lex.accept("["):
            return start + self.index("qreg", name, size), 1, False
        return start, size, True

    def carg(self, tok: Token) -> tuple[int, bool]:
        name = tok[1]
        if name not in self.cregs:
            raise self.error(self.not_a(name, "classical register"), tok[2])
        size = self.cregs[name]
        if self.lex.accept("["):
            self.index("creg", name, size)
            return 1, False
        return size, True

    def index(self, kind: str, name: str, size: int) -> int:
        tok = self.lex.expect("int", "an integer index")
        self.lex.expect("]")
        digits = tok[1]
        if len(digits) > 18 or int(digits) >= size:
            shown = digits if len(digits) <= 18 else f"<a {len(digits)}-digit number>"
            raise self.error(f"index {shown} is out of range for {kind} {name}[{size}]", tok[2])
        return int(digits)

    def not_a(self, name: str, what: str) -> str:
        if name in self.origins:
            return f"{name!r} is defined {self.origin(name)}, not as a {what}"
        return f"{what} {name!r} is not defined"

    def expr_list(self, params: dict[str, int] | None, qubits: Sequence[str] = (),
                  gate: str | None = None) -> list[Expr]:
        """Expressions after '(' up to ')' (a trailing comma is allowed)."""
        lex = self.lex
        out: list[Expr] = []
        while not lex.accept(")"):
            out.append(parse(lex, params, qubits, gate))
            tok = lex.next()
            if tok[0] == ")":
                break
            if tok[0] != ",":
                raise self.error(f"expected ')' or ',' after a parameter, got {describe(tok)}",
                                 tok[2])
        return out

    # ------------------------------------------------------- gate definitions
    def gate_definition(self, tok: Token) -> None:
        lex = self.lex
        name_tok = lex.expect("id", "a gate name")
        name = name_tok[1]
        self.check_new(name, name_tok[2])
        params = self.names(")", "a parameter name") if lex.accept("(") else []
        qubits = self.names("{", "a qubit name")
        if not qubits:
            raise self.error(f"gate {name!r} must act on at least one qubit", name_tok[2])
        seen: dict[str, str] = {}
        for kind, ident in [("parameter", t) for t in params] + [("qubit", t) for t in qubits]:
            if ident[1] in seen:
                raise self.error(f"{ident[1]!r} is already a {seen[ident[1]]} of gate {name!r}",
                                 ident[2])
            seen[ident[1]] = kind
        body, steps = self.body(name, name_tok[2], [t[1] for t in params],
                                [t[1] for t in qubits])
        self.gates[name] = _Gate(name, len(params), len(qubits), body=body, steps=steps)
        self.origins[name] = ("as a gate", name_tok[2])

    def names(self, close: str, what: str) -> list[Token]:
        """Identifiers separated by commas, up to ``close`` (a trailing comma is allowed)."""
        lex = self.lex
        out: list[Token] = []
        while True:
            tok = lex.next()
            if tok[0] == close:
                return out
            if tok[0] != "id":
                raise self.error(f"expected {what} or {close!r}, got {describe(tok)}", tok[2])
            out.append(tok)
            tok = lex.next()
            if tok[0] == close:
                return out
            if tok[0] != ",":
                raise self.error(f"expected ',' or {close!r}, got {describe(tok)}", tok[2])

    def body(self, gate: str, pos: int, params: list[str],
             qubits: list[str]) -> tuple[tuple, int]:
        """The statements of a definition, checked; and how many steps one call takes."""
        lex = self.lex
        env = {p: i for i, p in enumerate(params)}
        local = {q: i for i, q in enumerate(qubits)}
        items: list[tuple] = []
        steps = 1  # the call itself
        while True:
            tok = lex.next()
            kind = tok[0]
            if kind == "}":
                return tuple(items), steps
            if kind == "id":
                item = self.body_call(tok, gate, env, qubits, local)
                items.append(item)
                steps = min(steps + item[0].steps, _SIZE_CAP)
            elif kind == "barrier":
                self.body_qubits(gate, env, local, allow_empty=True)
            elif kind == "eof":
                raise self.error(f"the body of gate {gate!r} is not closed: expected '}}' "
                                 "before the end of the input", pos)
            elif kind in KEYWORDS:
                raise self.error(f"only gate applications and barriers can appear in the body "
                                 f"of gate {gate!r}, got {kind!r}", tok[2])
            else:
                raise self.error(f"expected a gate application or '}}' in the body of gate "
                                 f"{gate!r}, got {describe(tok)}", tok[2])

    def body_call(self, tok: Token, gate: str, env: dict[str, int], qubits: list[str],
                  local: dict[str, int]) -> tuple:
        name, pos = tok[1], tok[2]
        callee = self.gate_named(name, pos, inside=gate)
        exprs = self.expr_list(env, qubits, gate) if self.lex.accept("(") else []
        args = self.body_qubits(gate, env, local, allow_empty=False)
        self.check_counts(callee, name, pos, len(exprs), len(args))
        if len(set(args)) < len(args):
            raise self.error(f"gate {name!r}: qubit repeated in "
                             f"({', '.join(qubits[i] for i in args)}); a gate needs distinct "
                             "qubits", pos)
        return callee, tuple(exprs), tuple(args), pos, compile_values(exprs, len(env))

    def body_qubits(self, gate: str, env: dict[str, int], local: dict[str, int], *,
                    allow_empty: bool) -> list[int]:
        """Qubit names of a definition up to ';', as indices."""
        lex = self.lex
        out: list[int] = []
        while True:
            tok = lex.next()
            if tok[0] == ";" and (out or allow_empty):
                return out
            if tok[0] != "id" or tok[1] not in local:
                raise self.error(self.not_local_qubit(tok, gate, env, local), tok[2])
            out.append(local[tok[1]])
            tok = lex.next()
            if tok[0] == ";":
                return out
            if tok[0] == "[":
                raise self.error(f"the qubits of gate {gate!r} are single qubits and cannot "
                                 "be indexed", tok[2])
            if tok[0] != ",":
                raise self.error(f"expected ',' or ';' after a qubit, got {describe(tok)}",
                                 tok[2])

    def not_local_qubit(self, tok: Token, gate: str, env: dict[str, int],
                        local: dict[str, int]) -> str:
        if tok[0] != "id":
            return f"expected a qubit of gate {gate!r}, got {describe(tok)}"
        if tok[1] in env:
            return f"{tok[1]!r} is a parameter of gate {gate!r}, not a qubit"
        return (f"{tok[1]!r} is not a qubit of gate {gate!r} (its qubits: {', '.join(local)}); "
                "a gate body acts only on its own qubits")

    # -------------------------------------------------------------- applying
    def check_counts(self, gate: _Gate, name: str, pos: int, num_params: int,
                     num_qubits: int) -> None:
        if num_params != gate.num_params or num_qubits != gate.num_qubits:
            raise self.error(f"gate {name!r} takes {_count(gate.num_params, 'parameter')} and "
                             f"{_count(gate.num_qubits, 'qubit')}, got "
                             f"{_count(num_params, 'parameter')} and "
                             f"{_count(num_qubits, 'qubit')}", pos)

    def apply(self, gate: _Gate, name: str, pos: int, params: tuple[float, ...],
              args: list[tuple[int, int, bool]]) -> tuple:
        """The plan of one statement, checked before expanding: ``(gate, params,
        applications, qubit ranges, steps)``; an application is an Op of a primitive
        or the qubits of a call of a definition."""
        self.check_counts(gate, name, pos, len(params), len(args))
        count = self.broadcast(name, pos, [size for _, size, is_reg in args if is_reg])
        steps = gate.steps * count
        self.check_limit(steps, name, pos)
        self.check_distinct(name, pos, args)
        apps: list = []
        for k in range(count):
            qubits = tuple(start + k if is_reg else start for start, _, is_reg in args)
            apps.append(qubits if gate.prim is None
                        else Op(gate.prim, qubits, params if gate.keep_params else ()))
        ranges = tuple((start, size) for start, size, _ in args)
        return gate, params, tuple(apps), ranges, steps

    def broadcast(self, name: str, pos: int, sizes: list[int]) -> int:
        """How many applications a statement with registers of ``sizes`` makes.

        Qiskit's rule: each register has the size of the register before it,
        unless that one is empty; with an empty register nothing is applied."""
        for before, size in zip(sizes, sizes[1:]):
            if before and size != before:
                hint = ("; an empty register may only come before the others"
                        if 0 in sizes else "")
                raise self.error(f"registers of different sizes {sizes} in one {name!r} "
                                 f"statement; broadcasting needs registers of one size{hint}",
                                 pos)
        return 1 if not sizes else 0 if 0 in sizes else sizes[0]

    def check_distinct(self, name: str, pos: int, args: list[tuple[int, int, bool]]) -> None:
        """No qubit twice in any application of a (broadcast) statement."""
        for i, (a, size_a, _) in enumerate(args):
            for b, size_b, _ in args[:i]:
                if max(a, b) < min(a + size_a, b + size_b):  # the qubit ranges overlap
                    raise self.error(f"gate {name!r}: qubit repeated in "
                                     f"({self.qubit_names((max(a, b),) * 2)}); a gate needs "
                                     "distinct qubits", pos)

    def check_limit(self, steps: int, name: str, pos: int) -> None:
        """Refuse a statement that would take the program over ``max_operations``."""
        if self.total + steps > self.max_operations:
            size = f"{steps:,}" if steps < _SIZE_CAP else f"at least {_SIZE_CAP:.0e}"
            what = (f"measures {size} qubits" if name == "measure"
                    else f"expands into {size} gate applications")
            raise self.error(f"this {name!r} statement {what}; with the {self.total:,} "
                             f"operations before it, that is above max_operations="
                             f"{self.max_operations:,} (raise it with from_qasm(..., "
                             "max_operations=N) or tnq run --max-operations N)", pos)

    def commit(self, entry: tuple | Op, name: str, pos: int) -> None:
        """Append a statement's operations: one Op, one call ``(gate, values, qubits)``
        or a plan from :meth:`apply`."""
        if type(entry) is Op:
            gate, ranges, steps = None, tuple((q, 1) for q in entry.qubits), 1
        elif len(cast(tuple, entry)) == 3:
            gate, values, qubits = cast(tuple, entry)
            apps, ranges, steps = (qubits,), tuple((q, 1) for q in qubits), gate.steps
        else:
            gate, values, apps, ranges, steps = cast(tuple, entry)
        if self.measured:  # ranges hold at most `steps` qubits per argument
            for start, size in ranges:
                for q in range(start, start + size):
                    if q in self.measured:
                        raise self.error(
                            f"gate {name!r} acts on qubit {self.qubit_names((q,))} after it "
                            f"was measured at line {self.line(self.measured[q])}; only final "
                            "measurements are supported", pos)
        self.check_limit(steps, name, pos)
        self.total += steps
        if gate is None:
            self.ops.append(cast(Op, entry))
        elif gate.prim is not None:
            self.ops.extend(apps)
        else:
            for qubits in apps:
                self.call(gate, values, qubits, pos)

    # ------------------------------------------------------------- expanding
    def call(self, gate: _Gate, values: tuple[float, ...], qubits: tuple[int, ...],
             pos: int) -> None:
        """Append the operations of one call of a definition (limits checked before).

        Small definitions are flattened once and instantiated; larger ones are
        expanded with an explicit stack (no recursion), and a large call seen
        before is copied from where its operations already are."""
        ops = self.ops
        try:
            if gate.steps < _MEMO_STEPS and gate in self.templates:  # the common case
                instantiate(self.templates[gate][2], values, qubits, ops)
                return
            stack: list[tuple] = []
            self.enter(stack, gate, values, qubits)
            while stack:
                body, env, qs, key, start = stack[-1]
                for callee, _, where_, _, spec in body:
                    args = spec if type(spec) is tuple else env if spec is SAME else spec(env)
                    mapped = tuple([qs[i] for i in where_])
                    if callee.prim is not None:
                        ops.append(Op(callee.prim, mapped, args if callee.keep_params else ()))
                    elif self.enter(stack, callee, args, mapped):
                        break
                else:
                    stack.pop()
                    if key is not None and len(self.memo) < _CACHE_SIZE:
                        self.memo[key] = (start, len(ops))
        except EvalError as exc:
            raise self.called(exc, gate, pos) from None

    def called(self, exc: EvalError, gate: _Gate, pos: int) -> QasmError:
        """The error for an expression without a finite value in a call at ``pos``."""
        return self.error(f"{exc.message} (in gate {gate.name!r} called at line "
                          f"{self.line(pos)})", exc.pos)

    def enter(self, stack: list[tuple], gate: _Gate, values: tuple[float, ...],
              qubits: tuple[int, ...]) -> bool:
        """Append the operations of a call that was seen before or is flattened (False),
        or push the call on ``stack`` to be expanded step by step (True)."""
        ops, memo = self.ops, self.memo
        # small calls are cheaper to expand again; -0.0 == 0.0 would share a key
        key = None if gate.steps < _MEMO_STEPS or 0.0 in values else (gate, values, qubits)
        done = memo.get(key) if key is not None else None
        if done is not None:
            ops.extend(ops[done[0]:done[1]])
            return False
        template = self.template(gate)
        if template is None:
            stack.append((iter(gate.body), values, qubits, key, len(ops)))
            return True
        start = len(ops)
        instantiate(template, values, qubits, ops)
        if key is not None and len(memo) < _CACHE_SIZE:
            memo[key] = (start, len(ops))
        return False

    def template(self, gate: _Gate) -> tuple | None:
        """The runtime steps of a definition (:func:`~tnq.qasm_expr.flatten`), made on its
        first call; None when it expands into more than ``_TEMPLATE_STEPS`` steps."""
        if gate.steps > _TEMPLATE_STEPS:
            return None
        made = self.templates
        todo = [gate] if gate not in made else []
        while todo:  # callees first, without recursion
            g = todo[-1]
            missing = [c for c, *_ in g.body if c.prim is None and c not in made]
            if missing:
                todo += missing
                continue
            todo.pop()
            if g not in made:
                made[g] = flatten(g, made)
        return made[gate][2]

    def qubit_names(self, qubits: Sequence[int]) -> str:
        names = []
        for q in qubits:
            for reg, (start, size) in self.qregs.items():
                if start <= q < start + size:
                    names.append(f"{reg}[{q - start}]")
                    break
        return ", ".join(names)

    # ------------------------------------------------------------- fast path
    def fast_entry(self, m: re.Match) -> tuple | Op | None:
        """The entry of a plain gate application matched by ``_FAST``, or None to read it
        token by token (which also reports any error precisely)."""
        name, ptext, atext = m.groups()
        gate = self.gates.get(name)
        if gate is None:
            return None
        params: Any = ()
        seen = True  # statements are cached once their parameter text is seen again
        if ptext is not None:
            params = self.param_cache.get(ptext, _MISSING)
            if params is _MISSING:
                seen = False
                params = fast_values(ptext)
                if params is None:
                    params = read_values(self.text, m.start(2), m.end(2))
                if len(self.param_cache) < _CACHE_SIZE:
                    self.param_cache[ptext] = params
        args: Any = self.arg_cache.get(atext, _MISSING)
        if args is _MISSING:
            args = self.fast_args(atext)
            if len(self.arg_cache) < _CACHE_SIZE:
                self.arg_cache[atext] = args
        if params is None or args is None:
            return None
        entry: tuple | Op
        if type(args) is list:
            entry = self.apply(gate, name, m.start(1), params, args)
        elif len(params) != gate.num_params or len(args) != gate.num_qubits:
            entry = self.apply(gate, name, m.start(1), params, [(q, 1, False) for q in args])
        elif gate.prim is not None:
            entry = Op(gate.prim, args, params if gate.keep_params else ())
        else:
            entry = gate, params, args
        if seen and len(self.cache) < _CACHE_SIZE:
            self.cache[m.group()] = entry
        return entry

    def fast_args(self, atext: str) -> tuple[int, ...] | list | None:
        """Distinct single qubits as a tuple; with registers, the argument list; None if
        anything is unusual."""
        pieces = atext.split(",")
        if len(pieces) > 1 and not pieces[-1].strip():
            pieces.pop()
        args: list[tuple[int, int, bool]] = []
        for piece in pieces:
            m = _ARG.fullmatch(piece)
            reg = self.qregs.get(m.group(1)) if m is not None else None
            if reg is None:
                return None
            digits = m.group(2)  # type: ignore[union-attr]  # reg is None when m is
            if digits is None:
                args.append((reg[0], reg[1], True))
                continue
            if len(digits) > 18 or (digits[0] == "0" and len(digits) > 1) \
                    or int(digits) >= reg[1]:
                return None
            args.append((reg[0] + int(digits), 1, False))
        if any(is_reg for _, _, is_reg in args):
            return args
        qubits = tuple(q for q, _, _ in args)
        return qubits if len(set(qubits)) == len(qubits) else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _operand(size: int, is_reg: bool, noun: str) -> str:
    return f"a register of {_count(size, noun)}" if is_reg else f"a single {noun}"


_STATEMENTS = {
    "include": _Reader.include, "qreg": _Reader.register, "creg": _Reader.register,
    "gate": _Reader.gate_definition, "opaque": _Reader.unsupported,
    "reset": _Reader.unsupported, "if": _Reader.unsupported, "measure": _Reader.measure,
    "barrier": _Reader.barrier, "id": _Reader.application,
}


def to_qasm(circuit: Circuit, *, params=None, inputs=None) -> str:
    """OpenQASM 2 text for ``circuit``; symbolic parameters take the given values
    (flat arrays in the order of ``circuit.layout``, or mappings ``{name: array}``).

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
    if not isinstance(circuit, Circuit):
        raise ParameterError(f"to_qasm needs a tnq.Circuit, got {type(circuit).__name__}")
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    needed: list[str] = []
    body = []
    layout = circuit.layout
    offsets = {kind: layout.offsets(kind) for kind in ("param", "input")}
    params, inputs = layout.pack(params, "param"), layout.pack(inputs, "input")
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
                try:
                    v = layout.flatten(p, offsets).value(params, inputs)
                except (TypeError, ValueError, IndexError):
                    raise ParameterError(
                        f"to_qasm: operation {k} ({op}) needs {p!r}, but params/inputs have "
                        "no real number there (expected flat arrays in the order of "
                        "circuit.layout, or mappings {name: array})") from None
                if not math.isfinite(v):
                    raise ParameterError(f"to_qasm: operation {k} ({op}) has angle {v} from "
                                         f"{p!r}; expected a finite number")
                values.append(v)
            else:
                values.append(p)
        args = "(" + ",".join(repr(float(v)) for v in values) + ")" if values else ""
        body.append(f"{op.name}{args} " + ",".join(f"q[{q}]" for q in op.qubits) + ";")
    lines += [GATES[g].qasm or "" for g in needed]
    lines.append(f"qreg q[{circuit.num_qubits}];")
    return "\n".join(lines + body) + "\n"
