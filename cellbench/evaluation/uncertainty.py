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

:data:`UNCERTAINTY` lists each metric once, with its value on a perfect mean and its expected
value for a calibrated Gaussian; ``tests/test_metrics.py`` loops over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

COVERAGE_LEVELS = (0.50, 0.90, 0.95)


def constant_sigma_um(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """The constant sigma of a model that predicts none: the RMS residual per component.

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um, of the rows sigma is fitted on
        (validation, else training; never test).

    Returns
    -------
    (2,) array, um; a zero residual becomes 1e-12 so that the NLL stays finite.
    """
    s = np.sqrt(np.mean((pred - true) ** 2, axis=0))
    return np.where(s > 0, s, 1e-12)


def gaussian_nll_um(pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray) -> float:
    r"""Mean negative log-likelihood per target of independent Gaussians per component.

    .. math:: \mathrm{NLL} = \Big\langle \frac12 \sum_{d} \Big[\frac{(y_d - \mu_d)^2}{\sigma_d^2}
              + \log(2\pi\sigma_d^2)\Big] \Big\rangle

    Parameters
    ----------
    pred : (n_targets, 2) array, predicted mean displacement, um.
    sigma_um : (n_targets, 2) or (2,) array, predicted standard deviation, um, > 0.
    true : (n_targets, 2) array, true displacement, um.

    Returns
    -------
    float, nats per target (densities in 1/um^2, the constant included). For a calibrated
    model its expectation is :math:`\frac12 \sum_d \langle 1 + \log(2\pi\sigma_d^2) \rangle`.
    """
    sigma = np.broadcast_to(sigma_um, pred.shape)
    z2 = ((true - pred) / sigma) ** 2
    return float(np.mean(0.5 * np.sum(z2 + np.log(2 * np.pi * sigma**2), axis=1)))


def ellipse_coverage(pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray, level: float) -> float:
    r"""Fraction of targets inside the prediction ellipse that holds probability ``level``.

    .. math:: \Big\langle \mathbb 1\Big[\sum_d \frac{(y_d - \mu_d)^2}{\sigma_d^2} \le -2\ln(1 - p)\Big]\Big\rangle

    Parameters
    ----------
    pred : (n_targets, 2) array, predicted mean displacement, um.
    sigma_um : (n_targets, 2) or (2,) array, predicted standard deviation, um, > 0.
    true : (n_targets, 2) array, true displacement, um.
    level : float, the probability p, 0 < p < 1.

    Returns
    -------
    float in [0, 1]: ``level`` for a calibrated model, 1 for a perfect mean.
    """
    sigma = np.broadcast_to(sigma_um, pred.shape)
    m2 = np.sum(((true - pred) / sigma) ** 2, axis=1)
    return float(np.mean(m2 <= -2.0 * np.log1p(-level)))


def _nll_at_zero_residual(sigma_um: np.ndarray) -> float:
    return float(np.mean(0.5 * np.sum(np.log(2 * np.pi * np.atleast_2d(sigma_um) ** 2), axis=1)))


@dataclass(frozen=True)
class UncertaintyMetric:
    """One entry of :data:`UNCERTAINTY`.

    Attributes
    ----------
    key : str
        Name in ``metrics.json``.
    fn : callable
        ``fn(pred, sigma_um, true) -> float`` with the shapes of :func:`gaussian_nll_um`.
    perfect : callable
        ``perfect(sigma_um) -> float``: the value when ``true`` equals ``pred``.
    calibrated : callable
        ``calibrated(sigma_um) -> float``: the expected value when ``true - pred`` is drawn
        from the predicted Gaussian.
    """

    key: str
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    perfect: Callable[[np.ndarray], float]
    calibrated: Callable[[np.ndarray], float]

    def __call__(self, pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray) -> float:
        return self.fn(pred, sigma_um, true)


UNCERTAINTY: tuple[UncertaintyMetric, ...] = (
    UncertaintyMetric("nll", gaussian_nll_um, _nll_at_zero_residual, lambda s: _nll_at_zero_residual(s) + 1.0),
    *(UncertaintyMetric(f"coverage_{int(round(100 * p))}", partial(ellipse_coverage, level=p),
                        lambda s: 1.0, lambda s, p=p: p) for p in COVERAGE_LEVELS),
)
"""Every uncertainty metric, in the order of ``metrics.json``."""


def uncertainty_metrics(pred: np.ndarray, sigma_um: np.ndarray, true: np.ndarray, sigma_kind: str) -> dict:
    """The metrics of :data:`UNCERTAINTY` (NLL, coverage at :data:`COVERAGE_LEVELS`), then ``sigma``.

    ``sigma_kind`` says where sigma came from ("predicted", "constant (fitted on val residuals)").
    """
    out: dict = {m.key: m(pred, sigma_um, true) for m in UNCERTAINTY}
    out["sigma"] = sigma_kind
    return out
