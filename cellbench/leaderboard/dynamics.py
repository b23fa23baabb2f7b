"""Board columns of the multi-step evaluation: rollouts, distribution statistics, the filtered oracle.

A run's ``metrics.json`` holds a ``rollout`` section (RMSE(k) and its ratios, the energy score,
per model) and a ``distribution`` section (distances of free-rollout statistics from the truth,
per model, and the floor: the same distance between two independent simulations).
:func:`dynamics_columns` flattens them into one row's columns; :func:`floor_row` makes the floor
a row of its own (label :data:`DIST_FLOOR_LABEL`), shown in the dynamics table under the models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLLOUT_KEYS = {4: ("rmse_over_zero", "rmse_over_oracle"), 16: ("rmse_over_zero", "rmse_over_oracle", "energy_score_um")}
"""Horizons (frames) and rollout quantities shown on the boards."""
DIST_KEYS = ("msd", "g_r", "vacf", "polar_order")
DIST_FLOOR_LABEL = "(floor: independent simulation)"
"""The row of the distribution floor: what a perfect model scores."""

_ROLLOUT_LABELS = {"rmse_over_zero": "RMSE({k}) / zero", "rmse_over_oracle": "RMSE({k}) / oracle",
                   "energy_score_um": "ES({k}) (um)"}
DYNAMICS_COLUMNS = [
    *[(f"roll_{q}_k{k}", _ROLLOUT_LABELS[q].format(k=k), "min") for k, qs in ROLLOUT_KEYS.items() for q in qs],
    *[(f"dist_{key}", f"{key.replace('_', ' ')} distance", "min") for key in DIST_KEYS],
]
"""(column, label, better) of the dynamics table; k in frames."""
INTERACTION_COLUMNS = [
    ("probe_rel_l2", "two-body response rel. L2", "min"),
    ("probe_rel_l2_noisy", "rel. L2 vs noise-averaged response", "min"),
    ("probe_range_error_um", "response range error (um)", "min"),
    ("probe_sign_changes", "sign changes (truth: see caption)", "none"),
    ("probe_additivity_pct", "additivity error (%)", "min"),
    ("kr_spearman_force", "attn Spearman with abs F", "max"),
    ("kr_spearman_force_ref", "-r Spearman with abs F (reference)", "none"),
    ("kr_spearman_force_prior", "prior C~ Spearman with abs F (reference)", "none"),
    ("kr_auroc_in_range", "attn AUROC in range", "max"),
    ("kr_recovered_range_um", "recovered range (um)", "none"),
]
"""(column, label, better) of the interaction table: the force-law probes beside the attention metric."""
CURVE_HORIZONS = (1, 2, 4, 8, 16)
CURVE_KEYS = [f"roll_{q}_k{k}" for q in ("rmse_um", "rmse_over_zero") for k in CURVE_HORIZONS]
"""Summary-only columns: the growth curves drawn by :func:`rollout_growth_png`."""


def dynamics_columns(metrics: dict, name: str) -> dict:
    """The dynamics columns of model ``name`` in one run's metrics (empty when the run has no sections)."""
    out = {}
    roll = metrics.get("rollout") or {}
    m = (roll.get("models") or {}).get(name)
    if m:
        ks = roll["horizons_frames"]
        wanted = {(k, q) for k, qs in ROLLOUT_KEYS.items() for q in qs}
        wanted |= {(k, q) for k in CURVE_HORIZONS for q in ("rmse_um", "rmse_over_zero")}
        for k, q in sorted(wanted):
            if k in ks:
                v = (m.get(q) or [None] * len(ks))[ks.index(k)]
                if v is not None:
                    out[f"roll_{q}_k{k}"] = float(v)
    dist = ((metrics.get("distribution") or {}).get("models") or {}).get(name) or {}
    out.update({f"dist_{k}": float(dist[k]) for k in DIST_KEYS if dist.get(k) is not None})
    out.update(probe_columns(metrics, name))
    return out


def probe_columns(metrics: dict, name: str) -> dict:
    """The force-law probe columns of model ``name`` (errors over the distances the data hold)."""
    probes = metrics.get("probes") or {}
    m = (probes.get("models") or {}).get(name)
    if not m:
        return {}
    e = m.get("errors_seen") or m.get("errors") or {}
    cols = {"probe_rel_l2": e.get("rel_l2"), "probe_rel_l2_noisy": m.get("rel_l2_noise_averaged"),
            "probe_range_error_um": e.get("range_error_um"),
            "probe_sign_changes": e.get("sign_changes"),
            "probe_additivity_pct": (m.get("additivity") or {}).get("error_pct")}
    return {k: float(v) for k, v in cols.items() if v is not None}


