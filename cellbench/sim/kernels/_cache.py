"""Numba's on-disk cache for the kernels, made stale by an edit to any file of the package.

Numba checks a cached function against its own source file only (a sha256 of that file from
numba 0.68 on, its mtime and size before). But the machine code it stores for a kernel holds every
jitted function the kernel calls, inlined or linked. After an edit to a callee in another file
(``pair_f_over_r`` in ``pair.py``), an unchanged caller (``forces_brute`` in ``interactions.py``)
would load its old code from the cache and run the old callee.

:func:`install` puts :class:`PackageSourceLocator` first in numba's list of cache locators. For
functions defined in this package, it keeps the cache directory that numba would have chosen
(``NUMBA_CACHE_DIR`` if set, else the ``__pycache__`` next to the file, else the user-wide cache)
and replaces numba's freshness stamp with :func:`source_hash` of the whole package. An edit to any
``*.py`` file here invalidates every cached kernel of the package at the next import, and the
kernels then recompile once. Functions defined elsewhere go to numba's own locators, unchanged.
The locator is chosen when ``@njit(cache=True)`` decorates a function, so the package's
``__init__`` calls :func:`install` before it imports any kernel module.

Limits: the stamp covers this directory only, so kernels must not call jitted code from other
packages (a test checks their imports). If ``NUMBA_CACHE_LOCATOR_CLASSES`` is set, numba uses that
list instead of its default one, and this guard does not apply unless the list names
``cellbench.sim.kernels._cache.PackageSourceLocator`` first.
"""

from __future__ import annotations

import hashlib
import os

from numba.core import caching

PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))

# recent numba versions name the locator list's owner without the leading underscore
_CacheImpl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
_CacheLocator = caching._CacheLocator


def source_hash(directory: str = PACKAGE_DIR) -> str:
    """sha256 (hex) of the names and bytes of every ``*.py`` file in ``directory``, in name order."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()


_STAMP: str | None = None


def _package_stamp() -> str:
    """:func:`source_hash` of the package, computed once per process (at the first decoration)."""
    global _STAMP
    if _STAMP is None:
        _STAMP = source_hash()
    return _STAMP


class PackageSourceLocator(_CacheLocator):
    """Numba's usual cache location, with the source hash of the whole package as freshness stamp.

    Parameters
    ----------
    inner : the locator numba would have used for the function (its directory and file names).
    stamp : the package's :func:`source_hash`.
    """

    def __init__(self, inner, stamp: str):
        self._inner = inner
        self._stamp = stamp

    def ensure_cache_path(self):
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        return self._stamp

    def get_disambiguator(self):
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        """A locator for functions defined in this package; None (numba asks the next) otherwise."""
        if os.path.dirname(os.path.realpath(py_file)) != PACKAGE_DIR:
            return None
        for other in _CacheImpl._locator_classes:
            if other is cls:
                continue
            inner = other.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner, _package_stamp())
        return None


def install() -> None:
    """Put :class:`PackageSourceLocator` first in numba's locator list (once per process)."""
    if PackageSourceLocator not in _CacheImpl._locator_classes:
        _CacheImpl._locator_classes.insert(0, PackageSourceLocator)
