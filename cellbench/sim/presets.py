"""Named simulation presets (``cellbench simulate --list``).

Cells are disks of radius ~5 um (contact distance sigma = 10 um). Energies are in kT and the
mobility is mu = D_t/kT (Einstein), so for the active presets, whose D_t is small, the
potential strengths are large numbers of kT: what matters is the ratio of the active force
v0/mu to the repulsion (e.g. 24 epsilon/sigma for WCA).

Measured one-step R^2 (``cellbench.evaluation.sim_truth.oracle_r2``, seed 0, pooled over dx and dy):
``r2_oracle`` is explained by the oracle displacement, ``r2_int`` = r2_oracle - R^2 of
self-propulsion alone (v0 e(theta) frame_interval) is what the interactions add. See
:data:`MEASURED` (regenerate with ``python -m cellbench.runs.measure_presets``):

==============  =========  ======  ================  ===========  =====
preset          r2_oracle  r2_int  disp std/axis um  cells/frame  cpu s
==============  =========  ======  ================  ===========  =====
free-abp        0.664      0.000   0.83              400          0.2
passive-wca     0.015      0.015   4.74              282-310      8.2
passive-yukawa  0.095      0.095   5.27              140-155      24.9
abp-wca         0.945      0.872   0.52              579-598      1.1
microwell-hsc   0.186      0.052   1.85              4-97         0.1
vicsek-flock    0.213      0.069   0.69              178-238      3.4
morse-adhesive  0.187      0.142   0.62              223-238      1.2
default         0.666      0.725   1.12              180-206      1.1
==============  =========  ======  ================  ===========  =====
"""

from __future__ import annotations

import math

from cellbench.sim.config import SimConfig
from cellbench.sim.potentials import PairPotential


def _n_for_phi(phi: float, area_um2: float, radius_um: float = 5.0) -> int:
    return int(round(phi * area_um2 / (math.pi * radius_um**2)))


