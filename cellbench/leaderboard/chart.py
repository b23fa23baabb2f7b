r"""``<dataset>.png``: every model's test skill against standing still, as horizontal bars.

.. math:: \mathrm{skill} = 1 - \mathrm{MSE} / \mathrm{MSE}_\mathrm{zero}

(both displacement components pooled, :func:`cellbench.evaluation.pointwise.skill_vs_zero`):
0 is the zero reference (predicting no motion), 1 a perfect prediction, below 0 worse than
standing still. An RMSE bar chart hides that: on BF-C2DL-HSC the constant-velocity reference has
the lowest RMSE of |d| while its skill is -0.97. Each bar carries the tables' interval (training
seeds, or simulation seeds: :func:`cellbench.leaderboard.intervals.seed_interval`); where the runs
recorded a moving-block bootstrap, a wider pale bar gives the test-frame interval too, the R^2
half-width rescaled to skill: on one test set skill = 1 - (1 - R^2) / (1 - R^2_zero), so a half-width
of R^2 is one of skill divided by 1 - R^2_zero (to first order: the bootstrap draws also move the
denominator). Models that read the simulator's truth (oracle, filtered oracle) are vertical
reference lines, not bars, and so is the noise floor of a simulated dataset, the skill a model
reaching :func:`cellbench.runs.simulated.noise_floor` would have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.evaluation.figures import figure_legend, png_bytes, pyplot, wrap_to_width
from cellbench.io import write_atomic
from cellbench.leaderboard.tables import NOISE_FLOOR_LABEL, ORACLES, REFERENCE_MODELS, _order

SKILL = "skill_vs_zero"
SKILL_AXIS = "test skill vs zero = 1 - MSE / MSE(zero)\n(dimensionless; 0 = standing still, 1 = perfect)"
LINE_STYLE = {"oracle": ("k", "--"), "filtered-oracle": ("tab:purple", "-."), NOISE_FLOOR_LABEL: ("tab:red", ":")}
"""Reference lines: colour and line style per row label."""
CLIP_SKILL = -0.3
"""Bars below this (skill -0.3: an MSE 30 % above standing still's) never stretch the axis: it spans the
other bars with their intervals (and 0), and such a bar is cut at its edge."""


def _values(s: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``mean`` and ``ci95`` of one metric, indexed by label (rows of one dataset and fraction)."""
    return s[s.metric == metric].drop_duplicates("label").set_index("label")[["mean", "ci95"]]


def floor_skill(s: pd.DataFrame) -> float:
    """The skill at the dataset's noise floor: 1 - floor_rmse_dx^2 / MSE_zero, with MSE_zero the zero
    reference's mean square per component ((RMSE dx^2 + RMSE dy^2) / 2). NaN without floor or zero row."""
    floor = _values(s, "floor_rmse_dx_um")
    dx, dy = _values(s, "rmse_dx_um"), _values(s, "rmse_dy_um")
    if NOISE_FLOOR_LABEL not in floor.index or "zero" not in dx.index or "zero" not in dy.index:
        return float("nan")
    zero_dx, zero_dy = dx.loc["zero"], dy.loc["zero"]
    mse_zero = 0.5 * (zero_dx["mean"] ** 2 + zero_dy["mean"] ** 2)
    return float(1.0 - floor.loc[NOISE_FLOOR_LABEL, "mean"] ** 2 / mse_zero) if mse_zero > 0 else float("nan")


def bootstrap_skill_halfwidth(s: pd.DataFrame, labels: list[str]) -> pd.Series:
    """The bootstrap R^2 half-width of each label rescaled to skill, / (1 - R^2_zero) (module docstring);
    NaN where the runs recorded no bootstrap or the zero reference's R^2 is missing."""
    boot = _values(s, "boot_r2_halfwidth")["mean"].reindex(labels)
    r2 = _values(s, "r2")["mean"]
    scale = 1.0 - r2.get("zero", np.nan)
    return boot / scale if np.isfinite(scale) and scale > 0 else boot * np.nan


def reference_lines(s: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """{legend label: (row label, skill)} of the oracles and the noise floor present in ``s``."""
    skill = _values(s, SKILL)["mean"]
    lines = {f"{name} (reads the simulator's truth): {skill[name]:.3g}": (name, float(skill[name]))
             for name in ORACLES if name in skill.index and np.isfinite(skill[name])}
    floor = floor_skill(s)
    if np.isfinite(floor):
        lines[f"noise floor (free passive cells): {floor:.3g}"] = (NOISE_FLOOR_LABEL, floor)
    return lines


def _clip_far_below(ax, mean: np.ndarray, err: np.ndarray, y: np.ndarray) -> None:
    """When a bar goes below :data:`CLIP_SKILL`, start the axis just below the other bars' intervals
    (and 0) and cut that bar there (its value stays in the tick label, an arrow at the edge says it
    goes on), so that the bars near 0 keep a readable length: on real tracks every honest model is
    within a few hundredths of 0 while constant velocity sits near -1."""
    lo, hi = ax.get_xlim()
    far = mean < CLIP_SKILL
    if not far.any():
        return
    near_lo = min(0.0, float(np.min((mean - err)[~far]))) if (~far).any() else 0.0
    edge = near_lo - 0.08 * (hi - near_lo)
    ax.set_xlim(edge, hi)
    for yi in y[far]:
        ax.annotate("\u25c0 continues", (edge, yi), xytext=(2, 0), textcoords="offset points", ha="left",
                    va="center", fontsize=7, color="white")


def skill_figure(summary: pd.DataFrame, dataset: str, train_fraction: float = 1.0):
    """The figure of :func:`skill_chart`, or None when no model of ``dataset`` has a skill."""
    plt = pyplot()
    s = summary[(summary.dataset == dataset) & (summary.train_fraction == train_fraction)]
    skill = _values(s, SKILL)
    labels = [l for l in _order(list(skill.index)) if l not in ORACLES and np.isfinite(skill.loc[l, "mean"])]
    if not labels:
        return None
    mean, ci = skill.loc[labels, "mean"].to_numpy(), np.nan_to_num(skill.loc[labels, "ci95"].to_numpy())
    boot = bootstrap_skill_halfwidth(s, labels).to_numpy()
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8.0, 1.8 + 0.32 * len(labels)), layout="constrained")
    ax.barh(y, mean, color=["0.65" if l in REFERENCE_MODELS else "C0" for l in labels], height=0.6)
    over = "simulation seeds" if "interval" in s and (s.interval == "sim_seeds").any() else "training seeds"
    if np.isfinite(boot).any():
        ax.errorbar(mean, y, xerr=np.nan_to_num(boot), fmt="none", ecolor="tab:orange", elinewidth=7, alpha=0.45,
                    label="95 % bootstrap over test frames")
    ax.errorbar(mean, y, xerr=ci, fmt="none", ecolor="k", capsize=3, label=f"95 % interval over {over}")
    ax.axvline(0.0, color="k", lw=1.0)
    for text, (name, value) in reference_lines(s).items():
        color, ls = LINE_STYLE[name]
        ax.axvline(value, color=color, ls=ls, lw=1.3, label=text)
    ax.set_yticks(y, [f"{l} ({m:.3g})" for l, m in zip(labels, mean)])
    ax.invert_yaxis()  # references on top, in table order
    _clip_far_below(ax, mean, np.fmax(ci, np.nan_to_num(boot)), y)
    ax.set_xlabel(SKILL_AXIS)
    ax.grid(axis="x", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    figure_legend(fig, ax, ncols=2)
    wrap_to_width(fig, fig.suptitle(f"{dataset}: test skill vs zero, mean over runs (grey: trivial references)",
                                    fontsize=10))
    return fig


def skill_chart(summary: pd.DataFrame, dataset: str, path: Path) -> bool:
    """Write ``path`` (PNG, atomically): :func:`skill_figure` at the full training fraction.
    False (nothing written) when no model of ``dataset`` has a skill."""
    fig = skill_figure(summary, dataset)
    if fig is None:
        return False
    write_atomic(Path(path), png_bytes(fig, dpi=120))
    return True


__all__ = ["SKILL", "skill_figure", "skill_chart", "floor_skill", "reference_lines", "bootstrap_skill_halfwidth"]
