"""Sweep configuration (TOML) and its expansion into one :class:`RunSpec` per run.

.. code-block:: toml

    [sweep]
    models = ["zero", "const-velocity", "ar", "physattn"]
    datasets = ["preset:default", "../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_02_spots.csv",
                ["hsc02.csv", "hsc01.csv"]]   # a list: several sequences in one run (split = "sequence")
    seeds = [0, 1, 2, 3, 4]            # training seeds: initial weights and batching
    sim_seeds = [0, 1, 2]              # presets only: one independent simulated trajectory per seed (default [0])
    train_fractions = [1.0, 0.25]      # fraction of the training block used (sample efficiency)
    split = "time"                     # or "sequence"
    rollout = true                     # multi-step evaluation in every run (cellbench.runs.dynamics)
    horizons = [1, 2, 4, 8, 16]        # rollout horizons, frames
    filtered_oracle = true             # score the filtered oracle in every run on active presets

    train_on = ["real", "sim", "sim+real"]   # learned models: training source (cellbench.runs.sim2real)
    sim_source = "like"                # or a preset name, a preset TOML, or a list of them
    plugins = ["examples/custom_model.py", "mypkg.models"]   # modules that register models of your own
    probes = true                      # force-law probes in every run
    pixel_um = 0.65                    # pixel size (um) for tracks files in pixels
    read_options = { position_units = "um", columns = { track = "TRACK", frame = "t", x = "x", y = "y" } }

    [models.physattn]                  # a grid over one model's options
    gamma = [0.0, 1.0]
    eta_max = [0.0, 0.1]

``sim_seeds`` multiplies the runs of every dataset entry that names a preset: the preset is
simulated once per sim seed (independent trajectories), and every training seed runs on each. A
tracks file is one recorded trajectory, so it ignores ``sim_seeds`` and runs once per training seed
(sim seed 0); a multi-sequence entry varies the sim seed of its preset sequences only. The
default ``[0]`` leaves the spec, and so the result key, of every run as before the option existed.

Relative dataset and preset-TOML paths are resolved against the TOML file's folder; ``data:NAME``
entries (e.g. ``data:BF-C2DL-HSC_01``) in the data folder (:mod:`cellbench.data.location`). The
``train_on`` axis applies to learned models only (references always fit on the real training
block, one run each); a ``"real"`` run has the same spec, hence the same result key, as in a
sweep without the axis, so its finished result is reused.

``plugins`` (module names, or ``.py`` files relative to the TOML file) are imported before the
model names are checked, here and on every Dask worker before its run
(:func:`cellbench.models.plugins.load_plugins`). A plug-in model's run key includes the sha256
of the file that defines it, so editing that file reruns its runs.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cellbench.data.location import is_data_name, resolve_data_name
from cellbench.errors import ConfigError
from cellbench.io import sha256_file
from cellbench.models.plugins import is_plugin_file, load_plugins, source_sha256
from cellbench.models.registry import unknown_model
from cellbench.runs.sim2real import DEFAULT_SIM_SOURCE, TRAIN_ON

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_SWEEP_KEYS = {"models", "datasets", "seeds", "train_fractions", "split", "test_seq", "fractions", "name", "train_on",
               "sim_source", "sim_seeds", "rollout", "horizons", "filtered_oracle", "probes", "plugins", "pixel_um",
               "read_options"}
DEFAULT_HORIZONS = (1, 2, 4, 8, 16)
"""The rollout horizons of a run (frames), as :data:`cellbench.evaluation.rollouts.HORIZONS`."""


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
    train_on: str = "real"
    sim_source: str = DEFAULT_SIM_SOURCE
    sim_source_sha256: str = ""  # of a preset TOML file: editing the file changes the run's key
    sim_seed: int = 0  # seed of the simulated dataset (preset entries of ``dataset`` only)
    rollout: bool = True
    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    filtered_oracle: bool = True
    probes: bool = True
    pixel_um: float | None = None  # pixel size of tracks files in pixels, um
    model_sha256: str = ""  # of the file defining a plug-in model ('' for a built-in one)
    read_options: tuple[tuple[str, object], ...] = ()  # ReadOptions fields beyond pixel_um (columns as pairs)

    def to_dict(self) -> dict:
        """The spec as hashed into the result key.

        A ``train_on = "real"`` spec leaves out the sim-source fields, and ``sim_seed``, ``rollout``,
        ``horizons``, ``filtered_oracle``, ``probes``, ``pixel_um``, ``model_sha256`` and ``read_options``
        appear only when not at their defaults: a spec written before these options existed keeps its key.
        """
        d = asdict(self)
        d["model_options"] = dict(self.model_options)
        d["read_options"] = {k: dict(v) if k == "columns" else v for k, v in self.read_options}
        d["horizons"] = list(self.horizons)
        for key, default in (("sim_seed", 0), ("rollout", True), ("horizons", list(DEFAULT_HORIZONS)),
                             ("filtered_oracle", True), ("probes", True), ("pixel_um", None), ("model_sha256", ""),
                             ("read_options", {})):
            if d[key] == default:
                d.pop(key)
        if self.train_on == "real":
            for key in ("train_on", "sim_source", "sim_source_sha256"):
                d.pop(key)
        elif not self.sim_source_sha256:
            d.pop("sim_source_sha256")
        return d

    @property
    def label(self) -> str:
        """Model name with its non-default options and training source, e.g. ``physattn[gamma=1] (sim+real)``."""
        label = self.model
        if self.model_options:
            label += f"[{','.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in self.model_options)}]"
        if self.train_on != "real":
            source = "" if self.sim_source == DEFAULT_SIM_SOURCE else f" {Path(self.sim_source).stem}"
            label += f" ({self.train_on.replace('sim', 'sim' + source)})"
        return label


@dataclass(frozen=True)
class SweepConfig:
    name: str
    specs: list[RunSpec] = field(default_factory=list)
    source: str | None = None
    plugins: tuple[str, ...] = ()  # imported on every worker before its run (files as absolute paths)


def _as_list(value, key: str, where: str, kind) -> list:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, kind) or isinstance(v, bool):
            raise ConfigError(f"{where}: [sweep] {key} must hold {kind.__name__ if isinstance(kind, type) else 'numbers'} values, got {v!r}")
    return values


def expand(cfg: dict, where: str, base_dir: Path | None = None, data_dir: Path | None = None,
           plugins: tuple[str, ...] = ()) -> SweepConfig:
    """Validate a parsed sweep TOML and expand its grid (models x datasets x sim seeds x seeds x fractions x options).

    ``data_dir``: the data folder for ``data:NAME`` entries (default ``$CELLBENCH_DATA``, see :mod:`cellbench.data.location`).
    ``plugins`` (``--plugin``; files relative to the current folder) are imported with the TOML's
    own ``plugins`` before any model name is checked."""
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
    sim_seeds = _as_list(sweep.get("sim_seeds", [0]), "sim_seeds", where, int)
    if any(s < 0 for s in sim_seeds) or len(set(sim_seeds)) != len(sim_seeds):
        raise ConfigError(f"{where}: [sweep] sim_seeds must be distinct integers >= 0, got {sim_seeds}")
    fractions = _as_list(sweep.get("train_fractions", [1.0]), "train_fractions", where, (int, float))
    for f in fractions:
        if not 0 < f <= 1:
            raise ConfigError(f"{where}: [sweep] train_fractions must lie in (0, 1], got {f}")
    split = sweep.get("split", "time")
    if split not in ("time", "sequence"):
        raise ConfigError(f"{where}: [sweep] split must be 'time' or 'sequence', got {split!r}")
    extras = _evaluation_options(sweep, where)

    train_on = _as_list(sweep.get("train_on", ["real"]), "train_on", where, str)
    for t in train_on:
        if t not in TRAIN_ON:
            raise ConfigError(f"{where}: [sweep] train_on {t!r}: choose from {list(TRAIN_ON)}")
    sources = [_resolve_sim_source(s, where, base_dir) for s in _as_list(sweep.get("sim_source", [DEFAULT_SIM_SOURCE]),
                                                                          "sim_source", where, str)]

    plugins = _plugins(plugins, None, "--plugin") + _plugins(sweep.get("plugins", []), base_dir, f"{where}: [sweep] plugins")
    plugins = tuple(dict.fromkeys(plugins))
    from cellbench.models.registry import MODELS as known

    for m in models:
        if m not in known:
            raise unknown_model(m, f"{where}: model")
    model_sha = {m: source_sha256(m) for m in models}
    option_grids = cfg.get("models", {})
    for m in option_grids:
        if m not in models:
            raise ConfigError(f"{where}: [models.{m}] sets options of a model that is not in [sweep] models")

    resolved = [tuple(_resolve(d, where, base_dir, data_dir) for d in group) for group in datasets]

    specs = []
    runs = [(model, dataset, sim_seed, seed, frac)
            for model, dataset in itertools.product(models, resolved)
            # a tracks file is one trajectory: sim seed 0 only, whatever sim_seeds says
            for sim_seed in (sim_seeds if any(d.startswith("preset:") for d in dataset) else [0])
            for seed, frac in itertools.product(seeds, fractions)]
    for model, dataset, sim_seed, seed, frac in runs:
        grid = option_grids.get(model, {})
        keys = sorted(grid)
        # references fit on the real training block only: one run each, whatever the train_on axis
        sims = [(t, src) for t in train_on for src in ([sources[0]] if t == "real" else sources)]
        if known[model].kind != "learned":
            sims = [("real", sources[0])]
        for values in itertools.product(*[grid[k] if isinstance(grid[k], list) else [grid[k]] for k in keys]):
            for t, (src, src_sha) in sims:
                specs.append(RunSpec(model, dataset, int(seed), float(frac), split, sweep.get("test_seq"),
                                     tuple(zip(keys, values)), t, *((src, src_sha) if t != "real" else (DEFAULT_SIM_SOURCE, "")),
                                     int(sim_seed), model_sha256=model_sha[model], **extras))
    return SweepConfig(sweep.get("name", Path(where).stem), specs, where, plugins)


def _plugins(value, base_dir: Path | None, where: str) -> list[str]:
    """Plug-ins as workers import them (files made absolute, relative to ``base_dir`` or the current
    folder), after importing them here (:func:`~cellbench.models.plugins.load_plugins`)."""
    out = []
    for p in _as_list(value if isinstance(value, str) else list(value), "plugins", where, str) if value else []:
        if is_plugin_file(p):
            p = str(((base_dir or Path.cwd()) / Path(p).expanduser()).resolve())
        out.append(p)
    load_plugins(out, where)
    return out


def _evaluation_options(sweep: dict, where: str) -> dict:
    """``rollout``, ``horizons``, ``filtered_oracle``, ``probes`` and ``pixel_um`` of a [sweep] table, checked."""
    out = {}
    for key in ("rollout", "filtered_oracle", "probes"):
        if key in sweep:
            if not isinstance(sweep[key], bool):
                raise ConfigError(f"{where}: [sweep] {key} must be true or false, got {sweep[key]!r}")
            out[key] = sweep[key]
    if "horizons" in sweep:
        ks = _as_list(sweep["horizons"], "horizons", where, int)
        if not ks or any(k < 1 for k in ks) or len(set(ks)) != len(ks):
            raise ConfigError(f"{where}: [sweep] horizons must be distinct frame counts >= 1, got {ks}")
        out["horizons"] = tuple(sorted(int(k) for k in ks))
    if "pixel_um" in sweep:
        px = sweep["pixel_um"]
        if isinstance(px, bool) or not isinstance(px, (int, float)) or not 0 < px < float("inf"):
            raise ConfigError(f"{where}: [sweep] pixel_um must be a pixel size > 0 in um, got {px!r}")
        out["pixel_um"] = float(px)
    if "read_options" in sweep:
        out["read_options"] = _read_options(sweep["read_options"], where)
    return out


def _read_options(table, where: str) -> tuple[tuple[str, object], ...]:
    """``read_options = {...}`` of a [sweep] table (:class:`~cellbench.data.readers.options.ReadOptions`
    fields but ``pixel_um``), checked, as sorted pairs of its non-default fields."""
    from dataclasses import fields

    from cellbench.data.readers.options import ReadOptions

    known = sorted(f.name for f in fields(ReadOptions) if f.name != "pixel_um")
    if not isinstance(table, dict) or set(table) - set(known):
        raise ConfigError(f"{where}: [sweep] read_options must be a table of {known} (pixel_um is its own key), "
                          f"got {table!r}")
    try:
        opts = ReadOptions(**table)
    except ConfigError as err:
        raise ConfigError(f"{where}: [sweep] read_options: {err}") from None
    given = {k: v for k, v in asdict(opts).items() if k != "pixel_um" and v != getattr(ReadOptions(), k)}
    return tuple(sorted((k, tuple(sorted(v.items())) if k == "columns" else v) for k, v in given.items()))


def _resolve_sim_source(source: str, where: str, base_dir: Path | None) -> tuple[str, str]:
    """(sim source as workers receive it, sha256 of its TOML file or '')."""
    if not source.endswith(".toml"):
        from cellbench.sim import PRESETS

        if source != DEFAULT_SIM_SOURCE and source not in PRESETS:
            raise ConfigError(f"{where}: [sweep] sim_source {source!r}: give 'like', a preset "
                              f"({', '.join(sorted(PRESETS))}) or a .toml file")
        return source, ""
    p = Path(source)
    if not p.is_absolute() and base_dir is not None:
        p = (base_dir / p).resolve()
    if not p.is_file():
        raise ConfigError(f"{where}: [sweep] sim_source {source!r} does not exist (resolved to {p})")
    return str(p), sha256_file(p)


def _resolve(dataset: str, where: str, base_dir: Path | None, data_dir: Path | None = None) -> str:
    """A dataset entry as workers receive it: ``preset:NAME`` as is; ``data:NAME`` the absolute path of its file in
    the data folder (:mod:`cellbench.data.location`; the same key as the path written out); a path, absolute."""
    if not isinstance(dataset, str):
        raise ConfigError(f"{where}: [sweep] datasets entries must be strings or lists of strings, got {dataset!r}")
    if dataset.startswith("preset:"):
        return dataset
    if is_data_name(dataset):
        try:
            return str(resolve_data_name(dataset, data_dir))
        except ConfigError as err:
            raise ConfigError(f"{where}: [sweep] datasets: {err}") from None
    p = Path(dataset)
    if not p.is_absolute() and base_dir is not None:
        p = (base_dir / p).resolve()
    if not p.exists():
        raise ConfigError(f"{where}: dataset {dataset!r} does not exist (resolved to {p})")
    return str(p)


def load_sweep(path: Path, data_dir: Path | None = None, plugins: tuple[str, ...] = ()) -> SweepConfig:
    """The sweep of a TOML file; ``plugins`` (``--plugin``) are imported with the file's own."""
    path = Path(path)
    try:
        cfg = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such sweep file") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from err
    return expand(cfg, str(path), path.parent, data_dir, tuple(plugins))
