"""Compile-time structure: tensor-network specs built from circuits (no arrays)."""

from .lightcone import MEMBERS, Cone, ConeGroup, cone_network, group_cones, reduce_cones
from .network import Network, Source, amplitude_network, marginal_network, state_network
from .terms import TermGroups, group_terms

__all__ = [
    "Network",
    "Source",
    "state_network",
    "amplitude_network",
    "marginal_network",
    "TermGroups",
    "group_terms",
    "MEMBERS",
    "Cone",
    "ConeGroup",
    "reduce_cones",
    "group_cones",
    "cone_network",
]
