"""Call-time evaluation: gate tables from parameters, operands for a plan.

At compile time, :class:`Evaluator` sorts the circuit's operations into
constant gates (arrays made once per backend) and symbolic gate *kinds*. At
call time it gathers every parameter slot of a kind with one indexing
operation (``values[src] * scale + offset``), builds all gates of the kind with
one matrix product (:meth:`tnq.gates.Gate.table`), and hands the pieces to the
plan's contractor. Nothing here loops over gates in Python except the final
unstacking into the operand list a contraction takes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from autoray import do, infer_backend

from . import checks
from .circuit import Op
from .compile.network import Network
from .errors import ParameterError
from .memo import Memo
from .symbols import Symbol

__all__ = ["Evaluator", "Values", "backend_of", "device_key", "to_backend", "to_numpy",
           "transformation"]

ZERO = np.array([1.0, 0.0])


def backend_of(*arrays) -> str:
    """The autoray backend of the first array that is not a plain Python/numpy value."""
    for a in arrays:
        if a is not None and not isinstance(a, (list, tuple, numbers.Number)):
            name = infer_backend(a)
            if name not in ("builtins", "numpy"):
                return name
    return "numpy"


def to_backend(array: np.ndarray, like):
    """Constant numpy ``array`` on the backend and device of ``like`` (same dtype)."""
    backend = infer_backend(like)
    if backend == "numpy":
        return array
    if backend == "torch":
        import torch

        return torch.as_tensor(array, device=like.device)
    if backend == "jax":  # concrete even while tracing, so it may be cached
        import jax

        with jax.ensure_compile_time_eval():
            return jax.numpy.asarray(array)
    return do("asarray", array, like=backend)


def device_key(like) -> tuple[str, str]:
    """(backend, device) of an array: the key of constants cached per backend."""
    backend = infer_backend(like)
    return backend, str(like.device) if backend == "torch" else ""


def transformation(x) -> str | None:
    """The function transformation ``x`` is traced or batched by, if any:
    ``"jax.jit"``, ``"jax.vmap"``, ``"jax.grad"``, ``"torch.func.vmap"`` or
    ``"torch.func.grad"``; None for a concrete array (torch autograd included)."""
    module = type(x).__module__
    if module.startswith("jax"):
        import jax

        if isinstance(x, jax.core.Tracer):
            name = type(x).__name__
            if "Batch" in name:
                return "jax.vmap"
            if "JVP" in name or "Linearize" in name:
                return "jax.grad"
            return "jax.jit"
        return None
    if module.startswith("torch"):
        import torch

        functorch = getattr(torch._C, "_functorch", None)
        if functorch is not None and functorch.is_functorch_wrapped_tensor(x):
            return "torch.func.vmap" if functorch.is_batchedtensor(x) else "torch.func.grad"
    return None


def _has_bool(x) -> bool:
    """Whether a list, tuple or scalar of a call's numbers holds a boolean."""
    if isinstance(x, (bool, np.bool_)):
        return True
    return isinstance(x, (list, tuple)) and any(_has_bool(v) for v in x)


def _check_finite(x: np.ndarray, finite: np.ndarray, name: str) -> None:
    """A ParameterError naming the first entry of ``x`` that is not finite."""
    bad = np.argwhere(~finite)
    if bad.size:
        at = tuple(int(i) for i in bad[0])
        where = at[0] if len(at) == 1 else at
        raise ParameterError(f"{name}[{where}] is {x[at]}; expected finite values")


def to_numpy(x) -> np.ndarray:
    """``x`` as a numpy array (a torch tensor detached and moved to the CPU)."""
    if infer_backend(x) == "torch":
        return x.detach().cpu().numpy()
    return np.asarray(x)


def unbind(x, axis: int = 0) -> list:
    """Split along ``axis`` into a list, in one call where the backend has one."""
    backend = infer_backend(x)
    if backend == "torch":
        return list(x.unbind(axis))
    if axis:
        x = do("moveaxis", x, axis, 0)
    if backend == "numpy":
        return list(x)
    return [x[i] for i in range(x.shape[0])]


def _gather(x, index):
    """``x[..., index]`` for an integer array ``index``, on any backend."""
    if infer_backend(x) == "tensorflow":
        return do("take", x, index, axis=-1)
    return x[..., index]


def _tensor_shape(op: Op) -> tuple[int, ...]:
    k = len(op.qubits)
    return (2,) * (k if op.gate.diagonal else 2 * k)


@dataclass(frozen=True, eq=False)
class Values:
    """One call's parameter values: the flat vector (or ``(B, V + 1)`` batch),
    the batch size (``None`` when unbatched) and the kinds that vary across it."""

    vals: Any
    batch: int | None
    batched: frozenset[int]


