r"""Simulator presets as TOML files: ``write_preset(cfg, path)`` and ``read_preset(path) -> SimConfig``.

Layout: the :class:`~cellbench.sim.config.SimConfig` fields at the top level (units in the key
names), the pair potential in a ``[potential]`` table, and an optional ``[fit]`` table of
provenance (what the preset was fitted to; read back by :func:`read_preset_fit`, ignored by
:func:`read_preset`)::

    description = "fitted to BF-C2DL-HSC_02 ..."
    n_cells = 2
    boundary = "periodic"
    box_um = 175.4
    well_radius_um = "none"
    ...
    [potential]
    name = "harmonic"
    sigma_um = 8.85
    k_kT_per_um2 = 2.8

TOML has no null: a field that is None is written as the string ``"none"``. A field left out
takes the SimConfig default. Unknown keys are refused, naming the file and the valid keys.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

from cellbench.errors import CellbenchError, ConfigError
from cellbench.io import write_atomic
from cellbench.sim.config import SimConfig
from cellbench.sim.potentials import PairPotential, from_dict

NONE = "none"


def _value(v) -> str:
    """One TOML value (str, bool, int, float, list/tuple of those, None -> "none")."""
    if v is None:
        return f'"{NONE}"'
    if hasattr(v, "item") and not isinstance(v, (list, tuple, str)):  # numpy scalar -> Python scalar
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)  # shortest repr that round-trips exactly
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(d: dict) -> list[str]:
    return [f"{k} = {_value(v)}" for k, v in d.items()]


def preset_toml(cfg: SimConfig, fit: dict | None = None, header: str | None = None) -> str:
    """The TOML text of ``cfg`` (and of an optional flat ``fit`` provenance table)."""
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(SimConfig)}
    pot = fields.pop("potential")
    lines = [f"# {line}" for line in (header or "cellbench simulator preset (cellbench.sim.preset_file)").splitlines()]
    lines += ["# units in the key names: um, s, kT; 'none' means not set", ""]
    lines += _table(fields)
    if pot is not None:
        pd = {f.name: getattr(pot, f.name) for f in dataclasses.fields(PairPotential)}
        if pot.name in ("wca", "harmonic"):
            pd.pop("r_cut_um")  # derived from sigma for these two
        lines += ["", "[potential]", *_table({k: v for k, v in pd.items() if v is not None})]
    if fit:
        flat = {k: v for k, v in fit.items() if v is None or isinstance(v, (str, bool, int, float, list, tuple))}
        lines += ["", "[fit]", *_table(flat)]
    return "\n".join(lines) + "\n"


def write_preset(cfg: SimConfig, path: Path, fit: dict | None = None, header: str | None = None) -> None:
    """Write ``cfg`` as a TOML preset file, atomically (see the module docstring for the layout)."""
    write_atomic(Path(path), preset_toml(cfg, fit, header).encode())


def _load(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such preset file")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not a valid TOML preset file ({err})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); TOML preset files must be "
                          "saved as UTF-8") from None


def read_preset(path: Path) -> SimConfig:
    """Read a TOML preset file into a validated SimConfig.

    Raises
    ------
    ConfigError
        naming the file and key for a missing file, bad TOML, an unknown key or table, a
        value of the wrong type, or a value the SimConfig checks refuse.
    """
    path = Path(path)
    data = _load(path)
    fields = {f.name for f in dataclasses.fields(SimConfig)}
    kw: dict = {}
    for key, value in data.items():
        if key == "fit":
            continue
        if key == "potential":
            if isinstance(value, str) and value.lower() == NONE:
                kw["potential"] = None
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: 'potential' must be a [potential] table or \"none\"")
            pot_fields = {f.name for f in dataclasses.fields(PairPotential)}
            unknown = sorted(set(value) - pot_fields)
            if unknown:
                raise ConfigError(f"{path}: [potential] has unknown key(s) {unknown}; choose from {sorted(pot_fields)}")
            try:
                kw["potential"] = from_dict({k: (None if v == NONE else v) for k, v in value.items()})
            except (CellbenchError, TypeError) as err:
                raise ConfigError(f"{path}: [potential]: {err}") from None
            continue
        if key not in fields:
            raise ConfigError(f"{path}: unknown key {key!r}; a preset file holds SimConfig fields "
                              f"{sorted(fields)}, a [potential] table and an optional [fit] table")
        if isinstance(value, str) and value.lower() == NONE:
            value = None
        elif key == "fov_um" and isinstance(value, list):
            value = tuple(value)
        kw[key] = value
    try:
        return SimConfig(**kw)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    except TypeError as err:
        raise ConfigError(f"{path}: {err}") from None


def read_preset_fit(path: Path) -> dict:
    """The ``[fit]`` provenance table of a preset file ({} when absent)."""
    return dict(_load(Path(path)).get("fit", {}))


def is_preset_path(preset: str) -> bool:
    """True when ``--preset`` names a file (ends in .toml or contains a path separator)."""
    return preset.lower().endswith(".toml") or "/" in preset


__all__ = ["read_preset", "write_preset", "preset_toml", "read_preset_fit", "is_preset_path"]
