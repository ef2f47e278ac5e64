"""Contraction paths: seeded searches (the same paths in every process) and the
path cache on disk (persistence, corrupted entries, concurrent writers)."""

import json
import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tnq
from tnq.cli import demo_circuit
from tnq.compile import amplitude_network, state_network
from tnq.pathsearch import search
from tnq.pathstore import ENV, FROM_ENV, PathCacheWarning, default_directory, valid_path
from tnq.plan import PATHS, PathCache, make_plan

LIMIT = 2**30
# (circuit size, optimize, network): the W1 state network (280 tensors, a real
# random-greedy search), a cotengra search and opt_einsum's names, seeded.
CASES = [((16, 8), "auto", "state"), ((12, 4), "cotengra", "amplitude"),
         ((8, 2), "auto", "amplitude"), ((12, 4), "random-greedy", "amplitude"),
         ((8, 3), "auto-hq", "amplitude")]
SCRIPT = """
import json, sys
from tnq.cli import demo_circuit
from tnq.compile import amplitude_network, state_network
from tnq.plan import PathCache, make_plan
cases, directory = json.loads(sys.argv[1]), sys.argv[2] or None
cache = PathCache(directory=directory)
out = []
for (n, layers), optimize, kind in cases:
    c, _ = demo_circuit(n, layers)
    net = (state_network if kind == "state" else amplitude_network)(c.ops, n)
    p = make_plan(net, name=kind, optimize=optimize, max_memory=2**30, itemsize=16,
                  cache=cache, progress=False)
    out.append({"path": p.path, "flops": p.flops, "peak": p.peak, "source": p.source,
                "search_time": p.search_time})
print(json.dumps(out))
"""


