"""``rollout.png``: RMSE(k) growth curves of every model of a run (its ``rollout`` section)."""

from __future__ import annotations

import numpy as np

from cellbench.evaluation.figures import png_bytes, pyplot

REFERENCE_STYLE = {"zero": ("k", "--"), "oracle": ("tab:gray", ":"), "const-velocity": ("tab:brown", "-.")}


def rollout_png(section: dict, title: str) -> bytes:
    """Two panels over log-scaled k: RMSE(k) in um, and RMSE(k) / zero's RMSE(k) (1 = standing still)."""
    plt = pyplot()
    ks = np.asarray(section["horizons_frames"], dtype=float)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
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
    ax.legend(fontsize=8)
    fig.suptitle(f"{title}: rollouts from {section['n_start_frames']} test start frames")
    return png_bytes(fig)
