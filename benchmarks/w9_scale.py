"""W9 scale-out: tnq on one process against a Dask LocalCluster, in one run.

(a) The W5 classifier loss and its gradient (torch autograd; through the
cluster the backward pass runs per chunk on the workers) at a batch of B
rows (W9: B = 65,536). Local runs: one call on the whole batch, and the same
batch in the chunks the cluster gets (called one after another), each with
one torch thread and with the default threads. Cluster: 2 worker processes
with 1 thread each (set by --workers). Reported: first call and per call,
speedup over each local run, bytes shipped per call, and the per-call
overhead of a tiny call (2 rows) through the cluster. Values and gradients
are checked equal to the local ones (1e-12).

(b) The W3 QAOA expected cut and its gradient (torch) at (n, p) = (1000, 3),
lightcone strategy: locally in one call, and through the cluster with the
observable's terms cut into --parts Programs (``tnq.distribute(terms=...)``),
one task each, values and gradients summed.

Not here yet: (c) a sliced 60-qubit amplitude (slices as tasks).

Run:  python benchmarks/w9_scale.py [--batch 65536] [--qaoa 1000x3] [--repeats 1]
      [--workers 2] [--skip a|b]
On a real cluster, start the scheduler and workers with dask-jobqueue or
dask-kubernetes (see docs/scaling.md) and pass --scheduler tcp://host:8786.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from common import cut_terms, save, timed, tnq_problem, w3_gates, w3_graph
from w5_batch import LAYERS, N, tnq_circuit

import tnq


def data(batch: int):
    rng = np.random.default_rng(7)
    x = rng.uniform(0, np.pi, (batch, N))
    y = rng.choice([-1.0, 1.0], batch)
    w = np.random.default_rng(1234).uniform(0, 2 * np.pi, 2 * N * LAYERS)
    return x, y, w


def loss_and_grad(fn, x, y, w):
    import torch

    xt, yt = torch.tensor(x), torch.tensor(y)

    def call():
        wt = torch.tensor(w, requires_grad=True)
        loss = torch.mean((fn(wt, xt) - yt) ** 2)
        loss.backward()
        return loss.item(), wt.grad.numpy().copy()

    return call


def chunked(program, chunk: int):
    """The Program called on the batch chunk by chunk (what each task runs)."""
    import torch

    def fn(w, x):
        return torch.cat([program(w, x[a:a + chunk]) for a in range(0, len(x), chunk)])

    return fn


def classifier(client, batch: int, repeats: int) -> list[dict]:
    """W9 (a): the W5 loss and gradient at a batch of ``batch`` rows."""
    import torch

    program = tnq.compile(tnq_circuit(), "Z0")
    x, y, w = data(batch)
    front = tnq.distribute(program, client, local_below=0)
    split = front.split(w, x)
    rows = []
    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        first, call, (v0, g0) = timed(loss_and_grad(program, x, y, w), repeats)
        rows.append({"run": f"local, one call, {threads} thread(s)", "first_s": first,
                     "call_s": call})
        first, call, _ = timed(loss_and_grad(chunked(program, split.chunk), x, y, w),
                               repeats)
        rows.append({"run": f"local, {split.tasks} chunks of {split.chunk}, {threads} "
                     "thread(s)", "first_s": first, "call_s": call})
    torch.set_num_threads(default_threads)
    first, call, (v1, g1) = timed(loss_and_grad(front, x, y, w), repeats)
    assert abs(v1 - v0) < 1e-12 and np.max(np.abs(g1 - g0)) < 1e-12, (v1 - v0, g1 - g0)
    shipped = 2 * (x.nbytes + split.tasks * w.nbytes) + 3 * batch * 8 \
        + split.tasks * w.nbytes  # numbers out twice; cotangents; values twice, gradients
    rows.append({"run": f"cluster, {len(client.nthreads())} workers x 1 thread, "
                 f"{split.tasks} tasks", "first_s": first, "call_s": call,
                 "bytes_per_call": shipped})
    tiny = tnq.distribute(program, client, local_below=0)
    xs = x[:2]
    _, remote, _ = timed(lambda: tiny(w, xs), 20)
    _, local, _ = timed(lambda: program(w, xs), 20)
    overhead = {"run": "tiny call (2 rows)", "cluster_s": remote, "local_s": local,
                "overhead_s": remote - local}
    cl = rows[-1]["call_s"]
    print(f"W9 (a): W5 loss and gradient, B = {batch}, torch; {split.tasks} tasks "
          f"of {split.chunk} rows ({split.why}); cpus {os.cpu_count()}")
    for r in rows:
        extra = f"  speedup of the cluster {r['call_s'] / cl:5.2f}x" \
            if not r["run"].startswith("cluster") else \
            f"  shipped {r['bytes_per_call'] / 2**20:.1f} MiB per call"
        print(f"  {r['run']:<44} call {r['call_s']:8.3f} s  first {r['first_s']:8.3f} s"
              f"{extra}")
    print(f"  tiny call through the cluster {1e3 * remote:.1f} ms, locally "
          f"{1e3 * local:.2f} ms: overhead {1e3 * (remote - local):.1f} ms per call")
    return rows + [overhead, {"batch": batch, "tasks": split.tasks, "chunk": split.chunk}]


def qaoa(client, n: int, p: int, parts: int, repeats: int) -> list[dict]:
    """W9 (b): the W3 expected cut and gradient, locally and in term parts."""
    import torch

    edges = w3_graph(n)
    gates, num = w3_gates(n, p, edges)
    terms, constant = cut_terms(edges)
    circuit, obs = tnq_problem(n, gates, num, terms, constant)
    theta = np.random.default_rng(1234).uniform(0, 2 * np.pi, num)
    t0 = time.perf_counter()
    program = tnq.compile(circuit, obs, strategy="lightcone")
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    front = tnq.distribute(program, client, terms=parts)
    parts_s = time.perf_counter() - t0

    def grad(fn):
        def call():
            t = torch.tensor(theta, requires_grad=True)
            value = fn(t)
            value.backward()
            return value.item(), t.grad.numpy().copy()
        return call

    rows = []
    first, call, (v0, g0) = timed(grad(program), repeats)
    rows.append({"run": "local, one call", "first_s": first, "call_s": call,
                 "compile_s": compile_s})
    first, call, (v1, g1) = timed(grad(front), repeats)
    assert abs(v1 - v0) < 1e-9 and np.max(np.abs(g1 - g0)) < 1e-9, (v1 - v0, g1 - g0)
    rows.append({"run": f"cluster, {parts} term parts", "first_s": first, "call_s": call,
                 "compile_parts_s": parts_s,
                 "bytes_per_call": 2 * parts * theta.nbytes + 3 * parts * 8})
    print(f"W9 (b): W3 QAOA (n, p) = ({n}, {p}), cut value and gradient, torch, lightcone; "
          f"compile {compile_s:.1f} s, term parts compiled and sent in {parts_s:.1f} s")
    for r in rows:
        speed = f"  speedup of the cluster {r['call_s'] / rows[-1]['call_s']:5.2f}x" \
            if r is rows[0] else ""
        print(f"  {r['run']:<44} call {r['call_s']:8.3f} s  first {r['first_s']:8.3f} s{speed}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=65536)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None, help="address of a running scheduler")
    ap.add_argument("--qaoa", default="1000x3", help="(b): n x p")
    ap.add_argument("--parts", type=int, default=None, help="(b): term parts (default: "
                    "2 per worker thread)")
    ap.add_argument("--skip", choices=["a", "b"], action="append", default=[])
    ap.add_argument("--dask-malloc", action="store_true", help="keep Dask's default "
                    "MALLOC_TRIM_THRESHOLD_=65536 for the workers (about 2-3x slower here)")
    args = ap.parse_args()

    import dask
    from dask.distributed import Client, LocalCluster

    if not args.dask_malloc:  # glibc's dynamic mmap threshold: big arrays reuse the heap
        env = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
        env.pop("MALLOC_TRIM_THRESHOLD_", None)
        dask.config.set({"distributed.nanny.pre-spawn-environ": env})

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
        client.run(lambda: __import__("torch").set_num_threads(1))
    try:
        out: list[dict] = []
        if "a" not in args.skip:
            out += classifier(client, args.batch, args.repeats)
        if "b" not in args.skip:
            n, p = (int(v) for v in args.qaoa.split("x"))
            parts = args.parts or 2 * sum(client.nthreads().values())
            out += qaoa(client, n, p, parts, args.repeats)
        name = "w9_scale" + "".join(f"_{w}" for w in "ab" if w not in args.skip
                                    and args.skip)
        save(name, out + [{"cpus": os.cpu_count(), "when": time.ctime(),
                           "load_average": os.getloadavg()}])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()
