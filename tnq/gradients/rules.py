"""Parameter-shift rules derived from generator spectra, as pure functions.

If a gate depends on a parameter as ``U(t) = V exp(-i t G) W``, every
expectation value is a trigonometric polynomial in ``t`` whose frequencies are
the distinct positive differences of ``G``'s eigenvalues. With ``R``
frequencies, ``R`` symmetric pairs of shifted evaluations give the exact
derivative (Wierichs et al., Quantum 6, 677 (2022)):
``f'(t) = sum_m c_m [f(t + s_m) - f(t - s_m)]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import GradientError
from ..gates import Gate

__all__ = ["ShiftRule", "frequencies", "shift_rule", "gate_rules"]


@dataclass(frozen=True)
class ShiftRule:
    """``f'(t) = sum_m coeffs[m] * (f(t + shifts[m]) - f(t - shifts[m]))``.

    Examples
    --------
    >>> shift_rule((1.0,))
    ShiftRule(shifts=(1.5707963267948966,), coeffs=(0.5,))
    """

    shifts: tuple[float, ...]
    coeffs: tuple[float, ...]

    @property
    def num_evaluations(self) -> int:
        return 2 * len(self.shifts)


def frequencies(spectrum: Sequence[float], *, decimals: int = 10) -> tuple[float, ...]:
    """The distinct positive differences of the eigenvalues ``spectrum``, sorted.

    Examples
    --------
    >>> frequencies((0.0, 0.0, -0.5, 0.5))
    (0.5, 1.0)
    """
    ev = np.asarray(spectrum, dtype=float)
    diffs = np.round(np.abs(ev[:, None] - ev[None, :]).ravel(), decimals)
    return tuple(float(d) for d in np.unique(diffs) if d > 0)


@lru_cache(maxsize=128)
def shift_rule(freqs: tuple[float, ...]) -> ShiftRule:
    """The ``2R``-term rule for a trigonometric polynomial with frequencies ``freqs``.

    Equidistant frequencies ``k * w`` (``k = 1..R``) take the shifts
    ``(2m - 1) pi / (2 R w)``; others take evenly spread shifts. The
    coefficients solve ``sum_m 2 c_m sin(w_r s_m) = w_r`` for every frequency.

    Examples
    --------
    >>> rule = shift_rule((0.5, 1.0))  # controlled rotations: four terms
    >>> [round(s / 3.141592653589793, 6) for s in rule.shifts]
    [0.5, 1.5]
    """
    if not freqs or any(f <= 0 or not math.isfinite(f) for f in freqs):
        raise GradientError(f"frequencies must be positive and finite, got {freqs}")
    w = np.asarray(sorted(freqs), dtype=float)
    r = len(w)
    base = w[0]
    if np.allclose(w, base * np.arange(1, r + 1), rtol=1e-10, atol=0):
        shifts = (2 * np.arange(1, r + 1) - 1) * np.pi / (2 * r * base)
    else:
        shifts = np.arange(1, r + 1) * np.pi / (2 * r * w[-1]) * (2 * r) / (r + 1)
    a = 2 * np.sin(np.outer(w, shifts))
    if np.linalg.cond(a) > 1e8:
        raise GradientError(f"no well-conditioned shift rule found for frequencies {freqs}")
    coeffs = np.linalg.solve(a, w)
    return ShiftRule(tuple(float(s) for s in shifts), tuple(float(c) for c in coeffs))


def gate_rules(gate: Gate) -> tuple[ShiftRule, ...]:
    """One shift rule per parameter of ``gate``, from its declared generator spectra.

    Examples
    --------
    >>> from tnq.gates import get_gate
    >>> [rule.num_evaluations for rule in gate_rules(get_gate("cu3"))]
    [4, 2, 2]
    """
    if gate.spectra is None or len(gate.spectra) != gate.num_params:
        raise GradientError(f"gate '{gate.name}' declares no generator spectrum, so it has "
                            "no parameter-shift rule; use autodiff (value_and_grad) instead")
    return tuple(shift_rule(frequencies(s)) for s in gate.spectra)
