"""Storage order of the particles inside :func:`.integrate.advance`: sorted by cell at every list rebuild.

The caller's arrays stay in the caller's order ("slots"). ``advance`` works on copies that it
permutes into cell order each time it rebuilds the neighbour lists, so that a particle's
neighbours, and the next particle's, sit close to it in memory (a cell row of the 3x3 stencil
is one contiguous range). Inside a cell the particles keep the order of their slots, which makes
every neighbour list the same sequence of particles as a list built in slot order: every sum
over a list is unchanged, bit for bit. Random numbers are keyed by track id, not by position in
memory, so they do not move either. ``slot_of[s]`` is the slot of storage entry s and
``store_of`` its inverse; divisions visit slots in order through ``store_of``, and ``advance``
writes the state back through ``slot_of``.
"""

from __future__ import annotations

from numba import njit

from cellbench.sim.kernels.neighbours import sort_into_cells


@njit(cache=True)
def sort_state(x, y, th, a, tid, par, age, imx, imy, slot_of, store_of, n, prm, cell_of, start, order):
    """Permute the first ``n`` entries of the state (and ``slot_of``) into cell order, ties by slot.

    On return ``cell_of`` (n,) and ``start`` (nc*nc + 1,) describe the sorted storage (cell c
    holds entries ``start[c]`` to ``start[c+1] - 1``), ``order`` is the identity and
    ``store_of`` the inverse of ``slot_of``.
    """
    sort_into_cells(x, y, n, prm, store_of[:n], cell_of, start, order)
    o = order[:n].copy()
    x[:n] = x[o]
    y[:n] = y[o]
    th[:n] = th[o]
    a[:n] = a[o]
    tid[:n] = tid[o]
    par[:n] = par[o]
    age[:n] = age[o]
    imx[:n] = imx[o]
    imy[:n] = imy[o]
    slot_of[:n] = slot_of[o]
    cell_of[:n] = cell_of[o]
    for s in range(n):
        store_of[slot_of[s]] = s
        order[s] = s
