r"""The pure steps from pair statistics to the direct correlation function (paper section 4).

g(r) -> h = g - 1 -> (finite-N tail correction) -> S(k) = 1 + rho H(k) -> C(k) = (1 - 1/S) / rho
-> c(r), and the interaction range read off c(r). Each step is a pure function of arrays;
:class:`~cellbench.prior.estimator.PriorEstimator` chains them.

1. Finite-N tail correction (Lebowitz-Percus). With the canonical normalisation
   :math:`N(N-1)/A`, :math:`g_N(r) \to 1 + (1 - S_0)/N` beyond the correlation range;
   :func:`finite_size_tail_correction` removes that constant with :math:`S_0` solved
   self-consistently. It divides :math:`S_0 - 1` by :math:`1 - \pi r_c^2 / A`, and so the
   noise of S(0) too (:func:`finite_size_error_gain`, :func:`s0_standard_error`).
2. :math:`S(k) = 1 + \rho H(k)`, :math:`H(k) = 2\pi \int_0^{r_c} h(r) J_0(kr) r\, dr` (exact
   per bin, :func:`~cellbench.prior.hankel.hankel_binned`).
3. :math:`C(k) = (1 - 1/S(k)) / \rho` (Ornstein-Zernike). Errors are amplified by
   :math:`1/(\rho S^2)` where S is small; S below ``s_min`` is clipped and reported.
4. :math:`c(r) = \frac{1}{2\pi} \int_0^{k_\max} k\, C(k) J_0(kr)\, dk` (trapezoid on a uniform
   grid; the error is the truncation at :math:`k_\max`, ~0.7% at 40/sigma for a steep core,
   6% at 20/sigma).
5. :math:`r_\mathrm{cut}`: the first r beyond the main extremum of c(r) where |c| falls below
   5% of its maximum (:func:`interaction_range`).
"""

from __future__ import annotations

import numpy as np

from cellbench.prior.hankel import hankel_binned, hankel_inverse_trapezoid

CORE_G_LEVEL = 0.5
"""r_core = first r where g(r) reaches 0.5 (the effective contact distance)."""
R_CUT_FRACTION = 0.05
"""r_cut: |c| below 5% of its maximum (the issue's criterion)."""
S_MIN = 1e-2
"""S(k) below this is not inverted: C(k) uses S = S_MIN there (reported as ``k_S_small_inv_um``)."""


def shell_areas_um2(r_edges_um: np.ndarray) -> np.ndarray:
    """(n_bins,) areas pi (r_{b+1}^2 - r_b^2) of the annuli between the edges, um^2."""
    e = np.asarray(r_edges_um, dtype=float)
    return np.pi * (e[1:] ** 2 - e[:-1] ** 2)


def finite_size_tail_correction(
    h: np.ndarray, r_edges_um: np.ndarray, rho_per_um2: float, n_cells: float, area_um2: float
) -> tuple[np.ndarray, float, float]:
    r"""Remove the canonical finite-N offset of h(r) measured in a periodic box.

    With pairs normalised by :math:`N(N-1)/A`, the canonical :math:`h_N(r) \to \delta =
    (1 - S_0)/N` beyond the correlation range (Lebowitz and Percus, 1961), which biases
    :math:`S(k \to 0)` by :math:`\rho \pi r_c^2 \delta`. Taking :math:`h_\infty = h_N - \delta` and
    :math:`S_0 = 1 + \rho \int_0^{r_c} h_\infty\, d^2r` gives, with :math:`f = \pi r_c^2 / A`,

    .. math:: S_0 = \frac{1 - f + \rho I}{1 - f}, \quad I = \int_0^{r_c} h_N\, d^2 r, \qquad
              \delta = \frac{1 - S_0}{N}

    Parameters
    ----------
    h : (n_bins,) measured h_N(r). r_edges_um : (n_bins + 1,) um. rho_per_um2 : N / A.
    n_cells : N (mean over frames). area_um2 : box area A.

    Returns
    -------
    h_corrected : (n_bins,). S0 : the self-consistent S(0). delta : the offset removed.
    """
    edges = np.asarray(r_edges_um, dtype=float)
    integral = float(np.sum(h * shell_areas_um2(edges)))
    f = np.pi * edges[-1] ** 2 / area_um2
    s0 = (1.0 - f + rho_per_um2 * integral) / (1.0 - f)
    delta = (1.0 - s0) / n_cells
    return h - delta, s0, delta


