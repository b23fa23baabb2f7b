"""What ``cellbench compare`` runs: several models x training seeds on one dataset, beside the references.

A :class:`CompareConfig` names the data, the models and the number of training seeds. The runs
themselves are ordinary runs of :func:`cellbench.runs.pipeline.run` with rollouts and probes
off, as a one-dataset sweep (:func:`sweep_table`, the dict a sweep TOML parses to) executed
locally into a results store, so finished runs are skipped when the comparison is run again;
:func:`cellbench.leaderboard.compare_table.compare` runs it and writes the table.

Every run scores its model beside zero and const-velocity (and, on simulated data, the oracle and
the filtered oracle), so these need no runs of their own; AR(k) is run once per seed when it is
not among the models. Paired differences (:func:`pairs`): ``physattn - transformer`` (the same
network with and without the physics prior) whenever both run, every other model against AR,
and any pair asked for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from cellbench.data.readers.options import ReadOptions
from cellbench.errors import ConfigError
from cellbench.models.plugins import load_plugins
from cellbench.models.registry import MODELS, unknown_model
from cellbench.runs.pipeline import DEFAULT_DATA, RunConfig, load_data
from cellbench.runs.simulated import is_preset

EMBEDDED = ("zero", "const-velocity", "oracle", "filtered-oracle")
"""Scored inside every run (the oracles on simulated data only): no run of their own."""
BASELINE = "ar"
"""The classical reference every compared model is paired against; run when not asked for."""
PHYSICS_PAIR = ("physattn", "transformer")
"""physattn minus the same network without the prior: the pair that answers whether the prior helps."""


@dataclass(frozen=True)
class CompareConfig:
    """A comparison of models on one dataset over training seeds ``0 .. seeds - 1``.

    Parameters
    ----------
    data : preset names or tracks files, as ``cellbench run --data`` (several: one run over
        several sequences).
    models : registered model names (plug-ins' too, once ``plugins`` are loaded).
    seeds : number of training seeds (weights and batching), >= 1; intervals need >= 2.
    epochs : learned models' maximum training epochs (None: each model's default).
    plugins : modules or ``.py`` files that register models (``--plugin``).
    pixel_um : pixel size in um, for tracks files in pixels.
    read_options : how to read tracks files beyond ``pixel_um`` (units, columns, format), as
        ``cellbench run`` takes them (:class:`~cellbench.data.readers.options.ReadOptions`).
    split : ``'time'`` or ``'sequence'`` (see ``cellbench run --split``).
    filtered_oracle : on active simulated data also score the filtered oracle.
    pairs : extra ``(a, b)`` pairs whose paired difference ``a - b`` is reported.
    """

    data: tuple[str, ...] = (DEFAULT_DATA,)
    models: tuple[str, ...] = ("ar", "transformer", "physattn")
    seeds: int = 3
    epochs: int | None = None
    plugins: tuple[str, ...] = ()
    pixel_um: float | None = None
    read_options: ReadOptions | None = None
    split: str = "time"
    filtered_oracle: bool = True
    pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        for name in ("data", "models", "plugins", "pairs"):
            if isinstance(getattr(self, name), str):  # a bare string would become its characters
                raise ConfigError(f"CompareConfig.{name} must be a tuple of strings, got the string {getattr(self, name)!r}")
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "pairs", tuple(tuple(p) for p in self.pairs))
        if not self.data:
            raise ConfigError("--data: give a preset name or a tracks file")
        if not self.models or len(set(self.models)) != len(self.models):
            raise ConfigError(f"--models {','.join(self.models)!r}: give distinct model names, e.g. ar,transformer,physattn")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ConfigError(f"--seeds {self.seeds!r}: give the number of training seeds, >= 1 (>= 2 for intervals)")
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1):
            raise ConfigError(f"--epochs {self.epochs!r}: must be an integer >= 1")
        if self.split not in ("time", "sequence"):
            raise ConfigError(f"--split {self.split!r}: choose 'time' or 'sequence'")
        for pair in self.pairs:
            if len(pair) != 2 or pair[0] == pair[1]:
                raise ConfigError(f"--pair {':'.join(pair)!r}: give two different models as A:B (A minus B)")


def parse_models(text: str) -> tuple[str, ...]:
    """``'ar, transformer,physattn'`` -> ``('ar', 'transformer', 'physattn')``."""
    names = tuple(t.strip() for t in text.split(","))
    if not all(names):
        raise ConfigError(f"--models {text!r}: give model names separated by commas, e.g. ar,transformer,physattn")
    return names


def parse_pair(text: str) -> tuple[str, str]:
    """``'physattn:transformer'`` -> ``('physattn', 'transformer')`` (the difference physattn - transformer)."""
    a, sep, b = text.partition(":")
    if not sep or not a.strip() or not b.strip():
        raise ConfigError(f"--pair {text!r}: give two models as A:B, e.g. physattn:transformer (A minus B)")
    return a.strip(), b.strip()


def models_to_run(cfg: CompareConfig) -> tuple[str, ...]:
    """The requested models plus AR when it is missing; the embedded references are left out."""
    asked = tuple(m for m in cfg.models if m not in EMBEDDED)
    return asked + (() if BASELINE in asked else (BASELINE,))


def pairs(cfg: CompareConfig) -> tuple[tuple[str, str], ...]:
    """The paired differences to report: :data:`PHYSICS_PAIR` when both run, every compared model
    (not a reference or an oracle) minus AR, then ``cfg.pairs``; each once, in that order."""
    out = [PHYSICS_PAIR] if set(PHYSICS_PAIR) <= set(cfg.models) else []
    out += [(m, BASELINE) for m in cfg.models if MODELS[m].kind in ("learned", "fitted")]
    return tuple(dict.fromkeys(out + list(cfg.pairs)))


def check(cfg: CompareConfig) -> CompareConfig:
    """Load the plug-ins, then refuse unknown models and pairs of models not compared."""
    load_plugins(cfg.plugins)
    for m in cfg.models:
        if m not in MODELS:
            raise unknown_model(m, "--models: model")
    scored = set(models_to_run(cfg)) | set(EMBEDDED)
    for a, b in cfg.pairs:
        if a not in scored or b not in scored:
            raise ConfigError(f"--pair {a}:{b}: both must be compared models or references; compared: "
                              f"{sorted(scored)}")
    return cfg


def dataset_entry(item: str) -> str:
    """A ``--data`` item as a sweep dataset entry: ``preset:NAME`` or the file's absolute path."""
    if is_preset(item) and not Path(item).exists():
        return f"preset:{item}"
    if Path(item).exists():
        return str(Path(item).resolve())
    from cellbench.sim import PRESETS

    raise ConfigError(f"--data {item!r}: neither a file nor a preset; presets are {sorted(PRESETS)}")


