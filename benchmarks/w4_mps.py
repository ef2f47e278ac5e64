"""W4 (1D brickwork beyond exact reach, MPS with truncation): tnq vs quimb and Aer.

Circuit: 16 layers of the W2 layer (RY on every qubit, RZZ on even then odd
bonds); observable: the W1 Hamiltonian (ZZ on neighbours plus X on every
qubit). Each simulator simulates the circuit as an MPS with the same maximum
bond dimension and evaluates the energy; times are per call (simulation and
energy), after one warm-up call. Reported: time, energy, fidelity estimate
(tnq: product of kept squared singular-value weights; quimb: its
``fidelity_estimate()``, the squared norm of its unnormalised truncated
state, the same quantity), and at n = 24 the energy error against exact
contraction. Aer reports no fidelity: its ``mps_log_data`` lists discarded
values even for runs that are exact (same log at max_bond 64 and 4096 at
n = 24), so it is not used and logging stays off.

All three get the same ``max_bond`` and the same truncation cutoff (discarded
squared weight per split; default 1e-10, quimb's own default).

Run:  python benchmarks/w4_mps.py [--cases 64x16 64x64 24x16] [--repeats 3] [--cutoff 1e-10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import save, timed, tnq_problem, w2_gates

import tnq

DEPTH = 16


def w1_terms(n):
    return ([(1.0, {i: "Z", i + 1: "Z"}) for i in range(n - 1)]
            + [(1.0, {i: "X"}) for i in range(n)])


def tnq_call(n, chi, params, cutoff):
    gates, num_params = w2_gates(n, DEPTH)
    circuit, obs = tnq_problem(n, gates, num_params, w1_terms(n))
    program = tnq.compile(circuit, obs, strategy="mps", max_bond=chi, cutoff=cutoff)

    def call():
        return float(program(params)), program.fidelity

    return call


def quimb_call(n, chi, params, cutoff):
    """quimb CircuitMPS (swap+split gates), energy from an MPO of the
    Hamiltonian contracted with the MPS. Its ``cutoff`` drops squared weight
    like tnq's (same bond dimensions result at equal settings)."""
    import quimb.tensor as qtn

    gates, _ = w2_gates(n, DEPTH)
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


def aer_call(n, chi, params, cutoff):
    """Qiskit Aer matrix_product_state with the same maximum bond dimension and
    truncation threshold (the squared weight it may discard)."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    gates, _ = w2_gates(n, DEPTH)
    sim = AerSimulator(method="matrix_product_state",
                       matrix_product_state_max_bond_dimension=chi,
                       matrix_product_state_truncation_threshold=cutoff)
    op = SparsePauliOp.from_sparse_list(
        [("".join(p[q] for q in sorted(p)), sorted(p), c) for c, p in w1_terms(n)],
        num_qubits=n)

    def call():
        qc = QuantumCircuit(n)
        for name, qs, k in gates:
            getattr(qc, name)(params[k], *qs)
        qc.save_expectation_value(op, list(range(n)))
        result = sim.run(qc).result()
        return float(np.real(result.data(0)["expectation_value"])), None

    return call


def exact_energy(n, params):
    gates, num_params = w2_gates(n, DEPTH)
    circuit, obs = tnq_problem(n, gates, num_params, w1_terms(n))
    return float(tnq.compile(circuit, obs, strategy="state")(params))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["64x16", "64x64", "24x16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", nargs="*", default=["quimb", "aer"])
    parser.add_argument("--cutoff", type=float, default=1e-10,
                        help="truncation cutoff for all three (quimb's default)")
    args = parser.parse_args()
    rows = []
    makers = {"tnq": tnq_call, "quimb": quimb_call, "aer": aer_call}
    for case in args.cases:
        n, chi = map(int, case.split("x"))
        gates, num_params = w2_gates(n, DEPTH)
        params = np.random.default_rng(1234).uniform(0, 2 * np.pi, num_params)
        row = {"n": n, "chi": chi, "cutoff": args.cutoff}
        exact = None
        if n <= 26:
            t0 = time.perf_counter()
            exact = exact_energy(n, params)
            row["exact"] = {"value": exact, "s": time.perf_counter() - t0}
        print(f"W4 n={n}, depth={DEPTH}, max_bond={chi}, cutoff={args.cutoff:g}"
              + (f": exact energy {exact:.10f}" if exact is not None else ""), flush=True)
        for name in ["tnq"] + args.peers:
            first, call, (value, fid) = timed(makers[name](n, chi, params, args.cutoff),
                                              args.repeats)
            row[name] = {"first_s": first, "call_s": call, "value": value, "fidelity": fid}
            err = "" if exact is None else f"   |E - exact| {abs(value - exact):.2e}"
            ratio = "" if name == "tnq" else f"   ratio {call / row['tnq']['call_s']:6.2f}x"
            fid_text = "     -      " if fid is None else f"{fid:.10f}"
            print(f"  {name:<6} call {call:8.3f} s   first {first:7.3f} s   energy "
                  f"{value:.10f}   fidelity {fid_text}{err}{ratio}", flush=True)
            if exact is not None:
                row[name]["error"] = abs(value - exact)
        rows.append(row)
    print("saved", save("w4_mps_" + "_".join(args.cases), rows))


if __name__ == "__main__":
    main()
