"""Optional packages: a missing one is a MissingDependencyError naming the
package and the extra that installs it. The real thing is tested in a fresh
Python in which the packages cannot be imported (``sys.modules[name] = None``
makes ``import name`` raise ImportError, as when it is not installed)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tnq
from tnq.optional import EXTRAS, require

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def test_require_returns_the_module():
    import json as expected

    assert require("json", "a test") is expected
    assert require("os.path", "a test") is sys.modules["os.path"]


def test_a_missing_package_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_aer", None)
    with pytest.raises(tnq.MissingDependencyError) as info:
        require("qiskit_aer", "the noisy simulator")
    assert str(info.value) == 'the noisy simulator needs qiskit-aer: pip install "tnq[qiskit]"'
    assert isinstance(info.value, ImportError) and isinstance(info.value, tnq.TnqError)
    assert info.value.name == "qiskit_aer"
    with pytest.raises(tnq.MissingDependencyError, match="^f needs nope: pip install nope$"):
        require("nope.sub", "f")


def test_a_broken_install_says_what_failed(tmp_path, monkeypatch):
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("import no_such_dependency_of_it\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(tnq.MissingDependencyError,
                       match=r"f needs brokenpkg: pip install brokenpkg \(brokenpkg is "
                             r"installed but importing it failed: No module named "
                             r"'no_such_dependency_of_it'\)"):
        require("brokenpkg", "f")


def test_extras_match_pyproject():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    listed = {(re.match(r"[A-Za-z0-9_.-]+", req).group(), extra)
              for extra, reqs in extras.items() if extra not in ("test", "bench")
              for req in reqs}
    assert listed == set(EXTRAS.values())


SCRIPT = """
import json, sys
for name in ("torch", "jax", "qiskit", "qiskit_aer", "quimb"):
    sys.modules[name] = None
import tnq
from tnq.gradients.qiskit import QiskitExecutor, to_qiskit

theta = tnq.parameters(1)
program = tnq.compile(tnq.Circuit(1).rx(0, theta[0]), "Z0")
mps = tnq.compile(tnq.Circuit(2).h(0).cx(0, 1), strategy="mps").simulate()
cases = {
    "TorchLayer": lambda: tnq.TorchLayer,
    "grad torch": lambda: tnq.value_and_grad(program, [0.3], backend="torch"),
    "grad jax": lambda: tnq.value_and_grad(program, [0.3], backend="jax"),
    "to_qiskit": lambda: to_qiskit(tnq.Circuit(1).h(0)),
    "QiskitExecutor": lambda: QiskitExecutor(None),
    "to_quimb": mps.to_quimb,
    "like torch": lambda: tnq.compile(tnq.Circuit(1).h(0)).state(like="torch"),
}
out = {}
for case, fn in cases.items():
    try:
        fn()
        out[case] = "no error"
    except Exception as exc:
        out[case] = [type(exc).__name__, isinstance(exc, tnq.TnqError),
                     isinstance(exc, ImportError), str(exc)]
value, grad = tnq.value_and_grad(program, [0.3])  # parameter shift: needs neither
out["value_and_grad"] = [round(value, 10), round(float(grad[0]), 10)]
out["imported"] = [m for m in ("torch", "jax", "qiskit", "quimb") if sys.modules.get(m)]
print(json.dumps(out))
"""


def test_features_name_the_missing_package_and_extra():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = {
        "TorchLayer": 'tnq.TorchLayer needs torch: pip install "tnq[torch]"',
        "grad torch": "tnq.value_and_grad(backend='torch') needs torch: "
                      'pip install "tnq[torch]"',
        "grad jax": "tnq.value_and_grad(backend='jax') needs jax: pip install \"tnq[jax]\"",
        "to_qiskit": 'tnq.to_qiskit needs qiskit: pip install "tnq[qiskit]"',
        "QiskitExecutor": 'tnq.QiskitExecutor needs qiskit: pip install "tnq[qiskit]"',
        "to_quimb": 'tnq.mps.MPS.to_quimb needs quimb: pip install "tnq[quimb]"',
        "like torch": "like='torch' needs torch: pip install \"tnq[torch]\"",
    }
    for case, message in expected.items():
        assert out[case] == ["MissingDependencyError", True, True, message], case
    assert out["value_and_grad"] == [0.9553364891, -0.2955202067]
    assert out["imported"] == []
