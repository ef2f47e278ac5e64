"""A torch ``nn.Module`` wrapping a compiled Program: trainable weights, batched inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import checks
from ..errors import CompileError, GradientError, ParameterError
from ..optional import require
from ..program import Program
from .adjoint import DEFAULT_ADJOINT, adjoint_applies, sweep_of

if TYPE_CHECKING:
    import torch
else:
    torch = require("torch", "tnq.TorchLayer")

__all__ = ["TorchLayer"]


JACOBIAN_OUTPUTS = 4
"""Up to this many outputs, a call whose result needs a gradient computes the
Jacobian with its values (one adjoint vector per output and row, the cost of
one vector-Jacobian product when there is one output): the backward pass is
then a product with the cotangent."""


class _Adjoint(torch.autograd.Function):
    """The Program's values with gradients by the adjoint sweep
    (:mod:`tnq.gradients.adjoint`), by the weights and by the inputs, for the
    whole batch in one reverse sweep: with the values when a gradient will be
    needed and the outputs are few, otherwise in the backward pass (a
    vector-Jacobian product)."""

    @staticmethod
    def forward(ctx, weights, inputs, program):
        sweep = sweep_of(program)
        values = program.evaluator.values(
            weights.detach().numpy() if program.num_params else None,
            None if inputs is None else inputs.detach().numpy())
        psi, tables, mats = sweep.forward(values)
        k = len(program.observables)
        if any(ctx.needs_input_grad[:2]) and k <= JACOBIAN_OUTPUTS:
            value, mu = sweep.observe(psi)
            ctx.state = ("jacobian", sweep.backward(psi, mu, values, tables, mats))
        else:
            value, _ = sweep.observe(psi, np.zeros(psi.shape[:-1] + (k,)))
            ctx.state = ("vjp", (values, psi, tables, mats))
        ctx.program = program
        value = value if program.value_shape else value[..., 0]
        return torch.as_tensor(np.array(value), dtype=weights.dtype)

    @staticmethod
    def backward(ctx, cotangent):
        program = ctx.program
        cot = cotangent.detach().numpy()
        cot = cot if program.value_shape else cot[..., None]
        how, saved = ctx.state
        if how == "jacobian":  # (K, ..., V + 1)
            g = np.einsum("...k,k...v->...v", cot, saved)
        else:
            g = sweep_of(program).vjp(*saved, cot)
        p, d = program.num_params, program.num_inputs
        gw = g[..., :p].reshape(-1, p).sum(axis=0)
        dtype = cotangent.dtype
        grad_w = torch.as_tensor(gw, dtype=dtype) if ctx.needs_input_grad[0] else None
        grad_x = torch.as_tensor(np.ascontiguousarray(g[..., p:p + d]), dtype=dtype) \
            if ctx.needs_input_grad[1] else None
        return grad_w, grad_x, None


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
    gradient : {"auto", "adjoint", "autograd"}
        How gradients are taken: ``"adjoint"`` runs the values and gradients
        in numpy by the adjoint sweep (:mod:`tnq.gradients.adjoint`; CPU, the
        state regime), ``"autograd"`` calls the Program on torch tensors and
        lets torch autograd differentiate it; ``"auto"`` takes the adjoint
        sweep for strategy ``statevector`` when the batch's states fit
        ``max_memory``.

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

    def __init__(self, program: Program, *, weights=None, seed: int | None = None,
                 gradient: str = "auto"):
        super().__init__()
        if not isinstance(program, Program) or program.observable is None:
            raise CompileError("TorchLayer needs a Program compiled with an observable")
        if gradient not in ("auto", "adjoint", "autograd"):
            raise GradientError(f"gradient={gradient!r}; expected 'auto', 'adjoint' or "
                                "'autograd'")
        if gradient == "adjoint" and not adjoint_applies(program):
            raise GradientError(f"gradient='adjoint' needs a Program in the state regime "
                                f"(strategy 'statevector' or 'state' whose states fit "
                                f"max_memory), got strategy {program.strategy!r} on "
                                f"{program.num_qubits} qubits")
        self.gradient = gradient
        self.program = program
        self._auto = gradient == "auto" and adjoint_applies(program, DEFAULT_ADJOINT)
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
        if self._adjoint(inputs):
            return _Adjoint.apply(self.weights, inputs, self.program)
        return self.program(self.weights if self.program.num_params else None, inputs)

    def _adjoint(self, inputs) -> bool:
        """Whether this call runs the adjoint sweep (CPU tensors in the state
        regime, the states of the batch within ``max_memory``)."""
        program = self.program
        if self.gradient == "autograd" or self.weights.device.type != "cpu":
            return False
        if self.gradient == "adjoint":
            return True
        if not self._auto:
            return False
        rows = 1 if inputs is None or inputs.ndim < 2 else int(inputs.shape[0])
        return sweep_of(program).states(2 * rows) <= program.max_memory

    def extra_repr(self) -> str:
        p = self.program
        return (f"qubits={p.num_qubits}, weights={p.num_params}, inputs={p.num_inputs}, "
                f"observable={str(p.observable)!r}")
