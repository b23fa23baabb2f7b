"""Files a learned model leaves in its run folder (the numbers are in :mod:`.interactions`).

:func:`learned_outputs` returns ``{file name: writer(path)}`` so that the pipeline writes
everything after all numbers are computed: ``checkpoint.pt`` (state_dict), ``model.json``,
``history.json``, ``attention.parquet`` and the PNGs ``loss.png`` (train / val NLL and the KL term
per epoch) and ``attention.png`` (mean relative attention vs distance beside the prior c(r) and
the true pair-force magnitude).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.io import write_atomic, write_atomic_with, write_json
from cellbench.evaluation.figures import png_bytes, pyplot
from cellbench.evaluation.interactions import edge_forces
from cellbench.train.loop import save_checkpoint


def loss_png(history: list[dict], title: str) -> bytes:
    plt = pyplot()

    ep = [h["epoch"] + 1 for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ep, [h["train_nll"] for h in history], "o-", label="train NLL")
    ax.plot(ep, [h["val_nll"] for h in history], "s-", label="val NLL")
    if any(h.get("train_kl") is not None for h in history):
        ax2 = ax.twinx()
        ax2.plot(ep, [h.get("train_kl") or np.nan for h in history], "^--", color="tab:green", label="KL(alpha||pi)")
        ax2.plot(ep, [h.get("eta_kl") for h in history], ":", color="tab:gray", label="eta_KL")
        ax2.set_ylabel("KL (nats) / eta_KL")
        ax2.legend(loc="upper center")
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL per target (standardized units)")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return png_bytes(fig)


def attention_png(att: pd.DataFrame, model, data, title: str) -> bytes:
    plt = pyplot()

    group = pd.factorize(pd.MultiIndex.from_arrays([att["seq"], att["frame"], att["target_track"]]))[0]
    deg = np.bincount(group)[group]
    r = att["r_um"].to_numpy()
    edges = np.linspace(0, model.r_cut_um, 26)
    mid = 0.5 * (edges[1:] + edges[:-1])
    idx = np.clip(np.digitize(r, edges) - 1, 0, len(mid) - 1)
    cnt = np.bincount(idx, minlength=len(mid))

    def binned(v):
        return np.where(cnt > 0, np.bincount(idx, v, len(mid)) / np.maximum(cnt, 1), np.nan)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"wspace": 0.45})
    ax = axes[0]
    for b in (1, 2):
        cols = [c for c in att.columns if c.startswith(f"alpha_b{b}_")]
        if cols:
            ax.plot(mid, binned(att[cols].to_numpy().mean(axis=1) * deg), "o-", label=f"block {b}: alpha x in-degree")
    ax.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("r_ij (um)")
    ax.set_ylabel("mean relative attention (1 = uniform)")
    if getattr(model, "prior", None) is not None:
        ax2 = ax.twinx()
        rr = np.linspace(0, model.r_cut_um, 200)
        ax2.plot(rr, model.prior.prior.c_of_r(rr), color="tab:red", label="prior c(r) (train frames)")
        ax2.set_ylabel("c(r)", color="tab:red")
        ax2.legend(loc="lower right")
    ax.legend(loc="upper right")
    ax.set_title("attention vs distance and prior")
    ax = axes[1]
    truth = data.seqs[0].truth
    if truth is not None:
        a0 = att[att["seq"] == 0]
        f = edge_forces(a0, truth.pairs)
        cols = [c for c in att.columns if c.startswith("alpha_b1_")]
        g0 = pd.factorize(pd.MultiIndex.from_arrays([a0["frame"], a0["target_track"]]))[0]
        rel = a0[cols].to_numpy().mean(axis=1) * np.bincount(g0)[g0]
        sub = np.random.default_rng(0).permutation(len(a0))[:20000]
        ax.scatter(f[sub], rel[sub], s=3, alpha=0.3)
        ax.set_xlabel("true |F_ij| (kT/um), 0 beyond the interaction range")
        ax.set_ylabel("block 1 alpha x in-degree")
        ax.set_title("attention vs true pair force (test frames)")
    else:
        ax.text(0.5, 0.5, "no simulator truth (real data)", ha="center", va="center")
        ax.set_axis_off()
    fig.suptitle(title)
    return png_bytes(fig)


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
