"""Lineage trees -> branches: one track id per branch, a new one after every division.

Pure functions on spot and edge arrays, used by the TrackMate XML reader.
"""

from __future__ import annotations

import numpy as np


def split_branches(
    frames: np.ndarray, spot_ids: np.ndarray, src: np.ndarray, dst: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a track graph into unbranched branches.

    Parameters
    ----------
    frames, spot_ids : (n_spots,) frame and ID of each spot.
    src, dst : (n_edges,) spot indices of each link, oriented so ``frames[src] < frames[dst]``.
    keep : (n_spots,) bool, the spots to assign (spots in kept tracks).

    Returns
    -------
    branch : (n_spots,) branch index of each kept spot (-1 for the others), numbered in order
        of (first frame, first spot ID).
    parent_branch : (n_branches,) the mother branch of each branch, -1 for roots and merges.
    merges : indices of spots with two or more incoming links (each starts a branch).
    """
    n = len(frames)
    out_deg = np.bincount(src, minlength=n)
    in_deg = np.bincount(dst, minlength=n)
    pred = np.full(n, -1, dtype=np.int64)
    single = in_deg[dst] == 1
    pred[dst[single]] = src[single]
    branch = np.full(n, -1, dtype=np.int64)
    parent_branch: list[int] = []
    order = np.flatnonzero(keep)
    order = order[np.lexsort((spot_ids[order], frames[order]))]
    for i in order.tolist():  # predecessors come first: frames increase along links
        p = pred[i]
        if p >= 0 and out_deg[p] == 1:
            branch[i] = branch[p]
        else:
            branch[i] = len(parent_branch)
            parent_branch.append(int(branch[p]) if p >= 0 else -1)
    merges = np.flatnonzero(keep & (in_deg > 1))
    merges = merges[np.lexsort((spot_ids[merges], frames[merges]))]
    return branch, np.array(parent_branch, dtype=np.int64), merges


def branch_track_ids(
    branch: np.ndarray,
    n_branches: int,
    track_of_spot: np.ndarray,
    frames: np.ndarray,
    spot_ids: np.ndarray,
    track_ids: np.ndarray,
) -> np.ndarray:
    """The ``track_id`` of each branch: the TrackMate TRACK_ID for each track's first branch, new ids after."""
    kept = np.flatnonzero(branch >= 0)
    kept = kept[np.lexsort((spot_ids[kept], frames[kept]))]
    _, first = np.unique(branch[kept], return_index=True)  # branches are 0..n_branches-1, all present
    track_of_branch = track_of_spot[kept[first]]
    ids = np.empty(n_branches, dtype=np.int64)
    next_id = int(track_ids.max()) + 1
    seen: set[int] = set()
    for b in range(n_branches):  # branches are numbered in (first frame, first spot ID) order
        t = int(track_of_branch[b])
        if t not in seen:
            seen.add(t)
            ids[b] = track_ids[t]
        else:
            ids[b] = next_id
            next_id += 1
    return ids
