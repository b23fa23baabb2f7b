"""The sim-to-real page (``sim-to-real.md``): learned models trained on real tracks, on a fitted
simulation only, or pretrained on it and fine-tuned, all scored on the real test block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.leaderboard.intervals import ci95
from cellbench.leaderboard.tables import REFERENCE_MODELS, collect, fmt_mean_ci, provenance, train_on

SIM2REAL_COLUMNS = [("r2", "R2", "max"), ("rmse_um", "RMSE (um)", "min"), ("skill_vs_zero", "skill vs zero", "max")]
"""Columns of the sim-to-real table: pooled R^2, RMSE over both components (um per frame), skill vs zero."""
SOURCE_ORDER = {"real": 0, "sim": 1, "sim+real": 2}


def _source_text(train_on: str, sim_source: str) -> str:
    if train_on == "real":
        return "real"
    src = "fitted sim" if sim_source == "like" else f"sim {Path(sim_source).stem}"
    return src if train_on == "sim" else f"{src} + real"


def sim2real_frame(records: list[dict]) -> pd.DataFrame:
    """One row per (run, scored model) of every dataset that has runs trained on a simulation.

    Columns: dataset, model (the run label without its source suffix, e.g. ``lstm[hidden=8]``),
    train_on, sim_source, source (table text), seed, key, data_sha256, code_version and the test metrics. Learned models come with every training source of their
    runs; references (fitted on the real training block) are the runs of the reference models and,
    where a sweep did not run them, the references embedded in each run.
    """
    latest = {r.get("key", ""): r for r in records}
    df = collect(records)
    if df.empty:
        return df
    sims = {train_on(r) for r in latest.values()} - {"real"}
    if not sims:
        return pd.DataFrame()
    spec = [latest.get(k, {}).get("spec", {}) for k in df.key]
    df = df.assign(
        train_on=[("real" if e else s.get("train_on", "real")) for e, s in zip(df.embedded, spec)],
        sim_source=[("" if e else s.get("sim_source", "")) for e, s in zip(df.embedded, spec)],
    )
    df["source"] = [_source_text(t, s) for t, s in zip(df.train_on, df.sim_source)]
    # the model column: the run's label (model and options) without its training-source suffix
    df["model"] = [lab if t == "real" else lab.rsplit(" (", 1)[0] for lab, t in zip(df.label, df.train_on)]
    df = df[df.train_fraction == 1.0]
    with_sim = set(df.loc[df.train_on != "real", "dataset"])
    df = df[df.dataset.isin(with_sim)]
    # references beside, learned models only where they have a simulation-trained run on that dataset
    learned = set(zip(df.loc[df.train_on != "real", "dataset"], df.loc[df.train_on != "real", "model"]))
    keep = df.model.isin(REFERENCE_MODELS) | np.array([(d, m) in learned for d, m in zip(df.dataset, df.model)], dtype=bool)
    return df[keep].reset_index(drop=True)


def sim2real_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean, 95 % CI half-width and seeds per (dataset, model, source) and metric.

    Metric ``d_r2_vs_real``: the paired difference R^2(source) - R^2(real) of the same model and
    seed (the two runs share the seed of the initial weights and of the batching), over the
    seeds both have.
    """
    rows = []
    for (dataset, model, source, t), g in df.groupby(["dataset", "model", "source", "train_on"], sort=False):
        for key, _, _ in SIM2REAL_COLUMNS:
            if key in g:
                mean, ci, n = ci95(g[key].to_numpy())
                rows.append({"dataset": dataset, "model": model, "source": source, "train_on": t, "metric": key,
                             "mean": mean, "ci95": ci, "n_seeds": n})
        real = df[(df.dataset == dataset) & (df.model == model) & (df.train_on == "real")]
        if t != "real" and not real.empty:
            paired = g.set_index("seed")["r2"].sub(real.set_index("seed")["r2"]).dropna()
            mean, ci, n = ci95(paired.to_numpy())
            if n:
                rows.append({"dataset": dataset, "model": model, "source": source, "train_on": t,
                             "metric": "d_r2_vs_real", "mean": mean, "ci95": ci, "n_seeds": n})
    return pd.DataFrame(rows)


