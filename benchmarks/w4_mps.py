"""W4 (1D brickwork beyond exact reach, MPS with truncation): tnq vs Qiskit Aer and quimb.

Circuit: 16 layers of the W2 layer (RY on every qubit, RZZ on even then odd
bonds); observable: the W1 Hamiltonian (ZZ on neighbours plus X on every
qubit). Each simulator simulates the circuit as an MPS with the same maximum
bond dimension and truncation cutoff (default 0: only max_bond truncates)
and evaluates the energy; times are per call (simulation and energy): the
median of ``--repeats`` calls after one warm-up (first) call.

Reported per case: time, energy, fidelity estimate (tnq: product of kept
squared singular-value weights; quimb: its ``fidelity_estimate()``, the
same quantity; Aer reports none that is usable: its ``mps_log_data`` lists
discarded values even for exact runs), at n <= 26 the energy error against
exact contraction, and for tnq the FLOPs of its cost model against the
machine's measured complex matmul rate.

Parts (each side by side with the peers in one process, per thread count):

- ``cases``: W4 at each ``NxCHI`` (quimb: one timed call after the first, none
  at n >= 100, where its first call stands for both).
- ``batch``: a batch of 64 parameter vectors as one tnq call, against 64
  single tnq calls and Aer running the 64 bound circuits in one ``run``.
- ``target``: ``target_fidelity`` at n = 64 (and n = 24, checked against
  exact): bonds chosen, time, fidelity reached, error bar, energy error.

Thread counts: each ``--threads`` value runs in its own process with the BLAS
thread variables set before numpy loads; Aer gets the same count
(``max_parallel_threads``, ``mps_omp_threads``).

Run:  python benchmarks/w4_mps.py [--cases 24x16 64x16 64x64 100x32 200x32]
          [--threads 1 2] [--parts cases batch target] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

DEPTH = 16
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def w1_terms(n):
    return ([(1.0, {i: "Z", i + 1: "Z"}) for i in range(n - 1)]
            + [(1.0, {i: "X"}) for i in range(n)])


def problem(n):
    import numpy as np
    from common import w2_gates

    gates, num_params = w2_gates(n, DEPTH)
    return gates, num_params, np.random.default_rng(1234).uniform(0, 2 * np.pi, num_params)


def tnq_program(n, chi, cutoff=0.0, **options):
    from common import tnq_problem

    import tnq

    gates, num_params, _ = problem(n)
    circuit, obs = tnq_problem(n, gates, num_params, w1_terms(n))
    if "target_fidelity" in options:
        return tnq.compile(circuit, obs, strategy="mps", progress=False, **options)
    return tnq.compile(circuit, obs, strategy="mps", max_bond=chi, cutoff=cutoff,
                       progress=False, **options)


def tnq_call(n, chi, params, cutoff, threads):
    program = tnq_program(n, chi, cutoff)

    def call():
        result = program.evaluate(params)
        return float(result.value), result.fidelity

    return call


def quimb_call(n, chi, params, cutoff, threads):
    """quimb CircuitMPS (swap+split gates), energy from an MPO of the
    Hamiltonian contracted with the MPS; ``cutoff`` as tnq's (squared weight)."""
    import numpy as np
    import quimb.tensor as qtn

    gates, _, _ = problem(n)
    builder = qtn.SpinHam1D(S=1 / 2)
    builder += 4.0, "Z", "Z"  # quimb's spin operators are Pauli / 2
    builder += 2.0, "X"
    mpo = builder.build_mpo(n)

    def call():
        circ = qtn.CircuitMPS(n, max_bond=chi, cutoff=cutoff)
        for name, qs, k in gates:
            circ.apply_gate(name.upper(), params[k], *qs)
        psi = circ.psi
        energy = qtn.expec_TN_1D(psi.H, mpo, psi) / (psi.H @ psi)
        return float(np.real(energy)), float(circ.fidelity_estimate())

    return call


def aer_parts(n, chi, cutoff, threads):
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    gates, _, _ = problem(n)
    sim = AerSimulator(method="matrix_product_state",
                       matrix_product_state_max_bond_dimension=chi,
                       matrix_product_state_truncation_threshold=cutoff,
                       max_parallel_threads=threads, mps_omp_threads=threads)
    op = SparsePauliOp.from_sparse_list(
        [("".join(p[q] for q in sorted(p)), sorted(p), c) for c, p in w1_terms(n)],
        num_qubits=n)

    def circuit(params):
        qc = QuantumCircuit(n)
        for name, qs, k in gates:
            getattr(qc, name)(params[k], *qs)
        qc.save_expectation_value(op, list(range(n)))
        return qc

    return sim, circuit


