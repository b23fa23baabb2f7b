"""Time stepping: one Euler-Maruyama step per particle, cell division, and the step loop.

Inside :func:`advance` the state is stored sorted by cell (:mod:`.layout`) and pair forces are
computed once per pair (:mod:`.newton`); both leave every number bitwise as a plain loop over
the caller's order with full lists would give it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cellbench.sim.kernels.geometry import box_of, separation, wrap_periodic
from cellbench.sim.kernels.interactions import align_torque, wall_force
from cellbench.sim.kernels.layout import sort_state
from cellbench.sim.kernels.neighbours import interacting, verlet_from_cells
from cellbench.sim.kernels.newton import gathered_force, half_list, pair_forces
from cellbench.sim.kernels.params import (P_DIV_AGE, P_DIV_RATE, P_DIV_SEP, P_DT, P_KIND, P_MU, P_NC, P_PAR_MIN,
                                          P_SKIN, P_SQ2DR, P_SQ2DT, P_V0)
from cellbench.sim.kernels.rng import (STREAM_DIV, STREAM_DIVDIR, STREAM_TH, STREAM_X, STREAM_Y, _mix, normal_from_key,
                                       rng_uniform2, step_key)
from cellbench.sim.kernels.trig import cos_sin

_TWO_PI = 2.0 * np.pi


@njit(cache=True, inline="always")
def step_particle(i, x, y, th, a, tid, age, imx, imy, nx, ny, nth, xr, yr, key0, noise, prm, L, inv_L, nb_start, nb,
                  code, fb):
    """One Euler-Maruyama step of particle i from (x, y, th) into (nx, ny, nth).

    The interaction force is gathered from the pair buffer ``fb`` through ``code``
    (:func:`.newton.gathered_force`); ``L, inv_L`` as :func:`.geometry.box_of`. Writes only
    index i (of nx, ny, nth, age, imx, imy). Returns 2 if the new position is not finite or
    jumped more than a box, 1 if the particle is half a skin or more from where it was when the
    Verlet lists were built (xr, yr), else 0.
    """
    v0, mu, dt = prm[P_V0], prm[P_MU], prm[P_DT]
    fx, fy = gathered_force(i, nb_start, code, fb)
    wx, wy = wall_force(x[i], y[i], a[i], prm)
    tq = align_torque(i, x, y, th, prm, nb_start, nb, L, inv_L)
    ti = th[i]
    ex, ey = cos_sin(ti)
    xi = x[i] + (v0 * ex + mu * (fx + wx)) * dt
    yi = y[i] + (v0 * ey + mu * (fy + wy)) * dt
    ti += tq * dt
    if noise:
        key = _mix(key0, np.uint64(tid[i]))  # = rng_key(seed, step, tid[i])
        xi += prm[P_SQ2DT] * normal_from_key(key, STREAM_X)
        yi += prm[P_SQ2DT] * normal_from_key(key, STREAM_Y)
        if prm[P_SQ2DR] != 0.0:
            ti += prm[P_SQ2DR] * normal_from_key(key, STREAM_TH)
        age[i] += dt
    flag = 0
    if L > 0.0:
        xi, sx = wrap_periodic(xi, L)
        yi, sy = wrap_periodic(yi, L)
        imx[i] += sx
        imy[i] += sy
        if not (xi >= 0.0 and xi < L and yi >= 0.0 and yi < L):
            flag = 2
    nx[i] = xi
    ny[i] = yi
    nth[i] = ti
    if not (np.isfinite(xi) and np.isfinite(yi)):
        return 2
    dx, dy = separation(xi, yi, xr[i], yr[i], L, inv_L)
    if flag == 0 and dx * dx + dy * dy >= 0.25 * prm[P_SKIN] * prm[P_SKIN]:
        flag = 1
    return flag


@njit(cache=True)
def divide_in_order(x, y, th, a, tid, par, age, imx, imy, n, next_id, seed, step, prm, slot_of, store_of):
    """Divisions after a step; returns (n, next_id). Serial, in slot order (entry ``store_of[k]`` is slot k).

    Each cell older than the division age divides with probability rate*dt: the mother's slot
    takes one daughter and the other is appended (while n < capacity), both with new track ids
    (assigned in index order) and ``par`` = the mother's id, at +-sep*radius along a random
    direction, the appended one heading opposite. An appended cell is slot and entry n.
    """
    L, _ = box_of(prm)
    cap = x.shape[0]
    div_p = prm[P_DIV_RATE] * prm[P_DT]
    div_age = prm[P_DIV_AGE]
    div_sep = prm[P_DIV_SEP]
    n_before = n
    for k in range(n_before):
        i = store_of[k]
        if age[i] < div_age or n >= cap:
            continue
        u, _ = rng_uniform2(seed, step, tid[i], STREAM_DIV)
        if u > div_p:
            continue
        phi, _ = rng_uniform2(seed, step, tid[i], STREAM_DIVDIR)
        phi *= _TWO_PI
        dx = div_sep * a[i] * np.cos(phi)
        dy = div_sep * a[i] * np.sin(phi)
        mother = tid[i]
        j = n
        slot_of[j] = j
        store_of[j] = j
        n += 1
        x[j] = x[i] - dx
        y[j] = y[i] - dy
        x[i] += dx
        y[i] += dy
        th[j] = th[i] + np.pi
        a[j] = a[i]
        imx[j] = imx[i]
        imy[j] = imy[i]
        if L > 0.0:  # keep both daughters inside the box
            for k in (i, j):
                xk, sx = wrap_periodic(x[k], L)
                yk, sy = wrap_periodic(y[k], L)
                x[k] = xk
                y[k] = yk
                imx[k] += sx
                imy[k] += sy
        tid[i] = next_id
        tid[j] = next_id + 1
        next_id += 2
        par[i] = mother
        par[j] = mother
        age[i] = 0.0
        age[j] = 0.0
    return n, next_id


@njit(cache=True)
def divide(x, y, th, a, tid, par, age, imx, imy, n, next_id, seed, step, prm):
    """Divisions after a step, in index order (:func:`divide_in_order` of unpermuted arrays); returns (n, next_id)."""
    cap = x.shape[0]
    return divide_in_order(x, y, th, a, tid, par, age, imx, imy, n, next_id, seed, step, prm, np.arange(cap),
                           np.arange(cap))


@njit(cache=True)
def lists_of_sorted(x, y, n, prm, cell_of, start, order, nb_start, par):
    """(nb, pi, pj, code, fb) of a state sorted into cells: full lists, half list, zeroed pair buffer (2 n_pairs,).

    Outside :func:`advance` on purpose: numba 0.68's parfor pass, given ``np.zeros(2 * pi.shape[0])``
    inside advance's step loop, allocated the buffer with the size of the first ``pi`` (0).
    """
    nb = verlet_from_cells(x, y, n, prm, cell_of, start, order, nb_start, par)
    pi, pj, code = half_list(nb_start, nb, n)
    return nb, pi, pj, code, np.zeros(2 * pi.shape[0])  # stays zero without a potential (alignment only)


@njit(cache=True, parallel=True)
def advance(x, y, th, a, tid, par, age, imx, imy, n, next_id, step0, n_steps, seed, noise, prm):
    r"""Integrate ``n_steps`` Euler-Maruyama steps in place; return (n, next_id, ok).

    .. math:: x_i \leftarrow x_i + (v_0 e(\theta_i) + \mu F_i + \mu F^{wall}_i)\,dt + \sqrt{2 D_t dt}\,\xi_i,
              \quad \theta_i \leftarrow \theta_i + \tau_i\,dt + \sqrt{2 D_r dt}\,\eta_i

    ``noise`` False switches off both noises and division (the oracle's deterministic
    dynamics). Step ``s`` uses random numbers keyed by (seed, step0 + s, track id). After each
    step, cells may divide (:func:`divide_in_order`). The state is worked on in copies sorted
    by cell at each list rebuild (:func:`.layout.sort_state`) and written back in the caller's
    order at the end. A step is one pass over the pairs of the half list
    (:func:`.newton.pair_forces`) and one over the particles (:func:`step_particle`), from one
    pair of position buffers into the other; the Verlet lists are rebuilt when a particle has
    moved half a skin or a cell divided. ``ok`` is False if a coordinate became non-finite or
    jumped more than a box (time step too large).
    """
    cap = x.shape[0]
    x0, y0, t0 = x.copy(), y.copy(), th.copy()  # the current state ...
    x1, y1, t1 = np.empty(cap), np.empty(cap), np.empty(cap)  # ... and the next one
    aw, tidw, parw, agew, imxw, imyw = a.copy(), tid.copy(), par.copy(), age.copy(), imx.copy(), imy.copy()
    slot_of = np.arange(cap)
    store_of = np.arange(cap)
    cell_of = np.empty(cap, np.int64)
    start = np.empty(int(prm[P_NC]) ** 2 + 1, np.int64)
    order = np.empty(cap, np.int64)
    xr = np.empty(cap)
    yr = np.empty(cap)
    nb_start = np.zeros(cap + 1, np.int64)
    nb = np.empty(0, np.int32)
    code = np.empty(0, np.uint32)
    pi = np.empty(0, np.uint32)
    pj = np.empty(0, np.uint32)
    fb = np.zeros(0)
    L, inv_L = box_of(prm)
    lists = interacting(prm)
    pairs = prm[P_KIND] != 0
    divides = noise and prm[P_DIV_RATE] > 0.0
    rebuild = True
    ok = True
    for s in range(n_steps):
        step = step0 + s
        key0 = step_key(seed, step)
        par_loop = n >= prm[P_PAR_MIN]
        if rebuild:
            if lists:
                sort_state(x0, y0, t0, aw, tidw, parw, agew, imxw, imyw, slot_of, store_of, n, prm, cell_of, start,
                           order)
                nb, pi, pj, code, fb = lists_of_sorted(x0, y0, n, prm, cell_of, start, order, nb_start, par_loop)
            xr[:n] = x0[:n]
            yr[:n] = y0[:n]
            rebuild = False
        if pairs:
            pair_forces(x0, y0, aw, prm, pi, pj, L, inv_L, fb, par_loop)
        worst = 0
        if par_loop:
            for i in prange(n):
                worst = max(worst, step_particle(i, x0, y0, t0, aw, tidw, agew, imxw, imyw, x1, y1, t1, xr, yr, key0,
                                                 noise, prm, L, inv_L, nb_start, nb, code, fb))
        else:
            for i in range(n):
                worst = max(worst, step_particle(i, x0, y0, t0, aw, tidw, agew, imxw, imyw, x1, y1, t1, xr, yr, key0,
                                                 noise, prm, L, inv_L, nb_start, nb, code, fb))
        x0, y0, t0, x1, y1, t1 = x1, y1, t1, x0, y0, t0
        if worst == 2:
            ok = False
            break
        rebuild = worst == 1
        if divides:
            n_old = n
            n, next_id = divide_in_order(x0, y0, t0, aw, tidw, parw, agew, imxw, imyw, n, next_id, seed, step, prm,
                                         slot_of, store_of)
            rebuild = rebuild or n > n_old
    for s in range(n):
        i = slot_of[s]
        x[i], y[i], th[i], a[i], tid[i], par[i] = x0[s], y0[s], t0[s], aw[s], tidw[s], parw[s]
        age[i], imx[i], imy[i] = agew[s], imxw[s], imyw[s]
    return n, next_id, ok
