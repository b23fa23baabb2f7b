"""Column conventions of other trackers' tables, and picking one from a header.

Each :class:`FormatSpec` maps the roles of :data:`~cellbench.data.readers.options.ROLES` to the
column names one tool writes, with the source the names were read from. None of these tables
states the unit of its positions (they are usually the image's pixels), so they are read with
``--position-units`` or ``--pixel-um``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cellbench.errors import ConfigError, TracksFormatError
from cellbench.data.readers.options import ReadOptions

REQUIRED_ROLES = ("track", "x", "y")
"""Roles every mapping needs, besides one of ``frame`` and ``time_s``."""


@dataclass(frozen=True)
class FormatSpec:
    """One table convention.

    name, label : the ``--format`` name and what messages call the file.
    columns : ``{role: column name}``; ``required`` roles must be in the file (and name the
        format when its header is detected), the others are read when present.
    parent_none : how the parent column says "no mother": ``'negative'`` (-1, the default) or
        ``'self_or_zero'`` (btrack: a root's parent is its own ID or 0).
    drop_flag : a column whose non-zero rows are not observations and are dropped.
    source : where the convention is documented (or, when it is not, the code that writes it).
    """

    name: str
    label: str
    columns: dict[str, str]
    required: tuple[str, ...]
    parent_none: str = "negative"
    drop_flag: str | None = None
    source: str = ""

    def required_columns(self) -> set[str]:
        return {self.columns[r] for r in self.required}


BUILTIN: dict[str, FormatSpec] = {
    # napari.layers.Tracks docstring (napari.org/stable/api/napari.layers.Tracks.html): data is an
    # (N, D+1) array "ID,T,(Z),Y,X"; the column names are those of napari's gallery example
    # prepare_tracks.py and of Ultrack's to_tracks_layer. Positions are in the layer's data
    # coordinates (pixels unless the layer's scale was 1 um).
    "napari": FormatSpec("napari", "napari tracks table",
                         {"track": "track_id", "frame": "t", "z": "z", "y": "y", "x": "x"},
                         required=("track", "frame", "y", "x"),
                         source="napari.layers.Tracks: data (N, D+1) = ID, T, (Z), Y, X"),
    # royerlab/ultrack ultrack/core/export/tracks_layer.py to_tracks_layer: columns track_id, t,
    # (z,) y, x, id (node), parent_track_id, parent_id (node); written to .csv by
    # core/export/exporter.py export_tracks_by_extension and `ultrack export zarr-napari`
    # (cli/export.py); ultrack/utils/constants.py NO_PARENT = -1. Positions are in voxels.
    "ultrack": FormatSpec("ultrack", "Ultrack tracks table",
                          {"track": "track_id", "frame": "t", "z": "z", "y": "y", "x": "x",
                           "parent": "parent_track_id"},
                          required=("track", "frame", "y", "x", "parent"),
                          source="ultrack.core.export.tracks_layer.to_tracks_layer"),
    # yfukai/laptrack src/laptrack/_tracking.py LapTrack.predict_dataframe docstring: track_df
    # has "frame", "index", "track_id", "tree_id" and the coordinate columns of the input under
    # their own names; the docs' examples (docs/examples/api_example.ipynb, sample_data.csv) name
    # them position_x, position_y. Divisions are in a separate split_df, not in track_df.
    "laptrack": FormatSpec("laptrack", "laptrack track_df",
                           {"track": "track_id", "frame": "frame", "x": "position_x", "y": "position_y"},
                           required=("track", "frame", "x", "y"),
                           source="laptrack LapTrack.predict_dataframe (track_df)"),
    # quantumjot/btrack btrack/io/exporters.py export_CSV: csv.writer(delimiter=" "), header
    # constants.DEFAULT_EXPORT_PROPERTIES = ID t x y z parent root state generation dummy;
    # btypes.Tracklet.is_root: parent 0, None or the track's own ID means a root; dummy objects
    # are positions the tracker inserted where nothing was detected. btrack's user guide
    # documents HDF5 only: this layout is read from the code.
    "btrack": FormatSpec("btrack", "btrack CSV export",
                         {"track": "ID", "frame": "t", "x": "x", "y": "y", "z": "z", "parent": "parent"},
                         required=("track", "frame", "x", "y"), parent_none="self_or_zero", drop_flag="dummy",
                         source="btrack.io.exporters.export_CSV"),
}
"""The conventions ``--format`` names and the header detection chooses from."""


def detect_format(names: list[str]) -> FormatSpec | None:
    """The built-in format whose required columns are all in ``names``; None if none is.

    When several match, the one whose required columns include every other match's wins
    (Ultrack's table is napari's plus ``parent_track_id``); otherwise the header is ambiguous.
    """
    have = set(names)
    hits = [spec for spec in BUILTIN.values() if spec.required_columns() <= have]
    widest = [s for s in hits if all(o.required_columns() <= s.required_columns() for o in hits)]
    if len(hits) > 1 and len(widest) != 1:
        raise TracksFormatError(f"the header {sorted(have)} fits several formats ({', '.join(s.name for s in hits)}): "
                                f"choose one with --format")
    return widest[0] if hits else None


def resolve_spec(opts: ReadOptions, names: list[str], where: str) -> tuple[FormatSpec, bool]:
    """The convention to read a table with columns ``names``, and whether it was detected.

    ``--format`` names it; ``--columns`` alone is a generic mapping; otherwise the header must
    match one built-in format. ``--columns`` overrides single names of a named format.
    """
    if opts.format in BUILTIN:
        spec = BUILTIN[opts.format]
    elif opts.format in (None, "generic") and opts.columns:
        spec = FormatSpec("generic", "tracks table", {}, required=())
    elif opts.format is None:
        try:
            spec = detect_format(names)
        except TracksFormatError as err:
            raise TracksFormatError(f"{where}, row 1: {err}") from None
        if spec is None:
            raise TracksFormatError(
                f"{where}, row 1: the columns {names[:12]}{' ...' if len(names) > 12 else ''} match no format cellbench "
                f"knows ({', '.join(BUILTIN)}, TrackMate); name them with --columns track=COL,frame=COL,x=COL,y=COL")
        return with_columns(spec, opts), True
    else:
        raise ConfigError(f"--format {opts.format}: does not read a column table such as {where}")
    return with_columns(spec, opts), False


def with_columns(spec: FormatSpec, opts: ReadOptions) -> FormatSpec:
    """``spec`` with the names of ``--columns`` put in; the roles given there become required."""
    given = opts.columns or {}
    columns = {**spec.columns, **given}
    required = tuple(dict.fromkeys([*spec.required, *given]))
    missing = [r for r in REQUIRED_ROLES if r not in columns]
    if "frame" not in columns and "time_s" not in columns:
        missing.append("frame (or time_s)")
    if missing:
        raise ConfigError(f"--columns: name the column of {', '.join(missing)} (e.g. track=TRACK_ID,frame=t,x=x,y=y)")
    if "frame" in given and "time_s" in given:
        raise ConfigError("--columns: give frame or time_s, not both")
    if "time_s" in given:  # a time column replaces the format's frame column
        columns.pop("frame", None)
        required = tuple(r for r in required if r != "frame")
    return FormatSpec(spec.name, spec.label, columns, required, spec.parent_none, spec.drop_flag, spec.source)