def interaction_caption(records_truth: str = "") -> str:
    """What the interaction table's columns mean, under it."""
    return ("Force-law probes: each model's predicted displacement of a cell along the axis to one neighbour at "
            "distance r, minus its prediction without the neighbour (stationary histories, 4 orientations, 48 "
            "distances in [0.3, 3] x the interaction range), against the simulator's own noise-free two-body "
            "response over one frame (self-propulsion removed): relative L2 error and range error (where the "
            "response falls below 5 % of its peak), over the distances the data hold; additivity: the response "
            "to two neighbours against the sum of single responses. The noise-averaged column compares with the mean "
            "response of the pair with the simulator's noise on (256 pairs per distance), the conditional mean a "
            "model trained on the data can learn: over long frames it differs from the noise-free one. The oracle row is the simulator answering "
            "the probe (errors ~0: the probe's own check)." + (f" {records_truth}" if records_truth else ""))


def floor_row(metrics: dict) -> dict:
    """The distribution floor of one run as dynamics columns (empty without a floor)."""
    floor = (metrics.get("distribution") or {}).get("floor") or {}
    return {f"dist_{k}": float(floor[k]) for k in DIST_KEYS if floor.get(k) is not None}


def fill_filtered_oracle_ratio(df: pd.DataFrame) -> pd.DataFrame:
    """``filtered_oracle_ratio`` = RMSE / the filtered oracle's RMSE on the same (dataset, sim seed,
    seed, fraction) where a run did not score it itself (the sweep ran ``filtered-oracle`` as a model)."""
    if "rmse_um" not in df or not (df.label == "filtered-oracle").any():
        return df
    keys = ["dataset", "sim_seed", "seed", "train_fraction"]
    ref = df[df.label == "filtered-oracle"].assign(sim_seed=lambda d: d.sim_seed.fillna(-1))
    ref = ref.drop_duplicates(keys).set_index(keys)["rmse_um"]
    idx = pd.MultiIndex.from_frame(df[keys].assign(sim_seed=df.sim_seed.fillna(-1)))
    denom = ref.reindex(idx).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, df["rmse_um"].to_numpy() / denom, np.nan)
    out = df.copy()
    have = out["filtered_oracle_ratio"] if "filtered_oracle_ratio" in out else pd.Series(np.nan, index=out.index)
    out["filtered_oracle_ratio"] = have.fillna(pd.Series(ratio, index=out.index))
    return out


def rollout_growth_png(summary: pd.DataFrame, dataset: str, path) -> bool:
    """``path``: RMSE(k) and RMSE(k) / zero's over log-scaled k for every model of ``dataset``
    (means over runs, from the summary's curve columns); False (nothing written) without rollouts."""
    from cellbench.evaluation.rollout_plot import rollout_png
    from cellbench.io import write_atomic

    s = summary[(summary.dataset == dataset) & (summary.train_fraction == 1.0)]
    models = {}
    for label, g in s.groupby("label", sort=False):
        vals = dict(zip(g.metric, g["mean"]))
        ks = [k for k in CURVE_HORIZONS if f"roll_rmse_um_k{k}" in vals]
        if ks:
            models[label] = {"ks": ks, "rmse_um": [vals[f"roll_rmse_um_k{k}"] for k in ks],
                             "rmse_over_zero": [vals.get(f"roll_rmse_over_zero_k{k}") for k in ks]}
    if not models:
        return False
    ks = max((m["ks"] for m in models.values()), key=len)
    section = {"horizons_frames": ks, "n_start_frames": "the runs'",
               "models": {n: m for n, m in models.items() if m["ks"] == ks}}
    write_atomic(path, rollout_png(section, f"{dataset} (mean over runs)"))
    return True


def dynamics_caption(cells_rule: str | None = None) -> str:
    """What the dynamics table's columns mean, under it."""
    text = ("Rollouts: position RMSE(k) after k frames of autoregressive prediction, divided by the zero reference's "
            "(standing still) and by the oracle's (the true noise-free dynamics integrated k frames from the true "
            "state; with a diffusing heading its frozen-heading prediction is not a floor at long k); ES(k): energy "
            "score of sampled rollouts (the model's own sigma, or its validation residuals as noise), um, lower is "
            "better. Distances: free rollouts over the whole test block against the truth (MSD, g(r): relative L2; "
            f"VACF, polar order: RMS difference); the row {DIST_FLOOR_LABEL} is the distance between two independent "
            "simulations of the same system, what a perfect model scores.")
    if cells_rule:
        text += f" Cells: {cells_rule}."
    return text


__all__ = ["INTERACTION_COLUMNS", "probe_columns", "interaction_caption", "DYNAMICS_COLUMNS", "CURVE_KEYS", "rollout_growth_png", "DIST_FLOOR_LABEL", "dynamics_columns", "floor_row", "fill_filtered_oracle_ratio",
           "dynamics_caption"]
