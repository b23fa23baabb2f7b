r"""Fit a simulator preset (:class:`cellbench.sim.config.SimConfig`) to a tracks table.

:func:`fit_preset` chains three steps, each a pure function:

1. :func:`cellbench.simfit.motion.fit_motion`: v0, D_r, D_t, sigma_loc from the per-axis MSD and
   the lag-1 displacement covariance (free-ABP formulas).
2. :func:`crowding_stats`: cells per frame and their exponential growth (division rate), the
   occupied region (microwell or box), density, g(r) and the core size.
3. :func:`build_config`: a SimConfig with the file's frame interval, its number of frames and
   of cells at the start, harmonic soft disks of diameter the core size, the well or a
   periodic box of the same area, and the fitted motion.

Crowding and walls slow cells down relative to the free-ABP formula, so (``n_corrections``
> 0) the config is then simulated with a fixed seed and (v0, D_t) are refitted to the file's
MSD divided by the simulation's suppression factor q(L) = MSD_sim(L) / MSD_formula(L)
(noise term removed from both), and the potential's diameter is moved until the simulated
g(r) reaches 0.5 where the file's does: :func:`correct_by_simulation`. The same seed every iteration makes
the whole procedure deterministic.

Units: um, s, kT; the mobility is mu = D_t / kT (Einstein), so forces in kT/um drift at mu F.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from cellbench.data.track_stats import msd_per_axis
from cellbench.data.tracks import Tracks
from cellbench.errors import ConfigError, FitError
from cellbench.sim.config import PHI_CLOSE_PACKING, SimConfig
from cellbench.sim.potentials import PairPotential
from cellbench.simfit.crowding import (Region, cells_per_frame, core_size_um, growth_rate_per_s, occupied_region,
                                       pair_correlation)
from cellbench.simfit.motion import MotionFit, _h, fit_motion

RELAX_PER_FRAME = 5.0  # mu k tau: an overlap (or wall contact) relaxes ~e^-10 within one frame
MIN_STEPS_PER_FRAME = 20  # mu k dt = 5 / 20 = 0.25 < 0.5 (Euler stability); D_r dt <= 0.05
PHI_MAX_CELLS = 0.8  # max_cells is capped at this area fraction (below close packing 0.9069)
N_START_FRAMES = 5  # the number of cells at the start is the mean over the first frames
DEFAULT_CORE_UM = 10.0  # core size when g(r) has no pairs to measure it from (one cell)
CORRECTION_TOL = 0.05  # stop correcting once every simulated MSD lag is within 5 % of the file's ...
CORE_TOL = 0.05  # ... and the simulated core size within 5 %
DIVISION_MIN_AGE_FRACTION = 0.75  # cells divide no earlier than 0.75 doubling times after birth
THERMAL_OVERLAP = 0.05  # thermal overlap sqrt(kT/k) at most this fraction of the core size


@dataclass(frozen=True)
class CrowdingFit:
    """Crowding statistics of a tracks table (see :func:`crowding_stats`)."""

    frames: np.ndarray
    counts: np.ndarray
    growth_per_s: float
    n0_fit: float
    region: Region
    density_per_um2: float
    r_um: np.ndarray
    g: np.ndarray
    core_um: float | None
    core_from: str


def crowding_stats(tracks: Tracks, frame_interval_s: float, r_max_um: float = 60.0) -> CrowdingFit:
    r"""Cells per frame, growth rate (1/s), occupied region, mean density and core size.

    The density is the mean over frames of :math:`N_f / A` (cells per um^2), A the occupied
    area. The core size is the first r where g(r) reaches 0.5; with no pairs at all (a single
    cell) it falls back to 2 x the median ``radius_um`` column, else ``DEFAULT_CORE_UM``. When
    g(r) is already >= 0.5 in its first bin the cells do not exclude each other: core None.
    """
    frames, counts = cells_per_frame(tracks)
    lam, n0 = growth_rate_per_s(frames, counts, frame_interval_s)
    region = occupied_region(tracks)
    r, g, n_pairs = pair_correlation(tracks, region.area_um2, r_max_um)
    core = core_size_um(r, g) if n_pairs > 0 else None
    core_from = "g(r) = 0.5"
    if core is not None and core <= r[0]:  # g >= 0.5 in the first bin already: no excluded core
        core, core_from = None, f"none: g(r) >= 0.5 already below {r[0] + 0.5 * (r[1] - r[0]):g} um (no repulsion)"
    elif core is None:
        if "radius_um" in tracks.df.columns:
            core, core_from = 2.0 * float(tracks.df["radius_um"].median()), "2 x median radius_um (no g(r))"
        else:
            core, core_from = DEFAULT_CORE_UM, f"default {DEFAULT_CORE_UM} um (no g(r))"
    return CrowdingFit(frames, counts, lam, n0, region, float(counts.mean() / region.area_um2), r, g,
                       None if core is None else float(core), core_from)


def division_for_growth(growth_per_s: float,
                        min_age_fraction: float = DIVISION_MIN_AGE_FRACTION) -> tuple[float, float]:
    r"""(division rate k in 1/s, minimum age a in s) whose population grows as e^{lambda t}.

    A cell divides at rate k once older than a, so its generation time is a plus an
    exponential wait of mean 1/k; the population's Malthusian growth rate solves
    (Euler-Lotka, each division giving two cells)

    .. math:: 2\,\frac{k}{k + \lambda}\,e^{-\lambda a} = 1
              \quad\Rightarrow\quad k = \frac{\lambda}{2 e^{-\lambda a} - 1}

    With a = 0.75 doubling times (ln 2 / lambda), k = 5.28 lambda and the generation times have
    a coefficient of variation of 0.27 instead of 1 for a = 0: fewer cells in a small well grow
    far faster or slower than the file by chance.
    """
    if growth_per_s <= 0:
        return 0.0, 0.0
    a = min_age_fraction * math.log(2) / growth_per_s
    return float(growth_per_s / (2 * math.exp(-growth_per_s * a) - 1)), float(a)


def build_config(motion: MotionFit, crowd: CrowdingFit, dataset: str) -> SimConfig:
    r"""The simulator config of a fitted file.

    - motion: ``v0_um_per_s``, ``D_r_per_s``, ``D_t_um2_per_s`` (floored at 1e-3 of
      MSD(1)/(2 tau) since the simulator needs D_t > 0), ``sigma_loc_um``.
    - time: ``dt_s = tau / record_every`` with record_every the smallest number of steps per
      frame (>= 20) with D_r dt <= 0.05 and mu k dt <= 0.25; ``n_frames`` = the file's frames,
      ``n_cells`` = mean cells over its first frames.
    - cells: harmonic soft disks, sigma = core size, radius sigma/2,
      :math:`k = \max(5 / (\mu \tau), 1/(0.05\sigma)^2)` kT/um^2: an overlap relaxes within a
      frame whatever D_t (mu = D_t/kT) and thermal overlaps stay below 5 % of sigma; a
      microwell wall of the same stiffness.
    - region: a ``"disk"`` becomes a microwell of radius R + sigma/2 (R the largest centre
      distance; the wall acts on the rim), centred at the origin; a ``"box"`` becomes a
      periodic square of the same area as the occupied region (same density), at least 3
      interaction ranges wide.
    - division: the rate and minimum age of :func:`division_for_growth` (the population grows
      as N0 e^{lambda t} with the fitted lambda), ``max_cells`` = 2 x the largest observed
      count, capped at area fraction 0.8.
    """
    tau = motion.frame_interval_s
    sigma_c = crowd.core_um
    D_t = max(motion.D_t_um2_per_s, 1e-3 * motion.msd_um2[0] / (2 * tau))
    k = _stiffness(D_t, tau, sigma_c)
    steps = _steps_per_frame(D_t, motion.D_r_per_s, k, tau)
    n_start = max(1, int(round(float(crowd.counts[:N_START_FRAMES].mean()))))
    reg = crowd.region
    if sigma_c is None:  # point-like cells: a nominal radius well below the mean spacing
        n_most = max(n_start, int(crowd.counts.max()))
        sigma_c_box = 0.0  # no interactions: any box size works for the cell list
        radius = min(0.5 * DEFAULT_CORE_UM, 0.25 * math.sqrt(reg.area_um2 / n_most))
    else:
        sigma_c_box = sigma_c
        radius = 0.5 * sigma_c
    if reg.kind == "disk":
        geometry = dict(boundary="microwell", box_um=None, well_radius_um=float(reg.radius_um + radius),
                        wall_k_kT_per_um2=k)
        area = math.pi * float(reg.radius_um + radius) ** 2
    else:
        side = max(math.sqrt(reg.area_um2), 3.0 * sigma_c_box * 1.0001)
        geometry = dict(boundary="periodic", box_um=float(side))
        area = side * side
    cap_phi = int(PHI_MAX_CELLS * area / (math.pi * radius**2))
    if n_start * math.pi * radius**2 / area >= PHI_CLOSE_PACKING:
        raise FitError(f"{dataset}: {n_start} cells of radius {radius:.3g} um do not fit in the occupied area "
                       f"{area:.4g} um^2 (above close packing); the core size from g(r) is too large")
    division = {}
    if crowd.growth_per_s > 0:
        max_cells = max(n_start, min(cap_phi, int(2 * crowd.counts.max())))
        rate, min_age = division_for_growth(crowd.growth_per_s)
        division = dict(division_rate_per_s=rate, division_min_age_s=min_age, max_cells=max_cells)
    extra = {"sigma_loc_um": float(motion.sigma_loc_um)} if "sigma_loc_um" in SimConfig.__dataclass_fields__ else {}
    return SimConfig(
        description=f"fitted to {dataset} by cellbench simulate --like (free-ABP MSD fit, harmonic core from g(r))",
        n_cells=n_start, radius_um=radius, radius_spread=0.0,
        potential=None if sigma_c is None else PairPotential("harmonic", sigma_um=sigma_c, k_kT_per_um2=float(k)),
        v0_um_per_s=float(motion.v0_um_per_s), D_t_um2_per_s=float(D_t), D_r_per_s=float(motion.D_r_per_s),
        dt_s=tau / steps, record_every=steps, n_frames=int(len(crowd.frames)), n_equil_steps=0, init="random",
        **geometry, **division, **extra,
    )


def _stiffness(D_t_um2_per_s: float, tau_s: float, sigma_um: float | None) -> float:
    r"""Harmonic stiffness k (kT/um^2): :math:`\max(5/(\mu\tau),\ 1/(0.05\sigma)^2)`, mu = D_t/kT.

    The first term relaxes an overlap within a frame whatever D_t; the second keeps thermal
    overlaps (sqrt(kT/k)) below 5 % of the core size (left out when there is no core).
    """
    k = RELAX_PER_FRAME / (D_t_um2_per_s * tau_s)
    return k if sigma_um is None else max(k, 1.0 / (THERMAL_OVERLAP * sigma_um) ** 2)


def _steps_per_frame(D_t_um2_per_s: float, D_r_per_s: float, k_kT_per_um2: float, tau_s: float) -> int:
    """Steps per frame: >= 20, D_r dt <= 0.05 and mu k dt <= 0.25 (Euler stability needs < 0.5)."""
    return max(MIN_STEPS_PER_FRAME, int(math.ceil(20 * D_r_per_s * tau_s)),
               int(math.ceil(D_t_um2_per_s * k_kT_per_um2 * tau_s / 0.25)))


def _with_motion(cfg: SimConfig, v0_um_per_s: float, D_t_um2_per_s: float, core_um: float | None) -> SimConfig:
    """Same config with new v0, D_t and core size (None: no potential); stiffness, wall, radius
    and time step follow."""
    tau = cfg.frame_interval_s
    k = _stiffness(D_t_um2_per_s, tau, core_um)
    steps = _steps_per_frame(D_t_um2_per_s, cfg.D_r_per_s, k, tau)
    changes = dict(v0_um_per_s=float(v0_um_per_s), D_t_um2_per_s=float(D_t_um2_per_s), record_every=steps,
                   dt_s=tau / steps)
    if cfg.potential is not None and core_um is not None:
        changes["potential"] = dataclasses.replace(cfg.potential, sigma_um=float(core_um), k_kT_per_um2=float(k))
        changes["radius_um"] = 0.5 * float(core_um)
    if cfg.boundary == "microwell":
        changes["wall_k_kT_per_um2"] = float(k)
        # keep the reach of the cell centres, R_centre = R_well - radius
        changes["well_radius_um"] = float(cfg.well_radius_um - cfg.radius_um + changes.get("radius_um", cfg.radius_um))
    return dataclasses.replace(cfg, **changes)


def _sim_core_um(tracks: Tracks) -> float | None:
    region = occupied_region(tracks)
    r, g, n = pair_correlation(tracks, region.area_um2, 60.0)
    return core_size_um(r, g) if n > 0 else None


def correct_by_simulation(cfg: SimConfig, motion: MotionFit, crowd: CrowdingFit, n_iterations: int,
                          seed: int = 0) -> tuple[SimConfig, list[dict]]:
    r"""Refit (v0, D_t) and the core size so that a simulation of ``cfg`` reproduces the file.

    Each iteration simulates the current config (same ``seed``), measures its per-axis MSD at
    the fitted lags and the suppression factor
    :math:`q(L) = (\mathrm{MSD}_{sim}(L) - 2\sigma^2) / (\mathrm{MSD}_{formula}(L) - 2\sigma^2)`
    (how much crowding and walls slow the cells), and solves the non-negative least squares

    .. math:: \min_{D_t, v_0^2 \ge 0} \sum_L \left[\frac{2 D_t t_L + v_0^2 t_L^2 h(D_r t_L)
              - (\mathrm{MSD}(L) - 2\sigma^2)/q(L)}{\mathrm{MSD}(L)}\right]^2

    with D_r and sigma_loc kept (h(x) = (x + e^{-x} - 1)/x^2). The potential's diameter moves by
    the gap between the file's and the simulation's core size (where g(r) reaches 0.5; soft
    cores and localization noise put the simulated one below the potential's sigma). It stops
    once every MSD lag is within ``CORRECTION_TOL`` of the file and the cores within 5 %, and
    returns the config whose simulation scored best (largest of the two relative errors) with
    one history row per simulation.
    """
    from cellbench.sim.engine import simulate

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
        core_sim = _sim_core_um(sim) if crowd.core_um is not None and cfg.potential is not None else None
        core_err = abs(core_sim / crowd.core_um - 1) if core_sim is not None else 0.0
        score = max(float(np.nanmax(err)), core_err)
        history.append({"iteration": it, "v0_um_per_s": cfg.v0_um_per_s, "D_t_um2_per_s": cfg.D_t_um2_per_s,
                        "potential_sigma_um": cfg.potential.sigma_um if cfg.potential is not None else None,
                        "max_rel_msd_error": float(np.nanmax(err)),
                        "mean_rel_msd_error": float(np.nanmean(err)), "core_size_sim_um": core_sim,
                        "core_size_rel_error": core_err})
        if score < best[0]:
            best = (score, cfg)
        if (np.nanmax(err) < CORRECTION_TOL and core_err < CORE_TOL) or it == n_iterations \
                or not np.all(np.isfinite(msd_sim)):
            break
        basis = np.stack([2 * t, t**2 * _h(cfg.D_r_per_s * t)], axis=1)  # columns multiply D_t and v0^2
        formula = basis @ np.array([cfg.D_t_um2_per_s, cfg.v0_um_per_s**2])
        q = np.clip((msd_sim - s2) / np.maximum(formula, 1e-300), 0.05, 20.0)
        rhs = np.maximum(target - s2, 1e-3 * target) / q
        (D_t, v2), _ = nnls(basis / target[:, None], rhs / target)
        D_t = max(D_t, 1e-3 * target[0] / (2 * motion.frame_interval_s))
        core = cfg.potential.sigma_um if cfg.potential is not None else None
        if core_sim is not None:
            core = float(np.clip(core + crowd.core_um - core_sim, 0.5 * crowd.core_um, 2.0 * crowd.core_um))
        try:
            cfg = _with_motion(cfg, math.sqrt(v2), D_t, core)
        except ConfigError:  # e.g. a larger core no longer fits below close packing: keep the best so far
            break
    return best[1], history


@dataclass(frozen=True)
class PresetFit:
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


def fit_preset(tracks: Tracks, max_lag_frames: int = 20, n_corrections: int = 5, seed: int = 0) -> PresetFit:
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
        raise FitError(f"{tracks.meta.where}: the fitted preset is not a valid simulation: {err}") from err
    cfg, history = formula_cfg, []
    if n_corrections > 0:
        cfg, history = correct_by_simulation(formula_cfg, motion, crowd, n_corrections, seed)
    reg = crowd.region
    stats = {
        "source": tracks.meta.where,
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
        "division_min_age_s": cfg.division_min_age_s,
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
        "potential_sigma_um": cfg.potential.sigma_um if cfg.potential is not None else None,
        "potential": cfg.potential.name if cfg.potential is not None else "none",
        "potential_k_kT_per_um2": cfg.potential.k_kT_per_um2 if cfg.potential is not None else None,
        "sim_boundary": cfg.boundary,
        "sim_well_radius_um": cfg.well_radius_um,
        "sim_box_um": cfg.box_um,
        "sim_steps_per_frame": cfg.record_every,
    }
    return PresetFit(cfg, stats, motion, crowd, formula_cfg, history)


__all__ = ["PresetFit", "CrowdingFit", "fit_preset", "crowding_stats", "build_config", "correct_by_simulation"]
