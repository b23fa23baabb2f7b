r"""Pair statistics and static structure factors of 2D point sets.

Two routes to the isotropic structure factor, which agree up to binning:

* Debye (reference, :func:`structure_factor_debye`), all pairs, :math:`O(N^2 n_k)`:

  .. math:: S(k) = 1 + \frac{1}{N} \sum_{i \ne j} J_0(k\, r_{ij})

  In 2D the angular average of :math:`e^{i\mathbf k \cdot \mathbf r}` is :math:`J_0(kr)`, not the
  3D :math:`\sin(kr)/(kr)`.
* Pair histogram (fast, :func:`pair_histogram`): a cell list counts the pairs with
  :math:`r_{ij} < r_c` in :math:`O(N)` per frame, giving :math:`g(r)`; then
  :math:`S(k) = 1 + \rho H(k)` with the Hankel transform of :math:`h = g - 1`
  (:mod:`cellbench.prior.hankel`). Pairs can be weighted by the window's inverse overlap area
  (:mod:`cellbench.prior.window`), which removes the field-of-view bias of the Debye sum.

For periodic boxes, :func:`structure_factor_lattice` evaluates
:math:`S(\mathbf k) = |\sum_j e^{i \mathbf k\cdot \mathbf r_j}|^2 / N` on the reciprocal lattice
(numpy, the "direct lattice" reference of the benchmarks).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.spatial.distance import pdist
from scipy.special import j0

from cellbench.errors import ConfigError
from cellbench.prior.window import Window

WEIGHT_NONE, WEIGHT_BOX, WEIGHT_DISK = 0, 1, 2


@njit(cache=True)
def _cell_sort(pos, x0, y0, cw_x, cw_y, ncx, ncy):
    n = pos.shape[0]
    cell = np.empty(n, np.int64)
    for i in range(n):
        cx = int((pos[i, 0] - x0) / cw_x)
        cy = int((pos[i, 1] - y0) / cw_y)
        cx = min(max(cx, 0), ncx - 1)
        cy = min(max(cy, 0), ncy - 1)
        cell[i] = cx * ncy + cy
    order = np.argsort(cell, kind="mergesort")
    start = np.zeros(ncx * ncy + 1, np.int64)
    for i in range(n):
        start[cell[i] + 1] += 1
    for c in range(ncx * ncy):
        start[c + 1] += start[c]
    return order, cell[order], start


@njit(cache=True)
def _pair_hist_kernel(pos, x0, y0, lx, ly, periodic, weight_kind, radius, r_max, n_bins):
    """Histogram of unordered pair distances < r_max (serial: the estimate targets one core, and
    threads spinning on a shared 2-core machine were 10x slower than one thread).

    Cells of side >= r_max / 2 with a 5 x 5 stencil (half the pairs tested of 3 x 3 cells of side
    r_max); periodic images are handled by shifting whole neighbour cells, not per pair."""
    n = pos.shape[0]
    m = 2
    ncx = max(1, int(m * lx / r_max))
    ncy = max(1, int(m * ly / r_max))
    if periodic:
        # neighbour cells must be distinct: need 2m+1 cells a row, else fall back to one column
        if ncx < 2 * m + 1:
            ncx = 1
        if ncy < 2 * m + 1:
            ncy = 1
    mx = m if ncx > 1 else 0
    my = m if ncy > 1 else 0
    order, cell, start = _cell_sort(pos, x0, y0, lx / ncx, ly / ncy, ncx, ncy)
    ps = pos[order]
    inv_dr = n_bins / r_max
    r2max = r_max * r_max
    hist = np.zeros(n_bins)
    for i in range(n):
        xi = ps[i, 0]
        yi = ps[i, 1]
        cxi = cell[i] // ncy
        cyi = cell[i] % ncy
        for ox in range(-mx, mx + 1):
            cx = cxi + ox
            sx = 0.0
            if periodic:
                if cx < 0:
                    cx += ncx
                    sx = -lx
                elif cx >= ncx:
                    cx -= ncx
                    sx = lx
            elif cx < 0 or cx >= ncx:
                continue
            for oy in range(-my, my + 1):
                cy = cyi + oy
                sy = 0.0
                if periodic:
                    if cy < 0:
                        cy += ncy
                        sy = -ly
                    elif cy >= ncy:
                        cy -= ncy
                        sy = ly
                elif cy < 0 or cy >= ncy:
                    continue
                cc = cx * ncy + cy
                for j in range(max(start[cc], i + 1), start[cc + 1]):
                    dx = ps[j, 0] + sx - xi
                    dy = ps[j, 1] + sy - yi
                    if periodic and (ncx == 1 or ncy == 1):
                        dx -= lx * np.rint(dx / lx)
                        dy -= ly * np.rint(dy / ly)
                    d2 = dx * dx + dy * dy
                    if d2 >= r2max:
                        continue
                    d = np.sqrt(d2)
                    b = min(int(d * inv_dr), n_bins - 1)
                    if weight_kind == 0:
                        w = 1.0
                    elif weight_kind == 1:
                        w = 1.0 / ((lx - abs(dx)) * (ly - abs(dy)))
                    else:
                        u = min(d / (2.0 * radius), 1.0)
                        w = 1.0 / (2.0 * radius * radius * (np.arccos(u) - u * np.sqrt(1.0 - u * u)))
                    hist[b] += w
    return hist


def _check_pos(pos_um: np.ndarray, name: str = "pos_um") -> np.ndarray:
    pos = np.ascontiguousarray(pos_um, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_cells, 2), found {pos.shape}")
    return pos


def pair_histogram(
    pos_um: np.ndarray, window: Window, r_max_um: float, n_bins: int, corrected: bool = True
) -> np.ndarray:
    r"""Histogram of unordered pair distances below ``r_max_um`` in one frame (cell list, O(N)).

    Each pair :math:`i < j` adds a weight to the bin of :math:`r_{ij}`: 1 for a periodic window
    (minimum-image distances) or when ``corrected`` is False, and :math:`1/\gamma_W(\mathbf r_{ij})`
    (um^-2) for a box or disk window when ``corrected`` is True (translation correction, see
    :mod:`cellbench.prior.window`).

    Parameters
    ----------
    pos_um : (n_cells, 2) positions in um, inside the window.
    window : the observation window.
    r_max_um : histogram range [0, r_max_um), um. For periodic windows must be <= L/2.
    n_bins : number of equal bins.
    corrected : weight pairs by the inverse overlap area (box, disk). Default True.

    Returns
    -------
    (n_bins,) float array: pair counts (periodic or uncorrected) or sums of 1/gamma in um^-2.
    """
    pos = _check_pos(pos_um)
    if not r_max_um > 0 or n_bins < 1:
        raise ConfigError(f"pair histogram needs r_max_um > 0 and n_bins >= 1, got {r_max_um}, {n_bins}")
    periodic = window.kind == "periodic"
    if periodic and r_max_um > window.r_max_allowed_um * (1 + 1e-12):
        raise ConfigError(f"r_max_um {r_max_um:g} exceeds half the periodic box ({window.r_max_allowed_um:g} um)")
    x0, y0, _, _ = window.bounds_um
    lx, ly = window.lengths_um
    if periodic:
        pos = pos.copy()
        pos[:, 0] = x0 + np.mod(pos[:, 0] - x0, lx)
        pos[:, 1] = y0 + np.mod(pos[:, 1] - y0, ly)
    kind = WEIGHT_NONE
    if corrected and window.kind == "box":
        kind = WEIGHT_BOX
    elif corrected and window.kind == "disk":
        kind = WEIGHT_DISK
    radius = window.radius_um if window.kind == "disk" else 0.0
    if len(pos) < 2:
        return np.zeros(n_bins)
    return _pair_hist_kernel(pos, x0, y0, lx, ly, periodic, kind, radius, float(r_max_um), int(n_bins))


def pair_distances(pos_um: np.ndarray, window: Window | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All unordered pair separations (brute force, numpy; the reference for the cell list).

    Returns
    -------
    d_um, dx_um, dy_um : (n_pairs,) arrays, n_pairs = n_cells (n_cells - 1) / 2; minimum image
    for a periodic window.
    """
    pos = _check_pos(pos_um)
    i, j = np.triu_indices(len(pos), k=1)
    dx = pos[j, 0] - pos[i, 0]
    dy = pos[j, 1] - pos[i, 1]
    if window is not None and window.kind == "periodic":
        lx, ly = window.lengths_um
        dx -= lx * np.rint(dx / lx)
        dy -= ly * np.rint(dy / ly)
    return np.hypot(dx, dy), dx, dy


