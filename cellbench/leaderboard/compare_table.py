"""``cellbench compare``: run the missing runs of a :class:`~cellbench.runs.compare.CompareConfig`, then
write its one table (Markdown, CSV, PNG) with the paired differences and the answer to "does the
physics prior help on these data?".

Each cell is the mean over training seeds ± the 95 % Student-t half-width
(:func:`cellbench.leaderboard.intervals.seed_interval`, as every leaderboard), beside the
half-width of each run's moving-block bootstrap over test frames
(:func:`~cellbench.leaderboard.intervals.bootstrap_columns`). A difference row ``A - B`` pairs
the two models' runs by training seed (:func:`cellbench.leaderboard.synthetic.paired`); it
counts only when its interval excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import ConfigError
from cellbench.io import write_atomic, write_atomic_with
from cellbench.leaderboard.columns import COLUMNS
from cellbench.leaderboard.intervals import seed_interval
from cellbench.leaderboard.synthetic import _resolved, paired
from cellbench.leaderboard.chart import skill_chart
from cellbench.leaderboard.tables import collect, dataset_slug, fmt_mean_ci, markdown_table, provenance
from cellbench.runs.compare import PHYSICS_PAIR, CompareConfig, check, load_compared_data, pairs, sweep_table
from cellbench.sweep.runner import run_sweep
from cellbench.sweep.spec import expand
from cellbench.sweep.store import ResultStore, check_record

_LABEL = dict((k, label) for k, label, _ in COLUMNS)
COMPARE_COLUMNS = [("r2", _LABEL["r2"], "max"), ("boot_r2_halfwidth", _LABEL["boot_r2_halfwidth"], "none"),
                   ("rmse_um", "RMSE (um)", "min"), ("boot_rmse_halfwidth_um", _LABEL["boot_rmse_halfwidth_um"], "none"),
                   ("skill_vs_zero", _LABEL["skill_vs_zero"], "max")]
"""The table's columns: (metric key, label with units, which value is best)."""
DIFFERENCE_METRICS = ("r2", "rmse_um", "skill_vs_zero")
"""The metrics of every paired-difference row."""
FILES = ("compare.md", "compare.csv", "compare.png")


@dataclass
class CompareResult:
    """dataset : its label in the tables. summary : one row per (model, metric) with ``mean``, ``ci95``, ``n``.
    differences : one row per (pair, metric): ``pair`` ('a - b'), ``mean``, ``ci95``, ``n`` (seeds).
    sentence : the answer to "does the physics prior help?". table : the Markdown table with its
    captions. markdown : ``compare.md`` (title, table, sentence, provenance). failed : runs that
    failed ("model on data seed S: error"). files : what was written."""

    dataset: str
    summary: pd.DataFrame
    differences: pd.DataFrame
    sentence: str
    table: str
    markdown: str
    failed: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def compare(cfg: CompareConfig, out: Path | None = None, progress=None, device: str = "cpu") -> CompareResult:
    """Run every model x training seed of ``cfg`` not in ``out/results`` yet, here, one after another;
    then write ``compare.md``, ``compare.csv`` and ``compare.png`` (skill vs zero) atomically into ``out``.

    Parameters
    ----------
    cfg : the comparison (:class:`~cellbench.runs.compare.CompareConfig`).
    out : output folder (default ``compare/<dataset>``); its ``results/`` is a sweep results store
        (``cellbench leaderboard OUT/results`` reads it too).
    progress : optional ``(n_total, n_done_already) -> advance()`` factory for a progress bar.
    device : where learned models train (``'auto'``, ``'cpu'``, ``'cuda'``).

    Example
    -------
    >>> import cellbench
    >>> res = cellbench.compare(cellbench.CompareConfig(data=("microwell-hsc",), models=("ar", "ridge"),
    ...                         seeds=2, plugins=("examples/custom_model.py",)), out="cmp")  # doctest: +SKIP
    >>> print(res.markdown, res.sentence)  # doctest: +SKIP
    """
    check(cfg)
    sweep = expand(sweep_table(cfg), "cellbench compare", plugins=cfg.plugins)  # checks the data paths too
    data = load_compared_data(cfg)
    out = Path(out) if out is not None else Path("compare") / dataset_slug(data.name)
    summary = run_sweep(sweep, out / "results", progress=progress, local=True, device=device)
    records = [r for r in (check_record(ResultStore(out / "results").path(k))[0] for k in summary.keys) if r]
    if not any(r["status"] == "done" for r in records):
        raise ConfigError(f"cellbench compare: no run finished; {'; '.join(summary.errors) or 'no run recorded'}")
    result = compare_table([r for r in records if r["status"] == "done"], cfg)
    result.failed = list(summary.errors)
    result.files = write_compare(result, out)
    return result


def compare_table(records: list[dict], cfg: CompareConfig) -> CompareResult:
    """The table of finished result records of one comparison (one dataset), without writing it."""
    df = collect([{**r, "label": r["spec"]["model"]} for r in records])  # one option set per model: its name
    dataset = str(df.dataset.iloc[0])
    keys = [k for k, _, _ in COMPARE_COLUMNS] + ["boot_block_len_frames"]
    rows = [{"dataset": dataset, "label": label, "train_fraction": 1.0, "metric": k, **seed_interval(group, k)}
            for label, group in df.groupby("label", sort=False) for k in keys if k in group]
    summary = pd.DataFrame([r for r in rows if r["n"]])
    diffs = pd.DataFrame([{"pair": f"{a} - {b}", "a": a, "b": b, "metric": k,
                           **dict(zip(("mean", "ci95", "n"), paired(df, dataset, a, b, k)))}
                          for a, b in pairs(cfg) for k in DIFFERENCE_METRICS if k in df],
                         columns=["pair", "a", "b", "metric", "mean", "ci95", "n"])
    sentence = prior_sentence(diffs)
    table = _table(summary, diffs, dataset)
    doc = "\n".join([f"# cellbench compare: {dataset}", "", table, "", f"**{sentence}**", "", provenance(df, dataset), ""])
    return CompareResult(dataset, summary, diffs, sentence, table, doc)


