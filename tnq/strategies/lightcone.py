"""Strategy ``lightcone``: each term's backward lightcone, one batched contraction
per structural group of cones.

At compile time the observable's terms are reduced to their lightcones and
grouped by structure (:mod:`tnq.compile.lightcone`), and each
:class:`~tnq.compile.ConeGroup` becomes a :class:`GroupRecipe`: for every gate
kind, the rows of the kind's table that its members need (``(M, V)`` for
positions that differ between members, ``(S,)`` for shared ones), stacked
constants, and the operand order of its network. A call builds
every kind's table once (:meth:`tnq.contract.Evaluator.tables`), then per
group takes its rows with one indexing operation per kind, and contracts.
Nothing loops over terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from autoray import do, get_dtype_name, infer_backend

from ..circuit import Op
from ..compile import MEMBERS, Cone, ConeGroup, cone_network, group_cones, group_terms, reduce_cones
from ..contract import Evaluator, Values, device_key, to_backend, transformation, unbind
from ..errors import MemoryLimitError
from ..memo import Memo
from ..plan import Plan, make_plan, pow2
from ..progress import bar
from .base import (
    FLOPS_PER_SECOND,
    MAX_BATCH,
    STEP_COST,
    TRANSFORMS,
    Estimate,
    Setup,
    Strategy,
    anchored,
    plan_writes,
)
from .networks import ClosedNetworkOutputs, NetworkOutputs

__all__ = ["GroupRecipe", "LightconeStrategy"]


def _take(table, rows, axis: int):
    """``table`` indexed by the integer array ``rows`` along ``axis`` (0 or 1)."""
    if infer_backend(table) == "tensorflow":
        return do("gather", table, rows, axis=axis)
    return table[rows] if axis == 0 else table[:, rows]


def _qubits(qs: Sequence[int]) -> str:
    """A short text for a set of qubits, in increasing order."""
    qs = sorted(qs)
    if len(qs) <= 8:
        return str(list(qs))
    return f"[{qs[0]}, {qs[1]}, ..., {qs[-1]}] ({len(qs)} qubits)"


class GroupRecipe:
    """How to assemble one group's operands from the kinds' tables."""

    def __init__(self, group: ConeGroup, ops: Sequence[Op], evaluator: Evaluator, dtype):
        self.group = group
        rep = group.ops[0]
        numpy_consts = evaluator.constants()
        vary: dict[int, list[int]] = {}
        shared: dict[int, list[int]] = {}
        self._const_vary: dict[int, np.ndarray] = {}
        ket: list[tuple] = []
        for t, i in enumerate(rep):
            i = int(i)
            if ops[i].symbolic:
                j = evaluator.locate(i)[0]
                bucket = vary if group.varies[t] else shared
                ket.append(("v" if group.varies[t] else "s", j, len(bucket.setdefault(j, []))))
                bucket[j].append(t)
            elif group.varies[t]:
                self._const_vary[t] = np.array(
                    [numpy_consts[evaluator.locate(int(i2))[1]] for i2 in group.ops[:, t]])
                ket.append(("c", t, 0))
            else:
                ket.append(("const", evaluator.locate(i)[1], 0))
        rows = {j: np.array([[evaluator.locate(int(i))[1] for i in group.ops[:, t]]
                             for t in ts], dtype=np.int64).T for j, ts in vary.items()}
        srows = {j: np.array([evaluator.locate(int(rep[t]))[1] for t in ts], dtype=np.int64)
                 for j, ts in shared.items()}
        self._rows, self._srows = rows, srows
        ops_ = (group.operators if group.operator_varies else group.operators[0]).astype(dtype)
        k = len(group.cones[0].support)
        if group.cones[0].operator.ndim == 3:  # factors: one (M?, 2, 2) tensor per qubit
            self._operator = [np.ascontiguousarray(ops_[..., f, :, :]) for f in range(k)]
        else:
            self._operator = [ops_.reshape(ops_.shape[:-2] + (2,) * (2 * k))]
        width = group.width
        zero = [("const", 0, 0)] * width
        bra = [(("bv", j, p) if g == "v" else ("bs", j, p) if g == "s" else
                ("cc", j, 0) if g == "c" else
                ("const", evaluator.locate(int(rep[t]), True)[1], 0))
               for t, (g, j, p) in enumerate(ket)]
        obs = [("obs", f, 0) for f in range(len(self._operator))]
        self.refs = tuple(zero + ket + obs + zero + bra)
        self._backend_cache = Memo(8, travel=False)

    def _on_backend(self, like):
        def make():
            rows = {j: to_backend(r, like) for j, r in self._rows.items()}
            srows = {j: to_backend(r, like) for j, r in self._srows.items()}
            cv = {t: to_backend(a, like) for t, a in self._const_vary.items()}
            cc = {t: to_backend(a.conj(), like) for t, a in self._const_vary.items()}
            return rows, srows, cv, cc, [to_backend(o, like) for o in self._operator]

        return self._backend_cache.get(device_key(like), make)

    def operands(self, tables: list, kind_ndim: list[int], consts: list) -> list:
        """The group's operands, in network order, from the kinds' ``tables``."""
        rows, srows, cv, cc, operator = self._on_backend(consts[0])
        parts: dict = {"const": consts, "obs": operator}
        for j, r in rows.items():
            axis = int(tables[j].ndim > kind_ndim[j])
            g = _take(tables[j], r, axis)
            parts[("v", j)] = unbind(g, axis + 1)
            parts[("bv", j)] = unbind(do("conj", g), axis + 1)
        for j, r in srows.items():
            axis = int(tables[j].ndim > kind_ndim[j])
            g = _take(tables[j], r, axis)
            parts[("s", j)] = unbind(g, axis)
            parts[("bs", j)] = unbind(do("conj", g), axis)
        out = []
        for g, j, p in self.refs:
            if g == "const" or g == "obs":
                out.append(parts[g][j])
            elif g == "c":
                out.append(cv[j])
            elif g == "cc":
                out.append(cc[j])
            else:
                out.append(parts[(g, j)][p])
        return out


class LightconeStrategy(ClosedNetworkOutputs, Strategy):
    """Expectation values from the terms' reduced networks, one plan per group.

    Amplitudes, marginals, samples and the state come from the circuit's closed
    networks, as in the ``state`` strategy.
    """

    name = "lightcone"
    outputs = frozenset({"expectation", "state", "amplitude", "probabilities", "sample"})
    transforms = TRANSFORMS

    def __init__(self, setup: Setup):
        super().__init__(setup)
        self.networks = NetworkOutputs(setup)
        self.ops = setup.ops
        e = self.evaluator = setup.evaluator
        self.terms = None
        self.cones: tuple[Cone, ...] = ()
        if setup.observables:
            self.terms = group_terms(setup.observables, merge_subsets=False)
            self.cones = tuple(reduce_cones(self.ops, setup.num_qubits, self.terms))
        self._grouped = Memo(1)  # structural groups: made when planned (they travel)
        self._weights = Memo(8, travel=False)
        self._kind_ndim = [len(k.shape) + 1 for k in e.kinds]
        self._plans = Memo(8)

    @property
    def groups(self) -> tuple[ConeGroup, ...]:
        """The cones grouped by structure (canonical forms: made on first use,
        since they cost more than the rough estimate that may rule this out)."""
        return self._grouping()[0]

    @property
    def recipes(self) -> tuple[GroupRecipe, ...]:
        return self._grouping()[1]

    def _grouping(self) -> tuple[tuple[ConeGroup, ...], tuple[GroupRecipe, ...]]:
        def make():
            groups = tuple(group_cones(self.ops, list(self.cones))) if self.cones else ()
            e = self.evaluator
            return groups, tuple(GroupRecipe(g, self.ops, e, e.dtype) for g in groups)

        return self._grouped.get("groups", make)

    @classmethod
    def unavailable(cls, setup: Setup) -> str | None:
        return None if setup.observables else "no observable"

    def estimate(self) -> Estimate:
        cones = self.cones
        widest = max((len(c.qubits) for c in cones), default=0)
        grouped = self._grouped.lookup("groups")
        groups = f" in {len(grouped[0])} groups" if grouped is not None else ""
        note = f"{len(cones)} cones{groups}, the widest on {widest} qubits"
        planned = self._plans.lookup((frozenset(), 1))
        if planned is not None:
            peak = max((p.peak for p in planned), default=1) * self.setup.itemsize
            return Estimate(sum(p.flops for p in planned), peak, True, note,
                            steps=sum(p.network.num_tensors for p in planned),
                            writes=sum(plan_writes(p) for p in planned))
        # pow2 is math.inf beyond floats (a cone on more than about 1,020 qubits)
        flops = sum((2.0 * len(c.ops) * pow2(len(c.qubits) + 1) if c.ops else 0.0)
                    + pow2(2 * len(c.support)) for c in cones)
        # before planning, only the operators' size is known to be needed
        memory = max((c.operator.size for c in cones), default=1) * self.setup.itemsize
        # steps: as if no two cones shared a group (groups are known once planned)
        steps = sum(2 * (len(c.ops) + len(c.qubits)) + 1 for c in cones)
        return Estimate(flops, memory, False, note, steps=steps)

    def prepare(self) -> None:
        self.group_plans()

    def group_plans(self, kinds: frozenset[int] = frozenset(), batch: int = 1
                    ) -> tuple[Plan, ...]:
        """One plan per group for calls batching ``kinds`` over ``batch`` vectors."""
        def make():
            batched = self.evaluator.batched_ops(kinds)
            return tuple(self._plan(g, i, batched, batch) for i, g in enumerate(self.groups))

        return self._plans.get((kinds, batch), make)

    def plans(self) -> tuple[Plan, ...]:
        """The unbatched group plans (if made), then the closed networks' plans."""
        return self._plans.lookup((frozenset(), 1), ()) + self.networks.plans()

    def batch_limit(self) -> int:
        s = self.setup
        peak = max((p.peak for p in self.group_plans()), default=1)
        return int(max(1, min(MAX_BATCH, s.max_memory // (peak * s.itemsize * 4))))

    def explain(self) -> list[str]:
        """Terms, groups, the largest reduced network."""
        cones = [c for g in self.groups for c in g.cones]
        if not cones:
            return ["lightcone: no terms besides the constant"]
        big = max(cones, key=lambda c: (len(c.qubits), len(c.ops)))
        sizes = sorted((g.size for g in self.groups), reverse=True)
        shown = ", ".join(map(str, sizes[:12])) + (", ..." if len(sizes) > 12 else "")
        return [f"lightcone: {len(cones)} supports in {len(self.groups)} structural groups "
                f"(sizes {shown})",
                f"largest reduced network: {len(big.qubits)} qubits, {len(big.ops)} of "
                f"{len(self.ops)} gates (terms on qubits {_qubits(big.support)})"]

    def _plan(self, group: ConeGroup, i: int, batched, batch: int) -> Plan:
        network = cone_network(self.ops, group, batched)
        try:
            return make_plan(network, name=f"lightcone[{i}] x{group.size}", batch=batch,
                             **self.setup.plan_options)
        except MemoryLimitError as err:
            cone = group.cones[0]
            raise MemoryLimitError(
                f"lightcone group {i} ({group.size} terms, e.g. the terms on qubits "
                f"{_qubits(cone.support)}): its reduced network spans {len(cone.qubits)} qubits "
                f"and {len(cone.ops)} gates. {err}") from None

    def _group_weights(self, like) -> list:
        """Per group, ``(M, K)``: each member's weight in each observable."""
        terms = self.terms
        assert terms is not None

        def make():
            dtype = get_dtype_name(do("real", like))
            return [to_backend(np.ascontiguousarray(
                terms.weights[:, [c.row for c in g.cones]].T, dtype=dtype), like)
                for g in self.groups]

        return self._weights.get(device_key(like), make)

    def _groups_bar(self, plans: Sequence[Plan], values: Values):
        """A progress bar over the groups of one call, when progress is on, the
        call runs eagerly (not traced by jit or vmap) and its plans are
        estimated to take more than a couple of seconds."""
        seconds = sum(p.flops + STEP_COST * p.network.num_tensors for p in plans) \
            / FLOPS_PER_SECOND
        show = self.setup.progress and transformation(values.vals) is None
        return bar(len(plans), "lightcone groups", show=show, seconds=seconds, unit="group")

    def expectation(self, values: Values, shifts: dict | None) -> tuple[Any, dict]:
        """Each observable's weighted sum over groups of their members' ``<O>``,
        plus its constant."""
        e = self.evaluator
        batch, shifts = e.shifts(values, shifts)
        kinds = values.batched | frozenset(shifts or ())
        plans = self.group_plans(kinds, batch or 1)  # the memory guard, before any table
        tables = e.tables(values, shifts)
        consts = e.constants(values.vals)
        terms = self.terms
        assert terms is not None
        weights = None if terms.summed else self._group_weights(values.vals)
        total = 0.0
        with self._groups_bar(plans, values) as shown:  # a bar around the Python loop only
            for g, (recipe, plan) in enumerate(zip(self.recipes, plans)):
                r = plan(*recipe.operands(tables, self._kind_ndim, consts))
                members = MEMBERS in plan.network.output
                if weights is not None:  # several observables: (..., K)
                    r = do("real", r)
                    r = do("matmul", r, weights[g]) if members else \
                        r[..., None] * do("sum", weights[g], axis=0)
                else:
                    r = do("sum", r, axis=-1) if members else r * recipe.group.size
                    r = do("real", r)[..., None]
                total = total + r
                shown.update(1)
        total = total + to_backend(terms.constant.astype(get_dtype_name(values.vals)),
                                   values.vals)
        if batch is not None and len(tuple(getattr(total, "shape", ()))) < 2:
            # nothing in any group varies across the batch (no batched or shifted
            # gate inside a lightcone): one value stands for every row
            total = do("broadcast_to", total, (batch, terms.num_outputs))
        # gates outside every lightcone drop out; keep the result a function of all
        # the values so autodiff gives zeros for them rather than no gradient at all
        return anchored(total, values), {}