def structure_factor_debye(pos_um: np.ndarray, k_inv_um: np.ndarray) -> np.ndarray:
    r"""Isotropic static structure factor of one 2D frame (Debye form, all pairs, no correction).

    .. math:: S(k) = 1 + \frac{1}{N} \sum_{i \ne j} J_0(k\, r_{ij})

    Parameters
    ----------
    pos_um : (n_cells, 2) positions in um (open boundaries: plain distances).
    k_inv_um : (n_k,) wavenumbers in 1/um.

    Returns
    -------
    (n_k,) array, dimensionless. Goes to 1 as k grows (self term only). In a finite window it is
    biased at low k by the window form factor; this is the brute-force reference and the
    uncorrected negative control, not the estimator.
    """
    pos = _check_pos(pos_um)
    k = np.atleast_1d(np.asarray(k_inv_um, dtype=float))
    d = pdist(pos)
    out = np.empty(len(k))
    for a, kk in enumerate(k):
        out[a] = 1.0 + 2.0 * np.sum(j0(kk * d)) / len(pos)
    return out


def structure_factor_debye_3d_kernel(pos_um: np.ndarray, k_inv_um: np.ndarray) -> np.ndarray:
    r"""The *wrong* (3D) isotropic kernel applied to 2D points, kept as a negative control.

    .. math:: S_\mathrm{3D}(k) = 1 + \frac{1}{N} \sum_{i \ne j} \frac{\sin(k r_{ij})}{k r_{ij}}
    """
    pos = _check_pos(pos_um)
    k = np.atleast_1d(np.asarray(k_inv_um, dtype=float))
    d = pdist(pos)
    return np.array([1.0 + 2.0 * np.sum(np.sinc(kk * d / np.pi)) / len(pos) for kk in k])


