r"""Sim-to-real transfer: train a learned model on a simulation, optionally fine-tune it on real data.

``cellbench run --train-on SOURCE`` (``RunConfig.train_on``) chooses what a learned model is
trained on; it is always scored on the real test block, beside the same references:

``real``
    the real training block (validation on the real val block): the plain run.
``sim``
    a simulation only: the model is fitted (graph radius, target scaler, prior, weights, early
    stopping) on a simulated dataset and never reads a real target before the test.
``sim+real``
    pretrained as for ``sim``, then fine-tuned: the same model is fitted on the real training
    block exactly as a ``real`` run (radius, scaler and prior from the real training block,
    the one loop :func:`cellbench.train.loop.fit`, early stopping on the real val block), starting
    from the pretrained weights instead of random ones. ``real`` and ``sim+real`` therefore
    differ only in the initial weights; the pretrained state competes in the early stopping,
    so fine-tuning never ends worse on the real val block than where it started.

The simulation (``RunConfig.sim_source``) is ``like`` (a preset fitted by
:func:`cellbench.simfit.fit_preset` to each real sequence's *training block*: validation and test
frames never reach the fit), a preset name (``microwell-hsc``) or a preset TOML file
(:func:`cellbench.sim.preset_file.read_preset`, as ``cellbench simulate --like`` writes it). One
simulated sequence is made per real training sequence, with seed :func:`sim_seed_for` (run
seed, sequence): every run seed sees another simulation, so the CI over seeds includes the
simulation's randomness, and the simulation never equals a preset dataset simulated with the
small seeds ``--sim-seed`` uses.

Size: the simulation keeps the first frames whose cell-frames (rows) reach
:math:`N_\mathrm{real\,train} / 0.70`, so that its 70 % training block holds about as many
rows as the real training block (training cost ~ rows); it is split 70/15/15 in time like the
real data, and its test block gives the pretrained model's in-domain score (``sim_test``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellbench.data.dataset import Dataset, build_dataset
from cellbench.errors import ConfigError
from cellbench.data.splits import DEFAULT_FRACTIONS, frames_of
from cellbench.data.tracks import Tracks, TracksMeta

TRAIN_ON = ("real", "sim", "sim+real")
"""Training sources of a learned model (``--train-on``)."""
DEFAULT_SIM_SOURCE = "like"
SIM_SEED_TAG = 5_132_027
"""Mixed into :func:`sim_seed_for` so that pretraining simulations differ from data simulations."""
MAX_SIM_FRAMES = 20_000


def check_train_on(train_on: str, sim_source: str) -> None:
    if train_on not in TRAIN_ON:
        raise ConfigError(f"--train-on {train_on!r}: choose one of {', '.join(TRAIN_ON)}")
    if not isinstance(sim_source, str) or not sim_source:
        raise ConfigError(f"--sim-source {sim_source!r}: give 'like', a preset name or a preset TOML file")


def sim_seed_for(run_seed: int, seq: int = 0) -> int:
    """Seed of the pretraining simulation of training sequence ``seq`` in the run with ``run_seed``.

    ``SeedSequence((run_seed, seq, SIM_SEED_TAG))``'s first 32-bit word: deterministic, distinct
    per run seed and sequence, and unrelated to the data seeds 0, 1, 2, ...
    """
    return int(np.random.SeedSequence([int(run_seed), int(seq), SIM_SEED_TAG]).generate_state(1, dtype=np.uint32)[0])


def training_block_tracks(data: Dataset) -> list[tuple[int, Tracks]]:
    """(sequence number, its rows in training-block frames only) for every sequence with a training block.

    This is all a fitted simulation may read: no validation or test frame.
    """
    out = []
    for i, s in enumerate(data.seqs):
        frames = frames_of(data.blocks, i, "train")
        if len(frames) == 0:
            continue
        df = s.tracks.df[s.tracks.df["frame"].isin(frames)].reset_index(drop=True)
        out.append((i, s.tracks.with_df(df)))
    if not out:
        raise ConfigError(f"{data.name}: no training block to fit a simulation to")
    return out


# -- where the simulation's parameters come from --------------------------------------------------

_FIT_CACHE: dict[str, object] = {}


def _tracks_key(tracks: Tracks) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(tracks.df[["track_id", "frame", "x_um", "y_um"]].to_numpy(dtype=np.float64)).tobytes())
    h.update(repr(tracks.meta.frame_interval_s).encode())
    return h.hexdigest()


def fitted_config(train_tracks: Tracks):
    """:func:`cellbench.simfit.fit_preset` of ``train_tracks`` (cached per process by table content)."""
    try:
        from cellbench.simfit import fit_preset
    except ImportError as err:
        raise ConfigError("--sim-source like needs cellbench.simfit.fit_preset, which this version lacks; "
                          "give a preset name or a preset TOML file") from err
    key = _tracks_key(train_tracks)
    if key not in _FIT_CACHE:
        _FIT_CACHE[key] = fit_preset(train_tracks).config
    return _FIT_CACHE[key]


def sim_config(sim_source: str, train_tracks: Tracks):
    """(SimConfig, one-line description) for ``sim_source`` and one real training block."""
    from cellbench.sim import PRESETS

    if sim_source == "like":
        return fitted_config(train_tracks), f"fitted to the training block of {train_tracks.meta.dataset}"
    if sim_source in PRESETS:
        return PRESETS[sim_source], f"preset {sim_source}"
    path = Path(sim_source)
    if path.suffix == ".toml" and path.is_file():
        from cellbench.sim.preset_file import read_preset

        return read_preset(path), f"preset file {path.name}"
    raise ConfigError(f"--sim-source {sim_source!r}: neither 'like', a preset ({', '.join(sorted(PRESETS))}) "
                      "nor an existing .toml file")


# -- the simulated pretraining dataset ------------------------------------------------------------

def simulate_rows(cfg, target_rows: int, seed: int, name: str) -> Tracks:
    """Simulate ``cfg`` with ``seed``; keep the first frames whose rows reach ``target_rows``.

    When the configured movie holds fewer rows, it is simulated again, longer (up to
    :data:`MAX_SIM_FRAMES` frames); a movie that still falls short is used whole. The
    simulation runs on one numba thread: these movies hold ~10-100 cells, too few for the
    parallel step to pay (the fitted BF-C2DL-HSC_02 preset, 1439 frames: 1.6 s on one thread,
    38 s on two threads of the shared 2-core machine under load).
    """
    import numba

    import cellbench.sim

    n_frames = max(2, int(cfg.n_frames))
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        while True:
            tracks = cellbench.sim.simulate(dataclasses.replace(cfg, n_frames=n_frames), seed).tracks
            cum = tracks.df.groupby("frame").size().sort_index().cumsum()
            have = int(cum.iloc[-1]) if len(cum) else 0
            if have >= target_rows or n_frames >= MAX_SIM_FRAMES:
                break
            n_frames = min(MAX_SIM_FRAMES, math.ceil(n_frames * 1.2 * target_rows / max(have, 1)))
    finally:
        numba.set_num_threads(threads)
    if have > target_rows:
        last = int(cum.index[np.searchsorted(cum.to_numpy(), target_rows)])
        tracks = tracks.with_df(tracks.df[tracks.df["frame"] <= last].reset_index(drop=True))
    meta = TracksMeta(dataset=name, frame_interval_s=tracks.meta.frame_interval_s, fov_um=tracks.meta.fov_um,
                      extra=dict(tracks.meta.extra))
    return Tracks(tracks.df, meta)


@dataclass(frozen=True, eq=False)
class SimPretraining:
    """The simulated dataset a model is pretrained on, and where it came from."""

    data: Dataset
    sources: list[dict]  # per real training sequence: description, sim seed, rows, config

    def summary(self) -> dict:
        return {"sequences": self.sources, "sim_rows": int(sum(s.tracks.n_rows for s in self.data.seqs)),
                "sim_train_targets": self.data.n_targets("train")}


def pretraining_dataset(data: Dataset, sim_source: str, run_seed: int) -> SimPretraining:
    """One simulated sequence per real training sequence, sized to it, split 70/15/15 in time.

    The simulated tracks keep only the columns the real tracks have (a ``radius_um`` column the
    real file lacks would change the models' node features).
    """
    seqs, sources = [], []
    for i, train in training_block_tracks(data):
        cfg, description = sim_config(sim_source, train)
        seed = sim_seed_for(run_seed, i)
        target = math.ceil(train.n_rows / DEFAULT_FRACTIONS[0])
        name = f"sim:{sim_source if sim_source == 'like' else Path(sim_source).stem}:{train.meta.dataset}:seed{seed}"
        sim = simulate_rows(cfg, target, seed, name)
        keep = [c for c in sim.df.columns if c in data.seqs[i].tracks.df.columns]
        sim = Tracks(sim.df[keep], sim.meta)
        seqs.append(sim)
        sources.append({"real_sequence": data.seqs[i].tracks.meta.dataset, "real_train_rows": int(train.n_rows),
                        "description": description, "sim_seed": seed, "sim_rows": int(sim.n_rows),
                        "sim_frames": int(sim.df["frame"].nunique()), "config": cfg.to_dict()})
    return SimPretraining(build_dataset(seqs, split="time", name="+".join(s.meta.dataset for s in seqs)), sources)


def train_learned(name: str, options: dict, data: Dataset, train_on: str, sim_source: str, seed: int):
    """Fit learned model ``name`` for ``train_on`` ('sim' or 'sim+real'); return (model, info, pretrained model).

    ``info`` holds the simulation's provenance, the pretraining run (epochs, seconds) and the
    pretrained model's in-domain score on the simulation's test block.
    """
    from cellbench.evaluation.scoring import score
    from cellbench.train.build import build

    check_train_on(train_on, sim_source)
    if train_on == "real":
        raise ValueError("train_learned handles 'sim' and 'sim+real'; a 'real' run is the plain fit")
    pre = pretraining_dataset(data, sim_source, seed)
    pretrained = build(name, **options).fit(pre.data, seed=seed)
    info = {"train_on": train_on, "sim_source": sim_source, **pre.summary(),
            "pretraining": {"best_epoch": pretrained.fit_result.best_epoch,
                            "epochs_run": len(pretrained.fit_result.history),
                            "seconds": pretrained.fit_result.seconds},
            "sim_test": score(pretrained.predict(pre.data), pre.data, "test")}
    if train_on == "sim":
        return pretrained, info, pretrained
    tuned = build(name, **options).fit(data, seed=seed, init_state=pretrained.net.state_dict())
    return tuned, info, pretrained
