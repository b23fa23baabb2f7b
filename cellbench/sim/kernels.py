r"""Numba kernels of the simulators: counter-based RNG, cell and Verlet lists, forces, Euler-Maruyama steps.

Arrays in, arrays out, no I/O and no checks (the Python wrappers validate). The state of a
system with capacity ``cap`` is a set of arrays of length ``cap`` of which the first ``n`` are
alive: ``x, y`` (um), ``th`` (rad), ``a`` (radius, um), ``tid`` (track id), ``par`` (parent
track id, -1), ``age`` (s), ``imx, imy`` (periodic image counters).

Units: energies in kT, forces in kT/um, the mobility ``mu`` in um^2/(kT s), so ``mu F`` is a
velocity in um/s and D_t = mu kT (Einstein).

Reproducibility: every random number is a hash of (seed, step, track id, stream) (a
counter-based generator), so a particle's noise does not depend on which thread updates it,
and every force is summed over the particle's own full neighbour list in a fixed order (the
lists are built from a serial counting sort), so trajectories are bitwise identical for any
number of threads. Each thread writes only its own particle's entries: no scatter, no atomics.

Layout of a step: one pass over the particles (a ``prange`` loop above PARALLEL_MIN_CELLS).
Each particle sums its forces over its own full Verlet list (every neighbour within interaction
range + skin, built from a cell list and reused until some particle has moved half a skin),
draws three ziggurat normals from its key, and writes its new state to the other half of a
pair of buffers (neighbours read the old positions); the largest rebuild flag is a ``max``
reduction. What made it fast (measured on WCA, phi 0.4, N = 10^4, ~3 neighbours per list, see
benchmarks/bench_simulators.py): no data-dependent branch in the inner loops (the cutoff and
the list-building distance test are 0/1 factors; a mispredicted branch cost more than a pair
term), cell rows scanned as one range, normals by a ziggurat (no logarithm), a polynomial
cos/sin, no array-passing calls inside the particle loop (numba reference counts them).
Sorting particles by cell did not pay at this size: the whole state fits in L2.

The parameter vector ``prm`` (float64) is laid out by the ``P_*`` indices below.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

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
P_KIND = 15  # potential kind (cellbench.sim.potentials.KIND_*)
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

# Random streams: the words hashed into a particle's (seed, step, track id) key. Attempt k of a
# rejection sampler on stream s hashes the word s + N_STREAMS * k, so no two draws share bits.
STREAM_X, STREAM_Y, STREAM_TH, STREAM_DIV, STREAM_DIVDIR = 0, 1, 2, 3, 4
N_STREAMS = 8

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_ROOT = np.uint64(0x243F6A8885A308D3)
_SALT = np.uint64(0xD1B54A32D192ED03)  # derives the extra uniforms of the ziggurat's slow paths
_S8, _S11, _S30, _S27, _S31, _S32 = (np.uint64(k) for k in (8, 11, 30, 27, 31, 32))
_ONE, _MASK8 = np.uint64(1), np.uint64(255)
_TWO_M32 = 2.0**-32
_TWO_M53 = 2.0**-53
_TWO_PI = 2.0 * np.pi


# -- counter-based random numbers ---------------------------------------------------------------
@njit(cache=True, inline="always")
def _mix(h, v):
    """Absorb the 64-bit word ``v`` into the state ``h`` (splitmix64 finaliser)."""
    z = (h ^ v) + _GOLD
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def step_key(seed, step):
    """The generator's key for (seed, step); :func:`rng_key` adds the particle id."""
    return _mix(_mix(_ROOT, np.uint64(seed)), np.uint64(step))


@njit(cache=True, inline="always")
def rng_key(seed, step, pid):
    """The generator's key for (seed, step, particle id); draws hash a stream word into it."""
    return _mix(step_key(seed, step), np.uint64(pid))


