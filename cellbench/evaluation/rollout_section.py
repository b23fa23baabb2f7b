r"""The ``rollout`` section of a run's ``metrics.json``: RMSE(k) of every predictor on the test blocks.

Each predictor is rolled out (:mod:`cellbench.evaluation.rollouts`) from start frames of each test
block, every ``stride_frames``-th frame whose horizon ``max(horizons)`` stays inside the block
(:func:`rollout_start_frames`); the learned models read ``context_frames`` frames of history before
each start (their track LSTM is re-warmed over them). The oracle is not rolled through
``predict``: it integrates the noise-free dynamics over k frames from the recorded true state
(:func:`cellbench.evaluation.oracle_rollout.oracle_rollout`). Errors pool the (start, cell) pairs
of all test blocks:

.. math:: \mathrm{RMSE}(k) = \sqrt{\frac{\sum_b n_b(k)\,\mathrm{RMSE}_b(k)^2}{\sum_b n_b(k)}}\ [\mathrm{um}]

beside the ``zero`` reference's RMSE(k) on the same pairs (the root mean squared k-frame
displacement) and the oracle's, and their ratios. Start frames are spaced by ``stride_frames``
because neighbouring starts share most of their horizon: on ``default`` (physattn, 3 epochs) the
ratios at k = 1 .. 16 moved by at most 0.004 between stride 1 (29 starts) and stride 4 (8 starts),
at a fifth of the cost.

Sampled rollouts (:mod:`cellbench.evaluation.sampled_rollouts`): ``n_samples`` per start from every
``sample_stride_frames``-th frame, with the model's own sigma when it has a noise model (a
heteroscedastic head), else its validation residuals as Gaussian noise (stated per model), give
the energy score ES(k), the CRPS(k) and the samples' spread beside RMSE(k): a model that predicts
how far cells wander scores a lower ES than one that only gets the mean right.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cellbench.data.dataset import Dataset
from cellbench.evaluation.rollouts import HORIZONS, Rollout, rollout_positions, rollout_rmse_um, start_frames_in
from cellbench.evaluation.sampled_rollouts import energy_score_um, noise_sigma, sampled_rollout
from cellbench.evaluation.shared_work import SharedWork, work_seed

CELLS_RULE = ("a cell is scored at horizon k when its track is present with no gap from the start frame t0 to "
              "t0 + k; cells that appear during the horizon (entering the field of view, daughters, tracks "
              "back from a gap) keep their data positions as given")
"""The rule for cells that appear or vanish during a horizon, as printed under the tables."""


@dataclass(frozen=True)
class RolloutOptions:
    """How rollouts are run and scored.

    horizons : the horizons k, frames. stride_frames : spacing of the start frames, frames.
    context_frames : frames of history kept before each start for the predictor, frames.
    n_samples : sampled rollouts per start (0: none). sample_stride_frames : spacing of their
    start frames, frames (a multiple of ``stride_frames``: a subset of the deterministic starts).
    max_starts, max_sample_starts : at most this many start frames per test block (evenly spread
    over the block's starts when the stride gives more): a long test block (real movies, ~260
    frames on BF-C2DL-HSC) costs what a short one does, while the errors are still pooled over
    the whole block.
    """

    horizons: tuple[int, ...] = HORIZONS
    stride_frames: int = 4
    context_frames: int = 16
    n_samples: int = 4
    sample_stride_frames: int = 16
    max_starts: int = 16
    max_sample_starts: int = 4

    def __post_init__(self):
        if not self.horizons or any(int(k) < 1 for k in self.horizons):
            raise ValueError(f"--horizons must be positive frame counts, got {list(self.horizons)}")
        if self.n_samples < 0 or self.sample_stride_frames < 1:
            raise ValueError(f"rollout n_samples ({self.n_samples}) must be >= 0 and sample_stride_frames "
                             f"({self.sample_stride_frames}) >= 1")
        if self.max_starts < 1 or self.max_sample_starts < 1:
            raise ValueError(f"rollout max_starts ({self.max_starts}) and max_sample_starts "
                             f"({self.max_sample_starts}) must be >= 1")
        if self.stride_frames < 1 or self.context_frames < 0:
            raise ValueError(f"rollout stride_frames ({self.stride_frames}) must be >= 1 and context_frames "
                             f"({self.context_frames}) >= 0")

    @property
    def horizon_frames(self) -> int:
        return int(max(self.horizons))


def rollout_start_frames(data: Dataset, opts: RolloutOptions, stride_frames: int | None = None,
                         max_starts: int | None = None) -> dict[int, np.ndarray]:
    """{sequence index: start frames} of the test blocks (every ``stride_frames``-th frame whose
    horizon stays in the block, default ``opts.stride_frames``; at most ``max_starts`` per block,
    default ``opts.max_starts``, evenly spread); sequences whose test block is shorter than the
    horizon are left out."""
    stride = opts.stride_frames if stride_frames is None else stride_frames
    cap = opts.max_starts if max_starts is None else max_starts
    out: dict[int, list] = {}
    for b in data.blocks:
        if b.split != "test":
            continue
        f = start_frames_in(data.seqs[b.seq].tracks, b.start_frame, b.stop_frame, opts.horizon_frames)[::stride]
        if len(f) > cap:
            f = f[np.unique(np.round(np.linspace(0, len(f) - 1, cap)).astype(int))]
        if len(f):
            out.setdefault(b.seq, []).append(f)
    return {i: np.concatenate(v) for i, v in out.items()}


def fit_horizons(data: Dataset, opts: RolloutOptions) -> tuple[RolloutOptions | None, list[int]]:
    """(options keeping the horizons that fit in the longest test block, the horizons dropped).

    A horizon k needs a start frame t0 with t0 + k inside the block; on short test blocks (short
    movies) the longer horizons are dropped, and said so in the section. None when none fits.
    """
    longest = 0
    for b in data.blocks:
        if b.split == "test":
            f = data.seqs[b.seq].tracks.frames
            held = f[(f >= b.start_frame) & (f < b.stop_frame)]
            longest = max(longest, int(held[-1] - held[0]) if len(held) else 0)
    keep = tuple(k for k in opts.horizons if int(k) <= longest)
    dropped = [int(k) for k in opts.horizons if int(k) > longest]
    if not keep:
        return None, dropped
    return replace(opts, horizons=keep), dropped


def model_rollouts(name: str, predictor, data: Dataset, starts: dict[int, np.ndarray],
                   opts: RolloutOptions) -> list[Rollout]:
    """One :class:`Rollout` per sequence with start frames (the oracle from the simulator state)."""
    if name == "oracle":
        from cellbench.evaluation.oracle_rollout import oracle_rollout

        return [oracle_rollout(data.seqs[i], f, opts.horizon_frames) for i, f in starts.items()]
    return [rollout_positions(predictor, data.seqs[i].tracks, f, opts.horizon_frames, opts.context_frames)
            for i, f in starts.items()]


def pooled_rmse_um(rollouts: list[Rollout], horizons) -> dict[int, dict[str, float]]:
    """RMSE(k) and the zero reference's pooled over sequences, weighted by their scored pairs."""
    per = [rollout_rmse_um(r, horizons) for r in rollouts]
    out = {}
    for k in horizons:
        n = np.array([p[k]["n_scored"] for p in per], dtype=float)
        if n.sum() == 0:
            out[int(k)] = {"rmse_um": float("nan"), "zero_rmse_um": float("nan"), "n_scored": 0}
            continue
        w = n / n.sum()
        sq = lambda key: float(np.sqrt(sum(wi * p[k][key] ** 2 for wi, p in zip(w, per) if wi > 0)))  # noqa: E731
        out[int(k)] = {"rmse_um": sq("rmse_um"), "zero_rmse_um": sq("zero_rmse_um"), "n_scored": int(n.sum())}
    return out


