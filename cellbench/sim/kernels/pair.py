"""Pair forces: cutoff and |F|/r of one pair for each potential kind (the numba side of
:mod:`cellbench.sim.potentials`, whose ``KIND_*`` codes are the ``kind`` argument here)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def pair_cut(kind, s, p0, p1, p2):
    """Cutoff (um) of a pair of contact distance ``s`` (um)."""
    if kind == 1:
        return 1.122462048309373 * s
    if kind == 2:
        return p1 * s
    if kind == 3:
        return s
    if kind == 4:
        return p2
    if kind == 5:
        return p2 * s
    return 0.0


@njit(cache=True, inline="always")
def pair_f_over_r(kind, r2, s, p0, p1, p2):
    """|F|/r in kT/um^2 (positive = repulsive) of a pair at squared distance ``r2`` < cutoff^2.

    F_i = (f/r) (x_i - x_j). See cellbench.sim.potentials for the formulas.
    """
    if kind == 1 or kind == 2:
        inv_r2 = 1.0 / r2
        sr2 = s * s * inv_r2
        sr6 = sr2 * sr2 * sr2
        return 24.0 * p0 * (2.0 * sr6 * sr6 - sr6) * inv_r2
    r = np.sqrt(r2)
    if kind == 3:
        return p0 * (s - r) / r
    if kind == 4:
        return p0 * np.exp(-p1 * r) * (1.0 / r2 + p1 / r) / r
    if kind == 5:
        e = np.exp(-p1 * (r - s))
        return -2.0 * p0 * p1 * e * (1.0 - e) / r
    return 0.0


@njit(cache=True)
def pair_force_scalar(kind, r, s, p):
    """-du/dr (kT/um) of one pair at distance ``r`` with contact ``s`` (0 beyond the cutoff)."""
    if r >= pair_cut(kind, s, p[0], p[1], p[2]):
        return 0.0
    return pair_f_over_r(kind, r * r, s, p[0], p[1], p[2]) * r

