"""Observables: Pauli strings, weighted sums of them, and k-local dense operators.

Build them in code (``Z(0) * Z(1) + 0.5 * X(3)``) or parse text with
:func:`observable` (``"Z0 Z1 + 0.5*X3 - Y2"``). Every function of tnq that
takes an observable accepts text, a term, a sum or a list of terms.

Examples
--------
>>> obs = observable("Z0 Z1 + 0.5*X3 - Y2")
>>> obs
Observable('Z0 Z1 + 0.5*X3 - Y2')
>>> Z(0) * Z(1) + 0.5 * X(3) - Y(2) == obs
True
>>> len(obs.terms), obs.num_qubits
(3, 4)
"""

from __future__ import annotations

import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from .checks import MAX_QUBITS, show
from .errors import ObservableError

__all__ = ["PauliString", "DenseOperator", "Observable", "X", "Y", "Z", "observable"]

PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}
# product table: (a, b) -> (phase, c) with a*b = phase * c
_PRODUCT = {
    (a, b): (p, c)
    for a in "IXYZ" for b in "IXYZ"
    for p in (1, -1, 1j, -1j) for c in "IXYZ"
    if np.allclose(PAULI[a] @ PAULI[b], p * PAULI[c])
}


def _coeff(value: object, where: str) -> complex:
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        try:
            v = complex(value)  # type: ignore[arg-type,call-overload]
        except (TypeError, ValueError, OverflowError):  # e.g. an int beyond floats
            v = complex(np.inf)
        if np.isfinite(v):
            return v
    raise ObservableError(f"{where}: coefficient must be a finite number, got {show(value)}")


def _qubit(q: object, where: str) -> int:
    if isinstance(q, numbers.Integral) and not isinstance(q, bool) and 0 <= int(q) < MAX_QUBITS:
        return int(q)
    raise ObservableError(f"{where}: qubit must be an integer 0..{MAX_QUBITS - 1} (circuits "
                          f"have at most tnq.circuit.MAX_QUBITS qubits), got {show(q)}")


def _short(qubits: Sequence[int]) -> str:
    """A short text for many qubits."""
    qs = tuple(qubits)
    return str(qs) if len(qs) <= 8 else f"({qs[0]}, {qs[1]}, ..., {qs[-1]}) ({len(qs)} qubits)"


class _Algebra(ABC):
    """Sum, scaling and subtraction shared by terms and sums."""

    @abstractmethod
    def _as_sum(self) -> Observable:
        """This object as a sum of terms."""

    def __add__(self, other: object) -> Observable:
        return Observable(self._as_sum().terms + observable(other).terms)

    def __radd__(self, other: object) -> Observable:
        if other == 0:  # lets sum() work
            return self._as_sum()
        return observable(other) + self

    def __sub__(self, other: object) -> Observable:
        return self + (-1) * observable(other)

    def __rsub__(self, other: object) -> Observable:
        return observable(other) + (-1) * self._as_sum()

    def __neg__(self):
        return (-1) * self

    def __truediv__(self, other: object):
        return self * (1 / _coeff(other, "division"))  # type: ignore[operator]


