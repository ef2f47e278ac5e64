"""Strategies: the ways a Program evaluates its circuit, one module each.

Every strategy implements :class:`~tnq.strategies.base.Strategy`. To add one,
write its module and list its class in :data:`REGISTRY`; the planner
(:mod:`tnq.planner`) and the Program find it there.
"""

from .base import OUTPUTS, TRANSFORMS, Estimate, Result, Setup, Strategy
from .lightcone import LightconeStrategy
from .mps import MpsStrategy
from .pauli import PauliStrategy
from .state import StateStrategy
from .statevector import StateVectorStrategy

__all__ = ["REGISTRY", "OUTPUTS", "TRANSFORMS", "Estimate", "Result", "Setup", "Strategy",
           "StateStrategy", "StateVectorStrategy", "LightconeStrategy", "MpsStrategy",
           "PauliStrategy",
           "supporting"]

REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (StateStrategy, LightconeStrategy, MpsStrategy, StateVectorStrategy,
                              PauliStrategy)
}
"""Every strategy by name, in the order ``auto`` breaks ties."""


def supporting(output: str | None = None, transform: str | None = None) -> list[str]:
    """The names of the strategies that compute ``output`` / run under ``transform``."""
    return [name for name, cls in REGISTRY.items()
            if (output is None or output in cls.outputs)
            and (transform is None or transform in cls.transforms)]
