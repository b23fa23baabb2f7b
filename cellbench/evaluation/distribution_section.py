r"""The ``distribution`` section of a run: statistics of each model's free rollout against the truth.

For every test block, each model is rolled out freely from the block's first frame to its last
(:func:`free_rollout_tracks`), with noise: sampled where the model has a noise model (a
heteroscedastic learned model draws with its own sigma), otherwise the mean rollout with its
validation residuals added as Gaussian noise (:class:`~cellbench.evaluation.sampled_rollouts.NoisyPredictor`;
the sentence is stored per model under ``noise``). The statistics of :mod:`cellbench.evaluation.distribution`
(MSD, g(r), VACF, polar order on active data, cell counts on dividing data) of the rolled block
are compared with those of the true block, one distance per statistic, averaged over test
blocks. Beside them, the *floor*: the same distance between the true block and the same frames
of an independent simulation of the same preset (what a perfect model scores; simulated data only).

No model divides: cells (and so counts) come from the data, and a model's ``cell_count``
distance is NaN (:data:`~cellbench.evaluation.distribution.COUNTS_FROM_DATA_NOTE`). The oracle
and the filtered oracle are not rolled out freely: the floor plays the perfect model's part.
"""

from __future__ import annotations

import zlib

import numpy as np

from cellbench.data.dataset import Dataset
from cellbench.data.tracks import Tracks
from cellbench.evaluation.distribution import COUNTS_FROM_DATA_NOTE, DISTANCE_KINDS, distances, statistics
from cellbench.evaluation.rollouts import rolled_tracks, rollout_positions
from cellbench.evaluation.sampled_rollouts import NoisyPredictor, noise_sigma
from cellbench.evaluation.shared_work import SharedWork, work_seed

NOT_FREE = ("oracle", "filtered-oracle")
"""Predictors without a free rollout (see the module docstring)."""


def scorable_test_blocks(data: Dataset) -> list:
    """The test blocks with at least two frames holding cells (a rollout needs one step)."""
    out = []
    for b in data.blocks:
        if b.split != "test":
            continue
        frames = data.seqs[b.seq].tracks.frames
        held = frames[(frames >= b.start_frame) & (frames < b.stop_frame)]
        if len(held) >= 2:
            out.append(b)
    return out


def free_rollout_tracks(name: str, predictor, data: Dataset, block, seed: int,
                        context_frames: int = 16, pred: list[np.ndarray] | None = None) -> tuple[Tracks, str]:
    """(rolled table of ``block``, the noise sentence): one noisy rollout from the block's first frame;
    ``pred``: the predictor's one-step predictions on ``data`` (for the residual sigma), if made."""
    tracks = data.seqs[block.seq].tracks
    frames = tracks.frames
    held = frames[(frames >= block.start_frame) & (frames < block.stop_frame)]
    t0, horizon = int(held[0]), int(held[-1] - held[0])
    sigma, note = noise_sigma(predictor, data, pred)
    words = [int(seed), zlib.crc32(name.encode()), int(block.seq)]
    noisy = NoisyPredictor(predictor, sigma, seed=int(np.random.SeedSequence(words).generate_state(1)[0]),
                           sigma_note=note)
    ro = rollout_positions(noisy, tracks, [t0], horizon, context_frames)
    return rolled_tracks(tracks, ro, 0), noisy.noise


def _free_statistics(name: str, predictor: tuple, data: Dataset, block, seed: int, truth):
    """(statistics of ``name``'s free rollout of ``block``, the noise sentence)."""
    rolled, noise = free_rollout_tracks(name, predictor[0], data, block, seed, pred=predictor[1])
    return statistics(rolled, block.start_frame, block.stop_frame, like=truth), noise


def distribution_section(predictors: dict, data: Dataset, seed: int = 0, active: bool = False,
                         floors: dict[int, Tracks] | None = None, floor_source: str | None = None,
                         shared: SharedWork | None = None) -> tuple[dict | None, dict]:
    """(the ``distribution`` section, ``{statistic: (x, truth, {model: curve}, [floor curve])}`` of the
    first test block for the plots).

    Parameters
    ----------
    predictors : {name: (fitted predictor, one-step predictions)}.
    active : measure the polar order. floors : {sequence index: an independent simulation of the
        same preset} (None: no floor, real data). floor_source : how the floor was made, stated.
    shared : where the references' free rollouts are looked up or cached
        (:class:`~cellbench.evaluation.shared_work.SharedWork`; they draw with its ``REFERENCE_SEED``);
        None: computed here.

    Returns
    -------
    ``{"statistics", "distance_kinds", "blocks", "models": {name: {statistic: distance}},
    "floor": {statistic: distance} | None, "floor_source", "noise": {name: sentence},
    "counts_note"}``; None when no test block has two frames.
    """
    blocks = scorable_test_blocks(data)
    if not blocks:
        return None, {}
    names = [n for n in predictors if n not in NOT_FREE]
    per_model: dict[str, list[dict]] = {n: [] for n in names}
    floor_d: list[dict] = []
    noise, curves = {}, {}
    shared = shared or SharedWork.off(data)
    for i, b in enumerate(blocks):
        tracks = data.seqs[b.seq].tracks
        truth = statistics(tracks, b.start_frame, b.stop_frame, active=active)
        model_stats = {}
        for n in names:
            model_stats[n], noise[n] = shared.get(
                n, "free rollout statistics", (b, active, work_seed(n, seed)),
                lambda: _free_statistics(n, predictors[n], data, b, work_seed(n, seed), truth))
            per_model[n].append(distances(model_stats[n], truth, model_divides=False))
        floor_stats = None
        if floors is not None and b.seq in floors:
            floor_stats = statistics(floors[b.seq], b.start_frame, b.stop_frame, like=truth)
            floor_d.append(distances(floor_stats, truth))
        if i == 0:
            for key in truth.keys:
                x, y = truth.curve(key)
                curves[key] = (x, y, {n: s.curve(key)[1] for n, s in model_stats.items()},
                               [] if floor_stats is None else [floor_stats.curve(key)[1]])
    keys = list(per_model[names[0]][0]) if names else list(DISTANCE_KINDS)
    mean = lambda ds: {k: float(np.nanmean([d[k] for d in ds])) if any(np.isfinite(d[k]) for d in ds)  # noqa: E731
                       else float("nan") for k in keys}
    section = {
        "statistics": keys, "distance_kinds": {k: DISTANCE_KINDS[k] for k in keys},
        "blocks": [{"dataset": data.seqs[b.seq].tracks.meta.dataset, "first_frame": int(b.start_frame),
                    "stop_frame": int(b.stop_frame)} for b in blocks],
        "models": {n: mean(per_model[n]) for n in names},
        "floor": mean(floor_d) if floor_d else None,
        "floor_source": floor_source if floor_d else None,
        "noise": noise, "counts_note": COUNTS_FROM_DATA_NOTE if "cell_count" in keys else None,
    }
    return section, curves


__all__ = ["NOT_FREE", "scorable_test_blocks", "free_rollout_tracks", "distribution_section"]
