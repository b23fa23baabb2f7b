"""Scoring of fitted predictors: their predictions on a split, every metric, the skills relative to the references.

:func:`score_predictors` is what a run calls: for each predictor the foundation metrics on test
(:func:`~cellbench.evaluation.pointwise.regression_metrics`), NLL and ellipse coverage
(:mod:`~cellbench.evaluation.uncertainty`), ``rmse_um``, then the skills relative to the
const-velocity reference and the oracle (:func:`relative_metrics`), in that key order.
:func:`interval_section` adds their bootstrap intervals over test frames (:mod:`.bootstrap`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench import space
from cellbench.data.dataset import Dataset
from cellbench.evaluation.bootstrap import metric_intervals
from cellbench.evaluation.pointwise import extra_test_metrics, regression_metrics
from cellbench.evaluation.uncertainty import constant_sigma_um, uncertainty_metrics


def split_predictions(pred_per_seq: list[np.ndarray], data: Dataset, split: str = "test") -> np.ndarray:
    """(n_targets, 2) predictions for ``split``, aligned with ``data.targets(split)``; refuses NaN."""
    for p, s in zip(pred_per_seq, data.seqs):
        if p.shape != (s.tracks.n_rows, 2):
            raise ValueError(f"a predictor returned shape {p.shape} for {s.tracks.meta.dataset}, expected {(s.tracks.n_rows, 2)}")
    pred = data.gather(pred_per_seq, split)
    if not np.isfinite(pred).all():
        raise ValueError(f"a predictor returned {int((~np.isfinite(pred)).sum())} non-finite values on the {split} split")
    return pred


def score(pred_per_seq: list[np.ndarray], data: Dataset, split: str = "test") -> dict[str, float]:
    """Foundation metrics of ``pred_per_seq`` on ``split``."""
    return regression_metrics(split_predictions(pred_per_seq, data, split), data.targets(split))


def _predicted_sigma(model, data: Dataset) -> tuple[list[np.ndarray] | None, str]:
    """Per-sequence sigma of a heteroscedastic model, or None with how the constant one is fitted."""
    if hasattr(model, "predict_with_sigma") and getattr(model, "heteroscedastic", False):
        return model.predict_with_sigma(data)[1], "predicted"
    return None, "constant (fitted on val residuals)" if data.n_targets("val") else "constant (fitted on train residuals)"


def score_predictor(model, pred_per_seq: list[np.ndarray], data: Dataset) -> dict:
    """Every metric of one fitted predictor on the test split (the relative skills excepted).

    Parameters
    ----------
    model : the fitted predictor; a heteroscedastic one (``heteroscedastic`` and
        ``predict_with_sigma``) supplies its sigma, any other gets the constant sigma fitted on
        the validation residuals (training residuals without a validation split).
    pred_per_seq : per sequence, an (n_rows, 2) array of predicted displacements, um.
    data : the :class:`Dataset` the predictor was fitted on.

    Returns
    -------
    dict: :func:`~cellbench.evaluation.pointwise.regression_metrics`, then
    :func:`~cellbench.evaluation.uncertainty.uncertainty_metrics`, then ``rmse_um``.
    """
    m = score(pred_per_seq, data, "test")
    true = data.targets("test")
    p = split_predictions(pred_per_seq, data, "test")
    sig_per_seq, kind = _predicted_sigma(model, data)
    if sig_per_seq is not None:
        sigma = data.gather(sig_per_seq, "test")
    else:
        fit_split = "val" if data.n_targets("val") else "train"
        sigma = constant_sigma_um(split_predictions(pred_per_seq, data, fit_split), data.targets(fit_split))
    m.update(uncertainty_metrics(p, sigma, true, kind))
    m.update(extra_test_metrics(p, true))
    return m


def relative_metrics(m: dict, const_velocity: dict | None, oracle: dict | None,
                     filtered_oracle: dict | None = None) -> dict[str, float]:
    r"""Skills of one predictor's test metrics relative to the references' (present ones only).

    .. math:: \mathrm{skill}_{cv} = 1 - (\mathrm{RMSE} / \mathrm{RMSE}_{cv})^2, \quad
              \mathrm{oracle\ ratio} = \mathrm{RMSE} / \mathrm{RMSE}_{oracle}, \quad
              R^2\ \mathrm{of\ oracle} = R^2 / R^2_{oracle}

    and ``filtered_oracle_ratio`` = RMSE / RMSE of the filtered oracle (the best prediction from
    observed positions, :mod:`cellbench.models.filtered_oracle`): on active presets the oracle
    knows the heading, which no model sees, so this second ratio is the one a model can reach 1 in.

    Parameters
    ----------
    m, const_velocity, oracle, filtered_oracle : test metrics (``rmse_um`` in um, ``r2``) of the
        predictor and of the references; a reference that was not run is None.

    Returns
    -------
    dict: ``skill_vs_const_velocity`` (with const-velocity), ``oracle_ratio`` and ``r2_of_oracle``
    (with the oracle), ``filtered_oracle_ratio`` (with the filtered oracle), dimensionless; NaN
    when the reference's RMSE (R^2) is not > 0.
    """
    out = {}
    cv, orc = const_velocity, oracle
    if cv is not None:
        out["skill_vs_const_velocity"] = 1.0 - (m["rmse_um"] / cv["rmse_um"]) ** 2 if cv["rmse_um"] > 0 else float("nan")
    if orc is not None:
        out["oracle_ratio"] = m["rmse_um"] / orc["rmse_um"] if orc["rmse_um"] > 0 else float("nan")
        out["r2_of_oracle"] = m["r2"] / orc["r2"] if orc["r2"] > 0 else float("nan")
    if filtered_oracle is not None:
        f = filtered_oracle["rmse_um"]
        out["filtered_oracle_ratio"] = m["rmse_um"] / f if f > 0 else float("nan")
    return out


def score_predictors(predictors: dict[str, tuple[object, list[np.ndarray]]], data: Dataset) -> dict[str, dict]:
    """Test metrics of every predictor of a run, with the skills relative to the references.

    Parameters
    ----------
    predictors : ``{name: (fitted model, per-sequence predictions)}``; the references are found
        under the names ``'const-velocity'``, ``'oracle'`` and ``'filtered-oracle'``.
    data : the :class:`Dataset` they were fitted on.

    Returns
    -------
    ``{name: metrics}`` in the order of ``predictors``: :func:`score_predictor` followed by
    :func:`relative_metrics`.
    """
    rows = {name: score_predictor(model, pred, data) for name, (model, pred) in predictors.items()}
    cv, orc, filt = rows.get("const-velocity"), rows.get("oracle"), rows.get("filtered-oracle")
    for m in rows.values():
        m.update(relative_metrics(m, cv, orc, filt))
    return rows


def frame_keys(data: Dataset, split: str = "test") -> np.ndarray:
    """(n_targets,) int64 time label of every target of ``split``, sequence-major: ``seq * n + frame``.

    The frames of each sequence stay consecutive and sequences follow one another, so a
    bootstrap block crosses from one sequence to the next only at a junction; rows of one frame
    of one sequence share a label and are resampled together.
    """
    frames = [s.tracks.df["frame"].to_numpy().astype(np.int64) for s in data.seqs]
    stride = 1 + max((int(f.max()) for f in frames if len(f)), default=0)
    return data.gather([i * stride + f for i, f in enumerate(frames)], split)


def interval_section(predictors: dict[str, tuple[object, list[np.ndarray]]], data: Dataset,
                     pairs: list[tuple[str, str]] | tuple = (), n_boot: int = 1000, seed: int = 0) -> dict:
    """The ``intervals`` section of ``metrics.json``: 95 % moving-block bootstrap intervals over test frames.

    Parameters
    ----------
    predictors : ``{name: (fitted model, per-sequence predictions)}`` as for :func:`score_predictors`.
    data : the :class:`Dataset` they were fitted on.
    pairs : ``(a, b)`` names; the interval of ``metric(a) - metric(b)`` on the same resamples.
    n_boot, seed : resamples and the seed of the draws (fixed across training seeds, so runs that
        differ only in their training seed are judged on the same resamples).

    Returns
    -------
    dict of plain floats and lists, see :func:`~cellbench.evaluation.bootstrap.metric_intervals`:
    R^2 and RMSE (um) intervals per predictor and per pair, the block length and how it was chosen.
    """
    preds = {name: split_predictions(pred, data, "test") for name, (_, pred) in predictors.items()}
    return metric_intervals(data.targets("test"), preds, frame_keys(data, "test"), pairs=pairs, n_boot=n_boot,
                            seed=seed)


def predictions_table(pred_per_seq: list[np.ndarray], data: Dataset, split: str = "test") -> pd.DataFrame:
    """One row per scored target: sequence, track, frame, position at the frame (um), true and predicted
    displacement (um per frame), and the predicted position at the next frame (um; wrapped into a periodic box)."""
    parts = []
    for i, (p, s) in enumerate(zip(pred_per_seq, data.seqs)):
        m = s.masks[split]
        pos = s.tracks.positions_um()[m]
        _, shift = space.from_box(s.tracks.periodic_box_um)
        nxt = shift(pos, p[m])
        parts.append(
            pd.DataFrame(
                {
                    "seq": i,
                    "dataset": s.tracks.meta.dataset,
                    "track_id": s.tracks.df["track_id"].to_numpy()[m],
                    "frame": s.tracks.df["frame"].to_numpy()[m],
                    "x_um": pos[:, 0],
                    "y_um": pos[:, 1],
                    "dx_true_um": s.y_um[m, 0],
                    "dy_true_um": s.y_um[m, 1],
                    "dx_pred_um": p[m, 0],
                    "dy_pred_um": p[m, 1],
                    "x_next_pred_um": nxt[:, 0],
                    "y_next_pred_um": nxt[:, 1],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
