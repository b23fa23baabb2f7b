"""Leaderboards: gather result records into per-dataset tables (Markdown, CSV, PNG).

Every figure is a mean with a 95 % confidence half-width from Student's t,
:math:`t_{0.975,\\,n-1}\\, s / \\sqrt n`. On a simulated dataset run with several simulation
seeds (independent trajectories), the runs of each simulation seed are first averaged over their
training seeds and the interval is taken over the n simulation seeds; with one simulation seed
(and on real tracks, one recorded trajectory) it is taken over the n training seeds
(:func:`cellbench.leaderboard.intervals.seed_interval`). A line under each simulated table says which. The best value of each
column is marked in bold.
Under each table: the data sha256, config hashes, code version and date, so any row can be
traced to its result files. Under a simulated dataset's table: its noise floor, the per-axis RMSE
left by the thermal kick and the localization noise (:func:`cellbench.runs.simulated.noise_floor`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.io import write_atomic, write_atomic_with
from cellbench.leaderboard.columns import ATTENTION_CEILING_LINE, COLUMNS  # noqa: F401 (re-exported)
from cellbench.leaderboard.dynamics import (CURVE_KEYS, DIST_FLOOR_LABEL, INTERACTION_COLUMNS, interaction_caption, DYNAMICS_COLUMNS, dynamics_caption, dynamics_columns,
                                            fill_filtered_oracle_ratio, floor_row, rollout_growth_png)
from cellbench.leaderboard.intervals import (bootstrap_columns, bootstrap_line, interval_line,  # noqa: F401
                                             seed_interval, seeds_cell, split_sim_seed)
from cellbench.models import registry
from cellbench.sweep import store

REFERENCE_MODELS = registry.names("reference", "oracle")
ORACLES = registry.names("oracle")
"""Models that read the simulator's truth (oracle, filtered-oracle): never marked best."""
"""The trivial references and the oracle, in registry order (grey bars, listed first in every table)."""
# column in collect()'s table <- key of metrics["noise_floor"] (cellbench.runs.simulated.noise_floor)
FLOOR_KEYS = {"floor_rmse_dx_um": "rmse_dx_um", "floor_filtered_rmse_dx_um": "filtered_rmse_dx_um",
              "floor_thermal_um2": "thermal_um2", "floor_localization_um2": "localization_um2",
              "floor_oracle_residual_rmse_um": "oracle_residual_rmse_um",
              "floor_oracle_expected_rmse_um": "oracle_expected_rmse_um"}
NOISE_FLOOR_LABEL = "(noise floor)"  # summary rows of the floor: one per dataset, not a model


def train_on(record: dict) -> str:
    """A result record's training source: 'real', 'sim' or 'sim+real' ('real' before the option existed)."""
    return record.get("spec", {}).get("train_on", "real")


def real_trained(records: list[dict]) -> list[dict]:
    """The records of runs trained on their own dataset's training block (no simulation involved)."""
    return [r for r in records if train_on(r) == "real"]


def fmt_mean_ci(mean: float, ci: float) -> str:
    """``mean ± ci`` with the CI to two significant digits and the mean to the same decimal place.

    ``-`` for a missing mean; the mean alone (4 significant digits) without a CI; ``± 0`` when
    every seed gave the same value (deterministic references).
    """
    if not np.isfinite(mean):
        return "-"
    if not np.isfinite(ci):
        return f"{mean:.4g}"
    if ci < 1e-9 * max(1.0, abs(mean)):
        return f"{mean:.4g} ± 0"
    decimals = max(0, 1 - int(np.floor(np.log10(ci))))
    return f"{mean:.{decimals}f} ± {ci:.{decimals}f}"


