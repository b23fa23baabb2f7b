"""Make the committed reference c(r) tables (``tests/data/prior_reference/``) from long runs of the
independent Monte Carlo (:mod:`cellbench.prior.validation.reference_mc`), in units of sigma.

    python -m cellbench.prior.validation.reference_tables --which wca --seed 0 --out tests/data/prior_reference

The JSON records the exact command, seed, potential, density, run length and the timestamp-free
results: ``r_sigma``, ``c_r``, ``k_sigma``, ``S_k``, ``r_cut_sigma``, ``S0``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cellbench.io import read_json, write_json

SYSTEMS = {
    # WCA at packing fraction 0.35 (rho sigma^2 = 0.35 * 4 / pi), epsilon = 1 kT
    "wca": {"potential": {"name": "wca", "sigma_um": 1.0, "epsilon_kT": 1.0}, "rho_per_um2": 0.35 * 4 / np.pi},
    # Yukawa A = 20 kT sigma, kappa = 1 / sigma, cut and shifted at 6 sigma, rho = 0.3 / sigma^2
    "yukawa": {"potential": {"name": "yukawa", "sigma_um": 1.0, "A_kT_um": 20.0, "kappa_per_um": 1.0,
                             "r_cut_um": 6.0, "shifted": True}, "rho_per_um2": 0.3},
}
R_GRID_SIGMA = np.round(np.arange(0.005, 8.0, 0.01), 6)
K_GRID_SIGMA = np.round(np.arange(0.0, 30.0, 0.05), 6)


def make_table(which: str, seed: int = 0, n_cells: int = 1000, n_frames: int = 1000) -> dict:
    from cellbench.prior.validation.truth import reference_by_mc

    sysd = SYSTEMS[which]
    t0 = time.perf_counter()
    ref = reference_by_mc(sysd["potential"], sysd["rho_per_um2"], n_cells=n_cells, n_frames=n_frames, seed=seed)
    return {
        "command": f"python -m cellbench.prior.validation.reference_tables --which {which} --seed {seed} "
                   f"--n-cells {n_cells} --n-frames {n_frames}",
        "seed": seed, "which": which, "potential": sysd["potential"], "rho_sigma2": sysd["rho_per_um2"],
        "n_cells": n_cells, "n_frames": n_frames, "units": "lengths in sigma, energies in kT",
        "runtime_s": round(time.perf_counter() - t0, 1),
        "r_sigma": R_GRID_SIGMA, "c_r": np.round(ref.c_of_r(R_GRID_SIGMA), 6),
        "k_sigma": K_GRID_SIGMA, "S_k": np.round(np.interp(K_GRID_SIGMA, ref.k_inv_um, ref.S_k), 6),
        "r_cut_sigma": ref.r_cut_um, "S0": float(ref.S_k[0]),
        "estimator": {k: ref.hyperparameters[k] for k in ("r_max_um", "dr_um", "k_max_inv_um", "dk_inv_um")},
    }


def load_table(path: Path) -> dict:
    d = read_json(path)
    for k in ("r_sigma", "c_r", "k_sigma", "S_k"):
        d[k] = np.asarray(d[k], dtype=float)
    return d


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--which", choices=sorted(SYSTEMS), required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-cells", type=int, default=1000)
    ap.add_argument("--n-frames", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("tests/data/prior_reference"))
    a = ap.parse_args(argv)
    table = make_table(a.which, a.seed, a.n_cells, a.n_frames)
    path = a.out / f"{a.which}.json"
    write_json(path, table)
    print(f"wrote {path} ({table['runtime_s']} s)")


if __name__ == "__main__":
    main()