def pooled_energy_score_um(sampled: list, horizons) -> dict[int, dict[str, float]]:
    """ES(k), CRPS(k) and the spread pooled over sequences: means weighted by scored pairs (the
    spread as a root mean square)."""
    per = [energy_score_um(s, horizons) for s in sampled]
    out = {}
    for k in horizons:
        n = np.array([p[k]["n_scored"] for p in per], dtype=float)
        if n.sum() == 0:
            out[int(k)] = {"energy_score_um": float("nan"), "crps_um": float("nan"), "spread_um": float("nan")}
            continue
        w = [(wi, p[k]) for wi, p in zip(n / n.sum(), per) if wi > 0]
        out[int(k)] = {"energy_score_um": float(sum(wi * p["energy_score_um"] for wi, p in w)),
                       "crps_um": float(sum(wi * p["crps_um"] for wi, p in w)),
                       "spread_um": float(np.sqrt(sum(wi * p["spread_um"] ** 2 for wi, p in w)))}
    return out


def sampled_scores(predictor, data: Dataset, opts: RolloutOptions, seed: int,
                   pred: list[np.ndarray] | None = None) -> tuple[dict, str]:
    """({k: ES, CRPS, spread}, noise sentence) of ``opts.n_samples`` sampled rollouts per start;
    ``pred``: the predictor's one-step predictions on ``data`` (for the residual sigma), if made."""
    starts = rollout_start_frames(data, opts, opts.sample_stride_frames, opts.max_sample_starts)
    sigma, note = noise_sigma(predictor, data, pred)
    runs = [sampled_rollout(predictor, data.seqs[i].tracks, f, opts.horizon_frames, opts.n_samples,
                            seed=seed + 7919 * i, sigma_um=sigma, context_frames=opts.context_frames, sigma_note=note)
            for i, f in starts.items()]
    return pooled_energy_score_um(runs, [int(k) for k in opts.horizons]), runs[0].noise


