"""Parameter expressions of OpenQASM 2: parsed with an explicit stack, folded
when constant, evaluated without recursion.

:func:`parse` reads one expression from a :class:`~tnq.qasm_lexer.Lexer` by
operator precedence (``^`` binds tightest and to the right, then unary ``-``
and ``+``, then ``* /``, then ``+ -``), so nesting depth costs memory, never
Python recursion. Sub-expressions without parameters are computed as they
are read, so ``1/0`` is an error where it is written, even inside a ``gate``
body that is never called. The result is a ``float`` (a constant), an ``int``
(the index of a bare gate parameter) or a tuple of postfix instructions for
:func:`evaluate`.

Two faster routes give the same values bit for bit: :func:`fast_values` reads
parameter lists of numbers, ``pi``, signs and ``+ - * /`` with regular
expressions (anything else is left to :func:`parse`), and :func:`compile_values`
turns the expressions of a gate body into one function of the gate's
parameter values. :func:`flatten` compiles a whole gate definition, nested
calls included, into a flat template of operations that :func:`instantiate`
fills in for each call.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import cast

from .circuit import Op
from .errors import QasmError
from .qasm_lexer import Lexer, describe, where

__all__ = ["Expr", "EvalError", "parse", "evaluate", "value", "fast_values", "read_values",
           "compile_values", "SAME", "flatten", "instantiate"]

Expr = float | int | tuple
_CONST, _PARAM, _NEG, _FN, _BIN = range(5)
_BINARY: dict[str, tuple[int, Callable[[float, float], float]]] = {
    "+": (1, operator.add), "-": (1, operator.sub),
    "*": (2, operator.mul), "/": (2, operator.truediv), "^": (4, math.pow)}
_NEG_PRECEDENCE = 3
_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "ln": math.log,
    "sqrt": math.sqrt}


class EvalError(Exception):
    """An expression with no finite value (``1/0``, ``ln(0)``); ``pos`` is where."""

    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message = message
        self.pos = pos


def parse(lex: Lexer, params: dict[str, int] | None, qubits: Sequence[str] = (),
          gate: str | None = None) -> Expr:
    """Read one expression; it ends before a ``,`` or ``)`` outside its parentheses.

    Parameters
    ----------
    lex : Lexer
        Positioned at the first token of the expression.
    params : dict, optional
        Parameter names of the enclosing ``gate`` definition and their indices
        (``None`` outside a definition).
    qubits : sequence of str
        Qubit names of the enclosing definition (named in errors when used as
        parameters).
    gate : str, optional
        The name of the enclosing definition, for errors.

    Examples
    --------
    >>> parse(Lexer("2 ^ 3 ^ 2"), None)
    512.0
    >>> evaluate(parse(Lexer("-a / 2"), {"a": 0}), [3.0])
    -1.5
    """
    return _Parser(lex, params, qubits, gate).run()


def evaluate(code: tuple, env: Sequence[float]) -> float:
    """The value of compiled ``code`` for parameter values ``env``.

    Raises :class:`EvalError` (with the offset of the failing operator) for
    division by zero, a math domain error, an overflow or a non-finite value.

    Examples
    --------
    >>> code = parse(Lexer("a * 2 + sin(b)"), {"a": 0, "b": 1})
    >>> evaluate(code, (1.5, 0.0))
    3.0
    """
    stack: list[float] = []
    push, pop = stack.append, stack.pop
    a = b = 0.0
    for kind, arg, pos, text in code:
        try:
            if kind is _CONST:
                push(arg)
            elif kind is _PARAM:
                push(env[arg])
            elif kind is _NEG:
                stack[-1] = -stack[-1]
            elif kind is _FN:
                a = stack[-1]
                stack[-1] = arg(a)
            else:
                b = pop()
                a = stack[-1]
                stack[-1] = arg(a, b)
        except (ArithmeticError, ValueError):
            raise EvalError(_failure(kind, text, a, b), pos) from None
    result = stack[0]
    if result - result != 0.0:  # inf or nan
        raise EvalError(f"the value is {result}, not a finite number", code[0][2])
    return result


def value(expr: Expr, env: Sequence[float]) -> float:
    """The value of any parsed expression (constant, parameter or code)."""
    kind = type(expr)
    if kind is float:
        return expr  # type: ignore[return-value]
    if kind is int:
        return env[expr]  # type: ignore[index]
    return evaluate(expr, env)  # type: ignore[arg-type]


def _failure(kind: int, text: str, a: float, b: float) -> str:
    if kind is _FN:
        if text == "ln" and a <= 0:
            return f"ln of a non-positive number ({a!r})"
        if text == "sqrt" and a < 0:
            return f"sqrt of a negative number ({a!r})"
        return f"{text}({a!r}) has no finite value"
    if text == "/":
        return f"division by zero ({a!r} / {b!r})"
    return f"{a!r} {text} {b!r} has no finite value"


class _Parser:
    """Shunting-yard: operands go to ``out`` (postfix), operators wait on ``ops``."""

    def __init__(self, lex: Lexer, params: dict[str, int] | None, qubits: Sequence[str],
                 gate: str | None):
        self.lex, self.params, self.qubits, self.gate = lex, params, qubits, gate
        self.out: list[tuple] = []
        # (precedence or -1 for '(' , kind, function, pos, text, is_function_call)
        self.ops: list[tuple] = []
        self.open = 0

    def run(self) -> Expr:
        start = self.lex.peek()[2]
        while True:
            self.operand()
            if not self.operator():
                break
        while self.ops:
            self.emit(self.ops.pop())
        out = self.out
        if len(out) == 1 and out[0][0] is _CONST:
            result = out[0][1]
            if result - result != 0.0:
                raise self.lex.error(f"the value is {result}, not a finite number", start)
            return result
        if len(out) == 1:
            return out[0][1]
        return tuple(out)

    def operand(self) -> None:
        """Prefix operators and '(' until one operand is read."""
        lex = self.lex
        while True:
            kind, text, pos, _ = tok = lex.next()
            if kind == "-":
                self.ops.append((_NEG_PRECEDENCE, _NEG, None, pos, "-", False))
            elif kind == "(":
                self.ops.append((-1, None, None, pos, "(", False))
                self.open += 1
            elif kind in _FUNCTIONS:
                lex.expect("(", f"'(' after the function {kind!r}")
                self.ops.append((-1, _FN, _FUNCTIONS[kind], pos, kind, True))
                self.open += 1
            elif kind != "+":
                self.out.append(self.atom(tok))
                return

    def atom(self, tok) -> tuple:
        kind, text, pos, _ = tok
        if kind == "int" or kind == "real":
            return (_CONST, float(text), pos, text)
        if kind == "pi":
            return (_CONST, math.pi, pos, text)
        if kind == "id" and self.params is not None and text in self.params:
            return (_PARAM, self.params[text], pos, text)
        raise self.lex.error(self.unknown(tok), pos)

    def unknown(self, tok) -> str:
        kind, text = tok[0], tok[1]
        if kind in _BINARY:
            return f"{text!r} is not a unary operator; expected a number, a parameter, pi, " \
                   "a function or '('"
        if kind != "id":
            return f"expected an expression, got {describe(tok)}"
        if text in self.qubits:
            return f"{text!r} is a qubit of gate {self.gate!r}, not a parameter"
        if self.params is None:
            return f"unknown parameter {text!r}: outside a gate definition an expression " \
                   "holds only numbers, pi and functions"
        known = ", ".join(self.params) or "none"
        return f"unknown parameter {text!r} in gate {self.gate!r} (its parameters: {known})"

    def operator(self) -> bool:
        """Closing parentheses, then one binary operator; False at the end."""
        lex = self.lex
        while True:
            kind, text, pos, _ = tok = lex.peek()
            if kind in _BINARY:
                lex.next()
                self.binary(kind, pos)
                return True
            if self.open == 0:
                return False
            lex.next()
            if kind == "," and self.ops_top_is_call():
                kind, text, pos, _ = tok = lex.next()  # a trailing comma: sin(x,)
            if kind != ")":
                raise lex.error(f"expected ')' to close the '(' at {self.open_where()}, "
                                f"got {describe(tok)}", pos)
            self.close()

    def binary(self, symbol: str, pos: int) -> None:
        precedence, fn = _BINARY[symbol]
        ops = self.ops
        right = symbol == "^"
        while ops and (ops[-1][0] > precedence or (ops[-1][0] == precedence and not right)):
            self.emit(ops.pop())
        ops.append((precedence, _BIN, fn, pos, symbol, False))

    def close(self) -> None:
        ops = self.ops
        while ops[-1][0] != -1:
            self.emit(ops.pop())
        paren = ops.pop()
        self.open -= 1
        if paren[5]:
            self.emit(paren)

    def ops_top_is_call(self) -> bool:
        for entry in reversed(self.ops):
            if entry[0] == -1:
                return entry[5]
        return False

    def open_where(self) -> str:
        pos = next(e[3] for e in reversed(self.ops) if e[0] == -1)
        line, col = where(self.lex.text, pos)
        return f"line {line}, column {col}"

    def emit(self, entry: tuple) -> None:
        """Append an operator to the postfix code, computing it now if its operands are
        constants."""
        _, kind, fn, pos, text, _ = entry
        out = self.out
        if text == "/" and out[-1][0] is _CONST and out[-1][1] == 0.0:
            raise self.lex.error("division by zero (the divisor is the constant 0)", pos)
        arity = 2 if kind is _BIN else 1
        if all(x[0] is _CONST for x in out[-arity:]):
            try:
                args = [x[1] for x in out[-arity:]]
                result = -args[0] if kind is _NEG else fn(*args)
            except (ArithmeticError, ValueError):
                a, b = (args + [0.0])[:2]
                raise self.lex.error(_failure(kind, text, a, b), pos) from None
            del out[-arity:]
            out.append((_CONST, result, pos, text))
        else:
            out.append((kind, fn, pos, text))


# ------------------------------------------------------------------ fast paths
_DIGITS = r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
# A plain number as the lexer reads it: no integer with a leading zero ("007").
_PLAIN = r"\s*[-+]?(?:\d+\.\d*|\.\d+|[1-9]\d*|0|\d+(?=[eE]))(?:[eE][-+]?\d+)?\s*"
_PLAIN_ONE = re.compile(_PLAIN, re.ASCII)
_PLAIN_LIST = re.compile(rf"{_PLAIN}(?:,{_PLAIN})*(?:,\s*)?", re.ASCII)
_ATOM = rf"\s*[-+]*\s*(?:pi|{_DIGITS})\s*"
_ARITHMETIC = re.compile(rf"{_ATOM}(?:[-+*/]{_ATOM})*", re.ASCII)
_ARITH_TOKEN = re.compile(rf"pi|{_DIGITS}|[-+*/]", re.ASCII)
_FAST_LENGTH = 80  # longer expressions go to the general parser


def fast_values(text: str) -> tuple[float, ...] | None:
    """The values of a parameter list outside a gate definition (the text between
    the parentheses) when every entry is numbers and ``pi`` with signs and
    ``+ - * /``; ``None`` for anything else, or for anything :func:`parse` would
    refuse (``1/0``, ``007``, an infinite value), so that it reports the error.

    The values are computed in :func:`parse`'s order: bit for bit the same.

    Examples
    --------
    >>> fast_values("pi/2, 0, -pi")
    (1.5707963267948966, 0.0, -3.141592653589793)
    >>> fast_values("sin(1)") is None
    True
    """
    if "," not in text:  # one value: the common case
        if _PLAIN_ONE.fullmatch(text) is not None:
            v = float(text)
            if v - v == 0.0:
                return (v,)
        elif not text or text.isspace():
            return ()
        x = _arithmetic(text)
        return None if x is None else (x,)
    pieces = text.split(",")
    if len(pieces) > 1 and (not pieces[-1] or pieces[-1].isspace()):
        pieces.pop()
    if _PLAIN_LIST.fullmatch(text) is not None:
        values = tuple(map(float, pieces))
        total = sum(values)
        if total - total == 0.0:  # all finite (or a sum that overflows: go piece by piece)
            return values
    out = []
    for piece in pieces:
        x = _arithmetic(piece)
        if x is None:
            return None
        out.append(x)
    return tuple(out)


def read_values(text: str, start: int, end: int) -> tuple[float, ...] | None:
    """The values of the parameter list ``text[start:end]`` outside a gate
    definition, read token by token; None for anything the reader refuses (the
    statement is read again to report it).

    Examples
    --------
    >>> read_values("U(sin(pi / 2), 0, 0) q[0];", 2, 19)
    (1.0, 0.0, 0.0)
    """
    lex = Lexer(text, start, end)
    out: list = []
    try:
        while lex.peek()[0] != "eof":
            out.append(parse(lex, None))
            if not lex.accept(","):
                break
    except QasmError:
        return None
    return tuple(out) if lex.peek()[0] == "eof" else None


def _arithmetic(text: str) -> float | None:
    """A sum of products of signed numbers and pi, or None (see :func:`fast_values`)."""
    if len(text) > _FAST_LENGTH or _ARITHMETIC.fullmatch(text) is None:
        return None
    total = term = 0.0
    add = mul = ""  # the pending + or - and * or /; "" before the first operand
    negative, operand = False, True
    for tok in _ARITH_TOKEN.findall(text):
        if operand:
            if tok == "-":
                negative = not negative
                continue
            if tok == "+":
                continue
            if tok == "pi":
                x = math.pi
            elif len(tok) > 1 and tok[0] == "0" and tok.isdigit():
                return None  # an integer with a leading zero: the lexer refuses it
            else:
                x = float(tok)
            if negative:
                x, negative = -x, False
            if not mul:
                term = x
            elif mul == "*":
                term = term * x
            elif x == 0.0:
                return None
            else:
                term = term / x
            operand = False
        elif tok == "*" or tok == "/":
            mul, operand = tok, True
        else:
            total = term if not add else total + term if add == "+" else total - term
            add, mul, operand = tok, "", True
    total = term if not add else total + term if add == "+" else total - term
    return total if total - total == 0.0 else None


SAME = object()
"""What :func:`compile_values` returns when the values are the gate's own."""

