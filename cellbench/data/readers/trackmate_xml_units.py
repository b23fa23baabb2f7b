"""TrackMate XML, step 3: units of positions, times and spot features (see the "Units" section of
:mod:`cellbench.data.readers.trackmate_xml`)."""

from __future__ import annotations

import warnings

import numpy as np

from cellbench.data.readers.common import to_s_factor, to_um_factor
from cellbench.data.readers.trackmate_xml_document import TrackMateDocument
from cellbench.errors import TracksFormatError

_REL_TOL = 1e-6  # relative difference above which an explicit calibration "contradicts" the file


class CalibrationWarning(UserWarning):
    """An explicit pixel size or frame interval overrode a different one stated in the file."""


def _attr_float(attrs: dict | None, name: str) -> float | None:
    try:
        v = float((attrs or {})[name])
    except (KeyError, TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > _REL_TOL * max(abs(a), abs(b))


def length_factor(doc: TrackMateDocument, pixel_um: float | None, where: str) -> tuple[float, float | None]:
    """(um per file length unit, pixel size in um for the metadata)."""
    unit = doc.model.get("spatialunits")
    what = f"spot positions (Model spatialunits={unit!r})"
    try:
        um_per_unit = to_um_factor(unit, None, where, what)
    except TracksFormatError:
        return to_um_factor(unit, pixel_um, where, what), pixel_um  # pixels: needs pixel_um (raises without)
    width = _attr_float(doc.image_data, "pixelwidth")
    file_pixel_um = None if width is None else width * um_per_unit
    if pixel_um is None:
        return um_per_unit, file_pixel_um
    if file_pixel_um is not None and _differs(pixel_um, file_pixel_um):
        warnings.warn(
            f"{where}: pixel_um={pixel_um} contradicts the file's calibration (ImageData pixelwidth={width} {unit}, "
            f"i.e. {file_pixel_um:g} um); using pixel_um and rescaling positions by {pixel_um / file_pixel_um:g}",
            CalibrationWarning,
            stacklevel=3,
        )
        return pixel_um / width, pixel_um
    return um_per_unit, pixel_um


def time_factor(doc: TrackMateDocument, frame_interval_s: float | None,
                where: str) -> tuple[float | None, float | None]:
    """(s per file time unit or None, frame interval in s for the metadata or None)."""
    unit = doc.model.get("timeunits")
    s_per_unit = to_s_factor(unit, None)
    interval = _attr_float(doc.image_data, "timeinterval")
    if uncalibrated(doc):  # ImageJ's defaults: POSITION_T counts frames, the interval is unknown
        return (None, None) if frame_interval_s is None else (frame_interval_s / interval, frame_interval_s)
    file_dt_s = None if s_per_unit is None or interval is None else interval * s_per_unit
    if frame_interval_s is None:
        return s_per_unit, file_dt_s
    if file_dt_s is not None and _differs(frame_interval_s, file_dt_s):
        warnings.warn(
            f"{where}: frame_interval_s={frame_interval_s} contradicts the file's calibration (ImageData "
            f"timeinterval={interval} {unit}, i.e. {file_dt_s:g} s); using frame_interval_s and rescaling POSITION_T",
            CalibrationWarning,
            stacklevel=3,
        )
        return frame_interval_s / interval, frame_interval_s
    return to_s_factor(unit, frame_interval_s), frame_interval_s


def uncalibrated(doc: TrackMateDocument) -> bool:
    """True for a movie without calibration: TrackMate then writes spatialunits 'pixel' and
    ImageJ's default frame interval, ``timeinterval="1.0"`` (in 'sec')."""
    u = (doc.model.get("spatialunits") or "").strip().lower()
    return u in ("pixel", "pixels", "px", "") and _attr_float(doc.image_data, "timeinterval") == 1.0


def feature_column(name: str, dimension: str, length_um: float, time_s: float | None) -> tuple[str | None, float]:
    """Column name and unit factor of a numeric spot feature, from its declared dimension."""
    if name == "RADIUS" or dimension in ("LENGTH", "POSITION"):
        return f"{name.lower()}_um", length_um
    if name == "AREA" or dimension == "AREA":
        return f"{name.lower()}_um2", length_um**2
    if dimension == "TIME":
        return (f"{name.lower()}_s", time_s) if time_s is not None else (None, 1.0)
    return name.lower(), 1.0
