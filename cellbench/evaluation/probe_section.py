r"""The ``probes`` section of a run's ``metrics.json``: learned force laws against the simulator's.

For every predictor, the two-body response curve R(r) and the additivity error of
:mod:`cellbench.evaluation.probes`, and on simulated data the truth: the engine's own noise-free
response (:mod:`cellbench.sim.two_body`, self-propulsion removed) on the same grid and geometry,
with the curve errors of :func:`~cellbench.evaluation.probes.response_errors`.

The grid: ``n_points`` (>= 40) distances evenly spaced in [0.3, 3] x the interaction range, the
simulator config's ``interaction_range_um`` (potential cutoff of the largest pair, or alignment
range) on simulated data, else ``range_um`` if given, else the learned models' default graph
radius on the training frames (:func:`cellbench.inputs.graphs.default_r_cut_um`).

Errors are given over the whole grid (``errors``) and over the distances the data holds
(``errors_seen``: r >= the 1st percentile of nearest-neighbour distances over all frames): a
steep potential's truth inside the core is the engine's Euler overshoot over a frame (or NaN where
it blows up), which no data constrains.

Beside the noise-free truth, the *noise-averaged* response
(:func:`cellbench.sim.two_body.noisy_pair_response_um`: the mean over many noisy realisations of
the pair over one frame) is the conditional mean a model trained on the data can learn; over long
frames (20 s on the passive presets) noise carries pairs into contact and the two differ (WCA at
11.1 um: 0.06 um noise-free, 2.6 um noise-averaged). ``rel_l2_noise_averaged`` compares each
curve with it.

The additivity probe puts both neighbours at r_add = min(max(0.6 range, seen minimum), 0.9 range),
90 degrees apart: inside the range, at a distance the data holds.

Predictors that read simulator truth cannot answer synthetic tables: ``oracle`` is replaced by
:class:`~cellbench.evaluation.probes.OracleProbe` (the same noise-free engine, the check that the
probe's geometry, batching, orientation average and baseline are right: its errors are ~0), the
others are listed under ``skipped``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cellbench.data.dataset import Dataset
from cellbench.data.splits import frames_of
from cellbench.evaluation import probes
from cellbench.inputs.graphs import default_r_cut_um, nearest_neighbour_um
from cellbench.models.registry import MODELS
from cellbench.sim import two_body
from cellbench.evaluation.shared_work import TRUTH, SharedWork

GRID_LO, GRID_HI = 0.3, 3.0
"""The grid spans [GRID_LO, GRID_HI] x the interaction range."""
MIN_POINTS = 40
SEEN_PERCENTILE = 1.0
"""Percentile of nearest-neighbour distances below which the data holds (almost) no pair."""


@dataclass(frozen=True)
class ProbeOptions:
    """How the probes are run.

    n_points : grid size (>= 40). n_orientations : pair axes averaged over. history_frames :
    stationary frames before the predicted one. additivity_angle_deg : angle between the two
    neighbours, degrees. range_um : the interaction range in um when the data carry no simulator config.
    noisy_replicas : pairs per distance of the noise-averaged response (its standard error falls as 1/sqrt).
    """

    n_points: int = 48
    n_orientations: int = 4
    noisy_replicas: int = 256
    history_frames: int = probes.HISTORY_FRAMES
    additivity_angle_deg: float = probes.ADDITIVITY_ANGLE_DEG
    range_um: float | None = None

    def __post_init__(self):
        if isinstance(self.n_points, bool) or not isinstance(self.n_points, int) or self.n_points < MIN_POINTS:
            raise ValueError(f"probe n_points must be an integer >= {MIN_POINTS}, got {self.n_points!r}")
        for key in ("n_orientations", "history_frames"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"probe {key} must be an integer >= 1, got {v!r}")
        if self.range_um is not None and not (math.isfinite(self.range_um) and self.range_um > 0):
            raise ValueError(f"probe range_um must be a finite distance > 0 um, got {self.range_um!r}")


def probe_grid_um(range_um: float, n_points: int = 48) -> np.ndarray:
    """(n_points,) distances evenly spaced in [0.3, 3] x ``range_um``, um."""
    if not (math.isfinite(range_um) and range_um > 0):
        raise ValueError(f"range_um must be a finite distance > 0 um, got {range_um!r}")
    if n_points < MIN_POINTS:
        raise ValueError(f"the probe grid needs >= {MIN_POINTS} points, got {n_points}")
    return np.linspace(GRID_LO, GRID_HI, n_points) * range_um


def _sim_config(meta, data: Dataset):
    """The simulator config of ``meta`` (default: the first sequence's truth meta), or None (real data)."""
    if meta is None:
        meta = getattr(data.seqs[0].truth, "meta", None)
    if meta is None:
        return None
    return two_body.as_config(meta)


def interaction_range_um(data: Dataset, cfg, range_um: float | None) -> tuple[float, str]:
    """(range in um, the rule that chose it); see the module docstring."""
    if cfg is not None:
        return float(cfg.interaction_range_um), "the simulator config's interaction_range_um"
    if range_um is not None:
        return float(range_um), "given (range_um)"
    train = [(s.tracks, frames_of(data.blocks, i, "train")) for i, s in enumerate(data.seqs)]
    return default_r_cut_um(train), "the learned models' default graph radius on the training frames"


def seen_min_um(data: Dataset) -> float:
    """The 1st percentile of nearest-neighbour distances over every frame of ``data``, um (NaN if none)."""
    nn = np.concatenate([nearest_neighbour_um(s.tracks) for s in data.seqs])
    return float(np.percentile(nn, SEEN_PERCENTILE)) if len(nn) else float("nan")


def additivity_distance_um(range_um: float, seen_um: float) -> float:
    """min(max(0.6 range, seen minimum), 0.9 range), um."""
    lo = 0.6 * range_um if not math.isfinite(seen_um) else max(0.6 * range_um, seen_um)
    return float(min(lo, 0.9 * range_um))


def true_additivity(cfg, r1_um: float, r2_um: float, angle_deg: float) -> dict:
    """The engine's additivity for the configurations of :func:`probes.three_body_configs_um`."""
    configs = probes.three_body_configs_um(r1_um, r2_um, angle_deg)
    d = np.stack([two_body.noise_free_displacements_um(cfg, c)[0, 0] for c in configs])
    return probes.additivity_from_targets(d)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def noise_averaged_rel_l2(curve: np.ndarray, noisy: np.ndarray, seen: np.ndarray) -> float:
    """Relative L2 error of a learned curve against the noise-averaged response, over the distances
    the data hold where the latter is resolved (NaN when fewer than two)."""
    ok = seen & np.isfinite(noisy) & np.isfinite(curve)
    norm = float(np.linalg.norm(noisy[ok]))
    return float(np.linalg.norm(curve[ok] - noisy[ok]) / norm) if ok.sum() >= 2 and norm > 0 else float("nan")


def _probe_predictors(predictors: dict, cfg) -> tuple[dict, dict]:
    """(predictors that can answer probe tables, {name: why skipped})."""
    keep, skipped = {}, {}
    for name, p in predictors.items():
        entry = MODELS.get(name)
        if entry is None or not entry.needs_truth:
            keep[name] = p
        elif name == "oracle" and cfg is not None:
            keep[name] = probes.OracleProbe(cfg)
        else:
            skipped[name] = "reads simulator truth, which synthetic probe tables do not carry"
    return keep, skipped


def _truth(cfg, r: np.ndarray, r_add: float, opts: ProbeOptions) -> dict:
    """The simulator's own two-body response (noise-free and noise-averaged) and additivity."""
    true_r = two_body.pair_response_um(cfg, r, opts.n_orientations)
    noisy, noisy_se = two_body.noisy_pair_response_um(cfg, r, opts.noisy_replicas)
    return {"response_um": true_r, "range_um": probes.curve_range_um(r, true_r),
            "sign_changes": probes.sign_changes(true_r), "n_unresolved": int(np.sum(~np.isfinite(true_r))),
            "additivity": true_additivity(cfg, r_add, r_add, opts.additivity_angle_deg),
            "response_noise_averaged_um": noisy, "response_noise_averaged_se_um": noisy_se}


def _answers(predictor, template, r: np.ndarray, r_add: float, opts: ProbeOptions) -> tuple:
    """(two-body response curve, additivity error) of one predictor on the probe tables."""
    curve = probes.two_body_response(predictor, template, r, opts.n_orientations, opts.history_frames)
    add = probes.additivity_error(predictor, template, r_add, r_add, opts.additivity_angle_deg, opts.history_frames)
    return curve, add


def probe_section(predictors: dict, data: Dataset, meta: dict | None = None,
                  opts: ProbeOptions = ProbeOptions(), shared: SharedWork | None = None) -> dict:
    """The JSON-ready ``probes`` section: grid, true curve, each model's curve, errors, additivity, rules.

    Parameters
    ----------
    predictors : {name: fitted predictor}; ``oracle`` is answered by :class:`probes.OracleProbe`.
    data : the run's dataset; its first sequence is the probes' template.
    meta : the simulated run's meta dict (``meta["config"]``); None: the first sequence's
        ``truth.meta`` when it has one, else no truth (real data).
    opts : :class:`ProbeOptions`.
    shared : where the truth and the references' answers are looked up or cached
        (:class:`~cellbench.evaluation.shared_work.SharedWork`); None: computed here.

    Returns
    -------
    dict with ``rules``, ``range_um``, ``grid_r_um``, ``r_seen_min_um``, ``additivity_config``,
    ``truth`` (``response_um``, ``range_um``, ``sign_changes``, ``additivity``; None on real data),
    ``models`` ({name: ``response_um``, ``errors``, ``errors_seen``, ``additivity``}; no wall-clock number, so the same seed gives the same bytes)
    and ``skipped``. NaN is written as null.
    """
    if not isinstance(data, Dataset) or not data.seqs:
        raise ValueError("probe_section needs a cellbench Dataset with at least one sequence")
    cfg = _sim_config(meta, data)
    rng_um, rng_rule = interaction_range_um(data, cfg, opts.range_um)
    r = probe_grid_um(rng_um, opts.n_points)
    seen = seen_min_um(data)
    r_add = additivity_distance_um(rng_um, seen)
    seen_mask = r >= seen if math.isfinite(seen) else np.ones(len(r), bool)
    template = data.seqs[0].tracks
    shared = shared or SharedWork.off(data)
    truth = None if cfg is None else shared.get(TRUTH, "probe truth", (opts, r, r_add),
                                                 lambda: _truth(cfg, r, r_add, opts))
    usable, skipped = _probe_predictors(predictors, cfg)
    models = {}
    for name, p in usable.items():
        curve, add = shared.get(name, "probe answers", (opts, r, r_add),
                                lambda: _answers(p, template, r, r_add, opts))
        row = {"response_um": curve, "additivity": add, "errors": None,
               "errors_seen": None}
        if truth is not None:
            row["errors"] = probes.response_errors(r, curve, truth["response_um"])
            if seen_mask.sum() >= 2:
                row["errors_seen"] = probes.response_errors(r[seen_mask], curve[seen_mask],
                                                            truth["response_um"][seen_mask])
            row["rel_l2_noise_averaged"] = noise_averaged_rel_l2(curve, truth["response_noise_averaged_um"], seen_mask)
        models[name] = row
    rules = {**probes.RULES, "range": rng_rule,
             "grid": f"{opts.n_points} distances evenly spaced in [{GRID_LO}, {GRID_HI}] x range_um",
             "seen": f"errors_seen: r >= percentile {SEEN_PERCENTILE:g} of the nearest-neighbour distances "
                     "in the data",
             "range_of_a_curve": f"largest r where |R| >= {probes.PEAK_FRACTION:.0%} of the curve's peak "
                                 "(0: flat zero)",
             "sign_changes": f"over the points with |R| >= {probes.PEAK_FRACTION:.0%} of the curve's peak",
             "oracle": "answered by OracleProbe (the simulator's noise-free response)"}
    if cfg is not None:
        rules["truth"] = dict(two_body.RULES)
    return _jsonable({
        "rules": rules, "range_um": rng_um, "grid_r_um": r, "r_seen_min_um": seen,
        "n_orientations": opts.n_orientations, "history_frames": opts.history_frames,
        "additivity_config": {"r1_um": r_add, "r2_um": r_add, "angle_deg": opts.additivity_angle_deg},
        "truth": truth, "models": models, "skipped": skipped,
    })


__all__ = ["GRID_LO", "GRID_HI", "MIN_POINTS", "SEEN_PERCENTILE", "ProbeOptions", "probe_grid_um",
           "interaction_range_um", "seen_min_um", "additivity_distance_um", "true_additivity", "probe_section"]
