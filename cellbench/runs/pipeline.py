"""``cellbench run``: load data, split, fit a predictor, score it beside the references, write the run folder.

Data are a simulator preset (``--data default``: generated on first use, cached; its truth travels
beside the tracks in ``Sequence.truth`` and is read only by the oracle and the kernel-recovery
metrics) or tracks files (TrackMate CSV/XML, CTC, parquet). On simulated data the references are
zero, const-velocity and the oracle; on real data zero and const-velocity.

The run folder holds ``metrics.json`` (written last; no wall-clock numbers, so the same seed gives
the same bytes), ``timing.json`` (seconds), ``config.json``, ``predictions.parquet`` and,
for learned models, ``checkpoint.pt`` (a state_dict: ``torch.load(..., weights_only=True)``),
``model.json``, ``history.json``, ``attention.parquet`` (test frames) and the PNGs ``loss.png``
and ``attention.png``; with ``train_on='sim+real'`` also ``pretrained.pt`` (the weights the
fine-tuning started from). ``train_on`` 'sim' / 'sim+real' trains a learned model on a
simulation first (:mod:`cellbench.runs.sim2real`); the references always fit on the training block.

A folder holding another run (or files cellbench did not write) is refused before anything is
computed, unless ``overwrite`` (:mod:`cellbench.outdir`); the same run is rewritten in place.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from cellbench.data.dataset import Dataset, build_dataset
from cellbench.data.location import resolve_data_arg
from cellbench.errors import ConfigError
from cellbench.version import __version__
from cellbench.evaluation.interactions import kernel_recovery_all
from cellbench.evaluation.scoring import interval_section, predictions_table, score, score_predictors
from cellbench.evaluation.shared_work import SharedWork
from cellbench.io import nan_to_null, sha256_file, write_atomic_with, write_json
from cellbench.outdir import RunKind, claim_out_dir
from cellbench.data.readers import read_with
from cellbench.data.readers.options import ReadOptions
from cellbench.models.registry import MODELS
from cellbench.train.build import build
from cellbench.runs.sim2real import DEFAULT_SIM_SOURCE, check_train_on, train_learned
from cellbench.runs.dynamics import DYNAMICS_FILES, dynamics_sections, is_active, probe_outputs
from cellbench.runs.simulated import dataset_noise_floor, is_preset, load_simulated
from cellbench.evaluation.rollouts import HORIZONS
from cellbench.data.splits import blocks_to_dicts

REFERENCES = ("zero", "const-velocity")
DEFAULT_DATA = "default"
RUN_FILES = RunKind(frozenset({"metrics.json", "timing.json", "config.json", "predictions.parquet", "checkpoint.pt",
                               "model.json", "history.json", "attention.parquet", "loss.png", "attention.png",
                               "pretrained.pt", *DYNAMICS_FILES}), identity="config.json")
"""Every file a run may write; ``config.json`` identifies the run."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's numbers; saved as config.json.

    data : preset names or tracks files (one sequence each). model_options : passed to the
    model factory (learned models: hidden, heads, gamma, heteroscedastic, prior_transform, train={...}).
    sim_seed : seed of the simulated *data* when ``data`` names a preset.
    train_on : what a learned model trains on (:mod:`cellbench.runs.sim2real`): ``'real'`` (the
    training block), ``'sim'`` (a simulation only) or ``'sim+real'`` (pretrained on the
    simulation, fine-tuned on the training block); it is scored on the real test block either way.
    sim_source : the simulation for ``'sim'`` / ``'sim+real'``: ``'like'`` (fitted to the
    training block only), a preset name or a preset TOML path; its seed derives from ``seed``.
    rollout : also roll every predictor out on the test blocks (:mod:`cellbench.runs.dynamics`)
    at ``horizons`` (frames). filtered_oracle : on active simulated data also score the
    filtered oracle (:mod:`cellbench.models.filtered_oracle`), the denominator of the second ratio.
    probes : also probe every predictor's two-body response and additivity (force-law probes).
    read_options : how to read tracks files beyond ``pixel_um`` (units, column mapping, format;
    :class:`~cellbench.data.readers.options.ReadOptions`); None reads them by suffix and header.
    """

    model: str
    data: tuple[str, ...] = (DEFAULT_DATA,)
    split: str = "time"
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    test_seq: int | None = None
    seed: int = 0
    sim_seed: int = 0
    pixel_um: float | None = None
    model_options: dict = field(default_factory=dict)
    train_fraction: float = 1.0
    train_on: str = "real"
    sim_source: str = DEFAULT_SIM_SOURCE
    rollout: bool = True
    horizons: tuple[int, ...] = HORIZONS
    filtered_oracle: bool = True
    probes: bool = True
    read_options: ReadOptions | None = None


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict  # {"model": ..., "test": {...}, "references": {name: {...}}, ...}
    rows: list[tuple[str, dict]]  # (name, metrics) for the printed table, model first
    model: object = None
    timing: dict = field(default_factory=dict)  # seconds per phase (timing.json): where a run's time goes


def load_data(cfg: RunConfig) -> Dataset:
    """A :class:`Dataset` of the configured sequences; simulated ones carry a SimTruth."""
    if not cfg.data:
        raise ConfigError("--data: give a preset name or a tracks file")
    tracks, truths = [], []
    for item in cfg.data:
        item = resolve_data_arg(item)  # data:NAME -> its file in the data folder ($CELLBENCH_DATA)
        if is_preset(item) and not Path(item).exists():
            t, truth = load_simulated(item, seed=cfg.sim_seed)
        elif Path(item).exists():
            t, truth = read_with(Path(item), _read_options(cfg)), None
        else:
            from cellbench.sim import PRESETS

            raise ConfigError(f"--data {item!r}: neither a file nor a preset (presets are {sorted(PRESETS)}), nor "
                              f"data:NAME for a dataset in the data folder (e.g. data:BF-C2DL-HSC_01)")
        tracks.append(t)
        truths.append(truth)
    return build_dataset(tracks, split=cfg.split, fractions=cfg.fractions, test_seq=cfg.test_seq, truths=truths,
                         train_fraction=cfg.train_fraction)


def _read_options(cfg: RunConfig) -> ReadOptions:
    """``cfg.read_options`` with ``cfg.pixel_um`` (the two must agree when both give a pixel size)."""
    opts = cfg.read_options or ReadOptions()
    if None not in (opts.pixel_um, cfg.pixel_um) and opts.pixel_um != cfg.pixel_um:
        raise ConfigError(f"pixel_um {cfg.pixel_um} and read_options.pixel_um {opts.pixel_um} disagree: give one")
    return replace(opts, pixel_um=cfg.pixel_um if opts.pixel_um is None else opts.pixel_um)


def is_simulated(data: Dataset) -> bool:
    return all(s.truth is not None for s in data.seqs)


def default_out_dir(cfg: RunConfig, data: Dataset) -> Path:
    safe = data.name.replace(":", "-").replace("/", "-")
    return Path("runs") / f"{cfg.model}-{safe}-{cfg.split}-seed{cfg.seed}"


def data_hash(data: Dataset) -> str:
    """sha256 over the sequences' table contents (track_id, frame, x_um, y_um)."""
    h = hashlib.sha256()
    for s in data.seqs:
        df = s.tracks.df[["track_id", "frame", "x_um", "y_um"]]
        h.update(np.ascontiguousarray(df.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def _source_path(item: str, seq) -> str:
    folder = getattr(seq.truth, "folder", None)
    return str(Path(folder) / "tracks.parquet") if folder else (seq.tracks.meta.source_path or str(Path(item)))


def _source_sha256(item: str, seq) -> str | None:
    """sha256 of the file the sequence was read from (the reader's, else the file's bytes)."""
    if seq.tracks.meta.source_sha256:
        return seq.tracks.meta.source_sha256
    path = Path(_source_path(item, seq))
    return sha256_file(path) if path.is_file() else None


def _same_run(cfg: RunConfig):
    want = json.loads(json.dumps(asdict(cfg), default=str))

    def same(config_json: Path) -> bool:
        have = json.loads(config_json.read_text(encoding="utf-8"))
        return {k: have.get(k) for k in want} == want

    return same


def run(cfg: RunConfig, out_dir: Path | None = None, progress: bool = False, overwrite: bool = False,
        device: str = "cpu", files: bool = True) -> RunResult:
    """Fit ``cfg.model`` and the references on the training split; score all on test; write the run folder.

    Nothing is written until every number is computed; each file is written atomically. A folder
    holding another run is refused before any work unless ``overwrite``; the old run's files are
    removed only once the new ones are ready to be written. ``files=False`` writes only
    ``metrics.json``, ``config.json`` and ``timing.json`` (a sweep keeps no run folder): the
    predictions, checkpoints and figures are then neither written nor drawn. The references'
    rollouts and probes are shared with other runs on the same data
    (:mod:`cellbench.evaluation.shared_work`).
    """
    t0 = time.perf_counter()
    if cfg.model not in MODELS:
        raise ConfigError(f"--model {cfg.model!r} is unknown; choose one of {sorted(MODELS)}")
    data = load_data(cfg)
    timing: dict[str, float] = {"load_seconds": time.perf_counter() - t0}
    sim = is_simulated(data)
    if MODELS[cfg.model].needs_truth and not sim:
        raise ConfigError(f"--model {cfg.model}: needs simulated data with truth (use --data PRESET)")
    learned = MODELS[cfg.model].kind == "learned"
    check_train_on(cfg.train_on, cfg.sim_source)
    if cfg.train_on != "real" and not learned:
        raise ConfigError(f"--train-on {cfg.train_on}: applies to learned models only; {cfg.model} is a "
                          f"{MODELS[cfg.model].kind} and fits on the real training block")
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(cfg, data)
    if out_dir.exists():  # refuse now, before the work; clear only when the new files are ready
        claim_out_dir(out_dir, RUN_FILES, _same_run(cfg), overwrite, remove=False)

    options = dict(cfg.model_options)
    if learned:  # how to train, not what: neither is part of the run's config
        options["train"] = {**options.get("train", {}), "progress": progress, "device": device}
    sim2real, pretrained = None, None
    t_fit = time.perf_counter()
    if cfg.train_on == "real":
        model = build(cfg.model, **options).fit(data, seed=cfg.seed)
    else:
        model, sim2real, pretrained = train_learned(cfg.model, options, data, cfg.train_on, cfg.sim_source, cfg.seed)
    pred = model.predict(data)
    timing["fit_predict_seconds"] = time.perf_counter() - t_fit  # frames, graphs, prior, training, one pass
    predictors = {cfg.model: (model, pred)}
    t_refs = time.perf_counter()
    oracles = (["oracle"] + (["filtered-oracle"] if cfg.filtered_oracle and is_active(data) else [])) if sim else []
    for name in list(REFERENCES) + oracles:
        if name != cfg.model:
            ref = build(name).fit(data, seed=cfg.seed)
            predictors[name] = (ref, ref.predict(data))
            timing[f"reference_{name}_seconds"] = time.perf_counter() - t_refs
            t_refs = time.perf_counter()
    t_score = time.perf_counter()
    rows = score_predictors(predictors, data)
    # moving-block bootstrap over test frames (seed fixed: runs differing only in training seed share resamples)
    intervals = interval_section(predictors, data, pairs=[(cfg.model, r) for r in predictors if r != cfg.model])
    test = rows[cfg.model]
    metrics = {"model": cfg.model, "dataset": data.name, "split": cfg.split, "simulated": sim, "train_on": cfg.train_on,
               "test": test,
               "references": {k: v for k, v in rows.items() if k != cfg.model}}
    metrics["intervals"] = intervals
    if data.n_targets("val"):
        metrics["val"] = score(pred, data, "val")
    if sim:  # thermal + localization noise on the test targets (cellbench.runs.simulated.noise_floor)
        metrics["noise_floor"] = dataset_noise_floor(data, "test")
    timing["scoring_seconds"] = time.perf_counter() - t_score  # incl. the moving-block bootstrap

    extra_files: dict[str, object] = {}
    shared = SharedWork(data)
    if cfg.rollout:
        t_roll = time.perf_counter()
        sections, writers = dynamics_sections(predictors, data, cfg.horizons, seed=cfg.seed,
                                              progress=progress, shared=shared)
        metrics.update(sections)
        extra_files.update(writers)
        timing["rollout_seconds"] = time.perf_counter() - t_roll
    if cfg.probes:
        t_probe = time.perf_counter()
        sections, writers = probe_outputs(predictors, data, shared=shared)
        metrics.update(sections)
        extra_files.update(writers)
        timing["probe_seconds"] = time.perf_counter() - t_probe
    if learned:
        from cellbench.evaluation import run_outputs

        fr, cap = model.fit_result, model.train_cfg.epochs
        metrics["training"] = {"best_epoch": fr.best_epoch, "epochs_run": len(fr.history), "epoch_cap": cap,
                               "cap_bound": bool(fr.best_epoch == cap - 1),  # the last epoch was still the best
                               "device": str(next(model.net.parameters()).device.type)}
        timing["training_seconds"] = model.fit_result.seconds
        t_out = time.perf_counter()
        att = model.attention_table(data, split="test")
        if att is not None and sim:
            metrics["kernel_recovery"] = kernel_recovery_all(att, data, model)
        extra_files.update(run_outputs.learned_outputs(model, data, att, sim))
        timing["attention_outputs_seconds"] = time.perf_counter() - t_out
    if sim2real is not None:
        timing["pretraining_seconds"] = sim2real["pretraining"].pop("seconds")
        metrics["sim2real"] = sim2real
        if pretrained is not model:
            from cellbench.train.loop import save_checkpoint

            state = pretrained.net.state_dict()
            extra_files["pretrained.pt"] = lambda path, state=state: save_checkpoint(path, state)

    config = {
        **asdict(cfg),
        "data_files": [
            {"dataset": s.tracks.meta.dataset, "path": _source_path(item, s), "sha256": _source_sha256(item, s),
             "rows": s.tracks.n_rows}
            for item, s in zip(cfg.data, data.seqs)
        ],
        "data_sha256": data_hash(data),
        "blocks": blocks_to_dicts(data.blocks),
        "model_config": model.config() if hasattr(model, "config") else None,
        "cellbench_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    metrics, undefined = nan_to_null(metrics)  # bare NaN is not JSON
    if undefined:
        metrics["null_means_undefined"] = {
            "fields": undefined,
            "why": "the metric is undefined on these targets (e.g. R^2 of fewer than two targets or of targets "
                   "without variance, an interaction metric without force-bearing edges)"}
    table = predictions_table(pred, data, "test") if files else None
    claim_out_dir(out_dir, RUN_FILES, _same_run(cfg), overwrite)
    if files:
        write_atomic_with(out_dir / "predictions.parquet", lambda tmp: table.to_parquet(tmp, index=False))
        for name, writer in extra_files.items():
            writer(out_dir / name)
    write_json(out_dir / "config.json", config)
    timing["total_seconds"] = time.perf_counter() - t0
    write_json(out_dir / "timing.json", timing)
    write_json(out_dir / "metrics.json", metrics)  # last: its presence marks a finished run
    order = [cfg.model] + [n for n in ("oracle", "const-velocity", "zero") if n in rows and n != cfg.model]
    return RunResult(out_dir, metrics, [(n, rows[n]) for n in order], model, timing)