@dataclass(frozen=True)
class PauliString(_Algebra):
    """``coeff * P_q1 P_q2 ...``: a weighted tensor product of Pauli operators.

    ``paulis`` maps qubits to ``"X"``, ``"Y"`` or ``"Z"``; it is stored sorted.
    """

    paulis: tuple[tuple[int, str], ...] = ()
    coeff: complex = 1.0

    def __post_init__(self):
        seen: dict[int, str] = {}
        for q, p in self.paulis:
            q = _qubit(q, f"Pauli {p!r}")
            if p not in ("X", "Y", "Z"):
                raise ObservableError(f"unknown Pauli {p!r} on qubit {q}: expected X, Y or Z")
            if q in seen:
                raise ObservableError(f"qubit {q} appears twice in one Pauli string "
                                      f"({seen[q]}{q} and {p}{q}); multiply strings instead")
            seen[q] = p
        object.__setattr__(self, "paulis", tuple(sorted(seen.items())))
        object.__setattr__(self, "coeff", _coeff(self.coeff, str(self.paulis)))

    @property
    def qubits(self) -> tuple[int, ...]:
        return tuple(q for q, _ in self.paulis)

    def local_matrix(self) -> np.ndarray:
        """The ``2^k`` matrix on :attr:`qubits` (big-endian), without the coefficient."""
        return reduce(np.kron, (PAULI[p] for _, p in self.paulis), np.eye(1, dtype=complex))

    def _as_sum(self) -> Observable:
        return Observable((self,))

    def __mul__(self, other: object):
        if isinstance(other, PauliString):
            ops = dict(self.paulis)
            phase: complex = self.coeff * other.coeff
            for q, b in other.paulis:
                p, c = _PRODUCT[(ops.get(q, "I"), b)]
                phase *= p
                ops[q] = c
            return PauliString(tuple((q, p) for q, p in ops.items() if p != "I"), phase)
        if isinstance(other, (Observable, DenseOperator)):
            return NotImplemented
        return PauliString(self.paulis, self.coeff * _coeff(other, str(self)))

    def __rmul__(self, other: object):
        return PauliString(self.paulis, self.coeff * _coeff(other, str(self)))

    def __str__(self) -> str:
        body = " ".join(f"{p}{q}" for q, p in self.paulis) or "I"
        return _with_coeff(self.coeff, body)


@dataclass(frozen=True, eq=False)
class DenseOperator(_Algebra):
    """``coeff * M`` for a dense Hermitian ``2^k x 2^k`` matrix ``M`` on ``qubits``.

    Examples
    --------
    >>> import numpy as np
    >>> zz = DenseOperator(np.diag([1.0, -1, -1, 1]), (0, 1))
    >>> zz.qubits
    (0, 1)
    """

    matrix: np.ndarray = field(repr=False)
    qubits: tuple[int, ...] = ()
    coeff: complex = 1.0

    def __post_init__(self):
        if not isinstance(self.qubits, Sequence) or isinstance(self.qubits, str):
            raise ObservableError(f"dense operator: qubits must be a sequence of qubit "
                                  f"indices, got {show(self.qubits)}")
        qs = tuple(_qubit(q, "dense operator") for q in self.qubits)
        if len(set(qs)) != len(qs) or not qs:
            raise ObservableError(f"dense operator: qubits must be distinct and non-empty, "
                                  f"got {_short(qs)}")
        try:
            m = np.array(self.matrix, dtype=complex)
        except (TypeError, ValueError, OverflowError):
            raise ObservableError(f"dense operator on {_short(qs)}: matrix is not numeric") \
                from None
        k = len(qs)
        if m.shape != (2**k, 2**k):
            d = str(2**k) if k <= 64 else f"2^{k}"
            raise ObservableError(f"dense operator on {_short(qs)}: expected a {d}x{d} "
                                  f"matrix for {k} qubit(s), got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ObservableError(f"dense operator on {qs}: matrix has NaN or inf entries")
        if not np.allclose(m, m.conj().T, atol=1e-10):
            raise ObservableError(f"dense operator on {qs}: matrix is not Hermitian")
        m.setflags(write=False)
        order = np.argsort(qs)
        if list(order) != list(range(len(qs))):  # store with sorted qubits
            t = m.reshape((2,) * 2 * k).transpose(list(order) + [k + i for i in order])
            m = np.ascontiguousarray(t).reshape(2**k, 2**k)
            qs = tuple(sorted(qs))
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "qubits", qs)
        object.__setattr__(self, "coeff", _coeff(self.coeff, f"dense operator on {qs}"))

    def local_matrix(self) -> np.ndarray:
        return self.matrix

    def _as_sum(self) -> Observable:
        return Observable((self,))

    def __mul__(self, other: object) -> DenseOperator:
        return DenseOperator(self.matrix, self.qubits, self.coeff * _coeff(other, str(self)))

    __rmul__ = __mul__

    def __str__(self) -> str:
        return _with_coeff(self.coeff, f"Dense{list(self.qubits)}")


