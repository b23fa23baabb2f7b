r"""Targets and causal per-track history, computed row by row on a :class:`Tracks` table.

The target (the paper's eq. 1) is the one-step displacement within a track,

.. math:: \mathbf y_i^t = \mathbf x_i^{t+1} - \mathbf x_i^t \quad [\mathrm{um\ per\ frame}],

defined only when the same track has a spot in frame t+1 (mask :math:`m_i^t`); gaps are not
bridged. History features at frame t use frames <= t only.
"""

from __future__ import annotations

import numpy as np

from cellbench import space
from cellbench.data.tracks import Tracks


def _row_lookup(track_id: np.ndarray, frame: np.ndarray):
    """A function (track_id, frame) -> row index or -1, vectorised by a sorted integer key.

    The key is (rank of the track id, rank of the frame) among the table's own ids and frames,
    so it stays below ``n_rows**2`` whatever the values: sparse frame numbers (any int64)
    and track ids neither overflow nor cost memory.
    """
    tids, frames = np.unique(track_id), np.unique(frame)
    n_frames = np.int64(len(frames))
    keys = np.searchsorted(tids, track_id).astype(np.int64) * n_frames + np.searchsorted(frames, frame)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]

    def rank(values: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.minimum(np.searchsorted(table, values), len(table) - 1)
        return pos.astype(np.int64), table[pos] == values

    def lookup(tid: np.ndarray, f: np.ndarray) -> np.ndarray:
        t_rank, t_ok = rank(tid, tids)
        f_rank, f_ok = rank(f, frames)
        q = t_rank * n_frames + f_rank
        pos = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
        found = t_ok & f_ok & (sorted_keys[pos] == q)
        return np.where(found, order[pos], -1)

    return lookup


def neighbour_rows(tracks: Tracks, lag_frames: int) -> np.ndarray:
    """(n_rows,) index of the same track's row ``lag_frames`` later (negative: earlier), or -1."""
    tid = tracks.df["track_id"].to_numpy()
    frame = tracks.df["frame"].to_numpy()
    return _row_lookup(tid, frame)(tid, frame + lag_frames)


def displacement_targets(tracks: Tracks) -> tuple[np.ndarray, np.ndarray]:
    """One-step displacement targets.

    Returns
    -------
    y_um : (n_rows, 2) float64, :math:`x^{t+1} - x^t` in um per frame (a minimum image when the
        cells fill a periodic box, :attr:`Tracks.periodic_box_um`); NaN where invalid.
    valid : (n_rows,) bool, the mask :math:`m_i^t` (the same track has frame t+1).
    """
    displacement, _ = space.from_box(tracks.periodic_box_um)
    nxt = neighbour_rows(tracks, +1)
    valid = nxt >= 0
    pos = tracks.positions_um()
    y = np.full_like(pos, np.nan)
    y[valid] = displacement(pos[nxt[valid]], pos[valid])
    return y, valid


def history_um(tracks: Tracks, n_lags: int) -> np.ndarray:
    r"""Past one-step displacements of each row's track, using frames <= t only.

    Lag l (1-based) is :math:`x^{t-l+1} - x^{t-l}`; lag 1 is the latest step, :math:`x^t - x^{t-1}`.

    Returns
    -------
    (n_rows, n_lags, 2) float64 in um per frame, NaN where the track lacks that history.
    """
    tid = tracks.df["track_id"].to_numpy()
    frame = tracks.df["frame"].to_numpy()
    lookup = _row_lookup(tid, frame)
    displacement, _ = space.from_box(tracks.periodic_box_um)
    pos = tracks.positions_um()
    out = np.full((len(pos), n_lags, 2), np.nan)
    later = np.arange(len(pos))
    for lag in range(n_lags):
        earlier = np.where(later >= 0, lookup(tid, frame - lag - 1), -1)
        ok = (later >= 0) & (earlier >= 0)
        out[ok, lag] = displacement(pos[later[ok]], pos[earlier[ok]])
        later = earlier
    return out
