"""What every reader shares: text decoding, leak-column filtering, unit conversion, source metadata."""

from __future__ import annotations

import codecs
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


class TextEncodingWarning(UserWarning):
    """A text file was not UTF-8; it was read in the encoding the warning names."""


_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _position(data: bytes, at: int, unit: str) -> str:
    """``'row 4, byte 12'``: where byte ``at`` lies, counting lines from 1 and bytes in the line from 1."""
    line_start = data.rfind(b"\n", 0, at) + 1
    line = data.count(b"\n", 0, at) + 1
    return f"{unit} {line}, byte {at - line_start + 1}"


def decode_text(data: bytes, where: str, unit: str = "row") -> str:
    """The text of a file, in UTF-8 or in the encoding its bytes show, never with replaced bytes.

    UTF-8 (with or without a byte-order mark) is read silently. A UTF-16 or UTF-32 byte-order
    mark, UTF-16 without one (every other byte NUL), or bytes that are not UTF-8 (read as
    Latin-1, where ``0xb5`` is the micro sign of ``(µm)``) are read with a
    :class:`TextEncodingWarning` naming the file, the encoding and, for Latin-1, the first
    non-UTF-8 byte. A file holding both UTF-8 sequences and bytes that are not UTF-8 is
    refused: no single encoding reads it.

    Parameters
    ----------
    data : the file's bytes.
    where : the file, as errors and warnings name it.
    unit : what a line is called in messages (``'row'`` in a CSV, ``'line'`` elsewhere).

    Raises
    ------
    TracksFormatError
        naming the file, row and byte, for bytes that are not text (a NUL byte outside UTF-16),
        a byte-order mark followed by bytes invalid in its encoding, or mixed encodings.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as err:
                at = err.start + (len(bom) if codec == "utf-8-sig" else 0)
                raise TracksFormatError(
                    f"{where}, {_position(data, at, unit)}: the file starts with a {label} byte-order mark, but this "
                    f"byte is not {label} (a corrupt or truncated file?)"
                ) from err
            if label != "UTF-8":
                warnings.warn(f"{where}: read as {label} (byte-order mark); cellbench expects UTF-8 text",
                              TextEncodingWarning, stacklevel=3)
            return text.removeprefix("\ufeff")
    nul = data.find(b"\x00")
    if nul >= 0:
        odd, even = data[1::2], data[0::2]
        for codec, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if len(data) % 2 == 0 and zeros.count(0) > 0.4 * len(zeros) and other.count(0) == 0:
                try:
                    text = data.decode(codec)
                except UnicodeDecodeError:
                    break
                warnings.warn(f"{where}: read as {codec.upper()} (no byte-order mark; every other byte is NUL); "
                              f"cellbench expects UTF-8 text", TextEncodingWarning, stacklevel=3)
                return text
        raise TracksFormatError(
            f"{where}, {_position(data, nul, unit)}: NUL byte; this is not a text file (binary, or an "
            f"unsupported encoding)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = data[err.start]
        multibyte = _UTF8_MULTIBYTE.search(data)
        if multibyte is not None:
            raise TracksFormatError(
                f"{where}, {_position(data, err.start, unit)}: byte 0x{bad:02x} is not UTF-8, but "
                f"{_position(data, multibyte.start(), unit)} holds UTF-8 text: the file mixes encodings (corrupt?); "
                f"save it as UTF-8"
            ) from err
        warnings.warn(
            f"{where}, {_position(data, err.start, unit)}: byte 0x{bad:02x} is not UTF-8; read the file as Latin-1 "
            f"(ISO-8859-1), where it is {chr(bad)!r}; save the file as UTF-8 to be sure of its text",
            TextEncodingWarning,
            stacklevel=3,
        )
        return data.decode("latin-1")


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
                + ("" if u else " if they are in pixels; if they are in um, export the 4-header-row TrackMate "
                                "spots CSV, whose units row says so")
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
