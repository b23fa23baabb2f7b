"""Readers: every supported tracks format -> :class:`~cellbench.data.tracks.Tracks`.

``read_tracks`` picks the reader from the path: ``.csv`` TrackMate spots export, ``.xml``
TrackMate XML, ``.parquet`` the canonical table, and a Cell Tracking Challenge folder (or its
``man_track.txt`` / ``res_track.txt``) with label TIFF masks.
"""

from __future__ import annotations

from pathlib import Path

from cellbench.errors import TracksFormatError
from cellbench.data.tracks import Tracks

SUFFIXES = {".csv": "TrackMate spots CSV", ".xml": "TrackMate XML", ".parquet": "cellbench parquet"}


def read_tracks(
    path: Path,
    pixel_um: float | None = None,
    position_units: str | None = None,
    frame_interval_s: float | None = None,
    fov_um: tuple[float, float, float, float] | None = None,
) -> Tracks:
    """Read any supported tracks file or folder; errors name the file, row and column."""
    path = Path(path)
    if not path.exists():
        raise TracksFormatError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if path.is_dir() or path.name in ("man_track.txt", "res_track.txt"):
        from cellbench.data.readers.ctc import read_ctc

        return read_ctc(path, pixel_um=pixel_um, frame_interval_s=frame_interval_s, fov_um=fov_um)
    if suffix == ".csv":
        from cellbench.data.readers.trackmate_csv import read_trackmate_csv

        return read_trackmate_csv(
            path, pixel_um=pixel_um, position_units=position_units, frame_interval_s=frame_interval_s, fov_um=fov_um
        )
    if suffix == ".xml":
        from cellbench.data.readers.trackmate_xml import read_trackmate_xml

        return read_trackmate_xml(path, pixel_um=pixel_um, frame_interval_s=frame_interval_s, fov_um=fov_um)
    if suffix == ".parquet":
        return Tracks.load(path)
    raise TracksFormatError(
        f"{path}: unknown tracks format {suffix or '(no suffix)'!r}; expected one of {sorted(SUFFIXES)} "
        f"or a Cell Tracking Challenge folder with man_track.txt/res_track.txt"
    )
