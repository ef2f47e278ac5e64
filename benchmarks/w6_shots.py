"""W6 shots: the parameter-shift gradient from finite shots, as on hardware.

W1 circuit with n = 8, L = 3 (P = 45), 1000 shots per circuit execution, two
measurement settings (Z basis for the ZZ terms, X basis for the X terms), the
two-term rule: 2P + 1 shifted energies (the unshifted one gives the value).
tnq: ``tnq.param_shift(..., shots=1000)`` with its own sampler executor.
Peer: PennyLane default.qubit, ``diff_method="parameter-shift"``, shots=1000,
the Hamiltonian grouped qubit-wise ("qwc": the same two settings).

Run:  python benchmarks/w6_shots.py [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import pennylane_w1, report, save, timed, w1_params, w1_tnq

import tnq

N, LAYERS, SHOTS = 8, 3, 1000


def tnq_shots(params, seeds):
    circuit, ham = w1_tnq(N, LAYERS)
    holder: dict = {}

    def call():
        if "p" not in holder:
            holder["p"] = tnq.compile(circuit, ham)
            holder["ex"] = tnq.TnqExecutor()
        return tnq.param_shift(holder["p"], params, shots=SHOTS, executor=holder["ex"],
                               seed=next(seeds))

    return call


def pennylane_shots(params):
    import pennylane as qml
    from pennylane import numpy as pnp

    fn = pennylane_w1(N, LAYERS, qml)
    dev = qml.device("default.qubit", wires=N)

    def qfunc(w):
        out = fn(w)
        return out

    qnode = qml.QNode(qfunc, dev, diff_method="parameter-shift", shots=SHOTS)
    x = pnp.array(params, requires_grad=True)

    def call():
        return np.asarray(qml.grad(qnode)(x))

    return call


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    params = w1_params(N, LAYERS)
    circuit, ham = w1_tnq(N, LAYERS)
    exact = tnq.param_shift(tnq.compile(circuit, ham), params)
    seeds = iter(range(1000))
    row: dict = {"workload": "W6 shots gradient", "n": N, "L": LAYERS, "shots": SHOTS}
    first, median, g = timed(tnq_shots(params, seeds), args.repeats)
    z = np.abs((g.grad - exact.grad) / g.grad_stderr)
    row["tnq"] = {"first_s": first, "call_s": median, "executions": g.executions,
                  "max_sigma": float(z.max()), "mean_stderr": float(g.grad_stderr.mean())}
    first, median, pg = timed(pennylane_shots(params), args.repeats)
    row["pennylane-default"] = {"first_s": first, "call_s": median,
                                "max_abs_error": float(np.abs(pg - exact.grad).max())}
    row["ratio_pennylane-default"] = median / row["tnq"]["call_s"]
    report(f"W6 shots (n={N}, L={LAYERS}, P={params.size}, shots={SHOTS}): tnq "
           f"{g.executions} executions, largest deviation {z.max():.2f} standard errors",
           row, ["tnq", "pennylane-default"], "tnq")
    print(f"  tnq max |error| {np.abs(g.grad - exact.grad).max():.4f}, PennyLane "
          f"{row['pennylane-default']['max_abs_error']:.4f}")
    print("saved", save("w6_shots", [row]))


if __name__ == "__main__":
    main()