Term = PauliString | DenseOperator


def _with_coeff(c: complex, body: str) -> str:
    if c == 1:
        return body
    if c == -1 and body != "I":
        return f"-{body}"
    num = f"{c.real:g}" if c.imag == 0 else f"({c:g})"
    return num if body == "I" else f"{num}*{body}"


@dataclass(frozen=True, eq=False)
class Observable(_Algebra):
    """A weighted sum of terms (Pauli strings and dense operators)."""

    terms: tuple[Term, ...] = ()

    def __post_init__(self):
        for t in self.terms:
            if not isinstance(t, (PauliString, DenseOperator)):
                raise ObservableError(f"observable term {t!r} is not a PauliString "
                                      "or DenseOperator")
        object.__setattr__(self, "terms", tuple(self.terms))

    @property
    def num_qubits(self) -> int:
        """One more than the largest qubit index any term acts on."""
        return max((max(t.qubits) + 1 for t in self.terms if t.qubits), default=0)

    @property
    def is_hermitian(self) -> bool:
        return all(abs(t.coeff.imag) <= 1e-12 * max(1.0, abs(t.coeff)) for t in self.terms)

    def _as_sum(self) -> Observable:
        return self

    def __mul__(self, other: object) -> Observable:
        if isinstance(other, (PauliString, Observable, DenseOperator)):
            other = observable(other)
            return Observable(tuple(a * b for a in self.terms for b in other.terms))
        return Observable(tuple(t * other for t in self.terms))

    def __rmul__(self, other: object) -> Observable:
        return Observable(tuple(other * t for t in self.terms))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Observable):
            return NotImplemented
        return self._canonical() == other._canonical()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._canonical().items(), key=str)))

    def _canonical(self) -> dict:
        out: dict = {}
        for t in self.terms:
            key = t.paulis if isinstance(t, PauliString) else (t.qubits, t.matrix.tobytes())
            out[key] = out.get(key, 0) + t.coeff
        return {k: v for k, v in out.items() if v != 0}

    def __str__(self) -> str:
        text = " + ".join(str(t) for t in self.terms) or "0"
        return text.replace("+ -", "- ")

    def __repr__(self) -> str:
        return f"Observable({str(self)!r})"

    def check(self, num_qubits: int) -> None:
        """Raise :class:`~tnq.ObservableError` unless it fits ``num_qubits`` and is Hermitian."""
        for t in self.terms:
            if t.qubits and max(t.qubits) >= num_qubits:
                raise ObservableError(f"term '{t}' acts on qubit {max(t.qubits)}, but the "
                                      f"circuit has {num_qubits} qubits (0..{num_qubits - 1})")
        if not self.is_hermitian:
            bad = next(t for t in self.terms if t.coeff.imag)
            raise ObservableError(f"term '{bad}' has a complex coefficient; expectation "
                                  "values need a Hermitian observable (real coefficients)")


def X(q: int) -> PauliString:
    """Pauli X on qubit ``q``."""
    return PauliString(((q, "X"),))


def Y(q: int) -> PauliString:
    """Pauli Y on qubit ``q``."""
    return PauliString(((q, "Y"),))


def Z(q: int) -> PauliString:
    """Pauli Z on qubit ``q``."""
    return PauliString(((q, "Z"),))


# ------------------------------------------------------------------ parsing

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?j?)|(?P<pauli>[IXYZ])(?P<q>\d*)"
    r"|(?P<op>[-+*])|(?P<bad>\S))"
)


