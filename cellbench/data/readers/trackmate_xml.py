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

Modules
-------
:func:`read_trackmate_xml` chains :mod:`~cellbench.data.readers.trackmate_xml_document` (parse,
attribute checks), :mod:`~cellbench.data.readers.trackmate_xml_links` (edges and kept tracks),
:mod:`~cellbench.data.readers.branches` (lineages cut into branches) and
:mod:`~cellbench.data.readers.trackmate_xml_units` (calibration).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.data.readers.branches import branch_track_ids, split_branches
from cellbench.data.readers.common import drop_leak_columns, infer_frame_interval_s, require_file, source_fields
from cellbench.data.readers.trackmate_xml_document import (check_coordinate, check_document, check_unique, float_attr,
                                                           integer_attr, parse_document)
from cellbench.data.readers.trackmate_xml_links import linked_spots
from cellbench.data.readers.trackmate_xml_units import CalibrationWarning, feature_column, length_factor, time_factor
from cellbench.data.tracks import NO_PARENT, Tracks, TracksMeta
from cellbench.errors import TracksFormatError

# Spot attributes that are identifiers, constant, or irrelevant in 2D: never features.
_NOT_FEATURES = {"ID", "name", "FRAME", "POSITION_X", "POSITION_Y", "POSITION_Z", "POSITION_T", "QUALITY", "VISIBILITY"}


class MergeWarning(UserWarning):
    """A TrackMate track merges (a spot with two or more incoming links); new branches were started."""


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
    doc = parse_document(path, where)
    check_document(doc, where)

    spots = pd.DataFrame.from_records([s.attrs for s in doc.spots])
    spot_lines = np.array([s.line for s in doc.spots], dtype=np.int64)
    spot_ids = integer_attr(spots, "ID", where, spot_lines, "Spot", minimum=None)
    check_unique(spot_ids, spot_lines, where, "Spot", "ID")
    if "FRAME" not in spots.columns:
        spots["FRAME"] = None
    spots["FRAME"] = spots["FRAME"].where(spots["FRAME"].notna(), pd.Series(doc.spots_in_frame, dtype=object))
    frames = integer_attr(spots, "FRAME", where, spot_lines, "Spot", minimum=0, ids=spot_ids)

    track_of_spot, edges_src, edges_dst, track_ids = linked_spots(doc, spot_ids, frames, spot_lines, where)
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

    length_um, pixel_um_meta = length_factor(doc, pixel_um, where)
    time_s, frame_interval_meta = time_factor(doc, frame_interval_s, where)

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
            "x_um": float_attr(spots, "POSITION_X", where, spot_lines, spot_ids, rows) * length_um,
            "y_um": float_attr(spots, "POSITION_Y", where, spot_lines, spot_ids, rows) * length_um,
            "parent_id": np.where(parent >= 0, branch_track_id[np.maximum(parent, 0)], NO_PARENT),
        }
    )
    for col, attr in (("x_um", "POSITION_X"), ("y_um", "POSITION_Y")):
        check_coordinate(out[col].to_numpy(), attr, where, spot_lines[rows], spot_ids[rows])
    if "POSITION_T" in spots.columns and time_s is not None:
        out["t_s"] = float_attr(spots, "POSITION_T", where, spot_lines, spot_ids, rows) * time_s
    features = drop_leak_columns(spots.drop(columns=[c for c in _NOT_FEATURES if c in spots.columns]), where)
    for name in features.columns:
        values = pd.to_numeric(features[name].iloc[rows], errors="coerce")
        if not values.notna().all():
            continue  # text or partly missing: not a per-spot number
        col, factor = feature_column(name, doc.spot_dimensions.get(name, ""), length_um, time_s)
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


__all__ = ["CalibrationWarning", "MergeWarning", "read_trackmate_xml"]
