"""Adjoint-mode gradients in the state regime: one forward pass over fused
blocks, then one reverse sweep.

For a value ``f = <psi|H|psi>`` with ``|psi> = B_N ... B_1 |0>`` (the fused
blocks of :mod:`tnq.compile.fusion`), the reverse sweep keeps two vectors:
``|psi_b>``, the state before block ``b`` (recovered from the final state by
applying ``B_b^dagger``: blocks are unitary), and ``|lam_b> = B_{b+1}^dagger
... B_N^dagger H |psi>``. A parameter ``t`` of a gate inside block ``b``
contributes ``df/dt = 2 Re <lam_b| dB_b/dt |psi_b>``. Since a block acts on
``d = 2^k`` amplitudes only, that overlap is ``2 Re sum_ij dB_ij R_ij`` with
the ``d x d`` matrix ``R_ij = sum_rest conj(lam[i, rest]) psi[j, rest]``: one
pass over the state per block, however many gates the block holds. The
block derivatives ``dB_b/dt`` are small products built, like the blocks
themselves, by one batched product per step for all blocks of one signature
(:meth:`tnq.strategies.blocks.BlockRecipe.build`), with the gate's table
replaced by its derivative. A gate's derivative comes from its own table at
shifted parameters: a gate ``V exp(-i t G) W`` has entries that are
trigonometric polynomials in ``t`` whose frequencies are the magnitudes of
``G``'s eigenvalues (:attr:`tnq.gates.Gate.spectra`), so a shift rule
(:func:`tnq.gradients.rules.shift_rule`) gives the matrix derivative exactly.

Memory: the state, one adjoint vector per observable (or one per batch row
for a vector-Jacobian product), and a few temporaries, however deep the
circuit. Work: the forward pass plus about three passes over the state per
block. Runs on numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..compile.fusion import Block, fuse, merged_transpose
from ..contract import Values, to_numpy
from ..errors import CompileError, GradientError, MemoryLimitError
from ..gates import Gate
from ..plan import format_bytes
from ..program import Program
from ..strategies.base import Setup
from ..strategies.blocks import ArrayOps, BlockRecipe, apply_block, to_qubit_order
from ..strategies.state import apply_factors
from .rules import ShiftRule, shift_rule

__all__ = ["AdjointSweep", "matrix_rule", "adjoint_applies", "adjoint_value_and_grad", "sweep_of",
           "adjoint_width", "STATE_REGIME", "DEFAULT_ADJOINT"]

STATE_REGIME = ("statevector", "state")
"""Strategies whose Programs the adjoint sweep can differentiate (exact, and
the state fits)."""
DEFAULT_ADJOINT = ("statevector",)
"""Strategies whose Programs ``value_and_grad`` differentiates by the adjoint
sweep by default (numpy arguments): where ``auto`` found the gate-order
simulation cheapest. Where it picked a contraction (``state``), autodiff
through that contraction is cheaper (W1 (20, 8): 1.7e8 against 8.7e8 FLOPs
forward)."""

def adjoint_width(num_qubits: int) -> int:
    """Qubits a fused block may span in the adjoint sweep: few on small states,
    where building the blocks' ``d x d`` products (and their derivatives) costs
    more than passes over the state, more on large ones.

    Examples
    --------
    >>> [adjoint_width(n) for n in (4, 10, 20)]
    [2, 3, 4]
    """
    return 2 if num_qubits < 8 else 3 if num_qubits < 14 else 4


def matrix_rule(spectrum: Sequence[float]) -> ShiftRule:
    """The shift rule giving the derivative of a gate *matrix* ``V exp(-i t G) W``:
    its entries have the frequencies ``|lambda|`` of ``G``'s eigenvalues.

    Examples
    --------
    >>> import numpy as np
    >>> from tnq.gates import get_gate
    >>> rule = matrix_rule((-0.5, 0.5))  # rx: entries cos(t/2), sin(t/2)
    >>> rx = get_gate("rx").table
    >>> t = np.array([0.3])
    >>> d = sum(c * (rx(t + s) - rx(t - s)) for s, c in zip(rule.shifts, rule.coeffs))
    >>> bool(np.allclose(d[0], [[-np.sin(0.15) / 2, -0.5j * np.cos(0.15)],
    ...                         [-0.5j * np.cos(0.15), -np.sin(0.15) / 2]]))
    True
    """
    freqs = np.unique(np.round(np.abs(np.asarray(spectrum, dtype=float)), 10))
    return shift_rule(tuple(float(f) for f in freqs if f > 0))


class AdjointSweep:
    """The structure of a Program's adjoint gradient, made once (no numbers).

    Parameters
    ----------
    setup : Setup
        What the Program was built from (:attr:`tnq.Program.setup`); it needs
        an observable.
    width : int, optional
        Qubits a fused block may span (default: :func:`adjoint_width`).

    Examples
    --------
    >>> import numpy as np, tnq
    >>> theta = tnq.parameters(2)
    >>> c = tnq.Circuit(2).ry(0, theta[0]).cx(0, 1).rx(1, theta[1])
    >>> program = tnq.compile(c, "Z1")
    >>> value, jac = AdjointSweep(program.setup).value_and_jacobian(
    ...     program.evaluator.values(np.array([0.3, 0.5]), None))
    >>> print(np.round(value, 8), np.round(jac[:, :2], 8))  # cos(.3) cos(.5) and its gradient
    [0.83838664] [[-0.25934338 -0.45801271]]
    """

    def __init__(self, setup: Setup, *, width: int | None = None):
        if setup.terms is None:
            raise CompileError("adjoint gradients need a Program compiled with an observable")
        e, n = setup.evaluator, setup.num_qubits
        self.setup = setup
        self.fusion = fuse(setup.ops, n, width=adjoint_width(n) if width is None else width)
        self.recipe = BlockRecipe(self.fusion, setup.ops, e)
        gates = [setup.ops[k.ops[0]].gate for k in e.kinds]
        for g in gates:
            if g.spectra is None or len(g.spectra) != g.num_params:
                raise GradientError(f"gate '{g.name}' declares no generator spectrum: no "
                                    "adjoint gradient; use autodiff")
        self._gates: tuple[Gate, ...] = tuple(gates)
        self._rules = tuple(tuple(_shift_arrays(matrix_rule(s)) for s in g.spectra or ())
                            for g in gates)
        self._src = np.concatenate([k.src.ravel() for k in e.kinds] + [np.zeros(0, np.int64)])
        self._scale = np.concatenate([k.scale.ravel() for k in e.kinds] + [np.zeros(0)])
        self._first = self.recipe.first

    # ------------------------------------------------------------ passes
    def states(self, count: int) -> int:
        """Bytes of the states a sweep with ``count`` adjoint vectors holds."""
        return _state_bytes(self.setup, count)

    def forward(self, values: Values):
        """The final state (fusion layout), with the call's tables and block matrices."""
        e, n = self.setup.evaluator, self.setup.num_qubits
        tables = e.tables(values)
        mats = self.recipe.matrices(tables, values.vals)
        psi = np.zeros(2**n, dtype=self.setup.dtype)
        psi[0] = 1.0
        xp = ArrayOps(psi)
        for block, m in zip(self.fusion.blocks, mats):
            psi = apply_block(psi, m, block, n, xp)
        if values.batch is not None and psi.ndim == 1:
            psi = np.broadcast_to(psi, (values.batch, 2**n))
        return psi, tables, mats

    def observe(self, psi, cotangent=None):
        """Values ``(..., K)`` and the conjugated adjoint vectors ``conj(H_k psi)``
        in the fusion's layout: ``(K, ..., 2**n)``, or with ``cotangent``
        (``(..., K)`` weights) their weighted sum ``(..., 2**n)``."""
        terms, n = self.setup.terms, self.setup.num_qubits
        assert terms is not None
        q = to_qubit_order(psi, self.fusion)
        lead = tuple(q.shape[:-1])
        K = terms.num_outputs
        lam = np.zeros((K,) + lead + (2**n,), dtype=q.dtype)
        for r, (support, op) in enumerate(zip(terms.supports, terms.operators)):
            o = apply_factors(q, op, support, n) if op.ndim == 3 else \
                _apply_dense(q, op.astype(q.dtype, copy=False), support, n)
            for k in range(K):
                w = terms.weights[k, r]
                if w:
                    lam[k] += w * o if w != 1.0 else o
        value = np.real(np.einsum("...i,k...i->...k", q.conj(), lam)) + terms.constant
        if cotangent is not None:
            lam = np.einsum("...k,k...i->...i", np.asarray(cotangent, dtype=q.real.dtype), lam)
        return value, _from_qubit_order(lam.conj(), self.fusion)

    def backward(self, psi, mu, values: Values, tables: list, mats: list) -> np.ndarray:
        """``(..., V + 1)``: the derivative of ``Re <lam|psi>`` (``mu = conj(lam)``,
        lead ``(K,)`` or the batch) by every value slot of the call."""
        n, blocks = self.setup.num_qubits, self.fusion.blocks
        overlaps: dict[int, np.ndarray] = {}
        for b in range(len(blocks) - 1, self._first - 1, -1):
            psi, mu, r = _reverse(psi, mu, mats[b], blocks[b], n,
                                  need=b not in self.recipe.constant)
            if r is not None:
                overlaps[b] = r
        lead = tuple(np.broadcast_shapes(psi.shape[:-1], mu.shape[:-1]))
        return self._slots(overlaps, values, tables, lead)

    def _slots(self, overlaps: dict, values: Values, tables: list, lead: tuple) -> np.ndarray:
        e = self.setup.evaluator
        like = values.vals
        dtables = self._derivative_tables(values)
        dv = [np.zeros(lead + k.src.shape) for k in e.kinds]
        for g, group in enumerate(self.recipe.groups):
            axis = -2 if group.diagonal else -3
            rg = np.stack([overlaps[b] for b in group.members], axis=axis)
            for j, rows, c, contrib in self.recipe.derivatives(g, tables, dtables, rg, like):
                dv[j][..., rows, c] += np.broadcast_to(contrib, lead + (len(rows),))
        flat = np.concatenate([x.reshape(lead + (-1,)) for x in dv] + [np.zeros(lead + (0,))],
                              axis=-1) * self._scale
        width = values.vals.shape[-1]
        out = np.zeros((width, int(np.prod(lead, dtype=np.int64))))
        if len(self._src):
            np.add.at(out, self._src, flat.reshape(-1, len(self._src)).T)
        return out.T.reshape(lead + (width,))

    def _derivative_tables(self, values: Values) -> list[list]:
        """Per kind, per parameter column: the derivative of its gate table."""
        e = self.setup.evaluator
        vals = values.vals
        flat = vals if values.batch is None else vals[0]
        out = []
        for j, (kind, gate, rules) in enumerate(zip(e.kinds, self._gates, self._rules)):
            v = (vals if j in values.batched else flat)[..., kind.src] * kind.scale + kind.offset
            cols = []
            for c, (shifts, weights) in enumerate(rules):
                vs = np.broadcast_to(v, (len(shifts),) + v.shape).copy()
                vs[..., c] += shifts.reshape((-1,) + (1,) * (v.ndim - 1))
                table = gate.table(*(vs[..., i].ravel() for i in range(gate.num_params)))
                table = np.asarray(table).reshape((len(shifts),) + v.shape[:-1] + kind.shape)
                cols.append(np.tensordot(weights.astype(table.dtype), table, axes=1))
            out.append(cols)
        return out

    # ------------------------------------------------------------ front
    def value_and_jacobian(self, values: Values) -> tuple[np.ndarray, np.ndarray]:
        """``(K,)`` values and ``(K, V + 1)`` derivatives by every value slot,
        for one (unbatched) call."""
        if values.batch is not None:
            raise GradientError(f"adjoint value_and_jacobian takes one parameter vector, got "
                                f"a batch of {values.batch}")
        self._check_memory(self.setup.terms.num_outputs if self.setup.terms else 1)
        psi, tables, mats = self.forward(values)
        value, mu = self.observe(psi)
        return value, self.backward(psi, mu, values, tables, mats)

    def vjp(self, values: Values, psi, tables, mats, cotangent) -> np.ndarray:
        """``(..., V + 1)``: the derivative of ``sum_k cotangent[..., k] f_k``
        by every value slot (per batch row), from a :meth:`forward` pass."""
        _, mu = self.observe(psi, cotangent)
        return self.backward(psi, mu, values, tables, mats)

    def _check_memory(self, count: int) -> None:
        need = self.states(count)
        if need > self.setup.max_memory:
            raise MemoryLimitError(f"adjoint gradient: the state and {count} adjoint vectors "
                                   f"of {self.setup.num_qubits} qubits need "
                                   f"{format_bytes(need)}, over max_memory="
                                   f"{format_bytes(self.setup.max_memory)}")


