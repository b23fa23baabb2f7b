"""cellbench's Brownian simulator against LAMMPS ``fix brownian`` (passive WCA disks).

Issue 18: the same physics in both codes, lengths in um and times in s (LAMMPS ``units lj`` is
dimensionless, so its sigma is the contact distance 10 um, epsilon 1 kT, kT = 1, ``gamma_t 1``
gives the mobility 1 um^2/(kT s) and D = 1 um^2/s, dt 0.02 s, Gaussian noise):

1. one pair of particles: energy and force agree to round-off;
2. N = 1000 at the ``passive-wca`` density, two seeds per code, both started on a square lattice:
   g(r) on 0.9-5 sigma, its contact peak, the potential energy per particle and the MSD over 20 s
   agree within the statistical noise of the comparison, estimated from blocks of frames.

Run with ``pytest -m peer`` (skipped when LAMMPS is not usable).
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from scipy.spatial import cKDTree
from scipy.stats import chi2, t

from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.window import Window
from cellbench.sim import PRESETS, potentials
from tests.peer.util import peer_version

pytestmark = pytest.mark.peer

SIGMA_UM, EPSILON_KT = 10.0, 1.0
N_CELLS = 1000
N_EQUIL_STEPS = 25000
"""500 s from the lattice (5 sigma^2 / D); the preset's own claim: 200 s or 2000 s made no difference."""
RECORD_EVERY = 1000
"""Frames 20 s apart, as in the preset."""
N_FRAMES = 100
N_BLOCKS = 10
"""Blocks of 10 frames (200 s) per run, for the noise of every observable."""
SEEDS = (1, 2)
DR_UM = 0.1
P_FAIL = 1e-3
"""Chance of a false failure of each of the four statistical comparisons."""


def _box_um() -> float:
    """The side holding N_CELLS at the density of ``passive-wca``."""
    cfg = PRESETS["passive-wca"]
    return float(cfg.box_um * np.sqrt(N_CELLS / cfg.n_cells))


def _lammps(lammps_module, box_um: float, seed: int | None = None):
    """A LAMMPS instance set up with the WCA pair and (when ``seed`` is given) fix brownian."""
    lmp = lammps_module.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    r_cut = potentials.WCA_CUT * SIGMA_UM
    lmp.commands_string(f"""
        units lj
        dimension 2
        atom_style atomic
        atom_modify map array sort 0 0
        boundary p p p
        region box block 0 {box_um!r} 0 {box_um!r} -0.5 0.5
        create_box 1 box
        mass 1 1.0
        pair_style lj/cut {r_cut!r}
        pair_coeff 1 1 {EPSILON_KT!r} {SIGMA_UM!r}
        pair_modify shift yes
        neighbor 2.0 bin
        neigh_modify every 1 delay 0 check yes
        timestep {PRESETS['passive-wca'].dt_s!r}
        thermo_modify norm no
        compute unwrapped all property/atom xu yu
    """)
    if seed is not None:
        lmp.command(f"fix bd all brownian 1.0 {seed} gamma_t 1.0 rng gaussian")
        lmp.command("fix flat all enforce2d")
    return lmp


