r"""Motion statistics of a tracks table and their fit by an active Brownian particle (ABP).

Model: a cell's true position x(t) follows free 2D ABP dynamics (speed v0, rotational
diffusion D_r, translational diffusion D_t); the recorded position is y_k = x(k tau) + eta_k
with white Gaussian localization noise eta_k ~ N(0, sigma_loc^2) per axis, frame and cell.
Per axis (half the 2D values), with tau the frame interval and x = D_r t:

.. math::
    \mathrm{MSD}_{axis}(t) = 2 D_t t + \frac{v_0^2}{D_r^2}\left(D_r t + e^{-D_r t} - 1\right)
                             + 2 \sigma_{loc}^2

.. math::
    C_1 = \langle \Delta_k \Delta_{k+1} \rangle
        = \frac{v_0^2}{2 D_r^2}\left(1 - e^{-D_r \tau}\right)^2 - \sigma_{loc}^2

where :math:`\Delta_k = y_{k+1} - y_k` is one component of a one-frame displacement. The 2D
MSD is twice the per-axis one: :math:`4 D_t t + (2 v_0^2/D_r^2)(D_r t + e^{-D_r t} - 1) + 4
\sigma_{loc}^2`. Derivation of C_1: the orientation correlation is
:math:`\langle e_x(s) e_x(s')\rangle = \tfrac12 e^{-D_r |s - s'|}`, so the active parts of two
successive displacements correlate as
:math:`\tfrac{v_0^2}{2}\int_0^\tau\!\int_\tau^{2\tau} e^{-D_r (s'-s)} ds'\,ds
= \tfrac{v_0^2}{2 D_r^2}(1 - e^{-D_r\tau})^2`; translational noise increments are independent;
the shared noise term :math:`\eta_{k+1}` enters the two displacements with opposite signs and
gives :math:`-\sigma_{loc}^2`.

Displacements are taken only between two frames of the same ``track_id`` (a division starts
new track ids, so no displacement crosses a division); gaps are allowed for a lag-L pair as
long as both frames f and f + L are recorded. The MSD is
:func:`cellbench.data.track_stats.msd_per_axis`, the same statistic the simulator's own checks use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from cellbench import space
from cellbench.data.targets import neighbour_rows
from cellbench.data.track_stats import msd_per_axis
from cellbench.data.tracks import Tracks
from cellbench.errors import FitError

MIN_PAIRS = 20  # displacement pairs needed at a lag for it to enter the fit
MIN_LAGS = 4  # the model has 4 parameters: at least 4 MSD lags besides the covariance


def lag1_covariance(tracks: Tracks) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Covariance and autocorrelation of successive one-frame displacements, per axis.

    .. math:: C_1 = \langle \Delta_k \Delta_{k+1} \rangle, \quad
              \rho_1 = \frac{\langle \Delta_k \Delta_{k+1} \rangle}{\langle \Delta_k^2 \rangle}

    over every triple of consecutive recorded frames (f, f+1, f+2) of one track id. Moments
    are taken about zero (not about the mean displacement): the ABP model has zero mean drift.

    Returns
    -------
    cov_um2 : (2,) array, C_1 for x and y, um^2.
    rho : (2,) array, lag-1 autocorrelation coefficient for x and y (dimensionless).
    n_triples : number of (Delta_k, Delta_{k+1}) pairs.
    """
    displacement, _ = space.from_box(tracks.periodic_box_um)
    pos = tracks.df[["x_um", "y_um"]].to_numpy()
    nxt = neighbour_rows(tracks, 1)
    has = np.flatnonzero(nxt >= 0)
    a = has[nxt[nxt[has]] >= 0]  # rows with a displacement whose end row also starts one
    if len(a) == 0:
        return np.full(2, np.nan), np.full(2, np.nan), 0
    d0 = displacement(pos[nxt[a]], pos[a])
    d1 = displacement(pos[nxt[nxt[a]]], pos[nxt[a]])
    cov = (d0 * d1).mean(axis=0)
    var = 0.5 * ((d0**2).mean(axis=0) + (d1**2).mean(axis=0))
    return cov, cov / var, int(len(a))


