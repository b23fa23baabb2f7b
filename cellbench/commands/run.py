"""``cellbench run``: train/evaluate one model beside the trivial references (and the oracle on simulated data)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cellbench.commands.compare import PLUGIN_HELP
from cellbench.commands.console import console, distribution_table, metrics_table, probe_table, rollout_table
from cellbench.commands.data import DATA_DIR_HELP
from cellbench.data.location import resolve_data_arg
from cellbench.commands.options import DEVICE_HELP, device_option, positive, with_read_options
from cellbench.errors import ConfigError
from cellbench.models.plugins import load_plugins
from cellbench.models.registry import MODELS
from cellbench.runs.pipeline import DEFAULT_DATA, RUN_FILES, RunConfig
from cellbench.runs.pipeline import run as run_pipeline
from cellbench.runs.sim2real import DEFAULT_SIM_SOURCE, TRAIN_ON

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions

TABLE_KEYS = ["r2", "rmse_dx_um", "rmse_dy_um", "skill_vs_zero", "skill_vs_const_velocity",
              "oracle_ratio", "filtered_oracle_ratio", "r2_of_oracle", "nll", "coverage_90"]
"""Columns of the printed table (every metric, incl. coverage at 50 and 95%, is in metrics.json)."""


TrainOn = Enum("TrainOn", {name.replace("+", "_"): name for name in TRAIN_ON}, type=str)
"""--train-on choices (the values of :data:`cellbench.runs.sim2real.TRAIN_ON`)."""


def parse_horizons(text: str) -> tuple[int, ...]:
    """``'1,2,4'`` -> (1, 2, 4); a clear error naming --horizons otherwise."""
    try:
        ks = tuple(sorted({int(t) for t in text.split(",") if t.strip()}))
    except ValueError:
        raise ConfigError(f"--horizons {text!r}: give positive frame counts separated by commas, e.g. 1,2,4,8,16")
    if not ks or ks[0] < 1:
        raise ConfigError(f"--horizons {text!r}: give positive frame counts separated by commas, e.g. 1,2,4,8,16")
    return ks


def _model_help() -> str:
    """The registry's names and summaries (metadata only: no model module, no torch, is imported)."""
    return "Registered model: " + "; ".join(f"{n} ({e.summary})" for n, e in sorted(MODELS.items()))


