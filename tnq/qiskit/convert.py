"""Qiskit circuits in and out: :func:`from_qiskit` and :func:`to_qiskit`.

Qubit ``i`` of a ``QuantumCircuit`` is qubit ``i`` of the tnq circuit. Qiskit
writes bitstrings little-endian (qubit 0 is the rightmost character), tnq
qubit 0 first; the gates and matrices are the same.

Parameters keep their names. A Qiskit ``ParameterVector`` becomes a tnq
parameter vector of the same name and size (its unused elements too); a
loose ``Parameter`` becomes a tnq vector of size 1 named after it. The
circuit's :attr:`~tnq.Circuit.layout` lists the vectors in the order their
first elements have in Qiskit's ``circuit.parameters`` (sorted by name), so
when every element of every vector is used, a Program's flat parameter
vector is in Qiskit's own order. A gate angle may be any affine expression
``a * p + b`` of one parameter; tnq's parameters are real, one per angle.

This module imports Qiskit only when a function is called.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import show
from ..circuit import Circuit, Op
from ..errors import CircuitError, ParameterError
from ..optional import require
from ..symbols import Symbol, SymbolVector, inputs, parameters

__all__ = ["from_qiskit", "to_qiskit", "Converted", "convert", "numeric_angles", "GATE_NAMES"]

GATE_NAMES = {
    "id": "IGate", "x": "XGate", "y": "YGate", "z": "ZGate", "h": "HGate", "s": "SGate",
    "sdg": "SdgGate", "t": "TGate", "tdg": "TdgGate", "sx": "SXGate", "sxdg": "SXdgGate",
    "cx": "CXGate", "cy": "CYGate", "cz": "CZGate", "ch": "CHGate", "csx": "CSXGate",
    "swap": "SwapGate", "iswap": "iSwapGate", "ccx": "CCXGate", "c3x": "C3XGate",
    "c4x": "C4XGate", "c3sqrtx": "C3SXGate", "cswap": "CSwapGate", "rccx": "RCCXGate",
    "rc3x": "RC3XGate", "rx": "RXGate", "ry": "RYGate", "rz": "RZGate", "p": "PhaseGate",
    "u1": "U1Gate", "u2": "U2Gate", "u3": "U3Gate", "u": "UGate", "rxx": "RXXGate",
    "ryy": "RYYGate", "rzz": "RZZGate", "crx": "CRXGate", "cry": "CRYGate", "crz": "CRZGate",
    "cp": "CPhaseGate", "cu1": "CU1Gate", "cu3": "CU3Gate", "cu": "CUGate",
}
"""tnq gate name -> the Qiskit standard gate class (in ``qiskit.circuit.library``)
with the same matrix. tnq's ``fsim`` has no Qiskit counterpart: :func:`to_qiskit`
writes it as a gate named ``fsim`` defined by ``rxx``, ``ryy`` and ``cp``."""

IGNORED = ("barrier", "delay")
"""Instructions that do nothing to the state and are skipped."""


@dataclass(frozen=True)
class Converted:
    """A Qiskit circuit as tnq sees it.

    ``circuit`` is the tnq circuit; ``parameters`` the Qiskit parameters, in
    the order of ``circuit.parameters``, and ``index`` where each sits in the
    tnq circuit's flat parameter vector; ``measured`` maps each measured
    classical bit (its index in the Qiskit circuit) to the qubit measured into
    it last. ``lifted`` counts the numeric angles made data inputs (see
    :func:`convert`).
    """

    circuit: Circuit
    parameters: tuple
    index: np.ndarray
    measured: dict[int, int]
    lifted: int = 0


def from_qiskit(circuit) -> Circuit:
    """The tnq :class:`~tnq.Circuit` of a Qiskit ``QuantumCircuit``.

    Gates tnq has are taken as they are; others (``ecr``, ``rzx``,
    ``xx_plus_yy``, controlled gates with open controls, user-defined gates,
    library blocks) are decomposed first by Qiskit's own ``transpile`` into
    the Qiskit gates that tnq has, at optimization level 0. ``UnitaryGate``
    becomes a tnq user unitary. Barriers and delays are skipped, and so are
    measurements at the end (a tnq circuit ends in a measurement of every
    qubit when sampled); the global phase is dropped (expectation values,
    probabilities and samples do not see it; :meth:`~tnq.Program.state`
    differs by that phase).

    Parameters
    ----------
    circuit : qiskit.QuantumCircuit
        Its gate angles are numbers or affine expressions ``a * p + b`` of one
        ``Parameter`` (or ``ParameterVector`` element) ``p``.

    Returns
    -------
    Circuit
        With one tnq parameter vector per Qiskit ``ParameterVector`` (same
        name and size) and per loose ``Parameter`` (size 1, its name, made an
        identifier if needed); the layout lists them in the order of Qiskit's
        ``circuit.parameters``.

    Raises
    ------
    CircuitError
        For an instruction tnq cannot simulate (naming it and its position):
        ``reset``, a measurement followed by gates on its qubit, classical
        control flow (``if_else``, ``for_loop``, ...), or another non-unitary
        instruction; or a gate angle that is not affine in one parameter.

    Examples
    --------
    >>> import tnq
    >>> from qiskit import QuantumCircuit
    >>> from qiskit.circuit import ParameterVector
    >>> theta = ParameterVector("theta", 2)
    >>> qc = QuantumCircuit(2)
    >>> _ = qc.ry(theta[0], 0)
    >>> _ = qc.cx(0, 1)
    >>> _ = qc.rz(2 * theta[1] + 0.5, 1)
    >>> c = tnq.from_qiskit(qc)
    >>> c
    Circuit(num_qubits=2, gates=3, params=2)
    >>> [str(op) for op in c.ops]
    ['ry(theta[0]) q0', 'cx q0, q1', 'rz(2*theta[1] + 0.5) q1']
    """
    return convert(circuit, "from_qiskit").circuit


def convert(circuit, feature: str = "from_qiskit", *, lift: bool = False) -> Converted:
    """:func:`from_qiskit` with what the primitives need besides the circuit:
    the Qiskit parameters, where they sit in tnq's flat vector, and the final
    measurements.

    With ``lift``, and when every gate is one tnq has (no decomposition), the
    numeric angles become a vector of data inputs, in the order
    :func:`numeric_angles` lists them: circuits that differ only in their
    numbers (``assign_parameters``) then share one compiled Program.
    """
    qiskit = require("qiskit", f"tnq.{feature}")
    if not isinstance(circuit, qiskit.QuantumCircuit):
        raise CircuitError(f"{feature} needs a qiskit.QuantumCircuit, got {show(circuit)}")
    _refuse(circuit)
    symbols = _symbols(circuit)
    qparams = tuple(circuit.parameters)
    _check_angles(circuit, symbols)  # before any decomposition: name the user's instruction
    native = not any(_tnq_name(item.operation) is None and item.operation.name not in IGNORED
                     and item.operation.name not in ("measure", "unitary", "global_phase")
                     for item in circuit.data)
    if not native:
        circuit = _decompose(qiskit, circuit)
    angles = _lifted_vector(circuit, symbols) if lift and native else None
    ops: list[Op] = []
    measured: dict[int, int] = {}
    done: set[int] = set()  # measured qubits
    for k, item in enumerate(circuit.data):
        op, name = item.operation, item.operation.name
        qubits = tuple(circuit.find_bit(q).index for q in item.qubits)
        if name == "measure":
            measured[circuit.find_bit(item.clbits[0]).index] = qubits[0]
            done.add(qubits[0])
            continue
        if name in IGNORED or name == "global_phase":
            continue
        if done.intersection(qubits):
            q = min(done.intersection(qubits))
            raise CircuitError(f"instruction {k} ({name} on qubits {qubits}) comes after a "
                               f"measurement of qubit {q}; tnq simulates measurements at the "
                               "end only (mid-circuit measurements are not supported)")
        ops.append(_op(op, name, qubits, symbols, k, angles))
    tc = Circuit(circuit.num_qubits)
    for v in dict.fromkeys(s.vector for s in symbols.values()):  # Qiskit's order
        tc._use("from_qiskit", (), (v[0],))
    for op in ops:
        if op.name == "unitary":
            tc.unitary(op.matrix, op.qubits, atol=1e-8)
        else:
            tc.apply(op.name, *op.qubits, params=op.params)
    layout = tc.layout
    offsets = layout.offsets("param")
    index = np.array([offsets[symbols[p].vector.uid] + symbols[p].index for p in qparams],
                     dtype=np.int64)
    return Converted(tc, qparams, index, measured, 0 if angles is None else angles.count)


def _check_angles(circuit, symbols: dict) -> None:
    """Raise for the first symbolic angle that is not affine in one parameter."""
    from qiskit.circuit import ParameterExpression

    for k, item in enumerate(circuit.data):
        for p in item.operation.params:
            if isinstance(p, ParameterExpression):
                qubits = tuple(circuit.find_bit(q).index for q in item.qubits)
                _angle(p, symbols, f"instruction {k} ({item.operation.name} on qubits {qubits})")


def _refuse(circuit) -> None:
    """Raise for the first instruction no decomposition can make unitary."""
    for k, item in enumerate(circuit.data):
        op = item.operation
        what = f"instruction {k} ({op.name} on qubits " \
            f"{tuple(circuit.find_bit(q).index for q in item.qubits)})"
        if getattr(op, "condition", None) is not None:
            raise CircuitError(f"{what} is classically conditioned; tnq circuits have no "
                               "classical control")
        if callable(getattr(op, "is_control_flow", None)) and op.is_control_flow() \
                or op.name in ("if_else", "while_loop", "for_loop", "switch_case", "box"):
            raise CircuitError(f"{what} is classical control flow ({op.name}); tnq circuits "
                               "have no classical control")
        if op.name == "reset":
            raise CircuitError(f"{what} is a reset, which is not unitary; tnq circuits start "
                               "in |0...0> and have no resets")
        if op.name in ("measure", *IGNORED) or _is_gate(op):
            continue
        raise CircuitError(f"{what} is not a unitary gate ({type(op).__name__}); tnq "
                           "simulates gates, with measurements at the end only")


def _is_gate(op) -> bool:
    from qiskit.circuit import Gate

    return isinstance(op, Gate)


def _tnq_name(op) -> str | None:
    """The tnq gate with ``op``'s matrix, if ``op`` is a Qiskit standard gate
    (or tnq's own ``fsim``); None otherwise."""
    from qiskit.circuit import library

    if getattr(op, "base_class", type(op)) is _fsim_class():
        return "fsim"
    if isinstance(op, library.MCXGate) and not isinstance(op, (library.C3XGate,
                                                               library.C4XGate)):
        if op.num_ctrl_qubits in (3, 4) and op.ctrl_state == 2**op.num_ctrl_qubits - 1:
            return "c3x" if op.num_ctrl_qubits == 3 else "c4x"
        return None
    for name in _candidates(op.name):
        cls = getattr(library, GATE_NAMES[name])
        if getattr(op, "base_class", type(op)) is cls and getattr(op, "ctrl_state", None) in (
                None, 2**getattr(op, "num_ctrl_qubits", 0) - 1):
            return name
    return None


def _candidates(qiskit_name: str) -> tuple[str, ...]:
    return {"mcx": ("c3x", "c4x"), "c3sx": ("c3sqrtx",), "rcccx": ("rc3x",)}.get(
        qiskit_name, (qiskit_name,) if qiskit_name in GATE_NAMES else ())


def _decompose(qiskit, circuit):
    """``circuit`` in the Qiskit gates tnq has, by Qiskit's transpiler."""
    basis = sorted({qiskit.circuit.library.get_standard_gate_name_mapping()[n].name
                    for n in _QISKIT_NAMES} | {"measure", "delay"})
    try:
        return qiskit.transpile(circuit, basis_gates=basis, optimization_level=0,
                                seed_transpiler=0)
    except Exception as exc:  # Qiskit's own errors vary by version
        names = sorted({item.operation.name for item in circuit.data
                        if _tnq_name(item.operation) is None
                        and item.operation.name not in ("measure", *IGNORED)})
        raise CircuitError(f"Qiskit could not decompose the gates {names} into tnq's gates "
                           f"({type(exc).__name__}: {exc})") from None


_QISKIT_NAMES = ("id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg", "cx", "cy",
                 "cz", "ch", "csx", "swap", "iswap", "ccx", "cswap", "rccx", "rx", "ry", "rz",
                 "p", "u1", "u2", "u3", "u", "rxx", "ryy", "rzz", "crx", "cry", "crz", "cp",
                 "cu1", "cu3", "cu", "rcccx", "c3sx")
"""Qiskit's names of the standard gates tnq has (the transpiler's basis)."""


def _symbols(circuit) -> dict[Any, Symbol]:
    """A tnq symbol for each Qiskit parameter: vectors for ParameterVectors, a
    vector of size 1 for each loose Parameter; names made unique identifiers."""
    from qiskit.circuit import ParameterVectorElement

    out: dict[Any, Symbol] = {}
    vectors: dict[Any, SymbolVector] = {}  # a Qiskit vector (or loose parameter) -> tnq vector
    taken: set[str] = set()
    for p in circuit.parameters:
        if isinstance(p, ParameterVectorElement):
            key, size, name, index = p.vector, len(p.vector), p.vector.name, p.index
        else:
            key, size, name, index = p, 1, p.name, 0
        if key not in vectors:
            vectors[key] = parameters(size, _identifier(name, taken))
        out[p] = vectors[key][index]
    return out


def _identifier(name: str, taken: set[str]) -> str:
    base = "".join(ch if (ch + "a").isidentifier() or ch.isalnum() else "_" for ch in name)
    base = base if base.isidentifier() else "p_" + base
    out, k = base, 1
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


class _Lifted:
    """Hands out the symbols of an input vector, one per numeric angle, in order."""

    def __init__(self, vector: SymbolVector | None):
        self.vector, self.count = vector, 0

    def next(self) -> Symbol:
        assert self.vector is not None
        self.count += 1
        return self.vector[self.count - 1]


def _lifted_vector(circuit, symbols: dict) -> _Lifted:
    count = len(numeric_angles(circuit))
    taken = {s.vector.name for s in symbols.values()}
    return _Lifted(inputs(count, _identifier("angles", taken)) if count else None)


def numeric_angles(circuit) -> list[float]:
    """The numeric angles of a circuit's gates (all of them gates tnq has), in
    order: the data inputs of :func:`convert` with ``lift``."""
    from qiskit.circuit import ParameterExpression

    return [float(p) for item in circuit.data if item.operation.name not in _NOT_GATES
            for p in item.operation.params
            if not isinstance(p, ParameterExpression) or not p.parameters]


_NOT_GATES = ("measure", "barrier", "delay", "global_phase", "unitary")


def _op(op, name: str, qubits: tuple[int, ...], symbols: dict, k: int,
        angles: _Lifted | None = None) -> Op:
    if name == "unitary":
        matrix = np.asarray(op.to_matrix(), dtype=complex)
        return Op("unitary", qubits[::-1], (), matrix)  # Qiskit's matrices are little-endian
    tnq_name = _tnq_name(op)
    if tnq_name is None:  # only after a transpile that left a gate outside the basis
        raise CircuitError(f"instruction {k} ({name} on qubits {qubits}) is not a gate tnq has "
                           "and Qiskit did not decompose it")
    where = f"instruction {k} ({name} on qubits {qubits})"
    params = tuple(_angle(p, symbols, where) for p in op.params)
    if angles is not None:
        params = tuple(angles.next() if isinstance(p, float) else p for p in params)
    return Op(tnq_name, qubits, params)


def _angle(p, symbols: dict, where: str):
    """A Qiskit gate parameter as a number or an affine tnq symbol."""
    from qiskit.circuit import ParameterExpression

    if not isinstance(p, ParameterExpression):
        value = _real(p, where)
        return value
    free = list(p.parameters)
    if not free:
        return _real(p, where)
    if len(free) > 1:
        raise CircuitError(f"{where}: angle {p} depends on {len(free)} parameters "
                           f"({', '.join(sorted(str(q) for q in free))}); tnq needs an affine "
                           "function a*p + b of one parameter per angle")
    (q,) = free
    try:
        slope = p.gradient(q)
        scale = _real(slope, where) if not isinstance(slope, ParameterExpression) or \
            not slope.parameters else None
        offset = _real(p.bind({q: 0.0}), where) if scale is not None else None
    except CircuitError:
        raise
    except Exception:  # Qiskit's symbolic engine raises various kinds for what it cannot do
        scale = offset = None
    if scale is None or offset is None:
        raise CircuitError(f"{where}: angle {p} is not an affine function a*{q} + b of its "
                           "parameter; tnq angles are affine in one parameter")
    return symbols[q] * scale + offset if scale != 1 or offset else symbols[q]


def _real(value, where: str) -> float:
    try:
        c = complex(value)
    except (TypeError, ValueError):
        raise CircuitError(f"{where}: angle {show(value)} is not a number or an affine "
                           "expression of one parameter") from None
    if abs(c.imag) > 1e-12 * max(1.0, abs(c.real)) or not math.isfinite(c.real):
        raise CircuitError(f"{where}: angle {value} is not a finite real number")
    return c.real


# ---------------------------------------------------------------- tnq -> Qiskit


def to_qiskit(circuit: Circuit, params=None, *, inputs=None, measure: bool = False):
    """A Qiskit ``QuantumCircuit`` of a tnq circuit, built gate by gate.

    Parameters
    ----------
    circuit : Circuit
    params, inputs : array_like or mapping, optional
        Values for the circuit's parameters (and data inputs): flat arrays in
        :attr:`~tnq.Circuit.layout` order or mappings ``{name: array}``. Without
        them, each tnq vector becomes a Qiskit ``ParameterVector`` of the same
        name and size, and angles ``a*v[k] + b`` the same expressions.
    measure : bool
        Measure every qubit at the end (``measure_all``: a register ``meas``).

    Returns
    -------
    qiskit.QuantumCircuit
        Qubit ``i`` is tnq's qubit ``i``; user unitaries are ``UnitaryGate``
        and ``fsim`` a gate named ``fsim`` (defined by ``rxx``, ``ryy`` and
        ``cp``). ``tnq.from_qiskit`` reads it back as the same circuit (data
        inputs come back as parameters: Qiskit does not tell them apart).

    Examples
    --------
    >>> import tnq
    >>> theta = tnq.parameters(1)
    >>> c = tnq.Circuit(2).h(0).cx(0, 1).rz(1, 0.5 * theta[0] - 1)
    >>> qc = tnq.to_qiskit(c)
    >>> [(i.operation.name, [str(p) for p in i.operation.params]) for i in qc.data]
    [('h', []), ('cx', []), ('rz', ['-1 + 0.5*theta[0]'])]
    >>> tnq.to_qiskit(c, [2.0]).data[2].operation.params
    [0.0]
    """
    qiskit = require("qiskit", "tnq.to_qiskit")
    if not isinstance(circuit, Circuit):
        raise ParameterError(f"to_qiskit needs a tnq.Circuit, got {show(circuit)}")
    layout = circuit.layout
    values = {"param": _flat(layout, params, "param"), "input": _flat(layout, inputs, "input")}
    offsets = {kind: layout.offsets(kind) for kind in ("param", "input")}
    vectors = {v.uid: qiskit.circuit.ParameterVector(v.name, v.size)
               for v in layout.params + layout.inputs}
    library = qiskit.circuit.library
    qc = qiskit.QuantumCircuit(circuit.num_qubits)
    for op in circuit.ops:
        if op.name == "unitary":
            assert op.matrix is not None
            qc.append(library.UnitaryGate(op.matrix, check_input=False), op.qubits[::-1])
            continue
        angles = [_qiskit_angle(p, values, offsets, vectors) for p in op.params]
        gate = _fsim_class()(*angles) if op.name == "fsim" \
            else getattr(library, GATE_NAMES[op.name])(*angles)
        qc.append(gate, op.qubits)
    if measure:
        qc.measure_all()
    return qc


def _flat(layout, values, kind: str):
    if values is None:
        return None
    flat = layout.pack(values, kind)
    size = layout.size(kind)
    try:
        arr = np.asarray(flat, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"to_qiskit: {kind}s must be real numbers, got {show(flat)}") \
            from None
    if arr.shape != (size,):
        what = "params" if kind == "param" else "inputs"
        raise ParameterError(f"to_qiskit: {what} has shape {arr.shape}; expected ({size},) "
                             f"for {layout.describe(kind)}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"to_qiskit: {kind}s must be finite, got {arr.tolist()}"[:200])
    return arr


def _qiskit_angle(p, values, offsets, vectors):
    if not isinstance(p, Symbol):
        return float(p)
    flat = values[p.kind]
    if flat is not None:
        return p.scale * float(flat[offsets[p.kind][p.vector.uid] + p.index]) + p.offset
    q = vectors[p.vector.uid][p.index]
    return q if p.scale == 1 and p.offset == 0 else p.scale * q + p.offset


@functools.cache
def _fsim_class():
    """The Qiskit gate class of tnq's ``fsim`` (made once, when Qiskit is first needed)."""
    from qiskit.circuit import Gate, QuantumCircuit
    from qiskit.circuit.library import CPhaseGate, RXXGate, RYYGate

    class FSimGate(Gate):
        """tnq's fSim gate: ``[[1,0,0,0],[0,c,-is,0],[0,-is,c,0],[0,0,0,e^{-i phi}]]``
        with ``c, s = cos(theta), sin(theta)``."""

        def __init__(self, theta, phi, label=None):
            super().__init__("fsim", 2, [theta, phi], label=label)

        def _define(self):
            theta, phi = self.params
            qc = QuantumCircuit(2, name="fsim")
            qc.append(RXXGate(theta), [0, 1])  # XX and YY commute: exp(-i theta (XX+YY)/2)
            qc.append(RYYGate(theta), [0, 1])
            qc.append(CPhaseGate(-phi), [0, 1])
            self.definition = qc

    FSimGate.__module__ = __name__
    FSimGate.__qualname__ = "FSimGate"
    return FSimGate


def __getattr__(name: str):
    """``FSimGate``: a Qiskit gate class, made when first asked for (Qiskit is optional)."""
    if name == "FSimGate":
        return _fsim_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
