"""Files a learned model leaves in its run folder (the numbers are in :mod:`.interactions`).

:func:`learned_outputs` returns ``{file name: writer(path)}`` so that the pipeline writes
everything after all numbers are computed: ``checkpoint.pt`` (state_dict), ``model.json``,
``history.json``, ``attention.parquet`` and the PNGs ``loss.png`` (train / val NLL and the KL term
per epoch) and ``attention.png`` (mean relative attention vs distance beside the prior c(r), and
on simulated data against the true pair-force magnitude).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.io import write_atomic, write_atomic_with, write_json
from cellbench.evaluation.figures import figure_legend, integer_ticks, png_bytes, pyplot, wrap_to_width
from cellbench.evaluation.interactions import edge_forces
from cellbench.train.loop import save_checkpoint


def loss_figure(history: list[dict], title: str):
    """Train and validation NLL per epoch; with a KL term, KL(alpha||pi) and its weight eta_KL on a
    second axis. One legend under the axes."""
    plt = pyplot()
    ep = [h["epoch"] + 1 for h in history]
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot(ep, [h["train_nll"] for h in history], "o-", label="train NLL")
    ax.plot(ep, [h["val_nll"] for h in history], "s-", label="val NLL")
    axes = [ax]
    if any(h.get("train_kl") is not None for h in history):
        ax2 = ax.twinx()
        ax2.plot(ep, [h.get("train_kl") or np.nan for h in history], "^--", color="tab:green", label="KL(alpha||pi) (right)")
        ax2.plot(ep, [h.get("eta_kl") for h in history], ":", color="tab:gray", label="eta_KL, its weight (right)")
        ax2.set_ylabel("KL (nats) / eta_KL")
        axes.append(ax2)
    integer_ticks(ax.xaxis)
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL per target (standardized units)")
    wrap_to_width(fig, ax.set_title(title))
    figure_legend(fig, axes, ncols=2)
    return fig


def loss_png(history: list[dict], title: str) -> bytes:
    """``loss.png``: :func:`loss_figure` as PNG bytes."""
    return png_bytes(loss_figure(history, title))


NO_TRUTH_NOTE = "real data: no ground-truth pair forces, so attention is shown against distance only"


def attention_figure(att: pd.DataFrame, model, data, title: str):
    """Mean relative attention (alpha x in-degree, 1 = uniform) against the edge length r_ij (um),
    with the prior c(r) when the model has one; on simulated data a second panel against the true
    pair-force magnitude. Real data have no such truth: one panel, and the title says so."""
    plt = pyplot()
    truth = data.seqs[0].truth
    fig, axes = plt.subplots(1, 2 if truth is not None else 1, figsize=(11 if truth is not None else 6.5, 4.4),
                             squeeze=False, layout="constrained")
    ax = axes[0, 0]
    labelled = [ax]
    group = pd.factorize(pd.MultiIndex.from_arrays([att["seq"], att["frame"], att["target_track"]]))[0]
    deg = np.bincount(group)[group]
    edges = np.linspace(0, model.r_cut_um, 26)
    mid = 0.5 * (edges[1:] + edges[:-1])
    idx = np.clip(np.digitize(att["r_um"].to_numpy(), edges) - 1, 0, len(mid) - 1)
    cnt = np.bincount(idx, minlength=len(mid))
    for b in (1, 2):
        cols = [c for c in att.columns if c.startswith(f"alpha_b{b}_")]
        if cols:
            rel = np.bincount(idx, att[cols].to_numpy().mean(axis=1) * deg, len(mid)) / np.maximum(cnt, 1)
            ax.plot(mid, np.where(cnt > 0, rel, np.nan), "o-", label=f"block {b}: alpha x in-degree")
    ax.axhline(1.0, color="gray", lw=0.8, ls=":", label="uniform attention")
    ax.set_xlabel("r_ij (um)")
    ax.set_ylabel("mean relative attention (1 = uniform)")
    if getattr(model, "prior", None) is not None:
        ax2 = ax.twinx()
        rr = np.linspace(0, model.r_cut_um, 200)
        ax2.plot(rr, model.prior.prior.c_of_r(rr), color="tab:red", lw=1, label="prior c(r), train frames (right)")
        ax2.set_ylabel("prior c(r) (dimensionless)", color="tab:red")
        ax.set_zorder(ax2.get_zorder() + 1)  # attention drawn over the prior curve
        ax.patch.set_visible(False)
        labelled.append(ax2)
    ax.set_title("attention vs distance" + (" and prior" if len(labelled) > 1 else ""))
    if truth is not None:
        _attention_vs_force(axes[0, 1], att, truth)
    figure_legend(fig, labelled, ncols=2)
    wrap_to_width(fig, fig.suptitle(title if truth is not None else f"{title}\n{NO_TRUTH_NOTE}", fontsize=10))
    return fig


def _attention_vs_force(ax, att: pd.DataFrame, truth) -> None:
    """Block 1 relative attention of up to 20 000 test edges of sequence 0 against the true |F_ij|."""
    a0 = att[att["seq"] == 0]
    f = edge_forces(a0, truth.pairs)
    cols = [c for c in att.columns if c.startswith("alpha_b1_")]
    g0 = pd.factorize(pd.MultiIndex.from_arrays([a0["frame"], a0["target_track"]]))[0]
    rel = a0[cols].to_numpy().mean(axis=1) * np.bincount(g0)[g0]
    sub = np.random.default_rng(0).permutation(len(a0))[:20000]
    ax.scatter(f[sub], rel[sub], s=3, alpha=0.3, color="C0")
    ax.set_xlabel("true |F_ij| (kT/um), 0 beyond the interaction range")
    ax.set_ylabel("block 1 alpha x in-degree")
    ax.set_title("attention vs true pair force (test frames)")


def attention_png(att: pd.DataFrame, model, data, title: str) -> bytes:
    """``attention.png``: :func:`attention_figure` as PNG bytes."""
    return png_bytes(attention_figure(att, model, data, title))


def learned_outputs(model, data, att: pd.DataFrame | None, simulated: bool) -> dict:
    """Writers of the learned model's files (see the module docstring)."""
    title = f"{model.conv} on {data.name}"
    files = {
        "checkpoint.pt": lambda p: save_checkpoint(p, model.fit_result.best_state),
        "model.json": lambda p: write_json(p, model.config()),
        "history.json": lambda p: write_json(p, model.fit_result.history),
        "loss.png": lambda p: write_atomic(p, loss_png(model.fit_result.history, title)),
    }
    if att is not None:
        files["attention.parquet"] = lambda p: write_atomic_with(p, lambda tmp: att.to_parquet(tmp, index=False))
        files["attention.png"] = lambda p: write_atomic(p, attention_png(att, model, data, title))
    return files