def compile_values(exprs: Sequence[Expr], num_params: int):
    """The values of a gate body's parameter expressions as a function of the
    enclosing gate's parameter values ``env``.

    Returns a tuple when every expression is constant, :data:`SAME` when the
    values are ``env`` itself, and otherwise a function ``env -> tuple`` that
    computes what :func:`value` computes and raises :class:`EvalError` where it
    does.

    Examples
    --------
    >>> params = {"t": 0}
    >>> f = compile_values([parse(Lexer("2 * t"), params), parse(Lexer("t / 2"), params)], 1)
    >>> f((0.5,))
    (1.0, 0.25)
    >>> compile_values([parse(Lexer("t"), params)], 1) is SAME
    True
    """
    if all(type(x) is float for x in exprs):
        return tuple(exprs)
    if len(exprs) == num_params and all(x == k and type(x) is int for k, x in enumerate(exprs)):
        return SAME
    items = tuple(exprs)

    def slow(env: Sequence[float]) -> tuple[float, ...]:
        return tuple([value(x, env) for x in items])

    if len(items) == 1:
        return _compile_single(items[0], slow)
    fns = [_compile_one(x) for x in items]

    def many(env: Sequence[float]) -> tuple[float, ...]:
        try:
            values = tuple([f(env) for f in fns])
        except (ArithmeticError, ValueError):
            return slow(env)
        total = sum(values)
        return values if total - total == 0.0 else slow(env)  # else: slow checks each
    return many


