"""The lock file ``<data folder>/cellbench-data.lock.json``: the sha256 and size of every archive fetched.

When the registry publishes no checksum, the first download is trusted and recorded here
("first-use"); every later download or reuse of the archive is verified against the record.
When the registry pins a checksum, the record notes that it was verified against it
("registry"). To trust a new version of an archive that changed upstream, delete its entry.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cellbench.errors import ConfigError
from cellbench.io import read_json, write_json

LOCK_NAME = "cellbench-data.lock.json"
LOCK_FORMAT = "cellbench-data-lock/1"


@dataclass(frozen=True)
class LockEntry:
    """url : where the archive came from. verified_against : 'registry' or 'first-use'. recorded_utc : ISO time."""

    url: str
    sha256: str
    size_bytes: int
    verified_against: str
    recorded_utc: str


def lock_path(folder: Path) -> Path:
    return Path(folder) / LOCK_NAME


def read_lock(folder: Path) -> dict[str, LockEntry]:
    """The entries of the folder's lock file by dataset name ({} when there is none)."""
    path = lock_path(folder)
    if not path.exists():
        return {}
    try:
        doc = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid JSON ({err}); fix it or delete it (its checksums are then recorded "
                          "again on the next download, unverified)") from err
    if not isinstance(doc, dict) or doc.get("format") != LOCK_FORMAT or not isinstance(doc.get("datasets"), dict):
        raise ConfigError(f"{path}: not a cellbench data lock file (expected \"format\": \"{LOCK_FORMAT}\" and "
                          "a \"datasets\" object)")
    out = {}
    for name, e in doc["datasets"].items():
        try:
            out[name] = LockEntry(str(e["url"]), str(e["sha256"]), int(e["size_bytes"]), str(e["verified_against"]),
                                  str(e["recorded_utc"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"{path}: the entry of {name!r} is malformed ({type(err).__name__}: {err}); "
                              "delete that entry") from err
    return out


def record(folder: Path, name: str, url: str, sha256: str, size_bytes: int, verified_against: str) -> LockEntry:
    """Add or replace the entry of ``name`` in the folder's lock file (written atomically)."""
    entries = read_lock(folder)
    entry = LockEntry(url, sha256, size_bytes, verified_against,
                      dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    entries[name] = entry
    write_json(lock_path(folder), {"format": LOCK_FORMAT,
                                   "datasets": {k: asdict(v) for k, v in sorted(entries.items())}})
    return entry
