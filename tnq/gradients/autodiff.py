"""``value_and_grad`` through the best installed automatic-differentiation backend.

A Program call is a pure function of its arrays, so ``jax.grad``,
``jax.jit``, ``jax.vmap``, torch autograd and ``tf.GradientTape`` work on it
directly. This module only adds the convenience of picking a backend,
compiling (``jax.jit``) once per Program, and returning numpy.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

import numpy as np

from ..checks import show
from ..contract import to_numpy
from ..errors import CompileError, GradientError, ParameterError
from ..optional import require
from ..program import Program
from .adjoint import DEFAULT_ADJOINT, adjoint_applies, adjoint_value_and_grad
from .shift import param_shift

__all__ = ["value_and_grad", "best_backend"]

PREFERENCE = ("torch", "jax")
"""Autodiff backends in order of preference (the first installed one is used).

torch first: no compile step, and faster per call than jax on XLA:CPU for states
above about 2^16 amplitudes; jax (jitted) is faster per call on small circuits
after a compile of seconds (see benchmarks/README.md)."""


def best_backend() -> str:
    """The first installed of :data:`PREFERENCE`, or ``"numpy"`` (parameter shift)."""
    for name in PREFERENCE:
        if importlib.util.find_spec(name) is not None:
            return name
    return "numpy"


def value_and_grad(program: Program, params, inputs=None, *, backend: str | None = None):
    """The (real, scalar) value of ``program`` and its gradient with respect to ``params``.

    Parameters
    ----------
    program : Program
        Compiled with an observable.
    params, inputs : array_like or mapping
        One parameter vector (and data inputs, if any), flat or as a mapping
        ``{name: array}`` of the circuit's vectors (see :meth:`tnq.Program.pack`);
        a mapping's gradient comes back as a mapping.
    backend : {"jax", "torch", "numpy", "adjoint"}, optional
        Default: the kind of ``params`` if it is a jax or torch array (results
        then come back as that kind); otherwise, for strategy ``statevector``
        (the state and one adjoint vector per observable within
        ``max_memory``), ``"adjoint"``: one forward pass and one reverse
        sweep over fused gate blocks in numpy (:mod:`tnq.gradients.adjoint`);
        elsewhere the best installed autodiff backend (results as numpy). ``"numpy"`` uses the exact
        parameter-shift rule. ``"jax"`` in the state regime (strategy
        ``statevector`` or ``state``) runs the adjoint sweep (results as jax
        arrays): a jitted whole-circuit gradient
        takes XLA seconds to a minute to compile; ``jax.jit(jax.value_and_grad(
        program))`` still gives one where that pays off.

    Returns
    -------
    value, grad
        For a Program with a vector of ``K`` values (compiled with a list of
        observables): the ``(K,)`` values and the ``(K, P)`` Jacobian.

    Examples
    --------
    >>> import numpy as np, tnq
    >>> theta = tnq.parameters(1)
    >>> program = tnq.compile(tnq.Circuit(1).rx(0, theta[0]), "Z0")
    >>> value, grad = tnq.value_and_grad(program, [0.3])
    >>> print(round(value, 10), round(float(grad[0]), 10))
    0.9553364891 -0.2955202067
    """
    if not isinstance(program, Program) or program.observable is None:
        raise CompileError("value_and_grad needs a Program compiled with an observable")
    if params is None or isinstance(params, (str, bytes)):
        raise ParameterError(f"value_and_grad needs the {program.num_params} parameters, as "
                             f"an array of shape ({program.num_params},) or a mapping "
                             f"{{name: array}}, got {show(params)}")
    if isinstance(params, Mapping):
        value, grad = value_and_grad(program, program.pack(params),
                                     program.pack(inputs, "inputs"), backend=backend)
        return value, program.unpack(grad)
    kind = type(params).__module__.split(".")[0]
    native = kind in ("jax", "jaxlib", "torch")
    if backend is None and not native and adjoint_applies(program, DEFAULT_ADJOINT):
        backend = "adjoint"
    if backend is None:
        backend = ("jax" if kind in ("jax", "jaxlib") else kind) if native else best_backend()
        if backend == "jax" and not native and program.dtype == "complex128" \
                and not require("jax", "tnq.value_and_grad").config.read("jax_enable_x64"):
            backend = "numpy"  # jax would need x64 switched on globally: use parameter shift
    if backend == "jax" and adjoint_applies(program):
        # the adjoint sweep: no XLA compile of the whole circuit (seconds to a minute)
        jnp = require("jax", "tnq.value_and_grad(backend='jax')").numpy
        value, grad = adjoint_value_and_grad(program, params, inputs)
        return (jnp.asarray(value), jnp.asarray(grad)) if native else (value, grad)
    if backend == "jax":
        value, grad = _jax(program, params, inputs)
    elif backend == "torch":
        value, grad = _torch(program, params, inputs)
    elif backend == "numpy":
        g = param_shift(program, params, inputs)
        return g.value, g.grad
    elif backend == "adjoint":
        return adjoint_value_and_grad(program, params, inputs)
    else:
        raise GradientError(f"backend={backend!r} is not an autodiff backend; expected "
                            "'jax', 'torch', 'numpy' or 'adjoint'")
    if native:
        return value, grad
    value = to_numpy(value)
    return (value.astype(float) if value.ndim else float(value)), to_numpy(grad).astype(float)


def _jax(program: Program, params, inputs):
    jax = require("jax", "tnq.value_and_grad(backend='jax')")

    if not {"jax.jit", "jax.grad"} <= program.transforms:
        raise GradientError(f"strategy {program.strategy!r} cannot run under jax.jit and "
                            "jax.grad (an MPS picks how many singular values to keep from "
                            "their values); use backend='torch' (autodiff through the SVDs) "
                            "or 'numpy' (parameter shift)")
    if not jax.config.read("jax_enable_x64") and program.dtype == "complex128":
        raise GradientError("jax runs complex128 only with x64 enabled: call "
                            "jax.config.update('jax_enable_x64', True) first, or compile "
                            "with dtype='complex64'")
    def make():
        if not program.value_shape:
            return jax.jit(jax.value_and_grad(program.expectation))
        jac = jax.jacrev(program.expectation)
        return jax.jit(lambda p, x: (program.expectation(p, x), jac(p, x)))

    fn = program.derived("jax-value-and-grad", make)
    real = np.dtype(program.evaluator.real_dtype)
    def to(x):
        return None if x is None else jax.numpy.asarray(x, dtype=real)

    return fn(to(params), to(inputs))


def _torch(program: Program, params, inputs):
    torch = require("torch", "tnq.value_and_grad(backend='torch')")

    real = getattr(torch, program.evaluator.real_dtype)
    given = isinstance(params, torch.Tensor)
    p = params.detach().clone() if given else torch.as_tensor(np.asarray(params), dtype=real)
    p.requires_grad_(True)
    x = None if inputs is None else torch.as_tensor(inputs, dtype=real)
    value = program(p, x)
    if tuple(value.shape) != program.value_shape:
        raise GradientError(f"value_and_grad needs a scalar value (one per observable: "
                            f"shape {program.value_shape}), got shape {tuple(value.shape)} "
                            "(batched inputs?); reduce it to a loss and differentiate that")
    if not program.value_shape:
        (grad,) = torch.autograd.grad(value, p)
        return value.detach(), grad
    rows = [torch.autograd.grad(value[k], p, retain_graph=k + 1 < len(value))[0]
            for k in range(len(value))]
    return value.detach(), torch.stack(rows)
