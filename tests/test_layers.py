"""The package stands in layers: every module imports only from layers below
its own (or its own layer, without cycles), at module level or inside functions."""

import ast
from pathlib import Path

import tnq

PACKAGE = Path(tnq.__file__).parent
LAYERS = [
    ["errors", "memo", "optional", "checks", "progress"],
    ["symbols", "gates", "observables", "circuit"],  # IR
    ["qasm", "qasm_lexer", "qasm_expr"],  # I/O
    ["compile"],  # networks, cones, schedules
    ["plan", "pathsearch", "pathstore", "contract", "mps", "mps_sweep"],  # plans, contraction, MPS
    ["strategies"],
    ["planner"],
    ["program"],
    ["api", "gradients", "qiskit", "pennylane", "distributed", "cli", "__main__",
     "__init__"],  # gradients, Qiskit interop, CLI, Dask
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _parts(path: Path) -> list[str]:
    return list(path.relative_to(PACKAGE).with_suffix("").parts)


def _module(path: Path) -> str:
    """A module's name in the package; a package's ``__init__`` is the package."""
    parts = _parts(path)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The tnq modules ``path`` imports, anywhere in it."""
    package = _parts(path)[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = base + (node.module.split(".") if node.module else [])
            if node.module is None or not target:
                out |= {_submodule_or_package(base, a.name) for a in node.names}
            else:
                out.add(".".join(target))
    return {m for m in out if m}


def _submodule_or_package(package: list[str], name: str) -> str:
    """``from <package> import name``: the submodule ``name`` if there is one,
    otherwise a name defined by the package's ``__init__``."""
    folder = PACKAGE.joinpath(*package)
    if (folder / f"{name}.py").exists() or (folder / name).is_dir():
        return ".".join(package + [name])
    return ".".join(package) or "__init__"


def _layer(module: str) -> int:
    top = module.split(".")[0]
    return LAYER[top]


def test_every_module_is_in_a_layer():
    for path in PACKAGE.rglob("*.py"):
        assert _module(path).split(".")[0] in LAYER, path


def test_imports_go_down_the_layers_without_cycles():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module(path)
        graph[name] = _imports(path)
        for target in graph[name]:
            assert _layer(target) <= _layer(name), f"{name} imports {target} from a layer above"
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            raise AssertionError("import cycle: " + " -> ".join(trail + [node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, trail + [node])
        state[node] = 2

    for node in graph:
        visit(node, [])
