"""W8: the W1 ansatz as a PennyLane QNode, value_and_grad on tnq.qubit against
PennyLane's own devices, in one run (one process; default threads).

- ``tnq-jax``: tnq.qubit, ``interface="jax"``, backprop, ``jax.jit(jax.value_and_grad)``.
- ``tnq-torch``: tnq.qubit, ``interface="torch"``, backprop, ``loss.backward()``.
- ``tnq-adjoint``: tnq.qubit, ``diff_method="adjoint"`` (the device's own
  gradient, :func:`tnq.value_and_grad` on numpy), ``qml.grad(f)`` with its
  ``forward`` value, as for lightning.
- ``default-torch``: default.qubit, backprop, torch (``loss.backward()``).
- ``default-jax`` (with ``--default-jax``): default.qubit, backprop,
  ``jax.jit(jax.value_and_grad)`` (its first call compiles for minutes).
- ``lightning``: lightning.qubit, ``diff_method="adjoint"`` (value from the same
  forward pass, ``qml.grad(f).forward``).
- W2 n=100 (``--wide``): tnq.qubit torch backprop (value_and_grad) and the energy
  alone, against default.tensor's energy (quimb's MPS; it has no backprop,
  adjoint or device gradients, so its gradient would be 2P+1 energies by
  parameter shift). default.tensor needs quimb, whose releases from 1.9 on
  need autoray>=0.10 while PennyLane pins 0.8: ``pip install quimb==1.8.4``.

Needs an environment with ``tnq[pennylane]``, jax, torch and
pennylane-lightning (see docs/pennylane.md). Every implementation's value and
gradient are checked against tnq-torch's to 1e-8.

Run:  python benchmarks/w8_pennylane.py [--sizes 12x4 16x8 20x8] [--wide] [--repeats 5]
      [--default-jax] [--peer-repeats 1] [--only tnq-adjoint lightning]
      [--threads 1]   (one thread for every library: set before numpy, torch,
      jax and lightning start; default: their own defaults)
Ratios: peer time / tnq time (above 1: tnq is faster).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if "--threads" in sys.argv:  # before any library starts its thread pools
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = _threads
    os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                               f"intra_op_parallelism_threads={_threads}")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import pennylane_w1, save, timed, w1_params, w2_gates  # noqa: E402


def _runners(n: int, layers: int, qml, default_jax: bool):
    import jax
    import torch

    circuit = pennylane_w1(n, layers, qml)
    w = w1_params(n, layers)

    def jax_runner(device):
        qnode = qml.QNode(circuit, device, interface="jax", diff_method="backprop")
        fn = jax.jit(jax.value_and_grad(qnode))
        x = jax.numpy.asarray(w)

        def run():
            value, grad = fn(x)
            return float(value), np.asarray(grad)
        return run

    def torch_runner(device):
        qnode = qml.QNode(circuit, device, interface="torch", diff_method="backprop")

        def run():
            x = torch.tensor(w, requires_grad=True)
            value = qnode(x)
            value.backward()
            return float(value.detach()), x.grad.numpy()
        return run

    def adjoint_runner(device):
        qnode = qml.QNode(circuit, device, diff_method="adjoint")
        grad_fn = qml.grad(qnode)
        x = qml.numpy.array(w, requires_grad=True)

        def run():
            grad = grad_fn(x)
            return float(grad_fn.forward), np.asarray(grad)
        return run

    runners = {
        "tnq-torch": lambda: torch_runner(qml.device("tnq.qubit", wires=n)),
        "tnq-jax": lambda: jax_runner(qml.device("tnq.qubit", wires=n)),
        "tnq-adjoint": lambda: adjoint_runner(qml.device("tnq.qubit", wires=n)),
        "default-torch": lambda: torch_runner(qml.device("default.qubit", wires=n)),
        "lightning": lambda: adjoint_runner(qml.device("lightning.qubit", wires=n)),
    }
    if default_jax:
        runners["default-jax"] = lambda: jax_runner(qml.device("default.qubit", wires=n))
    return runners


def _w2(n: int, qml):
    import torch

    gates, num = w2_gates(n)
    ham = qml.Hamiltonian([1.0] * (2 * n - 1), [qml.Z(i) @ qml.Z(i + 1) for i in range(n - 1)]
                          + [qml.X(i) for i in range(n)])

    def circuit(w):
        for name, q, k in gates:
            if name == "ry":
                qml.RY(w[k], wires=q[0])
            else:
                qml.IsingZZ(w[k], wires=list(q))
        return qml.expval(ham)

    w = np.random.default_rng(1234).uniform(0, 2 * np.pi, num)
    out = {}
    dev = qml.device("tnq.qubit", wires=n)
    qnode = qml.QNode(circuit, dev, interface="torch", diff_method="backprop")

    def vg():
        x = torch.tensor(w, requires_grad=True)
        value = qnode(x)
        value.backward()
        return float(value.detach()), x.grad.numpy()
    out["tnq-torch value_and_grad"] = vg
    energy = qml.QNode(circuit, qml.device("tnq.qubit", wires=n))
    out["tnq energy"] = lambda: (float(energy(w)), None)
    try:
        tensor = qml.QNode(circuit, qml.device("default.tensor", wires=n))
        out["default.tensor energy"] = lambda: (float(tensor(w)), None)
    except Exception as exc:  # quimb missing or incompatible with PennyLane's autoray
        print(f"default.tensor unavailable: {type(exc).__name__}: {exc}")
    return out, dev


def main() -> None:
    import jax
    import pennylane as qml

    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="*", default=["12x4", "16x8", "20x8"])
    ap.add_argument("--wide", action="store_true", help="also W2 at n=100")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--default-jax", action="store_true")
    ap.add_argument("--only", nargs="+", default=None, help="run only these implementations")
    ap.add_argument("--peer-repeats", type=int, default=1,
                    help="calls of default.tensor after its first (minutes each at n=100)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows = []
    for size in args.sizes:
        n, layers = map(int, size.split("x"))
        row = {"workload": "W8", "n": n, "layers": layers, "threads": args.threads}
        ref = None
        for name, make in _runners(n, layers, qml, args.default_jax).items():
            if args.only and name not in args.only:
                continue
            first, call, (value, grad) = timed(make(), args.repeats)
            # first: a new QNode's first call (compile, JIT, path search)
            if ref is None:
                ref = (value, grad)
            assert abs(value - ref[0]) < 1e-8 and np.allclose(grad, ref[1], atol=1e-8), name
            row[name] = {"first_s": first, "call_s": call, "value": value}
            print(f"W8 {size} {name:<12} call {1e3 * call:9.2f} ms  first {first:7.2f} s",
                  flush=True)
        ours = [row[k]["call_s"] for k in row if k.startswith("tnq-")]
        for name in set(row) & {"default-torch", "default-jax", "lightning"}:
            row[name]["ratio"] = row[name]["call_s"] / min(ours)
        rows.append(row)
    if args.wide:
        runs, dev = _w2(100, qml)
        row = {"workload": "W8-W2", "n": 100, "threads": args.threads}
        for name, fn in runs.items():
            repeats = args.peer_repeats if name.startswith("default") else args.repeats
            first, call, (value, _) = timed(fn, repeats)
            assert abs(value - row.get("tnq-torch value_and_grad", {"value": value})["value"]) \
                < 1e-8, name
            row[name] = {"first_s": first, "call_s": call, "value": value}
            print(f"W8 W2 n=100 {name:<26} call {1e3 * call:9.2f} ms  first {first:7.2f} s",
                  flush=True)
        row["strategy"] = dev.programs[0].strategy
        if "default.tensor energy" in row:
            row["energy ratio"] = row["default.tensor energy"]["call_s"] / \
                row["tnq energy"]["call_s"]
            print(f"W8 W2 n=100 energy: default.tensor / tnq = {row['energy ratio']:.1f}")
        rows.append(row)
    name = "w8_pennylane" + ("_" + "_".join(args.sizes) if args.sizes else "") + \
        ("_" + "_".join(args.only) if args.only else "") + \
        ("_wide" if args.wide else "") + (f"_{args.threads}thread" if args.threads else "")
    print(f"results: {save(name, rows)}")


if __name__ == "__main__":
    main()
