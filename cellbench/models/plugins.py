"""Models from other packages: ``--plugin`` modules and files, and installed entry points.

A plug-in is a module whose import registers models with
:func:`cellbench.models.registry.register` (or :func:`~cellbench.models.registry.declare`). It
reaches cellbench in one of three ways:

- ``--plugin MODULE`` or ``--plugin path/to/file.py`` on ``cellbench run``, ``compare`` and
  ``sweep``, or ``plugins = [...]`` in a sweep TOML: :func:`load_plugins` (sweeps call it on
  every Dask worker too, before the model is looked up);
- an installed distribution's entry point in the group ``cellbench.models``
  (``[project.entry-points."cellbench.models"] ridge = "mypkg.models"``): :func:`load_entry_points`,
  which the registry calls the first time it is listed or asked for a name it does not hold.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from cellbench.errors import ConfigError
from cellbench.models import registry
from cellbench.models.registry import ENTRY_POINT_GROUP, Entry


class PluginWarning(UserWarning):
    """An installed model plug-in (entry point) failed to import; its models are missing."""


@dataclass
class _PluginState:
    imported: dict[str, str] = field(default_factory=dict)  # --plugin as given -> module name
    files: dict[str, str] = field(default_factory=dict)  # resolved file of each plug-in imported -> module name
    entry_points: set[tuple[str, str]] = field(default_factory=set)  # (name, value) tried
    errors: dict[str, str] = field(default_factory=dict)  # entry point name -> what went wrong
    scanned_path: tuple[str, ...] | None = None  # sys.path when entry points were last looked up


_STATE = _PluginState()


def load_plugins(plugins: Iterable[str], where: str = "--plugin") -> list[str]:
    """Import plug-in modules whose import registers models; return the names they added.

    Parameters
    ----------
    plugins : module names (``'mypkg.models'``, ``'examples.custom_model'``; looked up on
        ``sys.path``, then in the current folder) or paths of ``.py`` files. Each is imported once
        per process (a file under a module name derived from its path; a file given both ways once).
    where : the option or file named in errors (``'--plugin'``, ``'sweep.toml: [sweep] plugins'``).

    Raises
    ------
    ConfigError : a module that does not exist, a missing file, or a plug-in whose import fails
        (the plug-in and the exception are named).
    """
    before = set(dict.keys(registry.MODELS))
    for plugin in plugins:
        if plugin in _STATE.imported:
            continue
        module = _import_file(plugin, where) if is_plugin_file(plugin) else _import_module(plugin, where)
        _STATE.imported[plugin] = module.__name__
        if getattr(module, "__file__", None):
            _STATE.files[str(Path(module.__file__).resolve())] = module.__name__
    return [name for name in dict.keys(registry.MODELS) if name not in before]


def is_plugin_file(plugin: str) -> bool:
    """A plug-in given as a path (``.py`` suffix or a folder separator) rather than a module name."""
    return plugin.endswith(".py") or "/" in plugin or os.sep in plugin


def _import_failed(plugin: str, where: str, err: BaseException) -> ConfigError:
    return ConfigError(f"{where} {plugin!r}: importing the plug-in failed: {type(err).__name__}: {err}")


def _imported_from(file: str | None):
    """The plug-in module already imported from ``file`` (under either name), or None."""
    name = _STATE.files.get(str(Path(file).resolve())) if file else None
    return sys.modules.get(name) if name else None


def _import_file(plugin: str, where: str):
    path = Path(plugin).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{where} {plugin!r}: no such file ({path}); give a .py file or an importable module name")
    if (module := _imported_from(str(path))) is not None:
        return module
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    name = f"cellbench_plugin_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where} {plugin!r}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise _import_failed(plugin, where, err) from err
    return module


def _find_spec(plugin: str, where: str):
    """The module's spec, or None when it (or a parent package) does not exist."""
    try:
        return importlib.util.find_spec(plugin)
    except ModuleNotFoundError:  # a parent package is missing
        return None
    except Exception as err:  # a parent package failed to import
        raise _import_failed(plugin, where, err) from err


def _import_module(plugin: str, where: str):
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", plugin):
        raise ConfigError(f"{where} {plugin!r}: not a module name (package.module) or a .py file")
    spec = _find_spec(plugin, where)
    if spec is None and os.getcwd() not in sys.path:  # as `python -m` does: the current folder too
        sys.path.append(os.getcwd())
        importlib.invalidate_caches()
        spec = _find_spec(plugin, where)
    if spec is None:
        raise ConfigError(f"{where} {plugin!r}: no module of that name on the Python path or in the current folder "
                          f"({os.getcwd()}); give an importable module name or a path to a .py file")
    if (module := _imported_from(spec.origin)) is not None:
        return module
    try:
        return importlib.import_module(plugin)
    except Exception as err:
        raise _import_failed(plugin, where, err) from err


def plugin_errors() -> list[str]:
    """What went wrong with each installed plug-in that failed to import (named with its entry point)."""
    return list(_STATE.errors.values())


def load_entry_points() -> None:
    """Import every installed plug-in in the entry-point group :data:`ENTRY_POINT_GROUP` not tried yet.

    An entry point names a module whose import registers models (``ridge = "mypkg.models"``), or
    an :class:`Entry` (``"mypkg.models:RIDGE"``). Looked up again only when ``sys.path`` changed.
    A plug-in whose import fails is named with its entry point in a :class:`PluginWarning` (once)
    and in every unknown-model error; the other models stay usable.
    """
    path = tuple(sys.path)
    if _STATE.scanned_path == path:
        return
    _STATE.scanned_path = path  # first: a plug-in that consults the registry while importing does not recurse
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if (ep.name, ep.value) in _STATE.entry_points:
            continue
        _STATE.entry_points.add((ep.name, ep.value))
        try:
            obj = ep.load()
            if isinstance(obj, Entry):
                registry._add(obj)
        except Exception as err:  # noqa: BLE001 - named in a warning and in unknown-model errors
            dist = getattr(ep, "dist", None)
            by = f" of {dist.metadata['Name']} {dist.version}" if dist is not None else ""
            _STATE.errors[ep.name] = (f"model plug-in {ep.name!r} (entry point '{ep.name} = {ep.value}' in group "
                                      f"{ENTRY_POINT_GROUP!r}{by}) failed to import: {type(err).__name__}: {err}")
            warnings.warn(_STATE.errors[ep.name], PluginWarning, stacklevel=3)


def source_sha256(name: str) -> str:
    """sha256 of the file that defines a plug-in model (the module of its factory); '' for a built-in.

    Sweeps put it into a run's key, so editing a plug-in's module reruns its runs (the code
    version covers cellbench's own files only). Files that module imports do not count.
    """
    from cellbench.io import sha256_file  # numpy comes with it: not at import, the registry lists models cheaply

    e = registry.entry(name)
    module = e.factory.__module__ if e.factory is not None else e.target.partition(":")[0]
    if module.split(".")[0] == "cellbench":
        return ""
    file = getattr(sys.modules.get(module), "__file__", None)
    if file is None:
        spec = importlib.util.find_spec(module)
        file = spec.origin if spec is not None else None
    return sha256_file(Path(file)) if file and Path(file).is_file() else ""