# ---------------------------------------------------------------- kernels


def _apply_dense(psi, op: np.ndarray, support: tuple[int, ...], n: int):
    """``psi`` (``(..., 2**n)``, qubit order) with ``op`` applied on ``support``."""
    lead = tuple(psi.shape[:-1])
    lo, hi, k = support[0], support[-1], len(support)
    d = 2**k
    if hi - lo + 1 == k:
        a, c = 2**lo, 2 ** (n - hi - 1)
        if c == 1:
            return (psi.reshape(lead + (a, d)) @ op.T).reshape(lead + (2**n,))
        return (op @ psi.reshape(lead + (a, d, c))).reshape(lead + (2**n,))
    b = len(lead)
    t = psi.reshape(lead + (2,) * n)
    t = np.tensordot(t, op.reshape((2,) * 2 * k), axes=([b + q for q in support],
                                                        list(range(k, 2 * k))))
    return np.moveaxis(t, list(range(t.ndim - k, t.ndim)), [b + q for q in support]
                       ).reshape(lead + (2**n,))


def _from_qubit_order(x, fusion):
    """``x`` (qubit order) with its axes in the fusion's final layout."""
    n = fusion.num_qubits
    if fusion.layout == tuple(range(n)):
        return x
    view, perm = merged_transpose(list(fusion.layout))
    lead = tuple(x.shape[:-1])
    b = len(lead)
    t = x.reshape(lead + view).transpose(tuple(range(b)) + tuple(b + p for p in perm))
    return t.reshape(lead + (2**n,))