def start(directory="", seed="0", cases=CASES):
    """A fresh process compiling ``cases`` (Python's string hashing seeded by ``seed``)."""
    env = {**os.environ, "PYTHONHASHSEED": seed}
    env.pop(ENV, None)
    return subprocess.Popen([sys.executable, "-c", SCRIPT, json.dumps(cases), str(directory)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def result(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


def plan(network, cache, optimize="auto"):
    return make_plan(network, name="t", optimize=optimize, max_memory=LIMIT, itemsize=16,
                     cache=cache, progress=False)


def network(n=8, layers=2):
    c, _ = demo_circuit(n, layers)
    return amplitude_network(c.ops, n)


def entries(directory):
    return sorted(p for p in directory.iterdir() if p.suffix == ".json")


# ---------------------------------------------------------- determinism, persistence
def test_paths_are_the_same_in_every_process_and_come_back_from_disk(tmp_path):
    one, two, writer = start(seed="1"), start(seed="2"), start(tmp_path, seed="3")
    one, two, written = result(one), result(two), result(writer)
    assert one == [{**r, "search_time": one[i]["search_time"]} for i, r in enumerate(two)]
    assert [r["source"] for r in one + written] == ["searched"] * 2 * len(CASES)
    assert [(r["path"], r["flops"]) for r in written] == [(r["path"], r["flops"]) for r in one]
    assert len(entries(tmp_path)) == len(CASES)
    read = result(start(tmp_path, seed="4"))  # a second process does no path search
    assert [r["source"] for r in read] == ["disk"] * len(CASES)
    assert all(r["search_time"] == 0 for r in read)
    assert [(r["path"], r["flops"], r["peak"]) for r in read] == \
        [(r["path"], r["flops"], r["peak"]) for r in one]


def test_searches_leave_global_random_generators_alone():
    before, np_before = random.getstate(), np.random.get_state()[1].copy()
    for optimize in ("auto", "cotengra", "random-greedy", "auto-hq", "min-size"):
        plan(network(10, 3), PathCache(), optimize)
    assert random.getstate() == before and (np.random.get_state()[1] == np_before).all()


def test_same_search_twice_in_one_process_gives_the_same_path():
    net = network(10, 3)
    for optimize in ("auto", "cotengra", "random-greedy-128", "greedy"):
        assert plan(net, PathCache(), optimize).path == plan(net, PathCache(), optimize).path


# ---------------------------------------------------------------- the cache on disk
def test_memory_sits_in_front_of_the_disk(tmp_path):
    cache = PathCache(directory=tmp_path)
    first, again = plan(network(), cache), plan(network(), cache)
    other = plan(network(), PathCache(directory=tmp_path))
    assert (first.source, again.source, other.source) == ("searched", "memory", "disk")
    assert again.search_time == other.search_time == 0
    assert first.path == again.path == other.path and first.flops == other.flops


def _truncate(text):
    return text[: len(text) // 2]


def _path(steps):
    return lambda text: json.dumps({**json.loads(text), "path": steps})


def _field(name, value):
    return lambda text: json.dumps({**json.loads(text), name: value})


@pytest.mark.parametrize("corrupt", [
    _truncate,
    lambda text: "\x00\xff garbage",
    lambda text: "",
    lambda text: "[1, 2, 3]",
    _path([[0, 1]]),  # leaves more than one tensor
    _path([[0, 99]] * 40),  # contracts tensors that do not exist
    _path([[0, 0]]),
    _path("not a path"),
    _path([[0, 1.5]]),
    _field("key", "0" * 64),  # another entry's content
    _field("format", 0),
], ids=["truncated", "binary", "empty", "not-a-dict", "short", "out-of-range", "repeated",
        "text", "float", "other-key", "old-format"])
def test_a_corrupted_entry_is_ignored_and_rewritten(tmp_path, corrupt):
    net = network()
    good = plan(net, PathCache(directory=tmp_path))
    (file,) = entries(tmp_path)
    file.write_text(corrupt(file.read_text()), encoding="utf-8", errors="surrogateescape")
    again = plan(net, PathCache(directory=tmp_path))
    assert again.source == "searched" and again.path == good.path
    assert valid_path(json.loads(file.read_text())["path"], net.num_tensors) == good.path
    assert plan(net, PathCache(directory=tmp_path)).source == "disk"


def test_an_unusable_directory_warns_once_and_compiles_in_memory(tmp_path):
    (tmp_path / "file").write_text("")
    cache = PathCache(directory=tmp_path / "file" / "paths")  # under a file: never writable
    with pytest.warns(PathCacheWarning, match="cannot use the directory") as caught:
        first = plan(network(), cache)
        plan(network(6, 2), cache)
    assert len(caught) == 1 and first.source == "searched"
    assert plan(network(), cache).source == "memory"


def test_concurrent_writers_into_one_directory(tmp_path):
    cases = CASES[1:3]
    procs = [start(tmp_path, seed=str(k), cases=cases) for k in range(4)]
    results = [result(p) for p in procs]
    assert all(r == [{**x, "search_time": r[i]["search_time"], "source": r[i]["source"]}
                     for i, x in enumerate(results[0])] for r in results)
    files = entries(tmp_path)
    assert len(files) == len(cases) and sorted(tmp_path.iterdir()) == files  # no temporaries
    read = result(start(tmp_path, seed="9", cases=cases))
    assert [r["source"] for r in read] == ["disk"] * len(cases)
    assert [r["path"] for r in read] == [r["path"] for r in results[0]]


# ---------------------------------------------------------------- options and explain
def test_explain_says_where_each_path_came_from(tmp_path):
    circuit, ham = demo_circuit(6, 2)

    def table(cache):
        text = tnq.compile(circuit, ham, strategy="state", cache=cache).explain()
        header = next(line for line in text.splitlines() if line.startswith("plan "))
        return header, text.splitlines()[-1]

    cache = PathCache(directory=tmp_path)
    header, row = table(cache)
    assert "source" in header and " searched " in row
    assert " memory " in table(cache)[1]
    assert " disk " in table(PathCache(directory=tmp_path))[1]


@pytest.mark.parametrize("directory, match", [
    (3, r"directory=3\): expected None, True, 'default' or a directory path"),
    ("", r"expected None, True, 'default' or a directory path"),
    (["a"], r"directory=\['a'\]"),
])
def test_bad_directory_arguments(directory, match):
    with pytest.raises(tnq.CompileError, match=match):
        PathCache(directory=directory)


def test_a_file_is_not_a_directory(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(tnq.CompileError, match="this is a file, expected a directory"):
        PathCache(directory=tmp_path / "f")


def test_default_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        assert PathCache(directory=True).directory == tmp_path / "tnq" / "paths"
    assert PathCache(directory="default").directory == default_directory()
    assert PathCache(directory=FROM_ENV).directory is None
    monkeypatch.setenv(ENV, str(tmp_path / "shared"))
    assert PathCache(directory=True).directory == tmp_path / "shared"


def test_the_default_cache_uses_the_environment_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path))
    net = amplitude_network(demo_circuit(7, 3)[0].ops, 7)  # a structure no other test plans
    first = plan(net, None)
    assert PATHS.directory == tmp_path and len(entries(tmp_path)) == 1
    assert plan(net, PathCache(directory=tmp_path)).source == "disk"
    assert plan(net, None).path == first.path


def test_custom_optimizer_objects_stay_in_memory(tmp_path):
    import cotengra as ctg

    cache = PathCache(directory=tmp_path)
    opt = ctg.HyperOptimizer(max_repeats=2, parallel=False, methods=["greedy"], optlib="random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = plan(network(), cache, opt)
    assert first.source == "searched" and not entries(tmp_path)
    assert plan(network(), cache, opt).source == "memory"


def test_pickled_cache_keeps_its_directory(tmp_path):
    import pickle

    cache = pickle.loads(pickle.dumps(PathCache(directory=tmp_path)))
    assert cache.directory == tmp_path


@pytest.mark.parametrize("num_tensors, path, expected", [
    (1, [[0]], ((0,),)),
    (1, [], None),
    (3, [[2, 0], [1, 0]], ((2, 0), (1, 0))),
    (3, [[0, 1, 2]], ((0, 1, 2),)),
    (3, [[0, True]], None),
    (3, [[-1, 0], [0, 1]], None),
])
def test_valid_path(num_tensors, path, expected):
    assert valid_path(path, num_tensors) == expected


def test_search_of_one_tensor():
    assert search([(0, 1)], (0,), {0: 2, 1: 2}, "auto") == ((0,),)
    state = state_network([], 1)
    assert plan(state, PathCache()).path == ((0,),)
