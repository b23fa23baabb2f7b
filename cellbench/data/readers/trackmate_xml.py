"""TrackMate XML (a saved TrackMate session, File > Save) -> :class:`~cellbench.data.tracks.Tracks`.

What is read
------------
``Model/AllSpots/SpotsInFrame/Spot`` (one element per detection, features as attributes),
``Model/AllTracks/Track/Edge`` (links ``SPOT_SOURCE_ID -> SPOT_TARGET_ID``),
``Model/FilteredTracks/TrackID`` (when present, only these tracks are kept), the ``Model``
attributes ``spatialunits`` / ``timeunits``, ``Model/FeatureDeclarations/SpotFeatures`` (the
dimension of each spot feature) and ``Settings/ImageData`` (``pixelwidth``, ``timeinterval``,
both in the model's units).

Track-level and edge features (``TRACK_*``, ``EDGE_*``, speeds, link costs) describe the
future of a track and never become columns. Spots that belong to no kept track are dropped.

Lineages
--------
A TrackMate track is a graph; a ``Tracks`` table needs one ``track_id`` per unbranched
segment (a *branch*). Edges are oriented by frame (source earlier). A branch continues from
a spot to its successor while the spot has one outgoing link and the successor one incoming
link. At a division (a spot with two or more outgoing links) the mother branch ends and each
daughter branch gets a new ``track_id`` with ``parent_id`` = the mother's ``track_id``. At a
merge (a spot with two or more incoming links) the incoming branches end and a new branch
starts with ``parent_id`` = -1 (a branch has one parent), with a warning. The first branch of
each TrackMate track keeps its ``TRACK_ID``; new branches are numbered from
``max(TRACK_ID) + 1`` in order of (first frame, first spot ID).

Units
-----
Positions are in ``spatialunits``; a calibrated file (``micron``, ``nm``, ``mm``) needs no
pixel size, and its ``pixelwidth`` becomes ``meta.pixel_um``. A file in ``pixel`` needs
``pixel_um``. An explicit ``pixel_um`` or ``frame_interval_s`` that contradicts the file's
calibration wins, with a :class:`CalibrationWarning`: the file's values are taken as
uncalibrated (positions / ``pixelwidth`` are pixels, ``POSITION_T`` / ``timeinterval`` are
frames) and rescaled with the explicit value. A movie without any calibration (``pixel``
units and ImageJ's default ``timeinterval="1.0"``, as in TrackMate's own FakeTracks.xml) has
an unknown frame interval: no ``t_s`` column unless ``frame_interval_s`` is given, which
then scales ``POSITION_T`` (in frames) without a warning.
"""

from __future__ import annotations

import warnings
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import TracksFormatError
from cellbench.data.readers.branches import branch_track_ids, split_branches
from cellbench.data.readers.common import (
    drop_leak_columns,
    infer_frame_interval_s,
    require_file,
    source_fields,
    to_s_factor,
    to_um_factor,
)
from cellbench.data.tracks import MAX_ABS_COORD_UM, NO_PARENT, Tracks, TracksMeta

# Spot attributes that are identifiers, constant, or irrelevant in 2D: never features.
_NOT_FEATURES = {"ID", "name", "FRAME", "POSITION_X", "POSITION_Y", "POSITION_Z", "POSITION_T", "QUALITY", "VISIBILITY"}
_REL_TOL = 1e-6  # relative difference above which an explicit calibration "contradicts" the file


class CalibrationWarning(UserWarning):
    """An explicit pixel size or frame interval overrode a different one stated in the file."""


class MergeWarning(UserWarning):
    """A TrackMate track merges (a spot with two or more incoming links); new branches were started."""


@dataclass
class _Element:
    line: int
    attrs: dict


@dataclass
class _Document:
    """The parts of a TrackMate XML that the reader uses, each with its line number."""

    root: str | None = None
    model: dict | None = None
    image_data: dict | None = None
    has_all_spots: bool = False
    spots: list[_Element] = field(default_factory=list)
    spots_in_frame: list[str | None] = field(default_factory=list)  # the enclosing SpotsInFrame's frame
    tracks: list[_Element] = field(default_factory=list)
    edges: list[_Element] = field(default_factory=list)
    edge_track: list[int] = field(default_factory=list)  # index into ``tracks``
    filtered: list[_Element] | None = None
    spot_dimensions: dict[str, str] = field(default_factory=dict)  # feature -> LENGTH, AREA, ...


