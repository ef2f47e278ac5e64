"""Tokens of OpenQASM 2 text, read on demand.

A :class:`Lexer` reads one token at a time from a position in the text, so a
statement that must be refused is refused before the rest of the file is
read. A token is a plain tuple ``(kind, text, start, end)``: ``kind`` is
``"id"``, ``"int"``, ``"real"``, ``"str"``, ``"eof"``, a keyword (``"qreg"``,
``"pi"``, ``"sin"``, ...) or the symbol itself (``";"``, ``"->"``, ...).
Positions are offsets into the text; :func:`where` turns one into a line and
column only when an error is raised.

Identifiers follow Qiskit's reading of the language: they start with a
lowercase letter, except the built-ins ``U``, ``CX`` and ``OPENQASM``.
Integers have no leading zeros; a number runs up to a word boundary.
"""

from __future__ import annotations

import re

from .errors import QasmError

__all__ = ["Lexer", "Token", "KEYWORDS", "FUNCTIONS", "where", "describe"]

Token = tuple[str, str, int, int]

FUNCTIONS = frozenset({"sin", "cos", "tan", "exp", "ln", "sqrt"})
KEYWORDS = frozenset({"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure",
                      "reset", "barrier", "if", "pi"}) | FUNCTIONS
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
# Written to never backtrack far (Python 3.10 has no possessive quantifiers): a comment
# runs to the end of its line, and every alternative after the space either matches or
# falls through to `bad`, one character.
_SPACE = r"(?:\s|//[^\n]*(?![^\n]))*"
_TOKEN = re.compile(rf"""
    {_SPACE}
    (?:
        (?P<num>{_NUMBER})
      | (?P<word>[A-Za-z_]\w*)
      | (?P<str>"[^"\n]*"|'[^'\n]*')
      | (?P<badstr>["'])
      | (?P<sym>->|==|[;,()\[\]{{}}+\-*/^])
      | (?P<eof>\Z)
      | (?P<bad>.)
    )""", re.VERBOSE | re.ASCII | re.DOTALL)
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_BUILTIN_CAPITALS = frozenset({"U", "CX", "OPENQASM"})


def where(text: str, pos: int) -> tuple[int, int]:
    """The 1-based line and column of offset ``pos`` in ``text``.

    Examples
    --------
    >>> where("ab\\ncd", 4)
    (2, 2)
    """
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


class Lexer:
    """Tokens of ``text[pos:end]``, one at a time.

    Parameters
    ----------
    text : str
        The whole program (error positions are offsets into it).
    pos, end : int
        Where to start and where the input ends for this lexer.

    Examples
    --------
    >>> lex = Lexer("qreg q[2]; // two qubits")
    >>> [lex.next()[0] for _ in range(7)]
    ['qreg', 'id', '[', 'int', ']', ';', 'eof']
    """

    def __init__(self, text: str, pos: int = 0, end: int | None = None):
        self.text = text
        self.pos = pos
        self.end = len(text) if end is None else end
        self._peeked: tuple[int, Token] | None = None

    def error(self, message: str, pos: int) -> QasmError:
        """A :class:`~tnq.QasmError` at offset ``pos``."""
        return QasmError(message, *where(self.text, pos))

    def peek(self) -> Token:
        """The next token, without consuming it."""
        if self._peeked is not None and self._peeked[0] == self.pos:
            return self._peeked[1]
        tok = self._read(self.pos)
        self._peeked = (self.pos, tok)
        return tok

    def next(self) -> Token:
        """The next token, consumed."""
        tok = self.peek()
        self.pos = tok[3]
        return tok

    def accept(self, kind: str) -> bool:
        """Consume the next token if it is of ``kind``."""
        if self.peek()[0] == kind:
            self.next()
            return True
        return False

    def expect(self, kind: str, what: str | None = None) -> Token:
        """Consume a token of ``kind``, or raise naming ``what`` was expected."""
        tok = self.next()
        if tok[0] != kind:
            raise self.error(f"expected {what or repr(kind)}, got {describe(tok)}", tok[2])
        return tok

    def _read(self, pos: int) -> Token:
        m = _TOKEN.match(self.text, pos, self.end)
        assert m is not None  # the pattern matches any character or the end
        kind = m.lastgroup or "bad"
        start, end = m.span(kind)
        text = m.group(kind)
        if kind == "sym":
            return text, text, start, end
        if kind == "word":
            return self._word(text, start), text, start, end
        if kind == "num":
            return self._number(text, start, end), text, start, end
        if kind == "str" or kind == "eof":
            return kind, text, start, end
        raise self.error(_BAD[kind](text), start)

    def _number(self, text: str, start: int, end: int) -> str:
        if end < self.end and self.text[end] in _WORD_CHARS:
            shown = text if len(text) <= 20 else text[:17] + "..."
            raise self.error(f"malformed number {shown + self.text[end]!r}: a number ends at a "
                             "space, an operator or a bracket", start)
        if not text.isdigit():
            return "real"
        if len(text) > 1 and text[0] == "0":
            raise self.error(f"integers cannot have leading zeros, got {text[:20]!r}", start)
        return "int"

    def _word(self, text: str, start: int) -> str:
        if text in KEYWORDS:
            return text
        if "a" <= text[0] <= "z" or text in _BUILTIN_CAPITALS:
            return "id"
        raise self.error(f"identifiers start with a lowercase letter (only U, CX and OPENQASM "
                         f"are capitalised), got {text!r}", start)


_BAD = {
    "badstr": lambda t: f"unterminated string: the closing {t} is missing on this line",
    "bad": lambda t: f"unexpected character {t!r}",
}


def describe(tok: Token) -> str:
    """How a token is named in an error message."""
    kind, text = tok[0], tok[1]
    if kind == "eof":
        return "the end of the input"
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)