PRESETS: dict[str, SimConfig] = {
    "free-abp": SimConfig(
        description="non-interacting ABPs (v0 1 um/s, D_r 0.1/s, D_t 0.1 um^2/s): MSD = 4 D_t t + "
        "2 v0^2/D_r^2 (D_r t + e^{-D_r t} - 1)",
        n_cells=400, box_um=400.0, v0_um_per_s=1.0, D_t_um2_per_s=0.1, D_r_per_s=0.1, dt_s=0.05,
        record_every=20, n_frames=300,
    ),
    "passive-wca": SimConfig(
        description="passive Brownian WCA disks (epsilon 1 kT, sigma 10 um), phi 0.40, equilibrium: for OZ checks "
        "(20-s frames, ~2 sigma^2/D apart, after 1000 s of equilibration)",
        n_cells=_n_for_phi(0.40, 300.0**2), box_um=300.0, fov_um=(30.0, 30.0, 270.0, 270.0),
        potential=PairPotential("wca", sigma_um=10.0, epsilon_kT=1.0),
        D_t_um2_per_s=1.0, dt_s=0.02, record_every=1000, n_frames=200, n_equil_steps=50000,
    ),
    "passive-yukawa": SimConfig(
        description="passive Brownian screened-Coulomb disks (u(10 um) = 5 kT, Debye length 5 um, cut 30 um), "
        "phi 0.20, equilibrium (20-s frames after 1000 s of equilibration)",
        n_cells=_n_for_phi(0.20, 300.0**2), box_um=300.0, fov_um=(30.0, 30.0, 270.0, 270.0),
        potential=PairPotential("yukawa", sigma_um=10.0, A_kT_um=5.0 * 10.0 * math.exp(2.0), kappa_per_um=0.2,
                                r_cut_um=30.0),
        D_t_um2_per_s=1.0, dt_s=0.01, record_every=2000, n_frames=200, n_equil_steps=100000,
    ),
    "abp-wca": SimConfig(
        description="motility-dominated ABPs with WCA repulsion, phi 0.40, Pe = 3 v0/(sigma D_r) = 30, "
        "active force v0/mu = 100 kT/um vs 24 epsilon/sigma = 240 kT/um; ~580-600 observed cells (450-um box, "
        "340-um field of view)",
        n_cells=_n_for_phi(0.40, 450.0**2), box_um=450.0, fov_um=(55.0, 55.0, 395.0, 395.0),
        potential=PairPotential("wca", sigma_um=10.0, epsilon_kT=100.0),
        v0_um_per_s=1.0, D_t_um2_per_s=0.01, D_r_per_s=0.01, dt_s=0.02, record_every=50, n_frames=200,
        n_equil_steps=5000,
    ),
    "microwell-hsc": SimConfig(
        description="HSC-like: 4 cells dividing to ~100 in a 150-um microwell inside the field of view, "
        "300-s frames, polydisperse soft disks, slow persistent motion (~2 um per frame per axis)",
        n_cells=4, boundary="microwell", box_um=None, well_radius_um=150.0, wall_k_kT_per_um2=2.0,
        fov_um=(-170.0, -170.0, 170.0, 170.0), radius_um=5.0, radius_spread=0.2,
        potential=PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=2.0),
        v0_um_per_s=0.004, D_t_um2_per_s=0.005, D_r_per_s=1.0 / 3600.0, dt_s=3.0, record_every=100, n_frames=400,
        division_rate_per_s=1.0 / 13000.0, division_min_age_s=4 * 3600.0, max_cells=160, init="random",
    ),
    "vicsek-flock": SimConfig(
        description="ABPs with Vicsek-like alignment (g 2/s over 20 um >> D_r 0.05/s) and soft repulsion, "
        "phi 0.30: one polar flock (order |<e(theta)>| ~ 0.96)",
        n_cells=_n_for_phi(0.30, 300.0**2), box_um=300.0, fov_um=(30.0, 30.0, 270.0, 270.0),
        potential=PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=100.0),
        v0_um_per_s=1.0, D_t_um2_per_s=0.1, D_r_per_s=0.05, align_strength_per_s=2.0, align_range_um=20.0,
        dt_s=0.01, record_every=200, n_frames=120, n_equil_steps=20000,
    ),
    "morse-adhesive": SimConfig(
        description="weakly active adhesive disks: Morse well 4 kT deep, 2 um wide (alpha 0.5/um), cut 15 um, "
        "phi 0.30: clusters",
        n_cells=_n_for_phi(0.30, 300.0**2), box_um=300.0, fov_um=(30.0, 30.0, 270.0, 270.0),
        potential=PairPotential("morse", sigma_um=10.0, epsilon_kT=4.0, alpha_per_um=0.5, r_cut_um=15.0),
        v0_um_per_s=0.2, D_t_um2_per_s=0.1, D_r_per_s=0.02, dt_s=0.05, record_every=40, n_frames=300,
        n_equil_steps=20000,
    ),
    "default": SimConfig(
        description="cellbench run's built-in dataset: ~200 observed active soft disks (harmonic k 100 kT/um^2), "
        "phi 0.50, v0 1 um/s, D_r 0.1/s, 2-s frames",
        n_cells=_n_for_phi(0.50, 200.0**2), box_um=200.0, fov_um=(12.0, 12.0, 188.0, 188.0),
        potential=PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=100.0),
        v0_um_per_s=1.0, D_t_um2_per_s=0.1, D_r_per_s=0.1, dt_s=0.01, record_every=200, n_frames=300,
        n_equil_steps=5000,
    ),
}

