"""Qiskit EstimatorV2 PUBs: tnq.qiskit.Estimator against Qiskit's StatevectorEstimator
and Qiskit Aer's EstimatorV2, side by side.

Workload: an ``efficient_su2(n, reps=3)`` ansatz (linear entanglement) and the
transverse-field Ising Hamiltonian ``sum Z_i Z_{i+1} + 0.7 sum X_i`` as a
``SparsePauliOp``; one PUB with B parameter vectors (B = 1 and 32), at
n = 8, 12, 16. "first" is the first run of a new primitive (tnq: conversion,
compile and path search), "per call" the median of 3 later runs with new
values. Values are checked against each other (1e-8). Ratios are peer / tnq
(above 1: tnq is faster). Default threads for every library, or
``--threads 1``: one thread each (BLAS/OpenMP variables set before numpy is
imported, Aer's ``max_parallel_threads``).

    python qiskit_estimator.py [--sizes 8 12 16] [--batches 1 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys

THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else None
if THREADS is not None:  # before numpy and the simulators are imported
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = THREADS

import numpy as np  # noqa: E402
from common import save, timed  # noqa: E402
from qiskit.circuit.library import efficient_su2  # noqa: E402
from qiskit.primitives import StatevectorEstimator  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit_aer.primitives import EstimatorV2 as AerEstimator  # noqa: E402

from tnq.qiskit import Estimator  # noqa: E402


def hamiltonian(n: int) -> SparsePauliOp:
    return SparsePauliOp.from_sparse_list(
        [("ZZ", [q, q + 1], 1.0) for q in range(n - 1)] + [("X", [q], 0.7) for q in range(n)],
        num_qubits=n)


def run(make, pub_for, repeats: int = 3):
    """(first, per call, values): a new primitive's first run, then later runs."""
    primitive = make()
    calls = iter(range(10**6))
    return timed(lambda: primitive.run([pub_for(next(calls))]).result()[0].data.evs, repeats)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 16])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    aer_options = {} if args.threads is None else {
        "options": {"backend_options": {"max_parallel_threads": args.threads}}}
    peers = {"tnq": Estimator, "qiskit statevector": StatevectorEstimator,
             "aer": lambda: AerEstimator(**aer_options)}
    rows = []
    print(f"{'n':>3} {'B':>3} {'library':<20} {'first s':>9} {'per call s':>11} {'ratio':>7}")
    for n in args.sizes:
        qc = efficient_su2(n, reps=3, entanglement="linear")
        H = hamiltonian(n)
        for batch in args.batches:
            def pub_for(k, qc=qc, H=H, batch=batch):
                values = np.random.default_rng(k).uniform(-np.pi, np.pi,
                                                          (batch, qc.num_parameters))
                return (qc, H, values)

            results = {name: run(make, pub_for) for name, make in peers.items()}
            reference = results["tnq"][2]
            base = results["tnq"][1]
            for name, (first, per_call, evs) in results.items():
                assert np.allclose(evs, reference, atol=1e-8), (name, n, batch)
                ratio = per_call / base
                print(f"{n:>3} {batch:>3} {name:<20} {first:>9.4f} {per_call:>11.5f} "
                      f"{ratio:>7.2f}")
                rows.append({"n": n, "batch": batch, "library": name, "first_s": first,
                             "per_call_s": per_call, "ratio_to_tnq": ratio})
    save("qiskit_estimator" + ("" if args.threads is None else f"_threads{args.threads}"), rows)


if __name__ == "__main__":
    main()
