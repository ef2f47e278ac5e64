"""Where contraction paths are kept: a bounded memory cache, optionally on disk.

A :class:`PathCache` maps a network's structure (tensors' labels, output,
label sizes) and the search's settings (seed included) to the path found. In
memory it is a bounded least-recently-used map; given a ``directory`` it also
keeps one small JSON file per entry there, so that a second process finds
its paths without searching. Files are named by a SHA-256 digest of the key
(never Python's ``hash``, which differs between processes), written to a
temporary file in the same directory and moved into place (concurrent
writers are safe), and checked when read: an entry that is unreadable, not
tnq's, or whose path does not contract the network is ignored, searched
again and rewritten. A directory that cannot be used gives one
:class:`PathCacheWarning` and the cache carries on in memory: a compile never
fails because of the cache.

Examples
--------
>>> import tempfile
>>> cache = PathCache(directory=tempfile.mkdtemp())
>>> key = (((0, 1), (1, 2)), (0, 2), ((0, 2), (1, 2), (2, 2)), "opt_einsum:auto")
>>> cache.find(key, 2) is None
True
>>> cache.keep(key, ((0, 1),))
>>> PathCache(directory=cache.directory).find(key, 2)     # another process, say
(((0, 1),), 'disk')
>>> cache.find(key, 2)
(((0, 1),), 'memory')
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .errors import CompileError
from .memo import Memo

__all__ = ["PathCache", "PathCacheWarning", "default_directory", "digest", "valid_path",
           "ENV", "FORMAT"]

ENV = "TNQ_PATH_CACHE"
"""The environment variable naming a directory where the default cache keeps paths."""
FORMAT = 1
"""The version of the entries' format (part of every key)."""
MAX_ENTRY_BYTES = 64 * 2**20
"""Entries larger than this are not read (a path of a million steps is ~20 MiB)."""
FROM_ENV = "$" + ENV
"""``directory=`` of the default cache: the directory named by :data:`ENV`,
read at each use; memory only while it is unset."""


class PathCacheWarning(RuntimeWarning):
    """A path cache's directory cannot be read or written; paths stay in memory."""


def default_directory() -> Path:
    """The user's cache directory for paths: ``$TNQ_PATH_CACHE`` when set, else
    ``tnq/paths`` under ``$XDG_CACHE_HOME`` or ``~/.cache`` (``~/Library/Caches``
    on macOS, ``%LOCALAPPDATA%`` on Windows).

    Examples
    --------
    >>> default_directory().parts[-2:] == ("tnq", "paths") or ENV in os.environ
    True
    """
    named = os.environ.get(ENV)
    if named:
        return Path(named).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = xdg if os.path.isabs(xdg) else str(Path.home() / ".cache")
    return Path(base) / "tnq" / "paths"


def digest(key: Any) -> str:
    """SHA-256 of the key's text (ints, strings and tuples: the same in every process)."""
    return hashlib.sha256(repr((FORMAT, key)).encode()).hexdigest()


def valid_path(path: Any, num_tensors: int) -> tuple[tuple[int, ...], ...] | None:
    """``path`` as a tuple if it contracts ``num_tensors`` tensors to one (each
    step takes distinct existing tensors, the result goes last), else None.

    Examples
    --------
    >>> valid_path([[0, 1], [0, 1]], 3), valid_path([[0, 3]], 3), valid_path([[0, 1]], 3)
    (((0, 1), (0, 1)), None, None)
    """
    if not isinstance(path, (list, tuple)) or not path:
        return None
    alive, steps = num_tensors, []
    for step in path:
        if (not isinstance(step, (list, tuple)) or not step
                or any(type(i) is not int or not 0 <= i < alive for i in step)
                or len(set(step)) != len(step)):
            return None
        alive -= len(step) - 1
        steps.append(tuple(step))
    return tuple(steps) if alive == 1 else None