def collect(records: list[dict]) -> pd.DataFrame:
    """One row per (run, scored model): dataset, label, sim seed, seed, train fraction and test metrics.

    A simulated dataset (``metrics['dataset']`` of the form ``sim:<preset>:seed<s>``, joined by
    ``+`` for several sequences of one sim seed) has its seed in the ``sim_seed`` column (NaN for
    real tracks). When the records hold several simulation seeds of it, it is labelled without the
    seed, ``sim:<preset>``, so the runs of every trajectory share one table; with one simulation
    seed the label keeps it (``sim:<preset>:seed0``, one trajectory, as before sim seeds existed). Reference rows embedded in each run
    (``metrics['references']``) are added once per (dataset, sim seed, seed) when the sweep did
    not run that reference itself.
    """
    rows = []
    for rec in latest_per_spec(records):
        m, spec = rec["metrics"], rec["spec"]
        dataset = _dataset_label(m, spec)
        seedless, sim_seed = split_sim_seed(dataset)
        base = {
            "dataset": dataset,
            "_seedless": seedless,
            "sim_seed": sim_seed,
            "seed": spec["seed"],
            "train_fraction": spec.get("train_fraction", 1.0),
            "data_sha256": rec.get("data_sha256", ""),
            "code_version": rec.get("code_version", ""),
            "key": rec.get("key", ""),
            **_floor_columns(m),
        }
        kernel = {f"kr_{k}": v for k, v in _flat(m.get("kernel_recovery") or {}).items()}
        training = {"cap_bound": float(m["training"]["cap_bound"])} if "cap_bound" in (m.get("training") or {}) else {}
        rows.append({**base, "label": rec.get("label", spec["model"]), "model": spec["model"], **_flat(m["test"]), **kernel,
                     **training,
                     **dynamics_columns(m, spec["model"]), **bootstrap_columns(m, spec["model"])})
        for name, ref in (m.get("references") or {}).items():
            rows.append({**base, "label": name, "model": name, "embedded": True, **_flat(ref), **dynamics_columns(m, name),
                         **bootstrap_columns(m, name)})
        if floor_row(m):
            rows.append({**base, "label": DIST_FLOOR_LABEL, "model": DIST_FLOOR_LABEL, "embedded": True, **floor_row(m)})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    if "embedded" not in df:
        df["embedded"] = False
    df["embedded"] = df["embedded"].fillna(False).astype(bool)
    several = df._seedless.map(df.groupby("_seedless").sim_seed.nunique()) > 1  # trajectories of one preset
    df.loc[several, "dataset"] = df.loc[several, "_seedless"]
    df = df.drop(columns="_seedless")
    sim = df.sim_seed.fillna(-1)  # NaN never equals itself: a stand-in for the keys below
    # keep an embedded reference only where no run of that model exists for the same dataset and seeds
    own = set(zip(df.loc[~df.embedded, "dataset"], df.loc[~df.embedded, "label"], sim[~df.embedded], df.loc[~df.embedded, "seed"]))
    dup = df.embedded.to_numpy() & np.array([(d, l, q, s) in own for d, l, q, s in zip(df.dataset, df.label, sim, df.seed)],
                                            dtype=bool)
    df = df[~dup]
    # an embedded reference appears once per (dataset, sim seed, seed, train fraction)
    keep = ~df.assign(_sim=sim[~dup]).duplicated(["dataset", "label", "_sim", "seed", "train_fraction"])
    return fill_filtered_oracle_ratio(df[keep].reset_index(drop=True))


def _floor_columns(metrics: dict) -> dict:
    """The run's noise floor as ``floor_*`` columns; for records written before runs recorded it,
    the floor of the preset named in ``metrics['dataset']`` (``sim:<preset>:seed<n>``, one preset)."""
    floor = metrics.get("noise_floor")
    if floor is None:
        floor = _preset_floor(str(metrics.get("dataset") or ""))
    if not floor:
        return {}
    return {col: float(floor[key]) for col, key in FLOOR_KEYS.items() if key in floor}


