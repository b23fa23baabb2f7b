"""TrackMate "spots" CSV export -> :class:`~cellbench.data.tracks.Tracks`.

Two layouts are read: the TrackMate 7 export with four header rows (feature keys, names,
short names, units) and a one-header-row variant (keys only). Units come from the units row
(``(micron)``, ``(pixel)``, ``(sec)``, ...); a file without one needs ``position_units`` or
``pixel_um``.

Text that is not UTF-8 is read in the encoding its bytes show, with a warning
(:func:`~cellbench.data.readers.common.decode_text`). Time and memory are linear in the file:
the header is split once, the table is built once (not column by column), and a header of
more than :data:`MAX_COLUMNS` columns is refused before the body is parsed.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import TracksFormatError
from cellbench.data.readers.common import (
    decode_text,
    drop_leak_columns,
    infer_frame_interval_s,
    require_file,
    source_fields,
    to_s_factor,
    to_um_factor,
)
from cellbench.data.tracks import NO_PARENT, Tracks, TracksMeta

REQUIRED_KEYS = ("TRACK_ID", "FRAME", "POSITION_X", "POSITION_Y")
_RENAMED = {"TRACK_ID": "track_id", "FRAME": "frame", "POSITION_X": "x_um", "POSITION_Y": "y_um"}
_DROPPED = {"LABEL", "ID", "POSITION_Z", "QUALITY", "VISIBILITY"}  # identifiers, 2D-irrelevant or constant
_CONVERTED = {"POSITION_T", "RADIUS", "AREA"}  # read with their units
MAX_COLUMNS = 20_000
"""Widest header read: a TrackMate spots export has 20 to 200 columns (about 8 per channel);
wider files are refused before their body is parsed (each column costs about 0.1 ms)."""
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_lines(text: str, n: int) -> list[str]:
    """The first ``n`` lines of ``text`` (fewer if it has fewer), without splitting the rest."""
    lines, start = [], 0
    for m in _LINE_BREAK.finditer(text):
        lines.append(text[start : m.start()])
        start = m.end()
        if len(lines) == n:
            return lines
    if start < len(text):
        lines.append(text[start:])
    return lines


def _fields(line: str) -> list[str]:
    """The comma-separated fields of one line (however long a field is)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(line) + 1))
    try:
        return next(csv.reader([line]), [])
    finally:
        csv.field_size_limit(limit)


def _check_unique(keys: list[str], where: str) -> None:
    """Refuse a header that names a column twice (which one would be read is a guess)."""
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key and key in seen:
            raise TracksFormatError(
                f"{where}, row 1: column {key[:80]!r}{'...' if len(key) > 80 else ''} appears twice (columns "
                f"{seen[key] + 1} and {i + 1}); a TrackMate export names each column once"
            )
        seen.setdefault(key, i)


def _header_rows(lines: list[str], x_col: int) -> int:
    """How many rows before the first data row (1 or 4, by whether POSITION_X parses as a number)."""
    n = 1
    for line in lines[1:4]:
        fields = _fields(line) if line.strip() else []
        text = fields[x_col].strip() if x_col < len(fields) else ""
        if text and not _looks_numeric(text):  # an empty value is a data row with a missing position
            n += 1
        else:
            break
    return n


