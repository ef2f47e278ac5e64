"""W10 (kicked Ising past the exact lightcone): Pauli propagation vs exact lightcones.

Lattice: ``rustworkx.generators.heavy_hex_graph(7)`` (115 qubits), edges sorted
and coloured greedily in that order into layers of disjoint edges; or, with
``--eagle``, the 127-qubit heavy-hex coupling map of IBM's Eagle processors
(the lattice of Kim et al., Nature 618, 500 (2023)), built here row by row.
Each Trotter step: RX(theta_h) on every qubit, then RZZ(-pi/2) on every edge,
layer by layer. Observables: the average magnetization (1/n) sum_q <Z_q> and one
central <Z_q>, computed by one Program (a vector of two values).

For each theta_h and number of steps: the ``pauli`` strategy at ``--threshold``
(first call, which includes the compile, and the value with its error
estimate), and the exact ``lightcone`` strategy up to ``--exact-steps`` (each
point stopped after ``--exact-timeout`` seconds). Results go to
``results/w10_kicked_ising.json``; ``--plot FILE`` draws magnetization against
Trotter step for both (matplotlib, the ``plot`` extra).

Run:  python benchmarks/w10_kicked_ising.py [--thetas 0.7] [--steps 1-20]
      [--threshold 1e-2 3e-3] [--exact-steps 7] [--eagle] [--plot ../docs/w10_magnetization.png]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from common import save, timed_within

import tnq

THETAS = (0.1 * math.pi, 0.2 * math.pi, 0.25 * math.pi, 0.3 * math.pi, 0.4 * math.pi,
          0.5 * math.pi)


def heavy_hex_edges(distance: int = 7) -> tuple[int, list[tuple[int, int]]]:
    """The W10 lattice: ``heavy_hex_graph(distance)``'s nodes and sorted edges."""
    import rustworkx as rx

    graph = rx.generators.heavy_hex_graph(distance)
    return graph.num_nodes(), sorted(tuple(sorted(e)) for e in graph.edge_list())


def eagle_edges() -> tuple[int, list[tuple[int, int]]]:
    """The 127-qubit Eagle coupling map: seven rows (14, 15, 15, 15, 15, 15, 14
    qubits) joined by 4 bridge qubits between each pair of rows; 144 edges."""
    rows = [list(range(0, 14)), list(range(18, 33)), list(range(37, 52)),
            list(range(56, 71)), list(range(75, 90)), list(range(94, 109)),
            list(range(113, 127))]
    bridges = [(14, 0, 18), (15, 4, 22), (16, 8, 26), (17, 12, 30),
               (33, 20, 39), (34, 24, 43), (35, 28, 47), (36, 32, 51),
               (52, 37, 56), (53, 41, 60), (54, 45, 64), (55, 49, 68),
               (71, 58, 77), (72, 62, 81), (73, 66, 85), (74, 70, 89),
               (90, 75, 94), (91, 79, 98), (92, 83, 102), (93, 87, 106),
               (109, 96, 114), (110, 100, 118), (111, 104, 122), (112, 108, 126)]
    edges = [(a, b) for row in rows for a, b in zip(row, row[1:])]
    edges += [e for b, up, down in bridges for e in ((up, b), (b, down))]
    return 127, sorted(tuple(sorted(e)) for e in edges)


