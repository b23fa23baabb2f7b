"""``rollout.png``: RMSE(k) growth curves of every model of a run (its ``rollout`` section)."""

from __future__ import annotations

import numpy as np

from cellbench.evaluation.figures import figure_legend, png_bytes, pyplot, wrap_to_width

REFERENCE_STYLE = {"zero": ("k", "--"), "oracle": ("tab:gray", ":"), "const-velocity": ("tab:brown", "-.")}


def rollout_figure(section: dict, title: str):
    """Two panels over log-scaled k: RMSE(k) in um, and RMSE(k) / zero's RMSE(k) (1 = standing still);
    one legend under both."""
    plt = pyplot()
    ks = np.asarray(section["horizons_frames"], dtype=float)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    for name, m in section["models"].items():
        color, ls = REFERENCE_STYLE.get(name, (None, "-"))
        rmse = np.array([np.nan if v is None else v for v in m["rmse_um"]], dtype=float)
        ratio = np.array([np.nan if v is None else v for v in m["rmse_over_zero"]], dtype=float)
        ax.plot(ks, rmse, marker="o", color=color, linestyle=ls, label=name)
        bx.plot(ks, ratio, marker="o", color=color, linestyle=ls, label=name)
    for a in (ax, bx):
        a.set_xscale("log", base=2)
        a.set_xticks(ks, [f"{int(k)}" for k in ks])
        a.set_xlabel("horizon k (frames)")
    ax.set_yscale("log")
    ax.set_ylabel("position RMSE(k) (um)")
    bx.axhline(1.0, color="k", lw=0.8)
    bx.set_ylabel("RMSE(k) / RMSE(k) of zero (stay put)")
    figure_legend(fig, ax, ncols=min(len(section["models"]), 5))
    wrap_to_width(fig, fig.suptitle(f"{title}: rollouts from {section['n_start_frames']} test start frames"))
    return fig


def rollout_png(section: dict, title: str) -> bytes:
    """``rollout.png``: :func:`rollout_figure` as PNG bytes."""
    return png_bytes(rollout_figure(section, title))
