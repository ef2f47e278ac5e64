"""W1 value_and_grad: TFIM energy and its gradient, tnq vs peers in one run.

tnq runs on torch (autograd, the default backend of ``tnq.value_and_grad``)
and on jax (``jax.jit(jax.value_and_grad(program))``). Peers: TensorCircuit-NG
on jax (jitted value_and_grad) and PennyLane lightning.qubit with the adjoint
method (the value comes from the same forward pass, ``qml.grad(f).forward``).

Run:  python benchmarks/w1_grad.py [--sizes 12x4 16x8 20x8] [--repeats 5]
Ratios are peer time / tnq time per call against tnq's best backend.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import pennylane_w1, report, save, tc_w1_energy, timed, w1_params, w1_tnq

import tnq


def tnq_vg(n, layers, params, backend):
    circuit, ham = w1_tnq(n, layers)
    holder = {}

    def call():
        if "p" not in holder:  # the first call includes compilation (and the jit)
            holder["p"] = tnq.compile(circuit, ham)
        value, grad = holder["p"].value_and_grad(params, backend=backend)
        return float(value), np.asarray(grad)

    return call


def tc_vg(n, layers, params):
    import jax

    f = jax.jit(jax.value_and_grad(tc_w1_energy(n, layers)))
    x = jax.numpy.asarray(params)

    def call():
        v, g = f(x)
        return float(v), np.asarray(g.block_until_ready())

    return call


def pennylane_vg(n, layers, params):
    import pennylane as qml
    from pennylane import numpy as pnp

    qnode = qml.QNode(pennylane_w1(n, layers, qml), qml.device("lightning.qubit", wires=n),
                      diff_method="adjoint")
    x = pnp.array(params, requires_grad=True)

    def call():
        grad_fn = qml.grad(qnode)
        g = grad_fn(x)
        return float(grad_fn.forward), np.asarray(g)

    return call


PEERS = {"tnq-torch": lambda n, L, p: tnq_vg(n, L, p, "torch"),
         "tnq-jax": lambda n, L, p: tnq_vg(n, L, p, "jax"),
         "tensorcircuit-jax": tc_vg, "pennylane-lightning": pennylane_vg}


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="*", default=["12x4", "16x8", "20x8"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peers", nargs="*", default=list(PEERS))
    args = ap.parse_args()
    peers = {k: PEERS[k] for k in args.peers}
    rows = []
    for size in args.sizes:
        n, layers = map(int, size.split("x"))
        params = w1_params(n, layers)
        row: dict = {"workload": "W1 value_and_grad", "n": n, "L": layers}
        for name, make in peers.items():
            first, median, (value, grad) = timed(make(n, layers, params), args.repeats)
            row[name] = {"first_s": first, "call_s": median, "value": value}
            row.setdefault("_grads", {})[name] = grad
        grads = row.pop("_grads")
        ref = grads["tnq-torch"]
        for name, g in grads.items():
            err = float(np.abs(g - ref).max())
            assert err < 1e-8 and abs(row[name]["value"] - row["tnq-torch"]["value"]) < 1e-8, \
                (name, err)
        best = min(("tnq-torch", "tnq-jax"), key=lambda k: row[k]["call_s"])
        row["tnq_best"] = best
        for peer in set(peers) & {"tensorcircuit-jax", "pennylane-lightning"}:
            row[f"ratio_{peer}"] = row[peer]["call_s"] / row[best]["call_s"]
        rows.append(row)
        report(f"W1 value_and_grad (n={n}, L={layers}): energy "
               f"{row['tnq-torch']['value']:+.10f}, tnq best: {best}", row, list(peers), best)
    print("saved", save("w1_grad_" + "_".join(args.sizes), rows))


if __name__ == "__main__":
    main()