@njit(cache=True, inline="always")
def rng_uniform2(seed, step, pid, stream):
    """Two uniforms in (0, 1] with 32-bit resolution, a pure function of the four arguments."""
    h = _mix(rng_key(seed, step, pid), np.uint64(stream))
    u1 = (np.float64(h >> _S32) + 1.0) * _TWO_M32
    u2 = (np.float64(h & np.uint64(0xFFFFFFFF)) + 1.0) * _TWO_M32
    return u1, u2


def _ziggurat_tables(n_layers: int = 256, r: float = 3.6541528853610088):
    r"""Edges ``X`` (n_layers + 1,) and heights ``F = exp(-X^2/2)`` of the normal ziggurat.

    The area under :math:`f(x) = e^{-x^2/2}`, :math:`x \ge 0`, is covered by ``n_layers``
    layers of equal area :math:`v = r f(r) + \int_r^\infty f`: a base strip (the rectangle
    [0, r] x [0, f(r)] plus the tail beyond r, given the pseudo-width X[0] = v / f(r)) and
    rectangles [0, X[i]] x [f(X[i]), f(X[i+1])] with :math:`f(X_{i+1}) = f(X_i) + v / X_i`,
    X[1] = r, X[n_layers] = 0. ``r`` is the root that closes the top layer at x = 0 for 256
    layers (Marsaglia and Tsang 2000).
    """
    f = lambda t: math.exp(-0.5 * t * t)  # noqa: E731
    v = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2.0))
    X = np.empty(n_layers + 1)
    X[0], X[1] = v / f(r), r
    for i in range(1, n_layers - 1):
        X[i + 1] = math.sqrt(-2.0 * math.log(f(X[i]) + v / X[i]))
    X[n_layers] = 0.0
    return X, np.exp(-0.5 * X * X), v


_ZIG_X, _ZIG_F, _ZIG_V = _ziggurat_tables()
_ZIG_R = float(_ZIG_X[1])


@njit(cache=True)
def _normal_tail(h):
    r"""|z| > r from the normal tail (Marsaglia 1964), with uniforms hashed from ``h``.

    Draw :math:`e_1 = -\ln(u_1)/r`, :math:`e_2 = -\ln u_2` until :math:`2 e_2 > e_1^2`; then
    :math:`r + e_1` has the density of the tail.
    """
    t = 1
    while True:
        g1 = _mix(h, _SALT + np.uint64(2 * t))
        g2 = _mix(h, _SALT + np.uint64(2 * t + 1))
        e1 = -np.log((np.float64(g1 >> _S11) + 1.0) * _TWO_M53) / _ZIG_R
        e2 = -np.log((np.float64(g2 >> _S11) + 1.0) * _TWO_M53)
        if 2.0 * e2 > e1 * e1:
            return _ZIG_R + e1
        t += 1


@njit(cache=True, inline="always")
def normal_from_key(key, stream):
    """A standard normal by the 256-layer ziggurat, a pure function of (key, stream).

    Attempt k hashes the word ``stream + N_STREAMS * k`` into ``key``: bits 0-7 pick the layer
    i, bit 8 the sign, bits 11-63 a uniform u in [0, 1), z = u X[i]. z < X[i+1] is accepted at
    once (98.8 % of draws: one hash, a multiply and a compare, no logarithm); otherwise the base
    layer samples the tail and the other layers test the wedge against exp(-z^2/2) with a second
    uniform, retrying on rejection.
    """
    k = 0
    while True:
        h = _mix(key, np.uint64(stream + N_STREAMS * k))
        i = np.intp(h & _MASK8)
        z = np.float64(h >> _S11) * _TWO_M53 * _ZIG_X[i]
        if z >= _ZIG_X[i + 1]:
            if i == 0:
                z = _normal_tail(h)
            else:
                w = np.float64(_mix(h, _SALT) >> _S11) * _TWO_M53
                if _ZIG_F[i] + w * (_ZIG_F[i + 1] - _ZIG_F[i]) >= np.exp(-0.5 * z * z):
                    k += 1
                    continue
        return z * (1.0 - 2.0 * np.float64((h >> _S8) & _ONE))  # bit 8: the sign, without a branch


