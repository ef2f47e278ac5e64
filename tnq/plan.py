"""Contraction plans: paths, costs, the memory guard and the path cache.

A :class:`Plan` is found once per network structure and then called many
times. Paths come from seeded searches (:mod:`tnq.pathsearch`: opt_einsum for
small networks, cotengra's random greedy for large ones; the same network
gets the same path in every process), are kept in a :class:`PathCache`
(:mod:`tnq.pathstore`: in memory, optionally on disk), and are executed by
cotengra's contractor, which dispatches through autoray to the arrays' own
backend.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import autoray
import cotengra as ctg
import opt_einsum as oe
import psutil
from cotengra.contract import einsum as ctg_einsum
from cotengra.contract import tensordot as ctg_tensordot

from .checks import show, size_text
from .compile.network import Network
from .errors import CompileError, MemoryLimitError
from .pathsearch import OPT_EINSUM, SMALL, search, settings
from .pathstore import FROM_ENV, PathCache

__all__ = ["Plan", "PathCache", "make_plan", "default_max_memory", "format_bytes", "pow2",
           "as_float"]

MAX_SLICES = 2**16
"""The most slices a plan may be cut into (each slice costs a Python-level step)."""
SOURCES = ("searched", "memory", "disk")
"""Where a plan's path came from, as :attr:`Plan.source` says."""
NAMESPACES_SHARED = autoray.get_namespace("numpy") is autoray.get_namespace("builtins")
"""True with autoray before 0.10 (PennyLane pins 0.8): it keys its namespaces by
the type of ``like``, so every backend named by a string gets the namespace
asked for first, and cotengra's contractor names backends by string. There,
a plan names the backend by one of the arrays and picks the functions itself
(see :func:`dispatch`)."""


