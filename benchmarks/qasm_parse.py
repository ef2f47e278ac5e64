"""OpenQASM 2 parsing: tnq.from_qasm against qiskit.qasm2.loads, side by side.

Workloads, generated in memory with a fixed seed (16 qubits):

- ``gate_calls``: 100k calls of a user gate
  ``gate lay(t) a,b {rx(t) a; ry(2*t) b; cx a,b; rz(t/2) b;}`` with varying
  angles and qubit pairs (tnq expands them into 400k operations; Qiskit keeps
  100k custom instructions).
- ``arith_angles``: 400k flat operations with arithmetic angles
  (``ry(2*0.123) q[1];``, ``rz(0.1/2) q[3];``, ``rx(pi/4) q[0];``,
  ``u3(pi/2,0,-pi) q[2];``).
- ``plain_numbers``: 400k flat operations with plain numeric angles.
- ``doubling``: ``gate g1 a { h a; h a; }``, ``gate g2 a { g1 a; g1 a; }`` ...
  22 levels and one call: 2^22 gate applications from a 0.6 kB file. Qiskit
  keeps one instruction with a nested definition, so its time is shown but
  not compared; tnq's time and peak memory (resident set of a fresh process,
  parse only) are the point.

Each parser runs once to warm up, then ``--repeats`` times; best and median
are printed with the ratio Qiskit / tnq (above 1: tnq is faster).

Run:  python benchmarks/qasm_parse.py [--repeats 3] [--skip-memory]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

import tnq

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[16];\n'
NUM_QUBITS = 16


def _angle(rng: random.Random) -> str:
    return f"{rng.uniform(0.0, 6.3):.6f}"


def _pair(rng: random.Random) -> tuple[int, int]:
    a, b = rng.sample(range(NUM_QUBITS), 2)
    return a, b


def gate_calls(calls: int = 100_000) -> str:
    rng = random.Random(1)
    lines = [HEADER, "gate lay(t) a,b {rx(t) a; ry(2*t) b; cx a,b; rz(t/2) b;}\n"]
    for _ in range(calls):
        a, b = _pair(rng)
        lines.append(f"lay({_angle(rng)}) q[{a}],q[{b}];\n")
    return "".join(lines)


def arith_angles(groups: int = 100_000) -> str:
    rng = random.Random(2)
    lines = [HEADER]
    for k in range(groups):
        a, b = _pair(rng)
        t = _angle(rng)
        if k % 2:
            lines.append(f"rx(pi/4) q[{a}];\nu3(pi/2,0,-pi) q[{b}];\n"
                         f"ry(2*{t}) q[{a}];\nrz({t}/2) q[{b}];\n")
        else:
            lines.append(f"rx({t}) q[{a}];\nry(2*{t}) q[{b}];\ncx q[{a}],q[{b}];\n"
                         f"rz({t}/2) q[{b}];\n")
    return "".join(lines)


def plain_numbers(groups: int = 100_000) -> str:
    rng = random.Random(3)
    lines = [HEADER]
    for _ in range(groups):
        a, b = _pair(rng)
        lines.append(f"rx({_angle(rng)}) q[{a}];\nry({_angle(rng)}) q[{b}];\n"
                     f"cx q[{a}],q[{b}];\nu3({_angle(rng)},{_angle(rng)},{_angle(rng)}) "
                     f"q[{b}];\n")
    return "".join(lines)


def doubling(levels: int = 22) -> str:
    lines = ['OPENQASM 2.0; include "qelib1.inc";\n', "gate g1 a { h a; h a; }\n"]
    for k in range(2, levels + 1):
        lines.append(f"gate g{k} a {{ g{k - 1} a; g{k - 1} a; }}\n")
    lines.append(f"qreg q[1];\ng{levels} q[0];\n")
    return "".join(lines)


WORKLOADS = {"gate_calls": gate_calls, "arith_angles": arith_angles,
             "plain_numbers": plain_numbers, "doubling": doubling}


def _times(fn, text: str, repeats: int) -> tuple[float, float]:
    fn(text)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


_MEMORY_CHILD = """
import sys
sys.path.insert(0, {bench!r})
import tnq
from qasm_parse import doubling, peak_mib
text = doubling({levels})
before = peak_mib()
c = tnq.from_qasm(text)
print(len(c.ops), peak_mib() - before)
"""


def peak_mib() -> float:
    """This process's peak resident set in MiB (Linux: VmHWM, which starts afresh at exec,
    unlike ru_maxrss)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def doubling_memory(levels: int) -> tuple[int, float]:
    """(operations, peak resident-set growth in MiB) of one from_qasm call in a fresh
    process."""
    import os

    code = _MEMORY_CHILD.format(bench=os.path.dirname(os.path.abspath(__file__)),
                                levels=levels)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    try:
        import qiskit.qasm2 as qasm2
    except ImportError:
        qasm2 = None
    print(f"{'workload':<14} {'ops':>9} {'tnq best':>9} {'median':>8} {'qiskit best':>12} "
          f"{'median':>8} {'qiskit/tnq':>10}")
    for name in args.workloads:
        text = WORKLOADS[name]()
        ops = len(tnq.from_qasm(text).ops)
        best, median = _times(tnq.from_qasm, text, args.repeats)
        row = f"{name:<14} {ops:>9,} {best:>8.3f}s {median:>7.3f}s"
        if qasm2 is not None:
            qbest, qmedian = _times(qasm2.loads, text, args.repeats)
            ratio = "(no expansion)" if name == "doubling" else f"{qbest / best:>9.2f}x"
            row += f" {qbest:>11.3f}s {qmedian:>7.3f}s {ratio:>10}"
        print(row, flush=True)
    if "doubling" in args.workloads and not args.skip_memory:
        ops, mib = doubling_memory(22)
        print(f"doubling, fresh process: {ops:,} operations, peak memory +{mib:.0f} MiB "
              "(parse and Circuit)")


if __name__ == "__main__":
    main()
