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
