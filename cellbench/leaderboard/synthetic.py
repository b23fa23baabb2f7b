"""The simulated-presets page (``synthetic.md``): headline, one table per preset, the physattn
ablation and the sample-efficiency table, each with a reading generated from the measured numbers.

Comparisons between two models use differences paired by (simulation seed, training seed): the
two runs of one pair share the simulated trajectory, the split and the seed of weights and
batching. With several simulation seeds the paired differences are averaged over the training
seeds of each simulation seed and the 95 % Student-t half-width is taken over the simulation
seeds; with one, over the training seeds (:func:`cellbench.leaderboard.tables.seed_interval`). A
difference counts only when its interval excludes 0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cellbench.leaderboard.dynamics import DYNAMICS_COLUMNS, INTERACTION_COLUMNS, dynamics_caption, interaction_caption
from cellbench.models import registry
from cellbench.leaderboard.tables import (NOISE_FLOOR_LABEL, ORACLES, REFERENCE_MODELS, collect, dataset_slug, fmt_mean_ci,
                                          interval_line, markdown_table, provenance, real_trained, seed_interval,
                                          summarize)

LEARNED = registry.names("learned")
"""The learned models, read from the registry (metadata only, no torch)."""
DEFAULT_PHYSATTN = registry.entry("physattn").flat_defaults
"""physattn's defaults from the registry, with dotted keys as sweeps name options (``train.eta_max``),
to name ablation variants."""


def options_of(label: str) -> tuple[str, dict]:
    """``'physattn[prior_bias=False,train.eta_max=0]'`` -> ``('physattn', {'prior_bias': False, 'train.eta_max': 0.0})``."""
    m = re.fullmatch(r"([^\[]+)(?:\[(.*)\])?", label)
    name, inner = m.group(1), m.group(2)
    opts: dict = {}
    for item in filter(None, (inner or "").split(",")):
        key, _, value = item.partition("=")
        if value in ("True", "False"):
            opts[key] = value == "True"
        else:
            try:
                opts[key] = float(value)
            except ValueError:
                opts[key] = value
    return name, opts


def variant_name(opts: dict) -> str:
    """Plain words for a physattn option set: which parts of the prior it uses."""
    o = {**DEFAULT_PHYSATTN, **opts}
    bias, kl = o["prior_bias"] and o["gamma"] != 0, o["train.eta_max"] > 0
    parts = {(True, True): "both: bias + KL (the paper)", (True, False): "bias only", (False, True): "KL only",
             (False, False): "neither (TransformerConv + LSTM)"}[(bias, kl)]
    if bias or kl:
        parts += ", abs(c) prior" if o["prior_transform"] == "abs" else ", signed C~"
        if o.get("prior_scale", "robust") == "standardized":
            parts += " standardized per frame"
        if bias and o.get("learn_gamma"):
            parts += f", gamma learned from {o.get('gamma_init', 0.1):g}"
        elif o["gamma"] != DEFAULT_PHYSATTN["gamma"]:
            parts += f", gamma {o['gamma']:g}"
        if o.get("edge_features", "rbf") == "r_only" and o.get("absolute_position"):
            parts += ", paper inputs (edges r, nodes position"
            parts += ", prior's cutoff)" if o.get("r_cut_rule") == "prior" else ")"
        if kl and o.get("train.kl_reduce", "mean") == "sum":
            parts += f", KL summed (eq. 6), eta {o['train.eta_max']:g}"
        elif kl and o["train.eta_max"] != DEFAULT_PHYSATTN["train.eta_max"]:
            parts += f", eta {o['train.eta_max']:g}"
    return parts


def paired(df: pd.DataFrame, dataset: str, a: str, b: str, metric: str, fraction: float = 1.0) -> tuple[float, float, int]:
    """(mean, 95 % half-width, n) of metric(a) - metric(b) paired by (simulation seed, training seed).

    With several simulation seeds, n counts simulation seeds (training seeds averaged within
    each), else training seeds (:func:`~cellbench.leaderboard.tables.seed_interval`).
    """
    d = df[(df.dataset == dataset) & (df.train_fraction == fraction)]
    if metric not in d:
        return float("nan"), float("nan"), 0
    d = d.assign(sim_seed=d["sim_seed"].fillna(-1) if "sim_seed" in d else -1)  # -1: real tracks, no sim seed
    va = d[d.label == a].set_index(["sim_seed", "seed"])[metric]
    vb = d[d.label == b].set_index(["sim_seed", "seed"])[metric]
    diff = va.sub(vb).dropna().rename("diff").reset_index()
    diff["sim_seed"] = diff["sim_seed"].where(diff["sim_seed"] >= 0)
    r = seed_interval(diff, "diff")
    return r["mean"], r["ci95"], r["n"]


def _paired_by(df: pd.DataFrame) -> str:
    """How the page's paired differences are paired, for the readings."""
    n_sim = df["sim_seed"].nunique() if "sim_seed" in df else 0
    return ("paired by (simulation seed, training seed), interval over simulation seeds" if n_sim > 1
            else "paired by seed")


