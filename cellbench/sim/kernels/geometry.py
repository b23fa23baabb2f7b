"""Geometry of the box: minimum-image separations and periodic wrapping, with (L, 1/L) = (0, 0) in
an open domain so that callers need no branch on the boundary condition."""

from __future__ import annotations

import numpy as np
from numba import njit

from cellbench.sim.kernels.params import P_L, P_PERIODIC


@njit(cache=True, inline="always")
def box_of(prm):
    """(L, 1/L) of the periodic box in um and 1/um, or (0, 0) in an open domain.

    With these, :func:`separation` needs no branch on the boundary condition.
    """
    if prm[P_PERIODIC] > 0.5:
        return prm[P_L], 1.0 / prm[P_L]
    return 0.0, 0.0


@njit(cache=True, inline="always")
def separation(xi, yi, xj, yj, L, inv_L):
    """x_i - x_j, y_i - y_j (um) with the minimum image: r - L rint(r / L) (L = 0: open domain)."""
    rx = xi - xj
    ry = yi - yj
    return rx - L * np.rint(rx * inv_L), ry - L * np.rint(ry * inv_L)


@njit(cache=True, inline="always")
def wrap_periodic(v, L):
    """(v wrapped into [0, L), image shift -1, 0 or +1) for a coordinate that moved less than L.

    A coordinate a rounding error below 0 would land on L itself; it stays at 0 in its image.
    """
    if v >= L:
        return v - L, 1
    if v < 0.0:
        w = v + L
        if w >= L:
            return 0.0, 0
        return w, -1
    return v, 0