def _diff(diffs: pd.DataFrame, pair: str, metric: str) -> tuple[float, float, int]:
    d = diffs[(diffs.pair == pair) & (diffs.metric == metric)]
    return (float(d["mean"].iloc[0]), float(d["ci95"].iloc[0]), int(d["n"].iloc[0])) if len(d) else (np.nan, np.nan, 0)


def _signed(mean: float, ci: float) -> str:
    text = fmt_mean_ci(mean, ci)
    return text if text == "-" or text.startswith("-") else "+" + text


def prior_sentence(diffs: pd.DataFrame) -> str:
    """One sentence: does physattn beat the same network without the prior (transformer)? Yes / no /
    can't tell, from whether the paired 95 % interval of the R^2 difference excludes 0, with the numbers."""
    a, b = PHYSICS_PAIR
    pair = f"{a} - {b}"
    mean, ci, n = _diff(diffs, pair, "r2")
    if n == 0:
        return (f"Does the physics prior help on these data? Not measured: compare both {a} and {b} (the same "
                f"network without the prior), e.g. --models {a},{b}.")
    rmse_mean, rmse_ci, _ = _diff(diffs, pair, "rmse_um")
    numbers = (f"test R2 {a} - {b} = {_signed(mean, ci)} and RMSE {_signed(rmse_mean, rmse_ci)} um "
               f"(mean over {n} training seed{'s' if n > 1 else ''}"
               + (", 95 % interval of the paired differences)" if n > 1 else ")"))
    verdict = _resolved(mean, ci, n)
    if n < 2:
        return (f"Does the physics prior help on these data? Can't tell: one training seed gives no interval; "
                f"{numbers}. Run with --seeds 3 or more.")
    if verdict > 0:
        return f"Does the physics prior help on these data? Yes: {numbers}; the interval excludes 0."
    if verdict < 0:
        return f"Does the physics prior help on these data? No, it hurts: {numbers}; the interval excludes 0."
    return (f"Does the physics prior help on these data? Can't tell: {numbers}; the interval includes 0, so "
            "more seeds (or more data) are needed to tell the two apart.")


def _table(summary: pd.DataFrame, diffs: pd.DataFrame, dataset: str) -> str:
    """The Markdown table: models (references first), then one row per paired difference; its captions."""
    lines = markdown_table(summary, dataset, 1.0, columns=COMPARE_COLUMNS).split("\n")
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    end = next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))
    extra = []
    for pair in dict.fromkeys(diffs.pair):
        cells = {k: _signed(*_diff(diffs, pair, k)[:2]) for k in DIFFERENCE_METRICS}
        n = _diff(diffs, pair, "r2")[2]
        by_label = {label: cells.get(k, "-") for k, label, _ in COMPARE_COLUMNS}
        extra.append(f"| {pair} (paired) | {n} | " + " | ".join(by_label.get(h, "-") for h in header[2:]) + " |")
    caption = ("Rows 'A - B (paired)': A minus B over the same training seeds, mean ± 95 % Student-t half-width of "
               "the per-seed differences; skill vs zero = 1 - (RMSE / RMSE of zero)^2; RMSE per axis, um per frame.")
    return "\n".join(lines[:end] + extra + (["", caption] if extra else []) + lines[end:])


def wide_table(result: CompareResult) -> pd.DataFrame:
    """The table as CSV rows: one per model and per paired difference; ``<metric>_mean`` / ``_ci95`` columns."""
    s = result.summary
    models = s.pivot_table(index="label", columns="metric", values=["mean", "ci95"], aggfunc="first", sort=False)
    models.columns = [f"{metric}_{stat}" for stat, metric in models.columns]
    models.insert(0, "seeds", s.groupby("label", sort=False)["n_seeds"].max())
    models.insert(0, "row", "model")
    d = result.differences
    if d.empty:
        return models.rename_axis("model").reset_index()
    diffs = d.pivot_table(index="pair", columns="metric", values=["mean", "ci95"], aggfunc="first", sort=False)
    diffs.columns = [f"{metric}_{stat}" for stat, metric in diffs.columns]
    diffs.insert(0, "seeds", d.groupby("pair", sort=False)["n"].max())
    diffs.insert(0, "row", "paired difference")
    table = pd.concat([models, diffs]).rename_axis("model").reset_index()
    return table[["model", "row", "seeds"] + sorted(c for c in table.columns if c not in ("model", "row", "seeds"))]


def write_compare(result: CompareResult, out: Path) -> list[Path]:
    """``compare.md``, ``compare.csv`` and ``compare.png`` (skill vs zero per model with its intervals, the
    oracles as lines: :func:`cellbench.leaderboard.chart.skill_chart`), atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, csv, png = (out / name for name in FILES)
    write_atomic(md, result.markdown.encode())
    table = wide_table(result)
    write_atomic_with(csv, lambda tmp: table.to_csv(tmp, index=False))
    has_png = skill_chart(result.summary, result.dataset, png)
    return [md, csv] + ([png] if has_png else [])