def _preset_floor(dataset: str) -> dict | None:
    presets = {m.group(1) for m in re.finditer(r"(?:^|\+)sim:([^:+]+):seed\d+(?=\+|$)", dataset)}
    if len(presets) != 1 or len(re.findall(r"(?:^|\+)sim:", dataset)) != dataset.count("+") + 1:
        return None
    try:
        from cellbench.errors import ConfigError
        from cellbench.sim.variants import variant_config
    except ImportError:
        return None
    try:
        cfg = variant_config(presets.pop())  # a preset or a variant of one (default[n_frames=100])
    except ConfigError:
        return None
    from cellbench.runs.simulated import noise_floor

    return noise_floor(cfg.D_t_um2_per_s, cfg.frame_interval_s, cfg.sigma_loc_um)


def latest_per_spec(records: list[dict]) -> list[dict]:
    """Finished records, keeping for each run spec only the newest (older code versions drop out)."""
    latest: dict[str, dict] = {}
    for rec in records:
        if rec.get("status") != "done":
            continue
        spec = json.dumps({**rec["spec"], "data_sha256": rec.get("data_sha256", "")}, sort_keys=True)
        if spec not in latest or rec.get("finished_at", "") > latest[spec].get("finished_at", ""):
            latest[spec] = rec
    return list(latest.values())


def _dataset_label(metrics: dict, spec: dict) -> str:
    name = metrics.get("dataset") or "+".join(spec["dataset"])
    if metrics.get("split", spec.get("split")) == "sequence":
        seqs = name.split("+")
        test = seqs[spec["test_seq"] if spec.get("test_seq") is not None else -1]
        return f"{name} (train on the others, test on {test})"
    return name


