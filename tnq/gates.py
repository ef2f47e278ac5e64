"""The gate registry: every named gate, its size, parameters and matrix.

A gate's matrix is written as a sum ``U(p) = sum_j c_j(p) * B_j`` of constant
basis matrices ``B_j`` weighted by coefficient functions ``c_j`` of the gate
parameters. This lets a call build *all* gates of one kind at once: the
coefficients of ``k`` gates form a ``(k, m)`` array and one matrix product with
the ``(m, d*d)`` basis gives the stacked ``(k, d, d)`` gate table, on any
autoray backend and differentiably.

Diagonal gates (``rz``, ``rzz``, ``cz``, ``cp``, ...) store only their diagonal;
the network builder turns them into hyperedges, which keeps contractions small.

Matrices use the big-endian convention of the gate's own qubit list: the first
qubit of ``c.cx(0, 1)`` is the most significant bit of the row index, and
qubit 0 of a circuit is the leftmost character of a bitstring.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
from autoray import do, infer_backend

from .errors import CircuitError

__all__ = ["Gate", "GATES", "get_gate", "gate_matrix"]

Coeffs = Callable[..., Sequence]


@dataclass(frozen=True, eq=False)
class Gate:
    """A named gate of the registry.

    Parameters
    ----------
    name : str
        The name, equal to the OpenQASM 2 name for gates of ``qelib1.inc``.
    num_qubits, num_params : int
        How many qubits it acts on and how many real parameters it takes.
    matrix : ndarray, optional
        The constant matrix (or diagonal) of a gate without parameters.
    basis, coeffs : optional
        For a parametrized gate: constant basis ``(m, d, d)`` (or ``(m, d)``
        when diagonal) and a function of the parameter arrays returning the
        ``m`` coefficient arrays.
    diagonal : bool
        Whether only the diagonal is stored.
    spectra : tuple of tuples, optional
        For each parameter ``t``, the eigenvalues of a generator ``G`` with
        ``U(t + s) = V exp(-i s G) W`` (``V``, ``W`` independent of ``s``):
        what parameter-shift rules are derived from. Global phases do not
        matter, so ``(0, 1)`` and ``(-1/2, 1/2)`` give the same rule.
    qasm : str, optional
        A ``gate`` definition in terms of ``qelib1.inc`` gates, for gates that
        are not part of it (written into exported OpenQASM).
    """

    name: str
    num_qubits: int
    num_params: int = 0
    matrix: np.ndarray | None = None
    basis: np.ndarray | None = None
    coeffs: Coeffs | None = field(default=None, repr=False)
    diagonal: bool = False
    qasm: str | None = field(default=None, repr=False)
    spectra: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)

    @property
    def dim(self) -> int:
        return 2**self.num_qubits

    def table(self, *params):
        """Stacked matrices (or diagonals) for parameter arrays of shape ``(k,)``.

        Works on any autoray backend; the result has shape ``(k, d, d)``, or
        ``(k, d)`` for a diagonal gate, and the complex dtype matching the
        parameters' real dtype.

        Examples
        --------
        >>> import numpy as np
        >>> t = get_gate("rx").table(np.array([0.0, np.pi]))
        >>> np.round(t[1], 12)
        array([[0.+0.j, 0.-1.j],
               [0.-1.j, 0.+0.j]])
        """
        if self.coeffs is None:
            raise CircuitError(f"gate '{self.name}' takes no parameters")
        complex_params = [p * (1 + 0j) if infer_backend(p) != "tensorflow"
                          else do("cast", p, _COMPLEX[do("get_dtype_name", p)]) for p in params]
        cols = [_as_complex(c, complex_params[0]) for c in self.coeffs(*complex_params)]
        coeffs = do("stack", cols, axis=-1)
        basis = _like(self.basis.reshape(len(cols), -1), coeffs)
        flat = do("matmul", coeffs, basis)
        return do("reshape", flat, (-1,) + self.basis.shape[1:])


_COMPLEX = {"float32": "complex64", "float64": "complex128"}


def _as_complex(c, ref):
    """Coefficient ``c`` (array or Python number) as a complex array like ``ref``."""
    if isinstance(c, (int, float, complex)):
        c = ref * 0 + c
    return c * (1 + 0j)


def _like(array: np.ndarray, ref):
    """A constant numpy array on the backend, device and dtype of ``ref``."""
    backend = ref.__class__.__module__.split(".")[0]
    if backend == "numpy":
        return array.astype(ref.dtype, copy=False)
    if backend == "torch":
        import torch

        return torch.as_tensor(array, dtype=ref.dtype, device=ref.device)
    return do("astype", do("asarray", array, like=ref), do("get_dtype_name", ref), like=ref)


# ----------------------------------------------------------------- matrices

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)
H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=complex) / 2
P0 = np.diag([1.0, 0.0]).astype(complex)
P1 = np.diag([0.0, 1.0]).astype(complex)


def _unit(d: int, i: int, j: int) -> np.ndarray:
    m = np.zeros((d, d), dtype=complex)
    m[i, j] = 1
    return m


def _controlled(u: np.ndarray, num_controls: int = 1) -> np.ndarray:
    """Matrix of ``u`` controlled on all of ``num_controls`` leading qubits."""
    d = u.shape[0] * 2**num_controls
    m = np.eye(d, dtype=complex)
    m[d - u.shape[0] :, d - u.shape[0] :] = u
    return m


def _embed(u: np.ndarray, qubits: Sequence[int], n: int) -> np.ndarray:
    """Dense ``2^n`` matrix of ``u`` acting on ``qubits`` (used at import only)."""
    k = len(qubits)
    t = u.reshape((2,) * 2 * k)
    full = np.eye(2**n, dtype=complex).reshape((2,) * 2 * n)
    full = np.tensordot(t, full, axes=(list(range(k, 2 * k)), list(qubits)))
    return np.moveaxis(full, list(range(k)), list(qubits)).reshape(2**n, 2**n)


def _sequence(n: int, steps: Sequence[tuple[np.ndarray, Sequence[int]]]) -> np.ndarray:
    """Product of gates applied in order (first step acts first)."""
    return reduce(lambda acc, s: _embed(s[0], s[1], n) @ acc, steps, np.eye(2**n, dtype=complex))


def _u3(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]]
    )


def _rccx() -> np.ndarray:
    h, cx = _u3(math.pi / 2, 0, math.pi), X
    t = np.diag([1, np.exp(1j * math.pi / 4)])
    tdg = t.conj()
    return _sequence(3, [(h, [2]), (t, [2]), (_controlled(cx), [1, 2]), (tdg, [2]),
                         (_controlled(cx), [0, 2]), (t, [2]), (_controlled(cx), [1, 2]),
                         (tdg, [2]), (h, [2])])


def _rc3x() -> np.ndarray:
    h = _u3(math.pi / 2, 0, math.pi)
    t = np.diag([1, np.exp(1j * math.pi / 4)])
    tdg = t.conj()
    cx = _controlled(X)
    steps = [(h, [3]), (t, [3]), (cx, [2, 3]), (tdg, [3]), (h, [3]),
             (cx, [0, 3]), (t, [3]), (cx, [1, 3]), (tdg, [3]), (cx, [0, 3]),
             (t, [3]), (cx, [1, 3]), (tdg, [3]), (h, [3]), (t, [3]), (cx, [2, 3]),
             (tdg, [3]), (h, [3])]
    return _sequence(4, steps)


# ------------------------------------------------------------- coefficients


def _half(t):
    return do("cos", t / 2), do("sin", t / 2)


def _rot(t):
    c, s = _half(t)
    return [c, -1j * s]


def _phase(t):
    return [1.0, do("exp", 1j * t)]


def _zrot(t):
    return [do("exp", -0.5j * t), do("exp", 0.5j * t)]


def _u3_coeffs(theta, phi, lam):
    c, s = _half(theta)
    return [c, -do("exp", 1j * lam) * s, do("exp", 1j * phi) * s, do("exp", 1j * (phi + lam)) * c]


def _u2_coeffs(phi, lam):
    r = 1 / math.sqrt(2)
    return [r, -r * do("exp", 1j * lam), r * do("exp", 1j * phi), r * do("exp", 1j * (phi + lam))]


def _cu3_coeffs(theta, phi, lam):
    return [1.0] + _u3_coeffs(theta, phi, lam)


def _cu_coeffs(theta, phi, lam, gamma):
    g = do("exp", 1j * gamma)
    return [1.0] + [g * c for c in _u3_coeffs(theta, phi, lam)]


def _fsim_coeffs(theta, phi):
    return [1.0, do("cos", theta), -1j * do("sin", theta), do("exp", -1j * phi)]


def _crot_coeffs(t):
    return [1.0] + _rot(t)


def _crz_coeffs(t):
    return [1.0] + _zrot(t)


E2 = np.array([_unit(2, i, j) for i in range(2) for j in range(2)])

# Generator spectra (eigenvalues), from which shift rules are derived.
PAULI = (-0.5, 0.5)  # exp(-i t P / 2) for a Pauli string P
PHASE = (0.0, 1.0)  # a phase e^{i t} on one projector (also controlled phases)
CONTROLLED = (0.0, 0.0, -0.5, 0.5)  # a Pauli rotation controlled on one qubit


def _registry() -> dict[str, Gate]:
    const = {
        "id": I2, "x": X, "y": Y, "z": Z, "h": H,
        "s": np.diag([1, 1j]), "sdg": np.diag([1, -1j]),
        "t": np.diag([1, np.exp(1j * math.pi / 4)]),
        "tdg": np.diag([1, np.exp(-1j * math.pi / 4)]),
        "sx": SX, "sxdg": SX.conj().T,
        "cx": _controlled(X), "cy": _controlled(Y), "cz": _controlled(Z),
        "ch": _controlled(H), "csx": _controlled(SX),
        "swap": np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
        "iswap": np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
        "ccx": _controlled(X, 2), "c3x": _controlled(X, 3), "c4x": _controlled(X, 4),
        "c3sqrtx": _controlled(SX, 3),
        "cswap": _controlled(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])),
        "rccx": _rccx(), "rc3x": _rc3x(),
    }
    gates: dict[str, Gate] = {}
    for name, m in const.items():
        m = np.asarray(m, dtype=complex)
        nq = int(math.log2(m.shape[0]))
        diag = np.allclose(m, np.diag(np.diag(m)))
        gates[name] = Gate(name, nq, matrix=np.diag(m).copy() if diag else m, diagonal=diag)
    gates["iswap"] = Gate("iswap", 2, matrix=gates["iswap"].matrix,
                          qasm="gate iswap a,b { s a; s b; h a; cx a,b; cx b,a; h b; }")

    diag1 = np.eye(2, dtype=complex)  # basis of diagonals e0, e1
    zz_basis = np.array([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=complex)
    c_basis = np.array([np.kron(P0, I2), np.kron(P1, I2)])
    xx, yy = np.kron(X, X), np.kron(Y, Y)
    param = [
        Gate("rx", 1, 1, basis=np.array([I2, X]), coeffs=_rot, spectra=(PAULI,)),
        Gate("ry", 1, 1, basis=np.array([I2, Y]), coeffs=_rot, spectra=(PAULI,)),
        Gate("rz", 1, 1, basis=diag1, coeffs=_zrot, diagonal=True, spectra=(PAULI,)),
        Gate("p", 1, 1, basis=diag1, coeffs=_phase, diagonal=True, spectra=(PHASE,)),
        Gate("u1", 1, 1, basis=diag1, coeffs=_phase, diagonal=True, spectra=(PHASE,)),
        Gate("u2", 1, 2, basis=E2, coeffs=_u2_coeffs, spectra=(PHASE, PHASE)),
        Gate("u3", 1, 3, basis=E2, coeffs=_u3_coeffs, spectra=(PAULI, PHASE, PHASE)),
        Gate("u", 1, 3, basis=E2, coeffs=_u3_coeffs, spectra=(PAULI, PHASE, PHASE)),
        Gate("rxx", 2, 1, basis=np.array([np.eye(4), xx]), coeffs=_rot, spectra=(PAULI,)),
        Gate("ryy", 2, 1, basis=np.array([np.eye(4), yy]), coeffs=_rot, spectra=(PAULI,),
             qasm="gate ryy(theta) a,b { rx(pi/2) a; rx(pi/2) b; cx a,b; rz(theta) b; "
                  "cx a,b; rx(-pi/2) a; rx(-pi/2) b; }"),
        Gate("rzz", 2, 1, basis=zz_basis, coeffs=_zrot, diagonal=True, spectra=(PAULI,)),
        Gate("crx", 2, 1, basis=np.array([c_basis[0], c_basis[1], np.kron(P1, X)]),
             coeffs=_crot_coeffs, spectra=(CONTROLLED,)),
        Gate("cry", 2, 1, basis=np.array([c_basis[0], c_basis[1], np.kron(P1, Y)]),
             coeffs=_crot_coeffs, spectra=(CONTROLLED,)),
        Gate("crz", 2, 1, basis=np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], complex),
             coeffs=_crz_coeffs, diagonal=True, spectra=(CONTROLLED,)),
        Gate("cp", 2, 1, basis=np.array([[1, 1, 1, 0], [0, 0, 0, 1]], complex),
             coeffs=_phase, diagonal=True, spectra=(PHASE,)),
        Gate("cu1", 2, 1, basis=np.array([[1, 1, 1, 0], [0, 0, 0, 1]], complex),
             coeffs=_phase, diagonal=True, spectra=(PHASE,)),
        Gate("cu3", 2, 3, basis=np.array([c_basis[0]] + [np.kron(P1, e) for e in E2]),
             coeffs=_cu3_coeffs, spectra=(CONTROLLED, PHASE, PHASE)),
        Gate("cu", 2, 4, basis=np.array([c_basis[0]] + [np.kron(P1, e) for e in E2]),
             coeffs=_cu_coeffs, spectra=(CONTROLLED, PHASE, PHASE, PHASE)),
        Gate("fsim", 2, 2, coeffs=_fsim_coeffs, basis=np.array([
            _unit(4, 0, 0), _unit(4, 1, 1) + _unit(4, 2, 2),
            _unit(4, 1, 2) + _unit(4, 2, 1), _unit(4, 3, 3)]),
             qasm="gate fsim(theta,phi) a,b { rxx(theta) a,b; ryy(theta) a,b; cp(-phi) a,b; }",
             spectra=((-1.0, 0.0, 0.0, 1.0), PHASE)),
    ]
    for g in param:
        gates[g.name] = Gate(g.name, g.num_qubits, g.num_params,
                             basis=np.asarray(g.basis, dtype=complex), coeffs=g.coeffs,
                             diagonal=g.diagonal, qasm=g.qasm, spectra=g.spectra)
    return gates


GATES: dict[str, Gate] = _registry()


def get_gate(name: str) -> Gate:
    """The registered gate called ``name`` (a :class:`~tnq.CircuitError` if unknown)."""
    try:
        return GATES[name]
    except KeyError:
        raise CircuitError(
            f"unknown gate '{name}'; known gates are: {', '.join(sorted(GATES))}"
        ) from None


def gate_matrix(name: str, *params: float) -> np.ndarray:
    """The full ``(d, d)`` matrix of a named gate at numeric parameters.

    Examples
    --------
    >>> gate_matrix("cx").real.astype(int)
    array([[1, 0, 0, 0],
           [0, 1, 0, 0],
           [0, 0, 0, 1],
           [0, 0, 1, 0]])
    """
    gate = get_gate(name)
    if len(params) != gate.num_params:
        raise CircuitError(
            f"gate '{name}' takes {gate.num_params} parameter(s), got {len(params)}"
        )
    values: list[float] = []
    for k, p in enumerate(params):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not math.isfinite(p):
            raise CircuitError(f"gate '{name}': parameter {k} is {p!r}; expected a finite "
                               "real number")
        values.append(float(p))
    if gate.coeffs is None:
        m = gate.matrix
    else:
        m = gate.table(*(np.array([v]) for v in values))[0]
    return np.diag(np.asarray(m)) if gate.diagonal else np.array(m)
