r"""Checks of a simulated run against theory: MSD of free ABPs, orientation autocorrelation.

Pure functions of a :class:`cellbench.sim.engine.SimResult` (or its tables). The one-step R^2
of the oracle is a metric: :mod:`cellbench.evaluation.sim_truth`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.data.track_stats import msd_2d
from cellbench.data.tracks import Tracks, TracksMeta


def abp_msd_theory(t_s, v0_um_per_s: float, D_t_um2_per_s: float, D_r_per_s: float) -> np.ndarray:
    r"""Mean squared displacement of a free 2D active Brownian particle, um^2.

    .. math:: \mathrm{MSD}(t) = 4 D_t t + \frac{2 v_0^2}{D_r^2}\left(D_r t + e^{-D_r t} - 1\right)

    With D_r = 0 the active part is ballistic, v0^2 t^2.
    """
    t = np.asarray(t_s, dtype=float)
    if D_r_per_s == 0:
        return 4 * D_t_um2_per_s * t + v0_um_per_s**2 * t**2
    x = D_r_per_s * t
    return 4 * D_t_um2_per_s * t + 2 * v0_um_per_s**2 / D_r_per_s**2 * (x + np.expm1(-x))


def _wide(truth: pd.DataFrame, column: str) -> pd.DataFrame:
    """(n_frames, n_tracks) table of ``column`` with NaN where a track is not observed."""
    return truth.pivot(index="frame", columns="track_id", values=column)


def unwrapped_tracks(truth: pd.DataFrame) -> Tracks:
    """The true unwrapped positions (``x_unwrap_um``, ``y_unwrap_um``) of ``truth`` as a Tracks in
    the open plane: displacements are plain differences, never minimum images."""
    df = pd.DataFrame({"track_id": truth["track_id"].to_numpy(), "frame": truth["frame"].to_numpy(),
                       "x_um": truth["x_unwrap_um"].to_numpy(), "y_um": truth["y_unwrap_um"].to_numpy()})
    return Tracks.from_table(df, TracksMeta(dataset="truth (unwrapped)"))


def msd(truth: pd.DataFrame, lags_frames) -> np.ndarray:
    """MSD (um^2) at the given lags from the unwrapped positions, averaged over all pairs of
    observed frames of the same track (gaps allowed); NaN where no track spans a lag.
    :func:`cellbench.data.track_stats.msd_2d` of :func:`unwrapped_tracks`."""
    return msd_2d(unwrapped_tracks(truth), lags_frames)


def orientation_autocorrelation(truth: pd.DataFrame, lags_frames) -> np.ndarray:
    r"""<cos(theta(t + lag) - theta(t))>, which is exp(-D_r t) for free rotational diffusion."""
    th = _wide(truth, "theta").to_numpy()
    return np.array([np.nanmean(np.cos(th[lag:] - th[:-lag])) for lag in lags_frames])

