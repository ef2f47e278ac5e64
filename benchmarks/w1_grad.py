"""W1 value_and_grad: TFIM energy and its gradient, tnq vs PennyLane lightning.qubit
(adjoint method), with one thread and with two threads each, in one run.

Each (implementation, size, threads) runs in a fresh process, so that the thread
settings take effect before any library starts its pools and the first call
includes everything a new process pays (tnq: compile, path search or fusion,
the first call and any JIT; lightning: QNode construction and the first
gradient). Imports are not timed.

- ``tnq``: ``tnq.value_and_grad(program, numpy params)``, the default: the
  adjoint sweep in the state regime (:mod:`tnq.gradients.adjoint`).
- ``tnq-torch``: the same Program differentiated by torch autograd (what the
  default was before the adjoint sweep).
- ``tnq-jax``: ``tnq.value_and_grad(program, params, backend="jax")``, which
  in the state regime is the adjoint sweep too (no XLA compile).
- ``tnq-jax-jit`` (only with ``--peers``): ``jax.jit(jax.value_and_grad(
  program))`` on the whole circuit, XLA-compiled.
- ``lightning``: PennyLane lightning.qubit, ``diff_method="adjoint"`` (value
  from the same forward pass, ``qml.grad(f).forward``). PennyLane pins an
  autoray older than tnq needs, so it runs from its own environment
  (``--peer-python``, default ``.venv-bench/bin/python`` at the repository
  root: ``python3 -m venv .venv-bench && .venv-bench/bin/pip install
  torch==2.13.0 -e . jax pennylane pennylane-lightning``).

Run:  python benchmarks/w1_grad.py [--sizes 12x4 16x8 20x8] [--threads 1 2] [--repeats 5]
      [--rounds 1] [--peers tnq tnq-torch tnq-jax lightning tnq-jax-jit]
Ratios: peer time / tnq time (above 1: tnq is faster). Values and gradients of
every implementation are checked against tnq's to 1e-8.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
IMPLEMENTATIONS = ("tnq", "tnq-torch", "tnq-jax", "lightning")
OPTIONAL = ("tnq-jax-jit",)
PEER_PYTHON = HERE.parent / ".venv-bench" / "bin" / "python"


# ----------------------------------------------------------------- workers
def _worker(name: str, n: int, layers: int, threads: int, repeats: int) -> dict:
    from common import timed, w1_params

    params = w1_params(n, layers)
    if name == "lightning":
        call = _lightning(n, layers, params)
    else:
        call = _tnq(n, layers, params, name, threads)
    first, median, (value, grad) = timed(call, repeats)
    return {"first_s": first, "call_s": median, "value": value, "grad": grad.tolist()}


def _tnq(n, layers, params, name, threads):
    from common import w1_tnq

    import tnq

    backend = {"tnq": None, "tnq-torch": "torch", "tnq-jax": "jax", "tnq-jax-jit": "jit"}[name]
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    if backend in ("jax", "jit"):
        import jax

        jax.config.update("jax_enable_x64", True)
    circuit, ham = w1_tnq(n, layers)
    holder = {}

    def call():
        if "p" not in holder:  # the first call includes compilation (and any jit)
            holder["p"] = tnq.compile(circuit, ham)
            if backend == "jit":
                holder["f"] = jax.jit(jax.value_and_grad(holder["p"].expectation))
        if backend == "jit":
            value, grad = holder["f"](jax.numpy.asarray(params))
            return float(value), np.asarray(grad.block_until_ready())
        value, grad = tnq.value_and_grad(holder["p"], params, backend=backend)
        return float(value), np.asarray(grad)

    return call


def _lightning(n, layers, params):
    import pennylane as qml
    from common import pennylane_w1
    from pennylane import numpy as pnp

    x = pnp.array(params, requires_grad=True)
    holder = {}

    def call():
        if "q" not in holder:
            holder["q"] = qml.QNode(pennylane_w1(n, layers, qml),
                                    qml.device("lightning.qubit", wires=n),
                                    diff_method="adjoint")
        grad_fn = qml.grad(holder["q"])
        g = grad_fn(x)
        return float(grad_fn.forward), np.asarray(g)

    return call


def _thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                        f"intra_op_parallelism_threads={threads}")
    env["TNQ_PATH_CACHE"] = ""  # no path cache from an earlier run: a first call from scratch
    return env


def run_one(name: str, n: int, layers: int, threads: int, repeats: int, peer: Path) -> dict:
    python = str(peer) if name == "lightning" else sys.executable
    cmd = [python, str(Path(__file__).resolve()), "--worker", name, "--sizes",
           f"{n}x{layers}", "--threads", str(threads), "--repeats", str(repeats)]
    out = subprocess.run(cmd, env=_thread_env(threads), cwd=HERE, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{name} {n}x{layers} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="*", default=["12x4", "16x8", "20x8"])
    ap.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every implementation this many times, in alternating order, "
                         "and keep each one's best round (for a machine shared with others)")
    ap.add_argument("--peers", nargs="*", default=list(IMPLEMENTATIONS),
                    choices=IMPLEMENTATIONS + OPTIONAL)
    ap.add_argument("--peer-python", default=str(PEER_PYTHON))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        n, layers = map(int, args.sizes[0].split("x"))
        print(json.dumps(_worker(args.worker, n, layers, args.threads[0], args.repeats)))
        return
    from common import save

    rows = []
    for threads in args.threads:
        for size in args.sizes:
            n, layers = map(int, size.split("x"))
            row: dict = {"workload": "W1 value_and_grad", "n": n, "L": layers,
                         "threads": threads}
            for r in range(args.rounds):  # alternating rounds; the best round's median kept
                for name in args.peers if r % 2 == 0 else args.peers[::-1]:
                    got = run_one(name, n, layers, threads, args.repeats, Path(args.peer_python))
                    if name not in row or got["call_s"] < row[name]["call_s"]:
                        row[name] = got
            base = row[args.peers[0]]
            ref = np.array(base["grad"])
            for name in args.peers:  # every value and gradient checked against the first's
                r = row[name]
                r["grad_err"] = float(np.abs(np.array(r["grad"]) - ref).max())
                assert r["grad_err"] < 1e-8 and abs(r["value"] - base["value"]) < 1e-8, name
            for name in args.peers:
                del row[name]["grad"]
            rows.append(row)
            print(f"W1 value_and_grad (n={n}, L={layers}, {threads} thread"
                  f"{'s' if threads > 1 else ''}): energy {base['value']:+.10f}")
            for name in args.peers:
                r = row[name]
                ratio = r["call_s"] / base["call_s"]
                print(f"  {name:<12} call {1e3 * r['call_s']:10.2f} ms   first "
                      f"{r['first_s']:7.3f} s   {ratio:6.2f}x the time of {args.peers[0]}",
                      flush=True)
    print("saved", save("w1_grad", rows))


if __name__ == "__main__":
    main()