# Measured with ``python -m cellbench.runs.measure_presets`` (seed 0, 1 numba thread, 2026-11-26, on the
# shared 2-core dev machine, kernels of commit a317c14, load average ~1: cpu_s is the process CPU
# time of simulate(),
# wall_s the elapsed time; both exclude numba compilation and writing files). r2_int is
# r2_oracle minus the R^2 of self-propulsion alone; it exceeds r2_oracle when self-propulsion
# alone does worse than predicting the mean (crowded cells do not move along e(theta)).
MEASURED: dict[str, dict] = {
    "free-abp": {"r2_oracle": 0.664, "r2_int": 0.000, "disp_std_um": 0.83, "cells_per_frame": (400, 400), "cpu_s": 0.2, "wall_s": 0.2},
    "passive-wca": {"r2_oracle": 0.015, "r2_int": 0.015, "disp_std_um": 4.74, "cells_per_frame": (298, 295), "cpu_s": 8.2, "wall_s": 8.2},
    "passive-yukawa": {"r2_oracle": 0.095, "r2_int": 0.095, "disp_std_um": 5.27, "cells_per_frame": (151, 147), "cpu_s": 24.9, "wall_s": 24.9},
    "abp-wca": {"r2_oracle": 0.945, "r2_int": 0.872, "disp_std_um": 0.52, "cells_per_frame": (580, 587), "cpu_s": 1.1, "wall_s": 1.1},
    "microwell-hsc": {"r2_oracle": 0.186, "r2_int": 0.052, "disp_std_um": 1.85, "cells_per_frame": (4, 97), "cpu_s": 0.1, "wall_s": 0.1},
    "vicsek-flock": {"r2_oracle": 0.213, "r2_int": 0.069, "disp_std_um": 0.69, "cells_per_frame": (234, 194), "cpu_s": 3.4, "wall_s": 3.4},
    "morse-adhesive": {"r2_oracle": 0.187, "r2_int": 0.142, "disp_std_um": 0.62, "cells_per_frame": (226, 228), "cpu_s": 1.2, "wall_s": 1.2},
    "default": {"r2_oracle": 0.666, "r2_int": 0.725, "disp_std_um": 1.12, "cells_per_frame": (206, 197), "cpu_s": 1.1, "wall_s": 1.1},
}
# vicsek-flock: the whole flock moves together; R^2 is taken around the mean displacement, so
# the common motion (2 um per frame) does not count and what is left is mostly noise; how much
# self-propulsion explains depends on how ordered the flock still is (seed 1: r2_oracle 0.148,
# r2_int 0.084, polar order 0.97-0.98; seed 0 orders from 0.85 to 0.96 over the movie).
# Passive presets: at equilibrium the one-step displacement is dominated by thermal noise
# whatever the frame interval (0.03-0.06 measured for 0.1-3 s frames, 0.02-0.10 for 20 s); they
# exist for structure (g(r), S(k), c(r)) checks against Ornstein-Zernike, not for displacement
# prediction. Their frames are 20 s apart (dt 0.02 s, 1000 steps) because the estimate of c(r)
# needs independent configurations: with 5-s frames consecutive frames are correlated over 5-28
# frames, and c(r) seen through a ~1000-cell field of view was 4.6-7.2% off the Monte Carlo
# reference (25-s frames: 1.4-1.6%; whether the run started on a lattice or at random, after
# 200 or 2000 s of equilibration, made no systematic difference). For WCA dt 0.02 s changes c(r)
# by less than the statistical error (periodic estimate 1.1% at dt 0.02, 1.3% at dt 0.01); the
# Yukawa tail is more sensitive (c(r) against -beta u on [2, 4] sigma, N = 1000 periodic, 200
# frames 20 s apart: 6.8% at dt 0.02, 1.9% at dt 0.01), so passive-yukawa keeps dt 0.01 s.


def describe(name: str) -> str:
    """One line: the preset's physics and, when measured, its R^2 figures."""
    cfg = PRESETS[name]
    m = MEASURED.get(name)
    extra = ""
    if m:
        extra = (f" [one-step R^2: oracle {m['r2_oracle']:.2f}, from interactions {m['r2_int']:+.2f}; "
                 f"{m['cells_per_frame'][0]}->{m['cells_per_frame'][1]} cells/frame]")
    return f"{cfg.description}{extra}"

