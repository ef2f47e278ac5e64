"""tnq alone on W1–W6, for before/after comparisons of a change to tnq.

Only tnq's public calls are used (compile, calling a program, value_and_grad,
param_shift), so the same script times the old and the new code:

    cd benchmarks
    PYTHONPATH=/path/to/old/checkout ../.venv/bin/python regress.py --out before.json
    ../.venv/bin/python regress.py --out after.json
    ../.venv/bin/python regress.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import traceback

import numpy as np
from common import (
    chain_terms,
    cut_terms,
    timed,
    tnq_problem,
    w1_params,
    w1_tnq,
    w2_gates,
    w3_gates,
    w3_graph,
)

# tnq, and the sibling scripts that import it, are imported where used, so that
# --compare and --list work while tnq itself cannot be imported.

SLOWER = 1.10  # --compare flags rows whose per-call time grew by more than this factor


def _rng_params(num_params: int) -> np.ndarray:
    return np.random.default_rng(1234).uniform(0, 2 * np.pi, num_params)


def _jax_x64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)


# ------------------------------------------------------------------ workloads
# Each row is (name, make); make() builds the workload and returns the function
# that common.timed calls. Compilation happens inside that function's first call.


def w1_value(n: int, layers: int):
    """W1 energy on numpy: w1_value.tnq_energy."""
    from w1_value import tnq_energy

    return tnq_energy(n, layers, w1_params(n, layers))


def w1_vg(n: int, layers: int, backend: str):
    """W1 value_and_grad as in w1_grad.py, through ``tnq.value_and_grad``."""
    import tnq

    if backend == "jax":
        _jax_x64()
    circuit, ham = w1_tnq(n, layers)
    params = w1_params(n, layers)
    holder: dict = {}

    def call():
        if "p" not in holder:
            holder["p"] = tnq.compile(circuit, ham)
        value, grad = tnq.value_and_grad(holder["p"], params, backend=backend)
        return float(value), np.asarray(grad)

    return call


def wide_rows(label: str, build, kinds: tuple[str, ...]):
    """W2/W3 rows sharing one compiled program (w2_wide.tnq_calls); ``build()``
    gives (n, gates, num_params, terms, constant). The first selected row's
    first call includes the compilation."""
    shared: dict = {}

    def calls():
        if not shared:
            from w2_wide import tnq_calls

            n, gates, num_params, terms, constant = build()
            params = _rng_params(num_params)
            _, energy, energy_torch, vg = tnq_calls(n, gates, num_params, terms, params,
                                                    constant)
            shared.update({"energy numpy": energy, "energy torch": energy_torch,
                           "vg torch": vg})
        return shared

    return [(f"{label} {kind}", lambda kind=kind: calls()[kind]) for kind in kinds]


def w2_rows(n: int):
    def build():
        gates, num_params = w2_gates(n)
        return n, gates, num_params, chain_terms(n), 0.0

    return wide_rows(f"W2 {n}", build, ("energy numpy", "energy torch", "vg torch"))


def w3_rows(n: int, p: int):
    def build():
        edges = w3_graph(n)
        gates, num_params = w3_gates(n, p, edges)
        return n, gates, num_params, *cut_terms(edges)

    return wide_rows(f"W3 {n}x{p}", build, ("energy numpy", "vg torch"))


def w4_energy(n: int, chi: int, cutoff: float = 1e-10):
    """W4 as in w4_mps.tnq_call, without the fidelity estimate, compiled in the first call."""
    from w4_mps import DEPTH, w1_terms

    import tnq

    gates, num_params = w2_gates(n, DEPTH)
    params = _rng_params(num_params)
    circuit, obs = tnq_problem(n, gates, num_params, w1_terms(n))
    holder: dict = {}

    def call():
        if "p" not in holder:
            holder["p"] = tnq.compile(circuit, obs, strategy="mps", max_bond=chi,
                                      cutoff=cutoff)
        return float(holder["p"](params))

    return call


def w5(kind: str):
    """W5 as in w5_batch.py: tnq_torch and tnq_jax."""
    import w5_batch

    _jax_x64()
    make = {"torch": w5_batch.tnq_torch, "jax": w5_batch.tnq_jax}[kind]
    return make(*w5_batch.data())


def w6_param_shift():
    """W6 as in w6_shots.tnq_shots, but with param_shift's default executor
    (a new one per call: tnq.TnqExecutor is outside the API this script uses)."""
    import w6_shots

    import tnq

    circuit, ham = w1_tnq(w6_shots.N, w6_shots.LAYERS)
    params = w1_params(w6_shots.N, w6_shots.LAYERS)
    seeds = iter(range(1000))
    holder: dict = {}

    def call():
        if "p" not in holder:
            holder["p"] = tnq.compile(circuit, ham)
        return tnq.param_shift(holder["p"], params, shots=w6_shots.SHOTS, seed=next(seeds))

    return call


def rows(full: bool):
    out = [(f"W1 value numpy {n}x{L}", lambda n=n, L=L: w1_value(n, L))
           for n, L in [(12, 4), (16, 8), (20, 8)]]
    for n, L in [(12, 4), (16, 8)] + ([(20, 8)] if full else []):
        for backend in ("torch", "jax"):
            out.append((f"W1 vg {backend} {n}x{L}",
                        lambda n=n, L=L, b=backend: w1_vg(n, L, b)))
    for n in (100, 1000):
        out += w2_rows(n)
    for n, p in [(60, 1)] + ([(60, 3)] if full else []) + [(200, 3)]:
        out += w3_rows(n, p)
    for n, chi in [(64, 16), (64, 64), (24, 16)]:
        out.append((f"W4 mps {n}x{chi} energy", lambda n=n, chi=chi: w4_energy(n, chi)))
    out += [("W5 vg torch", lambda: w5("torch")), ("W5 vg jax", lambda: w5("jax"))]
    out.append(("W6 param_shift shots", w6_param_shift))
    return out


# ------------------------------------------------------------------ running


def summary(result) -> dict:
    """The value (and gradient norm) a row's last call returned, to check that
    before and after compute the same numbers."""
    grad = None
    if hasattr(result, "grad") and hasattr(result, "value"):  # tnq.Gradient
        value, grad = result.value, result.grad
    elif isinstance(result, tuple):
        value, grad = result
    else:
        value = result
    out = {"value": float(value)}
    if grad is not None:
        if hasattr(grad, "detach"):
            grad = grad.detach().cpu().numpy()
        out["grad_norm"] = float(np.linalg.norm(np.asarray(grad)))
    return out


def matches(name: str, prefix: str) -> bool:
    """Whole words: "W2 100" selects "W2 100 energy numpy", not "W2 1000 ..."."""
    return name == prefix or name.startswith(prefix + " ")


def meta(args) -> dict:
    import tnq

    return {"tnq_file": tnq.__file__, "tnq_version": getattr(tnq, "__version__", None),
            "python": platform.python_version(), "machine": platform.machine(),
            "processor": platform.processor(), "repeats": args.repeats, "full": args.full,
            "only": args.only, "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def run(args) -> None:
    import tnq

    selected = [(name, make) for name, make in rows(args.full)
                if not args.only or any(matches(name, p) for p in args.only)]
    if not selected:
        sys.exit(f"no rows start with any of {args.only}")
    print(f"tnq from {tnq.__file__}; {len(selected)} rows, repeats {args.repeats}", flush=True)
    results = []
    for name, make in selected:
        try:
            first, call, value = timed(make(), args.repeats)
            row = {"name": name, "first_s": first, "call_s": call, **summary(value)}
            print(f"{name:<30} first {first:8.3f} s   call {1e3 * call:10.2f} ms   "
                  f"value {row['value']:+.10f}", flush=True)
        except Exception as exc:  # keep going: a row the new code breaks is a result too
            traceback.print_exc()
            row = {"name": name, "error": f"{type(exc).__name__}: {exc}"}
            print(f"{name:<30} ERROR {row['error']}", flush=True)
        results.append(row)
        if args.out:  # after every row, so a long run that is stopped keeps what it had
            with open(args.out, "w") as f:
                json.dump({"meta": meta(args), "rows": results}, f, indent=1)
    if args.out:
        print("saved", args.out)


def compare(before_path: str, after_path: str) -> None:
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    print(f"before: {before_path} (tnq {before['meta'].get('tnq_file')})")
    print(f"after:  {after_path} (tnq {after['meta'].get('tnq_file')})")
    a = {r["name"]: r for r in before["rows"]}
    b = {r["name"]: r for r in after["rows"]}
    names = list(a) + [n for n in b if n not in a]
    print(f"{'row':<30} {'call before':>12} {'after':>10} {'ratio':>7}   "
          f"{'first before':>12} {'after':>8} {'ratio':>7}")
    slower, compared = [], 0
    for name in names:
        ra, rb = a.get(name, {}), b.get(name, {})
        if "call_s" not in ra or "call_s" not in rb:
            state = [ra.get("error", "-" if not ra else "") or "ok",
                     rb.get("error", "-" if not rb else "") or "ok"]
            print(f"{name:<30} before: {state[0]}; after: {state[1]}")
            continue
        compared += 1
        call_ratio = rb["call_s"] / ra["call_s"]
        first_ratio = rb["first_s"] / ra["first_s"]
        notes = []
        if call_ratio > SLOWER:
            notes.append(f"SLOWER (+{100 * (call_ratio - 1):.0f}%)")
            slower.append(name)
        for key in ("value", "grad_norm"):
            va, vb = ra.get(key), rb.get(key)
            if va is not None and vb is not None and abs(va - vb) > 1e-8 * max(1.0, abs(va)):
                notes.append(f"{key} {va:.12g} -> {vb:.12g}")
        print(f"{name:<30} {1e3 * ra['call_s']:9.2f} ms {1e3 * rb['call_s']:7.2f} ms "
              f"{call_ratio:6.2f}x   {ra['first_s']:10.3f} s {rb['first_s']:6.3f} s "
              f"{first_ratio:6.2f}x  {'  '.join(notes)}".rstrip())
    print(f"{len(slower)} of {compared} rows compared more than {100 * (SLOWER - 1):.0f}% slower "
          "per call" + (": " + ", ".join(slower) if slower else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="PREFIX",
                    help="run only rows whose names start with one of these, in whole "
                    "words (e.g. W1 'W2 100' 'W5 vg jax'; see --list)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="timed calls after the first; the median is reported")
    ap.add_argument("--full", action="store_true",
                    help="also W1 value_and_grad at 20x8 and W3 at 60x3")
    ap.add_argument("--out", metavar="FILE.json", help="write the rows as JSON")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE.json", "AFTER.json"),
                    help="print two result files side by side instead of running")
    ap.add_argument("--list", action="store_true", help="list the row names and exit")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of Python's and numpy's global generators, which cotengra's "
                         "path search draws from: the same paths before and after a change")
    args = ap.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    if args.compare:
        compare(*args.compare)
    elif args.list:
        for name, _ in rows(args.full):
            print(name)
    else:
        run(args)


if __name__ == "__main__":
    main()