def _ratio(a: list[float], b: list[float] | None) -> list[float] | None:
    if b is None:
        return None
    return [x / y if (y and np.isfinite(y) and y > 0) else float("nan") for x, y in zip(a, b)]


def rollout_section(predictors: dict, data: Dataset, opts: RolloutOptions = RolloutOptions(),
                    rollouts: dict[str, list[Rollout]] | None = None, seed: int = 0,
                    shared: SharedWork | None = None) -> dict | None:
    """The ``rollout`` section: per predictor RMSE(k) in um and its ratios to zero and to the oracle.

    Parameters
    ----------
    predictors : {name: (fitted predictor, its one-step predictions)}, as for
        :func:`cellbench.evaluation.scoring.score_predictors`.
    rollouts : already computed rollouts by name (reused, not recomputed).
    seed : seed of the sampled rollouts' draws (the references draw with
        :data:`~cellbench.evaluation.shared_work.REFERENCE_SEED`, :func:`~cellbench.evaluation.shared_work.work_seed`).
    shared : where the references' rollouts are looked up or cached
        (:class:`~cellbench.evaluation.shared_work.SharedWork`); None: computed here.

    Returns
    -------
    None when no test block is longer than the shortest horizon; else (horizons that do not fit in
    the longest test block are dropped and listed in ``horizons_dropped_frames``)
    ``{"horizons_frames", "stride_frames", "context_frames", "n_start_frames", "cells_rule",
    "models": {name: {"rmse_um", "rmse_over_zero", "rmse_over_oracle" (None without oracle),
    "n_scored", and from ``n_samples`` sampled rollouts "energy_score_um", "crps_um", "spread_um",
    "noise"}}}`` with one list entry per horizon. The oracle has no sampled rollout (it
    integrates the noise-free dynamics).
    """
    requested = [int(k) for k in opts.horizons]
    opts, dropped = fit_horizons(data, opts)
    if opts is None:
        return None
    starts = rollout_start_frames(data, opts)
    rollouts = dict(rollouts or {})
    shared = shared or SharedWork.off(data)
    ks = [int(k) for k in opts.horizons]
    scores = {}
    for name, (predictor, _) in predictors.items():
        if name not in rollouts:
            rollouts[name] = shared.get(name, "rollouts", opts,
                                        lambda: model_rollouts(name, predictor, data, starts, opts))
        scores[name] = pooled_rmse_um(rollouts[name], ks)
    oracle = [scores["oracle"][k]["rmse_um"] for k in ks] if "oracle" in scores else None
    models = {}
    for name, sc in scores.items():
        rmse = [sc[k]["rmse_um"] for k in ks]
        models[name] = {"rmse_um": rmse, "rmse_over_zero": _ratio(rmse, [sc[k]["zero_rmse_um"] for k in ks]),
                        "rmse_over_oracle": _ratio(rmse, oracle), "n_scored": [sc[k]["n_scored"] for k in ks]}
        if opts.n_samples and name != "oracle":
            s = work_seed(name, seed)
            es, noise = shared.get(name, "sampled", (opts, s),
                                   lambda: sampled_scores(predictors[name][0], data, opts, s, predictors[name][1]))
            for key in ("energy_score_um", "crps_um", "spread_um"):
                models[name][key] = [es[k][key] for k in ks]
            models[name]["noise"] = noise
    return {"horizons_frames": ks, "stride_frames": opts.stride_frames, "context_frames": opts.context_frames,
            "n_samples": opts.n_samples, "sample_stride_frames": opts.sample_stride_frames,
            "max_starts": opts.max_starts, "max_sample_starts": opts.max_sample_starts,
            "n_start_frames": int(sum(len(f) for f in starts.values())), "cells_rule": CELLS_RULE,
            "horizons_requested_frames": requested, "horizons_dropped_frames": dropped,
            "models": models}


__all__ = ["CELLS_RULE", "RolloutOptions", "rollout_start_frames", "model_rollouts", "pooled_rmse_um", "pooled_energy_score_um",
           "sampled_scores", "rollout_section"]
