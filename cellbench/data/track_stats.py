r"""Statistics of the motion along tracks: lag displacements and the mean squared displacement.

One implementation for every consumer: the simulator's checks (:func:`cellbench.sim.analysis.msd`,
on unwrapped true positions) and the simulator fit (:mod:`cellbench.simfit.motion`, on recorded
positions) both average the same displacement pairs.

A lag-L pair is two recorded frames (f, f + L) of one ``track_id``; gaps in between are
allowed, and no pair crosses a division (daughters get new track ids). Pairs come in table
order, (f, track_id). When the cells fill a periodic box (:attr:`Tracks.periodic_box_um`) a
displacement is the minimum image (:mod:`cellbench.space`), exact while a cell moves less than
half a box over the lag.
"""

from __future__ import annotations

import numpy as np

from cellbench import space
from cellbench.data.targets import neighbour_rows
from cellbench.data.tracks import Tracks


def lag_displacements_um(tracks: Tracks, lag_frames: int) -> np.ndarray:
    r"""Displacements :math:`\mathbf x_{f+L} - \mathbf x_f` of every lag-L pair of one track.

    Parameters
    ----------
    tracks : Tracks (any frame subset).
    lag_frames : L, an integer >= 1, frames.

    Returns
    -------
    (n_pairs, 2) float64, um, in table order of the earlier row.

    Raises
    ------
    ValueError
        when ``lag_frames`` < 1.
    """
    if lag_frames < 1:
        raise ValueError(f"lags_frames must be >= 1, found {lag_frames}")
    displacement, _ = space.from_box(tracks.periodic_box_um)
    pos = tracks.positions_um()
    later = neighbour_rows(tracks, int(lag_frames))
    i = np.flatnonzero(later >= 0)
    return displacement(pos[later[i]], pos[i])


def msd_per_axis(tracks: Tracks, lags_frames) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-axis mean squared displacement at the given lags.

    .. math:: \mathrm{MSD}_a(L) = \langle (a_{f+L} - a_f)^2 \rangle, \quad a \in \{x, y\}

    averaged over every lag-L pair (:func:`lag_displacements_um`).

    Parameters
    ----------
    tracks : Tracks (any frame subset).
    lags_frames : (n_lags,) integer lags >= 1, frames.

    Returns
    -------
    msd_um2 : (n_lags, 2) array, um^2 (columns x, y); NaN where no track spans the lag.
    n_pairs : (n_lags,) int array, number of displacement pairs used at each lag.
    """
    lags = np.asarray(lags_frames, dtype=np.int64)
    out = np.full((len(lags), 2), np.nan)
    n = np.zeros(len(lags), np.int64)
    for k, lag in enumerate(lags):
        d = lag_displacements_um(tracks, int(lag))
        n[k] = len(d)
        if len(d):
            out[k] = (d**2).mean(axis=0)
    return out, n


def msd_2d(tracks: Tracks, lags_frames) -> np.ndarray:
    r"""Mean squared displacement in the plane at the given lags.

    .. math:: \mathrm{MSD}(L) = \langle |\mathbf x_{f+L} - \mathbf x_f|^2 \rangle

    averaged over every lag-L pair (:func:`lag_displacements_um`); the sum of the two columns of
    :func:`msd_per_axis` up to rounding.

    Parameters
    ----------
    tracks : Tracks (any frame subset).
    lags_frames : (n_lags,) integer lags >= 1, frames.

    Returns
    -------
    (n_lags,) array, um^2; NaN where no track spans the lag.
    """
    out = []
    for lag in np.asarray(lags_frames, dtype=np.int64):
        d = lag_displacements_um(tracks, int(lag))
        d2 = d[:, 0] ** 2 + d[:, 1] ** 2
        out.append(d2.mean() if len(d2) else np.nan)
    return np.array(out, dtype=float)


__all__ = ["lag_displacements_um", "msd_per_axis", "msd_2d"]
