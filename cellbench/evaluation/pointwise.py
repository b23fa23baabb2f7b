"""Pure metrics on one-step displacement predictions; the unit is in every name.

Each metric takes ``pred`` and ``true`` of shape (n_targets, 2) in um per frame.
"""

from __future__ import annotations

import numpy as np


def _check(pred: np.ndarray, true: np.ndarray) -> None:
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[1] != 2:
        raise ValueError(f"pred and true must both have shape (n_targets, 2), found {pred.shape} and {true.shape}")
    if len(true) == 0:
        raise ValueError("no targets to score")


def rmse_um(pred: np.ndarray, true: np.ndarray, component: int) -> float:
    """Root mean squared error of one component (0 = dx, 1 = dy), um."""
    return float(np.sqrt(np.mean((pred[:, component] - true[:, component]) ** 2)))


def rmse_abs_d_um(pred: np.ndarray, true: np.ndarray) -> float:
    """RMSE of displacement magnitudes, :math:`\\sqrt{\\langle(|\\hat d| - |d|)^2\\rangle}`, um."""
    return float(np.sqrt(np.mean((np.hypot(*pred.T) - np.hypot(*true.T)) ** 2)))


def mae_abs_d_um(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute error of displacement magnitudes, um."""
    return float(np.mean(np.abs(np.hypot(*pred.T) - np.hypot(*true.T))))


def r2(pred: np.ndarray, true: np.ndarray, component: int) -> float:
    """Coefficient of determination of one component, SST around the test mean (can be < 0)."""
    sst = np.sum((true[:, component] - true[:, component].mean()) ** 2)
    sse = np.sum((pred[:, component] - true[:, component]) ** 2)
    return float(1.0 - sse / sst) if sst > 0 else float("nan")


def r2_pooled(pred: np.ndarray, true: np.ndarray) -> float:
    """R^2 over both components together (SST around each component's test mean)."""
    sst = np.sum((true - true.mean(axis=0)) ** 2)
    return float(1.0 - np.sum((pred - true) ** 2) / sst) if sst > 0 else float("nan")


def skill_vs_zero(pred: np.ndarray, true: np.ndarray) -> float:
    """1 - MSE / MSE of predicting zero displacement (both components pooled)."""
    mse_zero = np.mean(true**2)
    return float(1.0 - np.mean((pred - true) ** 2) / mse_zero) if mse_zero > 0 else float("nan")


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """All foundation metrics of one prediction set."""
    _check(pred, true)
    return {
        "rmse_dx_um": rmse_um(pred, true, 0),
        "rmse_dy_um": rmse_um(pred, true, 1),
        "rmse_abs_d_um": rmse_abs_d_um(pred, true),
        "mae_abs_d_um": mae_abs_d_um(pred, true),
        "r2_dx": r2(pred, true, 0),
        "r2_dy": r2(pred, true, 1),
        "r2": r2_pooled(pred, true),
        "skill_vs_zero": skill_vs_zero(pred, true),
        "n_targets": int(len(true)),
    }


METRIC_LABELS = {
    "rmse_dx_um": "RMSE dx (um)",
    "rmse_dy_um": "RMSE dy (um)",
    "rmse_abs_d_um": "RMSE |d| (um)",
    "mae_abs_d_um": "MAE |d| (um)",
    "r2_dx": "R2 dx",
    "r2_dy": "R2 dy",
    "r2": "R2",
    "skill_vs_zero": "skill vs zero",
    "n_targets": "targets",
}
