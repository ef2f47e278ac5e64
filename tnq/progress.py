"""Progress bars (tqdm) for compiles and calls expected to take a while.

A bar is shown when the caller allows it (``progress=True``, the default of
:func:`tnq.compile`; ``False`` turns every bar off) and the work is estimated
to take more than :data:`SHOW_AFTER` seconds (or its length is unknown).
Bars write to stderr and disappear when done. This module imports nothing
from tnq; tqdm is imported only when a bar is shown.

Examples
--------
>>> with bar(3, "groups", show=True, seconds=0.1) as b:   # quick: no bar
...     for _ in range(3):
...         b.update(1)
>>> wanted(True, 5.0), wanted(True, 0.5), wanted(False, 100.0), wanted(True, None)
(True, False, False, True)
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["SHOW_AFTER", "bar", "wanted"]

SHOW_AFTER = 2.0
"""Seconds of estimated work above which a bar is shown."""


def wanted(show: bool, seconds: float | None) -> bool:
    """Whether a bar is shown: allowed, and estimated over :data:`SHOW_AFTER`
    seconds (an unknown estimate counts as long)."""
    return bool(show) and (seconds is None or seconds > SHOW_AFTER)


class _Quiet:
    """What :func:`bar` returns when no bar is shown: the same methods, no output."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def bar(total: int | None, desc: str, *, show: bool, seconds: float | None = None,
        unit: str = "it") -> Any:
    """A context manager with ``update(n)``: a tqdm bar on stderr when
    :func:`wanted`, otherwise a silent stand-in.

    Parameters
    ----------
    total : int or None
        Steps in all (None: unknown).
    desc : str
        What is being done (``"path search"``, ``"lightcone groups"``, ``"samples"``).
    show : bool
        Whether bars are allowed (the Program's or command's ``progress``).
    seconds : float, optional
        The estimated duration; None when unknown.
    """
    if not wanted(show, seconds):
        return _Quiet()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"tnq: {desc}", unit=unit, leave=False, file=sys.stderr,
                dynamic_ncols=True)