def test_two_particles_energy_and_force(lammps_module):
    """u(r) and F(r) of one pair over the repulsive range and just beyond the cut."""
    r_um = np.linspace(0.9 * SIGMA_UM, 1.15 * SIGMA_UM, 26)
    u_ref, f_ref = potentials.wca(r_um, SIGMA_UM, EPSILON_KT)
    u_lmp, f_lmp = [], []
    for r in r_um:
        lmp = _lammps(lammps_module, 100.0)
        lmp.create_atoms(2, [1, 2], [1, 1], [40.0, 50.0, 0.0, 40.0 + float(r), 50.0, 0.0])
        lmp.command("run 0")
        u_lmp.append(lmp.get_thermo("pe"))
        f_lmp.append(-lmp.numpy.extract_atom("f")[0, 0])  # force on the left atom, -x: repulsion > 0
        lmp.close()
    u_lmp, f_lmp = np.array(u_lmp), np.array(f_lmp)
    scale = np.abs(u_ref) + np.abs(f_ref) + 1e-300
    print(f"\npeer: WCA pair vs LAMMPS {peer_version('lammps')} lj/cut + pair_modify shift: max relative diff "
          f"energy {np.max(np.abs(u_lmp - u_ref) / scale):.1e}, force {np.max(np.abs(f_lmp - f_ref) / scale):.1e} "
          f"({len(r_um)} distances 0.9-1.15 sigma)")
    # same formula in float64, operations in another order: a few ulp of the largest term
    # (u ~ 30 kT, F ~ 300 kT/um at 0.9 sigma)
    npt.assert_allclose(u_lmp, u_ref, rtol=1e-12, atol=1e-12)
    npt.assert_allclose(f_lmp, f_ref, rtol=1e-12, atol=1e-12)


def _lammps_run(lammps_module, box_um: float, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """(wrapped frames, unwrapped positions (n_frames, N, 2)) of one LAMMPS run."""
    lmp = _lammps(lammps_module, box_um, seed)
    m = int(np.ceil(np.sqrt(N_CELLS)))
    grid = (np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2)[:N_CELLS] + 0.5)
    xyz = np.c_[grid * box_um / m, np.zeros(N_CELLS)]
    lmp.create_atoms(N_CELLS, list(range(1, N_CELLS + 1)), [1] * N_CELLS, xyz.ravel().tolist())
    lmp.command(f"run {N_EQUIL_STEPS} post no")
    frames, unwrapped = [], []
    for f in range(N_FRAMES):
        if f:
            lmp.command(f"run {RECORD_EVERY} post no")
        order = np.argsort(lmp.numpy.extract_atom("id")[:N_CELLS])
        frames.append(np.array(lmp.numpy.extract_atom("x")[:N_CELLS, :2][order]))
        unwrapped.append(np.array(lmp.numpy.extract_compute("unwrapped", lammps_module.LMP_STYLE_ATOM,
                                                            lammps_module.LMP_TYPE_ARRAY)[:N_CELLS][order]))
    lmp.close()
    return frames, np.array(unwrapped)


