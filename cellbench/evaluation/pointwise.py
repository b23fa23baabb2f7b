r"""Pointwise metrics of one-step displacement predictions, and the one list of all of them.

Every metric is a pure function ``metric(pred, true) -> float`` of two arrays of shape
(n_targets, 2): predicted and true displacements over one frame, in um (columns dx, dy). The
unit is in every name that has one. :data:`POINTWISE` lists each metric once, with its key in
``metrics.json``, its value on a perfect prediction and, for a skill score, the constant
prediction it is measured against; ``tests/test_metrics.py`` loops over that list, so a
metric added to it is checked without anyone remembering to.

The R^2 and skill scores take the sum of squares around the test targets' own mean (or around
0), so they can be negative and are NaN when the targets do not vary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def _check(pred: np.ndarray, true: np.ndarray) -> None:
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[1] != 2:
        raise ValueError(f"pred and true must both have shape (n_targets, 2), found {pred.shape} and {true.shape}")
    if len(true) == 0:
        raise ValueError("no targets to score")


def rmse_component_um(pred: np.ndarray, true: np.ndarray, component: int) -> float:
    r"""Root mean squared error of one displacement component.

    .. math:: \mathrm{RMSE}_d = \sqrt{\langle (\hat y_{id} - y_{id})^2 \rangle_i}

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um.
    component : 0 for dx, 1 for dy.

    Returns
    -------
    float, um; 0 for a perfect prediction.
    """
    return float(np.sqrt(np.mean((pred[:, component] - true[:, component]) ** 2)))


def rmse_dx_um(pred: np.ndarray, true: np.ndarray) -> float:
    """RMSE of dx, um (:func:`rmse_component_um` with component 0)."""
    return rmse_component_um(pred, true, 0)


def rmse_dy_um(pred: np.ndarray, true: np.ndarray) -> float:
    """RMSE of dy, um (:func:`rmse_component_um` with component 1)."""
    return rmse_component_um(pred, true, 1)


def rmse_pooled_um(pred: np.ndarray, true: np.ndarray) -> float:
    r"""Root mean squared error over both components together.

    .. math:: \mathrm{RMSE} = \sqrt{\langle (\hat y_{id} - y_{id})^2 \rangle_{i,d}}

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um.

    Returns
    -------
    float, um. The relative skills (vs const-velocity, oracle ratio) are built from it.
    """
    return float(np.sqrt(np.mean((pred - true) ** 2)))


def rmse_abs_d_um(pred: np.ndarray, true: np.ndarray) -> float:
    r"""RMSE of displacement magnitudes (step lengths).

    .. math:: \sqrt{\langle (|\hat d_i| - |d_i|)^2 \rangle_i}

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um.

    Returns
    -------
    float, um. Blind to direction: a prediction with the right step length scores 0.
    """
    return float(np.sqrt(np.mean((np.hypot(*pred.T) - np.hypot(*true.T)) ** 2)))


def mae_abs_d_um(pred: np.ndarray, true: np.ndarray) -> float:
    r"""Mean absolute error of displacement magnitudes.

    .. math:: \langle \big| |\hat d_i| - |d_i| \big| \rangle_i

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um.

    Returns
    -------
    float, um.
    """
    return float(np.mean(np.abs(np.hypot(*pred.T) - np.hypot(*true.T))))


def r2_component(pred: np.ndarray, true: np.ndarray, component: int) -> float:
    r"""Coefficient of determination of one component, around the test targets' mean.

    .. math:: R^2_d = 1 - \frac{\sum_i (\hat y_{id} - y_{id})^2}{\sum_i (y_{id} - \bar y_d)^2}

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um.
    component : 0 for dx, 1 for dy.

    Returns
    -------
    float, dimensionless: 1 for a perfect prediction, 0 for the test mean, can be < 0;
    NaN when the targets' component is constant.
    """
    sst = np.sum((true[:, component] - true[:, component].mean()) ** 2)
    sse = np.sum((pred[:, component] - true[:, component]) ** 2)
    return float(1.0 - sse / sst) if sst > 0 else float("nan")


def r2_dx(pred: np.ndarray, true: np.ndarray) -> float:
    """R^2 of dx (:func:`r2_component` with component 0)."""
    return r2_component(pred, true, 0)


def r2_dy(pred: np.ndarray, true: np.ndarray) -> float:
    """R^2 of dy (:func:`r2_component` with component 1)."""
    return r2_component(pred, true, 1)


def r2_pooled(pred: np.ndarray, true: np.ndarray) -> float:
    r"""R^2 over both components together, around each component's test mean.

    .. math:: R^2 = 1 - \frac{\sum_{i,d} (\hat y_{id} - y_{id})^2}{\sum_{i,d} (y_{id} - \bar y_d)^2}

    Parameters
    ----------
    pred, true : (n, 2) arrays (dx, dy), displacements in um (or any common unit).

    Returns
    -------
    float, dimensionless: 1 for a perfect prediction, 0 for the mean, can be < 0; NaN when
    the targets do not vary.
    """
    sst = np.sum((true - true.mean(axis=0)) ** 2)
    return float(1.0 - np.sum((pred - true) ** 2) / sst) if sst > 0 else float("nan")


def skill_vs_zero(pred: np.ndarray, true: np.ndarray) -> float:
    r"""Skill against predicting no motion, both components pooled.

    .. math:: 1 - \frac{\langle (\hat y_{id} - y_{id})^2 \rangle}{\langle y_{id}^2 \rangle}

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um.

    Returns
    -------
    float, dimensionless: 1 for a perfect prediction, 0 for zero displacement; NaN when no
    target moves.
    """
    mse_zero = np.mean(true**2)
    return float(1.0 - np.mean((pred - true) ** 2) / mse_zero) if mse_zero > 0 else float("nan")


def mean_prediction(true: np.ndarray) -> np.ndarray:
    """(n_targets, 2): every target predicted as the targets' mean displacement (R^2 baseline)."""
    return np.broadcast_to(true.mean(axis=0), true.shape)


