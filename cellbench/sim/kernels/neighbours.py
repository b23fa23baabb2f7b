"""Neighbour lists: a cell list (serial counting sort) and full Verlet lists built from it.

The lists are built deterministically (serial sort, per-particle count and fill, serial prefix
sum), so they do not depend on the number of threads; each particle's list is in cell-stencil
order and, within a cell, in the order of the sort's ``visit`` sequence (increasing index for
:func:`build_cells`; :mod:`.layout` passes the caller's indices of a permuted state, so that
its lists are the same sequences of particles).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cellbench.sim.kernels.params import (P_ALIGN_G, P_ALIGN_R, P_CELL, P_KIND, P_L, P_NC, P_OX, P_OY, P_PERIODIC,
                                          P_RMAX, P_SKIN)


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
def sort_into_cells(x, y, n, prm, visit, cell_of, start, order):
    """Counting sort of the ``n`` alive particles into an nc x nc grid (serial, deterministic).

    Fills ``cell_of`` (n,), ``start`` (nc*nc + 1,) and ``order`` (n,): the particles of cell c
    are ``order[start[c]:start[c+1]]``, in the order in which ``visit`` (a permutation of
    0..n-1) lists them. Particles outside the grid go to the nearest edge cell.
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
    for k in range(n):
        i = visit[k]
        c = cell_of[i]
        order[fill[c]] = i
        fill[c] += 1


@njit(cache=True)
def build_cells(x, y, n, prm, cell_of, start, order):
    """:func:`sort_into_cells` with the particles of each cell in increasing index."""
    sort_into_cells(x, y, n, prm, np.arange(n), cell_of, start, order)


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
def verlet_from_cells(x, y, n, prm, cell_of, start, order, nb_start, par):
    """Full Verlet lists from a cell sort (:func:`sort_into_cells`): every j within interaction range + skin.

    A count per particle, a serial prefix sum into ``nb_start`` (n + 1,), then a fill per
    particle (each writes only its own slice), so the lists do not depend on the number of
    threads. Returns the list array (int32): the neighbours of i are
    ``nb[nb_start[i]:nb_start[i+1]]``.
    """
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


@njit(cache=True, inline="always")
def interacting(prm):
    """False when nothing interacts (no potential, no alignment): every list is empty."""
    return prm[P_KIND] != 0 or prm[P_ALIGN_G] != 0.0


@njit(cache=True)
def build_verlet(x, y, n, prm, nb_start, par):
    """Full Verlet lists of the ``n`` alive particles: :func:`build_cells`, then :func:`verlet_from_cells`.

    Returns the list array (int32) and fills ``nb_start`` (n + 1,); empty lists when nothing
    interacts.
    """
    if not interacting(prm):
        nb_start[: n + 1] = 0
        return np.empty(0, np.int32)
    nc = int(prm[P_NC])
    cell_of = np.empty(n, np.int64)
    start = np.empty(nc * nc + 1, np.int64)
    order = np.empty(n, np.int64)
    build_cells(x, y, n, prm, cell_of, start, order)
    return verlet_from_cells(x, y, n, prm, cell_of, start, order, nb_start, par)