def _compile_single(expr: Expr, slow: Callable) -> Callable[[Sequence[float]], tuple]:
    """:func:`compile_values` of one expression: ``env -> (value,)``."""
    code = expr if type(expr) is tuple else ()
    if tuple(step[0] for step in code) in ((_PARAM, _CONST, _BIN), (_CONST, _PARAM, _BIN)):
        fn = code[2][1]
        param_first = code[0][0] is _PARAM
        i, c = (code[0][1], code[1][1]) if param_first else (code[1][1], code[0][1])

        def binary(env: Sequence[float]) -> tuple[float, ...]:  # one call: the common case
            try:
                v = fn(env[i], c) if param_first else fn(c, env[i])
            except (ArithmeticError, ValueError):
                return slow(env)
            return (v,) if v - v == 0.0 else slow(env)
        return binary
    one = _compile_one(expr)

    def single(env: Sequence[float]) -> tuple[float, ...]:
        try:
            v = one(env)
        except (ArithmeticError, ValueError):
            return slow(env)
        return (v,) if v - v == 0.0 else slow(env)
    return single


def _compile_one(expr: Expr) -> Callable[[Sequence[float]], float]:
    """A function computing one expression as :func:`value` does; it may raise an
    ArithmeticError or ValueError, or return a non-finite value, where :func:`value`
    raises."""
    if type(expr) is float:
        return lambda env: expr  # type: ignore[return-value]
    if type(expr) is int:
        return operator.itemgetter(expr)
    code = cast(tuple, expr)
    kinds = tuple(step[0] for step in code)
    if kinds == (_PARAM, _NEG):
        i = code[0][1]
        return lambda env: -env[i]
    if kinds == (_PARAM, _FN):
        i, fn = code[0][1], code[1][1]
        return lambda env: fn(env[i])
    if kinds == (_PARAM, _CONST, _BIN):
        i, c, fn = code[0][1], code[1][1], code[2][1]
        return lambda env: fn(env[i], c)
    if kinds == (_CONST, _PARAM, _BIN):
        c, i, fn = code[0][1], code[1][1], code[2][1]
        return lambda env: fn(c, env[i])
    return lambda env: evaluate(code, env)


