"""Shared pieces of the benchmarks: workload definitions and timing."""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def w1_params(n: int, layers: int) -> np.ndarray:
    """W1 parameters: default_rng(1234).uniform(0, 2*pi, P), P = L*(2n-1)."""
    return np.random.default_rng(1234).uniform(0, 2 * np.pi, layers * (2 * n - 1))


def w1_gates(n: int, layers: int):
    """W1 gate list in parameter order: ("h", q, None), ("rzz", (i, i+1), k), ("rx", q, k)."""
    gates, k = [("h", q, None) for q in range(n)], 0
    for _ in range(layers):
        for i in range(n - 1):
            gates.append(("rzz", (i, i + 1), k))
            k += 1
        for q in range(n):
            gates.append(("rx", q, k))
            k += 1
    return gates


def timed(fn, repeats: int = 5) -> tuple[float, float, object]:
    """(first-call seconds, median of ``repeats`` later calls, last value)."""
    t0 = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), value


def save(name: str, rows: list[dict]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    meta = {"machine": platform.machine(), "python": platform.python_version(),
            "processor": platform.processor()}
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return path


def w1_tnq(n: int, layers: int):
    """The W1 circuit (symbolic parameters) and TFIM observable as tnq objects."""
    import tnq

    theta = tnq.parameters(layers * (2 * n - 1))
    c = tnq.Circuit(n)
    for name, q, k in w1_gates(n, layers):
        if name == "h":
            c.h(q)
        elif name == "rzz":
            c.rzz(*q, theta[k])
        else:
            c.rx(q, theta[k])
    ham = " + ".join([f"Z{i} Z{i + 1}" for i in range(n - 1)] + [f"X{i}" for i in range(n)])
    return c, ham


def pennylane_w1(n: int, layers: int, qml, wires=None):
    """A PennyLane quantum function and Hamiltonian for W1."""
    ham = qml.Hamiltonian([1.0] * (2 * n - 1),
                          [qml.Z(i) @ qml.Z(i + 1) for i in range(n - 1)]
                          + [qml.X(i) for i in range(n)])

    def circuit(w):
        for name, q, k in w1_gates(n, layers):
            if name == "h":
                qml.Hadamard(q)
            elif name == "rzz":
                qml.IsingZZ(w[k], wires=list(q))
            else:
                qml.RX(w[k], wires=q)
        return qml.expval(ham)

    return circuit


def tc_w1_energy(n: int, layers: int):
    """TensorCircuit-NG W1 energy as a jax function of the parameters."""
    import jax
    import jax.numpy as jnp
    import tensorcircuit as tc

    jax.config.update("jax_enable_x64", True)
    tc.set_backend("jax")
    tc.set_dtype("complex128")

    def energy(p):
        c = tc.Circuit(n)
        for name, q, k in w1_gates(n, layers):
            if name == "h":
                c.h(q)
            elif name == "rzz":
                c.rzz(*q, theta=p[k])
            else:
                c.rx(q, theta=p[k])
        e = sum(c.expectation_ps(z=[i, i + 1]) for i in range(n - 1))
        e = e + sum(c.expectation_ps(x=[i]) for i in range(n))
        return jnp.real(e)

    return energy


def report(title: str, row: dict, names: list[str], base: str) -> None:
    """Print one workload row: per-call and first-call times, ratios to ``base``."""
    print(title)
    for name in names:
        r = row[name]
        extra = f"  ratio {r['call_s'] / row[base]['call_s']:.2f}x" if name != base else ""
        print(f"  {name:<22} call {1e3 * r['call_s']:10.2f} ms   first "
              f"{r['first_s']:7.2f} s{extra}")