def _diff_text(mean: float, ci: float, n: int) -> str:
    if n == 0:
        return "-"
    return f"{mean:+.4f} ± {np.nan_to_num(ci):.2g}" if n > 1 else f"{mean:+.4f}"


def _resolved(mean: float, ci: float, n: int) -> int:
    """+1 / -1 when the paired interval excludes 0 above / below, else 0."""
    if n < 2 or not np.isfinite(ci):
        return 0
    return 1 if mean - ci > 0 else -1 if mean + ci < 0 else 0


def _value(summary: pd.DataFrame, dataset: str, label: str, metric: str) -> tuple[float, float]:
    row = summary[(summary.dataset == dataset) & (summary.label == label) & (summary.metric == metric)
                  & (summary.train_fraction == 1.0)]
    return (float(row["mean"].iloc[0]), float(row["ci95"].iloc[0])) if len(row) else (np.nan, np.nan)


def headline_table(df: pd.DataFrame, summary: pd.DataFrame) -> str:
    """One row per preset: oracle, best reference, best learned model, physattn vs TransformerConv."""
    lines = ["| preset | oracle R2 | best reference R2 | best learned R2 | physattn R2 | physattn - transformer R2 "
             "(paired) | physattn attention vs -r reference (Spearman with abs F) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for dataset in dict.fromkeys(df.dataset):
        s = summary[(summary.dataset == dataset) & (summary.metric == "r2") & (summary.train_fraction == 1.0)]
        s = s[~s.label.str.contains(r"\[", regex=True)]
        refs = s[s.label.isin(REFERENCE_MODELS) & ~s.label.isin(ORACLES)].sort_values("mean", ascending=False)
        learned = s[s.label.isin(LEARNED)].sort_values("mean", ascending=False)
        oracle = _value(summary, dataset, "oracle", "r2")
        phys = _value(summary, dataset, "physattn", "r2")
        d = paired(df, dataset, "physattn", "transformer", "r2")
        att = _value(summary, dataset, "physattn", "kr_spearman_force")
        ref = _value(summary, dataset, "physattn", "kr_spearman_force_ref")
        best_ref = f"{refs.label.iloc[0]} {fmt_mean_ci(refs['mean'].iloc[0], refs.ci95.iloc[0])}" if len(refs) else "-"
        best_l = f"{learned.label.iloc[0]} {fmt_mean_ci(learned['mean'].iloc[0], learned.ci95.iloc[0])}" if len(learned) else "-"
        lines.append(f"| {dataset} | {fmt_mean_ci(*oracle)} | {best_ref} | {best_l} | {fmt_mean_ci(*phys)} | "
                     f"{_diff_text(*d)} | {fmt_mean_ci(*att)} vs {fmt_mean_ci(*ref)} |")
    return "\n".join(lines)


def _headline_intervals(df: pd.DataFrame, summary: pd.DataFrame) -> str:
    """What the headline's intervals cover: one sentence if every preset agrees, else one per preset."""
    lines = {d: interval_line(summary[(summary.dataset == d) & (summary.train_fraction == 1.0)
                                      & (summary.label != NOISE_FLOOR_LABEL)]) for d in dict.fromkeys(df.dataset)}
    lines = {d: l.split(":")[0] for d, l in lines.items() if l}  # the first clause says it
    if not lines:
        return ""
    if len(set(lines.values())) == 1:
        return f"Intervals: {next(iter(lines.values()))}; paired differences: {_paired_by(df)}."
    return "Intervals: " + "; ".join(f"{d}: {l}" for d, l in lines.items()) + "."


def headline_reading(df: pd.DataFrame, summary: pd.DataFrame) -> str:
    """Sentences on physattn against TransformerConv and the distance reference, per preset."""
    better, worse, same, above_ref = [], [], [], []
    for dataset in dict.fromkeys(df.dataset):
        d = paired(df, dataset, "physattn", "transformer", "r2")
        if d[2] == 0:
            continue
        {1: better, -1: worse, 0: same}[_resolved(*d)].append(f"{dataset.split(':')[1]} ({_diff_text(*d)})")
        att, ref = _value(summary, dataset, "physattn", "kr_spearman_force"), _value(summary, dataset, "physattn", "kr_spearman_force_ref")
        if np.isfinite(att[0]) and np.isfinite(ref[0]) and att[0] - np.nan_to_num(att[1]) > ref[0]:
            above_ref.append(dataset.split(":")[1])
    if not (better or worse or same):
        return ""
    text = ("**Reading.** Against plain TransformerConv with the same LSTM, features and training loop (test R^2, "
            f"{_paired_by(df)}), the c(r) prior ")
    parts = []
    if better:
        parts.append(f"helps on {', '.join(better)}")
    if worse:
        parts.append(f"hurts on {', '.join(worse)}")
    if same:
        parts.append(f"makes no difference the seeds can resolve on {', '.join(same)}")
    text += "; ".join(parts) + ". "
    text += (f"physattn's attention follows the true pair forces better than distance alone (-r_ij) on "
             f"{', '.join(above_ref)}." if above_ref else
             "On no preset does physattn's attention follow the true pair forces better than distance alone (-r_ij): "
             "what it learned about interactions is no more than proximity.")
    return text


RECOVERY_THRESHOLD = 0.10
"""A learned two-body response within this relative L2 error of the truth counts as the force law recovered."""


def interaction_reading(df: pd.DataFrame, summary: pd.DataFrame, dataset: str) -> str:
    """Plain sentences under the interaction table: does any model recover the force law, and does
    any physattn variant beat the same network without a prior (test R^2, paired)?"""
    noisy = (summary.metric == "probe_rel_l2_noisy").any()
    metric = "probe_rel_l2_noisy" if noisy else "probe_rel_l2"
    s = summary[(summary.dataset == dataset) & (summary.metric == metric) & (summary.train_fraction == 1.0)]
    s = s[~s.label.isin(ORACLES)].dropna(subset=["mean"])
    parts = []
    if not s.empty:
        best = s.loc[s["mean"].idxmin()]
        won = s[s["mean"] < RECOVERY_THRESHOLD]
        if won.empty:
            parts.append(f"No model recovers the force law: the best two-body response, {best.label}'s, is off by "
                         f"{best['mean']:.2f} (relative L2{' against the noise-averaged response' if noisy else ''}; "
                         f"{RECOVERY_THRESHOLD:.0%} would count as recovered).")
        else:
            names = ", ".join(f"{r.label} ({r['mean']:.3f})" for _, r in won.sort_values("mean").iterrows())
            parts.append(f"Recovers the force law within {RECOVERY_THRESHOLD:.0%} (relative L2 of the two-body "
                         f"response{' against the noise-averaged one' if noisy else ''}): {names}.")
    variants = [l for l in dict.fromkeys(df[df.dataset == dataset].label) if l.split("[")[0] == "physattn"]
    better = []
    for label in variants:
        d = paired(df, dataset, label, "transformer", "r2")
        if d[2] and _resolved(*d) > 0:
            better.append(f"{_variant(label)} ({_diff_text(*d)})")
    if variants and (df[(df.dataset == dataset)].label == "transformer").any():
        parts.append("physattn beats the same network without a prior (test R^2, " + _paired_by(df) + ") with: "
                     + "; ".join(better) + "." if better else
                     "No physattn variant beats the same network without a prior (TransformerConv, test R^2, "
                     + _paired_by(df) + ") by an interval that excludes 0.")
    return ("**Reading.** " + " ".join(parts)) if parts else ""


def _variant(label: str) -> str:
    name, opts = options_of(label)
    if name == "transformer" and not opts:  # physattn without any prior is this network exactly
        return variant_name({"prior_bias": False, "train.eta_max": 0.0})
    return variant_name(opts)


def ablation_table(df: pd.DataFrame, summary: pd.DataFrame, dataset: str) -> str:
    """physattn variants on one dataset, with R^2 paired against the variant without any prior.

    One row per variant: an ablation run where there is one, else the default ``physattn`` run
    (both parts of the prior) and the ``transformer`` run (neither: physattn with no prior is
    exactly TransformerConv with the same LSTM, features and loop).
    """
    labels = [l for l in dict.fromkeys(df[df.dataset == dataset].label) if options_of(l)[0] == "physattn"]
    if sum("[" in l for l in labels) < 2:
        return ""
    labels += [l for l in dict.fromkeys(df[df.dataset == dataset].label) if l == "transformer"]
    by_variant: dict[str, str] = {}
    for label in sorted(labels, key=lambda l: ("[" not in l, l)):
        by_variant.setdefault(_variant(label), label)
    rows = [by_variant[v] for v in sorted(by_variant)]
    base = next((l for l in rows if _variant(l).startswith("neither")), None)
    d_all = df[(df.dataset == dataset) & (df.train_fraction == 1.0)]
    by_sim = "sim_seed" in d_all and d_all.sim_seed.nunique() > 1
    lines = [f"| variant | run label | {'seeds (sim x train)' if by_sim else 'seeds'} | R2 | RMSE abs d (um) | attn Spearman with abs F | attn AUROC in range | "
             "R2 minus R2 of 'neither' (paired) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for label in rows:
        cells = [fmt_mean_ci(*_value(summary, dataset, label, k))
                 for k in ("r2", "rmse_abs_d_um", "kr_spearman_force", "kr_auroc_in_range")]
        runs = d_all[d_all.label == label]
        n = f"{runs.sim_seed.nunique()} x {runs.seed.nunique()}" if by_sim else str(runs.seed.nunique())
        d = "-" if base is None or label == base else _diff_text(*paired(df, dataset, label, base, "r2"))
        lines.append(f"| {_variant(label)} | `{label}` | {n} | " + " | ".join(cells) + f" | {d} |")
    ref = _value(summary, dataset, rows[0], "kr_spearman_force_ref")
    lines += ["", f"Distance reference for the attention columns: Spearman of -r_ij with abs F = {fmt_mean_ci(*ref)}."]
    caption = interval_line(summary[(summary.dataset == dataset) & (summary.train_fraction == 1.0) & summary.label.isin(rows)])
    if caption:
        lines += ["", caption]
    if base is not None:
        verdicts = {1: [], -1: [], 0: []}
        for label in rows:
            if label != base:
                verdicts[_resolved(*paired(df, dataset, label, base, "r2"))].append(f"'{_variant(label)}'")
        text = f"**Reading.** Against the same network without any prior ('neither'), test R^2 {_paired_by(d_all)}: "
        parts = [f"{w} {', '.join(v)}" for w, v in (("better:", verdicts[1]), ("worse:", verdicts[-1]),
                                                     ("no resolvable difference:", verdicts[0])) if v]
        lines += ["", text + "; ".join(parts) + "."]
    return "\n".join(lines)


def sample_efficiency_table(summary: pd.DataFrame, dataset: str, metric: str = "rmse_abs_d_um") -> str:
    """Models as rows, training fractions as columns, one metric as ``mean ± ci``."""
    s = summary[(summary.dataset == dataset) & (summary.metric == metric)]
    s = s[~s.label.str.contains(r"\[", regex=True)]
    fractions = sorted(set(s.train_fraction))
    if len(fractions) < 2:
        return ""
    lines = ["| model | " + " | ".join(f"{f:.0%} of train" for f in fractions) + " |", "|---|" + "---:|" * len(fractions)]
    per_label = s.groupby("label", sort=False).train_fraction.nunique()
    for label in per_label[per_label >= 2].index:  # models run at one fraction only are in the main table
        cells = []
        for f in fractions:
            row = s[(s.label == label) & (s.train_fraction == f)]
            cells.append("-" if row.empty else fmt_mean_ci(row["mean"].iloc[0], row["ci95"].iloc[0]))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    caption = interval_line(s[s.label.isin(per_label[per_label >= 2].index)])
    return "\n".join(lines + (["", caption] if caption else []))


def sample_efficiency_reading(df: pd.DataFrame, dataset: str, metric: str = "rmse_abs_d_um") -> str:
    """physattn - transformer (paired by simulation and training seed) at each training fraction: does the prior help most with little data?"""
    fractions = sorted(set(df[(df.dataset == dataset) & (df.label == "physattn")].train_fraction))
    cells = []
    for f in fractions:
        d = paired(df, dataset, "physattn", "transformer", metric, f)
        if d[2]:
            verdict = {1: "physattn worse", -1: "physattn better", 0: "no resolvable difference"}[_resolved(*d)]
            cells.append(f"{f:.0%}: {_diff_text(*d)} um ({verdict})")
    if len(cells) < 2:
        return ""
    return ("**Reading.** The paper claims the prior helps most when data are scarce. physattn minus TransformerConv, "
            f"RMSE abs d {_paired_by(df[df.dataset == dataset])}, at each share of the training block: {'; '.join(cells)}.")


def epoch_cap_line(df: pd.DataFrame) -> str:
    """How often a learned run's best validation epoch was its last (the epoch cap bound)."""
    if "cap_bound" not in df or df["cap_bound"].notna().sum() == 0:
        return ""
    runs = df["cap_bound"].dropna()
    return (f"Training: early stopping on validation NLL (patience 6, cap 60 epochs); the cap bound (best epoch = "
            f"last) in {int(runs.sum())} of {len(runs)} learned runs.")


def above_oracle(summary: pd.DataFrame, dataset: str) -> str:
    """A warning when a learned model's test R^2 clears the oracle's (both intervals, where given): then the
    oracle is no floor on that preset, and the sentence says why; '' otherwise."""
    r2 = summary[(summary.dataset == dataset) & (summary.metric == "r2") & (summary.train_fraction == 1.0)]
    oracle = r2[r2.label == "oracle"]
    if oracle.empty:
        return ""
    top = float(oracle["mean"].iloc[0]) + float(np.nan_to_num(oracle["ci95"].iloc[0]))
    learned = r2[~r2.label.isin(REFERENCE_MODELS) & ~r2.label.str.contains(r"\[", regex=True)]
    over = [f"{row.label} {row['mean']:.3f}" + ("" if np.isfinite(row["ci95"]) else " (one run)") for _, row in learned.iterrows()
            if row["mean"] - np.nan_to_num(row["ci95"]) > top]
    if not over:
        return ""
    return (f"**The oracle is no floor here.** {', '.join(over)} score above the oracle's R^2 "
            f"({float(oracle['mean'].iloc[0]):.3f}): the oracle integrates the noise-free dynamics over one frame, "
            "which is not the mean displacement when a frame spans many collisions under strong noise (the "
            "noise-averaged drift differs); learned models can estimate that mean from data.")


def synthetic_page(records: list[dict]) -> str:
    df = collect(real_trained(records))
    df = df[df.dataset.str.startswith("sim:")]
    if df.empty:
        return ""
    summary = summarize(df)
    main = summary[~summary.label.str.contains(r"\[", regex=True)]
    parts = [
        "# cellbench leaderboard: simulated presets",
        "",
        "Test split: the last 15 % of frames (70/15/15 contiguous time blocks). Each cell: mean ± 95 % CI (Student's t); "
        "the line under each table says whether the interval is over simulation seeds (independent trajectories, "
        "training seeds averaged within each) or over the training seeds of one trajectory. Displacements in um per frame. The oracle integrates the true noise-free dynamics over one "
        "frame from the recorded state; it reads the truth and is never marked best (it is a floor only where a frame "
        "spans few collisions: a warning under a table says where a learned model beats it). Kernel-recovery columns: Spearman "
        "correlation of attention with the true pair-force magnitude per target cell, beside the same for -r_ij "
        "(closer neighbours matter more), which learned attention must beat to mean anything.",
        "",
        epoch_cap_line(df),
        "",
        "## Headline",
        "",
        headline_table(df, summary),
        "",
        _headline_intervals(df, summary),
        "",
        headline_reading(df, summary),
        "",
    ]
    for dataset in dict.fromkeys(df.dataset):
        parts += [f"## {dataset}", "", markdown_table(main, dataset, 1.0), ""]
        warning = above_oracle(main, dataset)
        if warning:
            parts += [warning, ""]
        dyn = markdown_table(main, dataset, 1.0, columns=DYNAMICS_COLUMNS)
        if len(dyn.split("\n")) > 2 and "|---" in dyn:
            parts += [f"### Rollouts and distribution statistics on {dataset}", "", dyn, "", dynamics_caption(), "",
                      f"![RMSE(k) growth, {dataset}]({dataset_slug(dataset)}_rollout.png)", ""]
        inter = markdown_table(main, dataset, 1.0, columns=INTERACTION_COLUMNS)
        if len(inter.split("\n")) > 2 and "|---" in inter:
            parts += [f"### Interactions on {dataset}: force-law probes and attention", "", inter, "",
                      interaction_caption(), "", interaction_reading(df, summary, dataset), ""]
        ab = ablation_table(df, summary, dataset)
        if ab:
            parts += [f"### physattn ablation on {dataset}", "", ab, ""]
        se = sample_efficiency_table(summary, dataset)
        if se:
            parts += [f"### Sample efficiency on {dataset}: RMSE abs d (um) vs share of the training block", "", se, "",
                      sample_efficiency_reading(df, dataset), ""]
        parts += [provenance(df, dataset), ""]
    return "\n".join(parts)
