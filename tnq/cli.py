"""The ``tnq`` command: ``tnq demo`` and ``tnq run FILE.qasm``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from .circuit import Circuit
from .errors import TnqError
from .program import STRATEGIES, compile
from .qasm import from_qasm
from .symbols import parameters

__all__ = ["main", "demo_circuit"]


def demo_circuit(n: int = 12, layers: int = 4) -> tuple[Circuit, str]:
    """The W1 hardware-efficient ansatz and its transverse-field Ising energy."""
    theta = parameters(layers * (2 * n - 1))
    c, k = Circuit(n), 0
    for q in range(n):
        c.h(q)
    for _ in range(layers):
        for i in range(n - 1):
            c.rzz(i, i + 1, theta[k])
            k += 1
        for q in range(n):
            c.rx(q, theta[k])
            k += 1
    terms = [f"Z{i} Z{i + 1}" for i in range(n - 1)] + [f"X{i}" for i in range(n)]
    return c, " + ".join(terms)


def _demo(args: argparse.Namespace) -> None:
    circuit, ham = demo_circuit(args.qubits, args.layers)
    print(f"Variational demo: {circuit.num_qubits}-qubit hardware-efficient ansatz "
          f"({args.layers} layers of RZZ + RX, {circuit.num_params} parameters)")
    print(f"Observable: transverse-field Ising chain, {2 * args.qubits - 1} terms")
    t0 = time.perf_counter()
    program = compile(circuit, ham)
    print(f"compiled in {time.perf_counter() - t0:.3f} s\n")
    print(program.explain(), "\n")
    rng = np.random.default_rng(args.seed)
    for step in range(args.steps):
        params = rng.uniform(0, 2 * np.pi, circuit.num_params)
        t0 = time.perf_counter()
        energy = float(program(params))
        print(f"random parameters #{step}: energy = {energy:+.10f}   "
              f"({1e3 * (time.perf_counter() - t0):.1f} ms)")
    amp = complex(program.amplitude("0" * circuit.num_qubits, params))
    print(f"\namplitude <{'0' * circuit.num_qubits}|psi> = {amp:.6g}")
    shots = program.sample(5, params, seed=args.seed)
    print("5 samples:", " ".join("".join(map(str, row)) for row in shots))


def _run(args: argparse.Namespace) -> None:
    with open(args.file, encoding="utf-8") as fh:
        circuit = from_qasm(fh.read())
    print(f"{args.file}: {circuit.num_qubits} qubits, {len(circuit)} gates")
    program = compile(circuit, args.observable, max_memory=args.max_memory,
                      strategy=args.strategy, max_bond=args.max_bond)
    if args.observable:
        result = program.evaluate()
        print(f"<{args.observable}> = {float(result.value):.12g}")
        if result.fidelity is not None:
            print(f"MPS fidelity estimate: {result.fidelity:.10g}")
    for bits in args.amplitude or []:
        print(f"amplitude <{bits}|psi> = {complex(program.amplitude(bits)):.12g}")
    if args.samples:
        rows = program.sample(args.samples, seed=args.seed)
        keys, counts = np.unique(rows, axis=0, return_counts=True)
        for row, count in sorted(zip(keys, counts), key=lambda rc: -rc[1])[:20]:
            print(f"{''.join(map(str, row))}  {count}")
    if args.explain:
        print(program.explain())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tnq", description="tensor-network simulation of "
                                     "variational quantum circuits")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="evaluate a built-in variational circuit")
    d.add_argument("--qubits", type=int, default=12)
    d.add_argument("--layers", type=int, default=4)
    d.add_argument("--steps", type=int, default=3)
    d.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run", help="simulate an OpenQASM 2 file")
    r.add_argument("file")
    r.add_argument("--observable", help='Pauli sum, e.g. "Z0 Z1 + 0.5*X2"')
    r.add_argument("--amplitude", action="append", metavar="BITS",
                   help="bitstring, qubit 0 first (repeatable)")
    r.add_argument("--samples", type=int, metavar="N")
    r.add_argument("--seed", type=int, default=None)
    r.add_argument("--max-memory", type=int, default=None, help="bytes")
    r.add_argument("--strategy", default="auto", choices=STRATEGIES)
    r.add_argument("--max-bond", type=int, default=None,
                   help="MPS: the most singular values kept per split")
    r.add_argument("--explain", action="store_true", help="print the contraction plans")
    args = parser.parse_args(argv)
    try:
        (_demo if args.command == "demo" else _run)(args)
    except (TnqError, OSError) as exc:
        print(f"tnq: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
