"""W2 (wide shallow brickwork, lightcone regime): tnq vs quimb and Qiskit Aer MPS.

tnq compiles once (lightcone strategy, structural groups) and then evaluates
the energy (numpy and torch) and value_and_grad (torch autograd). Peers:
quimb's ``Circuit.local_expectation`` per term, and Aer's matrix_product_state
method for the energy. All must agree to 1e-8.

Run:  python benchmarks/w2_wide.py [--sizes 100 1000] [--repeats 5] [--peer-repeats 1]
Ratios are peer time / tnq time per call (above 1: tnq is faster).
"""

from __future__ import annotations

import argparse

import numpy as np
from common import (
    aer_mps_energy,
    chain_terms,
    matmul_rate,
    quimb_local_energy,
    save,
    timed,
    timed_within,
    tnq_problem,
    w2_gates,
)

import tnq


def tnq_calls(n, gates, num_params, terms, params, constant=0.0):
    """Energy on numpy, energy on torch, value_and_grad on torch (compiled on first use)."""
    import torch

    circuit, obs = tnq_problem(n, gates, num_params, terms, constant)
    holder = {}

    def program():
        if "p" not in holder:
            holder["p"] = tnq.compile(circuit, obs)
        return holder["p"]

    t = torch.tensor(params)

    def energy():
        return float(program()(params))

    def energy_torch():
        return float(program()(t))

    def vg():
        value, grad = tnq.value_and_grad(program(), t)
        return float(value), grad

    return program, energy, energy_torch, vg


def run_size(n, repeats, peer_repeats, peers, gates, num_params, terms, constant, label,
             quimb_terms=None, aer_timeout=None):
    params = np.random.default_rng(1234).uniform(0, 2 * np.pi, num_params)
    program, energy, energy_torch, vg = tnq_calls(n, gates, num_params, terms, params,
                                                  constant)
    row = {}
    first, call, value = timed(energy, repeats)
    row["tnq-numpy energy"] = {"first_s": first, "call_s": call, "value": value}
    first, call, v2 = timed(energy_torch, repeats)
    row["tnq-torch energy"] = {"first_s": first, "call_s": call, "value": v2}
    first, call, (v3, grad) = timed(vg, repeats)
    row["tnq-torch value_and_grad"] = {"first_s": first, "call_s": call, "value": v3}
    p = program()
    flops = sum(pl.flops for pl in p.plans if pl.name.startswith("lightcone"))
    row["tnq info"] = {"strategy": p.strategy, "groups": len(p._lightcone.groups),
                       "terms": len(terms), "flops": flops}
    if "quimb" in peers:
        some = terms if quimb_terms is None or quimb_terms >= len(terms) else \
            [terms[i] for i in np.linspace(0, len(terms) - 1, quimb_terms).astype(int)]
        first, call, qv = timed(quimb_local_energy(n, gates, params, some, constant),
                                peer_repeats)
        scale = len(terms) / len(some)
        name = "quimb local_expectation" + ("" if scale == 1 else
                                            f" ({len(some)} terms, time x{scale:.1f})")
        if scale == 1:
            row[name] = {"first_s": first, "call_s": call, "value": qv}
        else:  # timed on a subset, extrapolated; its value is checked on those terms
            sub = tnq_problem(n, gates, num_params, some, constant)
            exact = float(tnq.compile(*sub)(params))
            assert abs(qv - exact) < 1e-8 * max(1.0, abs(exact)), (qv, exact)
            row[name] = {"first_s": first * scale, "call_s": call * scale, "value": value,
                         "extrapolated_from_terms": len(some)}
    if "aer" in peers:
        result = timed_within(aer_mps_energy(n, gates, params, terms, constant),
                              aer_timeout, peer_repeats)
        if result is None:
            row["aer mps"] = {"unfinished_after_s": aer_timeout}
            print(f"  aer mps: no result within {aer_timeout} s (exact MPS of a "
                  "non-1D circuit)", flush=True)
        else:
            first, call, av = result
            row["aer mps"] = {"first_s": first, "call_s": call, "value": av}
    best = min(row["tnq-numpy energy"]["call_s"], row["tnq-torch energy"]["call_s"])
    print(f"{label}: {len(terms)} terms in {row['tnq info']['groups']} groups, "
          f"{flops:.3g} FLOPs per energy")
    for name, r in row.items():
        if "call_s" not in r:
            continue
        ratio = f"  ratio {r['call_s'] / best:8.1f}x" if not name.startswith("tnq") else ""
        print(f"  {name:<26} call {1e3 * r['call_s']:10.2f} ms   first {r['first_s']:7.2f} s"
              f"   value {r['value']:.10f}{ratio}")
        assert abs(r["value"] - value) < 1e-8 * max(1.0, abs(value)), (name, r["value"], value)
    rate = matmul_rate()
    floor = flops / rate
    row["physical limit"] = {"matmul_rate": rate, "floor_s": floor,
                             "achieved_over_floor": best / floor}
    print(f"  vg / energy: {row['tnq-torch value_and_grad']['call_s'] / best:.2f}; "
          f"achieved / floor (FLOPs / matmul rate): {best / floor:.1f}")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=1,
                        help="timed peer calls after the first (quimb takes minutes at n=1000)")
    parser.add_argument("--peers", nargs="*", default=["quimb", "aer"])
    parser.add_argument("--quimb-terms", type=int, default=None,
                        help="time quimb on this many evenly spaced terms and scale up")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        gates, num_params = w2_gates(n)
        row = run_size(n, args.repeats, args.peer_repeats, args.peers, gates, num_params,
                       chain_terms(n), 0.0, f"W2 n={n}, D=4", args.quimb_terms)
        rows.append({"n": n, **row})
    print("saved", save("w2_wide_" + "_".join(map(str, args.sizes)), rows))


if __name__ == "__main__":
    main()
