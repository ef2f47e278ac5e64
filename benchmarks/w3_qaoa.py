"""W3 (MaxCut QAOA on random 3-regular graphs, tied parameters): tnq vs quimb and Aer MPS.

Same measurements as W2 (see w2_wide.py); p = 1 is also checked against the
closed-form expected cut for regular graphs.

Run:  python benchmarks/w3_qaoa.py [--sizes 60x1 60x3 200x3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from common import cut_terms, save, w3_gates, w3_graph
from w2_wide import run_size


def closed_form_p1(n, edges, gamma, beta):
    """Expected cut at p = 1 (Wang et al. 2018) for RZZ(gamma), RX(beta) gates."""
    g, b = -gamma, beta / 2
    nb = {q: set() for q in range(n)}
    for u, v in edges:
        nb[u].add(v)
        nb[v].add(u)
    total = 0.0
    for u, v in edges:
        du, dv, lam = len(nb[u]) - 1, len(nb[v]) - 1, len(nb[u] & nb[v])
        total += (0.5 + 0.25 * math.sin(4 * b) * math.sin(g)
                  * (math.cos(g) ** du + math.cos(g) ** dv)
                  - 0.25 * math.sin(2 * b) ** 2 * math.cos(g) ** (du + dv - 2 * lam)
                  * (1 - math.cos(2 * g) ** lam))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["60x1", "60x3", "200x3"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=0,
                        help="timed peer calls after the first (0: the first call only)")
    parser.add_argument("--peers", nargs="*", default=["quimb", "aer"])
    parser.add_argument("--quimb-terms", type=int, default=None,
                        help="time quimb on this many evenly spaced terms and scale up")
    parser.add_argument("--aer-timeout", type=float, default=300,
                        help="seconds after which Aer's exact MPS run is stopped")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        n, p = map(int, size.split("x"))
        edges = w3_graph(n)
        gates, num_params = w3_gates(n, p, edges)
        terms, constant = cut_terms(edges)
        row = run_size(n, args.repeats, args.peer_repeats, args.peers, gates, num_params,
                       terms, constant, f"W3 n={n}, p={p}", args.quimb_terms,
                       args.aer_timeout)
        if p == 1:
            gamma, beta = np.random.default_rng(1234).uniform(0, 2 * np.pi, 2)
            exact = closed_form_p1(n, edges, gamma, beta)
            err = abs(row["tnq-numpy energy"]["value"] - exact)
            print(f"  closed form p=1: {exact:.12f}, |tnq - closed form| = {err:.2e}", flush=True)
            row["closed_form_error"] = err
        rows.append({"n": n, "p": p, **row})
    print("saved", save("w3_qaoa_" + "_".join(args.sizes), rows))


if __name__ == "__main__":
    main()