def aer_call(n, chi, params, cutoff, threads):
    """Qiskit Aer matrix_product_state, same max_bond and truncation threshold;
    the circuit is built in the call (as tnq's call builds its gates)."""
    import numpy as np

    sim, circuit = aer_parts(n, chi, cutoff, threads)

    def call():
        result = sim.run(circuit(params)).result()
        return float(np.real(result.data(0)["expectation_value"])), None

    return call


def exact_energy(n, params):
    from common import tnq_problem

    import tnq

    gates, num_params, _ = problem(n)
    circuit, obs = tnq_problem(n, gates, num_params, w1_terms(n))
    return float(tnq.compile(circuit, obs, strategy="state", progress=False)(params))


def matmul_rate(size=512, repeats=5):
    """Real FLOPs per second of a ``size``-cubed complex128 matmul (8 size^3 FLOPs)."""
    import numpy as np
    from common import timed

    rng = np.random.default_rng(0)
    a = rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))
    _, t, _ = timed(lambda: a @ a, repeats)
    return 8.0 * size**3 / t


def model_flops(n, chi):
    """tnq's cost model of one simulation (``tnq.strategies.mps.mps_flops``):
    8 (2 chi)^3 real FLOPs per split at the bounded bond dimensions."""
    from tnq.strategies.mps import mps_flops

    return mps_flops(tnq_program(n, chi)._strategy.schedule, chi)


# ------------------------------------------------------------ parts
def run_cases(args, threads, rate):
    from common import timed

    rows = []
    makers = {"tnq": tnq_call, "aer": aer_call, "quimb": quimb_call}
    for case in args.cases:
        n, chi = map(int, case.split("x"))
        _, _, params = problem(n)
        row = {"part": "case", "threads": threads, "n": n, "chi": chi, "cutoff": args.cutoff}
        exact = None
        if n <= 26:
            exact = exact_energy(n, params)
            row["exact"] = exact
        print(f"W4 n={n} chi={chi} cutoff={args.cutoff:g} threads={threads}"
              + (f": exact energy {exact:.10f}" if exact is not None else ""), flush=True)
        for name in ["tnq"] + args.peers:
            # quimb takes seconds per call: one call after the first, none at n >= 100
            repeats = args.repeats if name != "quimb" else int(n < 100)
            first, call, (value, fid) = timed(makers[name](n, chi, params, args.cutoff,
                                                           threads), repeats)
            row[name] = {"first_s": first, "call_s": call, "value": value, "fidelity": fid}
            if exact is not None:
                row[name]["error"] = abs(value - exact)
            extra = ""
            if name == "tnq":
                flops = model_flops(n, chi)
                row[name].update(model_flops=flops, achieved_rate=flops / call,
                                 fraction_of_matmul_rate=flops / call / rate)
                extra = f"   {flops / call / 1e9:.2f} GFLOP/s model ({flops / call / rate:.0%} " \
                        "of matmul)"
            else:
                ratio = call / row["tnq"]["call_s"]
                row[name]["ratio"] = ratio
                extra = f"   peer/tnq {ratio:6.2f}x"
            err = "" if exact is None else f"   |E - exact| {abs(value - exact):.2e}"
            fid_text = "     -      " if fid is None else f"{fid:.10f}"
            print(f"  {name:<6} call {call:8.3f} s   first {first:7.3f} s   energy {value:.10f}"
                  f"   fidelity {fid_text}{err}{extra}", flush=True)
        rows.append(row)
    return rows