@dataclass(frozen=True, eq=False)
class _Kind:
    """All symbolic gates of one name: where their parameters come from."""

    gate_name: str
    ops: tuple[int, ...]
    src: np.ndarray  # (k, p) indices into the value vector
    scale: np.ndarray  # (k, p)
    offset: np.ndarray  # (k, p)
    shape: tuple[int, ...]
    uses: frozenset[str]  # which vectors it reads: "param", "input"


class Evaluator:
    """Builds the arrays of a circuit's networks for given parameters.

    Parameters
    ----------
    ops : sequence of Op
        The circuit's operations (a snapshot).
    num_params, num_inputs : int
        Lengths of the trainable parameter and data input vectors.
    dtype : {"complex128", "complex64"}
    """

    def __init__(self, ops: Sequence[Op], num_params: int, num_inputs: int, dtype: str):
        self.ops = tuple(ops)
        self.num_params, self.num_inputs = num_params, num_inputs
        self.dtype = np.dtype(dtype)
        self.real_dtype = np.finfo(self.dtype).dtype.name
        consts = [ZERO.astype(self.dtype)]
        self._const_pos: dict[tuple[int, bool], int] = {}
        by_name: dict[str, list[int]] = {}
        constant = []
        for i, op in enumerate(self.ops):
            if op.symbolic:
                by_name.setdefault(op.name, []).append(i)
            else:
                constant.append(i)
        for i, m, mc in self._constant_tensors(constant):
            self._const_pos[(i, False)] = len(consts)
            self._const_pos[(i, True)] = len(consts) + 1
            consts += [m, mc]
        self._consts = tuple(consts)
        self.kinds = tuple(self._kind(name, idx) for name, idx in by_name.items())
        self._kind_pos = {i: (j, p) for j, kind in enumerate(self.kinds)
                          for p, i in enumerate(kind.ops)}
        self._backend_cache = Memo(8, travel=False)

    def locate(self, i: int, conj: bool = False) -> tuple[int, int]:
        """Where gate ``i``'s tensor comes from: ``(kind, row)`` for a symbolic
        gate, ``(-1, position)`` in :meth:`constants` for a constant one."""
        if (i, conj) in self._const_pos:
            return -1, self._const_pos[(i, conj)]
        return self._kind_pos[i]

    def _constant_tensors(self, idx: list[int]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(i, tensor, conjugate)`` of the constant gates at positions ``idx``:
        gates of one name with numeric parameters built by one table call."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        fixed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        numeric: dict[str, list[int]] = {}
        for i in idx:
            op = self.ops[i]
            if op.matrix is not None:
                m = np.asarray(op.gate.matrix, dtype=self.dtype).reshape(_tensor_shape(op))
                out[i] = (m, m.conj())
            elif op.params:
                numeric.setdefault(op.name, []).append(i)
            else:
                if op.name not in fixed:
                    m = np.asarray(op.gate.matrix, dtype=self.dtype).reshape(_tensor_shape(op))
                    fixed[op.name] = (m, m.conj())
                out[i] = fixed[op.name]
        for rows in numeric.values():
            op = self.ops[rows[0]]
            cols = np.array([self.ops[i].params for i in rows], dtype=float).T
            table = np.asarray(op.gate.table(*cols), dtype=self.dtype)
            table = table.reshape((len(rows),) + _tensor_shape(op))
            conj = table.conj()
            for r, i in enumerate(rows):
                out[i] = (table[r], conj[r])
        return [(i,) + out[i] for i in idx]

    def _kind(self, name: str, idx: list[int]) -> _Kind:
        zero_slot = self.num_params + self.num_inputs
        rows = [[self._slot(p, zero_slot) for p in self.ops[i].params] for i in idx]
        arr = np.array(rows, dtype=float)  # (k, p, 3)
        src = arr[..., 0].astype(np.int64)
        uses = {"param"} if (src < self.num_params).any() else set()
        if ((src >= self.num_params) & (src < zero_slot)).any():
            uses.add("input")
        return _Kind(name, tuple(idx), src, arr[..., 1], arr[..., 2],
                     _tensor_shape(self.ops[idx[0]]), frozenset(uses))

    def _slot(self, p, zero_slot: int) -> tuple[float, float, float]:
        if isinstance(p, Symbol):
            base = p.index if p.kind == "param" else self.num_params + p.index
            return (base, p.scale, p.offset)
        return (zero_slot, 0.0, float(p))

    # ----------------------------------------------------------- per call
    def values(self, params, inputs, like: str | None = None) -> Values:
        """Validate ``params`` and ``inputs``; return one flat real value vector.

        Each may be a vector or a batch of vectors (a leading axis); a batched
        call gives the vector of values of a ``(B, V + 1)`` array, unbatched
        rows broadcast across the batch. ``like`` (one of
        :data:`tnq.checks.BACKENDS`) is the backend of a call without numbers;
        otherwise the numbers' backend is used.
        """
        checks.backend(like)
        p = self._check(params, self.num_params, "params")
        x = self._check(inputs, self.num_inputs, "inputs")
        sizes = {v.shape[0] for v in (p, x) if v is not None and len(v.shape) == 2}
        if len(sizes) > 1:
            raise ParameterError(f"params and inputs have different batch sizes {sorted(sizes)}")
        batch = sizes.pop() if sizes else None
        given = [v for v in (p, x) if v is not None]
        if not given:
            backend = like or "numpy"
            return Values(do("astype", do("zeros", (1,), like=backend), self.real_dtype),
                          None, frozenset())
        backend = backend_of(*given)
        ref = next((v for v in given if infer_backend(v) == backend), given[0])
        given = [v if infer_backend(v) == backend else to_backend(v, ref) for v in given]
        lead = () if batch is None else (batch,)
        if batch is not None:
            given = [v if len(v.shape) == 2 else do("broadcast_to", v[None], (batch, v.shape[0]))
                     for v in given]
        zero = ref.new_zeros(lead + (1,)) if infer_backend(ref) == "torch" \
            else do("zeros", lead + (1,), like=ref, dtype=ref.dtype)
        vals = do("concatenate", given + [zero], axis=-1)
        uses = {"param": p is not None and len(p.shape) == 2,
                "input": x is not None and len(x.shape) == 2}
        batched = frozenset(j for j, k in enumerate(self.kinds) if any(uses[u] for u in k.uses))
        return Values(vals, batch, batched)

    def _check(self, x, n: int, name: str):
        if x is None:
            if n:
                raise ParameterError(f"this circuit has {n} {name}; pass {name}= an array "
                                     f"of shape ({n},) or (batch, {n})")
            return None
        if isinstance(x, (list, tuple, numbers.Number)):
            if _has_bool(x):
                raise ParameterError(f"{name} must be real numbers, got booleans in {x!r}")
            try:
                x = np.asarray(x, dtype=float)
            except (TypeError, ValueError, OverflowError):
                raise ParameterError(f"{name} must be real numbers, got {x!r}") from None
        shape = tuple(getattr(x, "shape", ()))
        if len(shape) not in (1, 2) or shape[-1] != n or (len(shape) == 2 and shape[0] < 1):
            raise ParameterError(f"{name} has shape {shape}; expected ({n},) or (batch, {n}) "
                                 "for this circuit")
        dtype = str(getattr(x, "dtype", ""))
        if "complex" in dtype:
            raise ParameterError(f"{name} must be real, got dtype {x.dtype}")
        if isinstance(x, np.ndarray):
            if not np.issubdtype(x.dtype, np.number):
                raise ParameterError(f"{name} must be real numbers, got dtype {x.dtype}")
            _check_finite(x, np.isfinite(x), name)
            return x.astype(self.real_dtype, copy=False)
        if "bool" in dtype:
            raise ParameterError(f"{name} must be real numbers, got dtype {dtype}")
        if transformation(x) is None:  # concrete: checked (a traced array cannot be)
            if infer_backend(x) == "torch":
                finite = x.isfinite()
                if not bool(finite.all()):
                    _check_finite(to_numpy(x), to_numpy(finite), name)
            else:  # jax: in numpy (a jax operation under a jit trace would be traced)
                host = to_numpy(x)
                _check_finite(host, np.isfinite(host), name)
        return do("astype", x, self.real_dtype)

    def _on_backend(self, vals) -> tuple:
        key = device_key(vals)

        def make():
            consts = [to_backend(c, vals) for c in self._consts]
            kinds = [(to_backend(k.src, vals), to_backend(k.scale.astype(self.real_dtype), vals),
                      to_backend(k.offset.astype(self.real_dtype), vals)) for k in self.kinds]
            return consts, kinds

        return self._backend_cache.get(key, make)

    def shifts(self, values: Values, shifts: dict | None) -> tuple[int | None, dict | None]:
        """The call's batch size (that of ``shifts`` when given), and ``shifts``
        checked and moved to the values' backend (see :meth:`tables`)."""
        if not shifts:
            return values.batch, shifts
        shifts = self._check_shifts(shifts)
        sizes = {s.shape[0] for s in shifts.values()}
        if len(sizes) != 1 or (values.batch is not None and sizes != {values.batch}):
            raise ParameterError(f"shift batches {sorted(sizes)} do not match the "
                                 f"parameter batch {values.batch}")
        return sizes.pop(), {j: to_backend(np.asarray(s, dtype=self.real_dtype), values.vals)
                             for j, s in shifts.items()}

    def _check_shifts(self, shifts) -> dict:
        """``shifts`` as numpy arrays, each ``(B, k, p)`` for its kind's ``k``
        gates of ``p`` parameters; a clear error for anything else."""
        if not isinstance(shifts, dict):
            raise ParameterError(f"shifts must be a dict mapping a gate kind's position to "
                                 f"a (batch, gates, params) array, got {type(shifts).__name__}")
        out = {}
        for j, s in shifts.items():
            if isinstance(j, bool) or not isinstance(j, numbers.Integral) \
                    or not 0 <= int(j) < len(self.kinds):
                raise ParameterError(f"shifts: key {j!r} is not a gate kind's position; "
                                     f"expected an integer in [0, {len(self.kinds)})")
            kind = self.kinds[j]
            want = (len(kind.ops), self.ops[kind.ops[0]].gate.num_params)
            try:
                a = np.asarray(to_numpy(s), dtype=float)
            except (TypeError, ValueError):
                raise ParameterError(f"shifts[{j}] must be real numbers, got {s!r}") from None
            if a.ndim != 3 or a.shape[1:] != want or a.shape[0] < 1:
                raise ParameterError(f"shifts[{j}] has shape {a.shape}; expected (batch, "
                                     f"{want[0]}, {want[1]})")
            _check_finite(a, np.isfinite(a), f"shifts[{j}]")
            out[j] = a
        return out

    def tables(self, values: Values, shifts: dict | None = None) -> list:
        """Every symbolic kind's gate tensors, stacked: ``(k, *shape)``, or
        ``(B, k, *shape)`` for a kind batched by ``values`` or ``shifts``.

        ``shifts`` maps a kind's position to a ``(B, k, p)`` array added to its
        parameter values (the parameter-shift rule).
        """
        vals = values.vals
        _, kind_arrays = self._on_backend(vals)
        flat = vals if values.batch is None else vals[0]
        shifts = shifts or {}
        out = []
        for j, (kind, (src, scale, offset)) in enumerate(zip(self.kinds, kind_arrays)):
            v = _gather(vals if j in values.batched else flat, src) * scale + offset
            if j in shifts:
                v = v + shifts[j]
            gate = self.ops[kind.ops[0]].gate
            table = gate.table(*(v[..., c] for c in range(gate.num_params)))
            out.append(do("reshape", table, tuple(v.shape[:-1]) + kind.shape))
        return out

    def constants(self, like=None) -> list:
        """The constant tensors (the ``|0>`` vector first), on the backend of
        ``like`` (numpy when ``None``)."""
        return list(self._consts) if like is None else self._on_backend(like)[0]

    def groups(self, values: Values, conj: bool = False, shifts: dict | None = None) -> dict:
        """Arrays for every source: constants, and each symbolic kind (and conjugates).

        Batched kinds (see :meth:`tables`) give arrays with a leading batch axis.
        """
        out: dict = {"const": self.constants(values.vals)}
        for j, (kind, table) in enumerate(zip(self.kinds, self.tables(values, shifts))):
            axis = 1 if table.ndim > len(kind.shape) + 1 else 0
            out[("kind", j)] = unbind(table, axis)
            if conj:
                out[("conj", j)] = unbind(do("conj", table), axis)
        return out

    def batched_ops(self, kinds) -> frozenset[int]:
        """Positions in the circuit of the gates of the given kinds."""
        return frozenset(i for j in kinds for i in self.kinds[j].ops)

    def slots(self) -> list[tuple[int, int, int, int, float]]:
        """Every trainable parameter slot: (kind, gate row, column, param index, scale)."""
        out = []
        for j, kind in enumerate(self.kinds):
            rows, cols = np.nonzero(kind.src < self.num_params)
            out += [(j, int(r), int(c), int(kind.src[r, c]), float(kind.scale[r, c]))
                    for r, c in zip(rows, cols)]
        return out

    def refs(self, network: Network) -> tuple[tuple, ...]:
        """For each tensor of ``network``: (group key, position) of its array."""
        refs: list[tuple] = []
        for s in network.sources:
            if s.kind == "zero":
                refs.append(("const", 0))
            elif s.kind == "bit":
                refs.append(("bit", s.index))
            elif (s.index, s.conj) in self._const_pos:
                refs.append(("const", self._const_pos[(s.index, s.conj)]))
            else:
                j, p = self._kind_pos[s.index]
                refs.append((("conj" if s.conj else "kind", j), p))
        return tuple(refs)

    def operands(self, refs, groups: dict, bits=None) -> list:
        """The operand list of a plan from precomputed ``refs``."""
        if bits is not None:
            groups = dict(groups, bit=bits)
        return [groups[g][p] for g, p in refs]
