"""``cellbench tune``: the same hyperparameter budget for every learned model, chosen on the validation block.

A fair comparison gives every learned model the same search: ``trials`` settings drawn from one
seeded random search (:func:`draw`; trial 0 is always the registry's defaults, so tuning can only
improve on them) over the options every learned model has (width, learning rate, weight decay)
plus, for models that use the prior, its weight gamma and the KL weight eta_max. Each trial
trains with the same seed on the training block and is judged by its validation RMSE (um per
frame, both components); the test block is never read. The result (every trial, the chosen
options, how often the epoch cap bound) is written as JSON, to be recorded beside the results
and passed to sweeps as ``[models.NAME]`` options.

Random search rather than a model-based sampler: with 8-16 trials on 2 cores, TPE and random
search are close (Bergstra and Bengio 2012), and random search needs no extra dependency and is
identical for every model by construction.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from cellbench.data.dataset import Dataset
from cellbench.errors import ConfigError
from cellbench.models.registry import entry
from cellbench.train.build import build, nest_options

COMMON_SPACE: dict[str, tuple[str, tuple]] = {
    "hidden": ("choice", (16, 32, 64)),
    "train.lr": ("log", (1e-3, 1e-2)),
    "train.weight_decay": ("choice", (0.0, 1e-5, 1e-4)),
}
"""Options every learned model has: (kind, values) with kind 'choice' or 'log' (log-uniform bounds)."""
PRIOR_SPACE: dict[str, tuple[str, tuple]] = {
    "gamma": ("log", (0.03, 3.0)),
    "train.eta_max": ("choice", (0.0, 0.01, 0.1, 1.0)),
}
"""Options of models that use the prior (registry defaults holding ``gamma``)."""


def search_space(model: str) -> dict[str, tuple[str, tuple]]:
    """The search space of a learned model (:data:`COMMON_SPACE`, plus :data:`PRIOR_SPACE` with a prior)."""
    e = entry(model)
    if e.kind != "learned":
        raise ConfigError(f"--model {model}: only learned models are tuned; {model} is a {e.kind}")
    return {**COMMON_SPACE, **(PRIOR_SPACE if "gamma" in e.defaults else {})}


def draw(space: dict[str, tuple[str, tuple]], trials: int, seed: int) -> list[dict]:
    """``trials`` option sets: {} (the defaults) first, then seeded random draws from ``space``."""
    if trials < 1:
        raise ConfigError(f"--trials {trials}: must be >= 1")
    rng = np.random.default_rng([seed, 0x7E1E])
    out: list[dict] = [{}]
    for _ in range(trials - 1):
        opts = {}
        for key, (kind, values) in space.items():
            if kind == "choice":
                opts[key] = values[int(rng.integers(len(values)))]
            else:
                lo, hi = np.log(values[0]), np.log(values[1])
                opts[key] = float(f"{math.exp(rng.uniform(lo, hi)):.3g}")
        out.append(opts)
    return out


def val_rmse_um(pred: list[np.ndarray], data: Dataset) -> float:
    """Root mean squared error per component on the validation rows, um per frame."""
    err = data.gather(pred, "val") - data.targets("val")
    return float(np.sqrt(np.mean(err**2)))


@dataclass
class TuneResult:
    """Every trial and the chosen one. trials : [{options, val_rmse_um, best_epoch, epochs_run,
    cap_bound, seconds}]. best : index of the lowest validation RMSE."""

    model: str
    dataset: str
    seed: int
    epochs: int
    trials: list[dict] = field(default_factory=list)

    @property
    def best(self) -> int:
        return int(np.nanargmin([t["val_rmse_um"] for t in self.trials]))

    def to_dict(self) -> dict:
        b = self.trials[self.best]
        return {"model": self.model, "dataset": self.dataset, "seed": self.seed, "epochs": self.epochs,
                "method": "seeded random search, trial 0 = registry defaults; judged by validation RMSE (um)",
                "space": {k: list(v[1]) for k, v in search_space(self.model).items()},
                "trials": self.trials, "best_trial": self.best, "best_options": b["options"],
                "best_val_rmse_um": b["val_rmse_um"],
                "cap_bound_trials": int(sum(t["cap_bound"] for t in self.trials))}


def tune(model: str, data: Dataset, trials: int = 8, seed: int = 0, epochs: int | None = None,
         progress=None) -> TuneResult:
    """Train ``model`` with each of :func:`draw`'s option sets on ``data``'s training block; score on val.

    Parameters
    ----------
    model : a learned model's registry name. data : a Dataset with a validation block.
    trials : the budget, the same for every model. seed : of the draws and of every fit.
    epochs : epoch cap of every trial (default: the training loop's). progress : called as
        ``progress(done, trials)`` after each trial.
    """
    space = search_space(model)
    if not data.n_targets("val"):
        raise ConfigError(f"{data.name}: tuning needs a validation block (the split left it empty)")
    result = TuneResult(model, data.name, int(seed), int(epochs or 0))
    for i, opts in enumerate(draw(space, trials, seed)):
        options = nest_options(opts)
        if epochs is not None:
            options.setdefault("train", {})["epochs"] = int(epochs)
        t0 = time.perf_counter()
        m = build(model, **options).fit(data, seed=seed)
        fr = m.fit_result
        cap = m.train_cfg.epochs
        result.epochs = cap
        result.trials.append({
            "options": opts, "val_rmse_um": val_rmse_um(m.predict(data), data), "best_epoch": fr.best_epoch,
            "epochs_run": len(fr.history), "cap_bound": bool(fr.best_epoch == cap - 1),
            "seconds": time.perf_counter() - t0})
        if progress is not None:
            progress(i + 1, trials)
    return result


__all__ = ["COMMON_SPACE", "PRIOR_SPACE", "search_space", "draw", "val_rmse_um", "TuneResult", "tune"]
