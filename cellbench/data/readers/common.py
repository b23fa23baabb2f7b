"""What every reader shares: leak-column filtering, unit conversion, source metadata."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import TracksFormatError
from cellbench.io import sha256_file

# Columns that describe a whole track or the link to the next spot: they leak the target
# y^t = x^{t+1} - x^t (or future frames) into features, so readers drop them.
_LEAK_PATTERNS = [
    r"^TRACK_(?!ID$)",  # TrackMate track-level features (TRACK_DURATION, TRACK_MEAN_SPEED, ...)
    r"^EDGE_",
    r"^SPOT_(SOURCE|TARGET)_ID$",
    r"DISPLACEMENT",
    r"SPEED",
    r"VELOCITY",
    r"DIRECTIONAL_CHANGE",
    r"LINK_COST",
    r"^MANUAL_",
]
_LEAK_RE = re.compile("|".join(_LEAK_PATTERNS), re.IGNORECASE)


class LeakColumnWarning(UserWarning):
    """Columns were dropped because they describe the future of a track."""


def leak_columns(columns) -> list[str]:
    """Names among ``columns`` that are track-level or future-looking (they leak the target)."""
    return [c for c in columns if _LEAK_RE.search(str(c))]


def drop_leak_columns(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Drop the columns of :func:`leak_columns`, with one warning that lists them."""
    leaks = leak_columns(df.columns)
    if leaks:
        warnings.warn(
            f"{where}: dropped {len(leaks)} track-level or future-looking column(s) that would leak the "
            f"target: {leaks}",
            LeakColumnWarning,
            stacklevel=3,
        )
        df = df.drop(columns=leaks)
    return df


def to_um_factor(unit: str | None, pixel_um: float | None, where: str, what: str = "positions") -> float:
    """Factor turning a length in ``unit`` into um.

    ``unit`` is the file's spatial unit (``'micron'``, ``'um'``, ``'pixel'``, ``'nm'``, ``'mm'``),
    or None when the file states none. Pixels need ``pixel_um``; an unknown unit is refused.
    """
    u = (unit or "").strip().strip("()").lower()
    if u in {"micron", "microns", "um", "µm", "μm", "micrometer", "micrometre"}:
        return 1.0
    if u in {"nm", "nanometer", "nanometre"}:
        return 1e-3
    if u in {"mm", "millimeter", "millimetre"}:
        return 1e3
    if u in {"pixel", "pixels", "px", ""}:
        if pixel_um is None:
            stated = "are in pixels" if u else "state no unit"
            raise TracksFormatError(
                f"{where}: {what} {stated} and no pixel size is known; pass --pixel-um (um per pixel)"
                + ("" if u else " or, if the values are already in um, --position-units um")
            )
        return float(pixel_um)
    raise TracksFormatError(f"{where}: unknown spatial unit {unit!r} for {what} (expected micron, nm, mm or pixel)")


def to_s_factor(unit: str | None, frame_interval_s: float | None) -> float | None:
    """Factor turning a time in ``unit`` into s; None when it cannot be known."""
    u = (unit or "").strip().strip("()").lower()
    if u in {"sec", "s", "second", "seconds"}:
        return 1.0
    if u in {"min", "minute", "minutes"}:
        return 60.0
    if u in {"h", "hr", "hour", "hours"}:
        return 3600.0
    if u in {"ms", "millisecond", "milliseconds"}:
        return 1e-3
    if u in {"frame", "frames"} and frame_interval_s is not None:
        return float(frame_interval_s)
    return None


def infer_frame_interval_s(frame: np.ndarray, t_s: np.ndarray) -> float | None:
    """Median of (t_s / frame) over spots with frame > 0; None if it cannot be inferred."""
    ok = frame > 0
    if not ok.any():
        return None
    dt = np.median(t_s[ok] / frame[ok])
    return float(dt) if np.isfinite(dt) and dt > 0 else None


def source_fields(path: Path) -> dict:
    """``source_path`` and ``source_sha256`` for a TracksMeta."""
    return {"source_path": str(path), "source_sha256": sha256_file(path)}


def require_file(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise TracksFormatError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise TracksFormatError(f"{path}: the file is empty")
    return path
