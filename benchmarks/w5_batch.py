"""W5 batch: value_and_grad of a QML classifier's loss over a data batch, in one run.

n = 10, L = 3, B = 512; loss = mean_b (<Z_0>_b - y_b)^2 over the weights.
tnq takes the whole batch in one call (a batch index in one contraction) and
is differentiated by torch autograd or by jax (jitted). Peers:
TensorCircuit-NG (jax.vmap over the batch, jitted value_and_grad) and
PennyLane default.qubit (jax interface, parameter broadcasting, jitted).

Run:  python benchmarks/w5_batch.py [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import report, save, timed

import tnq

N, LAYERS, BATCH = 10, 3, 512


def data():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, np.pi, (BATCH, N))
    y = rng.choice([-1.0, 1.0], BATCH)
    w = np.random.default_rng(1234).uniform(0, 2 * np.pi, 2 * N * LAYERS)
    return x, y, w


def tnq_circuit():
    x, w = tnq.inputs(N), tnq.parameters(2 * N * LAYERS)
    c = tnq.Circuit(N)
    for i in range(N):
        c.rx(i, x[i])
    k = 0
    for _ in range(LAYERS):
        for i in range(N):
            c.ry(i, w[k + i])
        for i in range(N):
            c.rz(i, w[k + N + i])
        k += 2 * N
        for i in range(N):
            c.cx(i, (i + 1) % N)
    return c


def tnq_torch(x, y, w):
    import torch

    holder: dict = {}
    xt, yt = torch.tensor(x), torch.tensor(y)

    def call():
        if "p" not in holder:
            holder["p"] = tnq.compile(tnq_circuit(), "Z0")
        wt = torch.tensor(w, requires_grad=True)
        loss = torch.mean((holder["p"](wt, xt) - yt) ** 2)
        loss.backward()
        return loss.item(), wt.grad.numpy()

    return call


def tnq_jax(x, y, w):
    import jax
    import jax.numpy as jnp

    holder: dict = {}
    xj, yj, wj = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)

    def call():
        if "f" not in holder:
            program = tnq.compile(tnq_circuit(), "Z0")
            holder["f"] = jax.jit(jax.value_and_grad(
                lambda v: jnp.mean((program(v, xj) - yj) ** 2)))
        v, g = holder["f"](wj)
        return float(v), np.asarray(g.block_until_ready())

    return call


def tc_vmap(x, y, w):
    import jax
    import jax.numpy as jnp
    import tensorcircuit as tc

    tc.set_backend("jax")
    tc.set_dtype("complex128")

    def z0(v, xi):
        c = tc.Circuit(N)
        for i in range(N):
            c.rx(i, theta=xi[i])
        k = 0
        for _ in range(LAYERS):
            for i in range(N):
                c.ry(i, theta=v[k + i])
            for i in range(N):
                c.rz(i, theta=v[k + N + i])
            k += 2 * N
            for i in range(N):
                c.cnot(i, (i + 1) % N)
        return jnp.real(c.expectation_ps(z=[0]))

    batched = jax.vmap(z0, in_axes=(None, 0))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    f = jax.jit(jax.value_and_grad(lambda v: jnp.mean((batched(v, xj) - yj) ** 2)))
    wj = jnp.asarray(w)

    def call():
        v, g = f(wj)
        return float(v), np.asarray(g.block_until_ready())

    return call


def pennylane_broadcast(x, y, w):
    import jax
    import jax.numpy as jnp
    import pennylane as qml

    @qml.qnode(qml.device("default.qubit", wires=N), interface="jax")
    def z0(v, xb):
        for i in range(N):
            qml.RX(xb[:, i], wires=i)
        k = 0
        for _ in range(LAYERS):
            for i in range(N):
                qml.RY(v[k + i], wires=i)
            for i in range(N):
                qml.RZ(v[k + N + i], wires=i)
            k += 2 * N
            for i in range(N):
                qml.CNOT([i, (i + 1) % N])
        return qml.expval(qml.Z(0))

    xj, yj = jnp.asarray(x), jnp.asarray(y)
    f = jax.jit(jax.value_and_grad(lambda v: jnp.mean((z0(v, xj) - yj) ** 2)))
    wj = jnp.asarray(w)

    def call():
        v, g = f(wj)
        return float(v), np.asarray(g.block_until_ready())

    return call


PEERS = {"tnq-torch": tnq_torch, "tnq-jax": tnq_jax, "tensorcircuit-jax": tc_vmap,
         "pennylane-default": pennylane_broadcast}


def main() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    x, y, w = data()
    row: dict = {"workload": "W5 batch value_and_grad", "n": N, "L": LAYERS, "B": BATCH}
    grads = {}
    for name, make in PEERS.items():
        first, median, (value, grad) = timed(make(x, y, w), args.repeats)
        row[name] = {"first_s": first, "call_s": median, "value": value}
        grads[name] = grad
    for name, g in grads.items():
        assert np.abs(g - grads["tnq-torch"]).max() < 1e-8, name
        assert abs(row[name]["value"] - row["tnq-torch"]["value"]) < 1e-8, name
    best = min(("tnq-torch", "tnq-jax"), key=lambda k: row[k]["call_s"])
    row["tnq_best"] = best
    for peer in ("tensorcircuit-jax", "pennylane-default"):
        row[f"ratio_{peer}"] = row[peer]["call_s"] / row[best]["call_s"]
    report(f"W5 batch (n={N}, L={LAYERS}, B={BATCH}): loss {row['tnq-torch']['value']:.10f}, "
           f"tnq best: {best}", row, list(PEERS), best)
    print("saved", save("w5_batch", [row]))


if __name__ == "__main__":
    main()