def _reverse(psi, mu, m, block: Block, n: int, need: bool):
    """One step back through ``block``: ``(psi before, mu before, R)`` from the
    state and conjugated adjoint after it; ``R`` (``(..., d, d)`` or ``(..., d)``
    for a diagonal block) only when ``need``."""
    mode = block.mode
    lp, lm = tuple(psi.shape[:-1]), tuple(mu.shape[:-1])
    size = (2**n,)
    r = None
    if mode == "diag":
        mv = m.reshape(tuple(m.shape[:-1]) + block.perm)
        tp = psi.reshape(lp + block.shape) * mv.conj()
        vm = mu.reshape(lm + block.shape)
        if need:
            prod = vm * tp
            b = prod.ndim - len(block.shape)
            axes = tuple(b + i for i, s in enumerate(block.perm) if s == 1)
            r = prod.sum(axis=axes).reshape(tuple(prod.shape[:b]) + (block.dim,))
        tm = vm * mv
        return tp.reshape(lp + size), tm.reshape(lm + size), r
    if mode == "left":
        mm = m if m.ndim == 2 else m[:, None]
        tp = np.swapaxes(mm, -1, -2).conj() @ psi.reshape(lp + block.shape)
        vm = mu.reshape(lm + block.shape)
        if need:
            r = (vm @ np.swapaxes(tp, -1, -2)).sum(axis=-3)
        tm = np.swapaxes(mm, -1, -2) @ vm
        return tp.reshape(lp + size), tm.reshape(lm + size), r
    view = block.shape[:2]
    tp = psi.reshape(lp + view) @ m.conj()
    vm = mu.reshape(lm + view)
    if need:
        r = np.swapaxes(vm, -1, -2) @ tp
    tm = vm @ m
    if mode == "back":
        tp, tm = _untranspose(tp, block, len(lp)), _untranspose(tm, block, len(lm))
    return tp.reshape(lp + size), tm.reshape(lm + size), r


