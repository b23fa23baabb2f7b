"""Forces: per-particle sums over a Verlet list (pairs, wall, alignment torque), the force and
pair tables recorded as truth, and an O(N^2) all-pairs reference."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cellbench.sim.kernels.geometry import box_of, separation
from cellbench.sim.kernels.neighbours import build_verlet
from cellbench.sim.kernels.pair import pair_cut, pair_f_over_r
from cellbench.sim.kernels.params import (P_ALIGN_G, P_ALIGN_R, P_KIND, P_L, P_PAR_MIN, P_PERIODIC, P_POT, P_WALL_K,
                                          P_WELL_R)


# -- forces on one particle ---------------------------------------------------------------------
@njit(cache=True, inline="always")
def pair_term(i, j, x, y, a, kind, p0, p1, p2, L, inv_L):
    """Force (F_x, F_y) on i from j, kT/um, with the minimum image; zero beyond the pair's cutoff.

    The cutoff is a 0/1 factor rather than a branch: listed pairs cross it at random, and a
    mispredicted branch per pair cost more than the whole pair term.
    """
    rx, ry = separation(x[i], y[i], x[j], y[j], L, inv_L)
    r2 = rx * rx + ry * ry
    s = a[i] + a[j]
    rc = pair_cut(kind, s, p0, p1, p2)
    fr = pair_f_over_r(kind, r2, s, p0, p1, p2) * np.float64(r2 < rc * rc)
    return fr * rx, fr * ry


@njit(cache=True, inline="always")
def pair_force_sum(i, x, y, a, prm, nb_start, nb, L, inv_L):
    """Interaction force sum_j F_ij (kT/um) on particle i over its Verlet list, in list order.

    The branches on the potential kind are taken the same way every time.
    """
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    fx = 0.0
    fy = 0.0
    for k in range(nb_start[i], nb_start[i + 1]):
        tx, ty = pair_term(i, nb[k], x, y, a, kind, p0, p1, p2, L, inv_L)
        fx += tx
        fy += ty
    return fx, fy


@njit(cache=True, inline="always")
def align_torque(i, x, y, th, prm, nb_start, nb, L, inv_L):
    r"""Vicsek-like torque (1/s): :math:`g \langle \sin(\theta_j - \theta_i) \rangle_{|r_{ij}| < r_a}`."""
    g = prm[P_ALIGN_G]
    if g == 0.0:  # the same +0 as the formula, without its division
        return 0.0
    ra2 = prm[P_ALIGN_R] * prm[P_ALIGN_R]
    tq = 0.0
    n_align = 0
    for k in range(nb_start[i], nb_start[i + 1]):
        j = nb[k]
        rx, ry = separation(x[i], y[i], x[j], y[j], L, inv_L)
        if rx * rx + ry * ry < ra2:
            tq += np.sin(th[j] - th[i])
            n_align += 1
    return g * tq / max(n_align, 1)


@njit(cache=True, inline="always")
def wall_force(xi, yi, ai, prm):
    """Soft circular wall: -k_wall (|x| + a - R) x/|x| when the rim crosses the wall, kT/um."""
    R = prm[P_WELL_R]
    if R <= 0.0:
        return 0.0, 0.0
    d = np.sqrt(xi * xi + yi * yi)
    over = d + ai - R
    if over > 0.0 and d > 0.0:
        return -prm[P_WALL_K] * over * xi / d, -prm[P_WALL_K] * over * yi / d
    return 0.0, 0.0


@njit(cache=True, inline="always")
def particle_forces(i, x, y, th, a, prm, nb_start, nb, L, inv_L):
    """Interaction force (kT/um), wall force (kT/um) and alignment torque (1/s) on particle i."""
    fx, fy = pair_force_sum(i, x, y, a, prm, nb_start, nb, L, inv_L)
    wx, wy = wall_force(x[i], y[i], a[i], prm)
    return fx, fy, wx, wy, align_torque(i, x, y, th, prm, nb_start, nb, L, inv_L)


@njit(cache=True, parallel=True)
def forces(x, y, th, a, n, prm):
    """(5, n) array: interaction force fx, fy (kT/um), wall force fx, fy (kT/um), torque (1/s).

    Fresh Verlet lists, then the same per-particle sums as a time step (same order, same bits).
    """
    par = n >= prm[P_PAR_MIN]
    nb_start = np.empty(n + 1, np.int64)
    nb = build_verlet(x, y, n, prm, nb_start, par)
    L, inv_L = box_of(prm)
    out = np.empty((5, n))
    if par:
        for i in prange(n):
            out[0, i], out[1, i], out[2, i], out[3, i], out[4, i] = particle_forces(
                i, x, y, th, a, prm, nb_start, nb, L, inv_L)
    else:
        for i in range(n):
            out[0, i], out[1, i], out[2, i], out[3, i], out[4, i] = particle_forces(
                i, x, y, th, a, prm, nb_start, nb, L, inv_L)
    return out


@njit(cache=True)
def forces_brute(x, y, a, n, prm):
    """(2, n) interaction forces by an O(N^2) all-pairs sum with the minimum image (reference)."""
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    out = np.zeros((2, n))
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            rx = x[i] - x[j]
            ry = y[i] - y[j]
            if periodic:
                rx -= L * np.round(rx / L)
                ry -= L * np.round(ry / L)
            r2 = rx * rx + ry * ry
            s = a[i] + a[j]
            rc = pair_cut(kind, s, p0, p1, p2)
            if r2 < rc * rc:
                fr = pair_f_over_r(kind, r2, s, p0, p1, p2)
                out[0, i] += fr * rx
                out[1, i] += fr * ry
    return out



@njit(cache=True)
def pairs_within(x, y, a, n, prm, observed):
    """Observed pairs i < j (indices) within the potential cutoff and their pair force.

    Returns (i, j, r_um, fx, fy, f_mag) with (fx, fy) the force on i from j in kT/um (the force
    on j is its opposite), r the minimum-image distance, f_mag = -du/dr (> 0 repulsive). Only
    pairs with both ``observed[i]`` and ``observed[j]`` are listed, by i, then in Verlet-list
    order. Serial: a count pass, then a fill pass over the same lists.
    """
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    L, inv_L = box_of(prm)
    nb_start = np.empty(n + 1, np.int64)
    nb = build_verlet(x, y, n, prm, nb_start, False)
    count = 0
    oi = np.empty(0, np.int64)
    oj = np.empty(0, np.int64)
    orr, ofx, ofy, ofm = np.empty(0), np.empty(0), np.empty(0), np.empty(0)
    for fill in (False, True):
        if fill:
            oi, oj = np.empty(count, np.int64), np.empty(count, np.int64)
            orr, ofx, ofy, ofm = np.empty(count), np.empty(count), np.empty(count), np.empty(count)
            count = 0
        if kind == 0:
            continue
        for i in range(n):
            if not observed[i]:
                continue
            for k in range(nb_start[i], nb_start[i + 1]):
                j = nb[k]
                if j <= i or not observed[j]:
                    continue
                rx, ry = separation(x[i], y[i], x[j], y[j], L, inv_L)
                r2 = rx * rx + ry * ry
                s = a[i] + a[j]
                rc = pair_cut(kind, s, p0, p1, p2)
                if r2 >= rc * rc:
                    continue
                if fill:
                    fr = pair_f_over_r(kind, r2, s, p0, p1, p2)
                    oi[count] = i
                    oj[count] = j
                    orr[count] = np.sqrt(r2)
                    ofx[count] = fr * rx
                    ofy[count] = fr * ry
                    ofm[count] = fr * orr[count]
                count += 1
    return oi, oj, orr, ofx, ofy, ofm
