"""Readers: every supported tracks format -> :class:`~cellbench.data.tracks.Tracks`.

``read_tracks`` picks the reader from the path and, for column tables, the header:

- ``.csv``: a TrackMate spots export (its header has ``TRACK_ID`` / ``POSITION_X``), else a
  napari, Ultrack, laptrack or btrack table recognised by its header (a
  :class:`~cellbench.data.readers.generic.FormatDetectedWarning` says which), else the columns
  named by ``--columns`` (:mod:`~cellbench.data.readers.formats`);
- ``.xml``: TrackMate XML;
- ``.parquet``: the canonical table, or a table of the formats above;
- a zarr folder: a geff graph (:mod:`~cellbench.data.readers.geff`, optional dependency);
- a Cell Tracking Challenge folder (or its ``man_track.txt`` / ``res_track.txt``) with label
  TIFF masks.

``--format`` (``format=``) names the format instead; the options are checked once in
:class:`~cellbench.data.readers.options.ReadOptions`.
"""

from __future__ import annotations

from pathlib import Path

from cellbench.errors import ConfigError, TracksFormatError
from cellbench.data.readers.options import ReadOptions
from cellbench.data.tracks import REQUIRED_COLUMNS, Tracks

SUFFIXES = {".csv": "TrackMate spots CSV or a column table", ".xml": "TrackMate XML",
            ".parquet": "cellbench parquet or a column table"}
_TRACKMATE_KEYS = {"TRACK_ID", "POSITION_X", "POSITION_Y"}


def read_tracks(
    path: Path,
    pixel_um: float | None = None,
    position_units: str | None = None,
    frame_interval_s: float | None = None,
    fov_um: tuple[float, float, float, float] | None = None,
    columns: dict[str, str] | None = None,
    format: str | None = None,
    drop_z: bool = False,
) -> Tracks:
    """Read any supported tracks file or folder; errors name the file, row and column.

    The options are those of :class:`~cellbench.data.readers.options.ReadOptions`; ``fov_um``
    is the field of view ``(x_min, y_min, x_max, y_max)`` in um, if known.
    """
    return read_with(Path(path), ReadOptions(pixel_um, position_units, frame_interval_s, columns, format, drop_z),
                     fov_um)


def read_with(path: Path, opts: ReadOptions | None = None,
              fov_um: tuple[float, float, float, float] | None = None) -> Tracks:
    """:func:`read_tracks` with its options as one :class:`ReadOptions` (None: the defaults)."""
    path, opts = Path(path), opts or ReadOptions()
    if not path.exists():
        raise TracksFormatError(f"{path}: no such file or folder")
    from cellbench.data.readers.geff import is_geff

    if opts.format == "geff" or is_geff(path):
        from cellbench.data.readers.geff import read_geff

        return read_geff(path, opts, fov_um)
    suffix = path.suffix.lower()
    tables = opts.columns or opts.format not in (None, "trackmate")
    if path.is_dir() or path.name in ("man_track.txt", "res_track.txt"):
        _refuse_table_options(opts, path, "a Cell Tracking Challenge folder")
        from cellbench.data.readers.ctc import read_ctc

        return read_ctc(path, pixel_um=opts.pixel_um, frame_interval_s=opts.frame_interval_s, fov_um=fov_um)
    if suffix == ".xml":
        _refuse_table_options(opts, path, "a TrackMate XML file")
        from cellbench.data.readers.trackmate_xml import read_trackmate_xml

        return read_trackmate_xml(path, pixel_um=opts.pixel_um, frame_interval_s=opts.frame_interval_s, fov_um=fov_um)
    if suffix == ".csv":
        if not tables and (opts.format == "trackmate" or _looks_trackmate(path)):
            _refuse_table_options(opts, path, "a TrackMate spots CSV")
            from cellbench.data.readers.trackmate_csv import read_trackmate_csv

            return read_trackmate_csv(path, pixel_um=opts.pixel_um, position_units=opts.position_units,
                                      frame_interval_s=opts.frame_interval_s, fov_um=fov_um)
        return _read_table(path, opts, fov_um)
    if suffix == ".parquet":
        if opts.format == "trackmate":
            raise ConfigError(f"--format trackmate: {path} is a parquet file (TrackMate writes CSV or XML)")
        if not tables and _is_canonical(path):
            return Tracks.load(path)
        return _read_table(path, opts, fov_um)
    raise TracksFormatError(
        f"{path}: unknown tracks format {suffix or '(no suffix)'!r}; expected one of {sorted(SUFFIXES)}, a geff (zarr) "
        f"folder, or a Cell Tracking Challenge folder with man_track.txt/res_track.txt"
    )


def _refuse_table_options(opts: ReadOptions, path: Path, what: str) -> None:
    if opts.columns or opts.format not in (None, "trackmate") or opts.drop_z:
        raise ConfigError(f"{path} is {what}: --columns, --format {opts.format or 'NAME'} and --drop-z apply to "
                          f"CSV, parquet and geff tables only")


def _looks_trackmate(path: Path) -> bool:
    """Whether a CSV's header names TrackMate columns (or cannot be read cheaply: the TrackMate reader, which
    reads every encoding and names every header problem, then takes it)."""
    from cellbench.data.readers.column_table import header_names

    names = header_names(path)
    return names is None or bool(_TRACKMATE_KEYS & set(names))


def _is_canonical(path: Path) -> bool:
    """Whether a parquet file holds the canonical table (or no known format: its own errors then apply)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cellbench.data.readers.formats import detect_format

    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError):  # not a parquet file: Tracks.load names the problem
        return True
    if set(REQUIRED_COLUMNS) <= set(names):
        return True
    try:
        return detect_format(names) is None
    except TracksFormatError:
        return False


def _read_table(path: Path, opts: ReadOptions, fov_um) -> Tracks:
    """A CSV or parquet column table through its format's mapping."""
    from cellbench.data.readers.column_table import read_column_table
    from cellbench.data.readers.common import source_fields
    from cellbench.data.readers.formats import resolve_spec
    from cellbench.data.readers.generic import tracks_from_columns

    table = read_column_table(path)
    spec, detected = resolve_spec(opts, [str(c) for c in table.df.columns], table.where)
    meta = {"dataset": path.stem, "fov_um": fov_um, **source_fields(path)}
    return tracks_from_columns(table, spec, opts, meta, detected=detected)