def _untranspose(t, block: Block, b: int):
    """The inverse of the transpose a ``"back"`` block makes."""
    view, perm = block.shape[2:], block.perm
    lead = tuple(t.shape[:b])
    t = t.reshape(lead + tuple(view[p] for p in perm))
    inverse = tuple(int(i) for i in np.argsort(perm))
    return t.transpose(tuple(range(b)) + tuple(b + i for i in inverse))


# ---------------------------------------------------------------- front


def adjoint_applies(program: Program, strategies: tuple[str, ...] = STATE_REGIME) -> bool:
    """Whether the adjoint sweep can take ``program``'s gradients: its strategy
    one of ``strategies``, every symbolic gate with a generator spectrum, and
    the state with one adjoint vector per observable within ``max_memory``."""
    setup = program.setup
    if program.strategy not in strategies or setup.terms is None:
        return False
    if any(setup.ops[k.ops[0]].gate.spectra is None for k in setup.evaluator.kinds):
        return False
    return _state_bytes(setup, setup.terms.num_outputs) <= setup.max_memory


def _state_bytes(setup: Setup, count: int) -> int:
    """Bytes of the states a sweep with ``count`` adjoint vectors holds."""
    return (count + 3) * 2**setup.num_qubits * setup.itemsize


def _shift_arrays(rule: ShiftRule) -> tuple[np.ndarray, np.ndarray]:
    """A rule's signed shifts and weights, as the derivative tables use them."""
    return (np.array([sign * s for s in rule.shifts for sign in (1, -1)]),
            np.array([sign * w for w in rule.coeffs for sign in (1, -1)]))