def structure_factor_lattice(
    pos_um: np.ndarray, box_um: tuple[float, float], k_edges_inv_um: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""S(k) of a periodic frame on the reciprocal lattice, averaged in |k| shells (numpy).

    .. math:: S(\mathbf k) = \frac1N \Big|\sum_j e^{i \mathbf k \cdot \mathbf r_j}\Big|^2, \quad
              \mathbf k = 2\pi (n_x / L_x, n_y / L_y)

    The double sum factorises, :math:`\rho_{\mathbf k} = \sum_j e^{i k_x x_j} e^{i k_y y_j}`, so
    all lattice vectors come from one complex matrix product of shape (n_kx, N) x (N, n_ky).

    Parameters
    ----------
    pos_um : (n_cells, 2) positions in um.
    box_um : (L_x, L_y) in um.
    k_edges_inv_um : (n_shells + 1,) shell edges in 1/um.

    Returns
    -------
    S_k : (n_shells,) shell averages (NaN for a shell without lattice vectors).
    n_vectors : (n_shells,) number of lattice vectors per shell.
    """
    pos = _check_pos(pos_um)
    lx, ly = (float(v) for v in np.broadcast_to(box_um, (2,)))
    edges = np.asarray(k_edges_inv_um, dtype=float)
    k_hi = edges[-1]
    nx = int(k_hi * lx / (2 * np.pi)) + 1
    ny = int(k_hi * ly / (2 * np.pi)) + 1
    kx = 2 * np.pi * np.arange(-nx, nx + 1) / lx
    ky = 2 * np.pi * np.arange(0, ny + 1) / ly  # S(k) = S(-k): half plane suffices
    ex = np.exp(1j * np.outer(kx, pos[:, 0]))
    ey = np.exp(1j * np.outer(ky, pos[:, 1]))
    s = np.abs(ex @ ey.T) ** 2 / len(pos)
    kk = np.hypot(kx[:, None], ky[None, :])
    keep = (kk > 0) & ~((ky[None, :] == 0) & (kx[:, None] < 0))
    kk, s = kk[keep], s[keep]
    idx = np.digitize(kk, edges) - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    n_vec = np.bincount(idx[ok], minlength=len(edges) - 1)
    tot = np.bincount(idx[ok], weights=s[ok], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore"):
        return tot / n_vec, n_vec
