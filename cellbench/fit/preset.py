r"""Fit a simulator preset (:class:`simulators.config.SimConfig`) to a tracks table.

:func:`fit_preset` chains three steps, each a pure function:

1. :func:`cellbench.fit.motion.fit_motion`: v0, D_r, D_t, sigma_loc from the per-axis MSD and
   the lag-1 displacement covariance (free-ABP formulas).
2. :func:`crowding_stats`: cells per frame and their exponential growth (division rate), the
   occupied region (microwell or box), density, g(r) and the core size.
3. :func:`build_config`: a SimConfig with the file's frame interval, its number of frames and
   of cells at the start, harmonic soft disks of diameter the core size, the well or a
   periodic box of the same area, and the fitted motion.

Crowding and walls slow cells down relative to the free-ABP formula, so (``n_corrections``
> 0) the config is then simulated with a fixed seed and (v0, D_t) are refitted to the file's
MSD divided by the simulation's suppression factor q(L) = MSD_sim(L) / MSD_formula(L)
(noise term removed from both): :func:`correct_motion`. The same seed every iteration makes
the whole procedure deterministic.

Units: um, s, kT; the mobility is mu = D_t / kT (Einstein), so forces in kT/um drift at mu F.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from cellbench.fit.crowding import (cells_per_frame, core_size_um, growth_rate_per_s, occupied_region,
                                    pair_correlation)
from cellbench.fit.errors import FitError, where
from cellbench.fit.motion import MotionFit, _h, fit_motion, msd_per_axis
from cellbench.tracks import Tracks
from simulators.config import PHI_CLOSE_PACKING, SimConfig
from simulators.potentials import PairPotential

RELAX_PER_FRAME = 5.0  # mu k tau: an overlap (or wall contact) relaxes ~e^-10 within one frame
MIN_STEPS_PER_FRAME = 20  # mu k dt = 5 / 20 = 0.25 < 0.5 (Euler stability); D_r dt <= 0.05
PHI_MAX_CELLS = 0.8  # max_cells is capped at this area fraction (below close packing 0.9069)
N_START_FRAMES = 5  # the number of cells at the start is the mean over the first frames
DEFAULT_CORE_UM = 10.0  # core size when g(r) has no pairs to measure it from (one cell)
CORRECTION_TOL = 0.05  # stop correcting once every simulated MSD lag is within 5 % of the file's


@dataclass(frozen=True)
class CrowdingFit:
    """Crowding statistics of a tracks table (see :func:`crowding_stats`)."""

    frames: np.ndarray
    counts: np.ndarray
    growth_per_s: float
    n0_fit: float
    region: "object"
    density_per_um2: float
    r_um: np.ndarray
    g: np.ndarray
    core_um: float
    core_from: str


def crowding_stats(tracks: Tracks, frame_interval_s: float, r_max_um: float = 60.0) -> CrowdingFit:
    r"""Cells per frame, growth rate (1/s), occupied region, mean density and core size.

    The density is the mean over frames of :math:`N_f / A` (cells per um^2), A the occupied
    area. The core size is the first r where g(r) reaches 0.5; with no pairs at all (a single
    cell) it falls back to 2 x the median ``radius_um`` column, else ``DEFAULT_CORE_UM``.
    """
    frames, counts = cells_per_frame(tracks)
    lam, n0 = growth_rate_per_s(frames, counts, frame_interval_s)
    region = occupied_region(tracks)
    r, g, n_pairs = pair_correlation(tracks, region.area_um2, r_max_um)
    core = core_size_um(r, g) if n_pairs > 0 else None
    core_from = "g(r) = 0.5"
    if core is None:
        if "radius_um" in tracks.df.columns:
            core, core_from = 2.0 * float(tracks.df["radius_um"].median()), "2 x median radius_um (no g(r))"
        else:
            core, core_from = DEFAULT_CORE_UM, f"default {DEFAULT_CORE_UM} um (no g(r))"
    return CrowdingFit(frames, counts, lam, n0, region, float(counts.mean() / region.area_um2), r, g, float(core),
                       core_from)


def build_config(motion: MotionFit, crowd: CrowdingFit, dataset: str) -> SimConfig:
    r"""The simulator config of a fitted file.

    - motion: ``v0_um_per_s``, ``D_r_per_s``, ``D_t_um2_per_s`` (floored at 1e-3 of
      MSD(1)/(2 tau) since the simulator needs D_t > 0), ``sigma_loc_um``.
    - time: ``dt_s = tau / record_every`` with record_every = max(20, 20 D_r tau) steps per
      frame; ``n_frames`` = the file's frames, ``n_cells`` = mean cells over its first frames.
    - cells: harmonic soft disks, sigma = core size, radius sigma/2,
      :math:`k = 5 / (\mu \tau)` kT/um^2 so that an overlap relaxes within a frame whatever
      D_t (mu = D_t/kT); a microwell wall of the same stiffness.
    - region: a ``"disk"`` becomes a microwell of radius R + sigma/2 (R the largest centre
      distance; the wall acts on the rim), centred at the origin; a ``"box"`` becomes a
      periodic square of the same area as the occupied region (same density), at least 3
      interaction ranges wide.
    - division: rate = the fitted growth rate, no minimum age (then N(t) = N0 e^{lambda t}),
      ``max_cells`` = 2 x the largest observed count, capped at area fraction 0.8.
    """
    tau = motion.frame_interval_s
    sigma_c = crowd.core_um
    radius = 0.5 * sigma_c
    D_t = max(motion.D_t_um2_per_s, 1e-3 * motion.msd_um2[0] / (2 * tau))
    steps = max(MIN_STEPS_PER_FRAME, int(math.ceil(20 * motion.D_r_per_s * tau)))
    k = RELAX_PER_FRAME / (D_t * tau)  # mu = D_t / kT with kT = 1
    n_start = max(1, int(round(float(crowd.counts[:N_START_FRAMES].mean()))))
    reg = crowd.region
    if reg.kind == "disk":
        geometry = dict(boundary="microwell", box_um=None, well_radius_um=float(reg.radius_um + radius),
                        wall_k_kT_per_um2=k)
        area = math.pi * float(reg.radius_um + radius) ** 2
    else:
        side = max(math.sqrt(reg.area_um2), 3.0 * sigma_c * 1.0001)
        geometry = dict(boundary="periodic", box_um=float(side))
        area = side * side
    cap_phi = int(PHI_MAX_CELLS * area / (math.pi * radius**2))
    if n_start * math.pi * radius**2 / area >= PHI_CLOSE_PACKING:
        raise FitError(f"{dataset}: {n_start} cells of core size {sigma_c:.3g} um do not fit in the occupied area "
                       f"{area:.4g} um^2 (above close packing); the core size from g(r) is too large")
    division = {}
    if crowd.growth_per_s > 0:
        max_cells = max(n_start, min(cap_phi, int(2 * crowd.counts.max())))
        division = dict(division_rate_per_s=float(crowd.growth_per_s), division_min_age_s=0.0, max_cells=max_cells)
    extra = {"sigma_loc_um": float(motion.sigma_loc_um)} if "sigma_loc_um" in SimConfig.__dataclass_fields__ else {}
    return SimConfig(
        description=f"fitted to {dataset} by cellbench simulate --like (free-ABP MSD fit, harmonic core from g(r))",
        n_cells=n_start, radius_um=radius, radius_spread=0.0,
        potential=PairPotential("harmonic", sigma_um=sigma_c, k_kT_per_um2=k),
        v0_um_per_s=float(motion.v0_um_per_s), D_t_um2_per_s=float(D_t), D_r_per_s=float(motion.D_r_per_s),
        dt_s=tau / steps, record_every=steps, n_frames=int(len(crowd.frames)), n_equil_steps=0, init="random",
        **geometry, **division, **extra,
    )


def _with_motion(cfg: SimConfig, v0_um_per_s: float, D_t_um2_per_s: float) -> SimConfig:
    """Same config with new v0 and D_t; the potential and wall stiffness follow mu = D_t so that
    mu k tau stays ``RELAX_PER_FRAME``."""
    tau = cfg.frame_interval_s
    k = RELAX_PER_FRAME / (D_t_um2_per_s * tau)
    changes = dict(v0_um_per_s=float(v0_um_per_s), D_t_um2_per_s=float(D_t_um2_per_s),
                   potential=dataclasses.replace(cfg.potential, k_kT_per_um2=k))
    if cfg.boundary == "microwell":
        changes["wall_k_kT_per_um2"] = k
    return dataclasses.replace(cfg, **changes)


def correct_motion(cfg: SimConfig, motion: MotionFit, n_iterations: int, seed: int = 0) -> tuple[SimConfig, list[dict]]:
    r"""Refit (v0, D_t) so that a simulation of ``cfg`` reproduces the file's MSD.

    Each iteration simulates the current config (same ``seed``), measures its per-axis MSD at
    the fitted lags and the suppression factor
    :math:`q(L) = (\mathrm{MSD}_{sim}(L) - 2\sigma^2) / (\mathrm{MSD}_{formula}(L) - 2\sigma^2)`
    (how much crowding and walls slow the cells), and solves the non-negative least squares

    .. math:: \min_{D_t, v_0^2 \ge 0} \sum_L \left[\frac{2 D_t t_L + v_0^2 t_L^2 h(D_r t_L)
              - (\mathrm{MSD}(L) - 2\sigma^2)/q(L)}{\mathrm{MSD}(L)}\right]^2

    with D_r and sigma_loc kept (h(x) = (x + e^{-x} - 1)/x^2). It stops once every lag of the
    simulation is within ``CORRECTION_TOL`` of the file, and returns the config whose
    simulation was closest (max relative MSD error) with one history row per simulation.
    """
    from simulators.engine import simulate

    lags = motion.lags_frames
    t = lags * motion.frame_interval_s
    s2 = 2 * motion.sigma_loc_um**2
    target = motion.msd_um2
    history: list[dict] = []
    best = (np.inf, cfg)
    for it in range(n_iterations + 1):
        sim = simulate(cfg, seed).tracks
        msd_sim = msd_per_axis(sim, lags)[0].mean(axis=1)
        err = np.abs(msd_sim / target - 1)
        history.append({"iteration": it, "v0_um_per_s": cfg.v0_um_per_s, "D_t_um2_per_s": cfg.D_t_um2_per_s,
                        "max_rel_msd_error": float(np.nanmax(err)), "mean_rel_msd_error": float(np.nanmean(err))})
        if np.nanmax(err) < best[0]:
            best = (float(np.nanmax(err)), cfg)
        if np.nanmax(err) < CORRECTION_TOL or it == n_iterations or not np.all(np.isfinite(msd_sim)):
            break
        basis = np.stack([2 * t, t**2 * _h(cfg.D_r_per_s * t)], axis=1)  # columns multiply D_t and v0^2
        formula = basis @ np.array([cfg.D_t_um2_per_s, cfg.v0_um_per_s**2])
        q = np.clip((msd_sim - s2) / np.maximum(formula, 1e-300), 0.05, 20.0)
        rhs = np.maximum(target - s2, 1e-3 * target) / q
        (D_t, v2), _ = nnls(basis / target[:, None], rhs / target)
        D_t = max(D_t, 1e-3 * target[0] / (2 * motion.frame_interval_s))
        cfg = _with_motion(cfg, math.sqrt(v2), D_t)
    return best[1], history


@dataclass(frozen=True)
class FitResult:
    """A fitted preset.

    Attributes
    ----------
    config : the SimConfig to simulate (after the correction, if any).
    stats : every fitted number, units in the key names (JSON-serialisable).
    motion : the free-ABP fit. crowding : the crowding statistics. formula_config : the config
        before the simulation-based correction. corrections : one row per correction simulation.
    """

    config: SimConfig
    stats: dict
    motion: MotionFit
    crowding: CrowdingFit
    formula_config: SimConfig
    corrections: list = field(default_factory=list)


def fit_preset(tracks: Tracks, max_lag_frames: int = 20, n_corrections: int = 3, seed: int = 0) -> FitResult:
    """Fit a simulator preset to ``tracks`` (any Tracks, a frame subset included); deterministic.

    Parameters
    ----------
    tracks : real or simulated tracks with a known frame interval.
    max_lag_frames : largest MSD lag fitted, frames.
    n_corrections : simulation-based (v0, D_t) corrections (0: the free-ABP formula only).
    seed : seed of the correction simulations.

    Raises
    ------
    FitError
        naming the file when it is too short or too sparse to fit.
    """
    name = tracks.meta.dataset
    motion = fit_motion(tracks, max_lag_frames)
    crowd = crowding_stats(tracks, motion.frame_interval_s)
    try:
        formula_cfg = build_config(motion, crowd, name)
    except FitError:
        raise
    except Exception as err:  # a SimConfig check: name the file the numbers came from
        raise FitError(f"{where(tracks)}: the fitted preset is not a valid simulation: {err}") from err
    cfg, history = formula_cfg, []
    if n_corrections > 0:
        cfg, history = correct_motion(formula_cfg, motion, n_corrections, seed)
    reg = crowd.region
    stats = {
        "source": where(tracks),
        "dataset": name,
        "frame_interval_s": motion.frame_interval_s,
        "first_frame": int(crowd.frames[0]),
        "n_frames": int(len(crowd.frames)),
        "max_lag_frames": int(motion.lags_frames[-1]),
        "formula_v0_um_per_s": motion.v0_um_per_s,
        "formula_D_r_per_s": motion.D_r_per_s,
        "formula_D_t_um2_per_s": motion.D_t_um2_per_s,
        "sigma_loc_um": motion.sigma_loc_um,
        "persistence_time_s": (1.0 / motion.D_r_per_s) if motion.D_r_per_s > 0 else float("inf"),
        "msd_fit_cost": motion.cost,
        "lag1_cov_um2": motion.cov1_um2,
        "lag1_cov_model_um2": motion.model_cov1_um2(),
        "lag1_autocorr_x": float(motion.rho1_xy[0]),
        "lag1_autocorr_y": float(motion.rho1_xy[1]),
        "msd_axis_lag1_um2": float(motion.msd_um2[0]),
        "msd_axis_lagmax_um2": float(motion.msd_um2[-1]),
        "v0_um_per_s": cfg.v0_um_per_s,
        "D_r_per_s": cfg.D_r_per_s,
        "D_t_um2_per_s": cfg.D_t_um2_per_s,
        "correction_iterations": max(len(history) - 1, 0),
        "correction_max_rel_msd_error": [h["max_rel_msd_error"] for h in history],
        "n_cells_start": cfg.n_cells,
        "cells_per_frame_first": int(crowd.counts[0]),
        "cells_per_frame_last": int(crowd.counts[-1]),
        "cells_per_frame_max": int(crowd.counts.max()),
        "growth_rate_per_s": crowd.growth_per_s,
        "division_rate_per_s": cfg.division_rate_per_s,
        "doubling_time_h": (math.log(2) / crowd.growth_per_s / 3600) if crowd.growth_per_s > 0 else float("inf"),
        "region": reg.kind,
        "region_centre_x_um": reg.centre_um[0],
        "region_centre_y_um": reg.centre_um[1],
        "region_radius_um": reg.radius_um,
        "region_box_um": list(reg.box_um),
        "region_area_um2": reg.area_um2,
        "hull_circle_rms_rel": reg.hull_rms_rel,
        "hull_circle_fill": reg.hull_fill,
        "density_per_um2": crowd.density_per_um2,
        "core_size_um": crowd.core_um,
        "core_size_from": crowd.core_from,
        "potential": "harmonic",
        "potential_k_kT_per_um2": cfg.potential.k_kT_per_um2,
        "sim_boundary": cfg.boundary,
        "sim_well_radius_um": cfg.well_radius_um,
        "sim_box_um": cfg.box_um,
        "sim_steps_per_frame": cfg.record_every,
    }
    return FitResult(cfg, stats, motion, crowd, formula_cfg, history)


__all__ = ["FitResult", "CrowdingFit", "fit_preset", "crowding_stats", "build_config", "correct_motion"]