def read_trackmate_csv(
    path: Path,
    pixel_um: float | None = None,
    position_units: str | None = None,
    frame_interval_s: float | None = None,
    fov_um: tuple[float, float, float, float] | None = None,
    dataset: str | None = None,
) -> Tracks:
    """Read a TrackMate spots CSV.

    Parameters
    ----------
    path : the CSV file.
    pixel_um : um per pixel; needed when positions are in pixels (converted to um).
    position_units : unit of POSITION_X/Y when the file has no units row (``'micron'`` or ``'pixel'``).
    frame_interval_s : s per frame; inferred from POSITION_T / FRAME when omitted.
    fov_um : field of view (x_min, y_min, x_max, y_max) in um, if known.
    dataset : sequence name; defaults to the file name without ``_spots``.

    Returns
    -------
    Tracks sorted by (frame, track_id). Spots without a track (empty TRACK_ID) are dropped
    with a warning; track-level columns (TRACK_*, EDGE_*, speeds) are dropped with a warning.
    """
    path = require_file(Path(path))
    where = str(path)
    text = decode_text(path.read_bytes(), where)
    lines = _first_lines(text, 4)
    if not lines or not lines[0].strip():
        raise TracksFormatError(f"{where}: the file is empty (expected a TrackMate spots CSV header row)")
    n_columns = lines[0].count(",") + 1  # counted before splitting: a 50 MB header is refused in one pass
    if n_columns > MAX_COLUMNS:
        raise TracksFormatError(
            f"{where}, row 1: the header has {n_columns:,} comma-separated columns; cellbench reads TrackMate spots "
            f"CSVs of at most {MAX_COLUMNS:,} columns (an export has 20 to 200): is this a corrupt file?"
        )
    keys = [k.strip() for k in _fields(lines[0])]
    _check_unique(keys, where)
    if len(keys) == 1:
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in lines[0]:
                raise TracksFormatError(
                    f"{where}, row 1: the header is {name}-separated; cellbench reads comma-separated TrackMate "
                    f"exports (re-export, or convert the delimiter to ',')"
                )
    missing = [k for k in REQUIRED_KEYS if k not in keys]
    if missing:
        raise TracksFormatError(
            f"{where}, row 1: missing column(s) {missing} (a TrackMate spots CSV needs {list(REQUIRED_KEYS)})"
        )
    n_header = _header_rows(lines, keys.index("POSITION_X"))
    units = None
    if n_header == 4:
        units = [u.strip() for u in _fields(lines[3])]
        units += [""] * (len(keys) - len(units))
    unit_of = dict(zip(keys, units)) if units else {}

    xy_unit = unit_of.get("POSITION_X") or position_units
    if xy_unit is None and pixel_um is not None:
        xy_unit = "pixel"
    um = to_um_factor(xy_unit, pixel_um, where, "POSITION_X/Y")

    try:
        df = pd.read_csv(
            io.StringIO(text), skiprows=list(range(1, n_header)), dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.ParserError as err:
        raise TracksFormatError(f"{where}: not a readable CSV ({' '.join(str(err).split())})") from err
    df.columns = [c.strip() for c in df.columns]
    file_rows = np.arange(len(df)) + n_header + 1
    if len(df) == 0:
        raise TracksFormatError(f"{where}: the header has no spot rows below it")
    del text

    no_track = df["TRACK_ID"].str.strip().isin(["", "None", "NaN", "nan"]).to_numpy()
    if no_track.all():
        raise TracksFormatError(f"{where}: no spot belongs to a track (column 'TRACK_ID' is empty in every row)")
    if no_track.any():
        warnings.warn(f"{where}: dropped {int(no_track.sum())} spot(s) that belong to no track (empty TRACK_ID)")
        df, file_rows = df[~no_track], file_rows[~no_track]

    df = drop_leak_columns(df, where).reset_index(drop=True)
    out = {new: df[old] for old, new in _RENAMED.items()}  # columns in table order; one DataFrame at the end
    for key, col in (("POSITION_X", "x_um"), ("POSITION_Y", "y_um")):
        out[col] = _numeric(out[col], key, where, file_rows) * um
    if "POSITION_T" in df.columns:
        t = _numeric(df["POSITION_T"], "POSITION_T", where, file_rows)
        s = to_s_factor(unit_of.get("POSITION_T"), frame_interval_s)  # no units row: unit unknown
        if s is not None:
            out["t_s"] = t * s
        elif units is None:
            warnings.warn(
                f"{where}: POSITION_T has no unit (no units row); t_s is left out (export the 4-header-row TrackMate "
                f"spots CSV, whose units row gives it)"
            )
    if "RADIUS" in df.columns:
        r_unit = unit_of.get("RADIUS") or xy_unit
        out["radius_um"] = _numeric(df["RADIUS"], "RADIUS", where, file_rows) * to_um_factor(
            r_unit, pixel_um, where, "RADIUS"
        )
    if "AREA" in df.columns:
        a_unit = (unit_of.get("AREA") or "").strip("()").removesuffix("^2") or xy_unit
        a_um = to_um_factor(a_unit, pixel_um, where, "AREA")
        out["area_um2"] = _numeric(df["AREA"], "AREA", where, file_rows) * a_um**2
    taken = []
    for col in df.columns:
        if col in _RENAMED or col in _DROPPED or col in _CONVERTED:
            continue
        if col.lower() in out or col.lower() == "parent_id":
            taken.append(col)
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        if values.notna().all():
            out[col.lower()] = values.to_numpy(dtype="float64")
    if taken:
        warnings.warn(f"{where}: left out column(s) {taken}: their names are taken by the table's own columns")
    out["parent_id"] = np.full(len(df), NO_PARENT, dtype=np.int64)  # the spots export carries no division links
    out = pd.DataFrame(out)

    if frame_interval_s is None and "t_s" in out.columns:
        frame = pd.to_numeric(out["frame"], errors="coerce").to_numpy(dtype=float)
        frame_interval_s = infer_frame_interval_s(frame, out["t_s"].to_numpy(dtype=float))
    meta = TracksMeta(
        dataset=dataset or path.stem.removesuffix("_spots"),
        pixel_um=pixel_um,
        frame_interval_s=frame_interval_s,
        fov_um=fov_um,
        **source_fields(path),
    )
    return Tracks.from_table(out, meta, file_rows=file_rows, column_names={v: k for k, v in _RENAMED.items()})


def _numeric(col: pd.Series, name: str, where: str, file_rows: np.ndarray) -> pd.Series:
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TracksFormatError(
            f"{where}, row {file_rows[i]}: column '{name}' is {col.iloc[i]!r} (expected a number)"
        )
    return values.astype("float64")