def colour(edges: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Greedy colouring in the given order: each edge joins the first layer it fits."""
    layers: list[list[tuple[int, int]]] = []
    for u, v in edges:
        for layer in layers:
            if all(u not in e and v not in e for e in layer):
                layer.append((u, v))
                break
        else:
            layers.append([(u, v)])
    return layers


def kicked_ising(n: int, layers, steps: int) -> tnq.Circuit:
    """``steps`` Trotter steps with one symbolic RX angle theta_h."""
    theta = tnq.parameters(1)
    c = tnq.Circuit(n)
    for _ in range(steps):
        for q in range(n):
            c.rx(q, theta[0])
        for layer in layers:
            for u, v in layer:
                c.rzz(u, v, -math.pi / 2)
    return c


def observables(n: int, site: int):
    mag = sum((tnq.Z(q) * (1.0 / n) for q in range(n)), tnq.Observable())
    return [mag, tnq.Z(site)]


def run_pauli(circuit, obs, theta, threshold):
    t0 = time.perf_counter()
    program = tnq.compile(circuit, obs, strategy="pauli", threshold=threshold)
    result = program.evaluate(np.array([theta]))
    return time.perf_counter() - t0, [float(v) for v in result.value], float(result.error)


def run_lightcone(circuit, obs, theta, timeout):
    def call():
        program = tnq.compile(circuit, obs, strategy="lightcone", progress=False)
        return [float(v) for v in program(np.array([theta]))]

    out = timed_within(call, timeout)
    return (None, None) if out is None else (out[0], out[2])


def parse_steps(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thetas", type=float, nargs="*", default=list(THETAS))
    ap.add_argument("--steps", default="1-20")
    ap.add_argument("--threshold", type=float, nargs="*", default=[1e-2, 3e-3])
    ap.add_argument("--exact-steps", type=int, default=7)
    ap.add_argument("--exact-timeout", type=float, default=120.0)
    ap.add_argument("--eagle", action="store_true")
    ap.add_argument("--plot", default=None)
    ap.add_argument("--name", default=None)
    args = ap.parse_args()

    n, edges = eagle_edges() if args.eagle else heavy_hex_edges(7)
    layers = colour(edges)
    site = 62 if args.eagle else n // 2
    obs = observables(n, site)
    print(f"W10: {n} qubits, {len(edges)} edges in {len(layers)} layers, thresholds "
          f"{args.threshold}, central site {site}")
    print(f"{'theta':>6} {'steps':>5} {'thresh':>7} {'pauli s':>8} {'<Z>avg':>9} {'<Z_c>':>9} "
          f"{'error':>9} {'exact s':>8} {'exact avg':>9} {'exact Zc':>9} {'|diff|':>8}")
    rows = []
    for theta in args.thetas:
        for steps in parse_steps(args.steps):
            c = kicked_ising(n, layers, steps)
            exact_s, exact = (None, None)
            if steps <= args.exact_steps:
                exact_s, exact = run_lightcone(c, obs, theta, args.exact_timeout)
            for threshold in args.threshold:
                seconds, (mag, zc), error = run_pauli(c, obs, theta, threshold)
                row = {"n": n, "theta": theta, "steps": steps, "threshold": threshold,
                       "pauli_seconds": seconds, "magnetization": mag, "z_site": zc,
                       "site": site, "error_estimate": error}
                if exact is not None:
                    row.update(exact_seconds=exact_s, exact_magnetization=exact[0],
                               exact_z_site=exact[1],
                               difference=max(abs(mag - exact[0]), abs(zc - exact[1])))
                rows.append(row)
                ex = ("" if exact is None else f"{exact_s:8.2f} {exact[0]:9.5f} "
                      f"{exact[1]:9.5f} {row['difference']:8.1e}")
                print(f"{theta:6.3f} {steps:5d} {threshold:7.0e} {seconds:8.2f} {mag:9.5f} "
                      f"{zc:9.5f} {error:9.1e} {ex}", flush=True)
    name = args.name or ("w10_eagle" if args.eagle else "w10_kicked_ising")
    print("saved", save(name, rows))
    if args.plot:
        plot(rows, args.plot, n)


def plot(rows, path: str, n: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    first = True
    for theta, threshold in sorted({(r["theta"], r["threshold"]) for r in rows}):
        mine = [r for r in rows if r["theta"] == theta and r["threshold"] == threshold]
        steps = [r["steps"] for r in mine]
        line, = ax.plot(steps, [r["magnetization"] for r in mine], "-o", ms=3,
                        label=f"pauli, threshold {threshold:g}, θ_h={theta:.2f}")
        ax.fill_between(steps,  # the error estimate as a band
                        [r["magnetization"] - r["error_estimate"] for r in mine],
                        [r["magnetization"] + r["error_estimate"] for r in mine],
                        color=line.get_color(), alpha=0.2, lw=0)
        exact = [r for r in mine if "exact_magnetization" in r]
        if exact:
            ax.plot([r["steps"] for r in exact], [r["exact_magnetization"] for r in exact],
                    "x", color="k", ms=7, label="exact lightcone" if first else None)
            first = False
    ax.set_xlabel("Trotter step")
    ax.set_ylabel("average magnetization")
    ax.set_title(f"W10 kicked Ising, {n}-qubit heavy hex")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print("plot", path)


if __name__ == "__main__":
    main()