def finite_size_error_gain(r_max_um: float, area_um2: float) -> float:
    r"""How much :func:`finite_size_tail_correction` multiplies the noise of S(0).

    The corrected :math:`S_0 - 1 = (S_0^\mathrm{raw} - 1) / (1 - f)` with
    :math:`S_0^\mathrm{raw} = 1 + \rho I` and :math:`f = \pi r_c^2 / A` is linear in the
    measured integral I, so any error of :math:`S_0^\mathrm{raw}` is multiplied by

    .. math:: \frac{\delta S_0}{\delta S_0^\mathrm{raw}} = \frac{1}{1 - f}

    (1.78 for ``passive-wca`` and 4.63 for ``passive-yukawa`` in their periodic box, where
    :math:`r_c` reaches 0.63 and 0.89 of L/2; about 1.1 in their fields of view).

    Parameters
    ----------
    r_max_um : r_c, um. area_um2 : A, the area the correction uses (N / rho), um^2; > pi r_c^2.

    Returns
    -------
    1 / (1 - pi r_c^2 / A), >= 1; inf when pi r_c^2 >= A (e.g. r_c = R in a disk), where the
    correction itself is undefined.
    """
    f = np.pi * float(r_max_um) ** 2 / float(area_um2)
    return 1.0 / (1.0 - f) if f < 1.0 else float("inf")


def structure_factor_from_h(h: np.ndarray, r_edges_um: np.ndarray, rho_per_um2: float, k_inv_um: np.ndarray) -> np.ndarray:
    r""":math:`S(k) = 1 + \rho H(k)`, with H the exact-per-bin Hankel transform of h.

    Parameters
    ----------
    h : (n_bins,) h(r) = g(r) - 1 on the bins. r_edges_um : (n_bins + 1,) um.
    rho_per_um2 : density. k_inv_um : (n_k,) 1/um.

    Returns
    -------
    (n_k,) S(k), dimensionless.
    """
    return 1.0 + rho_per_um2 * hankel_binned(h, r_edges_um, k_inv_um)


def direct_correlation_k(S_k: np.ndarray, rho_per_um2: float, s_min: float = S_MIN) -> tuple[np.ndarray, np.ndarray]:
    r"""Ornstein-Zernike: :math:`C(k) = (1 - 1/S(k)) / \rho`, um^2.

    An error :math:`\delta S` becomes :math:`\delta C = \delta S / (\rho S^2)`, so small S is
    fragile; values below ``s_min`` are clipped to it.

    Returns
    -------
    C_k : (n_k,) um^2. too_small : (n_k,) bool, where S < s_min.
    """
    S = np.asarray(S_k, dtype=float)
    too_small = ~(S >= s_min)
    return (1.0 - 1.0 / np.where(too_small, s_min, S)) / rho_per_um2, too_small


def direct_correlation_r(C_k: np.ndarray, k_inv_um: np.ndarray, r_um: np.ndarray) -> np.ndarray:
    r""":math:`c(r) = \frac{1}{2\pi} \int_0^{k_\max} k\, C(k) J_0(kr)\, dk` (trapezoid), dimensionless."""
    return hankel_inverse_trapezoid(C_k, k_inv_um, r_um)