class PathCache(Memo):
    """A bounded, thread-safe map from network structure to path, kept in
    memory and, given a ``directory``, on disk for other processes.

    Parameters
    ----------
    maxsize : int
        The most paths kept in memory (least recently used go first).
    directory : None, True, "default", str or os.PathLike
        None: memory only. True or ``"default"``: :func:`default_directory`.
        A path: that directory (made when first written). The default cache
        :data:`tnq.plan.PATHS` uses ``$TNQ_PATH_CACHE`` when it is set.

    Examples
    --------
    >>> PathCache().directory is None
    True
    >>> PathCache(directory=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tnq.errors.CompileError: PathCache(directory=3): expected None, True, 'default' or a ...
    """

    def __init__(self, maxsize: int = 256, *, directory: Any = None):
        super().__init__(maxsize)
        self._directory = _check_directory(directory)
        self._warned: set[str] = set()

    @property
    def directory(self) -> Path | None:
        """The directory used now (None: memory only)."""
        if self._directory != FROM_ENV:
            return self._directory  # type: ignore[return-value]
        named = os.environ.get(ENV)
        return Path(named).expanduser() if named else None

    def get(self, key, make=None):  # type: ignore[override]
        """The path cached in memory for ``key`` (None when missing, unless
        ``make`` makes it)."""
        return self.lookup(key) if make is None else super().get(key, make)

    def find(self, key, num_tensors: int, *, disk: bool = True):
        """``(path, "memory" or "disk")`` for ``key``, or None when neither has a
        valid path for a network of ``num_tensors`` tensors."""
        path = self.lookup(key)
        if path is not None:
            return path, "memory"
        directory = self.directory if disk else None
        if directory is None:
            return None
        name = digest(key)
        path = self._read(directory / f"{name}.json", name, num_tensors)
        if path is None:
            return None
        self.put(key, path)
        return path, "disk"

    def keep(self, key, path, *, disk: bool = True) -> None:
        """Keep ``path`` for ``key`` in memory and (``disk=True``) in the directory."""
        path = tuple(tuple(int(i) for i in step) for step in path)
        self.put(key, path)
        directory = self.directory if disk else None
        if directory is not None:
            name = digest(key)
            self._write(directory, name, {"format": FORMAT, "key": name,
                                          "path": [list(step) for step in path]})

    def _read(self, file: Path, name: str, num_tensors: int):
        try:
            with open(file, "rb") as f:
                data = json.loads(f.read(MAX_ENTRY_BYTES + 1).decode())
        except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON: searched again
            return None
        if (not isinstance(data, dict) or data.get("format") != FORMAT
                or data.get("key") != name):
            return None
        return valid_path(data.get("path"), num_tensors)

    def _write(self, directory: Path, name: str, data: dict) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name[:16]}-", suffix=".tmp")
        except OSError as err:
            self._warn(directory, err)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, directory / f"{name}.json")  # atomic: readers see old or new
        except OSError as err:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if not (directory / f"{name}.json").is_file():  # not merely a racing writer
                self._warn(directory, err)

    def _warn(self, directory: Path, err: OSError) -> None:
        with self._lock:
            if str(directory) in self._warned:
                return
            self._warned.add(str(directory))
        warnings.warn(f"tnq path cache: cannot use the directory {str(directory)!r} "
                      f"({type(err).__name__}: {err}); paths are kept in memory only",
                      PathCacheWarning, stacklevel=2)

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "directory": self._directory}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._directory = state.get("directory")
        self._warned = set()


def _check_directory(directory: Any) -> Path | str | None:
    if directory is None or directory is False:
        return None
    if isinstance(directory, str) and directory == FROM_ENV:
        return FROM_ENV
    if directory is True or (isinstance(directory, str) and directory == "default"):
        return default_directory()
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
        raise CompileError(f"PathCache(directory={directory!r}): expected None, True, "
                           "'default' or a directory path")
    path = Path(os.fsdecode(os.fspath(directory))).expanduser()
    if path.exists() and not path.is_dir():
        raise CompileError(f"PathCache(directory={str(directory)!r}): this is a file, "
                           "expected a directory (made if missing)")
    return path