def zero_prediction(true: np.ndarray) -> np.ndarray:
    """(n_targets, 2) zeros: no motion (baseline of :func:`skill_vs_zero`)."""
    return np.zeros_like(true)


@dataclass(frozen=True)
class PointwiseMetric:
    """One entry of :data:`POINTWISE`.

    Attributes
    ----------
    key : str
        Name in ``metrics.json``.
    fn : callable
        ``fn(pred, true) -> float``, both (n_targets, 2) in um.
    label : str
        Column header of the console table, with the unit.
    perfect : float
        Value when ``pred`` equals ``true``: the best possible.
    higher_is_better : bool
        True for R^2 and skills, False for errors.
    baseline : callable or None
        For a skill score, ``baseline(true) -> (n_targets, 2)``: the constant prediction the
        score is measured against, which scores exactly 0. None for errors.
    test_only : bool
        False: reported on every scored split by :func:`regression_metrics`. True: reported on
        the test split only, by :func:`extra_test_metrics`.
    """

    key: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    label: str
    perfect: float
    higher_is_better: bool = False
    baseline: Callable[[np.ndarray], np.ndarray] | None = None
    test_only: bool = False

    def __call__(self, pred: np.ndarray, true: np.ndarray) -> float:
        return self.fn(pred, true)


POINTWISE: tuple[PointwiseMetric, ...] = (
    PointwiseMetric("rmse_dx_um", rmse_dx_um, "RMSE dx (um)", 0.0),
    PointwiseMetric("rmse_dy_um", rmse_dy_um, "RMSE dy (um)", 0.0),
    PointwiseMetric("rmse_abs_d_um", rmse_abs_d_um, "RMSE |d| (um)", 0.0),
    PointwiseMetric("mae_abs_d_um", mae_abs_d_um, "MAE |d| (um)", 0.0),
    PointwiseMetric("r2_dx", r2_dx, "R2 dx", 1.0, True, mean_prediction),
    PointwiseMetric("r2_dy", r2_dy, "R2 dy", 1.0, True, mean_prediction),
    PointwiseMetric("r2", r2_pooled, "R2", 1.0, True, mean_prediction),
    PointwiseMetric("skill_vs_zero", skill_vs_zero, "skill vs zero", 1.0, True, zero_prediction),
    PointwiseMetric("rmse_um", rmse_pooled_um, "RMSE (um)", 0.0, test_only=True),
)
"""Every pointwise metric, in the order of ``metrics.json``."""


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """The metrics of :data:`POINTWISE` reported on every split, then ``n_targets``.

    Parameters
    ----------
    pred, true : (n_targets, 2) arrays, displacements in um; ``ValueError`` naming both
        shapes when they differ.

    Returns
    -------
    dict, ``{key: value}`` in the order of :data:`POINTWISE`, then ``n_targets`` (int).
    """
    _check(pred, true)
    out: dict[str, float] = {m.key: m(pred, true) for m in POINTWISE if not m.test_only}
    out["n_targets"] = int(len(true))
    return out


def extra_test_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """The metrics of :data:`POINTWISE` reported on the test split only (``rmse_um``)."""
    _check(pred, true)
    return {m.key: m(pred, true) for m in POINTWISE if m.test_only}


METRIC_LABELS = {**{m.key: m.label for m in POINTWISE if not m.test_only}, "n_targets": "targets"}
"""Console column headers of :func:`regression_metrics`, in its order (the default table columns)."""
