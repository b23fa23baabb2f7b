r"""Numba kernels of the simulators: counter-based RNG, cell lists, forces, Euler-Maruyama steps.

Arrays in, arrays out, no I/O and no checks (the Python wrappers validate). The state of a
system with capacity ``cap`` is a set of arrays of length ``cap`` of which the first ``n`` are
alive: ``x, y`` (um), ``th`` (rad), ``a`` (radius, um), ``tid`` (track id), ``par`` (parent
track id, -1), ``age`` (s), ``imx, imy`` (periodic image counters).

Units: energies in kT, forces in kT/um, the mobility ``mu`` in um^2/(kT s), so ``mu F`` is a
velocity in um/s and D_t = mu kT (Einstein).

Reproducibility: every random number is a hash of (seed, step, track id, stream) (a
counter-based generator), so a particle's noise does not depend on which thread updates it,
and every force is summed over neighbours in the same order (the cell list is built by a serial
counting sort), so trajectories are bitwise identical for any number of threads. Each thread
writes only its own particle's entries (no scatter).

The parameter vector ``prm`` (float64) is laid out by the ``P_*`` indices below.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# -- parameter vector layout --------------------------------------------------------------------
P_PERIODIC = 0  # 1.0 periodic square box [0, L)^2, 0.0 open domain (microwell)
P_L = 1  # box side, um (periodic)
P_OX, P_OY = 2, 3  # lower-left corner of the cell grid, um
P_CELL = 4  # cell side of the cell list, um (>= largest interaction range)
P_NC = 5  # number of cells per side
P_WELL_R = 6  # microwell radius, um (0: no wall)
P_WALL_K = 7  # wall spring constant, kT/um^2
P_V0 = 8  # self-propulsion speed, um/s
P_MU = 9  # mobility, um^2/(kT s)
P_SQ2DT = 10  # sqrt(2 D_t dt), um
P_SQ2DR = 11  # sqrt(2 D_r dt), rad
P_DT = 12  # time step, s
P_ALIGN_G = 13  # alignment strength, 1/s
P_ALIGN_R = 14  # alignment range, um
P_KIND = 15  # potential kind (simulators.potentials.KIND_*)
P_POT = 16  # 4 potential parameters: 16..19
P_RMAX = 20  # largest potential cutoff over all pairs, um
P_DIV_RATE = 21  # division rate, 1/s (0: no division)
P_DIV_AGE = 22  # minimum age before division, s
P_DIV_SEP = 23  # half distance between the two daughters at birth, in units of the mother radius
P_CAP = 24  # capacity (max number of cells)
P_PAR_MIN = 25  # fewest alive cells for which a step runs as a parallel (prange) loop
P_SKIN = 26  # Verlet-list skin, um (the cell side is >= interaction range + skin)
N_PRM = 27

# Below this many cells a parallel region costs more to launch than it saves (and on a loaded
# machine a descheduled worker stalls every step), so small systems run the same per-particle
# code in a serial loop; the result is bitwise the same.
PARALLEL_MIN_CELLS = 2000

STREAM_XY, STREAM_TH, STREAM_DIV, STREAM_DIVDIR = 0, 1, 2, 3

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_TWO_M32 = 2.0**-32
_TWO_PI = 2.0 * np.pi


@njit(cache=True, inline="always")
def _mix(h, v):
    """Absorb the 64-bit word ``v`` into the state ``h`` (splitmix64 finaliser)."""
    z = (h ^ v) + _GOLD
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def rng_key(seed, step, pid):
    """The generator's key for (seed, step, particle id); :func:`rng_bits` hashes a stream into it."""
    h = _mix(np.uint64(0x243F6A8885A308D3), np.uint64(seed))
    h = _mix(h, np.uint64(step))
    return _mix(h, np.uint64(pid))


@njit(cache=True, inline="always")
def rng_bits(seed, step, pid, stream):
    """64 random bits, a pure function of (seed, step, particle id, stream)."""
    return _mix(rng_key(seed, step, pid), np.uint64(stream))


@njit(cache=True, inline="always")
def rng_uniform2(seed, step, pid, stream):
    """Two uniforms in (0, 1] with 32-bit resolution."""
    h = rng_bits(seed, step, pid, stream)
    u1 = (np.float64(h >> _S32) + 1.0) * _TWO_M32
    u2 = (np.float64(h & np.uint64(0xFFFFFFFF)) + 1.0) * _TWO_M32
    return u1, u2


