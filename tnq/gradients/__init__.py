"""Gradients: autodiff conveniences, shift rules, parameter shift and executors."""

from .autodiff import best_backend, value_and_grad
from .executors import Executor, TnqExecutor
from .measure import Setting, measurement_settings
from .rules import ShiftRule, frequencies, gate_rules, shift_rule
from .shift import Gradient, param_shift

__all__ = ["value_and_grad", "best_backend", "param_shift", "Gradient", "Executor",
           "TnqExecutor", "Setting", "measurement_settings", "ShiftRule", "shift_rule",
           "frequencies", "gate_rules"]