def _h(x: np.ndarray) -> np.ndarray:
    """(x + e^{-x} - 1) / x^2, with its series 1/2 - x/6 + x^2/24 for small x."""
    x = np.asarray(x, dtype=float)
    small = x < 1e-4
    xs = np.where(small, 1.0, x)
    return np.where(small, 0.5 - x / 6 + x**2 / 24, (xs + np.expm1(-xs)) / xs**2)


def _g(x: np.ndarray) -> np.ndarray:
    """(1 - e^{-x}) / x, with g(0) = 1."""
    x = np.asarray(x, dtype=float)
    small = x < 1e-8
    xs = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2, -np.expm1(-xs) / xs)


def abp_msd_per_axis_um2(t_s, v0_um_per_s: float, D_r_per_s: float, D_t_um2_per_s: float,
                         sigma_loc_um: float = 0.0) -> np.ndarray:
    r"""Per-axis MSD of a free ABP observed with white localization noise, um^2.

    .. math:: 2 D_t t + \frac{v_0^2}{D_r^2}(D_r t + e^{-D_r t} - 1) + 2\sigma_{loc}^2

    (for t > 0; the D_r -> 0 limit is ballistic, v0^2 t^2 / 2). Half the 2D MSD.
    """
    t = np.asarray(t_s, dtype=float)
    return 2 * D_t_um2_per_s * t + v0_um_per_s**2 * t**2 * _h(D_r_per_s * t) + 2 * sigma_loc_um**2


def abp_lag1_cov_um2(tau_s: float, v0_um_per_s: float, D_r_per_s: float, sigma_loc_um: float = 0.0) -> float:
    r"""Covariance of two successive one-frame displacements of one axis, um^2.

    .. math:: C_1 = \frac{v_0^2}{2 D_r^2}\left(1 - e^{-D_r \tau}\right)^2 - \sigma_{loc}^2
    """
    return float(0.5 * (v0_um_per_s * tau_s) ** 2 * _g(D_r_per_s * tau_s) ** 2 - sigma_loc_um**2)


@dataclass(frozen=True)
class MotionFit:
    """Fitted ABP parameters and the statistics they were fitted to.

    Attributes
    ----------
    v0_um_per_s, D_r_per_s, D_t_um2_per_s, sigma_loc_um : fitted parameters (all >= 0).
    frame_interval_s : tau, s.
    lags_frames : (n_lags,) lags used, frames. msd_um2 : (n_lags,) per-axis MSD averaged over
        x and y, um^2. msd_xy_um2 : (n_lags, 2) per axis. n_pairs : (n_lags,).
    cov1_um2 : lag-1 covariance averaged over axes, um^2. rho1_xy : (2,) lag-1 autocorrelation.
    n_triples : triples behind cov1. cost : final least-squares cost (dimensionless).
    """

    v0_um_per_s: float
    D_r_per_s: float
    D_t_um2_per_s: float
    sigma_loc_um: float
    frame_interval_s: float
    lags_frames: np.ndarray
    msd_um2: np.ndarray
    msd_xy_um2: np.ndarray
    n_pairs: np.ndarray
    cov1_um2: float
    rho1_xy: np.ndarray
    n_triples: int
    cost: float

    def model_msd_um2(self, lags_frames) -> np.ndarray:
        """Per-axis model MSD at ``lags_frames``, um^2."""
        t = np.asarray(lags_frames, float) * self.frame_interval_s
        return abp_msd_per_axis_um2(t, self.v0_um_per_s, self.D_r_per_s, self.D_t_um2_per_s, self.sigma_loc_um)

    def model_cov1_um2(self) -> float:
        return abp_lag1_cov_um2(self.frame_interval_s, self.v0_um_per_s, self.D_r_per_s, self.sigma_loc_um)


def frame_interval_of(tracks: Tracks) -> float:
    """The tracks' frame interval in s; FitError naming the file when unknown."""
    tau = tracks.meta.frame_interval_s
    if tau is None:
        raise FitError(f"{tracks.meta.where}: the frame interval is unknown (no t_s column or frame_interval_s); "
                       "it is needed to express v0, D_r and D_t per second")
    return float(tau)


