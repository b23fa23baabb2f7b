"""TrackMate XML, step 2: which spots are linked, and in which kept track.

The ``<Edge>`` elements of ``<AllTracks>`` become pairs of spot indices oriented by frame, and
every spot gets the ``<Track>`` that holds it (only tracks named in ``<FilteredTracks>`` are
kept, when that element is present). The lineage is then cut into branches by
:mod:`cellbench.data.readers.branches`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.data.readers.trackmate_xml_document import TrackMateDocument, check_unique, integer_attr
from cellbench.errors import TracksFormatError


def _track_ids(elements, where: str, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(TRACK_ID of each element, its line in the file), both (n_elements,) int64; checked integers."""
    lines = np.array([e.line for e in elements], dtype=np.int64)
    if not elements:
        return np.zeros(0, dtype=np.int64), lines
    table = pd.DataFrame.from_records([e.attrs for e in elements])
    return integer_attr(table, "TRACK_ID", where, lines, tag, minimum=None), lines


def linked_spots(doc: TrackMateDocument, spot_ids: np.ndarray, frames: np.ndarray, spot_lines: np.ndarray,
                 where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges as spot indices (oriented by frame), and each spot's kept TrackMate track.

    Returns
    -------
    track_of_spot : (n_spots,) index into ``doc.tracks`` of the kept track holding each spot, -1 if none.
    src, dst : (n_kept_edges,) spot indices, ``frames[src] < frames[dst]``.
    track_ids : (n_tracks,) the TRACK_ID of each ``doc.tracks`` element.
    """
    track_ids, track_lines = _track_ids(doc.tracks, where, "Track")
    check_unique(track_ids, track_lines, where, "Track", "TRACK_ID")
    kept = np.ones(len(doc.tracks), dtype=bool)
    if doc.filtered is not None:
        wanted, f_lines = _track_ids(doc.filtered, where, "TrackID")
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
    src_id = integer_attr(e_table, "SPOT_SOURCE_ID", where, e_lines, "Edge", minimum=None)
    dst_id = integer_attr(e_table, "SPOT_TARGET_ID", where, e_lines, "Edge", minimum=None)
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
