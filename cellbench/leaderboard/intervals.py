"""Which seeds a leaderboard interval covers: simulation seeds (independent trajectories, training
seeds averaged within each) or the training seeds of one trajectory.

A simulated dataset is run on ``sim_seeds`` independent trajectories and ``seeds`` training seeds
(weights and batching) on each. The spread between trajectories is the variation a reader cares
about (another simulation of the same preset), so with several simulation seeds the runs of each
are averaged over their training seeds and the 95 % Student-t interval is taken over the
per-trajectory means; with one simulation seed, and on real tracks (one recorded trajectory), it
is taken over the training seeds, as before simulation seeds existed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats


def ci95(values: np.ndarray) -> tuple[float, float, int]:
    """(mean, 95 % CI half-width, n) of finite values; half-width NaN for n < 2."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), 0
    if n < 2:
        return float(v.mean()), float("nan"), 1
    return float(v.mean()), float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n)), n


def seed_interval(df: pd.DataFrame, column: str) -> dict:
    """Mean and 95 % interval of ``column`` over the seeds of one group of runs.

    With runs on several simulation seeds (``sim_seed``): the finite values of each simulation
    seed are averaged over its training seeds, then mean and Student-t half-width over those
    per-trajectory means (``interval = "sim_seeds"``, ``n`` simulation seeds). Otherwise (one
    simulation seed, or real tracks): over the runs' training seeds (``interval = "seeds"``).

    Returns
    -------
    dict: ``mean``, ``ci95``, ``n`` (values behind the interval), ``n_seeds`` (training seeds
    with a finite value), ``n_sim_seeds`` (simulation seeds with one; 0 for real tracks) and
    ``interval``.
    """
    v = df[np.isfinite(pd.to_numeric(df[column], errors="coerce").astype(float))]
    sims = v["sim_seed"].dropna() if "sim_seed" in v else pd.Series(dtype=float)
    n_sim = int(sims.nunique())
    if n_sim > 1:
        per_sim = v.dropna(subset=["sim_seed"]).groupby("sim_seed")[column].mean()
        mean, ci, n = ci95(per_sim.to_numpy())
        return {"mean": mean, "ci95": ci, "n": n, "n_seeds": int(v.seed.nunique()), "n_sim_seeds": n_sim,
                "interval": "sim_seeds"}
    mean, ci, n = ci95(v[column].to_numpy())
    return {"mean": mean, "ci95": ci, "n": n, "n_seeds": n, "n_sim_seeds": n_sim, "interval": "seeds"}


_SIM_PART = re.compile(r"(sim:[^:+]+):seed(\d+)")


def split_sim_seed(dataset: str) -> tuple[str, float]:
    """``'sim:default:seed2'`` -> ``('sim:default', 2.0)``; several sequences of one sim seed
    (``'sim:a:seed1+sim:b:seed1'``) -> ``('sim:a+sim:b', 1.0)``; anything else -> ``(dataset, nan)``.

    The trailing `` (train on the others, test on ...)`` of a sequence split keeps its form, seedless.
    """
    head, sep, tail = dataset.partition(" (")
    parts = head.split("+")
    matches = [_SIM_PART.fullmatch(p) for p in parts]
    if not all(matches) or len({m.group(2) for m in matches}) != 1:
        return dataset, float("nan")
    strip = lambda text: _SIM_PART.sub(lambda m: m.group(1), text)  # noqa: E731
    return "+".join(m.group(1) for m in matches) + (sep + strip(tail) if sep else ""), float(matches[0].group(2))


def interval_line(summary: pd.DataFrame) -> str:
    """The sentence under a simulated dataset's table: which variation its intervals cover.

    ``summary``: the rows of one table (:func:`cellbench.leaderboard.tables.summarize`). '' for real tracks (no simulation seed).
    """
    if summary.empty or "n_sim_seeds" not in summary or not (summary.n_sim_seeds > 0).any():
        return ""
    over_sims = summary[summary.interval == "sim_seeds"]
    if not over_sims.empty:
        n_sim, n_train = int(over_sims.n_sim_seeds.max()), int(over_sims.n_seeds.max())
        return (f"95 % interval over {n_sim} simulation seeds, training seeds averaged within each: each cell is the "
                f"mean over {n_sim} independent simulated trajectories of the mean over up to {n_train} training seeds "
                "(Student's t over the trajectories; the seeds column gives simulation x training seeds per row)."
                + (" Rows run on one simulation seed only: interval over their training seeds."
                   if (summary.interval == "seeds").any() else ""))
    return (f"95 % interval over {int(summary.n_seeds.max())} training seeds, one trajectory: the interval covers the "
            "training seeds (weights and batching) on one simulated dataset, not the variation between simulations.")


def seeds_cell(rows: pd.DataFrame, by_sim: bool) -> str:
    """The seeds column of one model's row: ``'5'``, or ``'3 x 5'`` (simulation x training seeds)."""
    if rows.empty:
        return "0"
    n_train = int(rows.n_seeds.max())
    return f"{int(rows.n_sim_seeds.max())} x {n_train}" if by_sim else str(n_train)


def bootstrap_columns(metrics: dict, name: str) -> dict:
    """The moving-block bootstrap of one run (``metrics['intervals']``) as columns of model ``name``.

    ``boot_r2_halfwidth`` and ``boot_rmse_halfwidth_um``: half the width of the 95 % percentile
    interval over resampled test frames (one recorded trajectory: the variation a new stretch of
    the same movie would bring); ``boot_block_len_frames``: its block length. Empty without it.
    """
    iv = metrics.get("intervals") or {}
    m = (iv.get("models") or {}).get(name) or {}
    out = {}
    for key, col in (("r2", "boot_r2_halfwidth"), ("rmse_um", "boot_rmse_halfwidth_um")):
        lo_hi = m.get(key)
        if lo_hi is not None and None not in lo_hi:
            out[col] = 0.5 * (float(lo_hi[1]) - float(lo_hi[0]))
    if out and iv.get("block_len_frames") is not None:
        out["boot_block_len_frames"] = float(iv["block_len_frames"])
    return out


def bootstrap_line(block_len_frames) -> str:
    """Under a table with bootstrap columns: what they cover and the block lengths used (frames)."""
    lens = sorted({int(round(v)) for v in np.asarray(block_len_frames, dtype=float) if np.isfinite(v)})
    blocks = f"blocks of {', '.join(map(str, lens))} frames" if lens else "blocks"
    return ("R2 / RMSE bootstrap ±: half-width of the 95 % moving-block bootstrap interval over test frames "
            f"({blocks}, the length chosen from the autocorrelation of the per-frame errors), mean over training "
            "seeds: the variation another stretch of the same recording would bring; the ± in the R2 and RMSE "
            "columns is the training-seed interval, a different variation.")