def _parse(path: Path, where: str) -> _Document:
    """Stream the file through expat (the parser under ElementTree), keeping line numbers."""
    doc = _Document()
    stack: list[str] = []
    current: dict[str, str | None] = {"frame": None}  # the frame of the open <SpotsInFrame>
    parser = xml.parsers.expat.ParserCreate()

    def start(tag: str, attrs: dict) -> None:
        line = parser.CurrentLineNumber
        parent = stack[-1] if stack else None
        if parent is None:
            doc.root = tag
        elif tag == "Model" and len(stack) == 1:
            doc.model = attrs
        elif tag == "AllSpots" and parent == "Model":
            doc.has_all_spots = True
        elif tag == "Spot" and parent == "SpotsInFrame" and stack[-2] == "AllSpots":
            doc.spots.append(_Element(line, attrs))
            doc.spots_in_frame.append(current["frame"])
        elif tag == "SpotsInFrame":
            current["frame"] = attrs.get("frame")
        elif tag == "Track" and parent == "AllTracks":
            doc.tracks.append(_Element(line, attrs))
        elif tag == "Edge" and parent == "Track" and stack[-2] == "AllTracks":
            doc.edges.append(_Element(line, attrs))
            doc.edge_track.append(len(doc.tracks) - 1)
        elif tag == "FilteredTracks" and parent == "Model":
            doc.filtered = []
        elif tag == "TrackID" and parent == "FilteredTracks" and doc.filtered is not None:
            doc.filtered.append(_Element(line, attrs))
        elif tag == "Feature" and parent == "SpotFeatures" and "feature" in attrs:
            doc.spot_dimensions[attrs["feature"]] = attrs.get("dimension", "")
        elif tag == "ImageData" and parent == "Settings":
            doc.image_data = attrs
        stack.append(tag)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        with open(path, "rb") as f:
            parser.ParseFile(f)
    except xml.parsers.expat.ExpatError as err:
        what = xml.parsers.expat.ErrorString(err.code)
        hint = ""
        if err.code in (xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_NO_ELEMENTS],
                        xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_UNCLOSED_TOKEN]):
            hint = " (the file looks truncated: was it fully written?)"
        raise TracksFormatError(
            f"{where}, line {err.lineno}, column {err.offset + 1}: malformed XML: {what}{hint}"
        ) from err
    return doc


