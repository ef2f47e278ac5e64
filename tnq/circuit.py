"""The circuit IR: an append-only list of gate operations on ``n`` qubits.

Every gate of :mod:`tnq.gates` is a method named like its OpenQASM gate, with
the qubits first and the parameters after: ``c.cx(0, 1)``, ``c.rx(0, theta)``,
``c.u3(2, a, b, c)``. Parameters are numbers or symbols (:func:`tnq.parameters`,
:func:`tnq.inputs`); everything is validated as it is added, so a compiled
circuit is always well formed. :func:`tnq.compile` takes a snapshot: adding
gates afterwards does not change a compiled Program.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .checks import MAX_QUBITS, show
from .errors import CircuitError
from .gates import GATES, Gate, get_gate
from .symbols import Layout, Symbol, SymbolVector

__all__ = ["Circuit", "Op"]

Param = float | Symbol


@dataclass(frozen=True)
class Op:
    """One gate application: the gate name, its qubits and its parameters.

    ``matrix`` is set only for user unitaries (``name == "unitary"``).
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[Param, ...] = ()
    matrix: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def gate(self) -> Gate:
        """The registry gate, or a constant gate holding the user matrix."""
        if self.matrix is not None:
            return _user_gate(self.matrix)
        return GATES[self.name]

    @property
    def symbolic(self) -> bool:
        """Whether any parameter is a symbol (so the matrix is built per call)."""
        return any(isinstance(p, Symbol) for p in self.params)

    def __str__(self) -> str:
        args = f"({', '.join(map(str, self.params))})" if self.params else ""
        return f"{self.name}{args} {', '.join(f'q{q}' for q in self.qubits)}"


def _user_gate(matrix: np.ndarray) -> Gate:
    nq = int(math.log2(matrix.shape[0]))
    diag = np.diag(matrix)
    if np.array_equal(matrix, np.diag(diag)):
        return Gate("unitary", nq, matrix=diag, diagonal=True)
    return Gate("unitary", nq, matrix=matrix)


