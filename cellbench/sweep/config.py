"""Sweep configuration (TOML) and its expansion into one :class:`RunSpec` per run.

.. code-block:: toml

    [sweep]
    models = ["zero", "const-velocity", "ar", "physattn"]
    datasets = ["preset:default", "../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_02_spots.csv",
                ["hsc02.csv", "hsc01.csv"]]   # a list: several sequences in one run (split = "sequence")
    seeds = [0, 1, 2, 3, 4]
    train_fractions = [1.0, 0.25]      # fraction of the training block used (sample efficiency)
    split = "time"                     # or "sequence"

    [models.physattn]                  # a grid over one model's options
    gamma = [0.0, 1.0]
    eta_max = [0.0, 0.1]

Relative dataset paths are resolved against the TOML file's folder.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cellbench.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_SWEEP_KEYS = {"models", "datasets", "seeds", "train_fractions", "split", "test_seq", "fractions", "name"}


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: everything that decides its numbers."""

    model: str
    dataset: tuple[str, ...]  # each "preset:NAME" or a tracks file path; several = one multi-sequence run
    seed: int
    train_fraction: float = 1.0
    split: str = "time"
    test_seq: int | None = None
    model_options: tuple[tuple[str, object], ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model_options"] = dict(self.model_options)
        return d

    @property
    def label(self) -> str:
        """Model name with its non-default options, e.g. ``physattn[gamma=1,eta_max=0]``."""
        if not self.model_options:
            return self.model
        return f"{self.model}[{','.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in self.model_options)}]"


@dataclass(frozen=True)
class SweepConfig:
    name: str
    specs: list[RunSpec] = field(default_factory=list)
    source: str | None = None


def _as_list(value, key: str, where: str, kind) -> list:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, kind) or isinstance(v, bool):
            raise ConfigError(f"{where}: [sweep] {key} must hold {kind.__name__ if isinstance(kind, type) else 'numbers'} values, got {v!r}")
    return values


def expand(cfg: dict, where: str, base_dir: Path | None = None) -> SweepConfig:
    """Validate a parsed sweep TOML and expand its grid (models x datasets x seeds x fractions x options)."""
    if "sweep" not in cfg:
        raise ConfigError(f"{where}: missing the [sweep] table")
    sweep = cfg["sweep"]
    unknown = set(sweep) - _SWEEP_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} in [sweep]; known: {sorted(_SWEEP_KEYS)}")
    for key in ("models", "datasets", "seeds"):
        if key not in sweep:
            raise ConfigError(f"{where}: [sweep] needs '{key}'")
    models = _as_list(sweep["models"], "models", where, str)
    datasets = [tuple(d) if isinstance(d, list) else (d,) for d in _as_list(sweep["datasets"], "datasets", where, (str, list))]
    seeds = _as_list(sweep["seeds"], "seeds", where, int)
    fractions = _as_list(sweep.get("train_fractions", [1.0]), "train_fractions", where, (int, float))
    for f in fractions:
        if not 0 < f <= 1:
            raise ConfigError(f"{where}: [sweep] train_fractions must lie in (0, 1], got {f}")
    split = sweep.get("split", "time")
    if split not in ("time", "sequence"):
        raise ConfigError(f"{where}: [sweep] split must be 'time' or 'sequence', got {split!r}")

    from cellbench.registry import load_all

    known = load_all()
    for m in models:
        if m not in known:
            raise ConfigError(f"{where}: model {m!r} is unknown; choose from {sorted(known)}")
    option_grids = cfg.get("models", {})
    for m in option_grids:
        if m not in models:
            raise ConfigError(f"{where}: [models.{m}] sets options of a model that is not in [sweep] models")

    resolved = [tuple(_resolve(d, where, base_dir) for d in group) for group in datasets]

    specs = []
    for model, dataset, seed, frac in itertools.product(models, resolved, seeds, fractions):
        grid = option_grids.get(model, {})
        keys = sorted(grid)
        for values in itertools.product(*[grid[k] if isinstance(grid[k], list) else [grid[k]] for k in keys]):
            specs.append(
                RunSpec(model, dataset, int(seed), float(frac), split, sweep.get("test_seq"), tuple(zip(keys, values)))
            )
    return SweepConfig(sweep.get("name", Path(where).stem), specs, where)


def _resolve(dataset: str, where: str, base_dir: Path | None) -> str:
    if not isinstance(dataset, str):
        raise ConfigError(f"{where}: [sweep] datasets entries must be strings or lists of strings, got {dataset!r}")
    if dataset.startswith("preset:"):
        return dataset
    p = Path(dataset)
    if not p.is_absolute() and base_dir is not None:
        p = (base_dir / p).resolve()
    if not p.exists():
        raise ConfigError(f"{where}: dataset {dataset!r} does not exist (resolved to {p})")
    return str(p)


def load_sweep(path: Path) -> SweepConfig:
    path = Path(path)
    try:
        cfg = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such sweep file") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from err
    return expand(cfg, str(path), path.parent)
