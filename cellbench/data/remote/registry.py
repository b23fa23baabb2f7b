"""The registry of public datasets that ``cellbench data fetch`` knows, read from a TOML file.

The built-in registry is ``registry.toml`` beside this module (the Cell Tracking Challenge 2D
training datasets, with the source of every number). The environment variable
``CELLBENCH_DATA_REGISTRY`` names another TOML file of the same form that replaces it (tests
point it at a local server); :func:`load_registry` also takes the path directly.

Each ``[datasets.NAME]`` table holds ``url`` (http or https), ``sha256`` (64 hex digits, or ""
when no checksum is published), ``size_bytes`` (0 when unknown), ``pixel_um`` (um per pixel),
``frame_interval_s`` (s per frame), ``sequences`` (e.g. ``["01", "02"]``), ``description``, and
optionally ``approx_size`` and ``provider``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cellbench.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REGISTRY_ENV = "CELLBENCH_DATA_REGISTRY"
BUILTIN_REGISTRY = Path(__file__).with_name("registry.toml")
_REQUIRED = {"url": str, "sha256": str, "size_bytes": int, "pixel_um": (int, float), "frame_interval_s": (int, float),
             "sequences": list, "description": str}
_OPTIONAL = {"approx_size": str, "provider": str}


@dataclass(frozen=True)
class RemoteDataset:
    """One downloadable dataset: a zip archive of CTC sequences with ground-truth tracking markers.

    sha256 : the published checksum of the archive, or "" (trust on first use).
    size_bytes : the archive's size in bytes, or 0 when unknown.
    pixel_um : um per pixel. frame_interval_s : s per frame. sequences : e.g. ("01", "02").
    """

    name: str
    url: str
    sha256: str
    size_bytes: int
    pixel_um: float
    frame_interval_s: float
    sequences: tuple[str, ...]
    description: str
    approx_size: str = ""
    provider: str = ""

    @property
    def pinned(self) -> bool:
        """Whether the registry gives a checksum that every download is verified against."""
        return bool(self.sha256)


def registry_path(path: Path | str | None = None) -> Path:
    """``path``, else ``$CELLBENCH_DATA_REGISTRY``, else the built-in registry."""
    if path is not None:
        return Path(path)
    env = os.environ.get(REGISTRY_ENV, "")
    return Path(env) if env else BUILTIN_REGISTRY


def load_registry(path: Path | str | None = None) -> dict[str, RemoteDataset]:
    """Every dataset of the registry, by name; a ConfigError naming the file, dataset and key when malformed."""
    path = registry_path(path)
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        origin = f" (from {REGISTRY_ENV})" if os.environ.get(REGISTRY_ENV) else ""
        raise ConfigError(f"{path}{origin}: no such dataset registry file") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a valid TOML dataset registry ({err})") from err
    tables = cfg.get("datasets")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: needs [datasets.NAME] tables")
    return {name: _entry(name, table, path) for name, table in tables.items()}


def get_dataset(name: str, registry: dict[str, RemoteDataset]) -> RemoteDataset:
    """The dataset called ``name`` (case ignored); a ConfigError listing the known names otherwise."""
    for key, entry in registry.items():
        if key.lower() == name.lower():
            return entry
    raise ConfigError(f"dataset {name!r} is not in the registry; known: {', '.join(sorted(registry))}")


def _entry(name: str, table, path: Path) -> RemoteDataset:
    where = f"{path}, [datasets.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(table) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted({**_REQUIRED, **_OPTIONAL})}")
    for key, kind in _REQUIRED.items():
        if key not in table:
            raise ConfigError(f"{where}: missing '{key}'")
    for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
        if key in table and (not isinstance(table[key], kind) or isinstance(table[key], bool)):
            raise ConfigError(f"{where}: '{key}' has the wrong type ({table[key]!r})")
    checks = [
        (re.match(r"https?://", table["url"]) is not None, "url", "must start with http:// or https://"),
        (table["sha256"] == "" or re.fullmatch(r"[0-9a-f]{64}", table["sha256"]) is not None, "sha256",
         'must be "" (no published checksum) or 64 lower-case hex digits'),
        (table["size_bytes"] >= 0, "size_bytes", "must be >= 0 (0 = unknown)"),
        (0 < table["pixel_um"] < float("inf"), "pixel_um", "must be a finite number > 0 (um per pixel)"),
        (0 < table["frame_interval_s"] < float("inf"), "frame_interval_s", "must be a finite number > 0 (s per frame)"),
        (bool(table["sequences"]) and all(isinstance(s, str) and s.isdigit() for s in table["sequences"]),
         "sequences", 'must list sequence numbers as strings, e.g. ["01", "02"]'),
    ]
    for ok, key, rule in checks:
        if not ok:
            raise ConfigError(f"{where}: '{key}' = {table[key]!r} {rule}")
    return RemoteDataset(name=name, url=table["url"], sha256=table["sha256"], size_bytes=table["size_bytes"],
                         pixel_um=float(table["pixel_um"]), frame_interval_s=float(table["frame_interval_s"]),
                         sequences=tuple(table["sequences"]), description=table["description"],
                         approx_size=table.get("approx_size", ""), provider=table.get("provider", ""))