def smooth_tail(S_k: np.ndarray, k_inv_um: np.ndarray, k_from_inv_um: float, width: int = 9) -> np.ndarray:
    """Optional tail smoothing: a running mean of S over ``width`` points for k > k_from.

    Off by default (the issue measured tapers making every case worse; a running mean on the
    tail is offered for noisy data, not used in the recovery numbers).
    """
    S = np.asarray(S_k, dtype=float).copy()
    kern = np.ones(width) / width
    sm = np.convolve(np.pad(S, width // 2, mode="edge"), kern, mode="valid")
    sel = np.asarray(k_inv_um) > k_from_inv_um
    S[sel] = sm[sel]
    return S


def core_radius(r_um: np.ndarray, g: np.ndarray, level: float = CORE_G_LEVEL, smooth_bins: int = 5) -> float | None:
    """First r where the running mean of g over ``smooth_bins`` bins reaches ``level``; None if never."""
    gs = np.convolve(g, np.ones(smooth_bins) / smooth_bins, mode="same")
    idx = np.flatnonzero(gs >= level)
    return None if len(idx) == 0 else float(r_um[idx[0]])


def interaction_range(r_um: np.ndarray, c_r: np.ndarray, fraction: float = R_CUT_FRACTION) -> float:
    r"""The first r beyond the main extremum of c(r) where :math:`|c| < f \max |c|`.

    Measured on the signed c (c times the sign of the extremum), so a jump through zero between
    two grid points also counts; linear interpolation between grid points; the last r if c never
    falls that low.
    """
    c = np.asarray(c_r, dtype=float)
    i0 = int(np.argmax(np.abs(c)))
    y = c * np.sign(c[i0])
    thr = fraction * y[i0]
    below = np.flatnonzero(y[i0:] < thr)
    if len(below) == 0:
        return float(r_um[-1])
    j = i0 + int(below[0])
    if j == 0:
        return float(r_um[0])
    r0, r1, a0, a1 = r_um[j - 1], r_um[j], y[j - 1], y[j]
    return float(r0 + (a0 - thr) / (a0 - a1) * (r1 - r0)) if a0 != a1 else float(r1)


# -- result ---------------------------------------------------------------------------------------

def integrated_autocorr_time(x: np.ndarray, c: float = 5.0) -> float:
    r"""Integrated autocorrelation time of a series, in samples (Sokal's automatic window).

    .. math:: \tau = 1 + 2 \sum_{t=1}^{M} \rho(t), \quad M = \text{the first } M \ge c\, \tau(M)

    so the mean of n samples has the variance :math:`\mathrm{var}(x)\, \tau / n` (n / tau
    independent samples). Returns 1 for fewer than 4 samples or a constant series.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 4 or not np.var(x) > 0:
        return 1.0
    d = x - x.mean()
    f = np.fft.rfft(d, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / (np.var(x) * np.arange(n, 0, -1))
    tau = 1.0
    for m in range(1, n // 2):
        tau += 2.0 * acf[m]
        if m >= c * tau:
            break
    return float(max(tau, 1.0))


S0_RESOLVED_Z = 2.0
"""S(0) counts as resolved from zero when S0 > 2 standard errors (one-sided, ~98%)."""


def s0_standard_error(s0_frames: np.ndarray, gain: float = 1.0) -> dict:
    r"""Standard error of S(0) from single-frame values, propagated through the tail correction.

    .. math:: \mathrm{SE}(S_0) = g \, \sigma_f \sqrt{\tau / n}, \qquad
              g = \frac{1}{1 - \pi r_c^2 / A}

    with :math:`\sigma_f` the spread of the n single-frame values :math:`S_f(0)` before the
    correction, :math:`\tau` their integrated autocorrelation time
    (:func:`integrated_autocorr_time`) and g from :func:`finite_size_error_gain` (1 without the
    correction). Before g was applied the error was too small by g (measured on seed 0 against
    10 blocks of 20 frames: ``passive-wca`` 0.018 reported, 0.028 between blocks).

    Parameters
    ----------
    s0_frames : (n_frames,) single-frame S(0) before the correction.
    gain : g, the correction's noise gain.

    Returns
    -------
    dict with ``S0_frame_std`` (sigma_f, before the correction), ``S0_autocorr_frames`` (tau),
    ``n_independent_frames`` (n / tau), ``S0_error_gain`` (g) and ``S0_standard_error``.
    """
    s0 = np.asarray(s0_frames, dtype=float)
    tau = integrated_autocorr_time(s0)
    return {
        "S0_frame_std": float(np.std(s0)),
        "S0_autocorr_frames": tau,
        "n_independent_frames": len(s0) / tau,
        "S0_error_gain": float(gain),
        "S0_standard_error": float(gain * np.std(s0) * np.sqrt(tau / max(len(s0), 1))),
    }


def s0_resolution(s0: float, standard_error: float, z: float = S0_RESOLVED_Z) -> dict:
    r"""Whether S(0) is resolved from zero: :math:`S_0 > z\, \mathrm{SE}`.

    S(0) >= 0 for any stable system; an estimate within z standard errors of zero (or below it)
    does not determine the compressibility or C(k -> 0) = (1 - 1/S(0)) / rho, and the diagnostic
    says so in words (``prior.json`` and the plot).

    Returns
    -------
    dict with ``S0_resolved`` (bool) and ``S0_note`` (one sentence).
    """
    resolved = bool(s0 > z * standard_error)
    verdict = ("resolved from zero" if resolved else
               f"NOT resolved from zero (within {z:g} standard errors): C(k -> 0) and the compressibility "
               "are not determined by these frames")
    return {"S0_resolved": resolved, "S0_note": f"S(0) = {s0:.3g} +- {standard_error:.2g} (1 s.e.): {verdict}"}