def read_trackmate_xml(
    path: Path,
    pixel_um: float | None = None,
    frame_interval_s: float | None = None,
    fov_um: tuple[float, float, float, float] | None = None,
    dataset: str | None = None,
) -> Tracks:
    """Read a TrackMate session XML into a tracks table, one ``track_id`` per branch.

    Parameters
    ----------
    path : the ``.xml`` file written by TrackMate (File > Save).
    pixel_um : um per pixel. Required when ``spatialunits`` is ``pixel``; otherwise taken from
        ``Settings/ImageData/@pixelwidth`` (an explicit value that differs wins, with a warning).
    frame_interval_s : s per frame. Defaults to ``ImageData/@timeinterval`` in ``timeunits``,
        else to the median of ``t_s / frame``.
    fov_um : field of view (x_min, y_min, x_max, y_max) in um, if known.
    dataset : sequence name; defaults to the file name without ``.xml``.

    Returns
    -------
    Tracks sorted by (frame, track_id) with ``track_id``, ``frame``, ``x_um``, ``y_um``,
    ``parent_id`` (division links, see the module docstring), ``t_s`` when time is
    calibrated, ``radius_um`` / ``area_um2`` when the spots have ``RADIUS`` / ``AREA``, and any
    other numeric spot feature in lower case (length features get ``_um``, areas ``_um2``).

    Raises
    ------
    TracksFormatError
        naming the file and line: malformed or truncated XML, a file that is not a TrackMate
        session, a spot without a valid ID, FRAME or position, an edge to a missing spot, an
        edge within one frame, a spot in two tracks, or no tracked spot at all.
    """
    path = require_file(Path(path))
    where = str(path)
    doc = _parse(path, where)
    _check_document(doc, where)

    spots = pd.DataFrame.from_records([s.attrs for s in doc.spots])
    spot_lines = np.array([s.line for s in doc.spots], dtype=np.int64)
    spot_ids = _integer_attr(spots, "ID", where, spot_lines, "Spot", minimum=None)
    _check_unique(spot_ids, spot_lines, where, "Spot", "ID")
    if "FRAME" not in spots.columns:
        spots["FRAME"] = None
    spots["FRAME"] = spots["FRAME"].where(spots["FRAME"].notna(), pd.Series(doc.spots_in_frame, dtype=object))
    frames = _integer_attr(spots, "FRAME", where, spot_lines, "Spot", minimum=0, ids=spot_ids)

    track_of_spot, edges_src, edges_dst, track_ids = _linked_spots(doc, spot_ids, frames, spot_lines, where)
    keep = track_of_spot >= 0
    if not keep.any():
        raise TracksFormatError(
            f"{where}: no spot belongs to a kept track ({len(doc.spots)} spot(s), {len(doc.tracks)} track(s)"
            f"{', ' + str(len(doc.filtered)) + ' in FilteredTracks' if doc.filtered is not None else ''})"
        )
    if not keep.all():
        warnings.warn(
            f"{where}: dropped {int((~keep).sum())} spot(s) that belong to no kept track (unlinked, or in a track "
            f"outside FilteredTracks)",
            stacklevel=2,
        )

    length_um, pixel_um_meta = _length_factor(doc, pixel_um, where)
    time_s, frame_interval_meta = _time_factor(doc, frame_interval_s, where)

    branch, parent_branch, merges = split_branches(frames, spot_ids, edges_src, edges_dst, keep)
    if merges.size:
        listed = ", ".join(f"spot ID={spot_ids[i]} (line {spot_lines[i]})" for i in merges[:5])
        warnings.warn(
            f"{where}: {merges.size} merge(s), spots with two or more incoming links: {listed}"
            f"{' ...' if merges.size > 5 else ''}; each starts a new track_id with parent_id -1",
            MergeWarning,
            stacklevel=2,
        )
    branch_track_id = branch_track_ids(branch, len(parent_branch), track_of_spot, frames, spot_ids, track_ids)

    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((spot_ids[rows], frames[rows]))]
    b = branch[rows]
    parent = parent_branch[b]
    out = pd.DataFrame(
        {
            "track_id": branch_track_id[b],
            "frame": frames[rows],
            "x_um": _float_attr(spots, "POSITION_X", where, spot_lines, spot_ids, rows) * length_um,
            "y_um": _float_attr(spots, "POSITION_Y", where, spot_lines, spot_ids, rows) * length_um,
            "parent_id": np.where(parent >= 0, branch_track_id[np.maximum(parent, 0)], NO_PARENT),
        }
    )
    for col, attr in (("x_um", "POSITION_X"), ("y_um", "POSITION_Y")):
        _check_coordinate(out[col].to_numpy(), attr, where, spot_lines[rows], spot_ids[rows])
    if "POSITION_T" in spots.columns and time_s is not None:
        out["t_s"] = _float_attr(spots, "POSITION_T", where, spot_lines, spot_ids, rows) * time_s
    features = drop_leak_columns(spots.drop(columns=[c for c in _NOT_FEATURES if c in spots.columns]), where)
    for name in features.columns:
        values = pd.to_numeric(features[name].iloc[rows], errors="coerce")
        if not values.notna().all():
            continue  # text or partly missing: not a per-spot number
        col, factor = _feature_column(name, doc.spot_dimensions.get(name, ""), length_um, time_s)
        if col is not None and col not in out.columns:  # never overwrite track_id, frame, positions
            out[col] = values.to_numpy(dtype="float64") * factor

    if frame_interval_meta is None and "t_s" in out.columns:
        frame_interval_meta = infer_frame_interval_s(out["frame"].to_numpy(float), out["t_s"].to_numpy(float))
    meta = TracksMeta(
        dataset=dataset or path.stem,
        pixel_um=pixel_um_meta,
        frame_interval_s=frame_interval_meta,
        fov_um=fov_um,
        **source_fields(path),
    )
    return Tracks.from_table(out, meta, file_rows=spot_lines[rows])


# -- structure ---------------------------------------------------------------------------------


def _check_document(doc: _Document, where: str) -> None:
    if doc.root != "TrackMate":
        hint = ""
        if doc.root == "Tracks":
            hint = (
                " This looks like TrackMate's simplified 'Export tracks to XML' file, which carries no spot "
                "features or division links; save the session instead (File > Save) or export the spots CSV."
            )
        raise TracksFormatError(f"{where}, line 1: the root element is <{doc.root}>, expected <TrackMate>.{hint}")
    if doc.model is None:
        raise TracksFormatError(f"{where}: no <Model> element under <TrackMate> (not a TrackMate session file)")
    if not doc.has_all_spots:
        raise TracksFormatError(f"{where}: no <Model>/<AllSpots> element (not a TrackMate session file)")
    if not doc.spots:
        raise TracksFormatError(f"{where}: <AllSpots> holds no <Spot> (no spots: nothing to read)")


