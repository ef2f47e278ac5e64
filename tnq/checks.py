"""Checks of the arguments a user passes to tnq's public functions.

Each function takes the value as given and returns it in the form tnq uses,
or raises a :class:`~tnq.TnqError` that names the argument, what was given
and what is expected. They run before any heavy work or large allocation.
This module sits below everything: it imports only :mod:`tnq.errors` and numpy.

Examples
--------
>>> from tnq import checks
>>> checks.qubits([2, 0], 3)
(2, 0)
>>> checks.qubits([3], 3)
Traceback (most recent call last):
...
tnq.errors.ParameterError: qubits: qubit 3 is out of range for a 3-qubit circuit (expected 0..2)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .errors import CompileError, MemoryLimitError, ParameterError, TnqError
from .optional import require

__all__ = ["BACKENDS", "MAX_QUBITS", "MAX_SHOTS", "backend", "bits", "fits", "positive_bytes",
           "qubits", "seed", "shots", "show", "size_text"]

MAX_QUBITS = 1_000_000
"""The most qubits a circuit may have, and so the largest qubit index + 1 an
observable may name (``tnq.circuit.MAX_QUBITS``): every qubit costs memory in
each network and lightcone, and a larger number is almost always a mistake."""
BACKENDS = ("numpy", "jax", "torch")
"""The array backends a call may ask for with ``like=``."""
MAX_SHOTS = 2**63 - 1
"""The most shots one call may ask for (numpy's int64 counts)."""
SHOWN = 60
"""The most characters of a given value an error message repeats."""


def show(value: object) -> str:
    """A short description of ``value`` for an error message: its repr, cut to
    :data:`SHOWN` characters, and its type."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, int) and value.bit_length() > 64:  # no 5,000-digit text
        sign = "-" if value < 0 else ""
        return f"{sign}2^{math.log2(abs(value)):.1f} ({type(value).__name__})"
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is still described by its type
        text = "?"
    if len(text) > SHOWN:
        text = text[:SHOWN - 5] + " ...)"
    return f"{text} ({type(value).__name__})"


def _as_int(value: object) -> int | None:
    """``value`` as an int if it is a Python or numpy integer (not a bool), else None."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def seed(value: object, name: str = "seed"):
    """A seed numpy's ``default_rng`` takes: None, a non-negative integer, a
    ``numpy.random.Generator``, ``BitGenerator`` or ``SeedSequence``.

    Examples
    --------
    >>> seed(7)
    7
    >>> seed(-1)
    Traceback (most recent call last):
    ...
    tnq.errors.ParameterError: seed must be None, a non-negative integer, or a numpy \
Generator or SeedSequence; got -1 (int)
    """
    ok = (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)
    number = _as_int(value)
    if value is None or isinstance(value, ok) or (number is not None and number >= 0):
        return value
    raise ParameterError(f"{name} must be None, a non-negative integer, or a numpy Generator "
                         f"or SeedSequence; got {show(value)}")


def shots(value: object, name: str = "shots") -> int:
    """A positive integer number of shots, at most :data:`MAX_SHOTS`.

    Examples
    --------
    >>> shots(1000)
    1000
    >>> shots(10.0)
    Traceback (most recent call last):
    ...
    tnq.errors.ParameterError: shots must be a positive integer, got 10.0 (float)
    """
    number = _as_int(value)
    if number is None or not 1 <= number <= MAX_SHOTS:
        over = f" (at most {MAX_SHOTS})" if number is not None and number > 0 else ""
        raise ParameterError(f"{name} must be a positive integer{over}, got {show(value)}")
    return number


def positive_bytes(value: object, name: str = "max_memory",
                   error: type[TnqError] = CompileError) -> int:
    """A number of bytes: a finite number of at least 1 (floats are rounded down).

    Examples
    --------
    >>> positive_bytes(2**30)
    1073741824
    >>> positive_bytes(float("nan"))
    Traceback (most recent call last):
    ...
    tnq.errors.CompileError: max_memory must be a positive number of bytes (at least 1), got \
nan (float)
    """
    number = _as_int(value)
    if number is not None and number >= 1:
        return number
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value >= 1:
        return int(value)
    raise error(f"{name} must be a positive number of bytes (at least 1), got {show(value)}")


def backend(value: object, name: str = "like") -> str | None:
    """The backend a call's arrays are made on: one of :data:`BACKENDS`, installed,
    or None (the backend of the parameters; numpy without parameters)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in BACKENDS:
        raise ParameterError(f"{name}={show(value)} is not a backend tnq supports; expected "
                             f"one of {BACKENDS}, or None for the backend of the parameters")
    if value != "numpy":
        require(value, f"{name}={value!r}")
    return value


def qubits(value: object, n: int, name: str = "qubits") -> tuple[int, ...]:
    """Distinct qubit indices of an ``n``-qubit circuit, in the order given: a
    non-empty sequence (list, tuple, range, 1-D integer array) of integers.

    Examples
    --------
    >>> qubits(range(2), 4)
    (0, 1)
    >>> qubits(1, 4)
    Traceback (most recent call last):
    ...
    tnq.errors.ParameterError: qubits must be a non-empty sequence of distinct qubit indices, \
e.g. [1], got 1 (int)
    """
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or not (np.issubdtype(value.dtype, np.integer) or value.size == 0):
            raise ParameterError(f"{name} must be a non-empty sequence of distinct qubit "
                                 f"indices (a 1-D integer array), got {show(value)}")
        items: Sequence = value.tolist()
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        items = value
    else:
        hint = f", e.g. [{value}]" if _as_int(value) is not None else ""
        raise ParameterError(f"{name} must be a non-empty sequence of distinct qubit "
                             f"indices{hint}, got {show(value)}")
    if not len(items):
        raise ParameterError(f"{name} is empty; expected at least one qubit index 0..{n - 1}")
    out: list[int] = []
    seen: set[int] = set()
    for item in items:
        q = _as_int(item)
        if q is None:
            raise ParameterError(f"{name}: qubit {show(item)} is not an integer; expected "
                                 f"indices 0..{n - 1}")
        if not 0 <= q < n:
            raise ParameterError(f"{name}: qubit {q} is out of range for a {n}-qubit "
                                 f"circuit (expected 0..{n - 1})")
        if q in seen:
            raise ParameterError(f"{name}: qubit {q} appears more than once in "
                                 f"{show(value)}; expected distinct qubits")
        seen.add(q)
        out.append(q)
    return tuple(out)


def bits(value: object, n: int, name: str = "bits") -> tuple[np.ndarray, bool]:
    """Bitstrings of an ``n``-qubit circuit as a ``(B, n)`` uint8 array of 0/1
    (qubit 0 first), and whether one bitstring was given (not a list of them).

    One bitstring is text of ``n`` characters ``'0'``/``'1'`` or a sequence
    (or 1-D array) of ``n`` integers 0/1; many are a non-empty sequence of
    those or a ``(B, n)`` array. Booleans are refused (``True`` is no bit
    value tnq guesses), as are values other than 0 and 1.

    Examples
    --------
    >>> rows, single = bits(["01", [1, 0]], 2)
    >>> rows.tolist(), single
    ([[0, 1], [1, 0]], False)
    """
    if isinstance(value, str):
        return _text_bits(value, n, name)[None], True
    if isinstance(value, np.ndarray) and value.dtype.kind not in "USO":
        if value.ndim not in (1, 2):
            raise ParameterError(f"{name} must be a 1-D array of {n} bits or a 2-D array "
                                 f"of shape (B, {n}), got {show(value)}")
        rows = _array_bits(value if value.ndim == 2 else value[None], n, name)
        return rows, value.ndim == 1
    if isinstance(value, np.ndarray):  # text or objects: one row each
        value = value.tolist()
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise ParameterError(f"{name} must be a bitstring of {n} characters '0'/'1' (qubit 0 "
                             "first), a sequence of 0/1, or a list of bitstrings; got "
                             f"{show(value)}")
    if not len(value):
        raise ParameterError(f"{name} is empty; expected a bitstring of {n} bits or a "
                             "non-empty list of them")
    if not any(isinstance(b, (str, Sequence, np.ndarray)) for b in value):  # one row
        return _row_bits(value, n, name, None)[None], True
    out = np.empty((len(value), n), dtype=np.uint8)
    for r, row in enumerate(value):
        out[r] = _text_bits(row, n, name, r) if isinstance(row, str) \
            else _row_bits(row, n, name, r)
    return out, False


def _where(name: str, r: int | None) -> str:
    return name if r is None else f"{name}[{r}]"


def _text_bits(text: str, n: int, name: str, r: int | None = None) -> np.ndarray:
    if len(text) != n or not set(text) <= {"0", "1"}:
        raise ParameterError(f"{_where(name, r)}: bitstring {show(text)} is invalid; "
                             f"expected {n} characters '0'/'1' (qubit 0 first)")
    return np.frombuffer(text.encode(), dtype=np.uint8) - ord("0")


def _row_bits(row: object, n: int, name: str, r: int | None) -> np.ndarray:
    """One bitstring given as a sequence or array of numbers."""
    if isinstance(row, np.ndarray):
        if row.ndim != 1 or row.dtype.kind in "USO":
            raise ParameterError(f"{_where(name, r)}: bitstring {show(row)} is invalid; "
                                 f"expected {n} bits 0/1")
        return _array_bits(row[None], n, name, r)[0]
    if not isinstance(row, Sequence) or isinstance(row, (str, bytes, bytearray)):
        raise ParameterError(f"{_where(name, r)}: bitstring {show(row)} is invalid; expected "
                             f"{n} bits ('0'/'1' text or a sequence of 0/1)")
    if len(row) != n:
        raise ParameterError(f"{_where(name, r)} has {len(row)} bits; expected {n} (one per "
                             "qubit, qubit 0 first)")
    for b in row:
        if _as_int(b) not in (0, 1):
            raise ParameterError(f"{_where(name, r)}: bit {show(b)} is invalid; expected "
                                 "the integers 0 or 1")
    return np.array(row, dtype=np.uint8)


def _array_bits(arr: np.ndarray, n: int, name: str, r: int | None = None) -> np.ndarray:
    """Rows of a ``(B, n)`` numeric array: integers, or floats equal to 0 or 1."""
    where = _where(name, r)
    if arr.dtype.kind not in "iuf":
        why = " (booleans are not taken for bits)" if arr.dtype.kind == "b" else ""
        raise ParameterError(f"{where}: bits {show(arr)} are invalid; expected integers "
                             f"0/1{why}")
    if arr.shape[-1] != n or arr.shape[0] == 0:
        raise ParameterError(f"{where} has shape {arr.shape}; expected {n} bits per "
                             f"bitstring (shape ({n},) or (B, {n}) with B >= 1)")
    bad = np.argwhere((arr != 0) & (arr != 1))
    if bad.size:
        at = tuple(int(i) for i in bad[0])
        raise ParameterError(f"{where}: entry {at} is {arr[at].item()!r}; expected 0 or 1")
    return arr.astype(np.uint8)


def fits(nbytes: int, max_memory: int, what: str, hint: str = "") -> None:
    """Raise :class:`~tnq.MemoryLimitError` when ``what`` needs ``nbytes``, over
    ``max_memory``; ``hint`` says what to do instead.

    Examples
    --------
    >>> fits(2**40, 2**30, "sample: 2^40 shots")
    Traceback (most recent call last):
    ...
    tnq.errors.MemoryLimitError: sample: 2^40 shots needs 1 TiB, over max_memory=1 GiB; \
pass a larger max_memory= to tnq.compile
    """
    if nbytes > max_memory:
        raise MemoryLimitError(f"{what} needs {size_text(nbytes)}, over max_memory="
                               f"{size_text(max_memory)}; "
                               + (hint or "pass a larger max_memory= to tnq.compile"))


def size_text(nbytes: float) -> str:
    """Bytes as readable text (``"1.5 GiB"``); any size, even 2^5000 bytes.

    Examples
    --------
    >>> size_text(3 * 2**29), size_text(2**5000 * 16)
    ('1.5 GiB', '2^5004 B')
    """
    if nbytes != nbytes:
        return "nan B"
    if nbytes == math.inf:
        return "inf B"
    if nbytes >= 2**70:  # beyond EiB: a power of two, without converting to float
        e = math.log2(nbytes)
        return f"2^{e:.0f} B" if e == round(e) or e > 1e4 else f"2^{e:.1f} B"
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} EiB"
