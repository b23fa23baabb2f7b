"""The columns of a tracks table and their checks (:func:`validate_table`), shared by every reader.

:class:`~cellbench.data.tracks.Tracks` wraps a table that passed :func:`validate_table`; the
canonical parquet's column types are checked by :func:`check_parquet_types` before its values
are read. See :mod:`cellbench.data.tracks` for the meaning of the columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from cellbench.errors import TracksFormatError

REQUIRED_COLUMNS: dict[str, str] = {"track_id": "int64", "frame": "int64", "x_um": "float64", "y_um": "float64"}
OPTIONAL_COLUMNS: dict[str, str] = {"t_s": "float64", "radius_um": "float64", "parent_id": "int64"}
NO_PARENT = -1
MAX_ABS_COORD_UM = 1e7  # 10 m: anything larger is a unit or parsing error, not a cell position
MAX_FRAME = 2**53
"""Largest frame index accepted: exact in float64 (``t_s = frame * dt_s``, split cuts), and far
from int64 overflow when frames are shifted by a lag. Frames may be sparse up to here: every
consumer costs memory in proportion to the rows, not to the frame numbers."""
_INT64_MAX = np.iinfo(np.int64).max
_FLOAT_INT_MAX = 2.0**53  # integers stored as floats (a CSV's "3.0") are exact up to here


def _rows_text(rows: np.ndarray, limit: int = 5) -> str:
    rows = [int(r) for r in rows]
    head = ", ".join(str(r) for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return f"row {head}" if len(rows) == 1 else f"rows {head}{more}"


def validate_table(
    df: pd.DataFrame,
    where: str,
    file_rows: np.ndarray | None = None,
    check_sorted: bool = True,
    column_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Check a tracks table and return it with canonical dtypes and a fresh RangeIndex.

    Parameters
    ----------
    df : table with at least the columns of :data:`REQUIRED_COLUMNS`.
    where : what to name in errors (a file path or a dataset name).
    file_rows : (n_rows,) row number of each table row as seen in the source file (headers
        counted, 1-based). Defaults to the 1-based position in ``df``.
    column_names : the source file's name of each table column (e.g. ``{"x_um": "POSITION_X"}``),
        used in errors so that they name what the user sees in the file.

    Raises
    ------
    TracksFormatError
        naming ``where``, the first offending row(s) and the column, for: a missing column,
        a non-numeric (or boolean), NaN, infinite or absurdly large coordinate, a non-integer or
        negative frame, a frame beyond :data:`MAX_FRAME`, a non-integer track id, an integer beyond int64 (or a float beyond
        2**53 where an integer is expected), a duplicated (track_id, frame), rows not sorted by
        (frame, track_id) (only when ``check_sorted``), or an empty table. Integer columns
        stay integers throughout (never rounded through float64).
    """
    if file_rows is None:
        file_rows = np.arange(1, len(df) + 1)
    file_rows = np.asarray(file_rows)
    names = column_names or {}

    def name(col: str) -> str:
        return f"'{names[col]}'" if col in names else f"'{col}'"

    def refuse(bad: np.ndarray, col: str, what) -> None:
        """Raise naming the file rows where ``bad`` holds; ``what(i)`` says what row i holds and what was expected."""
        if bad.any():
            first = np.flatnonzero(bad)
            raise TracksFormatError(f"{where}, {_rows_text(file_rows[first])}: column {name(col)} is {what(first[0])}")

    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise TracksFormatError(f"{where}: missing column(s) {missing}; a tracks table needs {list(REQUIRED_COLUMNS)}")
    if len(df) == 0:
        raise TracksFormatError(f"{where}: no rows (no spots): a tracks table needs at least one spot")
    out = df.reset_index(drop=True).copy()

    int_cols = ["track_id", "frame"] + (["parent_id"] if "parent_id" in out.columns else [])
    for col in ["track_id", "frame", "x_um", "y_um", *[c for c in OPTIONAL_COLUMNS if c in out.columns]]:
        if pd.api.types.is_bool_dtype(out[col]):
            raise TracksFormatError(f"{where}: column {name(col)} holds booleans (expected numbers)")
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna().to_numpy() & out[col].notna().to_numpy()
        refuse(bad, col, lambda i: f"{out[col].iloc[i]!r} (expected a number)")
        if col in int_cols and values.dtype.kind in "iu" and not values.isna().any():
            v = values.to_numpy()
            big = np.flatnonzero(v > _INT64_MAX) if v.dtype.kind == "u" else np.empty(0, dtype=np.int64)
            if big.size:
                raise TracksFormatError(
                    f"{where}, {_rows_text(file_rows[big])}: column {name(col)} is {v[big[0]]}, beyond the int64 range "
                    f"(expected an integer below 2**63)"
                )
            out[col] = v.astype("int64")  # exact: integers never pass through float64
        else:
            out[col] = values.astype("float64")

    for col in ["x_um", "y_um"] + [c for c in ("t_s", "radius_um") if c in out.columns]:
        v = out[col].to_numpy()
        bad = ~np.isfinite(v)
        refuse(bad, col, lambda i: f"{float(v[i])!r} (expected a finite number)")
    for col in ["x_um", "y_um"]:
        v = out[col].to_numpy()
        bad = np.abs(v) > MAX_ABS_COORD_UM
        refuse(bad, col, lambda i: f"{v[i]:g} um, beyond +-{MAX_ABS_COORD_UM:g} um (wrong units or a corrupt value?)")

    for col in int_cols:
        v = out[col].to_numpy()
        if v.dtype.kind == "i":
            continue
        bad = ~np.isfinite(v) | (v != np.round(v))
        refuse(bad, col, lambda i: f"{float(v[i])!r} (expected an integer)")
        bad = np.abs(v) > _FLOAT_INT_MAX
        refuse(bad, col, lambda i: f"{float(v[i]):g}, beyond the integers that a float stores exactly "
                                   "(expected an integer of at most 2**53)")
        out[col] = v.astype("int64")
    bad = out["track_id"].to_numpy() < 0
    refuse(bad, "track_id", lambda i: f"{out['track_id'].iloc[i]} (expected >= 0; -1 means 'no parent' in parent_id)")
    bad = out["frame"].to_numpy() < 0
    refuse(bad, "frame", lambda i: f"{out['frame'].iloc[i]} (expected >= 0)")
    bad = out["frame"].to_numpy() > MAX_FRAME
    refuse(bad, "frame", lambda i: f"{out['frame'].iloc[i]} (expected a frame index of at most 2**53 = {MAX_FRAME}; "
                                   "a corrupt value?)")

    dup = pd.DataFrame({"t": out["track_id"].to_numpy(), "f": out["frame"].to_numpy()}).duplicated(keep=False).to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)
        r = out.iloc[first[0]]
        raise TracksFormatError(
            f"{where}, {_rows_text(file_rows[first])}: columns 'track_id', 'frame': (track_id {int(r.track_id)}, "
            f"frame {int(r.frame)}) appears more than once (each cell has one position per frame)"
        )

    if not check_sorted:
        return out
    f, tid = out["frame"].to_numpy(), out["track_id"].to_numpy()
    unsorted = np.flatnonzero((np.diff(f) < 0) | ((np.diff(f) == 0) & (np.diff(tid) < 0)))
    if len(unsorted):
        raise TracksFormatError(
            f"{where}, {_rows_text(file_rows[unsorted + 1])}: columns 'frame', 'track_id': rows are not sorted by "
            f"(frame, track_id); sort them (readers do this for you)"
        )
    return out


def sort_table(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Sort by (frame, track_id) stably; return the sorted table and the permutation used."""
    order = np.lexsort((df["track_id"].to_numpy(), df["frame"].to_numpy()))
    return df.iloc[order].reset_index(drop=True), order


def check_parquet_types(schema: pa.Schema, where: str) -> None:
    """Refuse table columns whose parquet type cannot hold their values.

    ``track_id``, ``frame`` and ``parent_id`` must be integers (or floats holding integers,
    checked row by row later); coordinates, ``t_s`` and ``radius_um`` integers or floats.
    Strings (numbers stored as text), booleans, dates and nested types are refused by name,
    instead of being converted silently.

    Raises
    ------
    TracksFormatError
        naming ``where``, the column, its type and what was expected.
    """
    for col, dtype in {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}.items():
        if col not in schema.names:
            continue
        t = schema.field(col).type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            text = pa.types.is_string(t) or pa.types.is_large_string(t)
            hint = " (numbers stored as text? write them as numbers)" if text else ""
            raise TracksFormatError(
                f"{where}: column '{col}' has parquet type {t}; expected {'an integer' if dtype == 'int64' else 'a number'}"
                f" type ({dtype}){hint}"
            )
