"""TorchLayer: forward and backward of a quantum classifier layer on a batch,
tnq vs PennyLane default.qubit (torch backprop), in one run.

Model (W5's circuit at n qubits): RX(x_i) on every qubit, then L layers of
RY(w) and RZ(w) on every qubit and CNOT(i, (i+1) mod n); output <Z_0>; batch
B = 64 of inputs from ``default_rng(7).uniform(0, pi, (B, n))``; loss
``mean((out - y)^2)``. Forward: the layer's call on the batch and the loss.
Backward: ``loss.backward()`` (gradients by the weights; inputs need none).

- ``tnq``: ``tnq.TorchLayer(program)`` (default: the adjoint sweep; with one
  output the Jacobian is computed with the values when a gradient is needed,
  so the forward carries most of the work and the backward is a product).
- ``tnq-autograd``: the same layer with ``gradient="autograd"``.
- ``pennylane``: ``qml.qnn.TorchLayer`` over a default.qubit QNode,
  ``diff_method="backprop"``, the batch broadcast; run from its own
  environment (``--peer-python``, default ``.venv-bench/bin/python``), since
  PennyLane pins an older autoray than tnq needs.

Each implementation runs in a fresh process with one thread (torch, BLAS).
Run:  python benchmarks/torch_layer.py [--qubits 4 10] [--repeats 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
PEER_PYTHON = HERE.parent / ".venv-bench" / "bin" / "python"
LAYERS, BATCH = 3, 64


def data(n: int):
    rng = np.random.default_rng(7)
    return rng.uniform(0, np.pi, (BATCH, n)), rng.choice([-1.0, 1.0], BATCH)


def weights(n: int) -> np.ndarray:
    return np.random.default_rng(1234).uniform(0, 2 * np.pi, 2 * n * LAYERS)


def tnq_layer(n: int, gradient: str):
    import tnq

    w, x = tnq.parameters(2 * n * LAYERS), tnq.inputs(n)
    c, k = tnq.Circuit(n), 0
    for q in range(n):
        c.rx(q, x[q])
    for _ in range(LAYERS):
        for q in range(n):
            c.ry(q, w[k])
            k += 1
        for q in range(n):
            c.rz(q, w[k])
            k += 1
        for q in range(n):
            c.cx(q, (q + 1) % n)
    return tnq.TorchLayer(tnq.compile(c, "Z0"), weights=weights(n), gradient=gradient)


def pennylane_layer(n: int):
    import pennylane as qml
    import torch

    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs, w):
        for q in range(n):
            qml.RX(inputs[..., q], wires=q)
        k = 0
        for _ in range(LAYERS):
            for q in range(n):
                qml.RY(w[k], wires=q)
                k += 1
            for q in range(n):
                qml.RZ(w[k], wires=q)
                k += 1
            for q in range(n):
                qml.CNOT(wires=[q, (q + 1) % n])
        return qml.expval(qml.Z(0))

    layer = qml.qnn.TorchLayer(circuit, {"w": 2 * n * LAYERS})
    with torch.no_grad():
        layer.w.copy_(torch.as_tensor(weights(n)))
    return layer


def _worker(name: str, n: int, repeats: int) -> dict:
    import torch

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    t0 = time.perf_counter()
    layer = pennylane_layer(n) if name == "pennylane" else \
        tnq_layer(n, "autograd" if name == "tnq-autograd" else "auto")
    build = time.perf_counter() - t0
    x, y = (torch.as_tensor(a) for a in data(n))
    fwd, bwd = [], []
    for _ in range(repeats + 1):
        layer.zero_grad()
        t0 = time.perf_counter()
        out = layer(x)
        loss = ((out - y) ** 2).mean()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
    grad = next(p for p in layer.parameters()).grad.numpy()
    return {"build_s": build, "first_s": fwd[0] + bwd[0],
            "forward_s": statistics.median(fwd[1:]), "backward_s": statistics.median(bwd[1:]),
            "out": out.detach().numpy().tolist(), "grad": grad.tolist()}


def run_one(name: str, n: int, repeats: int, peer: Path) -> dict:
    python = str(peer) if name == "pennylane" else sys.executable
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([python, str(Path(__file__).resolve()), "--worker", name, "--qubits",
                          str(n), "--repeats", str(repeats)], env=env, cwd=HERE,
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{name} n={n} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qubits", nargs="*", type=int, default=[4, 10])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternating rounds; each implementation's best round is kept")
    ap.add_argument("--peers", nargs="*", default=["tnq", "tnq-autograd", "pennylane"])
    ap.add_argument("--peer-python", default=str(PEER_PYTHON))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.qubits[0], args.repeats)))
        return
    from common import save

    rows = []
    for n in args.qubits:
        row: dict = {"workload": "TorchLayer", "n": n, "layers": LAYERS, "batch": BATCH}
        for r in range(args.rounds):  # alternating rounds; the best round kept
            for name in args.peers if r % 2 == 0 else args.peers[::-1]:
                got = run_one(name, n, args.repeats, Path(args.peer_python))
                best = row.get(name)
                if best is None or got["forward_s"] + got["backward_s"] < \
                        best["forward_s"] + best["backward_s"]:
                    row[name] = got
        base = row[args.peers[0]]
        for name in args.peers:  # outputs and weight gradients agree with the first's
            r = row[name]
            assert np.abs(np.array(r["out"]) - base["out"]).max() < 1e-10, name
            r["grad_err"] = float(np.abs(np.array(r["grad"]) - base["grad"]).max())
            assert r["grad_err"] < 1e-10, name
        for name in args.peers:
            del row[name]["grad"], row[name]["out"]
        rows.append(row)
        print(f"TorchLayer n={n}, {LAYERS} layers, batch {BATCH} (one thread):")
        for name in args.peers:
            r = row[name]
            total = r["forward_s"] + r["backward_s"]
            print(f"  {name:<13} forward {1e3 * r['forward_s']:8.2f} ms  backward "
                  f"{1e3 * r['backward_s']:8.2f} ms  (backward/forward "
                  f"{r['backward_s'] / r['forward_s']:.2f})  total {1e3 * total:8.2f} ms  "
                  f"first {r['first_s']:.3f} s", flush=True)
    print("saved", save("torch_layer", rows))


if __name__ == "__main__":
    main()
