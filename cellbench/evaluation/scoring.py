"""Predictions of a fitted predictor on one split, and their metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.data.dataset import Dataset
from cellbench.evaluation.pointwise import regression_metrics


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


def predictions_table(pred_per_seq: list[np.ndarray], data: Dataset, split: str = "test") -> pd.DataFrame:
    """One row per scored target: sequence, track, frame, true and predicted displacement (um per frame)."""
    parts = []
    for i, (p, s) in enumerate(zip(pred_per_seq, data.seqs)):
        m = s.masks[split]
        parts.append(
            pd.DataFrame(
                {
                    "seq": i,
                    "dataset": s.tracks.meta.dataset,
                    "track_id": s.tracks.df["track_id"].to_numpy()[m],
                    "frame": s.tracks.df["frame"].to_numpy()[m],
                    "dx_true_um": s.y_um[m, 0],
                    "dy_true_um": s.y_um[m, 1],
                    "dx_pred_um": p[m, 0],
                    "dy_pred_um": p[m, 1],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
