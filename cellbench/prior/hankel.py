r"""Zeroth-order Hankel transforms: the 2D Fourier transform of radial functions.

.. math:: F(k) = 2\pi \int_0^\infty f(r)\, J_0(kr)\, r\, dr, \qquad
          f(r) = \frac{1}{2\pi} \int_0^\infty F(k)\, J_0(kr)\, k\, dk

Three quadratures, each for its own job:

* :func:`hankel_binned` (forward, histogram data): f is piecewise constant on bins, and each
  bin is integrated exactly with :math:`\int r J_0(kr) dr = r J_1(kr)/k`.
* :func:`hankel_inverse_trapezoid` (inverse, the estimator): trapezoid rule on a uniform
  k grid from 0 to :math:`k_\max`. The error is dominated by truncation at :math:`k_\max`.
* :class:`QDHT` (the Ornstein-Zernike solver): the quasi-discrete Hankel transform on
  Bessel-zero grids, exact for functions space-limited to R and band-limited to
  :math:`j_N / R`, and its own inverse up to round-off.
"""

from __future__ import annotations

import numpy as np
from scipy.special import j0, j1, jn_zeros


def hankel_binned(f_bins: np.ndarray, r_edges_um: np.ndarray, k_inv_um: np.ndarray, chunk: int = 256) -> np.ndarray:
    r"""Forward 2D Hankel transform of a piecewise-constant radial function.

    .. math:: F(k) = 2\pi \sum_b f_b \left[\frac{r J_1(kr)}{k}\right]_{r_b}^{r_{b+1}}, \qquad
              F(0) = \pi \sum_b f_b (r_{b+1}^2 - r_b^2)

    Parameters
    ----------
    f_bins : (n_bins,) values on the bins (e.g. h(r) = g(r) - 1, dimensionless).
    r_edges_um : (n_bins + 1,) bin edges in um, increasing, starting at >= 0.
    k_inv_um : (n_k,) wavenumbers in 1/um, >= 0.

    Returns
    -------
    (n_k,) array, units of f times um^2.
    """
    f = np.asarray(f_bins, dtype=float)
    edges = np.asarray(r_edges_um, dtype=float)
    k = np.asarray(k_inv_um, dtype=float)
    out = np.empty(len(k))
    for s in range(0, len(k), chunk):
        kk = k[s : s + chunk, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            prim = np.where(kk > 0, edges[None, :] * j1(kk * edges[None, :]) / np.where(kk > 0, kk, 1.0), 0.5 * edges**2)
        out[s : s + chunk] = 2 * np.pi * (prim[:, 1:] - prim[:, :-1]) @ f
    return out


def hankel_inverse_trapezoid(F_k: np.ndarray, k_inv_um: np.ndarray, r_um: np.ndarray, chunk: int = 512) -> np.ndarray:
    r"""Inverse 2D Hankel transform by the trapezoid rule on the given k grid.

    .. math:: f(r) = \frac{1}{2\pi} \int_0^{k_\max} F(k)\, J_0(kr)\, k\, dk
              \approx \frac{1}{2\pi} \sum_m w_m\, k_m F(k_m) J_0(k_m r)

    with trapezoid weights :math:`w_m`. The grid should start at k = 0 and be fine enough to
    resolve :math:`J_0(kr)` at the largest r (dk <= pi / (4 r_max) is comfortable).

    Parameters
    ----------
    F_k : (n_k,) values on ``k_inv_um`` (units of f times um^2).
    k_inv_um : (n_k,) increasing wavenumbers in 1/um.
    r_um : (n_r,) radii in um.

    Returns
    -------
    (n_r,) array, units of f.
    """
    F = np.asarray(F_k, dtype=float)
    k = np.asarray(k_inv_um, dtype=float)
    r = np.asarray(r_um, dtype=float)
    w = np.zeros_like(k)
    dk = np.diff(k)
    w[:-1] += 0.5 * dk
    w[1:] += 0.5 * dk
    a = w * k * F / (2 * np.pi)
    out = np.empty(len(r))
    for s in range(0, len(r), chunk):
        out[s : s + chunk] = j0(np.outer(r[s : s + chunk], k)) @ a
    return out


class QDHT:
    r"""Quasi-discrete Hankel transform of order 0 (Guizar-Sicairos and Gutierrez-Vega, 2004).

    With :math:`j_n` the zeros of :math:`J_0` and :math:`N` points, the grids are
    :math:`r_n = j_n R / j_{N+1}` and :math:`k_m = j_m / R`, and

    .. math:: F(k_m) = \frac{4\pi}{K^2} \sum_n \frac{f(r_n)\, J_0(j_m j_n / j_{N+1})}{J_1(j_n)^2},
              \qquad f(r_n) = \frac{1}{\pi R^2} \sum_m \frac{F(k_m)\, J_0(j_m j_n / j_{N+1})}{J_1(j_m)^2}

    with :math:`K = j_{N+1} / R`. Both follow from the Fourier-Bessel series of a function
    space-limited to R (resp. band-limited to K); they are exact inverses up to the band-limit
    error.

    Parameters
    ----------
    r_max : R, the radius beyond which functions are taken as zero (any length unit).
    n : number of grid points N.
    """

    def __init__(self, r_max: float, n: int):
        zeros = jn_zeros(0, n + 1)
        self.r_max = float(r_max)
        self.n = int(n)
        jn, jN = zeros[:-1], zeros[-1]
        self.k_max = jN / self.r_max
        self.r = jn * self.r_max / jN
        self.k = jn / self.r_max
        self._y = j0(np.outer(jn, jn) / jN)
        j1sq = j1(jn) ** 2
        self._fwd = (4 * np.pi / self.k_max**2) * self._y / j1sq[None, :]
        self._inv = (1 / (np.pi * self.r_max**2)) * self._y / j1sq[None, :]

    def forward(self, f_r: np.ndarray) -> np.ndarray:
        """F(k_m) from f(r_n): (N,) -> (N,)."""
        return self._fwd @ f_r

    def inverse(self, F_k: np.ndarray) -> np.ndarray:
        """f(r_n) from F(k_m): (N,) -> (N,)."""
        return self._inv @ F_k

    def __repr__(self) -> str:
        return f"QDHT(r_max={self.r_max!r}, n={self.n!r})"
