"""A torch ``nn.Module`` wrapping a compiled Program: trainable weights, batched inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import checks
from ..errors import CompileError, ParameterError
from ..optional import require
from ..program import Program

if TYPE_CHECKING:
    import torch
else:
    torch = require("torch", "tnq.TorchLayer")

__all__ = ["TorchLayer"]


class TorchLayer(torch.nn.Module):
    """A quantum layer: ``forward(inputs)`` is the Program's expectation value.

    The circuit's trainable parameters are one ``nn.Parameter`` (``weights``);
    its data inputs are the layer's input, one vector ``(D,)`` or a batch
    ``(B, D)`` (one batched contraction, output ``(B,)``). A Program compiled
    with a list of ``K`` observables makes a layer with ``K`` outputs: ``(K,)``
    or ``(B, K)``. Gradients flow to the weights and to the inputs through
    torch autograd.

    Parameters
    ----------
    program : Program
        Compiled with an observable.
    weights : array_like, optional
        Initial weights, shape ``(P,)``; default uniform in ``[0, 2 pi)``.
    seed : int, optional
        Seed for the default initialisation.

    Examples
    --------
    >>> import torch, tnq
    >>> w, x = tnq.parameters(2), tnq.inputs(2)
    >>> c = tnq.Circuit(2).rx(0, x[0]).rx(1, x[1]).ry(0, w[0]).ry(1, w[1]).cx(0, 1)
    >>> layer = TorchLayer(tnq.compile(c, "Z1"), seed=0)
    >>> layer(torch.rand(5, 2, dtype=torch.float64)).shape
    torch.Size([5])
    >>> TorchLayer(tnq.compile(c, ["Z0", "Z1", "X0"]))(torch.rand(5, 2)).shape
    torch.Size([5, 3])
    """

    def __init__(self, program: Program, *, weights=None, seed: int | None = None):
        super().__init__()
        if not isinstance(program, Program) or program.observable is None:
            raise CompileError("TorchLayer needs a Program compiled with an observable")
        self.program = program
        dtype = getattr(torch, program.evaluator.real_dtype)
        if weights is None:
            rng = np.random.default_rng(checks.seed(seed))
            weights = rng.uniform(0, 2 * np.pi, program.num_params)
        weights = program.pack(weights)
        try:
            w = torch.as_tensor(np.asarray(weights, dtype=float), dtype=dtype)
        except (TypeError, ValueError):
            raise ParameterError(f"weights must be {program.num_params} real numbers, got "
                                 f"{checks.show(weights)}") from None
        if tuple(w.shape) != (program.num_params,) or not bool(torch.isfinite(w).all()):
            raise ParameterError(f"weights have shape {tuple(w.shape)}; expected "
                                 f"({program.num_params},) finite real numbers, got "
                                 f"{checks.show(weights)}")
        self.weights = torch.nn.Parameter(w.clone())

    def forward(self, inputs: torch.Tensor | None = None) -> torch.Tensor:
        if inputs is not None:
            inputs = self.program.pack(inputs, "inputs")
            try:
                inputs = torch.as_tensor(inputs, dtype=self.weights.dtype,
                                         device=self.weights.device)
            except (TypeError, ValueError, RuntimeError):
                raise ParameterError(f"inputs must be real numbers, shape "
                                     f"({self.program.num_inputs},) or (batch, "
                                     f"{self.program.num_inputs}), got "
                                     f"{checks.show(inputs)}") from None
        return self.program(self.weights if self.program.num_params else None, inputs)

    def extra_repr(self) -> str:
        p = self.program
        return (f"qubits={p.num_qubits}, weights={p.num_params}, inputs={p.num_inputs}, "
                f"observable={str(p.observable)!r}")
