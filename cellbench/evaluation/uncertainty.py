r"""Probabilistic metrics of displacement predictions with per-component Gaussian uncertainty.

A prediction is a mean :math:`\mu` and a standard deviation :math:`\sigma` per component (um per
frame), both (n_targets, 2). Models that predict no sigma get a constant one fitted on validation
residuals (:func:`constant_sigma_um`).

.. math::
    \mathrm{NLL} = \Big\langle \frac12 \sum_{d} \Big[\frac{(y_d - \mu_d)^2}{\sigma_d^2} + \log(2\pi\sigma_d^2)\Big] \Big\rangle,
    \qquad
    \mathrm{coverage}(p) = \Big\langle \mathbb 1\Big[\sum_d \frac{(y_d - \mu_d)^2}{\sigma_d^2} \le \chi^2_{2}(p)\Big]\Big\rangle

with :math:`\chi^2_2(p) = -2\ln(1 - p)`, the p-quantile of a chi-square with 2 degrees of freedom
(the prediction ellipse holding probability p). A calibrated model covers p.
"""

from __future__ import annotations

import numpy as np

COVERAGE_LEVELS = (0.50, 0.90, 0.95)


def constant_sigma_um(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(2,) RMS residual per component, um: the fitted constant sigma (fit it on validation rows)."""
    s = np.sqrt(np.mean((pred - true) ** 2, axis=0))
    return np.where(s > 0, s, 1e-12)


def gaussian_nll_um(pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray) -> float:
    """Mean negative log-likelihood per target (nats, densities in 1/um^2), with the constant."""
    sigma = np.broadcast_to(sigma_um, pred.shape)
    z2 = ((true - pred) / sigma) ** 2
    return float(np.mean(0.5 * np.sum(z2 + np.log(2 * np.pi * sigma**2), axis=1)))


def ellipse_coverage(pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray, level: float) -> float:
    """Fraction of targets inside the ``level`` prediction ellipse (0 < level < 1)."""
    sigma = np.broadcast_to(sigma_um, pred.shape)
    m2 = np.sum(((true - pred) / sigma) ** 2, axis=1)
    return float(np.mean(m2 <= -2.0 * np.log1p(-level)))


def uncertainty_metrics(pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray, sigma_kind: str) -> dict:
    """NLL and coverage at :data:`COVERAGE_LEVELS`; ``sigma_kind`` says where sigma came from."""
    out = {"nll": gaussian_nll_um(pred, sigma_um, true)}
    for p in COVERAGE_LEVELS:
        out[f"coverage_{int(round(100 * p))}"] = ellipse_coverage(pred, sigma_um, true, p)
    out["sigma"] = sigma_kind
    return out