@njit(cache=True, inline="always")
def normal2_from_key(key, stream):
    """Two independent standard normals by Marsaglia's polar method.

    Candidate k (k = 0, 1, ...) hashes the word ``stream + 4 k`` into ``key``; streams 0-3 are
    the base streams, so retries never reuse another stream's bits. 78.5 % of candidates are
    accepted; no trigonometric call.
    """
    k = 0
    while True:
        h = _mix(key, np.uint64(stream + 4 * k))
        u = (np.float64(h >> _S32) + 0.5) * (2.0 * _TWO_M32) - 1.0
        v = (np.float64(h & np.uint64(0xFFFFFFFF)) + 0.5) * (2.0 * _TWO_M32) - 1.0
        q = u * u + v * v
        if q < 1.0 and q > 0.0:
            f = np.sqrt(-2.0 * np.log(q) / q)
            return u * f, v * f
        k += 1


@njit(cache=True, inline="always")
def rng_normal2(seed, step, pid, stream):
    """Two independent standard normals, a pure function of (seed, step, particle id, stream)."""
    return normal2_from_key(rng_key(seed, step, pid), stream)


@njit(cache=True)
def normals(seed, step, pids, stream):
    """(n, 2) standard normals for particle ids ``pids`` (for tests of the generator)."""
    out = np.empty((pids.shape[0], 2))
    for k in range(pids.shape[0]):
        out[k, 0], out[k, 1] = rng_normal2(seed, step, pids[k], stream)
    return out


# -- pair forces ------------------------------------------------------------------------------
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

    F_i = (f/r) (x_i - x_j). See simulators.potentials for the formulas.
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


