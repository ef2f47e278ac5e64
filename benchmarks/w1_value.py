"""W1 (value only): TFIM energy of the hardware-efficient ansatz, tnq vs peers.

Peers, in the same process run: quimb's exact circuit simulation (build the
circuit for the new parameters, contract to the dense state, energy from a
sparse Hamiltonian built once) and TensorCircuit-NG on jax, jitted.

Run:  python benchmarks/w1_value.py [--sizes 12x4 16x8 20x8] [--repeats 5]
Ratios are peer time / tnq time per call (above 1: tnq is faster).
"""

from __future__ import annotations

import argparse

import numpy as np
from common import save, tc_w1_energy, timed, w1_gates, w1_params, w1_tnq

import tnq


def tnq_energy(n, layers, params):
    circuit, ham = w1_tnq(n, layers)
    holder = {}

    def call():
        if "p" not in holder:  # the first call includes compilation
            holder["p"] = tnq.compile(circuit, ham)
        return float(holder["p"](params))

    return call


def quimb_energy(n, layers, params):
    import quimb as qu
    import quimb.tensor as qtn

    Z, X = qu.pauli("Z"), qu.pauli("X")
    ham = sum(qu.ikron([Z, Z], [2] * n, [i, i + 1], sparse=True) for i in range(n - 1))
    ham = ham + sum(qu.ikron(X, [2] * n, i, sparse=True) for i in range(n))

    def call():
        circ = qtn.Circuit(n)
        for name, q, k in w1_gates(n, layers):
            if name == "h":
                circ.apply_gate("H", q)
            elif name == "rzz":
                circ.apply_gate("RZZ", params[k], *q)
            else:
                circ.apply_gate("RX", params[k], q)
        psi = circ.to_dense()
        return float(np.real(np.vdot(psi, ham @ psi)))

    return call


def tc_energy(n, layers, params):
    import jax
    import jax.numpy as jnp

    f = jax.jit(tc_w1_energy(n, layers))
    x = jnp.asarray(params)
    return lambda: float(f(x).block_until_ready())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="*", default=["12x4", "16x8", "20x8"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for size in args.sizes:
        n, layers = map(int, size.split("x"))
        params = w1_params(n, layers)
        row = {"workload": "W1 value", "n": n, "L": layers}
        for name, make in [("tnq", tnq_energy), ("quimb", quimb_energy),
                           ("tensorcircuit", tc_energy)]:
            first, median, value = timed(make(n, layers, params), args.repeats)
            row[name] = {"first_s": first, "call_s": median, "value": value}
        ref = row["tnq"]["value"]
        for peer in ("quimb", "tensorcircuit"):
            assert abs(row[peer]["value"] - ref) < 1e-8, (peer, row[peer]["value"], ref)
            row[f"ratio_{peer}"] = row[peer]["call_s"] / row["tnq"]["call_s"]
        rows.append(row)
        print(f"W1 value (n={n}, L={layers}): energy {ref:+.10f}")
        for name in ("tnq", "quimb", "tensorcircuit"):
            r = row[name]
            extra = f"  ratio {row[f'ratio_{name}']:.2f}x" if name != "tnq" else ""
            print(f"  {name:<14} call {1e3 * r['call_s']:9.2f} ms   first "
                  f"{r['first_s']:7.2f} s{extra}")
    print("saved", save("w1_value", rows))


if __name__ == "__main__":
    main()
