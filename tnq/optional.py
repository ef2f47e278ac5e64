"""Optional packages: import one where a feature needs it, or say how to install it.

Only code that needs a package to do what the user asked calls :func:`require`;
code that merely checks what kind of array it was given (autoray's
``infer_backend``, ``type(x).__module__``) never imports the package.
This module imports only :mod:`tnq.errors`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require", "EXTRAS"]

EXTRAS = {
    "jax": ("jax", "jax"),
    "torch": ("torch", "torch"),
    "cotengra": ("cotengra", "cotengra"),
    "optuna": ("optuna", "cotengra"),
    "qiskit": ("qiskit", "qiskit"),
    "qiskit_aer": ("qiskit-aer", "qiskit"),
    "quimb": ("quimb", "quimb"),
    "pennylane": ("pennylane", "pennylane"),
    "dask": ("dask", "dask"),
    "distributed": ("dask", "dask"),
    "matplotlib": ("matplotlib", "plot"),
}
"""Top-level module name -> (pip package, the tnq extra that installs it), as
in pyproject.toml's ``[project.optional-dependencies]``."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise a MissingDependencyError that
    names the package and the extra that installs it.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"torch"`` or ``"quimb.tensor"``.
    feature : str
        What needs it, as the user would call it, e.g. ``"tnq.TorchLayer"``.

    Returns
    -------
    ModuleType
        The imported module.

    Raises
    ------
    MissingDependencyError
        If the import fails: the package is not installed (or is broken).

    Examples
    --------
    >>> require("json", "this example").__name__
    'json'
    >>> require("nope", "tnq.frobnicate")
    Traceback (most recent call last):
    ...
    tnq.errors.MissingDependencyError: tnq.frobnicate needs nope: pip install nope
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        package, extra = EXTRAS.get(top, (top, None))
        how = f'pip install "tnq[{extra}]"' if extra else f"pip install {package}"
        message = f"{feature} needs {package}: {how}"
        missing = (exc.name or "").split(".")[0]
        if missing != top:  # installed, but one of its own imports failed
            message += f" ({package} is installed but importing it failed: {exc})"
        raise MissingDependencyError(message, name=module) from exc