def sweep_of(program: Program) -> AdjointSweep:
    """``program``'s :class:`AdjointSweep`, made once and kept with it."""
    return program.derived("adjoint-sweep", lambda: AdjointSweep(program.setup))


def adjoint_value_and_grad(program: Program, params, inputs=None):
    """``value_and_grad`` by the adjoint method: ``(value, grad)`` as numpy, or
    ``((K,), (K, P))`` for a Program with a vector of values.

    Examples
    --------
    >>> import tnq
    >>> theta = tnq.parameters(1)
    >>> program = tnq.compile(tnq.Circuit(1).rx(0, theta[0]), "Z0")
    >>> value, grad = adjoint_value_and_grad(program, [0.3])
    >>> print(round(value, 10), round(float(grad[0]), 10))
    0.9553364891 -0.2955202067
    """
    sweep = sweep_of(program)
    values = program.evaluator.values(to_numpy(params) if params is not None else None,
                                      None if inputs is None else to_numpy(inputs))
    if values.batch is not None:
        raise GradientError(f"value_and_grad needs one parameter vector, got a batch of "
                            f"{values.batch}; reduce the values to a loss and differentiate "
                            "that (torch or jax)")
    value, jac = sweep.value_and_jacobian(values)
    grad = jac[:, :program.num_params]
    if program.value_shape:
        return value, grad
    return float(value[0]), grad[0]
