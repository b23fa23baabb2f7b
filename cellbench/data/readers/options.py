"""How to read a tracks file: units, column mapping and format, checked once (:class:`ReadOptions`).

Every command that reads tracks takes the same options (``--pixel-um``, ``--position-units``,
``--frame-interval-s``, ``--columns``, ``--format``, ``--drop-z``); they travel as one
:class:`ReadOptions` to :func:`cellbench.data.readers.read_tracks` and into a run's
``config.json``. Errors name the option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cellbench.errors import ConfigError, TracksFormatError
from cellbench.data.readers.common import to_um_factor

ROLES: dict[str, str] = {
    "track": "track id (integer)",
    "frame": "frame index (integer)",
    "time_s": "time in s (converted to a frame index with --frame-interval-s)",
    "x": "x position",
    "y": "y position",
    "z": "z position (dropped when constant; --drop-z projects varying z)",
    "parent": "track id of the mother track (-1 or empty: none)",
    "radius": "cell radius (same unit as the positions)",
}
"""What a column of a tracks table can hold: the keys of ``--columns``."""

FORMATS: dict[str, str] = {
    "trackmate": "TrackMate spots CSV or XML",
    "napari": "napari tracks layer table: track_id, t, (z,) y, x",
    "ultrack": "Ultrack tracks CSV/parquet: napari's columns plus parent_track_id",
    "laptrack": "laptrack track_df: frame, track_id, position_x, position_y",
    "btrack": "btrack CSV export: ID t x y z parent ... dummy (space-separated)",
    "generic": "any CSV/parquet, columns named by --columns",
    "geff": "graph exchange file format (a zarr folder; pip install 'cellbench[geff]')",
}
"""The names ``--format`` accepts."""

POSITION_UNITS = ("px", "um", "nm", "mm")


@dataclass(frozen=True)
class ReadOptions:
    """Units, column mapping and format of a tracks file, as the command line gives them.

    Parameters
    ----------
    pixel_um : um per pixel, for positions in pixels (> 0).
    position_units : unit of positions in a file that states none: ``px`` (needs ``pixel_um``),
        ``um``, ``nm`` or ``mm`` (TrackMate's ``micron`` and ``pixel`` are read too).
    frame_interval_s : s between frames (> 0): sets ``t_s`` and converts a ``time_s`` column to
        frame indices.
    columns : ``{role: column name}`` (roles in :data:`ROLES`), the whole mapping for
        ``format='generic'``, else overrides of the format's own names.
    format : a key of :data:`FORMATS`, or None to pick by suffix and header.
    drop_z : project positions onto the x-y plane when a z column varies (refused otherwise).
    """

    pixel_um: float | None = None
    position_units: str | None = None
    frame_interval_s: float | None = None
    columns: dict[str, str] | None = None
    format: str | None = None
    drop_z: bool = False

    def __post_init__(self):
        for name, value in (("--pixel-um", self.pixel_um), ("--frame-interval-s", self.frame_interval_s)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} {value}: must be a finite number > 0")
        if self.position_units is not None:
            try:
                to_um_factor(self.position_units, 1.0, "--position-units")
            except TracksFormatError:
                raise ConfigError(f"--position-units {self.position_units!r}: choose one of "
                                  f"{', '.join(POSITION_UNITS)}") from None
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError(f"--format {self.format!r}: choose one of {', '.join(FORMATS)}")
        if self.columns is not None:
            object.__setattr__(self, "columns", check_columns(dict(self.columns)))
        if self.format == "generic" and not self.columns:
            raise ConfigError("--format generic: give the columns with --columns track=COL,frame=COL,x=COL,y=COL")

    def beyond_pixel_um(self) -> ReadOptions | None:
        """These options when they say more than the pixel size, else None.

        A run keeps ``pixel_um`` in its own field; the rest goes into its config only when given,
        so the config of a run without them reads as before.
        """
        return None if replace(self, pixel_um=None) == ReadOptions() else self


def check_columns(columns: dict[str, str]) -> dict[str, str]:
    """A ``{role: column}`` mapping with known roles and distinct, non-empty column names."""
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise ConfigError(f"--columns: unknown role(s) {unknown}; the roles are {', '.join(ROLES)}")
    empty = [role for role, col in columns.items() if not str(col).strip()]
    if empty:
        raise ConfigError(f"--columns: no column name for {', '.join(empty)} (write role=COLUMN)")
    seen: dict[str, str] = {}
    for role, col in columns.items():
        if col in seen:
            raise ConfigError(f"--columns: column {col!r} is given for both {seen[col]} and {role}")
        seen[col] = role
    return {role: str(col) for role, col in columns.items()}


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``'track=TRACK,frame=t,x=x,y=y'`` -> ``{'track': 'TRACK', ...}``; None for None or blank text."""
    if text is None or not text.strip():
        return None
    out: dict[str, str] = {}
    for item in text.split(","):
        role, sep, col = item.partition("=")
        role = role.strip()
        if not sep:
            raise ConfigError(f"--columns {text!r}: {item.strip()!r} is not role=COLUMN "
                              f"(e.g. track=TRACK_ID,frame=t,x=x,y=y)")
        if role in out:
            raise ConfigError(f"--columns {text!r}: {role} is given twice")
        out[role] = col.strip()
    return check_columns(out)