@njit(cache=True)
def normals(seed, step, pids, stream):
    """Standard normals of particle ids ``pids`` on ``stream`` at (seed, step) (tests the generator)."""
    out = np.empty(pids.shape[0])
    for k in range(pids.shape[0]):
        out[k] = normal_from_key(rng_key(seed, step, pids[k]), stream)
    return out


# -- orientation vector -------------------------------------------------------------------------
def _half_pi_parts():
    """pi/2 = P1 + P2 + P3: P1 and P2 with 33 significant bits, so k P1 and k P2 are exact for
    integers |k| < 2^20 (Cody-Waite reduction), P3 the rounded rest."""
    with localcontext() as ctx:
        ctx.prec = 60
        rest = Decimal("3.14159265358979323846264338327950288419716939937510582097494459") / 2
        parts = []
        for bits in (33, 33):
            m, e = math.frexp(float(rest))
            parts.append(math.ldexp(math.floor(math.ldexp(m, bits)), e - bits))
            rest -= Decimal(parts[-1])
        return parts[0], parts[1], float(rest)


_P1, _P2, _P3 = _half_pi_parts()
_TWO_OVER_PI = 2.0 / math.pi
_SIN3, _SIN5, _SIN7, _SIN9, _SIN11, _SIN13, _SIN15, _SIN17 = (
    (-1) ** m / math.factorial(2 * m + 1) for m in range(1, 9))
_COS2, _COS4, _COS6, _COS8, _COS10, _COS12, _COS14, _COS16, _COS18 = (
    (-1) ** m / math.factorial(2 * m) for m in range(1, 10))


@njit(cache=True, inline="always")
def cos_sin(t):
    r"""(cos t, sin t) to 1-2 ulp, without branches on the quadrant (|t| < 5e5 rad; libm beyond).

    t = k pi/2 + r with k = rint(2t/pi) and |r| <= pi/4 (Cody-Waite); then Taylor polynomials
    :math:`\sin r = \sum_{m \le 8} (-1)^m r^{2m+1}/(2m+1)!`,
    :math:`\cos r = \sum_{m \le 9} (-1)^m r^{2m}/(2m)!` (truncation < 1e-19; Estrin's scheme,
    for short dependency chains), rotated by k quarter turns with 0/1 factors. Two to three
    times faster than libm's sin and cos, whose branches on the quadrant mispredict for random
    orientations.
    """
    if not abs(t) < 5e5:
        return np.cos(t), np.sin(t)
    k = np.rint(t * _TWO_OVER_PI)
    r = ((t - k * _P1) - k * _P2) - k * _P3
    z = r * r
    z2 = z * z
    z4 = z2 * z2
    s = r + r * z * ((_SIN3 + z * _SIN5) + z2 * (_SIN7 + z * _SIN9)
                     + z4 * ((_SIN11 + z * _SIN13) + z2 * (_SIN15 + z * _SIN17)))
    c = 1.0 + z * ((_COS2 + z * _COS4) + z2 * (_COS6 + z * _COS8)
                   + z4 * ((_COS10 + z * _COS12) + z2 * (_COS14 + z * _COS16) + z4 * _COS18))
    q = np.int64(k) & 3
    w = np.float64(q & 1)  # odd quadrant: cos and sin swap
    sign_c = 1.0 - 2.0 * np.float64(((q + 1) >> 1) & 1)  # cos < 0 in quadrants 1, 2
    sign_s = 1.0 - 2.0 * np.float64((q >> 1) & 1)  # sin < 0 in quadrants 2, 3
    return sign_c * (c * (1.0 - w) + s * w), sign_s * (s * (1.0 - w) + c * w)


