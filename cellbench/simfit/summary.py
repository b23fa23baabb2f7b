r"""The statistics a fitted simulation is compared on, computed the same way for any Tracks.

:func:`summarize_tracks` gives, for one tracks table: the per-axis MSD at lags 1..L (um^2), the lag-1
autocorrelation of one-frame displacements per axis, the number of cells per frame, and g(r)
normalised by the table's own occupied region (see :mod:`cellbench.simfit.crowding`). The report
puts the real file's summary beside the fitted simulation's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench.data.track_stats import msd_per_axis
from cellbench.data.tracks import Tracks
from cellbench.simfit.crowding import cells_per_frame, occupied_region, pair_correlation
from cellbench.simfit.motion import lag1_covariance


@dataclass(frozen=True)
class Summary:
    """Comparable statistics of one tracks table.

    Attributes
    ----------
    lags_frames : (n_lags,) int. msd_um2 : (n_lags,) per-axis MSD averaged over x and y, um^2.
    rho1_xy : (2,) lag-1 autocorrelation of one-frame displacements (x, y).
    frames : (n_frames,) int, frame index relative to the first frame. counts : (n_frames,) cells.
    r_um : (n_bins,) um. g : (n_bins,) pair correlation. area_um2 : occupied area used for g.
    """

    lags_frames: np.ndarray
    msd_um2: np.ndarray
    rho1_xy: np.ndarray
    frames: np.ndarray
    counts: np.ndarray
    r_um: np.ndarray
    g: np.ndarray
    area_um2: float

    @property
    def rho1(self) -> float:
        """Lag-1 autocorrelation averaged over the two axes."""
        return float(np.mean(self.rho1_xy))


def summarize_tracks(tracks: Tracks, max_lag_frames: int = 20, r_max_um: float = 60.0, dr_um: float = 1.0) -> Summary:
    """Per-axis MSD at lags 1..``max_lag_frames``, lag-1 autocorrelation, cells per frame, g(r)."""
    lags = np.arange(1, max_lag_frames + 1)
    msd_xy, _ = msd_per_axis(tracks, lags)
    _, rho, _ = lag1_covariance(tracks)
    frames, counts = cells_per_frame(tracks)
    region = occupied_region(tracks)
    r, g, _ = pair_correlation(tracks, region.area_um2, r_max_um, dr_um)
    return Summary(lags, msd_xy.mean(axis=1), rho, frames - frames[0], counts, r, g, region.area_um2)


__all__ = ["Summary", "summarize_tracks"]