class Circuit:
    """A quantum circuit on ``num_qubits`` qubits, all starting in ``|0>``.

    Parameters
    ----------
    num_qubits : int
        The number of qubits, 1 to :data:`MAX_QUBITS`; qubit 0 is the leftmost
        character of bitstrings.

    Examples
    --------
    >>> import tnq
    >>> theta = tnq.parameters(2)
    >>> c = tnq.Circuit(2)
    >>> c.h(0).cx(0, 1).rz(1, 2 * theta[0] + 0.1).ry(0, theta[1])
    Circuit(num_qubits=2, gates=4, params=2)
    >>> c.num_params
    2
    """

    def __init__(self, num_qubits: int):
        if not isinstance(num_qubits, numbers.Integral) or isinstance(num_qubits, bool) \
                or num_qubits < 1:
            raise CircuitError(f"num_qubits must be a positive integer, got {show(num_qubits)}")
        if num_qubits > MAX_QUBITS:
            raise CircuitError(f"num_qubits={show(num_qubits)} is over the limit of "
                               f"tnq.circuit.MAX_QUBITS = {MAX_QUBITS:,} qubits")
        self._n: int = int(num_qubits)
        self._ops: list[Op] = []
        self._vectors: dict[str, SymbolVector] = {}  # uid -> vector, in order of first use

    if TYPE_CHECKING:  # gate methods are attached from the registry below

        def __getattr__(self, name: str) -> Callable[..., Circuit]: ...

    # ------------------------------------------------------------- reading
    @property
    def num_qubits(self) -> int:
        return self._n

    @property
    def ops(self) -> tuple[Op, ...]:
        """The operations, in order, as an immutable tuple."""
        return tuple(self._ops)

    @property
    def layout(self) -> Layout:
        """The symbol vectors the circuit uses, of each kind in order of first use:
        the order of a Program's flat parameter and input vectors."""
        vs = tuple(self._vectors.values())
        return Layout(tuple(v for v in vs if v.kind == "param"),
                      tuple(v for v in vs if v.kind == "input"))

    @property
    def num_params(self) -> int:
        """Length of the flat trainable parameter vector: the sizes of the
        parameter vectors used, added (0 if there is none)."""
        return sum(v.size for v in self._vectors.values() if v.kind == "param")

    @property
    def num_inputs(self) -> int:
        """Length of the flat data input vector (0 if there is none)."""
        return sum(v.size for v in self._vectors.values() if v.kind == "input")

    def _use(self, name: str, qubits: tuple[int, ...], params: tuple) -> None:
        """Record the symbol vectors of a new gate's ``params``; refuse a second,
        different vector under a name already used."""
        for p in params:
            if not isinstance(p, Symbol) or p.vector.uid in self._vectors:
                continue
            v = p.vector
            clash = next((u for u in self._vectors.values() if u.name == v.name), None)
            if clash is not None:
                raise CircuitError(
                    f"gate '{name}' on qubits {qubits}: {p!r} is of a second, different "
                    f"vector named {v.name!r} ({v!r}; the circuit already uses {clash!r}). "
                    "Two vectors in one circuit need two names: tnq.parameters(2, 'gamma'), "
                    "tnq.parameters(2, 'beta')")
            self._vectors[v.uid] = v

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self._ops)

    def __repr__(self) -> str:
        return (f"Circuit(num_qubits={self._n}, gates={len(self._ops)}, "
                f"params={self.num_params}" + (f", inputs={self.num_inputs}"
                                               if self.num_inputs else "") + ")")

    @classmethod
    def _from_ops(cls, num_qubits: int, ops: Sequence[Op]) -> Circuit:
        """A circuit holding already-validated ``ops`` (no checks: internal use)."""
        new = cls(num_qubits)
        new._ops = list(ops)
        for op in new._ops:
            new._use(op.name, op.qubits, op.params)
        return new

    def copy(self) -> Circuit:
        """A new circuit with the same operations."""
        new = Circuit(self._n)
        new._ops = list(self._ops)
        new._vectors = dict(self._vectors)
        return new

    # ------------------------------------------------------------- building
    def apply(self, name: str, *qubits: int, params: Sequence[Param] = ()) -> Circuit:
        """Append the registry gate ``name`` on ``qubits`` with ``params``."""
        gate = get_gate(name)
        qs = self._check_qubits(name, qubits, gate.num_qubits)
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            raise CircuitError(f"gate '{name}' on qubits {qs}: params must be a sequence of "
                               f"{gate.num_params} parameter(s), got {show(params)}")
        if len(params) != gate.num_params:
            raise CircuitError(f"gate '{name}' on qubits {qs} takes {gate.num_params} "
                               f"parameter(s), got {len(params)}")
        ps = tuple(_check_param(name, qs, i, p) for i, p in enumerate(params))
        self._use(name, qs, ps)
        self._ops.append(Op(name, qs, ps))
        return self

    def unitary(self, matrix, qubits: Sequence[int] | int, *, atol: float = 1e-10) -> Circuit:
        """Append a constant user unitary ``matrix`` on ``qubits``.

        The matrix is ``2^k x 2^k`` for ``k`` qubits, big-endian in the order
        given (the first qubit is the most significant).

        Examples
        --------
        >>> import numpy as np, tnq
        >>> c = tnq.Circuit(3).unitary(np.eye(4)[[1, 0, 2, 3]], [2, 0])
        """
        if isinstance(atol, bool) or not isinstance(atol, numbers.Real) \
                or not 0 <= float(atol) < 1:
            raise CircuitError(f"unitary: atol must be a number in [0, 1), got {show(atol)}")
        if isinstance(qubits, (numbers.Integral, np.integer)):
            qlist: tuple = (qubits,)
        elif isinstance(qubits, Sequence) and not isinstance(qubits, (str, bytes)) \
                or isinstance(qubits, np.ndarray) and qubits.ndim == 1:
            qlist = tuple(qubits)
        else:
            raise CircuitError(f"unitary: qubits must be a qubit or a sequence of qubits, got "
                               f"{show(qubits)}")
        try:
            m = np.array(matrix, dtype=complex)
        except (TypeError, ValueError) as exc:
            raise CircuitError(f"unitary on qubits {qlist}: matrix is not numeric ({exc})") \
                from None
        k = len(qlist)
        qs = self._check_qubits("unitary", qlist, k)
        if m.shape != (2**k, 2**k):
            raise CircuitError(f"unitary on qubits {qs}: expected a {2**k}x{2**k} matrix for "
                               f"{k} qubit(s), got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise CircuitError(f"unitary on qubits {qs}: matrix has NaN or inf entries")
        err = np.abs(m @ m.conj().T - np.eye(2**k)).max()
        if err > atol:
            raise CircuitError(f"unitary on qubits {qs}: matrix is not unitary "
                               f"(max |U U^dag - I| = {err:.3g} > atol={atol:g})")
        m.setflags(write=False)
        self._ops.append(Op("unitary", qs, (), m))
        return self

    def _check_qubits(self, name: str, qubits: Sequence, k: int) -> tuple[int, ...]:
        if len(qubits) != k:
            raise CircuitError(f"gate '{name}' acts on {k} qubit(s), got {len(qubits)}: "
                               f"{show(tuple(qubits))}")
        for q in qubits:
            if not isinstance(q, numbers.Integral) or isinstance(q, bool):
                raise CircuitError(f"gate '{name}': qubit {q!r} is not an integer"
                                   if isinstance(q, (float, str)) and len(repr(q)) < 40 else
                                   f"gate '{name}': qubit {show(q)} is not an integer")
            if not 0 <= int(q) < self._n:
                shown = int(q) if abs(int(q)) < 2**64 else show(q)
                raise CircuitError(f"gate '{name}': qubit {shown} is out of range for a "
                                   f"{self._n}-qubit circuit (expected 0..{self._n - 1})")
        qs = tuple(int(q) for q in qubits)
        if len(set(qs)) != len(qs):
            raise CircuitError(f"gate '{name}': qubit repeated in {qs}; "
                               "a gate needs distinct qubits")
        return qs


def _check_param(name: str, qubits: tuple[int, ...], i: int, p: object) -> Param:
    if isinstance(p, Symbol):
        return p
    if isinstance(p, numbers.Real) and not isinstance(p, bool):
        v = float(p)
        if not math.isfinite(v):
            raise CircuitError(f"gate '{name}' on qubits {qubits}: parameter {i} is {v}; "
                               "expected a finite number or a symbol")
        return v
    if isinstance(p, np.ndarray) and p.shape == () and np.isrealobj(p):
        return _check_param(name, qubits, i, p.item())
    raise CircuitError(f"gate '{name}' on qubits {qubits}: parameter {i} is {p!r} "
                       f"({type(p).__name__}); expected a real number or a tnq symbol")


def _method(gate: Gate):
    nq, np_ = gate.num_qubits, gate.num_params

    def method(self: Circuit, *args) -> Circuit:
        if len(args) != nq + np_:
            raise CircuitError(
                f"gate '{gate.name}' takes {nq} qubit(s) then {np_} parameter(s) "
                f"({nq + np_} arguments), got {len(args)}: {args}")
        return self.apply(gate.name, *args[:nq], params=args[nq:])

    qubit_names = ", ".join(f"q{i}" for i in range(nq))
    param_names = "".join(f", p{i}" for i in range(np_))
    method.__name__ = gate.name
    method.__qualname__ = f"Circuit.{gate.name}"
    method.__doc__ = (f"Append ``{gate.name}`` ({nq} qubit(s), {np_} parameter(s)): "
                      f"``c.{gate.name}({qubit_names}{param_names})``.")
    return method


for _gate in GATES.values():
    setattr(Circuit, _gate.name, _method(_gate))
del _gate
