r"""Ground truth for simulated data and the recovery errors of an estimated prior.

The reference c(r) of a pair potential at density :math:`\rho` is, in order of trust:

1. an independent long periodic simulation of the same potential and density
   (:mod:`cellbench.prior.validation.reference_mc`, estimated with the periodic route, many frames);
2. Percus-Yevick for steep repulsive cores (WCA: within ~1% of simulation);
3. HNC, which is ~15% off for strong Yukawa and ~11% for WCA: a comparison curve only.

Errors (all on a uniform r grid; sigma is the potential's contact distance):

* ``rel_l2``: :math:`\sqrt{\int (c - c_\mathrm{ref})^2 dr / \int c_\mathrm{ref}^2 dr}` on
  [0.5, 4] sigma;
* ``abs_beyond_core``: max :math:`|c - c_\mathrm{ref}|` on [1.5, 4] sigma (WCA, where c ~ 0 and a
  relative error means nothing);
* ``r_cut_error``: :math:`r_\mathrm{cut} - r_\mathrm{cut,ref}` in sigma (5% criterion on both);
* ``tail_rel``: relative L2 distance of c from :math:`-\beta u` on [2, 4] sigma (Yukawa);
* ``S_rms``: rms of :math:`S - S_\mathrm{ref}` over 1 < k sigma < 15.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cellbench.prior.correlation import interaction_range
from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.result import Prior
from cellbench.prior.window import Window

REL_L2_RANGE_SIGMA = (0.5, 4.0)
ABS_RANGE_SIGMA = (1.5, 4.0)
TAIL_RANGE_SIGMA = (2.0, 4.0)
S_RANGE_K_SIGMA = (1.0, 15.0)


def rel_l2(c: Callable, c_ref: Callable, sigma_um: float, lo: float = REL_L2_RANGE_SIGMA[0],
           hi: float = REL_L2_RANGE_SIGMA[1], n: int = 2000) -> float:
    r"""Relative L2 error of c against c_ref on [lo, hi] sigma (uniform grid of n points)."""
    r = np.linspace(lo, hi, n) * sigma_um
    a, b = c(r), c_ref(r)
    return float(np.sqrt(np.sum((a - b) ** 2) / np.sum(b**2)))


def max_abs(c: Callable, c_ref: Callable, sigma_um: float, lo: float = ABS_RANGE_SIGMA[0],
            hi: float = ABS_RANGE_SIGMA[1], n: int = 2000) -> float:
    """max |c - c_ref| on [lo, hi] sigma."""
    r = np.linspace(lo, hi, n) * sigma_um
    return float(np.max(np.abs(c(r) - c_ref(r))))


def s_rms(prior: Prior, S_ref: Callable, sigma_um: float, lo: float = S_RANGE_K_SIGMA[0],
          hi: float = S_RANGE_K_SIGMA[1]) -> float:
    """rms of S - S_ref over the prior's k grid with lo < k sigma < hi."""
    k = prior.k_inv_um
    sel = (k * sigma_um > lo) & (k * sigma_um < hi)
    return float(np.sqrt(np.mean((prior.S_k[sel] - S_ref(k[sel])) ** 2)))


def reference_by_mc(potential: dict, rho_per_um2: float, n_cells: int = 1000, n_frames: int = 1000,
                    sweeps_per_frame: int = 20, seed: int = 0) -> Prior:
    """c(r) of an independent periodic Monte Carlo run of the potential at the density.

    Defaults: N = 1000, 1000 frames 20 sweeps apart after 2000 sweeps of equilibration.
    """
    from cellbench.prior.validation.reference_mc import MCConfig, run_mc

    cfg = MCConfig(potential, n_cells, rho_per_um2, 2000, sweeps_per_frame)
    frames, L, _ = run_mc(cfg, n_frames, seed)
    spacing = rho_per_um2**-0.5
    est = PriorEstimator(Window.periodic((L, L)), min(8 * spacing, 0.499 * L), spacing / 200)
    prior = est.compute(frames).prior
    hyper = dict(prior.hyperparameters)
    hyper["reference"] = {"sampler": "cellbench.prior.reference_mc", "n_cells": n_cells, "n_frames": n_frames,
                          "sweeps_per_frame": sweeps_per_frame, "seed": seed, "potential": potential,
                          "rho_per_um2": rho_per_um2}
    return Prior(prior.k_inv_um, prior.S_k, prior.C_k, prior.r_um, prior.c_r, prior.rho_per_um2, prior.r_cut_um,
                 hyper, {"S0_tail_corrected": prior.diagnostics.get("S0_tail_corrected")})


def recovery_errors(prior: Prior, c_ref: Callable, S_ref: Callable | None, sigma_um: float,
                    beta_u: Callable | None = None, r_ref_um: np.ndarray | None = None,
                    c_ref_grid: np.ndarray | None = None) -> dict:
    """Every recovery error of the issue, in one dict (see the module docstring)."""
    out = {
        "rel_l2_0.5_4_sigma": rel_l2(prior.c_of_r, c_ref, sigma_um),
        "max_abs_1.5_4_sigma": max_abs(prior.c_of_r, c_ref, sigma_um),
        "r_cut_um": prior.r_cut_um,
    }
    if r_ref_um is not None and c_ref_grid is not None:
        r_cut_ref = interaction_range(r_ref_um, c_ref_grid)
        out["r_cut_ref_um"] = r_cut_ref
        out["r_cut_error_sigma"] = (prior.r_cut_um - r_cut_ref) / sigma_um
    if S_ref is not None:
        out["S_rms_1_15_per_sigma"] = s_rms(prior, S_ref, sigma_um)
    if beta_u is not None:
        out["tail_rel_2_4_sigma"] = rel_l2(prior.c_of_r, lambda r: -beta_u(r), sigma_um, *TAIL_RANGE_SIGMA)
    return out