def fit_motion(tracks: Tracks, max_lag_frames: int = 20) -> MotionFit:
    r"""Least-squares fit of (v0, D_r, D_t, sigma_loc) to the per-axis MSD and lag-1 covariance.

    Residuals (dimensionless): the relative MSD misfit at each lag,
    :math:`(\mathrm{MSD}(L) - \mathrm{model}(L)) / \mathrm{MSD}(L)`, L = 1..L_max, and the
    covariance misfit :math:`\sqrt{L_{max}}\,(C_1 - \mathrm{model}) / \mathrm{MSD}(1)`, weighted
    so that the one covariance equation counts as much as the MSD curve (it is what separates
    localization noise from diffusion). Parameters are bounded >= 0; the fit starts from a
    fixed grid of D_r tau in {0.003, 0.03, 0.3, 3} and keeps the lowest cost (deterministic).

    Parameters
    ----------
    tracks : Tracks with a known frame interval (any frame subset).
    max_lag_frames : L_max, largest lag used, frames. Lags with fewer than ``MIN_PAIRS``
        displacement pairs are dropped.

    Raises
    ------
    FitError
        naming the file when fewer than ``MIN_LAGS`` lags have ``MIN_PAIRS`` pairs, when fewer
        than ``MIN_PAIRS`` consecutive-frame triples exist, or the frame interval is unknown.
    """
    tau = frame_interval_of(tracks)
    if max_lag_frames < MIN_LAGS:
        raise FitError(f"max_lag_frames = {max_lag_frames}: must be >= {MIN_LAGS}")
    lags = np.arange(1, max_lag_frames + 1)
    msd_xy, n_pairs = msd_per_axis(tracks, lags)
    usable = n_pairs >= MIN_PAIRS
    n_ok = int(np.argmin(usable)) if not usable.all() else len(lags)  # leading run of usable lags
    if n_ok < MIN_LAGS:
        raise FitError(
            f"{tracks.meta.where}: too short to fit the motion: {n_ok} lag(s) have >= {MIN_PAIRS} displacement pairs "
            f"within one track (need lags 1..{MIN_LAGS}; pairs per lag 1..{min(len(lags), 6)}: "
            f"{n_pairs[:6].tolist()}); use longer tracks or more cells"
        )
    lags, msd_xy, n_pairs = lags[:n_ok], msd_xy[:n_ok], n_pairs[:n_ok]
    cov_xy, rho_xy, n_tri = lag1_covariance(tracks)
    if n_tri < MIN_PAIRS:
        raise FitError(f"{tracks.meta.where}: too short to fit the motion: {n_tri} runs of 3 consecutive frames of one "
                       f"track (need >= {MIN_PAIRS}) for the lag-1 displacement covariance")
    msd = msd_xy.mean(axis=1)
    cov1 = float(cov_xy.mean())
    if not np.all(msd > 0):
        raise FitError(f"{tracks.meta.where}: the cells do not move (MSD = 0 at some lag); nothing to fit")
    w_cov = np.sqrt(len(lags))

    # parameters in frame units: p = (v0 tau [um], D_r tau [1], D_t tau [um^2], sigma [um])
    def residuals(p):
        v, r, d, s = p
        model = 2 * d * lags + v**2 * lags**2 * _h(r * lags) + 2 * s**2
        c = 0.5 * v**2 * _g(r) ** 2 - s**2
        return np.concatenate([(msd - model) / msd, [w_cov * (cov1 - c) / msd[0]]])

    scale = np.sqrt(msd[0])
    best = None
    for r0 in (0.003, 0.03, 0.3, 3.0):
        p0 = np.array([0.5 * scale, r0, 0.25 * msd[0], 0.3 * scale])
        sol = least_squares(residuals, p0, bounds=(0.0, np.inf), x_scale=np.array([scale, 1.0, msd[0], scale]),
                            method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=2000)
        if best is None or sol.cost < best.cost - 1e-15:
            best = sol
    v, r, d, s = best.x
    return MotionFit(
        v0_um_per_s=float(v / tau), D_r_per_s=float(r / tau), D_t_um2_per_s=float(d / tau), sigma_loc_um=float(s),
        frame_interval_s=tau, lags_frames=lags, msd_um2=msd, msd_xy_um2=msd_xy, n_pairs=n_pairs, cov1_um2=cov1,
        rho1_xy=rho_xy, n_triples=n_tri, cost=float(best.cost),
    )


__all__ = ["MotionFit", "fit_motion", "lag1_covariance", "abp_msd_per_axis_um2",
           "abp_lag1_cov_um2", "frame_interval_of"]
