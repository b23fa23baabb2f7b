r"""Numba kernels of the ``filtered-oracle``: neighbour lists of one observed frame and the replica integration.

The filter (:mod:`cellbench.models.filtered_oracle`) holds, for every cell, ``n_particles``
samples of its heading. Replica ``p`` is the observed frame with every cell given its own
particle ``p``; :func:`integrate_replicas` runs the simulator's equations in each replica over
one frame interval, without translational noise (the oracle's drift) but with the heading's
rotational diffusion, so that each replica samples a heading *path*:

.. math:: x_i \leftarrow x_i + \left(v_0 e(\theta_i) + \mu \sum_j F_{ij} + \mu F^{wall}_i\right) h,
          \qquad \theta_i \leftarrow \theta_i + \tau_i h + \sqrt{2 D_r h}\,\eta_i

with ``h`` = frame interval / ``n_sub``. The forces, the wall and the alignment torque are the
simulator's own per-particle sums (:func:`cellbench.sim.kernels.interactions.particle_forces`)
over the observed cells only. Heading noise is the simulator's counter-based generator keyed by
(seed word, step, track id * n_particles + p): each draw is a pure function of its key, so
the result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cellbench.sim.kernels.geometry import box_of, separation
from cellbench.sim.kernels.interactions import particle_forces
from cellbench.sim.kernels.params import P_MU, P_V0
from cellbench.sim.kernels.rng import STREAM_TH, normal_from_key, rng_key
from cellbench.sim.kernels.trig import cos_sin

FLAG_OK, FLAG_SKIN, FLAG_BLOWUP = 0, 1, 2
"""Return codes of :func:`integrate_replicas`: fine; a cell moved half a skin (rebuild the lists
with a larger skin); a coordinate became non-finite (use more sub-steps)."""


@njit(cache=True)
def neighbour_lists(x_um, y_um, reach_um, prm):
    """All pairs closer than ``reach_um`` (minimum image in a periodic box), as CSR lists.

    Brute force over the n^2 pairs of one observed frame (n is a few hundred cells).

    Parameters
    ----------
    x_um, y_um : (n_cells,) observed positions, um. reach_um : list radius, um (cutoff + skin).
    prm : the simulator's parameter vector (:func:`cellbench.sim.engine.kernel_params`), for the box.

    Returns
    -------
    (nb_start (n_cells + 1,) int64, nb (n_pairs,) int32): the neighbours of i are
    ``nb[nb_start[i]:nb_start[i + 1]]``.
    """
    n = x_um.shape[0]
    L, inv_L = box_of(prm)
    reach2 = reach_um * reach_um
    nb_start = np.zeros(n + 1, np.int64)
    for i in range(n):
        c = 0
        for j in range(n):
            if j != i:
                rx, ry = separation(x_um[i], y_um[i], x_um[j], y_um[j], L, inv_L)
                c += rx * rx + ry * ry < reach2
        nb_start[i + 1] = nb_start[i] + c
    nb = np.empty(nb_start[n], np.int32)
    for i in range(n):
        k = nb_start[i]
        for j in range(n):
            if j != i:
                rx, ry = separation(x_um[i], y_um[i], x_um[j], y_um[j], L, inv_L)
                if rx * rx + ry * ry < reach2:
                    nb[k] = j
                    k += 1
    return nb_start, nb


@njit(cache=True, parallel=True)
def integrate_replicas(x0_um, y0_um, radius_um, theta0, track_id, nb_start, nb, prm, n_sub, h_s, sq2dr_h,
                       seed_word, step0, skin_um, dx_um, dy_um, theta_end):
    """Integrate every replica over one frame interval; fill ``dx_um, dy_um, theta_end``.

    Parameters
    ----------
    x0_um, y0_um, radius_um : (n_cells,) observed positions and radii at the frame, um.
    theta0 : (n_cells, n_particles) heading particles, rad; column p is replica p.
    track_id : (n_cells,) int64, keys the heading noise. nb_start, nb : :func:`neighbour_lists`.
    prm : simulator parameters (v0, mu, potential, wall, alignment, box). n_sub : sub-steps.
    h_s : sub-step, s. sq2dr_h : sqrt(2 D_r h), rad. seed_word : int >= 0. step0 : first step key.
    skin_um : the lists hold pairs within cutoff + skin; a cell moving skin/2 from its start is flagged.
    dx_um, dy_um, theta_end : (n_cells, n_particles) outputs: displacement over the frame, um,
        and heading at its end, rad. Replica p writes only column p.

    Returns
    -------
    The worst flag over the replicas (:data:`FLAG_OK`, :data:`FLAG_SKIN`, :data:`FLAG_BLOWUP`).
    """
    n, n_p = theta0.shape
    L, inv_L = box_of(prm)
    v0, mu = prm[P_V0], prm[P_MU]
    half_skin2 = 0.25 * skin_um * skin_um
    flags = np.zeros(n_p, np.int64)
    for p in prange(n_p):
        xa, ya, ta = x0_um.copy(), y0_um.copy(), theta0[:, p].copy()
        xb, yb, tb = np.empty(n), np.empty(n), np.empty(n)
        flag = 0
        for s in range(n_sub):
            step = step0 + s
            for i in range(n):
                fx, fy, wx, wy, tq = particle_forces(i, xa, ya, ta, radius_um, prm, nb_start, nb, L, inv_L)
                ex, ey = cos_sin(ta[i])
                xi = xa[i] + (v0 * ex + mu * (fx + wx)) * h_s
                yi = ya[i] + (v0 * ey + mu * (fy + wy)) * h_s
                ti = ta[i] + tq * h_s
                if sq2dr_h != 0.0:
                    ti += sq2dr_h * normal_from_key(rng_key(seed_word, step, track_id[i] * n_p + p), STREAM_TH)
                xb[i], yb[i], tb[i] = xi, yi, ti
                mx, my = xi - x0_um[i], yi - y0_um[i]
                if not (np.isfinite(xi) and np.isfinite(yi)):
                    flag = 2
                elif mx * mx + my * my >= half_skin2 and flag == 0:
                    flag = 1
            xa, ya, ta, xb, yb, tb = xb, yb, tb, xa, ya, ta
            if flag == 2:
                break
        for i in range(n):
            dx_um[i, p] = xa[i] - x0_um[i]
            dy_um[i, p] = ya[i] - y0_um[i]
            theta_end[i, p] = ta[i]
        flags[p] = flag
    return flags.max()
