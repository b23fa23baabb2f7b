"""``cellbench run``: load tracks, split, fit a predictor, score it beside the references, write the run folder."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import cellbench
from cellbench.dataset import Dataset, build_dataset
from cellbench.errors import ConfigError
from cellbench.evaluate import predictions_table, score
from cellbench.io import sha256_file, write_atomic_with, write_json
from cellbench.readers import read_tracks
from cellbench.registry import MODELS, build, load_all
from cellbench.splits import blocks_to_dicts

REFERENCES = ("zero", "const-velocity")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's numbers; saved as config.json."""

    model: str
    tracks: tuple[str, ...]
    split: str = "time"
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    test_seq: int | None = None
    seed: int = 0
    pixel_um: float | None = None
    model_options: dict = field(default_factory=dict)


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict  # {"model": ..., "test": {...}, "references": {name: {...}}}
    rows: list[tuple[str, dict]]  # (name, metrics) for the printed table, model first


def load_data(cfg: RunConfig) -> Dataset:
    if not cfg.tracks:
        raise ConfigError("--tracks: give at least one tracks file")
    tracks = [read_tracks(Path(p), pixel_um=cfg.pixel_um) for p in cfg.tracks]
    return build_dataset(tracks, split=cfg.split, fractions=cfg.fractions, test_seq=cfg.test_seq)


def default_out_dir(cfg: RunConfig, data: Dataset) -> Path:
    return Path("runs") / f"{cfg.model}-{data.name}-{cfg.split}-seed{cfg.seed}"


def run(cfg: RunConfig, out_dir: Path | None = None) -> RunResult:
    """Fit ``cfg.model`` and the references on the training split; score all on test; write the run folder.

    Nothing is written until every number is computed; each file is written atomically.
    """
    load_all()
    if cfg.model not in MODELS:
        raise ConfigError(f"--model {cfg.model!r} is unknown; choose one of {sorted(MODELS)}")
    data = load_data(cfg)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(cfg, data)

    model = build(cfg.model, **cfg.model_options).fit(data, seed=cfg.seed)
    pred = model.predict(data)
    test = score(pred, data, "test")
    references = {}
    for name in REFERENCES:
        if name == cfg.model:
            continue
        references[name] = score(build(name).fit(data, seed=cfg.seed).predict(data), data, "test")
    metrics = {"model": cfg.model, "dataset": data.name, "split": cfg.split, "test": test, "references": references}
    if data.n_targets("val"):
        metrics["val"] = score(pred, data, "val")

    config = {
        **asdict(cfg),
        "data": [
            {
                "dataset": s.tracks.meta.dataset,
                "path": str(path),
                "sha256": sha256_file(Path(path)) if Path(path).is_file() else None,
                "source_path": s.tracks.meta.source_path,
                "source_sha256": s.tracks.meta.source_sha256,
                "rows": s.tracks.n_rows,
            }
            for path, s in zip(cfg.tracks, data.seqs)
        ],
        "blocks": blocks_to_dicts(data.blocks),
        "cellbench_version": cellbench.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    table = predictions_table(pred, data, "test")
    write_atomic_with(out_dir / "predictions.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    write_json(out_dir / "config.json", config)
    write_json(out_dir / "metrics.json", metrics)  # last: its presence marks a finished run
    rows = [(cfg.model, test)] + list(references.items())
    return RunResult(out_dir, metrics, rows)
