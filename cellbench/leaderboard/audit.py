r"""Leakage audit: what honest and leaking pipelines score on the same test block.

On real tracks whose one-step displacements are near white noise, a high R^2 is the symptom
of a leak, not of skill. This module measures the leaks that reproduce the paper's
R^2 = 0.65-0.75 on the same split, beside the honest pipeline:

- ``leaked column``: a per-spot column holding the displacement to the next spot (TrackMate's
  edge features) is let into the features;
- ``smoothed tracks``: positions smoothed by a centred moving average (it reads frames t+1 ...
  t+w/2) before differencing, and scored against the smoothed targets;
- ``z-scored targets``: the same, with targets standardised per component (R^2 is scale-free,
  so this alone changes nothing: the audit shows it).

Every row uses one least-squares predictor on the listed features, fitted on the training
block and scored on the test block of a 70/15/15 time split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.data.dataset import build_dataset
from cellbench.evaluation.pointwise import r2_pooled
from cellbench.data.readers.common import leak_columns
from cellbench.data.targets import displacement_targets, history_um
from cellbench.data.tracks import Tracks

N_LAGS = 3


def smooth_positions(tracks: Tracks, window_frames: int) -> Tracks:
    """Centred moving average of each track's positions over ``window_frames`` (a non-causal filter)."""
    df = tracks.df.copy()
    for col in ("x_um", "y_um"):
        df[col] = df.groupby("track_id")[col].transform(
            lambda s: s.rolling(window_frames, center=True, min_periods=1).mean()
        )
    return tracks.with_df(df)


def _design(tracks: Tracks, extra: np.ndarray | None) -> np.ndarray:
    hist = np.nan_to_num(history_um(tracks, N_LAGS).reshape(tracks.n_rows, -1))
    cols = [np.ones((tracks.n_rows, 1)), hist]
    if extra is not None:
        cols.append(extra)
    return np.hstack(cols)


def least_squares_r2(tracks: Tracks, extra: np.ndarray | None = None, zscore: bool = False) -> tuple[float, int]:
    """Test R^2 (pooled over dx, dy) of least squares on past steps (+ ``extra`` columns); and n targets."""
    data = build_dataset([tracks])
    s = data.seqs[0]
    X = _design(tracks, extra)
    y = s.y_um
    train, test = s.masks["train"], s.masks["test"]
    if zscore:
        mu, sd = y[train].mean(axis=0), y[train].std(axis=0)
        y = (y - mu) / sd
    coef = np.linalg.lstsq(X[train], y[train], rcond=None)[0]
    return r2_pooled(X[test] @ coef, y[test]), int(test.sum())


def leak_audit(tracks: Tracks, windows_frames: tuple[int, ...] = (3, 5, 9)) -> pd.DataFrame:
    """One row per pipeline: what it reads, whether cellbench lets it in, and its test R^2."""
    y, valid = displacement_targets(tracks)
    leaked = np.where(valid[:, None], y, 0.0)  # "displacement to the next spot", as TrackMate edges carry it
    rows = []

    def add(name, reads, allowed, r2n):
        rows.append({"pipeline": name, "reads": reads, "allowed by cellbench": allowed, "test R2": r2n[0], "test targets": r2n[1]})

    add("honest: least squares on 3 past steps (AR(3))", "frames <= t", "yes", least_squares_r2(tracks))
    refused = bool(leak_columns(["EDGE_DISPLACEMENT", "TRACK_MEAN_SPEED"]))
    add(
        "+ displacement-to-next-spot column",
        "frame t+1",
        "no: readers drop EDGE_*/TRACK_*/speed columns" if refused else "yes (BUG)",
        least_squares_r2(tracks, extra=leaked),
    )
    for w in windows_frames:
        smoothed = smooth_positions(tracks, w)
        add(
            f"smoothed tracks (centred moving average, {w} frames) + AR(3)",
            f"frames <= t+{w // 2}",
            "no: features read frames <= t only",
            least_squares_r2(smoothed),
        )
        add(
            f"smoothed tracks ({w} frames) + z-scored targets + AR(3)",
            f"frames <= t+{w // 2}",
            "no",
            least_squares_r2(smoothed, zscore=True),
        )
    add("honest + z-scored targets (R2 is scale-free)", "frames <= t", "yes", least_squares_r2(tracks, zscore=True))
    return pd.DataFrame(rows)


def displacement_stats(tracks: Tracks) -> dict[str, float]:
    """Lag-1 correlation of consecutive steps and step std, per component (um per frame)."""
    y, valid = displacement_targets(tracks)
    prev = history_um(tracks, 1)[:, 0]
    ok = valid & ~np.isnan(prev[:, 0])
    out = {}
    for c, axis in enumerate("xy"):
        out[f"lag1_corr_d{axis}"] = float(np.corrcoef(y[ok, c], prev[ok, c])[0, 1])
        out[f"std_d{axis}_um"] = float(np.std(y[valid, c]))
    return out


def audit_markdown(table: pd.DataFrame, dataset: str) -> str:
    lines = [
        f"### Leakage audit: {dataset} (70/15/15 time split, test block)",
        "",
        "| pipeline | reads | allowed by cellbench | test R2 | test targets |",
        "|---|---|---|---:|---:|",
    ]
    for r in table.itertuples(index=False):
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3f} | {r[4]} |")
    return "\n".join(lines)