def parse(text: str) -> Observable:
    """Parse ``"Z0 Z1 + 0.5*X3 - Y2"``: terms joined by ``+``/``-``, each an
    optional number (``*`` optional) and Paulis ``X``, ``Y``, ``Z`` (or ``I``)
    followed by the qubit index. A term of just a number is a constant.
    """
    terms: list[Term] = []
    sign, coeff, expect_term = 1.0, None, True
    ops: list[tuple[int, str]] = []
    pos = 0

    def close(at: int) -> None:
        if coeff is None and not ops:
            raise ObservableError(f"observable {text!r}: empty term at column {at + 1}")
        try:
            terms.append(PauliString(tuple(ops), sign * (1 if coeff is None else coeff)))
        except ObservableError as exc:
            raise ObservableError(f"observable {text!r}, term ending at column {at + 1}: "
                                  f"{exc}") from None

    for m in _TOKEN.finditer(text):
        if not m.group(0).strip():
            break
        col = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        if m.group("bad"):
            raise ObservableError(f"observable {text!r}: unexpected {m.group('bad')!r} at "
                                  f"column {col + 1}; expected a number, a Pauli such as "
                                  "'Z3', '+', '-' or '*'")
        if m.group("op") in ("+", "-"):
            if not expect_term or ops or coeff is not None:
                close(col)
                ops, coeff, sign = [], None, 1.0
            sign *= -1.0 if m.group("op") == "-" else 1.0
            expect_term = True
        elif m.group("op") == "*":
            if coeff is None and not ops:
                raise ObservableError(f"observable {text!r}: '*' at column {col + 1} "
                                      "has nothing on its left")
        elif m.group("num"):
            if ops or coeff is not None:
                raise ObservableError(f"observable {text!r}: number at column {col + 1} "
                                      "must come first in its term")
            coeff = complex(m.group("num")) if m.group("num").endswith("j") \
                else float(m.group("num"))
            expect_term = False
        else:
            if m.group("pauli") != "I" and not m.group("q"):
                raise ObservableError(f"observable {text!r}: Pauli {m.group('pauli')!r} at "
                                      f"column {col + 1} needs a qubit index, like "
                                      f"'{m.group('pauli')}0'")
            if len(m.group("q")) > len(str(MAX_QUBITS)):  # no int() of a 5,000-digit index
                raise ObservableError(f"observable {text!r}: the qubit index at column "
                                      f"{col + 2} has {len(m.group('q'))} digits; expected "
                                      f"0..{MAX_QUBITS - 1}")
            if m.group("pauli") != "I":
                ops.append((int(m.group("q")), m.group("pauli")))
            elif coeff is None:
                coeff = 1.0
            expect_term = False
        pos = m.end()
    if expect_term:
        raise ObservableError(f"observable {text!r}: expected a term at column {pos + 1}")
    close(pos)
    return Observable(tuple(terms))


def observable(obj: object) -> Observable:
    """Coerce text, a term, a sum, or a sequence of those to an :class:`Observable`.

    Qiskit's ``SparsePauliOp``, ``Pauli`` and ``SparseObservable`` are taken
    too, with Qiskit's little-endian labels (the last character of ``"XZ"``
    acts on qubit 0); a ``SparseObservable``'s projectors (``0``, ``1``,
    ``+``, ``-``, ``r``, ``l``) become sums of Pauli strings.
    """
    if isinstance(obj, Observable):
        return obj
    if isinstance(obj, (PauliString, DenseOperator)):
        return Observable((obj,))
    if isinstance(obj, str):
        return parse(obj)
    if isinstance(obj, numbers.Number) and not isinstance(obj, bool):
        return Observable((PauliString((), _coeff(obj, "constant term")),))
    if isinstance(obj, Sequence) and not isinstance(obj, (bytes, bytearray)):
        return Observable(tuple(t for o in obj for t in observable(o).terms))
    terms = _qiskit_terms(obj)
    if terms is not None:
        return Observable(terms)
    raise ObservableError(f"cannot make an observable from {obj!r} ({type(obj).__name__}); "
                          "expected text like 'Z0 Z1 + 0.5*X2', a PauliString, "
                          "DenseOperator, Observable, a Qiskit SparsePauliOp, Pauli or "
                          "SparseObservable, or a list of them")


# ------------------------------------------------------------------ Qiskit's operators

