"""Atomic writes and small JSON/bytes helpers. Every result file goes through here."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The file is fsynced before the rename and its folder after it, so a power cut leaves
    either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` fill a temporary file (e.g. ``df.to_parquet``), then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        writer(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def to_json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n").encode()


def nan_to_null(obj: Any, where: str = "") -> tuple[Any, list[str]]:
    """(``obj`` with every NaN or infinite float replaced by None, the dotted paths replaced).

    Bare ``NaN`` is not JSON; files that other tools read (``metrics.json``, result records)
    write ``null`` instead and list where, so a reader can tell "undefined" from "missing".
    """
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None, [where]
    if isinstance(obj, dict):
        out, paths = {}, []
        for k, v in obj.items():
            out[k], sub = nan_to_null(v, f"{where}.{k}" if where else str(k))
            paths += sub
        return out, paths
    if isinstance(obj, (list, tuple)):
        out, paths = [], []
        for i, v in enumerate(obj):
            item, sub = nan_to_null(v, f"{where}[{i}]")
            out.append(item)
            paths += sub
        return out, paths
    return obj, []


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically. numpy arrays and scalars become lists/numbers."""
    write_atomic(path, to_json_bytes(obj))


def read_json(path: Path) -> Any:
    with open(path, "rb") as f:
        return json.load(f)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