# ----------------------------------------------------------- gate templates
def flatten(gate, made: dict) -> tuple:
    """``(steps, registers, runtime steps)`` of a definition whose callees are in ``made``.

    ``gate`` is a definition of :mod:`tnq.qasm`: its ``body`` holds ``(callee,
    exprs, qubit indices, pos, values)``, ``values`` from :func:`compile_values`,
    and a callee with a ``prim`` is a registry gate. A step is ``(prim, qubit
    indices, values, register)``: the operation ``prim`` on those qubits of the
    call with the values computed from parameter register ``register``, or with
    ``prim`` None, a new register: the parameters of a nested call. Register 0
    holds the call's own parameters. The runtime steps are what
    :func:`instantiate` reads.
    """
    steps: list[tuple] = []
    registers = 1
    for callee, _, where_, _, spec in gate.body:
        if callee.prim is not None:
            steps.append((callee.prim, where_, spec if callee.keep_params else _dropped(spec), 0))
            continue
        inner, inner_registers, _ = made[callee]
        base = 0
        if spec is not SAME:
            steps.append((None, (), spec, 0))
            base, registers = registers, registers + 1
        shift = registers - 1  # the callee's registers 1, 2, ... are numbered from here
        for prim, qubits, values, register in inner:
            steps.append((prim, tuple([where_[i] for i in qubits]), values,
                          shift + register if register else base))
        registers += inner_registers - 1
    runtime = tuple((prim, _picker(qubits), values, register)
                    for prim, qubits, values, register in steps)
    return tuple(steps), registers, runtime


def _picker(qubits: tuple[int, ...]) -> Callable | None:
    """A function of the call's qubits giving the step's qubits as a tuple."""
    if not qubits:
        return None
    if len(qubits) == 1:
        return itemgetter(slice(qubits[0], qubits[0] + 1))
    return itemgetter(*qubits)


def _dropped(spec):
    """Values computed (and checked) but not kept: ``u0``'s duration."""
    if type(spec) is tuple or spec is SAME:
        return ()

    def dropped(env: Sequence[float]) -> tuple:
        spec(env)
        return ()
    return dropped


def instantiate(template: tuple, values: tuple[float, ...], qubits: tuple[int, ...],
                 ops: list[Op]) -> None:
    """Append the operations of one call of a flattened definition to ``ops``."""
    registers = [values]
    append, new, same, constant = ops.append, Op, SAME, tuple
    for prim, pick, spec, register in template:
        env = registers[register]
        params = spec if type(spec) is constant else env if spec is same else spec(env)
        if prim is None:
            registers.append(params)
        else:
            append(new(prim, pick(qubits), params))
