"""Distributed calls that torch autograd and jax (outside ``jax.jit``) differentiate.

The forward pass gathers the values from the workers; the backward pass
sends the cotangent's chunks back out and gathers the per-chunk
vector-Jacobian products (:meth:`DistributedProgram.vjp`), summed over the
chunks for a parameter vector shared by the batch. To torch and jax the call
is one differentiable function, so a training loop stays a normal loop.
``front`` is the :class:`~tnq.distributed.front.DistributedProgram` (which
imports this module, not the other way round).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..contract import to_numpy
from ..optional import require

__all__ = ["torch_call", "jax_call"]


def _numpy(a):
    return None if a is None else np.asarray(to_numpy(a), dtype=float)


def torch_call(front: Any, params, inputs):
    """``front(params, inputs)`` as a torch tensor with a distributed backward."""
    torch = require("torch", "tnq.distributed with torch tensors")

    function: Any = torch.autograd.Function

    class Call(function):
        @staticmethod
        def forward(ctx: Any, p, x):
            pn, xn, rows = front._numbers(_numpy(p), _numpy(x))
            wrt = (p is not None and bool(p.requires_grad),
                   x is not None and bool(x.requires_grad))
            if any(wrt):  # graphs kept on the workers for the backward pass
                values, handle = front._forward(pn, xn, rows, wrt)
            else:
                values, handle = front._values(pn, xn, rows), None
            ctx.saved = (p, x, pn, xn, rows, wrt, handle)
            like = p if p is not None else x
            return torch.as_tensor(values, dtype=like.dtype, device=like.device)

        @staticmethod
        def backward(ctx: Any, grad):
            p, x, pn, xn, rows, wrt, handle = ctx.saved
            ctx.saved = None  # the workers' graphs are released with the handle
            gp, gx = front._backward(handle, pn, xn, rows, grad.detach().cpu().numpy(), wrt)
            return tuple(None if g is None else torch.as_tensor(g, dtype=t.dtype,
                                                                 device=t.device)
                         for g, t in zip((gp, gx), (p, x)))

    return Call.apply(front.program.pack(params), front.program.pack(inputs, "inputs"))


def jax_call(front: Any, params, inputs):
    """``front(params, inputs)`` as a jax array with a distributed ``custom_vjp``
    (eager jax only: the workers need concrete numbers)."""
    jax = require("jax", "tnq.distributed with jax arrays")
    jnp = jax.numpy
    p0, x0 = front.program.pack(params), front.program.pack(inputs, "inputs")
    dtype = (p0 if p0 is not None else x0).dtype

    @jax.custom_vjp
    def call(p, x):
        pn, xn, rows = front._numbers(_numpy(p), _numpy(x))
        return jnp.asarray(front._values(pn, xn, rows), dtype=dtype)

    def forward(p, x):
        return call(p, x), (p, x)

    def backward(saved, grad):
        p, x = saved
        _, gp, gx = front.vjp(_numpy(p), _numpy(x), np.asarray(grad),
                              wrt=(p is not None, x is not None))
        return (None if gp is None else jnp.asarray(gp, dtype=p.dtype),
                None if gx is None else jnp.asarray(gx, dtype=x.dtype))

    call.defvjp(forward, backward)
    return call(p0, x0)