@with_read_options
def run(
    model: Annotated[str, typer.Option(help=_model_help())] = "physattn",
    plugin: Annotated[Optional[list[str]], typer.Option(help=PLUGIN_HELP)] = None,
    data: Annotated[
        Optional[list[str]],
        typer.Option(help="Simulator preset name (e.g. 'default', generated on first use and cached) or tracks file "
                          "(TrackMate CSV/XML, CTC folder, parquet) or data:NAME (a dataset in the data folder, e.g. "
                          "data:BF-C2DL-HSC_01); repeat for several sequences. Default: 'default'."),
    ] = None,
    tracks: Annotated[
        Optional[list[Path]],
        typer.Option(help="Alias of --data for tracks files (kept for older scripts); do not combine with --data."),
    ] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help=DATA_DIR_HELP)] = None,
    split: Annotated[str, typer.Option(help="'time': contiguous 70/15/15% frame blocks per sequence; 'sequence': leave the last sequence out.")] = "time",
    test_seq: Annotated[Optional[int], typer.Option(help="With --split sequence: which sequence (0-based) is the test set.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for everything random (weights, batching).")] = 0,
    sim_seed: Annotated[int, typer.Option(help="Seed of the simulated dataset (with a preset).")] = 0,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Learned models: maximum training epochs (early stopping on val NLL).")] = None,
    heteroscedastic: Annotated[bool, typer.Option(help="Learned models: also predict log sigma^2 (Gaussian NLL with learned variance).")] = False,
    gamma: Annotated[Optional[float], typer.Option(help="physattn: weight gamma of the prior C~ in the attention logits and in pi.")] = None,
    eta_max: Annotated[Optional[float], typer.Option(min=0, help="physattn: final weight of KL(alpha || pi); 0 disables it.")] = None,
    prior_transform: Annotated[str, typer.Option(help="physattn: 'signed' (the paper's C~) or 'abs' (|c(r)|).")] = "signed",
    prior_bias: Annotated[bool, typer.Option(help="physattn: add gamma*C~ to the attention logits (the paper); --no-prior-bias leaves the prior to the KL term only.")] = True,
    train_fraction: Annotated[float, typer.Option(min=0.0, max=1.0, help="Every model (references too): use only the last fraction of each training block (small-data studies); val and test unchanged.")] = 1.0,
    train_on: Annotated[TrainOn, typer.Option(
        help="Learned models: what to train on, always scored on the real test block. 'real': the training block; "
             "'sim': a simulation only (its own 70/15/15 split, about as many cell-frames as the real training block); "
             "'sim+real': pretrained on the simulation, then fine-tuned on the training block (val: the real val block).")] = TrainOn.real,
    sim_source: Annotated[str, typer.Option(
        help="With --train-on sim or sim+real: 'like' (a preset fitted to the real training block only, never to "
             "val/test frames), a preset name (e.g. 'microwell-hsc') or a preset TOML file. The simulation's seed "
             "derives from --seed.")] = DEFAULT_SIM_SOURCE,
    r_cut_um: Annotated[Optional[float], typer.Option(callback=positive, help="Graph radius in um (default 2.5 x the median nearest-neighbour distance of the training frames).")] = None,
    rollout: Annotated[bool, typer.Option(help="Also roll every model out autoregressively on the test blocks: position "
                      "RMSE(k) in um at --horizons, energy score of sampled rollouts, and the statistics (MSD, g(r), "
                      "VACF, polar order) of free rollouts beside the truth; --no-rollout skips it.")] = True,
    horizons: Annotated[str, typer.Option(help="Rollout horizons k in frames, comma-separated.")] = "1,2,4,8,16",
    filtered_oracle: Annotated[bool, typer.Option(help="On active simulated data also score the filtered oracle "
                              "(the best prediction from observed positions; the second ratio column).")] = True,
    probes: Annotated[bool, typer.Option(help="Probe every model's learned force law: its two-body response over "
                      "distance (um) and additivity, beside the simulator's own on simulated data (probes.png).")] = True,
    device: Annotated[str, typer.Option(callback=device_option, help=DEVICE_HELP)] = "auto",
    out: Annotated[Optional[Path], typer.Option(help="Run folder (default runs/MODEL-DATASET-SPLIT-seedS).")] = None,
    overwrite: Annotated[bool, typer.Option(help="The run folder holds another run: remove that run's files (and only "
                         "those) when the new ones are ready. Without it such a folder is refused; the same run "
                         "is rewritten in place.")] = False,
    read: ReadOptions | None = None,
):
    """Fit MODEL on the training split of DATA (or, with --train-on, on a simulation first), score it on the test split beside zero, const-velocity and
    (on simulated data) the oracle, and write metrics.json, config.json, predictions.parquet and, for learned
    models, checkpoint.pt, attention.parquet, loss.png and attention.png into the run folder."""
    load_plugins(plugin or ())
    if data and tracks:
        raise ConfigError("give --data or its alias --tracks, not both")
    items = tuple(data) if data else tuple(str(p) for p in tracks) if tracks else (DEFAULT_DATA,)
    items = tuple(resolve_data_arg(item, data_dir) for item in items)  # data:NAME -> the file it names
    entry = MODELS.get(model)
    options: dict = {}
    if entry is not None and entry.kind == "learned":
        train: dict = {}
        if epochs is not None:
            train["epochs"] = epochs
        if eta_max is not None:
            train["eta_max"] = eta_max
        options = {"train": train, "heteroscedastic": heteroscedastic, "prior_transform": prior_transform,
                   "prior_bias": prior_bias, "r_cut_um": r_cut_um}
        if gamma is not None:
            options["gamma"] = gamma
    cfg = RunConfig(model=model, data=items, split=split, test_seq=test_seq, seed=seed, sim_seed=sim_seed,
                    pixel_um=read.pixel_um, read_options=read.beyond_pixel_um(), model_options=options, train_fraction=train_fraction, train_on=TrainOn(train_on).value,
                    sim_source=sim_source, rollout=rollout, horizons=parse_horizons(horizons),
                    filtered_oracle=filtered_oracle, probes=probes)
    result = run_pipeline(cfg, out, progress=True, overwrite=overwrite, device=device)
    m = result.metrics
    title = f"{m['dataset']}: test split ({m['split']} split), displacements in um per frame"
    console.print(metrics_table(title, result.rows, TABLE_KEYS))
    kr = m.get("kernel_recovery")
    if kr:
        console.print(
            f"kernel recovery (test frames, block 1 head mean): Spearman(alpha, |F_ij|) = {kr['spearman_force']:.3f} "
            f"vs -r_ij reference {kr['spearman_force_ref']:.3f} (a ceiling: |F| falls with r) and the prior's own "
            f"{kr.get('spearman_force_prior', float('nan')):.3f}; AUROC in range {kr['auroc_in_range']:.3f} vs "
            f"{kr['auroc_in_range_ref']:.3f}; recovered range {kr['recovered_range_um']:.3g} um vs true "
            f"{kr['true_range_um']:.3g} um")
    s2r = m.get("sim2real")
    if s2r:
        seqs = "; ".join(f"{q['description']}, seed {q['sim_seed']}, {q['sim_rows']} cell-frames (real training block "
                         f"{q['real_train_rows']})" for q in s2r["sequences"])
        console.print(f"trained on {s2r['train_on']}: simulation {seqs}; pretrained model on the simulation's test "
                      f"block: R2 {s2r['sim_test']['r2']:.3f}")
    if "probes" in m:
        console.print(probe_table(m["probes"], m["dataset"]))
    if "rollout" in m:
        console.print(rollout_table(m["rollout"], m["dataset"]))
    if "distribution" in m:
        console.print(distribution_table(m["distribution"], m["dataset"]))
    written = sorted(p.name for p in result.out_dir.iterdir() if p.name in RUN_FILES.files)
    console.print(f"wrote {result.out_dir}/ ({', '.join(written)})")
