r"""Each pair once (Newton's third law): a half list beside the full Verlet lists, and a buffer of pair forces.

A step first computes the force of every listed pair once (:func:`pair_forces`, one pass over
the half list, each iteration writing only its own pair), then each particle sums the buffer
entries of its own full list, in that list's order (:func:`gathered_force`). No thread ever
adds into another particle's force, and the sum is bitwise the sum over the full list
(:func:`.interactions.pair_force_sum`): the separation of (j, i) is exactly minus that of
(i, j) (:math:`x_j - x_i = -(x_i - x_j)` in floating point, and the minimum image
:math:`r - L\,\mathrm{rint}(r/L)` is an odd function), the contact distance
:math:`a_i + a_j` and |F|/r are the same numbers, so :math:`F_{ji} = -F_{ij}` exactly and
each particle adds the same terms in the same order. The signs of zero terms (pairs beyond the
cutoff) cannot matter: a sum that starts at +0 never becomes -0.

Indices read from these arrays are unsigned (uint32, used as uint64): numba guards every array
access by a signed index it cannot prove non-negative with a wrap-around for negative indices;
unsigned indices skip it (9 % fewer instructions per particle-step on the WCA benchmark).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cellbench.sim.kernels.interactions import pair_term
from cellbench.sim.kernels.params import P_KIND, P_POT


@njit(cache=True)
def half_list(nb_start, nb, n):
    """The pairs of the full lists, each once, and where each full-list entry finds its pair.

    Returns (pi, pj, code), uint32: pair p holds the force on ``pi[p]`` from ``pj[p]``; entry k
    of i's list (neighbour j) has ``code[k] = 2 p`` if that is the force on i, ``2 p + 1`` if
    it is the force on j (then the force on i is minus it). Pairs are numbered by i, then in
    i's list order, and stored by the first of the two particles to list the other. The list
    test is not bitwise symmetric at the reach (the periodic shift of a cell rounds), so a pair
    that only one particle lists gets an entry of its own. Serial (a running pair count).
    """
    n_entries = nb_start[n]
    code = np.empty(n_entries, np.uint32)
    pi = np.empty(n_entries, np.uint32)
    pj = np.empty(n_entries, np.uint32)
    unset = np.uint32(0xFFFFFFFF)
    n_pairs = 0
    for i in range(n):
        for k in range(nb_start[i], nb_start[i + 1]):
            j = nb[k]
            code[k] = unset
            if j < i:  # j's list came first: find its entry for i
                for m in range(nb_start[j], nb_start[j + 1]):
                    if nb[m] == i:
                        code[k] = code[m] + np.uint32(1)
                        break
            if code[k] == unset:
                code[k] = 2 * n_pairs
                pi[n_pairs] = i
                pj[n_pairs] = j
                n_pairs += 1
    return pi[:n_pairs], pj[:n_pairs], code


@njit(cache=True, parallel=True)
def pair_forces(x, y, a, prm, pi, pj, L, inv_L, fb, par):
    """Fill ``fb`` (2 n_pairs,): the force (kT/um) on ``pi[p]`` from ``pj[p]``, x at 2p and y at 2p + 1.

    ``L, inv_L`` as :func:`.geometry.box_of`; ``par`` runs the loop as a ``prange``.
    """
    kind = int(prm[P_KIND])
    p0, p1, p2 = prm[P_POT], prm[P_POT + 1], prm[P_POT + 2]
    if par:
        for p in prange(pi.shape[0]):
            fb[2 * p], fb[2 * p + 1] = pair_term(np.uint64(pi[p]), np.uint64(pj[p]), x, y, a, kind, p0, p1, p2,
                                                 L, inv_L)
    else:
        for p in range(pi.shape[0]):
            fb[2 * p], fb[2 * p + 1] = pair_term(np.uint64(pi[p]), np.uint64(pj[p]), x, y, a, kind, p0, p1, p2,
                                                 L, inv_L)


@njit(cache=True, inline="always")
def gathered_force(i, nb_start, code, fb):
    """sum_j F_ij (kT/um) on particle i from the pair buffer, in the order of i's full list."""
    fx = 0.0
    fy = 0.0
    for k in range(nb_start[i], nb_start[i + 1]):
        c = np.uint64(code[k])
        odd = c & np.uint64(1)
        sign = 1.0 - 2.0 * np.float64(odd)  # exact: the term is +-1 times the buffered number
        fx += sign * fb[c - odd]
        fy += sign * fb[c - odd + np.uint64(1)]
    return fx, fy