def _cellbench_run(box_um: float, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    from cellbench.sim import simulate

    sim = simulate("passive-wca", seed, overrides={"n_cells": N_CELLS, "box_um": box_um, "fov_um": None,
                                                   "n_frames": N_FRAMES, "n_equil_steps": N_EQUIL_STEPS,
                                                   "record_every": RECORD_EVERY})
    # rows sorted by (frame, track_id), truth row-aligned with them; no divisions: N rows a frame
    xy = sim.tracks.df[["x_um", "y_um"]].to_numpy().reshape(N_FRAMES, N_CELLS, 2)
    unwrapped = sim.truth[["x_unwrap_um", "y_unwrap_um"]].to_numpy().reshape(N_FRAMES, N_CELLS, 2)
    return list(xy), unwrapped


def _observables(frames: list[np.ndarray], unwrapped: np.ndarray, box_um: float) -> dict:
    """Per block of frames: g(r) on [0, 5 sigma), energy per particle (kT), MSD over one frame (um^2)."""
    win = Window.periodic((box_um, box_um))
    out = {"g": [], "u": [], "msd": []}
    for block in np.array_split(np.arange(len(frames)), N_BLOCKS):
        out["g"].append(PriorEstimator(win, 5 * SIGMA_UM, DR_UM).compute([frames[i] for i in block]).g_r)
        out["u"].append(np.mean([_energy_per_cell_kT(frames[i], box_um) for i in block]))
        steps = unwrapped[block[1:]] - unwrapped[block[:-1]]
        out["msd"].append(np.mean(np.sum(steps**2, axis=-1)))
    return {k: np.array(v) for k, v in out.items()}


def _energy_per_cell_kT(frame_um: np.ndarray, box_um: float) -> float:
    """Sum of the WCA pair energies (minimum image) over the cells, per cell."""
    pos = np.mod(frame_um, box_um)
    pairs = cKDTree(pos, boxsize=box_um).query_pairs(potentials.WCA_CUT * SIGMA_UM, output_type="ndarray")
    d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
    d -= box_um * np.rint(d / box_um)
    return float(potentials.wca(np.hypot(d[:, 0], d[:, 1]), SIGMA_UM, EPSILON_KT)[0].sum() / len(pos))


def _compare(ours: np.ndarray, theirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(mean ours, mean theirs, SE of the difference, z, dof) from the block values of each code
    (blocks of both seeds pooled); the SE from the spread of the blocks, z = 0 where both are exact
    (g = 0 inside the core)."""
    se = np.hypot(*[x.std(axis=0, ddof=1) / np.sqrt(len(x)) for x in (ours, theirs)])
    diff = ours.mean(axis=0) - theirs.mean(axis=0)
    z = np.divide(diff, se, out=np.zeros_like(diff, dtype=float), where=se > 0)
    return ours.mean(axis=0), theirs.mean(axis=0), se, z, len(ours) - 1


def test_wca_brownian_dynamics_match_lammps(lammps_module):
    box_um = _box_um()
    runs = {"cellbench": [_observables(*_cellbench_run(box_um, s), box_um) for s in SEEDS],
            "lammps": [_observables(*_lammps_run(lammps_module, box_um, 1000 + s), box_um) for s in SEEDS]}
    blocks = {code: {k: np.concatenate([r[k] for r in rr]) for k in ("g", "u", "msd")} for code, rr in runs.items()}
    ours, theirs = blocks["cellbench"], blocks["lammps"]
    r_um = (np.arange(int(round(5 * SIGMA_UM / DR_UM))) + 0.5) * DR_UM
    # contact peak: mean g within +-0.02 sigma of the peak of the pooled g of both codes (same bins)
    peak = np.abs(r_um - r_um[np.argmax(ours["g"].mean(0) + theirs["g"].mean(0))]) <= 0.02 * SIGMA_UM + 1e-9
    rows = {
        "g contact": _compare(ours["g"][:, peak].mean(1), theirs["g"][:, peak].mean(1)),
        "u per cell kT": _compare(ours["u"], theirs["u"]),
        "MSD 20 s um^2": _compare(ours["msd"], theirs["msd"]),
    }
    g1, g2, noise, z, dof = _compare(ours["g"], theirs["g"])
    band = (r_um >= 0.9 * SIGMA_UM) & (r_um < 5 * SIGMA_UM)
    print(f"\npeer: WCA Brownian vs LAMMPS {peer_version('lammps')} fix brownian, N = {N_CELLS}, {len(SEEDS)} seeds "
          f"each, {N_FRAMES} frames of 20 s after {N_EQUIL_STEPS * PRESETS['passive-wca'].dt_s:g} s: g(r) 0.9-5 sigma "
          f"rms diff {np.sqrt(np.mean((g1 - g2)[band] ** 2)):.4f} vs noise {np.sqrt(np.mean(noise[band] ** 2)):.4f}, "
          f"mean z^2 {np.mean(z[band] ** 2):.2f}; "
          + "; ".join(f"{k} {a:.4g} vs {b:.4g} (z {zz:+.2f})" for k, (a, b, _, zz, _) in rows.items()))
    # scalars: |z| below the Student-t quantile of block standard errors (dof = 2 x 10 - 1)
    for key, (_, _, _, zz, dof_k) in rows.items():
        assert abs(zz) < t.ppf(1 - P_FAIL / 2, dof_k), (key, rows[key])
    # the curve: with identical physics each bin's z^2 ~ F(1, dof), mean dof / (dof - 2); bins closer
    # than ~0.1 sigma share their configurations, so count one independent value per 0.1 sigma
    n_eff = int(np.sum(band) * DR_UM / (0.1 * SIGMA_UM))
    assert np.mean(z[band] ** 2) < (dof / (dof - 2)) * chi2.ppf(1 - P_FAIL, n_eff) / n_eff
