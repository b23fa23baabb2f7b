r"""How much of a simulated one-step displacement the simulator's own drift explains.

Checks of a preset, not of a model: the one-step R^2 (:func:`~cellbench.evaluation.pointwise.r2_pooled`)
of the oracle (the true deterministic displacement) and of self-propulsion alone, on the
simulator's truth table. They fill :data:`cellbench.sim.presets.MEASURED`
(``python -m cellbench.runs.measure_presets``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.evaluation.pointwise import r2_pooled


def one_step_table(truth: pd.DataFrame, frame_interval_s: float) -> pd.DataFrame:
    """Rows of a truth table whose track is also observed at the next frame, with the true displacement.

    Parameters
    ----------
    truth : DataFrame, the simulator's truth table (``track_id``, ``frame``, ``x_unwrap_um``,
        ``y_unwrap_um``, ``oracle_dx_um``, ``oracle_dy_um``, ``fx_self``, ``fy_self``, ...).
    frame_interval_s : seconds between frames (unused: one step is one frame).

    Returns
    -------
    DataFrame, n_steps rows sorted by track then frame, the columns of ``truth`` plus ``dx_um``,
    ``dy_um``: the displacement to the next frame from the unwrapped positions, um.
    """
    t = truth.sort_values(["track_id", "frame"], kind="stable")
    nxt = t.groupby("track_id").shift(-1)
    ok = (nxt["frame"] == t["frame"] + 1).to_numpy()
    out = t.loc[ok].copy()
    out["dx_um"] = (nxt["x_unwrap_um"] - t["x_unwrap_um"]).to_numpy()[ok]
    out["dy_um"] = (nxt["y_unwrap_um"] - t["y_unwrap_um"]).to_numpy()[ok]
    return out


def oracle_r2(truth: pd.DataFrame, frame_interval_s: float) -> dict:
    r"""R^2 of one-step displacements explained by the oracle and by self-propulsion alone.

    Self-propulsion alone predicts :math:`v_0 \hat e(\theta)\,\tau` with the orientation frozen
    at the frame (:math:`\tau` = ``frame_interval_s``); the interactions add the difference.

    Parameters
    ----------
    truth : DataFrame, the simulator's truth table (see :func:`one_step_table`).
    frame_interval_s : seconds between frames, :math:`\tau`.

    Returns
    -------
    dict: ``r2_oracle``, ``r2_self``, ``r2_interactions`` (= r2_oracle - r2_self; all
    dimensionless, pooled over dx and dy), ``disp_std_um`` (per-axis std of the one-step
    displacements, um) and ``n`` (number of steps).
    """
    t = one_step_table(truth, frame_interval_s)
    target = t[["dx_um", "dy_um"]].to_numpy(dtype=float)
    oracle = t[["oracle_dx_um", "oracle_dy_um"]].to_numpy(dtype=float)
    self_ = t[["fx_self", "fy_self"]].to_numpy(dtype=float) * frame_interval_s
    r2_o = r2_pooled(oracle, target)
    r2_s = r2_pooled(self_, target)
    return {"r2_oracle": r2_o, "r2_self": r2_s, "r2_interactions": r2_o - r2_s,
            "disp_std_um": float(np.std(target - target.mean(axis=0))), "n": int(len(t))}