_PROJECTORS = {"0": ("Z", 1), "1": ("Z", -1), "+": ("X", 1), "-": ("X", -1),
               "r": ("Y", 1), "l": ("Y", -1)}
"""SparseObservable's projector letters: ``(I + sign * P) / 2``."""

MAX_PROJECTORS = 12
"""The most projectors one SparseObservable term may have (each doubles its Pauli strings)."""


def _qiskit_terms(obj: object) -> tuple[Term, ...] | None:
    """The terms of a Qiskit ``SparsePauliOp``, ``Pauli`` or ``SparseObservable``
    (recognised by their methods; Qiskit is not imported), or None.

    Qiskit's labels are little-endian: the last character is qubit 0.

    Examples
    --------
    >>> from qiskit.quantum_info import SparsePauliOp
    >>> observable(SparsePauliOp(["XZ", "IY"], [0.5, 2.0]))
    Observable('0.5*Z0 X1 + 2*Y0')
    """
    if callable(getattr(obj, "to_sparse_list", None)) and hasattr(obj, "bit_terms"):
        out: list[Term] = []
        for k, (letters, qubits, coeff) in enumerate(obj.to_sparse_list()):  # type: ignore
            out += _sparse_term(str(letters), [int(q) for q in qubits], coeff, f"term {k}")
        return tuple(out)
    if callable(getattr(obj, "to_list", None)) and hasattr(obj, "paulis") \
            and hasattr(obj, "coeffs"):
        return tuple(t for k, (label, coeff) in enumerate(obj.to_list())  # type: ignore
                     for t in _label_term(str(label), coeff, f"term {k} ({label!r})"))
    if callable(getattr(obj, "to_label", None)) and hasattr(obj, "phase") \
            and hasattr(obj, "x") and hasattr(obj, "z"):
        label = str(obj.to_label())  # type: ignore[attr-defined]
        body = label.lstrip("-i")
        phase = {"": 1, "-": -1, "i": 1j, "-i": -1j}.get(label[:len(label) - len(body)])
        if phase is None:
            raise ObservableError(f"Pauli {label!r}: unexpected phase prefix")
        return tuple(_label_term(body, phase, f"Pauli {label!r}"))
    return None


def _label_term(label: str, coeff: object, where: str) -> list[Term]:
    """One Pauli label, little-endian (``"XIZ"``: Z on qubit 0, X on qubit 2)."""
    n = len(label)
    return _sparse_term(label[::-1], list(range(n)), coeff, where)


def _sparse_term(letters: str, qubits: list[int], coeff: object, where: str) -> list[Term]:
    """``coeff`` times ``letters[i]`` on ``qubits[i]``: Paulis, identities and
    projectors (expanded into Pauli strings)."""
    if len(letters) != len(qubits):
        raise ObservableError(f"{where}: {len(letters)} letters for {len(qubits)} qubits")
    c = _coeff(coeff, where)
    paulis: list[tuple[int, str]] = []
    projectors: list[tuple[int, str, int]] = []
    for ch, q in zip(letters, qubits):
        if ch in "XYZ":
            paulis.append((q, ch))
        elif ch in _PROJECTORS:
            projectors.append((q, *_PROJECTORS[ch]))
        elif ch != "I":
            raise ObservableError(f"{where}: unknown letter {ch!r} on qubit {q}; expected "
                                  "I, X, Y, Z or a projector 0, 1, +, -, r, l")
    if len(projectors) > MAX_PROJECTORS:
        raise ObservableError(f"{where} has {len(projectors)} projectors; at most "
                              f"{MAX_PROJECTORS} (each doubles the Pauli strings)")
    out: list[Term] = [PauliString(tuple(paulis), c / 2 ** len(projectors))]
    for q, p, sign in projectors:  # (I + sign * P) / 2, the 1/2 applied above
        out = out + [PauliString(t.paulis + ((q, p),), t.coeff * sign)
                     for t in out if isinstance(t, PauliString)]
    return out


