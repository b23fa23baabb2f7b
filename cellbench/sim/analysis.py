r"""Checks of a simulated run against theory: MSD of free ABPs, one-step R^2 of the oracle.

Pure functions of a :class:`cellbench.sim.engine.SimResult` (or its tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def abp_msd_theory(t_s, v0_um_per_s: float, D_t_um2_per_s: float, D_r_per_s: float) -> np.ndarray:
    r"""Mean squared displacement of a free 2D active Brownian particle, um^2.

    .. math:: \mathrm{MSD}(t) = 4 D_t t + \frac{2 v_0^2}{D_r^2}\left(D_r t + e^{-D_r t} - 1\right)

    With D_r = 0 the active part is ballistic, v0^2 t^2.
    """
    t = np.asarray(t_s, dtype=float)
    if D_r_per_s == 0:
        return 4 * D_t_um2_per_s * t + v0_um_per_s**2 * t**2
    x = D_r_per_s * t
    return 4 * D_t_um2_per_s * t + 2 * v0_um_per_s**2 / D_r_per_s**2 * (x + np.expm1(-x))


def _wide(truth: pd.DataFrame, column: str) -> pd.DataFrame:
    """(n_frames, n_tracks) table of ``column`` with NaN where a track is not observed."""
    return truth.pivot(index="frame", columns="track_id", values=column)


def msd(truth: pd.DataFrame, lags_frames) -> np.ndarray:
    """MSD (um^2) at the given lags from the unwrapped positions, averaged over all pairs of
    observed frames of the same track (gaps allowed)."""
    x = _wide(truth, "x_unwrap_um").to_numpy()
    y = _wide(truth, "y_unwrap_um").to_numpy()
    out = []
    for lag in lags_frames:
        d2 = (x[lag:] - x[:-lag]) ** 2 + (y[lag:] - y[:-lag]) ** 2
        ok = np.isfinite(d2)
        out.append(d2[ok].mean() if ok.any() else np.nan)  # NaN: no track spans this lag
    return np.array(out)


def orientation_autocorrelation(truth: pd.DataFrame, lags_frames) -> np.ndarray:
    r"""<cos(theta(t + lag) - theta(t))>, which is exp(-D_r t) for free rotational diffusion."""
    th = _wide(truth, "theta").to_numpy()
    return np.array([np.nanmean(np.cos(th[lag:] - th[:-lag])) for lag in lags_frames])


def one_step_table(truth: pd.DataFrame, frame_interval_s: float) -> pd.DataFrame:
    """Rows of ``truth`` whose track is also observed at the next frame, with the true
    one-step displacement ``dx_um``, ``dy_um`` (from unwrapped positions)."""
    t = truth.sort_values(["track_id", "frame"], kind="stable")
    nxt = t.groupby("track_id").shift(-1)
    ok = (nxt["frame"] == t["frame"] + 1).to_numpy()
    out = t.loc[ok].copy()
    out["dx_um"] = (nxt["x_unwrap_um"] - t["x_unwrap_um"]).to_numpy()[ok]
    out["dy_um"] = (nxt["y_unwrap_um"] - t["y_unwrap_um"]).to_numpy()[ok]
    return out


def r2_pooled(pred: np.ndarray, target: np.ndarray) -> float:
    r"""R^2 pooled over the two components.

    .. math:: R^2 = 1 - \frac{\sum_{i,d} (y_{id} - \hat y_{id})^2}{\sum_{i,d} (y_{id} - \bar y_d)^2}

    Parameters
    ----------
    pred, target : (n, 2) arrays (dx, dy).
    """
    pred = np.asarray(pred, dtype=float)
    target = np.asarray(target, dtype=float)
    sse = np.sum((target - pred) ** 2)
    sst = np.sum((target - target.mean(axis=0)) ** 2)
    return float(1 - sse / sst)


def oracle_r2(truth: pd.DataFrame, frame_interval_s: float) -> dict:
    """R^2 of one-step displacements explained by the oracle and by self-propulsion alone.

    Returns ``{"r2_oracle", "r2_self", "r2_interactions" (= r2_oracle - r2_self),
    "disp_std_um" (per-axis std of one-step displacements), "n"}``. Self-propulsion alone
    predicts ``v0 e(theta) * frame_interval_s`` (orientation frozen at the frame).
    """
    t = one_step_table(truth, frame_interval_s)
    target = t[["dx_um", "dy_um"]].to_numpy()
    oracle = t[["oracle_dx_um", "oracle_dy_um"]].to_numpy()
    self_ = t[["fx_self", "fy_self"]].to_numpy() * frame_interval_s
    r2_o = r2_pooled(oracle, target)
    r2_s = r2_pooled(self_, target)
    return {"r2_oracle": r2_o, "r2_self": r2_s, "r2_interactions": r2_o - r2_s,
            "disp_std_um": float(np.std(target - target.mean(axis=0))), "n": int(len(t))}
