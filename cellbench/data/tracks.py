"""The ``Tracks`` table: one data model for real and simulated cell tracks.

Every producer (file readers, simulators) emits a :class:`Tracks`; every consumer (graphs,
splits, the prior, models) reads only :class:`Tracks`. One ``Tracks`` holds one sequence
(one movie); a dataset of several sequences is a list of them.

Columns
-------
``track_id`` (int64), ``frame`` (int64, 0-based frame index), ``x_um``, ``y_um`` (float64, um).
Optional: ``t_s`` (float64, s), ``radius_um`` (float64, um), ``parent_id`` (int64, the
``track_id`` of the mother track, :data:`NO_PARENT` = -1 when there is none), and any extra
numeric per-spot feature. Rows are sorted by ``(frame, track_id)``; ``(track_id, frame)`` is
unique.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cellbench.data.table import (  # noqa: F401  (the table schema, re-exported: import it from here)
    MAX_ABS_COORD_UM,
    MAX_FRAME,
    NO_PARENT,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    check_parquet_types,
    sort_table,
    validate_table,
)
from cellbench.errors import TracksFormatError
from cellbench.io import sha256_file, write_atomic_with

_META_KEY = b"cellbench.tracks_meta"


@dataclass(frozen=True)
class TracksMeta:
    """What a tracks table needs to be interpreted physically and traced to its source.

    Parameters
    ----------
    dataset : name of the sequence, e.g. ``"BF-C2DL-HSC_02"``.
    pixel_um : pixel size in um, when the data came from an image (None if unknown).
    frame_interval_s : time between frames in s (None if unknown).
    fov_um : field of view ``(x_min, y_min, x_max, y_max)`` in um (None if unknown).
    source_path, source_sha256 : the file the table was read from, and the sha256 of its bytes.
    extra : free-form JSON-serialisable facts (e.g. a simulator's well radius).
    """

    dataset: str
    pixel_um: float | None = None
    frame_interval_s: float | None = None
    fov_um: tuple[float, float, float, float] | None = None
    source_path: str | None = None
    source_sha256: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.pixel_um is not None and not (np.isfinite(self.pixel_um) and self.pixel_um > 0):
            raise TracksFormatError(f"{self.dataset}: pixel_um must be a finite number > 0 um, got {self.pixel_um}")
        if self.frame_interval_s is not None and not (np.isfinite(self.frame_interval_s) and self.frame_interval_s > 0):
            raise TracksFormatError(
                f"{self.dataset}: frame_interval_s must be a finite number > 0 s, got {self.frame_interval_s}"
            )
        if self.fov_um is not None:
            fov = tuple(float(v) for v in self.fov_um)
            if len(fov) != 4 or not all(np.isfinite(fov)) or fov[2] <= fov[0] or fov[3] <= fov[1]:
                raise TracksFormatError(
                    f"{self.dataset}: fov_um must be (x_min, y_min, x_max, y_max) in um with max > min, got {self.fov_um}"
                )
            object.__setattr__(self, "fov_um", fov)

    @property
    def where(self) -> str:
        """What errors name: the file the table was read from, else the dataset name."""
        return self.source_path or self.dataset

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TracksMeta":
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if kwargs.get("fov_um") is not None:
            kwargs["fov_um"] = tuple(kwargs["fov_um"])
        return cls(**kwargs)


@dataclass(frozen=True, eq=False)
class Tracks:
    """A validated tracks table plus its metadata. Construct it with :meth:`from_table`."""

    df: pd.DataFrame
    meta: TracksMeta

    def __post_init__(self):
        where = self.meta.where
        object.__setattr__(self, "df", validate_table(self.df, where))

    @classmethod
    def from_table(
        cls,
        df: pd.DataFrame,
        meta: TracksMeta,
        file_rows: np.ndarray | None = None,
        sort: bool = True,
        column_names: dict[str, str] | None = None,
    ) -> "Tracks":
        """Validate ``df`` (errors name rows as in the source file), sort it, and wrap it.

        Validation runs before sorting so that errors point at the file's own row numbers.
        """
        where = meta.where
        checked = validate_table(df, where, file_rows, check_sorted=not sort, column_names=column_names)
        if sort:
            checked, _ = sort_table(checked)
        return cls(checked, meta)

    # -- views ---------------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return len(self.df)

    @property
    def track_ids(self) -> np.ndarray:
        return np.unique(self.df["track_id"].to_numpy())

    @property
    def frames(self) -> np.ndarray:
        """Sorted unique frame indices that hold at least one cell."""
        return np.unique(self.df["frame"].to_numpy())

    def cells_per_frame(self) -> pd.Series:
        return self.df.groupby("frame").size()

    def positions_um(self) -> np.ndarray:
        """(n_rows, 2) positions in um, in table order."""
        return self.df[["x_um", "y_um"]].to_numpy()

    @property
    def periodic_box_um(self) -> float | None:
        """Side of the periodic box (um) when the recorded cells fill a periodic simulation box.

        Simulations record ``boundary: periodic`` and ``box_um`` in ``meta.extra``. When the field
        of view is a window inside the box (cells leave and enter it) the data are open, not
        periodic, and this is None; so it is for real data.
        """
        extra = self.meta.extra
        if not (extra.get("periodic") or extra.get("boundary") == "periodic") or "box_um" not in extra:
            return None
        box = float(extra["box_um"])
        fov = self.meta.fov_um
        covers = fov is None or (fov[0] <= 0 and fov[1] <= 0 and fov[2] >= box and fov[3] >= box)
        return box if covers else None

    def row_window(self, start: int, stop: int, xy_um: np.ndarray | None = None) -> "Tracks":
        """Rows ``[start, stop)`` of this (validated, sorted) table, optionally with new positions.

        A contiguous slice of a valid table is valid, so only the new positions are checked
        (finite); the full validation of :meth:`from_table` is skipped (rollouts cut thousands of
        windows). ``xy_um`` : (stop - start, 2) positions in um replacing ``x_um, y_um``.
        """
        df = self.df.iloc[start:stop].copy()
        if xy_um is not None:
            xy_um = np.asarray(xy_um, dtype=float)
            if xy_um.shape != (len(df), 2) or not np.all(np.isfinite(xy_um)):
                raise ValueError(f"{self.meta.where}: row_window needs ({len(df)}, 2) finite positions in um, "
                                 f"got shape {xy_um.shape}")
            df["x_um"], df["y_um"] = xy_um[:, 0], xy_um[:, 1]
        out = object.__new__(Tracks)
        object.__setattr__(out, "df", df)
        object.__setattr__(out, "meta", self.meta)
        return out

    def with_df(self, df: pd.DataFrame) -> "Tracks":
        """A new Tracks with the same metadata and another (validated) table."""
        return Tracks.from_table(df, self.meta)

    def __repr__(self) -> str:
        return (
            f"Tracks(dataset={self.meta.dataset!r}, rows={self.n_rows}, tracks={len(self.track_ids)}, "
            f"frames={len(self.frames)})"
        )

    # -- storage -------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the canonical parquet (metadata as JSON in the file's key-value metadata), atomically."""
        table = pa.Table.from_pandas(self.df, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(self.meta.to_dict()).encode()
        table = table.replace_schema_metadata(meta)
        write_atomic_with(Path(path), lambda tmp: pq.write_table(table, tmp))

    @classmethod
    def load(cls, path: Path) -> "Tracks":
        """Read a parquet written by :meth:`save`; round-trips the table and metadata exactly."""
        path = Path(path)
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise TracksFormatError(f"{path}: not a readable parquet file ({err})") from err
        check_parquet_types(table.schema, str(path))
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            meta = TracksMeta(dataset=path.stem, source_path=str(path), source_sha256=sha256_file(path))
        else:
            meta = TracksMeta.from_dict(json.loads(raw))
        df = table.to_pandas()
        where = str(path)
        return cls(validate_table(df, where, np.arange(1, len(df) + 1)), meta)
