"""Collection rules for the whole repository (tests, tnq's doctests, docs/*.md).

Parts that need an optional package are collected only where it is installed:
tnq.pennylane and docs/pennylane.md need PennyLane, which the main test
environment does not have (PennyLane pins an older autoray); CI runs them in
an environment of their own (see .ci/run).
"""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("pennylane") is None:
    collect_ignore_glob += ["tnq/pennylane/*", "docs/pennylane.md"]