def load_compared_data(cfg: CompareConfig):
    """The :class:`~cellbench.data.dataset.Dataset` compared, read once before any run so that a bad
    file fails here with its reader's error (a preset is simulated and cached)."""
    return load_data(RunConfig(model=cfg.models[0], data=cfg.data, split=cfg.split, pixel_um=cfg.pixel_um,
                               read_options=cfg.read_options))


def sweep_table(cfg: CompareConfig) -> dict:
    """The comparison as a parsed sweep TOML (:func:`cellbench.sweep.spec.expand`): one dataset entry,
    seeds ``0 .. seeds-1``, rollouts and probes off, ``train.epochs`` for the learned models."""
    models = models_to_run(cfg)
    sweep = {"name": "compare", "models": list(models), "datasets": [[dataset_entry(d) for d in cfg.data]],
             "seeds": list(range(cfg.seeds)), "split": cfg.split, "rollout": False, "probes": False,
             "filtered_oracle": cfg.filtered_oracle}
    if cfg.pixel_um is not None:
        sweep["pixel_um"] = float(cfg.pixel_um)
    if cfg.read_options is not None:  # the fields given, as a sweep TOML's read_options table
        given = {k: v for k, v in asdict(cfg.read_options).items() if v != getattr(ReadOptions(), k)}
        if "pixel_um" in given:
            sweep["pixel_um"] = given.pop("pixel_um")
        if given:
            sweep["read_options"] = given
    grids = {m: {"train.epochs": cfg.epochs} for m in models if cfg.epochs is not None and MODELS[m].kind == "learned"}
    return {"sweep": sweep, "models": grids}