# -- cell list ----------------------------------------------------------------------------------
@njit(cache=True)
def build_cells(x, y, n, prm, cell_of, start, order):
    """Counting sort of the ``n`` alive particles into an nc x nc grid (serial, deterministic).

    Fills ``cell_of`` (n,), ``start`` (nc*nc + 1,) and ``order`` (n,): the particles of cell c
    are ``order[start[c]:start[c+1]]`` in increasing index.
    """
    nc = int(prm[P_NC])
    inv = 1.0 / prm[P_CELL]
    ox, oy = prm[P_OX], prm[P_OY]
    ncell = nc * nc
    for c in range(ncell + 1):
        start[c] = 0
    for i in range(n):
        cx = int(np.floor((x[i] - ox) * inv))
        cy = int(np.floor((y[i] - oy) * inv))
        cx = min(max(cx, 0), nc - 1)
        cy = min(max(cy, 0), nc - 1)
        c = cy * nc + cx
        cell_of[i] = c
        start[c + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    # fill, using cell_of as the insertion cursor source (order stays by increasing index)
    fill = start[:ncell].copy()
    for i in range(n):
        c = cell_of[i]
        order[fill[c]] = i
        fill[c] += 1


@njit(cache=True, inline="always")
def particle_forces(i, x, y, th, a, prm, cell_of, start, order):
    """Interaction force (kT/um), wall force (kT/um) and alignment torque (1/s) on particle i."""
    nc = int(prm[P_NC])
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    rmax = max(prm[P_RMAX], prm[P_ALIGN_R])
    rmax2 = rmax * rmax
    g = prm[P_ALIGN_G]
    ra2 = prm[P_ALIGN_R] * prm[P_ALIGN_R]
    xi, yi, ai = x[i], y[i], a[i]
    fx = 0.0
    fy = 0.0
    tq = 0.0
    n_align = 0
    c = cell_of[i]
    cx0 = c % nc
    cy0 = c // nc
    n_stencil = 2 if (kind != 0 or g != 0.0) else -1  # no neighbour search without interactions
    for dcy in range(-1, n_stencil):
        cy = cy0 + dcy
        sy = 0.0
        if cy < 0:
            if not periodic:
                continue
            cy += nc
            sy = -L
        elif cy >= nc:
            if not periodic:
                continue
            cy -= nc
            sy = L
        for dcx in range(-1, 2):
            cx = cx0 + dcx
            sx = 0.0
            if cx < 0:
                if not periodic:
                    continue
                cx += nc
                sx = -L
            elif cx >= nc:
                if not periodic:
                    continue
                cx -= nc
                sx = L
            cc = cy * nc + cx
            for k in range(start[cc], start[cc + 1]):
                j = order[k]
                if j == i:
                    continue
                rx = xi - (x[j] + sx)
                ry = yi - (y[j] + sy)
                r2 = rx * rx + ry * ry
                if r2 >= rmax2:
                    continue
                if kind != 0:
                    s = ai + a[j]
                    rc = pair_cut(kind, s, p0, p1, p2)
                    if r2 < rc * rc:
                        fr = pair_f_over_r(kind, r2, s, p0, p1, p2)
                        fx += fr * rx
                        fy += fr * ry
                if g != 0.0 and r2 < ra2:
                    tq += np.sin(th[j] - th[i])
                    n_align += 1
    if n_align > 0:
        tq = g * tq / n_align
    wx, wy = wall_force(i, x, y, a, prm)
    return fx, fy, wx, wy, tq


@njit(cache=True, inline="always")
def neighbours(i, x, y, prm, cell_of, start, order, reach2, out, offset):
    """Particles j != i closer than sqrt(reach2) (cell-list search, stencil then index order).

    Writes them to ``out[offset:]`` when ``offset >= 0``; returns how many there are.
    """
    nc = int(prm[P_NC])
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    xi, yi = x[i], y[i]
    count = 0
    c = cell_of[i]
    cx0 = c % nc
    cy0 = c // nc
    for dcy in range(-1, 2):
        cy = cy0 + dcy
        sy = 0.0
        if cy < 0:
            if not periodic:
                continue
            cy += nc
            sy = -L
        elif cy >= nc:
            if not periodic:
                continue
            cy -= nc
            sy = L
        for dcx in range(-1, 2):
            cx = cx0 + dcx
            sx = 0.0
            if cx < 0:
                if not periodic:
                    continue
                cx += nc
                sx = -L
            elif cx >= nc:
                if not periodic:
                    continue
                cx -= nc
                sx = L
            cc = cy * nc + cx
            for k in range(start[cc], start[cc + 1]):
                j = order[k]
                if j == i:
                    continue
                rx = xi - (x[j] + sx)
                ry = yi - (y[j] + sy)
                if rx * rx + ry * ry < reach2:
                    if offset >= 0:
                        out[offset + count] = j
                    count += 1
    return count


@njit(cache=True, inline="always")
def wall_force(i, x, y, a, prm):
    """Soft circular wall: -k_wall (|x| + a - R) x/|x| when the rim crosses the wall, kT/um."""
    R = prm[P_WELL_R]
    if R <= 0.0:
        return 0.0, 0.0
    xi, yi = x[i], y[i]
    d = np.sqrt(xi * xi + yi * yi)
    over = d + a[i] - R
    if over > 0.0 and d > 0.0:
        return -prm[P_WALL_K] * over * xi / d, -prm[P_WALL_K] * over * yi / d
    return 0.0, 0.0


@njit(cache=True, inline="always")
def particle_forces_nl(i, x, y, th, a, prm, nb_start, nb):
    """As :func:`particle_forces`, over the Verlet list ``nb[nb_start[i]:nb_start[i+1]]``."""
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    g = prm[P_ALIGN_G]
    ra2 = prm[P_ALIGN_R] * prm[P_ALIGN_R]
    xi, yi, ai = x[i], y[i], a[i]
    fx = 0.0
    fy = 0.0
    tq = 0.0
    n_align = 0
    for k in range(nb_start[i], nb_start[i + 1]):
        j = nb[k]
        rx = xi - x[j]
        ry = yi - y[j]
        if periodic:
            if rx > 0.5 * L:
                rx -= L
            elif rx < -0.5 * L:
                rx += L
            if ry > 0.5 * L:
                ry -= L
            elif ry < -0.5 * L:
                ry += L
        r2 = rx * rx + ry * ry
        if kind != 0:
            s = ai + a[j]
            rc = pair_cut(kind, s, p0, p1, p2)
            if r2 < rc * rc:
                fr = pair_f_over_r(kind, r2, s, p0, p1, p2)
                fx += fr * rx
                fy += fr * ry
        if g != 0.0 and r2 < ra2:
            tq += np.sin(th[j] - th[i])
            n_align += 1
    if n_align > 0:
        tq = g * tq / n_align
    wx, wy = wall_force(i, x, y, a, prm)
    return fx, fy, wx, wy, tq


@njit(cache=True, parallel=True)
def build_verlet(x, y, n, prm, cell_of, start, order, nb_start, par):
    """Verlet lists of the ``n`` alive particles within interaction range + skin.

    Counts per particle, a serial prefix sum, then fills per particle (each writes only its own
    slice), so the lists do not depend on the number of threads. Returns the list array.
    """
    reach = max(prm[P_RMAX], prm[P_ALIGN_R]) + prm[P_SKIN]
    reach2 = reach * reach
    dummy = np.empty(0, np.int64)
    counts = np.zeros(n, np.int64)
    if prm[P_KIND] == 0 and prm[P_ALIGN_G] == 0.0:  # no interactions: empty lists
        nb_start[: n + 1] = 0
        return dummy
    if par:
        for i in prange(n):
            counts[i] = neighbours(i, x, y, prm, cell_of, start, order, reach2, dummy, -1)
    else:
        for i in range(n):
            counts[i] = neighbours(i, x, y, prm, cell_of, start, order, reach2, dummy, -1)
    nb_start[0] = 0
    for i in range(n):
        nb_start[i + 1] = nb_start[i] + counts[i]
    nb = np.empty(nb_start[n], np.int64)
    if par:
        for i in prange(n):
            neighbours(i, x, y, prm, cell_of, start, order, reach2, nb, nb_start[i])
    else:
        for i in range(n):
            neighbours(i, x, y, prm, cell_of, start, order, reach2, nb, nb_start[i])
    return nb


@njit(cache=True, parallel=True)
def forces(x, y, th, a, n, prm):
    """(5, n) array: interaction force fx, fy (kT/um), wall force fx, fy (kT/um), torque (1/s)."""
    nc = int(prm[P_NC])
    cell_of = np.empty(n, np.int64)
    start = np.empty(nc * nc + 1, np.int64)
    order = np.empty(n, np.int64)
    build_cells(x, y, n, prm, cell_of, start, order)
    out = np.empty((5, n))
    if n >= prm[P_PAR_MIN]:
        for i in prange(n):
            out[0, i], out[1, i], out[2, i], out[3, i], out[4, i] = particle_forces(
                i, x, y, th, a, prm, cell_of, start, order)
    else:
        for i in range(n):
            out[0, i], out[1, i], out[2, i], out[3, i], out[4, i] = particle_forces(
                i, x, y, th, a, prm, cell_of, start, order)
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


# -- time stepping ------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def step_particle(i, x, y, th, a, tid, age, imx, imy, nx, ny, nth, step_key, noise, prm, nb_start, nb):
    """One Euler-Maruyama step of particle i into (nx, ny, nth); writes only index i."""
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    v0, mu, dt = prm[P_V0], prm[P_MU], prm[P_DT]
    fx, fy, wx, wy, tq = particle_forces_nl(i, x, y, th, a, prm, nb_start, nb)
    c = np.cos(th[i])
    sn = np.sin(th[i])
    xi = x[i] + (v0 * c + mu * (fx + wx)) * dt
    yi = y[i] + (v0 * sn + mu * (fy + wy)) * dt
    ti = th[i] + tq * dt
    if noise:
        key = _mix(step_key, np.uint64(tid[i]))  # = rng_key(seed, step, tid[i])
        z1, z2 = normal2_from_key(key, STREAM_XY)
        z3, _ = normal2_from_key(key, STREAM_TH)
        xi += prm[P_SQ2DT] * z1
        yi += prm[P_SQ2DT] * z2
        ti += prm[P_SQ2DR] * z3
        age[i] += dt
    if periodic:
        if xi >= L:
            xi -= L
            imx[i] += 1
        elif xi < 0.0:
            xi += L
            imx[i] -= 1
        if yi >= L:
            yi -= L
            imy[i] += 1
        elif yi < 0.0:
            yi += L
            imy[i] -= 1
    nx[i] = xi
    ny[i] = yi
    nth[i] = ti


@njit(cache=True, inline="always")
def commit_particle(i, x, y, th, nx, ny, nth, xr, yr, half_skin2, periodic, L):
    """Copy particle i's new state in; return 2 if it is not finite (or left the box), 1 if it
    moved half a skin since the Verlet list was built (minimum image), else 0."""
    x[i] = nx[i]
    y[i] = ny[i]
    th[i] = nth[i]
    if not (np.isfinite(nx[i]) and np.isfinite(ny[i])):
        return 2
    if periodic and (nx[i] < 0.0 or nx[i] >= L or ny[i] < 0.0 or ny[i] >= L):
        return 2
    dx = nx[i] - xr[i]
    dy = ny[i] - yr[i]
    if periodic:
        if dx > 0.5 * L:
            dx -= L
        elif dx < -0.5 * L:
            dx += L
        if dy > 0.5 * L:
            dy -= L
        elif dy < -0.5 * L:
            dy += L
    if dx * dx + dy * dy >= half_skin2:
        return 1
    return 0


@njit(cache=True, parallel=True)
def advance(x, y, th, a, tid, par, age, imx, imy, n, next_id, step0, n_steps, seed, noise, prm):
    r"""Integrate ``n_steps`` Euler-Maruyama steps in place; return (n, next_id, ok).

    .. math:: x_i \leftarrow x_i + (v_0 e(\theta_i) + \mu F_i + \mu F^{wall}_i)\,dt + \sqrt{2 D_t dt}\,\xi_i,
              \quad \theta_i \leftarrow \theta_i + \tau_i\,dt + \sqrt{2 D_r dt}\,\eta_i

    ``noise`` False switches off both noises and division (the oracle's deterministic
    dynamics). Step ``s`` uses random numbers keyed by (seed, step0 + s, track id). After each
    step, each cell older than the division age divides with probability rate*dt: the mother's
    slot takes one daughter and the other is appended, both with new track ids (assigned in
    index order) and ``par`` = the mother's id, placed at +-sep*radius along a random direction.
    ``ok`` is False if a coordinate became non-finite (time step too large).
    """
    cap = x.shape[0]
    nc = int(prm[P_NC])
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    dt = prm[P_DT]
    div_p = prm[P_DIV_RATE] * dt
    div_age = prm[P_DIV_AGE]
    div_sep = prm[P_DIV_SEP]
    cell_of = np.empty(cap, np.int64)
    start = np.empty(nc * nc + 1, np.int64)
    order = np.empty(cap, np.int64)
    nx = np.empty(cap)
    ny = np.empty(cap)
    nth = np.empty(cap)
    nb_start = np.empty(cap + 1, np.int64)
    nb = np.empty(0, np.int64)
    xr = np.empty(cap)
    yr = np.empty(cap)
    flag = np.zeros(cap, np.int64)
    half_skin2 = 0.25 * prm[P_SKIN] * prm[P_SKIN]
    rebuild = True
    for s in range(n_steps):
        step = step0 + s
        step_key = _mix(_mix(np.uint64(0x243F6A8885A308D3), np.uint64(seed)), np.uint64(step))
        use_par = n >= prm[P_PAR_MIN]
        if rebuild:
            build_cells(x, y, n, prm, cell_of, start, order)
            nb = build_verlet(x, y, n, prm, cell_of, start, order, nb_start, use_par)
            for i in range(n):
                xr[i] = x[i]
                yr[i] = y[i]
            rebuild = False
        if use_par:
            for i in prange(n):
                step_particle(i, x, y, th, a, tid, age, imx, imy, nx, ny, nth, step_key, noise, prm, nb_start, nb)
        else:
            for i in range(n):
                step_particle(i, x, y, th, a, tid, age, imx, imy, nx, ny, nth, step_key, noise, prm, nb_start, nb)
        if use_par:
            for i in prange(n):
                flag[i] = commit_particle(i, x, y, th, nx, ny, nth, xr, yr, half_skin2, periodic, L)
        else:
            for i in range(n):
                flag[i] = commit_particle(i, x, y, th, nx, ny, nth, xr, yr, half_skin2, periodic, L)
        worst = 0
        for i in range(n):
            worst = max(worst, flag[i])
        bad = worst == 2
        if worst == 1:
            rebuild = True
        if bad:
            return n, next_id, False
        if noise and div_p > 0.0:
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
                if periodic:  # keep daughters inside the box
                    for k in (i, j):
                        if x[k] >= L:
                            x[k] -= L
                            imx[k] += 1
                        elif x[k] < 0.0:
                            x[k] += L
                            imx[k] -= 1
                        if y[k] >= L:
                            y[k] -= L
                            imy[k] += 1
                        elif y[k] < 0.0:
                            y[k] += L
                            imy[k] -= 1
                rebuild = True
                tid[i] = next_id
                tid[j] = next_id + 1
                next_id += 2
                par[i] = mother
                par[j] = mother
                age[i] = 0.0
                age[j] = 0.0
    return n, next_id, True


@njit(cache=True)
def pairs_within(x, y, a, n, prm, observed):
    """Observed pairs i < j (indices) within the potential cutoff and their pair force.

    Returns (i, j, r_um, fx, fy, f_mag) with (fx, fy) the force on i from j in kT/um (the force
    on j is its opposite), r the minimum-image distance, f_mag = -du/dr (> 0 repulsive). Only pairs with both ``observed[i]`` and
    ``observed[j]`` are listed. Serial (two passes: count, then fill).
    """
    nc = int(prm[P_NC])
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    cell_of = np.empty(n, np.int64)
    start = np.empty(nc * nc + 1, np.int64)
    order = np.empty(n, np.int64)
    build_cells(x, y, n, prm, cell_of, start, order)
    count = 0
    cap = 16
    oi = np.empty(cap, np.int64)
    oj = np.empty(cap, np.int64)
    orr = np.empty(cap)
    ofx = np.empty(cap)
    ofy = np.empty(cap)
    ofm = np.empty(cap)
    if kind == 0:
        return oi[:0], oj[:0], orr[:0], ofx[:0], ofy[:0], orr[:0]
    for i in range(n):
        if not observed[i]:
            continue
        c = cell_of[i]
        cx0 = c % nc
        cy0 = c // nc
        for dcy in range(-1, 2):
            cy = cy0 + dcy
            sy = 0.0
            if cy < 0:
                if not periodic:
                    continue
                cy += nc
                sy = -L
            elif cy >= nc:
                if not periodic:
                    continue
                cy -= nc
                sy = L
            for dcx in range(-1, 2):
                cx = cx0 + dcx
                sx = 0.0
                if cx < 0:
                    if not periodic:
                        continue
                    cx += nc
                    sx = -L
                elif cx >= nc:
                    if not periodic:
                        continue
                    cx -= nc
                    sx = L
                cc = cy * nc + cx
                for k in range(start[cc], start[cc + 1]):
                    j = order[k]
                    if j <= i or not observed[j]:
                        continue
                    rx = x[i] - (x[j] + sx)
                    ry = y[i] - (y[j] + sy)
                    r2 = rx * rx + ry * ry
                    s = a[i] + a[j]
                    rc = pair_cut(kind, s, p0, p1, p2)
                    if r2 >= rc * rc:
                        continue
                    fr = pair_f_over_r(kind, r2, s, p0, p1, p2)
                    if count == cap:
                        cap *= 2
                        oi2 = np.empty(cap, np.int64)
                        oj2 = np.empty(cap, np.int64)
                        orr2 = np.empty(cap)
                        ofx2 = np.empty(cap)
                        ofy2 = np.empty(cap)
                        ofm2 = np.empty(cap)
                        oi2[:count] = oi[:count]
                        oj2[:count] = oj[:count]
                        orr2[:count] = orr[:count]
                        ofx2[:count] = ofx[:count]
                        ofy2[:count] = ofy[:count]
                        ofm2[:count] = ofm[:count]
                        oi, oj, orr, ofx, ofy, ofm = oi2, oj2, orr2, ofx2, ofy2, ofm2
                    oi[count] = i
                    oj[count] = j
                    orr[count] = np.sqrt(r2)
                    ofx[count] = fr * rx
                    ofy[count] = fr * ry
                    ofm[count] = fr * orr[count]
                    count += 1
    return oi[:count], oj[:count], orr[:count], ofx[:count], ofy[:count], ofm[:count]
