"""``cellbench run``: train/evaluate one model beside the trivial references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cellbench.commands.options import positive
from cellbench.pipeline import RunConfig
from cellbench.pipeline import run as run_pipeline
from cellbench.registry import load_all
from cellbench.report import console, metrics_table


def _model_help() -> str:
    models = load_all()
    return "Registered model: " + "; ".join(f"{n} ({e.summary})" for n, e in sorted(models.items()))


def run(
    model: Annotated[str, typer.Option(help=_model_help())] = "const-velocity",
    tracks: Annotated[
        Optional[list[Path]],
        typer.Option(help="Tracks file (TrackMate CSV/XML, CTC folder, parquet); repeat for several sequences."),
    ] = None,
    split: Annotated[str, typer.Option(help="'time': contiguous 70/15/15% frame blocks per sequence; 'sequence': leave the last sequence out.")] = "time",
    test_seq: Annotated[Optional[int], typer.Option(help="With --split sequence: which sequence (0-based) is the test set.")] = None,
    pixel_um: Annotated[Optional[float], typer.Option(callback=positive, help="Pixel size in um, for files in pixels.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for everything random.")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="Run folder (default runs/MODEL-DATASET-SPLIT-seedS).")] = None,
):
    """Fit MODEL on the training split of TRACKS, score it on the test split beside the trivial
    references, and write metrics.json, predictions.parquet and config.json into the run folder."""
    cfg = RunConfig(model=model, tracks=tuple(str(p) for p in tracks or ()), split=split, test_seq=test_seq, seed=seed, pixel_um=pixel_um)
    result = run_pipeline(cfg, out)
    title = f"{result.metrics['dataset']}: test split ({result.metrics['split']} split), displacements in um per frame"
    console.print(metrics_table(title, result.rows))
    console.print(f"wrote {result.out_dir}/metrics.json, predictions.parquet, config.json")
