"""The multi-step sections of a run: rollouts and distribution statistics, with their PNGs.

:func:`dynamics_sections` rolls every predictor of a run out on the test blocks
(:mod:`cellbench.evaluation.rollout_section`), rolls them freely over each whole test block and
compares the statistics of the motion (:mod:`cellbench.evaluation.distribution_section`), and
returns the ``metrics.json`` sections and the writers of their figures. The filtered oracle is
scored one step ahead only: its k-step prediction would need its particle filter propagated k
frames, which it does not do.

The distribution floor on simulated data is an independent simulation of the same system with
simulation seed + 1 (:func:`floor_simulations`; cached like every simulated preset).
"""

from __future__ import annotations

from cellbench.data.dataset import Dataset
from cellbench.data.tracks import Tracks
from cellbench.evaluation.distribution import KEYS
from cellbench.evaluation.distribution_section import distribution_section
from cellbench.evaluation.rollout_section import RolloutOptions, rollout_section
from cellbench.evaluation.shared_work import SharedWork
from cellbench.io import write_atomic

FLOOR_SEED_OFFSET = 1
"""The distribution floor's simulation seed: the data's simulation seed + this."""
DYNAMICS_FILES = ("rollout.png", *(f"distribution_{k}.png" for k in KEYS), "probes.png")
"""Files :func:`dynamics_sections` may add to a run folder."""

NOT_ROLLED = ("filtered-oracle",)
"""Predictors scored one step ahead only (see the module docstring)."""


def is_active(data: Dataset) -> bool:
    """True when every sequence is simulated with self-propulsion (meta ``v0_um_per_s`` > 0)."""
    metas = [getattr(s.truth, "meta", None) for s in data.seqs]
    return all(isinstance(m, dict) and float(m.get("v0_um_per_s", 0.0)) > 0 for m in metas)


def floor_simulations(data: Dataset) -> tuple[dict[int, Tracks] | None, str | None]:
    """({sequence index: tracks of an independent simulation of the same system}, how it was made),
    or (None, None) when a sequence is not simulated (real data).

    The same system is the run's own config (``meta["config"]``, overrides included) with
    simulation seed + :data:`FLOOR_SEED_OFFSET`; when that config is an unmodified preset or preset
    variant (``default[n_frames=100]``) the cached dataset is used.
    """
    import cellbench.sim
    from cellbench.runs.simulated import is_preset, load_simulated
    from cellbench.sim.engine import resolve_config
    from cellbench.sim.config import config_from_dict

    floors, seeds = {}, set()
    for i, s in enumerate(data.seqs):
        meta = getattr(s.truth, "meta", None)
        if not isinstance(meta, dict) or "config" not in meta:
            return None, None
        seed = int(meta["seed"]) + FLOOR_SEED_OFFSET
        preset = meta.get("preset")
        if is_preset(preset or "") and resolve_config(preset)[1].to_dict() == meta["config"]:
            floors[i] = load_simulated(preset, seed=seed)[0]
            seeds.add(f"{preset} simulation seed {seed}")
        else:
            floors[i] = cellbench.sim.simulate(config_from_dict(meta["config"]), seed).tracks
            seeds.add(f"{preset or 'custom'} (the run's config) simulation seed {seed}")
    return floors, "an independent simulation of the same system: " + ", ".join(sorted(seeds))


def dynamics_sections(predictors: dict, data: Dataset, horizons, seed: int = 0,
                      progress: bool = False, shared: SharedWork | None = None) -> tuple[dict, dict]:
    """(``{"rollout": ...}``, ``{file name: writer(path)}``) for a run's fitted ``predictors``.

    Parameters
    ----------
    predictors : {name: (fitted predictor, one-step predictions)} of the run.
    data : the run's dataset. horizons : the horizons k in frames.
    seed : seed of sampled rollouts. progress : show a progress line.
    shared : the references' work shared between runs on the same data
        (:mod:`cellbench.evaluation.shared_work`; default: the cache under ``$CELLBENCH_CACHE``).

    The figures are drawn only when their writer is called (a sweep keeps metrics only).
    """
    from cellbench.evaluation.distribution_plot import statistic_png
    from cellbench.evaluation.rollout_plot import rollout_png

    sections, files = {}, {}
    shared = shared or SharedWork(data)
    rolled = {k: v for k, v in predictors.items() if k not in NOT_ROLLED}
    section = rollout_section(rolled, data, RolloutOptions(horizons=tuple(int(k) for k in horizons)), seed=seed,
                              shared=shared)
    if section is not None:
        sections["rollout"] = section
        files["rollout.png"] = _writer(rollout_png, section, data.name)
    floors, source = floor_simulations(data)
    dist, curves = distribution_section(predictors, data, seed=seed, active=is_active(data), floors=floors,
                                        floor_source=source, shared=shared)
    if dist is not None:
        sections["distribution"] = dist
        b0 = dist['blocks'][0]
        title = f"{b0['dataset']}: free rollouts over test frames {b0['first_frame']}-{b0['stop_frame'] - 1}"
        for key, (x, truth, models, floor) in curves.items():
            files[f"distribution_{key}.png"] = _writer(statistic_png, key, x, truth, models, floor, title)
    return sections, files


def probe_outputs(predictors: dict, data: Dataset, shared: SharedWork | None = None) -> tuple[dict, dict]:
    """(``{"probes": ...}``, ``{"probes.png": writer}``): every predictor's two-body response and
    additivity beside the simulator's (:mod:`cellbench.evaluation.probe_section`; curves only on real data)."""
    from cellbench.evaluation.probe_plot import probe_png
    from cellbench.evaluation.probe_section import probe_section

    section = probe_section({name: p for name, (p, _) in predictors.items()}, data, shared=shared or SharedWork(data))
    return {"probes": section}, {"probes.png": _writer(probe_png, section, data.name)}


def _writer(draw, *args):
    """A writer of the PNG ``draw(*args)`` returns, drawn only when the file is written."""
    return lambda path: write_atomic(path, draw(*args))


__all__ = ["DYNAMICS_FILES", "NOT_ROLLED", "is_active", "dynamics_sections", "probe_outputs", "floor_simulations"]
