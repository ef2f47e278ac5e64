"""W7 real circuits (deep and narrow, from outside): tnq vs Qiskit Aer's statevector method.

Circuits: QASMBench's small and medium OpenQASM 2 benchmarks (read from a
QASMBench checkout or bare git directory given by --qasmbench or the
QASMBENCH environment variable; never copied here), plus deep circuits made
here with Qiskit and written as OpenQASM 2 with their multi-controlled gates
as gate definitions: Grover searches, repeated QFT (Draper) adders and
coined quantum walks on a cycle, 8 to 16 qubits and thousands of gates.

Per circuit, three one-shot tasks, each timed from the OpenQASM text to the
number: the state, one amplitude (of the most likely outcome) and one Pauli
expectation value. tnq: ``from_qasm``, ``compile`` (strategy "auto", a fresh
path cache: nothing is reused between runs) and the call. Aer:
``qasm2.loads``, final measurements removed, a save instruction,
``transpile`` (optimization level 1: level 2 elides final SWAPs into a
permuted layout, which changes the saved state) and ``run``. Values are
checked against each other to 1e-8 (the state and the amplitude up to one
global phase, which OpenQASM 2 does not carry). Times are medians of
--repeats runs after one warm-up run.

Run:  python benchmarks/w7_real.py --qasmbench /path/to/QASMBench [--max-qubits 27]
Ratios are Aer time / tnq time (above 1: tnq is faster).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from common import save

import tnq

SKIP = "reset", "if", "after it was measured", "is not defined"
"""QASMBench circuits tnq refuses (non-unitary: resets, conditionals,
mid-circuit measurements) or that neither reader accepts."""


# ------------------------------------------------------------------ circuits
def qasmbench(root: str, sizes: list[str]) -> dict[str, str | None]:
    """QASMBench's circuits as {name: OpenQASM text}, from a checkout or a git
    directory (None for a file the directory lists but does not hold)."""
    path = Path(root)
    if all((path / s).is_dir() for s in sizes):
        files = sorted(str(f.relative_to(path)) for s in sizes for f in (path / s).rglob("*.qasm"))

        def read(f: str) -> str | None:
            return (path / f).read_text()
    else:
        listing = subprocess.run(["git", "-C", root, "ls-tree", "-r", "--name-only", "HEAD"],
                                 capture_output=True, text=True, check=True).stdout.split()
        files = sorted(f for f in listing if f.split("/")[0] in sizes and f.endswith(".qasm"))

        def read(f: str) -> str | None:
            out = subprocess.run(["git", "-C", root, "show", f"HEAD:{f}"],
                                 capture_output=True, text=True)
            return out.stdout if out.returncode == 0 else None
    return {f"{f.split('/')[0]}/{Path(f).stem}": read(f) for f in files
            if "transpiled" not in f}


def grover(n: int, iterations: int | None = None) -> str:
    """Grover search for 1...1 with n-1-controlled X gates (as gate definitions)."""
    from qiskit import QuantumCircuit, qasm2
    from qiskit.circuit.library import MCXGate

    marked = "".join("1" if i % 3 else "0" for i in range(n))
    qc = QuantumCircuit(n)
    qc.h(range(n))
    flips = [i for i, b in enumerate(reversed(marked)) if b == "0"]
    for _ in range(iterations or int(math.pi / 4 * math.sqrt(2**n))):
        for reflect in (False, True):
            if reflect:
                qc.h(range(n))
                qc.x(range(n))
            elif flips:
                qc.x(flips)
            qc.h(n - 1)
            qc.append(MCXGate(n - 1), list(range(n)))
            qc.h(n - 1)
            if reflect:
                qc.x(range(n))
                qc.h(range(n))
            elif flips:
                qc.x(flips)
    return qasm2.dumps(qc)


def qft_adders(bits: int, repeats: int) -> str:
    """|a>|b> -> |a>|b + repeats*a>: Draper QFT adders one after another."""
    from qiskit import QuantumCircuit, qasm2, transpile
    from qiskit.circuit.library import DraperQFTAdder

    qc = QuantumCircuit(2 * bits)
    qc.h(range(bits))  # a in superposition, b = 0...01
    qc.x(bits)
    adder = transpile(DraperQFTAdder(bits, kind="fixed"), basis_gates=["h", "cp", "swap"],
                      optimization_level=0)
    for _ in range(repeats):
        qc.compose(adder, inplace=True)
    return qasm2.dumps(qc)


def quantum_walk(m: int, steps: int) -> str:
    """A coined walk on a cycle of 2^m sites: Hadamard coin, then increment or
    decrement of the position by multi-controlled X cascades."""
    from qiskit import QuantumCircuit, qasm2
    from qiskit.circuit.library import MCXGate

    n = m + 1
    coin, pos = 0, list(range(1, n))
    qc = QuantumCircuit(n)
    for _ in range(steps):
        qc.h(coin)
        for i in reversed(range(m)):  # increment when the coin is 1
            controls = [coin] + pos[:i]
            qc.append(MCXGate(len(controls)), controls + [pos[i]])
        qc.x(coin)
        for i in range(m):  # decrement when the coin is 0
            controls = [coin] + pos[:i]
            if i:
                qc.x(pos[:i])
            qc.append(MCXGate(len(controls)), controls + [pos[i]])
            if i:
                qc.x(pos[:i])
        qc.x(coin)
    return qasm2.dumps(qc)


def generated() -> dict[str, str]:
    return {"gen/grover_n8": grover(8), "gen/grover_n11": grover(11),
            "gen/grover_n14": grover(14, 8),
            "gen/qft_adders_n8": qft_adders(4, 60), "gen/qft_adders_n12": qft_adders(6, 40),
            "gen/qft_adders_n16": qft_adders(8, 30),
            "gen/walk_n8": quantum_walk(7, 20), "gen/walk_n12": quantum_walk(11, 10)}


# ------------------------------------------------------------------ the two simulators
def pauli(n: int) -> dict[int, str]:
    """The Pauli string measured: Z on the first qubit, X in the middle, Y on the last."""
    out = {0: "Z"}
    if n > 2:
        out[n // 2] = "X"
    if n > 1:
        out[n - 1] = "Y"
    return out


def tnq_tasks(text: str, bits: str, string: dict[int, str]):
    obs = " ".join(f"{p}{q}" for q, p in string.items())

    def state():
        return tnq.compile(tnq.from_qasm(text), cache=tnq.PathCache()).state()

    def amplitude():
        return complex(tnq.compile(tnq.from_qasm(text), cache=tnq.PathCache()).amplitude(bits))

    def expectation():
        return float(tnq.compile(tnq.from_qasm(text), obs, cache=tnq.PathCache())())

    return {"state": state, "amplitude": amplitude, "expectation": expectation}


def aer_tasks(text: str, bits: str, string: dict[int, str]):
    from qiskit import qasm2, transpile
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="statevector")

    def load():
        qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        qc.remove_final_measurements()
        return qc

    def run(qc):
        return sim.run(transpile(qc, sim, optimization_level=1)).result().data(0)

    def state():
        qc = load()
        n = qc.num_qubits
        qc.save_statevector()
        sv = np.asarray(run(qc)["statevector"])
        return sv.reshape((2,) * n).transpose(range(n - 1, -1, -1)).reshape(-1)

    def amplitude():
        qc = load()
        qc.save_amplitudes([int(bits[::-1], 2)])
        return complex(run(qc)["amplitudes"][0])

    def expectation():
        qc = load()
        op = SparsePauliOp.from_sparse_list(
            [("".join(string.values()), list(string), 1.0)], qc.num_qubits)
        qc.save_expectation_value(op, list(range(qc.num_qubits)))
        return float(np.real(run(qc)["expectation_value"]))

    return {"state": state, "amplitude": amplitude, "expectation": expectation}


def timed_median(fn, repeats: int):
    value = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def check(task: str, mine, theirs, phase: complex | None) -> complex | None:
    """Compare; return the global phase (theirs * phase = mine) found on the state."""
    if task == "state":
        k = int(np.argmax(np.abs(theirs)))
        phase = mine[k] / theirs[k]
        assert np.abs(mine - phase * theirs).max() < 1e-8, "states differ"
    elif task == "amplitude":
        assert abs(mine - (phase or 1) * theirs) < 1e-8, f"amplitudes {mine} vs {theirs}"
    else:
        assert abs(mine - theirs) < 1e-8, f"expectations {mine} vs {theirs}"
    return phase


def run_circuit(name: str, text: str, repeats: int) -> dict:
    circuit = tnq.from_qasm(text)
    n = circuit.num_qubits
    string = pauli(n)
    psi = tnq.compile(circuit).state()
    bits = format(int(np.argmax(np.abs(psi))), f"0{n}b")
    mine, theirs = tnq_tasks(text, bits, string), aer_tasks(text, bits, string)
    row: dict = {"circuit": name, "n": n, "gates": len(circuit.ops),
                 "strategy": tnq.compile(circuit, "Z0").strategy}
    phase = None
    for task in ("state", "amplitude", "expectation"):
        t_mine, v_mine = timed_median(mine[task], repeats)
        t_aer, v_aer = timed_median(theirs[task], repeats)
        phase = check(task, v_mine, v_aer, phase)
        row[task] = {"tnq_s": t_mine, "aer_s": t_aer}
    row["tnq_s"] = sum(row[t]["tnq_s"] for t in ("state", "amplitude", "expectation"))
    row["aer_s"] = sum(row[t]["aer_s"] for t in ("state", "amplitude", "expectation"))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qasmbench", default=os.environ.get("QASMBENCH"),
                        help="QASMBench checkout or git directory (or $QASMBENCH)")
    parser.add_argument("--sizes", nargs="+", default=["small", "medium"])
    parser.add_argument("--max-qubits", type=int, default=27)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="circuit names containing these words")
    parser.add_argument("--no-generated", action="store_true")
    args = parser.parse_args()
    texts: dict[str, str | None] = {} if args.no_generated else dict(generated())
    if args.qasmbench:
        texts.update(qasmbench(args.qasmbench, args.sizes))
    else:
        print("no QASMBench directory given (--qasmbench or $QASMBENCH): generated circuits only")
    rows, skipped = [], []
    for name, text in sorted(texts.items()):
        if args.only and not any(word in name for word in args.only):
            continue
        if text is None:
            skipped.append(f"{name} (not in the directory)")
            continue
        try:
            circuit = tnq.from_qasm(text)
        except tnq.QasmError as err:
            if any(word in str(err) for word in SKIP):
                skipped.append(f"{name} ({str(err).split(': ', 1)[-1][:60]})")
                continue
            raise
        if not 0 < circuit.num_qubits <= args.max_qubits:
            skipped.append(f"{name} ({circuit.num_qubits} qubits)")
            continue
        row = run_circuit(name, text, args.repeats)
        rows.append(row)
        print(f"{name:<32} n={row['n']:>2} gates={row['gates']:>6} {row['strategy']:<11} "
              + "  ".join(f"{t[:3]} {row[t]['tnq_s']:7.3f}/{row[t]['aer_s']:7.3f}"
                          for t in ("state", "amplitude", "expectation"))
              + f"  total {row['tnq_s']:7.3f} s / Aer {row['aer_s']:7.3f} s "
                f"({row['aer_s'] / row['tnq_s']:.2f}x)", flush=True)
    total_tnq, total_aer = sum(r["tnq_s"] for r in rows), sum(r["aer_s"] for r in rows)
    worst = max(rows, key=lambda r: r["tnq_s"])
    print(f"W7: {len(rows)} circuits, tnq {total_tnq:.2f} s, Aer {total_aer:.2f} s, ratio "
          f"{total_aer / total_tnq:.2f}x; slowest for tnq: {worst['circuit']} "
          f"{worst['tnq_s']:.2f} s")
    if skipped:
        print("skipped:", "; ".join(skipped))
    print("saved", save("w7_real", rows + [{"total_tnq_s": total_tnq, "total_aer_s": total_aer,
                                            "skipped": skipped}]))


if __name__ == "__main__":
    main()