def default_max_memory() -> int:
    """The default ``max_memory``: half of the memory this process may use, in bytes.

    That is half the smallest of: the memory available now
    (``psutil.virtual_memory().available``), the address space left under the
    process's limit (``RLIMIT_AS``, less what it maps already) and the room
    left under a cgroup (container) memory limit. Limits that are unset,
    unreadable or absurdly large are ignored. Pass ``max_memory=`` to
    :func:`tnq.compile` to allow more (or less).

    Examples
    --------
    >>> 0 < default_max_memory() < psutil.virtual_memory().total
    True
    """
    limits = [psutil.virtual_memory().available]
    limits += [x for x in (_address_space_left(), _cgroup_left()) if x is not None]
    return max(min(limits) // 2, 1)


UNLIMITED = 2**60
"""Limits at or above this many bytes are taken for "no limit"."""
CGROUP_FILES = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                 "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
"""cgroup v2, then v1: the memory limit and the current usage."""


def _address_space_left() -> int | None:
    """Bytes the process may still map under ``RLIMIT_AS`` (None: no limit)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY or soft <= 0 or soft >= UNLIMITED:
            return None
        return max(soft - psutil.Process().memory_info().vms, 0)
    except (ImportError, OSError, ValueError, psutil.Error):  # pragma: no cover - non-POSIX
        return None


def _cgroup_left() -> int | None:
    """Bytes left under the cgroup memory limit (None: no limit set or readable)."""
    for limit_file, usage_file in CGROUP_FILES:
        limit = _read_int(limit_file)
        if limit is None or limit <= 0 or limit >= UNLIMITED:
            continue
        usage = _read_int(usage_file) or 0
        return max(limit - usage, 0)
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):  # missing, unreadable, or "max"
        return None


def format_bytes(n: float) -> str:
    """Bytes as readable text, any size (``"1.5 GiB"``, ``"2^5004 B"``)."""
    return size_text(n)


def pow2(exponent: float) -> float:
    """``2.0 ** exponent``, or ``math.inf`` where that is beyond floats (cost
    estimates of very wide circuits)."""
    return 2.0**exponent if exponent < 1024 else math.inf


def as_float(count: int) -> float:
    """A (possibly huge) Python integer as a float, ``math.inf`` when too large."""
    return float(count) if count.bit_length() <= 1023 else math.inf


PATHS = PathCache(directory=FROM_ENV)
"""The default path cache, shared by Programs: bounded, in memory, and also in
the directory ``$TNQ_PATH_CACHE`` names when that is set."""


@dataclass(frozen=True, eq=False)
class Plan:
    """A fixed contraction: path, costs, and a reusable contractor.

    Attributes
    ----------
    name : str
        What it computes (``"state"``, ``"amplitude"``, ...).
    flops : float
        Scalar multiply-adds of the path (cotengra's contraction cost).
    peak : int
        Elements of the largest tensor it creates.
    search_time : float
        Seconds spent finding the path (0 when it came from the cache).
    source : {"searched", "memory", "disk"}
        Where the path came from: a search in this compile, the path cache in
        memory, or the cache's directory (see :class:`PathCache`).
    """

    name: str
    network: Network
    batch: int
    path: tuple
    flops: float
    peak: int
    search_time: float
    optimizer: str
    _contract: Any = field(repr=False)
    slices: int = 1
    """How many slices the contraction is cut into to fit ``max_memory``."""
    source: str = "searched"

    def __call__(self, *arrays):
        if NAMESPACES_SHARED:
            return self._contract(*arrays, **dispatch(arrays))
        return self._contract(*arrays)

    def row(self, itemsize: int) -> str:
        sliced = f", {self.slices} slices" if self.slices > 1 else ""
        return (f"{self.name:<22} {self.network.num_tensors:>7} {self.flops:>10.3g} "
                f"{format_bytes(self.peak * itemsize):>11} {self.search_time:>8.3f}s "
                f"{self.source:<8} {self.optimizer}{sliced}")


def _optimizer_key(optimize) -> str:
    return optimize if isinstance(optimize, str) else type(optimize).__name__


def check_optimize(optimize) -> None:
    """Raise :class:`~tnq.CompileError` for an ``optimize`` tnq cannot use."""
    if isinstance(optimize, str):
        if optimize not in OPT_EINSUM | {"auto", "cotengra"}:
            raise CompileError(
                f"optimize={optimize!r} is not known; expected 'auto', 'cotengra', one of "
                f"opt_einsum's {sorted(OPT_EINSUM)}, or a cotengra optimizer object")
    elif not hasattr(optimize, "search") and not callable(optimize):
        raise CompileError(f"optimize={optimize!r} is neither a name nor a path optimizer")


def _search(network: Network, sizes: dict[int, int], optimize, progress: bool = False) -> tuple:
    """A seeded path search (see :mod:`tnq.pathsearch`)."""
    return search(network.inputs, network.output, sizes, optimize, progress=progress)


def _find_path(network: Network, sizes: dict[int, int], optimize, cache: PathCache,
               progress: bool) -> tuple[tuple, str]:
    """The path for ``network`` under ``optimize`` and where it came from: the
    cache (memory, disk) or a search, whose path the cache then keeps. Paths
    of a user's optimizer object stay in memory (its settings are unknown)."""
    how = settings(optimize, network.num_tensors)
    key = (network.inputs, network.output, tuple(sorted(sizes.items())),
           how if how is not None else _optimizer_key(optimize))
    hit = cache.find(key, network.num_tensors, disk=how is not None)
    if hit is not None:
        return hit
    path = _search(network, sizes, optimize, progress)
    cache.keep(key, path, disk=how is not None)
    return path, "searched"


def make_plan(network: Network, *, name: str, optimize="auto", batch: int = 1,
              max_memory: int, itemsize: int, cache: PathCache | None = None,
              progress: bool = True) -> Plan:
    """Plan ``network``: check memory, find (or reuse) a path, and measure it.

    Raises :class:`~tnq.MemoryLimitError` before any contraction when the output
    or the largest intermediate would exceed ``max_memory`` bytes. The path
    comes from ``cache`` (default: :data:`PATHS`) or a seeded search, which
    shows a progress bar when it is expected to take more than a few seconds
    and ``progress`` is true. When the path's largest tensor is over
    ``max_memory``, a second search minimizes that size (then the plan is
    sliced if still needed).

    Examples
    --------
    >>> from tnq.compile import state_network
    >>> from tnq.circuit import Circuit
    >>> c = Circuit(2).h(0).cx(0, 1)
    >>> cache = PathCache()
    >>> first = make_plan(state_network(c.ops, 2), name="state", max_memory=2**20,
    ...                   itemsize=16, cache=cache)
    >>> again = make_plan(state_network(c.ops, 2), name="state", max_memory=2**20,
    ...                   itemsize=16, cache=cache)
    >>> first.source, again.source, again.search_time, again.path == first.path
    ('searched', 'memory', 0.0, True)
    """
    sizes = network.size_dict(batch)
    out_size = math.prod(sizes[i] for i in network.output)
    _guard(name, out_size, itemsize, max_memory, "its output")
    if cache is not None and not isinstance(cache, PathCache):
        raise CompileError(f"cache must be a tnq.PathCache or None, got {show(cache)}")
    cache = PATHS if cache is None else cache
    t0 = time.perf_counter()
    path, source = _find_path(network, sizes, optimize, cache, progress)
    flops, peak = _costs(network, sizes, path)
    if peak * itemsize > max_memory and network.num_tensors > SMALL:
        small, again = _find_path(network, sizes, "min-size", cache, progress)
        small_flops, small_peak = _costs(network, sizes, small)  # trade FLOPs for memory
        if small_peak <= peak:
            path, flops, peak = small, small_flops, small_peak
        source = min(source, again, key=SOURCES.index)  # any search makes it "searched"
    search_time = time.perf_counter() - t0 if source == "searched" else 0.0
    if peak * itemsize > max_memory and network.num_tensors > 1:
        return _sliced(network, sizes, path, name=name, batch=batch, max_memory=max_memory,
                       itemsize=itemsize, search_time=search_time,
                       optimizer=_optimizer_key(optimize), source=source)
    contract = ctg.array_contract_expression(network.inputs, network.output, sizes,
                                             optimize=list(path))
    return Plan(name, network, batch, path, flops, peak, search_time,
                _optimizer_key(optimize), contract, source=source)


def _sliced(network: Network, sizes: dict[int, int], path, *, name: str, batch: int,
            max_memory: int, itemsize: int, search_time: float, optimizer: str,
            source: str) -> Plan:
    """A plan that sums (or stacks) slices of the contraction, each within
    ``max_memory``; a :class:`~tnq.MemoryLimitError` when slicing cannot get there."""
    sym = {i: oe.get_symbol(k) for k, i in enumerate(sizes)}  # the tree wants text labels
    tree = ctg.ContractionTree.from_path([[sym[i] for i in t] for t in network.inputs],
                                         [sym[i] for i in network.output],
                                         {sym[i]: d for i, d in sizes.items()}, path=path)
    target = max(max_memory // itemsize, 1)
    try:
        tree = tree.slice(target_size=target, seed=0)
    except (RuntimeError, ValueError):  # pragma: no cover - cotengra could not slice
        pass
    peak = max(int(tree.max_size()), math.prod(sizes[i] for i in network.output))
    _guard(name, peak, itemsize, max_memory, "its largest intermediate, even when sliced")
    if tree.nslices > MAX_SLICES:
        raise MemoryLimitError(
            f"contracting '{name}' within max_memory={format_bytes(max_memory)} needs "
            f"{tree.nslices} slices, over the limit of {MAX_SLICES}; pass a larger max_memory "
            "or reduce the network (fewer qubits per term, a shallower circuit)")

    return Plan(name, network, batch, path, float(tree.total_flops()), peak, search_time,
                optimizer, _SlicedContract(tree), slices=int(tree.nslices), source=source)


class _SlicedContract:
    """Contracts a sliced tree (a class, not a closure, so that plans pickle)."""

    def __init__(self, tree):
        self.tree = tree

    def __call__(self, *arrays, **how):
        return self.tree.contract(arrays, autojit=False, **how)


def dispatch(arrays) -> dict:
    """cotengra contractor options that name the backend of ``arrays`` by one of
    them (so that autoray keys the namespace by its type) and give the pairwise
    functions cotengra would pick: its own for numpy, the backend's otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> how = dispatch([np.ones(2), 1.0])
    >>> type(how["backend"]).__name__, how["implementation"][0].__module__
    ('ndarray', 'cotengra.contract')
    """
    backend = autoray.infer_backend_multi(*arrays)
    like = next(a for a in arrays if autoray.infer_backend(a) == backend)
    if backend == "numpy":
        functions = (ctg_einsum, ctg_tensordot)
    else:
        functions = (autoray.get_lib_fn(backend, "einsum"),
                     autoray.get_lib_fn(backend, "tensordot"))
    return {"backend": like, "implementation": functions}


def _costs(network: Network, sizes: dict[int, int], path) -> tuple[float, int]:
    """FLOPs and the largest tensor (elements, the output included) of ``path``."""
    out_size = math.prod(sizes[i] for i in network.output)
    if network.num_tensors < 2:
        return 0.0, out_size
    tree = ctg.ContractionTree.from_path(network.inputs, network.output, sizes, path=path)
    return float(tree.contraction_cost()), max(int(tree.max_size()), out_size)


def _guard(name: str, elements: int, itemsize: int, max_memory: int, what: str) -> None:
    need = elements * itemsize
    if need > max_memory:
        raise MemoryLimitError(
            f"contracting '{name}' needs {format_bytes(need)} for {what} "
            f"(2^{math.log2(max(elements, 1)):.1f} elements of {itemsize} bytes), over "
            f"max_memory={format_bytes(max_memory)}. Alternatives: pass a larger max_memory= "
            "to tnq.compile (the default is half the memory this process may use); ask for "
            "amplitudes, marginals or samples instead of the full state; or use fewer qubits "
            "per output")