@njit(cache=True)
def cos_sin_array(t):
    """(cos t, sin t) of an array by :func:`cos_sin` (tests it against libm)."""
    c = np.empty(t.shape[0])
    s = np.empty(t.shape[0])
    for k in range(t.shape[0]):
        c[k], s[k] = cos_sin(t[k])
    return c, s


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


# -- geometry ---------------------------------------------------------------------------------
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


@njit(cache=True, inline="always")
def stencil_segment(cx0, cy0, seg, nc, periodic, L):
    """Segment ``seg`` (0..5) of the 3x3 cell stencil around cell (cx0, cy0) of an nc x nc grid.

    Row ``seg // 2`` (offsets -1, 0, +1 in y) has two parts: ``seg % 2 == 0``, its cells in the
    grid's columns cx0-1..cx0+1, which are consecutive in the cell order (one range of particles,
    one loop); ``seg % 2 == 1``, the cell across a periodic x edge, if any. Returns (first cell,
    last cell + 1, x shift, y shift): the shifts (um) bring those particles next to the centre
    cell across periodic edges; the range is empty past the edge of an open domain. Periodic
    grids need nc >= 3 (no cell is visited twice).
    """
    cy = cy0 + seg // 2 - 1
    sy = 0.0
    if cy < 0 or cy >= nc:
        if not periodic:
            return 0, 0, 0.0, 0.0
        sy = -L if cy < 0 else L
        cy = cy + nc if cy < 0 else cy - nc
    row = cy * nc
    if seg % 2 == 0:
        return row + max(cx0 - 1, 0), row + min(cx0 + 1, nc - 1) + 1, 0.0, sy
    if periodic and cx0 == 0:
        return row + nc - 1, row + nc, -L, sy
    if periodic and cx0 == nc - 1:
        return row, row + 1, L, sy
    return 0, 0, 0.0, 0.0


