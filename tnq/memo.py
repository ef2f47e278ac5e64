"""Thread-safe, bounded caches for compiled objects.

A compiled Program never changes what it computes, but some of its parts are
made on first use (a plan for an output asked for later, constants moved to a
new backend, a jitted function). A :class:`Memo` holds such parts: it is
filled under a lock, so a part is made once even when many threads ask at
the same time, and reading it is safe while other threads call the Program.

Parts that describe structure (plans) *travel*: they are pickled with their
owner, so a Program shipped to another process does no path search again.
Parts tied to this process (arrays on a device, jitted functions) do not:
they are made again where needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Memo"]


class Memo:
    """A bounded least-recently-used map whose entries are made under a lock.

    Parameters
    ----------
    maxsize : int
        The most entries kept; the least recently used go first.
    travel : bool
        Whether the entries are pickled (and deep-copied) with the memo;
        otherwise a copy starts empty.

    Examples
    --------
    >>> memo = Memo(maxsize=2)
    >>> memo.get("a", lambda: 1), memo.get("a", lambda: 2)
    (1, 1)
    >>> import pickle
    >>> pickle.loads(pickle.dumps(memo)).items()
    [('a', 1)]
    """

    def __init__(self, maxsize: int = 64, *, travel: bool = True):
        self.maxsize = maxsize
        self.travel = travel
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The entry for ``key``, made by ``make()`` (once) if missing."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            value = make()
            self.put(key, value)
            return value

    def lookup(self, key: Hashable, default: Any = None) -> Any:
        """The entry for ``key`` if present (marked as recently used), else ``default``."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            return default

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def items(self) -> list[tuple[Any, Any]]:
        """A snapshot of the entries, oldest first."""
        with self._lock:
            return list(self._data.items())

    def __len__(self) -> int:
        return len(self._data)

    def __getstate__(self) -> dict:
        return {"maxsize": self.maxsize, "travel": self.travel,
                "data": self.items() if self.travel else []}

    def __setstate__(self, state: dict) -> None:
        self.maxsize, self.travel = state["maxsize"], state["travel"]
        self._data = OrderedDict(state["data"])
        self._lock = threading.RLock()