def run_batch(args, threads):
    import numpy as np
    from common import timed

    n, chi, size = 24, 16, 64
    _, num_params, _ = problem(n)
    batch = np.random.default_rng(1234).uniform(0, 2 * np.pi, (size, num_params))
    program = tnq_program(n, chi, args.cutoff)
    first_b, call_b, values = timed(lambda: np.asarray(program(batch)), args.repeats)
    first_s, call_s, singles = timed(lambda: np.array([float(program(p)) for p in batch]),
                                     max(1, args.repeats // 2))
    sim, circuit = aer_parts(n, chi, args.cutoff, threads)

    def aer_batch():
        result = sim.run([circuit(p) for p in batch]).result()
        return np.array([np.real(result.data(i)["expectation_value"]) for i in range(size)])

    first_a, call_a, aer_values = timed(aer_batch, max(1, args.repeats // 2))
    row = {"part": "batch", "threads": threads, "n": n, "chi": chi, "batch": size,
           "tnq_batch_s": call_b, "tnq_batch_first_s": first_b, "tnq_64_single_s": call_s,
           "aer_64_circuits_s": call_a, "single_over_batch": call_s / call_b,
           "aer_over_batch": call_a / call_b,
           "max_diff_batch_vs_single": float(np.abs(values - singles).max()),
           "max_diff_vs_aer": float(np.abs(values - aer_values).max())}
    print(f"W4 batch of {size}, n={n} chi={chi} threads={threads}: one batched call "
          f"{call_b:.3f} s, 64 single calls {call_s:.3f} s ({call_s / call_b:.2f}x), Aer 64 "
          f"circuits in one run {call_a:.3f} s ({call_a / call_b:.2f}x); batch vs single "
          f"{row['max_diff_batch_vs_single']:.1e}, vs Aer {row['max_diff_vs_aer']:.1e}",
          flush=True)
    return [row]


def run_target(args, threads):
    import warnings

    from common import timed

    from tnq.strategies.mps import profile

    rows = []
    references = {}
    for n, target in [(24, 0.999), (24, 0.9999), (64, 0.999), (64, 0.9999)]:
        _, _, params = problem(n)
        if n not in references:
            if n <= 26:
                references[n] = ("exact", exact_energy(n, params))
            else:  # a larger bond, cutoff 0, as the reference
                result = tnq_program(n, 128).evaluate(params)
                references[n] = (f"chi=128 (fidelity {result.fidelity:.10f})",
                                 float(result.value))
        kind, ref = references[n]
        program = tnq_program(n, None, target_fidelity=target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first, call, result = timed(lambda p=program, x=params: p.evaluate(x), args.repeats)
            bonds = program.simulate(params).bond_dims
        row = {"part": "target", "threads": threads, "n": n, "target": target,
               "call_s": call, "first_s": first, "fidelity": result.fidelity,
               "error_bar": result.error, "energy": float(result.value), "reference": kind,
               "reference_energy": ref, "energy_error": abs(float(result.value) - ref),
               "max_bond": max(bonds), "bonds": list(bonds)}
        rows.append(row)
        print(f"W4 target_fidelity={target} n={n} threads={threads}: {call:.3f} s, fidelity "
              f"{result.fidelity:.6f}, bonds up to {max(bonds)} ({profile(bonds)}), energy "
              f"{float(result.value):.8f}, error bar {result.error:.2e}, |E - {kind}| "
              f"{abs(float(result.value) - ref):.2e}", flush=True)
    return rows


def child(args):
    threads = int(os.environ["OMP_NUM_THREADS"])
    rate = matmul_rate()
    print(f"threads={threads}: complex128 matmul rate {rate / 1e9:.2f} GFLOP/s", flush=True)
    parts = {"cases": lambda: run_cases(args, threads, rate),
             "batch": lambda: run_batch(args, threads),
             "target": lambda: run_target(args, threads)}
    for part in args.parts:
        rows = parts[part]()
        for row in rows:
            row["matmul_rate"] = rate
        print("ROWS " + json.dumps(rows), flush=True)  # each part as soon as it is done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["24x16", "64x16", "64x64", "100x32",
                                                       "200x32"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--parts", nargs="+", default=["cases", "batch", "target"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", nargs="*", default=["aer", "quimb"])
    parser.add_argument("--cutoff", type=float, default=0.0,
                        help="truncation cutoff for all (squared weight per split)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    from common import save

    name = "w4_mps" if len(sys.argv) == 1 else "w4_mps_" + "_".join(
        a.lstrip("-") for a in sys.argv[1:])
    rows = []
    for t in args.threads:
        env = dict(os.environ, **{v: str(t) for v in THREAD_VARS})
        cmd = [sys.executable, "-u", __file__, "--child"] + sys.argv[1:]
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:  # shown as it comes
                if line.startswith("ROWS "):
                    rows += json.loads(line[5:])
                else:
                    print(line, end="", flush=True)
        print("saved", save(name, rows))


if __name__ == "__main__":
    main()