# -- cell and Verlet lists ------------------------------------------------------------------------
@njit(cache=True)
def build_cells(x, y, n, prm, cell_of, start, order):
    """Counting sort of the ``n`` alive particles into an nc x nc grid (serial, deterministic).

    Fills ``cell_of`` (n,), ``start`` (nc*nc + 1,) and ``order`` (n,): the particles of cell c
    are ``order[start[c]:start[c+1]]`` in increasing index. Particles outside the grid go to
    the nearest edge cell.
    """
    nc = int(prm[P_NC])
    inv = 1.0 / prm[P_CELL]
    ox, oy = prm[P_OX], prm[P_OY]
    ncell = nc * nc
    start[: ncell + 1] = 0
    for i in range(n):
        cx = min(max(int(np.floor((x[i] - ox) * inv)), 0), nc - 1)
        cy = min(max(int(np.floor((y[i] - oy) * inv)), 0), nc - 1)
        c = cy * nc + cx
        cell_of[i] = c
        start[c + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    fill = start[:ncell].copy()
    for i in range(n):
        c = cell_of[i]
        order[fill[c]] = i
        fill[c] += 1


@njit(cache=True, inline="always")
def neighbours(i, x, y, prm, cell_of, start, order, reach2, out, lo, hi):
    """Particles j != i closer than sqrt(reach2), by cell-list search (in stencil segment order).

    Counts them when ``lo < 0``; otherwise writes them to ``out[lo:hi]``, where ``hi - lo`` is
    their number from a counting call. Branch-free on the distance test (candidates pass it at
    random): every candidate is written to the next free slot, which only a hit keeps.
    """
    nc = int(prm[P_NC])
    periodic = prm[P_PERIODIC] > 0.5
    L = prm[P_L]
    xi, yi = x[i], y[i]
    fill = lo >= 0
    count = 0
    if fill and hi == lo:
        return 0
    cx0 = cell_of[i] % nc
    cy0 = cell_of[i] // nc
    for seg in range(6):
        c0, c1, sx, sy = stencil_segment(cx0, cy0, seg, nc, periodic, L)
        for k in range(start[c0], start[c1]):
            j = order[k]
            rx = xi - (x[j] + sx)
            ry = yi - (y[j] + sy)
            hit = (j != i) & (rx * rx + ry * ry < reach2)
            if fill:
                out[lo + count] = j
                count += hit
                if lo + count == hi:
                    return count
            else:
                count += hit
    return count


@njit(cache=True, parallel=True)
def build_verlet(x, y, n, prm, nb_start, par):
    """Full Verlet lists of the ``n`` alive particles: every j within interaction range + skin.

    A serial counting sort into cells, a count per particle, a serial prefix sum into
    ``nb_start`` (n + 1,), then a fill per particle (each writes only its own slice), so the
    lists do not depend on the number of threads. Returns the list array (int32): the
    neighbours of i are ``nb[nb_start[i]:nb_start[i+1]]``.
    """
    if prm[P_KIND] == 0 and prm[P_ALIGN_G] == 0.0:  # no interactions: empty lists
        nb_start[: n + 1] = 0
        return np.empty(0, np.int32)
    nc = int(prm[P_NC])
    cell_of = np.empty(n, np.int64)
    start = np.empty(nc * nc + 1, np.int64)
    order = np.empty(n, np.int64)
    build_cells(x, y, n, prm, cell_of, start, order)
    reach = max(prm[P_RMAX], prm[P_ALIGN_R]) + prm[P_SKIN]
    reach2 = reach * reach
    no_out = np.empty(0, np.int32)
    counts = np.empty(n, np.int64)
    if par:
        for i in prange(n):
            counts[i] = neighbours(i, x, y, prm, cell_of, start, order, reach2, no_out, -1, -1)
    else:
        for i in range(n):
            counts[i] = neighbours(i, x, y, prm, cell_of, start, order, reach2, no_out, -1, -1)
    nb_start[0] = 0
    for i in range(n):
        nb_start[i + 1] = nb_start[i] + counts[i]
    nb = np.empty(nb_start[n], np.int32)
    if par:
        for i in prange(n):
            neighbours(i, x, y, prm, cell_of, start, order, reach2, nb, nb_start[i], nb_start[i + 1])
    else:
        for i in range(n):
            neighbours(i, x, y, prm, cell_of, start, order, reach2, nb, nb_start[i], nb_start[i + 1])
    return nb


# -- forces on one particle ---------------------------------------------------------------------
@njit(cache=True, inline="always")
def pair_force_sum(i, x, y, a, prm, nb_start, nb, L, inv_L):
    """Interaction force sum_j F_ij (kT/um) on particle i over its Verlet list.

    Pairs in the list cross the cutoff at random, so the cutoff is a 0/1 factor rather than a
    branch (a mispredicted branch per pair cost more than the whole pair term); the branches on
    the potential kind are taken the same way every time.
    """
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    xi, yi, ai = x[i], y[i], a[i]
    fx = 0.0
    fy = 0.0
    for k in range(nb_start[i], nb_start[i + 1]):
        j = nb[k]
        rx, ry = separation(xi, yi, x[j], y[j], L, inv_L)
        r2 = rx * rx + ry * ry
        s = ai + a[j]
        rc = pair_cut(kind, s, p0, p1, p2)
        fr = pair_f_over_r(kind, r2, s, p0, p1, p2) * np.float64(r2 < rc * rc)
        fx += fr * rx
        fy += fr * ry
    return fx, fy


@njit(cache=True, inline="always")
def align_torque(i, x, y, th, prm, nb_start, nb, L, inv_L):
    r"""Vicsek-like torque (1/s): :math:`g \langle \sin(\theta_j - \theta_i) \rangle_{|r_{ij}| < r_a}`."""
    g = prm[P_ALIGN_G]
    ra2 = prm[P_ALIGN_R] * prm[P_ALIGN_R]
    tq = 0.0
    n_align = 0
    if g != 0.0:
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


# -- time stepping ------------------------------------------------------------------------------
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
