"""Time stepping: one Euler-Maruyama step per particle, cell division, and the step loop."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cellbench.sim.kernels.geometry import box_of, separation, wrap_periodic
from cellbench.sim.kernels.interactions import particle_forces
from cellbench.sim.kernels.neighbours import build_verlet
from cellbench.sim.kernels.params import (P_DIV_AGE, P_DIV_RATE, P_DIV_SEP, P_DT, P_MU, P_PAR_MIN, P_SKIN, P_SQ2DR,
                                          P_SQ2DT, P_V0)
from cellbench.sim.kernels.rng import (STREAM_DIV, STREAM_DIVDIR, STREAM_TH, STREAM_X, STREAM_Y, _mix, normal_from_key,
                                       rng_uniform2, step_key)
from cellbench.sim.kernels.trig import cos_sin

_TWO_PI = 2.0 * np.pi


@njit(cache=True, inline="always")
def step_particle(i, x, y, th, a, tid, age, imx, imy, nx, ny, nth, xr, yr, key0, noise, prm, nb_start, nb):
    """One Euler-Maruyama step of particle i from (x, y, th) into (nx, ny, nth).

    Writes only index i (of nx, ny, nth, age, imx, imy). Returns 2 if the new position is not
    finite or jumped more than a box, 1 if the particle is half a skin or more from where it was
    when the Verlet lists were built (xr, yr), else 0.
    """
    L, inv_L = box_of(prm)
    v0, mu, dt = prm[P_V0], prm[P_MU], prm[P_DT]
    fx, fy, wx, wy, tq = particle_forces(i, x, y, th, a, prm, nb_start, nb, L, inv_L)
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
def divide(x, y, th, a, tid, par, age, imx, imy, n, next_id, seed, step, prm):
    """Divisions after a step; returns (n, next_id). Serial, in index order.

    Each cell older than the division age divides with probability rate*dt: the mother's slot
    takes one daughter and the other is appended (while n < capacity), both with new track ids
    (assigned in index order) and ``par`` = the mother's id, at +-sep*radius along a random
    direction, the appended one heading opposite.
    """
    L, _ = box_of(prm)
    cap = x.shape[0]
    div_p = prm[P_DIV_RATE] * prm[P_DT]
    div_age = prm[P_DIV_AGE]
    div_sep = prm[P_DIV_SEP]
    n_before = n
    for i in range(n_before):
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


@njit(cache=True, parallel=True)
def advance(x, y, th, a, tid, par, age, imx, imy, n, next_id, step0, n_steps, seed, noise, prm):
    r"""Integrate ``n_steps`` Euler-Maruyama steps in place; return (n, next_id, ok).

    .. math:: x_i \leftarrow x_i + (v_0 e(\theta_i) + \mu F_i + \mu F^{wall}_i)\,dt + \sqrt{2 D_t dt}\,\xi_i,
              \quad \theta_i \leftarrow \theta_i + \tau_i\,dt + \sqrt{2 D_r dt}\,\eta_i

    ``noise`` False switches off both noises and division (the oracle's deterministic
    dynamics). Step ``s`` uses random numbers keyed by (seed, step0 + s, track id). After each
    step, cells may divide (:func:`divide`). Each step is one pass over the particles
    (:func:`step_particle`) from one pair of position buffers into the other; the Verlet lists
    are rebuilt when a particle has moved half a skin or a cell divided. ``ok`` is False if a
    coordinate became non-finite or jumped more than a box (time step too large).
    """
    cap = x.shape[0]
    x0, y0, t0 = x.copy(), y.copy(), th.copy()  # the current state ...
    x1, y1, t1 = np.empty(cap), np.empty(cap), np.empty(cap)  # ... and the next one
    xr = np.empty(cap)
    yr = np.empty(cap)
    nb_start = np.empty(cap + 1, np.int64)
    nb = np.empty(0, np.int32)
    divides = noise and prm[P_DIV_RATE] > 0.0
    rebuild = True
    ok = True
    for s in range(n_steps):
        step = step0 + s
        key0 = step_key(seed, step)
        par_loop = n >= prm[P_PAR_MIN]
        if rebuild:
            nb = build_verlet(x0, y0, n, prm, nb_start, par_loop)
            xr[:n] = x0[:n]
            yr[:n] = y0[:n]
            rebuild = False
        worst = 0
        if par_loop:
            for i in prange(n):
                worst = max(worst, step_particle(i, x0, y0, t0, a, tid, age, imx, imy, x1, y1, t1, xr, yr, key0,
                                                 noise, prm, nb_start, nb))
        else:
            for i in range(n):
                worst = max(worst, step_particle(i, x0, y0, t0, a, tid, age, imx, imy, x1, y1, t1, xr, yr, key0,
                                                 noise, prm, nb_start, nb))
        x0, y0, t0, x1, y1, t1 = x1, y1, t1, x0, y0, t0
        if worst == 2:
            ok = False
            break
        rebuild = worst == 1
        if divides:
            n_old = n
            n, next_id = divide(x0, y0, t0, a, tid, par, age, imx, imy, n, next_id, seed, step, prm)
            rebuild = rebuild or n > n_old
    x[:n] = x0[:n]
    y[:n] = y0[:n]
    th[:n] = t0[:n]
    return n, next_id, ok

