"""tnq: tensor-network simulation of variational quantum circuits."""

from .api import amplitude, compile, expectation, probabilities, sample, state
from .circuit import Circuit, Op
from .distributed import DistributedProgram, distribute
from .errors import (
    CircuitError,
    CompileError,
    CostLimitError,
    ExecutorError,
    GradientError,
    MemoryLimitError,
    MissingDependencyError,
    ObservableError,
    ParameterError,
    QasmError,
    TnqError,
    UnsupportedError,
)
from .gates import GATES, gate_matrix
from .gradients import (
    Executor,
    Gradient,
    TnqExecutor,
    measurement_settings,
    param_shift,
    value_and_grad,
)
from .observables import DenseOperator, Observable, PauliString, X, Y, Z, observable
from .plan import PathCache, Plan
from .program import Program, Result
from .qasm import from_qasm, to_qasm
from .qiskit import from_qiskit, to_qiskit
from .symbols import Symbol, SymbolVector, inputs, parameters

__version__ = "0.1.0"


def __getattr__(name: str):
    """Optional parts that import heavy packages only when asked for."""
    if name == "TorchLayer":
        from .gradients.torch_layer import TorchLayer

        return TorchLayer
    if name == "QiskitExecutor":
        from .qiskit import QiskitExecutor

        return QiskitExecutor
    raise AttributeError(f"module 'tnq' has no attribute {name!r}")

__all__ = [
    "Circuit", "Op", "GATES", "gate_matrix",
    "parameters", "inputs", "Symbol", "SymbolVector",
    "observable", "Observable", "PauliString", "DenseOperator", "X", "Y", "Z",
    "compile", "Program", "expectation", "amplitude", "state",
    "probabilities", "sample", "from_qasm", "to_qasm", "from_qiskit", "to_qiskit",
    "Plan", "PathCache",
    "TnqError", "CircuitError", "ParameterError", "ObservableError", "QasmError",
    "CompileError", "MemoryLimitError", "GradientError", "ExecutorError", "UnsupportedError",
    "MissingDependencyError", "CostLimitError",
    "Result",
    "value_and_grad", "param_shift", "Gradient", "Executor", "TnqExecutor",
    "measurement_settings", "distribute", "DistributedProgram",
]
