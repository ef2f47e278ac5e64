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
    """(first-call seconds, median of ``repeats`` later calls, last value);
    with ``repeats=0`` the first call's time stands for both."""
    t0 = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t0
    if repeats == 0:
        return first, first, value
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), value


def timed_within(fn, seconds: float | None, repeats: int = 0):
    """:func:`timed` in a forked process that is stopped after ``seconds``;
    None when it did not finish (for peers that may run for hours)."""
    if seconds is None:
        return timed(fn, repeats)
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=lambda: queue.put(timed(fn, repeats)))
    proc.start()
    proc.join(seconds)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return queue.get()


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


# ----------------------------------------------------------------- wide workloads
# A gate list is [(name, qubits, parameter index or None)]; terms are
# [(coefficient, {qubit: "X" | "Y" | "Z"})] plus a constant.


def w2_gates(n: int, depth: int = 4):
    """W2 brickwork: per layer RY on every qubit, RZZ on even bonds, RZZ on odd bonds."""
    gates, k = [], 0
    for _ in range(depth):
        for q in range(n):
            gates.append(("ry", (q,), k))
            k += 1
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                gates.append(("rzz", (q, q + 1), k))
                k += 1
    return gates, k


def chain_terms(n: int):
    """ZZ on neighbours plus X on every qubit (the W1 observable)."""
    return [(1.0, {i: "Z", i + 1: "Z"}) for i in range(n - 1)] + \
        [(1.0, {i: "X"}) for i in range(n)]


def w3_graph(n: int):
    """The W3 graph: networkx.random_regular_graph(3, n, seed=0), edges sorted."""
    import networkx as nx

    g = nx.random_regular_graph(3, n, seed=0)
    return sorted(tuple(sorted(e)) for e in g.edges())


def w3_gates(n: int, p: int, edges):
    """QAOA: H on all; per round RZZ(gamma_k) on every edge, RX(beta_k) on all."""
    gates = [("h", (q,), None) for q in range(n)]
    for k in range(p):
        gates += [("rzz", e, 2 * k) for e in edges]
        gates += [("rx", (q,), 2 * k + 1) for q in range(n)]
    return gates, 2 * p


def cut_terms(edges):
    """MaxCut: sum over edges of (1 - Z_u Z_v) / 2, as terms and a constant."""
    return [(-0.5, {u: "Z", v: "Z"}) for u, v in edges], 0.5 * len(edges)


def tnq_problem(n: int, gates, num_params: int, terms, constant: float = 0.0):
    """The tnq circuit (symbolic parameters) and observable for a gate list."""
    import tnq

    theta = tnq.parameters(num_params)
    c = tnq.Circuit(n)
    for name, qs, k in gates:
        args = () if k is None else (theta[k],)
        getattr(c, name)(*qs, *args)
    obs = sum((coeff * tnq.PauliString(tuple(p.items())) for coeff, p in terms),
              tnq.Observable()) + constant
    return c, obs


def quimb_local_energy(n: int, gates, params, terms, constant: float = 0.0):
    """quimb: build the circuit for these numbers, then one ``local_expectation``
    per term (lightcone cancellation and 'ADCRS' simplification, its defaults),
    with opt_einsum's 'auto-hq' paths (its default). A cotengra
    ReusableHyperOptimizer was tried too: its first call took minutes of search
    even at 12 qubits, and later calls at 100 qubits were no faster."""
    import quimb as qu
    import quimb.tensor as qtn

    opt = "auto-hq"
    ops = {p: qu.pauli(p) for p in "XYZ"}

    def call():
        circ = qtn.Circuit(n)
        for name, qs, k in gates:
            if k is None:
                circ.apply_gate(name.upper(), *qs)
            else:
                circ.apply_gate(name.upper(), params[k], *qs)
        total = constant
        for coeff, p in terms:
            where = tuple(sorted(p))
            G = ops[p[where[0]]]
            for q in where[1:]:
                G = np.kron(G, ops[p[q]])
            total += coeff * np.real(circ.local_expectation(G, where, optimize=opt))
        return float(total)

    return call


def aer_mps_energy(n: int, gates, params, terms, constant: float = 0.0):
    """Qiskit Aer's matrix_product_state method: build, run, expectation value."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="matrix_product_state")
    op = SparsePauliOp.from_sparse_list(
        [("".join(p[q] for q in sorted(p)), sorted(p), c) for c, p in terms], num_qubits=n)

    def call():
        qc = QuantumCircuit(n)
        for name, qs, k in gates:
            if k is None:
                getattr(qc, name)(*qs)
            else:
                getattr(qc, name)(params[k], *qs)
        qc.save_expectation_value(op, list(range(n)))
        result = sim.run(qc).result()
        return float(np.real(result.data(0)["expectation_value"])) + constant

    return call


def matmul_rate() -> float:
    """This machine's dense complex128 matmul rate, in complex multiply-adds per second."""
    a = np.random.default_rng(0).normal(size=(1024, 1024)) * (1 + 1j)
    a @ a
    t0 = time.perf_counter()
    for _ in range(3):
        a @ a
    return 3 * 1024**3 / (time.perf_counter() - t0)