def _flat(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def summarize(df: pd.DataFrame, by: tuple[str, ...] = ("dataset", "label", "train_fraction")) -> pd.DataFrame:
    """Long table: one row per group and metric with mean, ci95 and the seeds behind them (:func:`seed_interval`)."""
    out = []
    metric_keys = list(dict.fromkeys(k for k, _, _ in COLUMNS + DYNAMICS_COLUMNS + INTERACTION_COLUMNS if k in df.columns))
    metric_keys += [k for k in ("boot_block_len_frames", *CURVE_KEYS) if k in df.columns]  # captions and plots only
    for keys, group in df.groupby(list(by), sort=False):
        for k in metric_keys:
            row = seed_interval(group, k)
            if row["n"]:
                out.append({**dict(zip(by, keys)), "metric": k, **row})
    floor_keys = [k for k in FLOOR_KEYS if k in df.columns]
    if floor_keys and "label" in by:  # the floor belongs to the dataset: one value per seed, any model
        rest = [b for b in by if b != "label"]
        runs = df.dropna(subset=[floor_keys[0]])
        runs = runs[~runs.assign(_sim=runs.get("sim_seed", np.nan)).fillna({"_sim": -1}).duplicated(rest + ["_sim", "seed"])]
        for keys, group in runs.groupby(rest, sort=False):
            keys = keys if isinstance(keys, tuple) else (keys,)
            for k in floor_keys:
                row = seed_interval(group, k)
                if row["n"]:
                    out.append({**dict(zip(rest, keys)), "label": NOISE_FLOOR_LABEL, "metric": k, **row})
    return pd.DataFrame(out)


def _order(labels: list[str]) -> list[str]:
    refs = [r for r in REFERENCE_MODELS if r in labels]
    last = [DIST_FLOOR_LABEL] if DIST_FLOOR_LABEL in labels else []
    return refs + sorted(l for l in labels if l not in refs and l not in last) + last


def _best(values: pd.Series, better: str) -> float | None:
    v = values.dropna()
    if v.empty:
        return None
    if better == "min":
        return v.min()
    if better == "max":
        return v.max()
    if better == "nominal90":
        return v.iloc[(v - 0.9).abs().argmin()]  # coverage: closest to the nominal 90 %
    return None


def markdown_table(summary: pd.DataFrame, dataset: str, train_fraction: float = 1.0, exclude_oracle_best: bool = True,
                   columns: list = COLUMNS) -> str:
    """Markdown table of one dataset: models as rows, ``mean ± ci`` cells, best per column in bold.

    Under a simulated dataset's table, :func:`interval_line` says what the intervals cover. The oracle is shown but never marked best: it reads the simulator's truth. On simulated data
    a line under the table gives the noise floor (:func:`noise_floor_line`).
    """
    s = summary[(summary.dataset == dataset) & (summary.train_fraction == train_fraction)]
    floor = s[s.label == NOISE_FLOOR_LABEL]
    s = s[s.label != NOISE_FLOOR_LABEL]
    cols = [(k, lab, b) for k, lab, b in columns if k in set(s.metric)]
    labels = _order(list(dict.fromkeys(s[s.metric.isin([k for k, _, _ in cols])].label)))
    pivot_mean = s.pivot_table(index="label", columns="metric", values="mean", aggfunc="first")
    pivot_ci = s.pivot_table(index="label", columns="metric", values="ci95", aggfunc="first")
    by_sim = "interval" in s and (s.interval == "sim_seeds").any()
    seeds_header = "seeds (sim x train)" if by_sim else "seeds"
    lines = [f"| model | {seeds_header} | " + " | ".join(lab for _, lab, _ in cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for label in labels:
        cells = []
        for k, _, better in cols:
            mean = pivot_mean.get(k, pd.Series(dtype=float)).get(label, np.nan)
            ci = pivot_ci.get(k, pd.Series(dtype=float)).get(label, np.nan)
            if not np.isfinite(mean):
                cells.append("-")
                continue
            contenders = pivot_mean[k].drop(index=[l for l in (*ORACLES, DIST_FLOOR_LABEL)
                                                   if (exclude_oracle_best or l == DIST_FLOOR_LABEL) and l in pivot_mean.index])
            best = _best(contenders, better)
            text = fmt_mean_ci(mean, ci)
            marked = best is not None and mean == best and label not in ORACLES and label != DIST_FLOOR_LABEL
            cells.append(f"**{text}**" if marked else text)
        lines.append(f"| {label} | {seeds_cell(s[s.label == label], by_sim)} | " + " | ".join(cells) + " |")
    caption = interval_line(s)
    if caption:
        lines += ["", caption]
    if any(k == "kr_spearman_force_ref" for k, _, _ in cols):
        lines += ["", ATTENTION_CEILING_LINE]
    if any(k.startswith("boot_") for k, _, _ in cols):
        lines += ["", bootstrap_line(s[s.metric == "boot_block_len_frames"]["mean"])]
    if not floor.empty and columns is COLUMNS:  # the one-step noise floor
        lines += ["", noise_floor_line(dict(zip(floor.metric, floor["mean"])))]
    return "\n".join(lines)


def noise_floor_line(floor: dict) -> str:
    """A few sentences: the per-axis RMSE floor of a simulated dataset, its parts, the oracle's share.

    ``floor`` maps :data:`FLOOR_KEYS` columns (``floor_rmse_dx_um``, ``floor_thermal_um2``, ...)
    to values (means over seeds); the oracle's measured residual is optional (records written
    before runs recorded the floor do not have it).
    """
    rmse = floor["floor_rmse_dx_um"]
    thermal = floor.get("floor_thermal_um2", float("nan"))
    loc = floor.get("floor_localization_um2", float("nan"))
    text = (f"noise floor: RMSE dx, dy >= {rmse:.4g} um = sqrt(thermal 2 D_t tau + localization 2 sigma_loc^2) "
            f"= sqrt({thermal:.4g} + {loc:.4g}) um^2 for free passive cells; with interactions the thermal part "
            "changes (activity adds to it, contacts and walls that hold cells back within a frame lower it), the "
            "localization part adds to the oracle's error whatever the dynamics.")
    residual = floor.get("floor_oracle_residual_rmse_um")
    expected = floor.get("floor_oracle_expected_rmse_um")
    if residual is not None and expected is not None and np.isfinite(residual) and np.isfinite(expected):
        text += (f" The oracle's RMSE against the true displacements is {residual:.4g} um, so on these targets it is "
                 f"expected at sqrt({residual:.4g}^2 + {loc:.4g}) = {expected:.4g} um.")
    filtered = floor.get("floor_filtered_rmse_dx_um")
    if loc > 0 and filtered is not None and np.isfinite(filtered):
        text += (f" With localization noise a model that reads the noisy past can beat the oracle (successive "
                 f"observed steps are anti-correlated): for free passive cells down to {filtered:.4g} um "
                 "(Kalman filter).")
    return text


@functools.lru_cache(maxsize=1)
def source_commit() -> str:
    """The checkout's commit, read once per process: before the first table is written, so that the
    tables being written do not mark the tree '-dirty' for the tables after them."""
    return store.git_commit()


def provenance(df: pd.DataFrame, dataset: str) -> str:
    d = df[df.dataset == dataset]
    shas = sorted({s for s in d.data_sha256 if s})
    versions = sorted({v for v in d.code_version if v})
    config_hash = hashlib.sha256(",".join(sorted(d.key)).encode()).hexdigest()[:12]
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    return (
        f"data sha256: {', '.join(s[:16] for s in shas) or '-'}; results hash: {config_hash} "
        f"({d.key.nunique()} result files); code: {', '.join(versions) or '-'}; commit {source_commit() or '-'}; "
        f"generated {date}"
    )


def dataset_slug(dataset: str) -> str:
    """The file-name stem of a dataset's board files (``<slug>.md``, ``<slug>_rollout.png``)."""
    from cellbench.sim.variants import file_stem  # the simulation cache names its folders the same way

    return file_stem(dataset)


def write_leaderboards(records: list[dict], out: Path, title: str = "cellbench leaderboard") -> list[Path]:
    """Write ``<dataset>.md``, ``<dataset>.csv`` and ``<dataset>.png`` (skill chart,
    :mod:`cellbench.leaderboard.chart`) for every dataset; return the paths."""
    from cellbench.leaderboard.chart import skill_chart  # the chart reads this module's row order

    out = Path(out)
    df = collect(real_trained(records))  # runs trained on a simulation are compared in sim-to-real.md
    if df.empty:
        return []
    summary = summarize(df)
    written = []
    for dataset in dict.fromkeys(df.dataset):
        slug = dataset_slug(dataset)
        png, growth = out / f"{slug}.png", out / f"{slug}_rollout.png"
        has_png = skill_chart(summary, dataset, png)
        has_growth = rollout_growth_png(summary, dataset, growth)
        fractions = sorted(set(summary[summary.dataset == dataset].train_fraction), reverse=True)
        parts = [f"# {title}: {dataset}", ""]
        for frac in fractions:
            parts += [f"## training fraction {frac:g}", "", markdown_table(summary, dataset, frac), ""]
            for heading, columns, caption in (("Rollouts and distribution statistics", DYNAMICS_COLUMNS, dynamics_caption()),
                                              ("Interactions: force-law probes and attention", INTERACTION_COLUMNS,
                                               interaction_caption())):
                table = markdown_table(summary, dataset, frac, columns=columns)
                if len(table.split("\n")) > 2 and "|---" in table:
                    parts += [f"### {heading}", "", table, "", caption, ""]
        if has_growth:
            parts += [f"![RMSE(k) growth, {dataset}]({growth.name})", ""]
        parts += [provenance(df, dataset), ""]
        md = out / f"{slug}.md"
        write_atomic(md, "\n".join(parts).encode())
        csv = out / f"{slug}.csv"
        table = summary[summary.dataset == dataset]
        write_atomic_with(csv, lambda tmp, t=table: t.to_csv(tmp, index=False))
        written += [md, csv] + ([png] if has_png else []) + ([growth] if has_growth else [])
    return written