def _rows_of(summary: pd.DataFrame, dataset: str) -> list[tuple[str, str, str]]:
    """(model, source, train_on) in table order: references first, then each model's sources."""
    s = summary[summary.dataset == dataset]
    keys = list(dict.fromkeys(zip(s.model, s.source, s.train_on)))
    refs = [k for r in REFERENCE_MODELS for k in keys if k[0] == r]
    rest = sorted((k for k in keys if k[0] not in REFERENCE_MODELS), key=lambda k: (k[0], SOURCE_ORDER[k[2]], k[1]))
    return refs + rest


def sim2real_table(summary: pd.DataFrame, dataset: str) -> str:
    """Rows model x training source, ``mean ± ci`` cells; the best learned row per column in bold."""
    s = summary[summary.dataset == dataset]
    lines = ["| model | trained on | seeds | " + " | ".join(lab for _, lab, _ in SIM2REAL_COLUMNS)
             + " | R2 minus R2 of real, paired by seed |",
             "|---|---|---:|" + "---:|" * (len(SIM2REAL_COLUMNS) + 1)]
    best = {}
    for key, _, better in SIM2REAL_COLUMNS:
        v = s[(s.metric == key) & ~s.model.isin(REFERENCE_MODELS)]["mean"]
        best[key] = (v.max() if better == "max" else v.min()) if len(v) else None
    for model, source, t in _rows_of(summary, dataset):
        g = s[(s.model == model) & (s.source == source)].set_index("metric")
        n_seeds = int(g.drop(index="d_r2_vs_real", errors="ignore")["n_seeds"].max())
        cells = []
        for key, _, _ in SIM2REAL_COLUMNS:
            if key not in g.index:
                cells.append("-")
                continue
            text = fmt_mean_ci(g.loc[key, "mean"], g.loc[key, "ci95"])
            cells.append(f"**{text}**" if model not in REFERENCE_MODELS and g.loc[key, "mean"] == best[key] else text)
        d = g.loc["d_r2_vs_real"] if "d_r2_vs_real" in g.index else None
        cells.append("-" if d is None else fmt_mean_ci(d["mean"], d["ci95"]))
        kind = "reference (real training block)" if model in REFERENCE_MODELS else source
        lines.append(f"| {model} | {kind} | {n_seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pm(row, signed: bool = False) -> str:
    """``mean ± ci``, or the mean and "(one seed, no interval)" when the interval is undefined."""
    mean = f"{row['mean']:+.4f}" if signed else f"{row['mean']:.4f}"
    return f"{mean} ± {row['ci95']:.2g}" if np.isfinite(row["ci95"]) else f"{mean} (one seed, no interval)"


def _verdict(a: pd.Series, b: pd.Series) -> str:
    """'better', 'worse' or 'same' for mean a vs mean b (higher is better) by 95 % CI overlap; 'same'
    (unresolved) when either interval is undefined (one seed): one run resolves nothing."""
    if not (np.isfinite(a["ci95"]) and np.isfinite(b["ci95"])):
        return "same"
    lo_a, hi_a = a["mean"] - a["ci95"], a["mean"] + a["ci95"]
    lo_b, hi_b = b["mean"] - b["ci95"], b["mean"] + b["ci95"]
    if lo_a > hi_b:
        return "better"
    if hi_a < lo_b:
        return "worse"
    return "same"


def sim2real_reading(summary: pd.DataFrame, dataset: str, metric: str = "r2") -> str:
    """An honest reading of one dataset's table, from the measured R^2 and their 95 % CIs."""
    s = summary[(summary.dataset == dataset) & (summary.metric == metric)]
    get = {(m, t, src): row for (m, t, src), row in ((k, r) for k, r in
           zip(zip(s.model, s.train_on, s.source), s.to_dict("records")))}
    diffs = summary[(summary.dataset == dataset) & (summary.metric == "d_r2_vs_real")]
    paired = {(m, src): r for m, src, r in zip(diffs.model, diffs.source, diffs.to_dict("records"))}
    sentences, tally = [], {"sim+real": {"better": [], "worse": [], "same": []}, "sim": {"better": [], "worse": [], "same": []}}
    zero = next((r for (m, t, _), r in get.items() if m == "zero"), None)
    for (model, t, src), row in get.items():
        if t == "real" or (model, "real", "real") not in get:
            continue
        real = get[(model, "real", "real")]
        verdict = _verdict(pd.Series(row), pd.Series(real))
        d = paired.get((model, src))
        dtext = "" if d is None else f"; paired difference {_pm(d, signed=True)}"
        tally[t][verdict].append(f"{model} ({src}: {_pm(row)} vs real {_pm(real)}{dtext})")
    for t, what in (("sim+real", "Pretraining on the simulation, then fine-tuning on the real training block"),
                    ("sim", "Training on the simulation alone")):
        n = sum(len(v) for v in tally[t].values())
        if not n:
            continue
        text = f"{what}, against the same model trained on real data only (test R^2, 95 % CIs over seeds): "
        parts = []
        if tally[t]["better"]:
            parts.append(f"helps {', '.join(tally[t]['better'])}")
        if tally[t]["worse"]:
            parts.append(f"hurts {', '.join(tally[t]['worse'])}")
        if tally[t]["same"]:
            parts.append(f"makes no difference the CIs can resolve for {', '.join(tally[t]['same'])}")
        sentences.append(text + "; ".join(parts) + ".")
    if zero is not None:
        beat = [f"{m} ({src})" for (m, t, src), r in get.items()
                if t == "sim" and np.isfinite(r["ci95"]) and r["mean"] - r["ci95"] > zero["mean"]]
        below = [f"{m} ({src})" for (m, t, src), r in get.items()
                 if t == "sim" and np.isfinite(r["ci95"]) and r["mean"] + r["ci95"] < zero["mean"]]
        if beat or below:
            sentences.append(
                f"Against predicting no motion (zero, R^2 {zero['mean']:.4f}): trained on the simulation alone, "
                + (f"{', '.join(beat)} {'stays' if len(beat) == 1 else 'stay'} above it (CI clear of it)" if beat
                   else "no model stays clear above it")
                + (f"; {', '.join(below)} {'falls' if len(below) == 1 else 'fall'} below it, so what "
                   f"{'it' if len(below) == 1 else 'they'} learned from the simulation does not carry over to the real "
                   "cells" if below else "") + ".")
    n = sum(len(v) for v in tally["sim+real"].values())
    if n:
        sentences.append(f"In short: simulation pretraining measurably helps {len(tally['sim+real']['better'])} of "
                         f"{n} models on {dataset}"
                         + (" and hurts none." if not tally["sim+real"]["worse"] else
                            f" and hurts {len(tally['sim+real']['worse'])}."))
    return "**Reading.** " + " ".join(sentences) if sentences else ""


def sim2real_page(records: list[dict]) -> str:
    df = sim2real_frame(records)
    if df.empty:
        return ""
    summary = sim2real_summary(df)
    parts = [
        "# cellbench leaderboard: sim-to-real transfer",
        "",
        "Does simulated data help a learned model on real tracks? Each learned model is trained (a) on the real "
        "training block only (`real`), (b) on a simulation only (`fitted sim`: a preset fitted by "
        "`cellbench.simfit.fit_preset` to the real *training block*, never to validation or test frames; or a named "
        "preset), (c) pretrained on that simulation and fine-tuned on the real training block (`... + real`); (a) "
        "and (c) differ only in the initial weights. The simulation holds about as many cell-frames in its training "
        "block as the real training block, and its seed changes with the run seed. Every row is scored on the same "
        "real test block (the last 15 % of frames), beside the trivial references fitted on the real training block. "
        "Each cell: mean ± 95 % CI over seeds (Student's t). R2 pooled over dx and dy; RMSE over both components, "
        "um per frame; skill vs zero = 1 - MSE / MSE(zero). Best learned row per column in bold.",
        "",
    ]
    for dataset in dict.fromkeys(df.dataset):
        parts += [f"## {dataset}", "", sim2real_table(summary, dataset), "", sim2real_reading(summary, dataset), "",
                  provenance(df, dataset), ""]
    return "\n".join(parts)