def _integer_attr(
    table: pd.DataFrame, name: str, where: str, lines: np.ndarray, element: str, minimum: int | None, ids=None
) -> np.ndarray:
    """One integer attribute of every element; errors name the line (and spot ID when known)."""
    raw = table[name] if name in table.columns else pd.Series([None] * len(table), dtype=object)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values) | (values != np.round(values))
    if minimum is not None:
        bad |= values < minimum
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        who = f"{element} ID={ids[i]}" if ids is not None else element
        got = raw.iloc[i]
        what = "has no" if got is None or (isinstance(got, float) and np.isnan(got)) else f"has {got!r} as"
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise TracksFormatError(f"{where}, line {lines[i]}: {who} {what} attribute {name} (expected {expected})")
    return values.astype(np.int64)


def _float_attr(
    table: pd.DataFrame, name: str, where: str, lines: np.ndarray, ids: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    raw = table[name].iloc[rows] if name in table.columns else pd.Series([None] * len(rows), dtype=object)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        got = raw.iloc[i]
        what = "has no" if got is None or (isinstance(got, float) and np.isnan(got)) else f"has {got!r} as"
        raise TracksFormatError(
            f"{where}, line {lines[rows[i]]}: Spot ID={ids[rows[i]]} {what} attribute {name} (expected a finite number)"
        )
    return values


def _check_coordinate(v_um: np.ndarray, name: str, where: str, lines: np.ndarray, ids: np.ndarray) -> None:
    bad = np.abs(v_um) > MAX_ABS_COORD_UM
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TracksFormatError(
            f"{where}, line {lines[i]}: Spot ID={ids[i]} attribute {name} is {v_um[i]:g} um, beyond "
            f"+-{MAX_ABS_COORD_UM:g} um (wrong units or a corrupt value?)"
        )


def _check_unique(values: np.ndarray, lines: np.ndarray, where: str, element: str, name: str) -> None:
    _, first, counts = np.unique(values, return_index=True, return_counts=True)
    if (counts > 1).any():
        v = values[first[np.flatnonzero(counts > 1)[0]]]
        at = lines[values == v]
        raise TracksFormatError(
            f"{where}, line {at[1]}: {element} {name}={v} appears again (first at line {at[0]}); {name}s must be unique"
        )


def _linked_spots(doc: _Document, spot_ids: np.ndarray, frames: np.ndarray, spot_lines: np.ndarray, where: str):
    """Edges as spot indices (oriented by frame), and each spot's kept TrackMate track.

    Returns
    -------
    track_of_spot : (n_spots,) index into ``doc.tracks`` of the kept track holding each spot, -1 if none.
    src, dst : (n_kept_edges,) spot indices, ``frames[src] < frames[dst]``.
    track_ids : (n_tracks,) the TRACK_ID of each ``doc.tracks`` element.
    """
    track_lines = np.array([t.line for t in doc.tracks], dtype=np.int64)
    track_table = pd.DataFrame.from_records([t.attrs for t in doc.tracks]) if doc.tracks else pd.DataFrame()
    track_ids = (
        _integer_attr(track_table, "TRACK_ID", where, track_lines, "Track", minimum=None)
        if doc.tracks
        else np.zeros(0, dtype=np.int64)
    )
    _check_unique(track_ids, track_lines, where, "Track", "TRACK_ID")
    kept = np.ones(len(doc.tracks), dtype=bool)
    if doc.filtered is not None:
        f_lines = np.array([t.line for t in doc.filtered], dtype=np.int64)
        f_table = pd.DataFrame.from_records([t.attrs for t in doc.filtered]) if doc.filtered else pd.DataFrame()
        wanted = (
            _integer_attr(f_table, "TRACK_ID", where, f_lines, "TrackID", minimum=None)
            if doc.filtered
            else np.zeros(0, dtype=np.int64)
        )
        unknown = ~np.isin(wanted, track_ids)
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise TracksFormatError(
                f"{where}, line {f_lines[i]}: FilteredTracks names TRACK_ID={wanted[i]}, which no <Track> in "
                f"<AllTracks> has"
            )
        kept = np.isin(track_ids, wanted)

    track_of_spot = np.full(len(spot_ids), -1, dtype=np.int64)
    if not doc.edges:
        return track_of_spot, np.zeros(0, np.int64), np.zeros(0, np.int64), track_ids
    e_lines = np.array([e.line for e in doc.edges], dtype=np.int64)
    e_table = pd.DataFrame.from_records([e.attrs for e in doc.edges])
    src_id = _integer_attr(e_table, "SPOT_SOURCE_ID", where, e_lines, "Edge", minimum=None)
    dst_id = _integer_attr(e_table, "SPOT_TARGET_ID", where, e_lines, "Edge", minimum=None)
    e_track = np.array(doc.edge_track, dtype=np.int64)

    order = np.argsort(spot_ids, kind="stable")
    sorted_ids = spot_ids[order]
    index = {}
    for name, ids in (("SPOT_SOURCE_ID", src_id), ("SPOT_TARGET_ID", dst_id)):
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
        missing = sorted_ids[pos] != ids
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise TracksFormatError(
                f"{where}, line {e_lines[i]}: Edge {name}={ids[i]} names no <Spot> in <AllSpots> "
                f"(an edge to a missing spot)"
            )
        index[name] = order[pos]
    src, dst = index["SPOT_SOURCE_ID"], index["SPOT_TARGET_ID"]
    same = frames[src] == frames[dst]
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise TracksFormatError(
            f"{where}, line {e_lines[i]}: Edge links spots ID={src_id[i]} and ID={dst_id[i]}, both in frame "
            f"{frames[src[i]]} (a link must join two different frames)"
        )
    src, dst = np.where(frames[src] < frames[dst], src, dst), np.where(frames[src] < frames[dst], dst, src)

    # every spot in at most one track
    both = np.stack([src, dst], axis=1).ravel()  # in file order: edge 0's ends, edge 1's ends, ...
    both_track = np.repeat(e_track, 2)
    both_line = np.repeat(e_lines, 2)
    first_track = np.full(len(spot_ids), -1, dtype=np.int64)
    linked, first = np.unique(both, return_index=True)
    first_track[linked] = both_track[first]  # the track of the first edge that names the spot
    clash = first_track[both] != both_track
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        s = both[i]
        raise TracksFormatError(
            f"{where}, line {both_line[i]}: spot ID={spot_ids[s]} is linked in Track TRACK_ID={track_ids[both_track[i]]} "
            f"and in Track TRACK_ID={track_ids[first_track[s]]} (a spot belongs to one track)"
        )
    pairs = src * len(spot_ids) + dst
    _, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    if (counts > 1).any():
        p = pairs[first[np.flatnonzero(counts > 1)[0]]]
        at = e_lines[pairs == p]
        raise TracksFormatError(
            f"{where}, line {at[1]}: Edge between spots ID={spot_ids[p // len(spot_ids)]} and "
            f"ID={spot_ids[p % len(spot_ids)]} appears again (first at line {at[0]})"
        )
    keep_edge = kept[e_track]
    keep_end = np.repeat(keep_edge, 2)
    track_of_spot[both[keep_end]] = both_track[keep_end]
    return track_of_spot, src[keep_edge], dst[keep_edge], track_ids


def _attr_float(attrs: dict | None, name: str) -> float | None:
    try:
        v = float((attrs or {})[name])
    except (KeyError, TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > _REL_TOL * max(abs(a), abs(b))


def _length_factor(doc: _Document, pixel_um: float | None, where: str) -> tuple[float, float | None]:
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


def _time_factor(doc: _Document, frame_interval_s: float | None, where: str) -> tuple[float | None, float | None]:
    """(s per file time unit or None, frame interval in s for the metadata or None)."""
    unit = doc.model.get("timeunits")
    s_per_unit = to_s_factor(unit, None)
    interval = _attr_float(doc.image_data, "timeinterval")
    if _uncalibrated(doc):  # ImageJ's defaults: POSITION_T counts frames, the interval is unknown
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


def _uncalibrated(doc: _Document) -> bool:
    """True for a movie without calibration: TrackMate then writes spatialunits 'pixel' and
    ImageJ's default frame interval, ``timeinterval="1.0"`` (in 'sec')."""
    u = (doc.model.get("spatialunits") or "").strip().lower()
    return u in ("pixel", "pixels", "px", "") and _attr_float(doc.image_data, "timeinterval") == 1.0


def _feature_column(name: str, dimension: str, length_um: float, time_s: float | None) -> tuple[str | None, float]:
    """Column name and unit factor of a numeric spot feature, from its declared dimension."""
    if name == "RADIUS" or dimension in ("LENGTH", "POSITION"):
        return f"{name.lower()}_um", length_um
    if name == "AREA" or dimension == "AREA":
        return f"{name.lower()}_um2", length_um**2
    if dimension == "TIME":
        return (f"{name.lower()}_s", time_s) if time_s is not None else (None, 1.0)
    return name.lower(), 1.0
