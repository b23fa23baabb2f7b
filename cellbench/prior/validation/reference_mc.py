r"""A small, independent Metropolis Monte Carlo of 2D pair-potential fluids in a periodic box.

This is the prior's own reference sampler: it makes equilibrium configurations of the same
potentials as the simulators (WCA, Yukawa; :mod:`cellbench.sim.potentials`) without sharing
any of their code, so that the recovery of c(r) can be validated against an independent long run.
It samples the canonical distribution :math:`\propto e^{-\beta U}` with single-particle moves,

.. math:: P_\mathrm{acc} = \min\left(1, e^{-\beta \Delta U}\right),

one attempt per particle per sweep in a random order, with a cell list (cell side
:math:`\ge r_\mathrm{cut} + 2\delta`, rebuilt every sweep) so a sweep costs O(N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from cellbench.errors import ConfigError
from cellbench.sim.potentials import WCA_CUT

KIND_WCA, KIND_YUKAWA = 0, 1


@njit(cache=True)
def _bu(kind, p0, p1, p2, p3, r2):
    if kind == 0:  # WCA: sigma, epsilon_kT
        if r2 >= 1.2599210498948732 * p0 * p0:  # (2^(1/6) sigma)^2
            return 0.0
        s6 = (p0 * p0 / r2) ** 3
        return 4.0 * p1 * (s6 * s6 - s6) + p1
    # Yukawa: A_kT_um, kappa, r_cut, shift
    if r2 >= p2 * p2:
        return 0.0
    r = np.sqrt(r2)
    return p0 * np.exp(-p1 * r) / r - p3



@njit(cache=True)
def _energy_one(i, x, y, pos, lx, ly, kind, p0, p1, p2, p3, cell_of, start, order, ncx, ncy):
    c = cell_of[i]
    cxi = c // ncy
    cyi = c % ncy
    e = 0.0
    for ox in range(-1, 2):
        if ncx < 3 and ox != 0:
            continue
        cx = (cxi + ox) % ncx
        for oy in range(-1, 2):
            if ncy < 3 and oy != 0:
                continue
            cy = (cyi + oy) % ncy
            cc = cx * ncy + cy
            for t in range(start[cc], start[cc + 1]):
                j = order[t]
                if j == i:
                    continue
                dx = pos[j, 0] - x
                dy = pos[j, 1] - y
                dx -= lx * np.rint(dx / lx)
                dy -= ly * np.rint(dy / ly)
                e += _bu(kind, p0, p1, p2, p3, dx * dx + dy * dy)
    return e


@njit(cache=True)
def _sweeps(pos, lx, ly, kind, p0, p1, p2, p3, r_int, delta, n_sweeps, seed_state):
    np.random.seed(seed_state)
    n = pos.shape[0]
    ncx = max(1, int(lx / (r_int + 2 * delta)))
    ncy = max(1, int(ly / (r_int + 2 * delta)))
    if ncx < 3:
        ncx = 1
    if ncy < 3:
        ncy = 1
    cell_of = np.empty(n, np.int64)
    accepted = 0
    for s in range(n_sweeps):
        for i in range(n):
            cx = min(int(pos[i, 0] / lx * ncx), ncx - 1)
            cy = min(int(pos[i, 1] / ly * ncy), ncy - 1)
            cell_of[i] = cx * ncy + cy
        order = np.argsort(cell_of)
        start = np.zeros(ncx * ncy + 1, np.int64)
        for i in range(n):
            start[cell_of[i] + 1] += 1
        for c in range(ncx * ncy):
            start[c + 1] += start[c]
        perm = np.random.permutation(n)
        for t in range(n):
            i = perm[t]
            xn = pos[i, 0] + delta * (2.0 * np.random.random() - 1.0)
            yn = pos[i, 1] + delta * (2.0 * np.random.random() - 1.0)
            xn -= lx * np.floor(xn / lx)
            yn -= ly * np.floor(yn / ly)
            e_old = _energy_one(i, pos[i, 0], pos[i, 1], pos, lx, ly, kind, p0, p1, p2, p3, cell_of, start, order, ncx, ncy)
            e_new = _energy_one(i, xn, yn, pos, lx, ly, kind, p0, p1, p2, p3, cell_of, start, order, ncx, ncy)
            de = e_new - e_old
            if de <= 0.0 or np.random.random() < np.exp(-de):
                pos[i, 0] = xn
                pos[i, 1] = yn
                accepted += 1
    return accepted / (n * n_sweeps)


@dataclass(frozen=True)
class MCConfig:
    """A 2D fluid for the reference Monte Carlo.

    Parameters
    ----------
    potential : ``{"name": "wca", "sigma_um", "epsilon_kT"}`` or ``{"name": "yukawa",
        "A_kT_um", "kappa_per_um", "r_cut_um", "shift"}`` (the simulators' meta format).
    n_cells : number of particles N.
    rho_per_um2 : number density; the box is square, L = sqrt(N / rho).
    n_equil_sweeps : sweeps before the first saved frame.
    sweeps_per_frame : sweeps between saved frames.
    """

    potential: dict
    n_cells: int = 1000
    rho_per_um2: float = 0.3
    n_equil_sweeps: int = 2000
    sweeps_per_frame: int = 20

    def __post_init__(self):
        if self.n_cells < 2 or not self.rho_per_um2 > 0:
            raise ConfigError(f"MCConfig needs n_cells >= 2 and rho_per_um2 > 0, got {self.n_cells}, {self.rho_per_um2}")

    @property
    def box_um(self) -> float:
        return float(np.sqrt(self.n_cells / self.rho_per_um2))


def _params(potential: dict) -> tuple[int, float, float, float, float, float]:
    name = str(potential.get("name", "")).lower()
    if name == "wca":
        s = float(potential["sigma_um"])
        return KIND_WCA, s, float(potential.get("epsilon_kT", 1.0)), 0.0, 0.0, WCA_CUT * s
    if name == "yukawa":
        a, k = float(potential["A_kT_um"]), float(potential["kappa_per_um"])
        rc = float(potential["r_cut_um"])
        shift = a * np.exp(-k * rc) / rc if potential.get("shifted", potential.get("shift", False)) else 0.0
        return KIND_YUKAWA, a, k, rc, shift, rc
    raise ConfigError(f"reference MC knows potentials wca and yukawa, got {potential.get('name')!r}")


def run_mc(cfg: MCConfig, n_frames: int, seed: int) -> tuple[list[np.ndarray], float, float]:
    """Equilibrate from a square lattice, then save ``n_frames`` frames.

    Returns
    -------
    frames : list of (N, 2) arrays in um, in [0, L)^2. box_um : L. acceptance : mean
    acceptance of the production sweeps. The step size is tuned during equilibration to
    about 40% acceptance. Bit-identical for the same seed.
    """
    kind, p0, p1, p2, p3, r_int = _params(cfg.potential)
    L = cfg.box_um
    m = int(np.ceil(np.sqrt(cfg.n_cells)))
    a = L / m
    grid = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2)[: cfg.n_cells]
    pos = (grid + 0.5) * a
    rng = np.random.default_rng(seed)
    delta = 0.1 * a
    n_tune = max(1, cfg.n_equil_sweeps // 20)
    for b in range(20):
        acc = _sweeps(pos, L, L, kind, p0, p1, p2, p3, r_int, delta, n_tune, int(rng.integers(2**31)))
        delta = float(np.clip(delta * (0.5 + acc / 0.8), 1e-3 * a, 0.5 * a))
    frames, accs = [], []
    for _ in range(n_frames):
        accs.append(_sweeps(pos, L, L, kind, p0, p1, p2, p3, r_int, delta, cfg.sweeps_per_frame, int(rng.integers(2**31))))
        frames.append(pos.copy())
    return frames, L, float(np.mean(accs)) if accs else float("nan")
