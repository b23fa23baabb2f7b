"""A raw table read through a column mapping -> :class:`~cellbench.data.tracks.Tracks`.

One path for every table that is not TrackMate's: a napari, Ultrack, laptrack or btrack export,
a CSV or parquet named with ``--columns``, and the nodes of a geff graph. The mapping
(:class:`~cellbench.data.readers.formats.FormatSpec`) says which column holds each role; units
come from the file when it states them, else from ``--position-units`` / ``--pixel-um``.
Values are checked by :func:`~cellbench.data.tracks.Tracks.from_table`, so errors name the
file, its row and its own column name.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cellbench.errors import TracksFormatError
from cellbench.data.readers.column_table import ColumnTable
from cellbench.data.readers.common import to_um_factor
from cellbench.data.readers.formats import FormatSpec
from cellbench.data.readers.options import ReadOptions
from cellbench.data.tracks import NO_PARENT, Tracks, TracksMeta

_WHOLE_FRAME = 1e-3
"""A time may miss a whole number of frame intervals by this fraction of a frame (rounding in the file)."""


class FormatDetectedWarning(UserWarning):
    """No --format was given: the file's header chose the format the warning names."""


def _numbers(table: ColumnTable, col: str, allow_empty: bool = False) -> np.ndarray:
    """Column ``col`` as float64; a value that is not a number is refused naming its row."""
    raw = table.df[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values)
    if allow_empty:
        bad &= ~(raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TracksFormatError(f"{table.where}, row {table.file_rows[i]}: column {col!r} is {raw.iloc[i]!r} "
                                f"(expected a number)")
    return values


def _same_unit(a: str, b: str) -> bool:
    """Whether two length units are the same (pixels map to -1, which no length in um is)."""
    return to_um_factor(a, -1.0, "") == to_um_factor(b, -1.0, "")


def length_factor(stated: str | None, opts: ReadOptions, where: str, what: str) -> float:
    """um per unit of the positions: the unit the file states, else ``--position-units``, else pixels
    when ``--pixel-um`` is given; refused when nothing says it, or when the option contradicts the file."""
    if stated and opts.position_units and not _same_unit(stated, opts.position_units):
        raise TracksFormatError(f"{where}: {what} are in {stated!r} by the file's own metadata, but --position-units "
                                f"says {opts.position_units!r}; leave the option out")
    unit = stated or opts.position_units or ("px" if opts.pixel_um is not None else None)
    if unit is None:
        raise TracksFormatError(f"{where}: the file does not state the unit of its {what}; pass --position-units um "
                                f"(or nm, mm), or --pixel-um (um per pixel) when they are in pixels")
    return to_um_factor(unit, opts.pixel_um, where, what)


def _frame_interval_s(stated: float | None, opts: ReadOptions, where: str) -> float | None:
    given = opts.frame_interval_s
    if stated is not None and given is not None and not np.isclose(stated, given, rtol=1e-9, atol=0.0):
        raise TracksFormatError(f"{where}: the file's frame interval is {stated:g} s, but --frame-interval-s says "
                                f"{given:g} s; leave the option out")
    return given if given is not None else stated


def _drop_flagged(table: ColumnTable, spec: FormatSpec) -> ColumnTable:
    """The rows whose ``spec.drop_flag`` column is 0 (btrack's dummies are the tracker's guesses, not data)."""
    if spec.drop_flag is None or spec.drop_flag not in table.df.columns:
        return table
    flagged = _numbers(table, spec.drop_flag) != 0
    if flagged.all():
        raise TracksFormatError(f"{table.where}: every row has {spec.drop_flag} = 1 (no detected position)")
    if flagged.any():
        warnings.warn(f"{table.where}: dropped {int(flagged.sum())} row(s) with {spec.drop_flag} = 1: positions the "
                      f"tracker filled in where nothing was detected (the track has a gap there instead)", stacklevel=4)
    keep = ~flagged
    return ColumnTable(table.df[keep].reset_index(drop=True), table.file_rows[keep], table.where)


def _frames(table: ColumnTable, cols: dict[str, str], dt_s: float | None) -> dict[str, object]:
    """``frame`` (as in the file, checked later) and ``t_s`` columns, from a frame or a time column."""
    if "time_s" not in cols:
        out: dict[str, object] = {"frame": table.df[cols["frame"]].to_numpy()}
        if dt_s is not None:
            out["t_s"] = _numbers(table, cols["frame"]) * dt_s
        return out
    col = cols["time_s"]
    t_s = _numbers(table, col)
    if dt_s is None:
        raise TracksFormatError(f"{table.where}: column {col!r} holds times in s; pass --frame-interval-s to turn them "
                                f"into frame indices")
    frames = t_s / dt_s
    off = np.abs(frames - np.round(frames)) > _WHOLE_FRAME
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise TracksFormatError(f"{table.where}, row {table.file_rows[i]}: column {col!r} is {t_s[i]:g} s, "
                                f"{frames[i]:.3f} frames of {dt_s:g} s (--frame-interval-s): not a whole frame")
    return {"frame": np.round(frames), "t_s": t_s}


def _planar(table: ColumnTable, col: str, opts: ReadOptions) -> None:
    """Accept a z column that is constant, or any with ``--drop-z``; refuse one that varies."""
    z = _numbers(table, col)
    moved = np.flatnonzero(z != z[0])
    if not moved.size:
        return
    i = int(moved[0])
    if not opts.drop_z:
        raise TracksFormatError(
            f"{table.where}, rows {table.file_rows[0]}, {table.file_rows[i]}: column {col!r} varies ({z[0]:g} and "
            f"{z[i]:g}); cellbench reads 2D tracks: pass --drop-z to project them onto the x-y plane")
    warnings.warn(f"{table.where}: --drop-z: column {col!r} (from {z.min():g} to {z.max():g}) is dropped; positions "
                  f"are projected onto the x-y plane", stacklevel=4)


def _parents(table: ColumnTable, cols: dict[str, str], spec: FormatSpec) -> np.ndarray:
    """``parent_id`` per row: the mother's track id, or :data:`NO_PARENT`; one value per track."""
    track = _numbers(table, cols["track"])
    parent = _numbers(table, cols["parent"], allow_empty=True)
    none = np.isnan(parent) | (parent < 0)
    if spec.parent_none == "self_or_zero":
        none |= (parent == track) | (parent == 0)
    parent = np.where(none, NO_PARENT, parent)
    col = cols["parent"]
    own = np.flatnonzero(parent == track)
    if own.size:
        raise TracksFormatError(f"{table.where}, row {table.file_rows[own[0]]}: column {col!r} is {parent[own[0]]:g}, "
                                f"the row's own track (expected the mother's track id, or -1 for none)")
    per_track = pd.DataFrame({"t": track, "p": parent}).groupby("t")["p"].nunique()
    if (per_track > 1).any():
        tid = per_track.index[per_track.to_numpy() > 1][0]
        rows = table.file_rows[track == tid]
        raise TracksFormatError(f"{table.where}, rows {', '.join(map(str, rows[:5]))}: column {col!r} differs within "
                                f"track {tid:g} (a track has one mother)")
    unknown = (parent != NO_PARENT) & ~np.isin(parent, track)
    if unknown.any():
        warnings.warn(f"{table.where}: {len(np.unique(parent[unknown]))} mother track(s) in column {col!r} are not in "
                      f"the table (e.g. {parent[unknown][0]:g}); their daughters are read without a mother",
                      stacklevel=4)
        parent = np.where(unknown, NO_PARENT, parent)
    return parent


def tracks_from_columns(table: ColumnTable, spec: FormatSpec, opts: ReadOptions, meta: dict,
                        length_unit: str | None = None, frame_interval_s: float | None = None,
                        detected: bool = False) -> Tracks:
    """Read ``table`` through ``spec``'s mapping.

    Parameters
    ----------
    meta : :class:`TracksMeta` fields the file gives (``dataset``, ``source_path``, ``source_sha256``,
        ``fov_um``).
    length_unit : the unit the file states for positions and radii (None: the table states none).
    frame_interval_s : the file's own frame interval in s, if it states one.
    detected : the format was chosen from the header (a :class:`FormatDetectedWarning` says so).

    Returns
    -------
    Tracks sorted by (frame, track_id), with ``t_s`` when the frame interval is known,
    ``radius_um`` and ``parent_id`` when mapped.
    """
    where = table.where
    missing = [f"{spec.columns[r]!r} ({r})" for r in spec.required if spec.columns[r] not in table.df.columns]
    if missing:
        names = list(map(str, table.df.columns))
        raise TracksFormatError(f"{where}: no column {', '.join(missing)} for a {spec.label}; its columns are "
                                f"{names[:12]}{' ...' if len(names) > 12 else ''} (name yours with --columns role=COLUMN)")
    if detected:
        shown = ", ".join(spec.columns[r] for r in spec.required)
        warnings.warn(f"{where}: read as format {spec.name} ({spec.label}; its header has {shown}); pass --format "
                      f"to read it as another format", FormatDetectedWarning, stacklevel=3)
    table = _drop_flagged(table, spec)
    cols = {role: col for role, col in spec.columns.items() if col in table.df.columns}
    um = length_factor(length_unit, opts, where, f"positions ({cols['x']!r}, {cols['y']!r})")
    dt_s = _frame_interval_s(frame_interval_s, opts, where)
    out: dict[str, object] = {"track_id": table.df[cols["track"]].to_numpy(), **_frames(table, cols, dt_s),
                              "x_um": _numbers(table, cols["x"]) * um, "y_um": _numbers(table, cols["y"]) * um}
    if "z" in cols:
        _planar(table, cols["z"], opts)
    if "radius" in cols:
        out["radius_um"] = _numbers(table, cols["radius"]) * um
    if "parent" in cols:
        out["parent_id"] = _parents(table, cols, spec)
    names = {"track_id": "track", "frame": "time_s" if "time_s" in cols else "frame", "x_um": "x", "y_um": "y",
             "radius_um": "radius", "parent_id": "parent", "t_s": "time_s" if "time_s" in cols else "frame"}
    column_names = {k: cols[role] for k, role in names.items() if role in cols}
    tracks_meta = TracksMeta(pixel_um=opts.pixel_um, frame_interval_s=dt_s, **meta)
    return Tracks.from_table(pd.DataFrame(out), tracks_meta, file_rows=table.file_rows, column_names=column_names)
