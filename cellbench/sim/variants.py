"""Preset variants: a preset with some of its fields changed, named ``NAME[key=value,...]``.

``default[n_frames=100]`` is the ``default`` preset recorded for 100 frames; any key that
``cellbench simulate --set`` accepts may appear (``potential.<param>`` included). The name is
the dataset everywhere (``--data``, sweep ``datasets = ["preset:default[n_frames=100]"]``, the
boards' ``sim:default[n_frames=100]``), so a board always says which system it was run on.
Leaderboard sweeps use variants to shorten trajectories when they average over independent
simulation seeds instead (see ``leaderboards/configs/synthetic.toml``).
"""

from __future__ import annotations

import re

from cellbench.errors import ConfigError

_VARIANT = re.compile(r"([A-Za-z0-9_.-]+)\[([^\[\]]*)\]")


def split_variant(name: str) -> tuple[str, dict[str, str]]:
    """``'default[n_frames=100,dt_s=0.02]'`` -> ``('default', {'n_frames': '100', 'dt_s': '0.02'})``;
    a plain name -> ``(name, {})``. Values stay strings (the config converts them)."""
    m = _VARIANT.fullmatch(name)
    if m is None:
        return name, {}
    if not m.group(2).strip():
        raise ConfigError(f"preset {name!r}: no key=value between the brackets (e.g. default[n_frames=100])")
    overrides: dict[str, str] = {}
    for item in (p.strip() for p in m.group(2).split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ConfigError(f"preset {name!r}: {item!r} is not key=value (e.g. default[n_frames=100])")
        if key.strip() in overrides:
            raise ConfigError(f"preset {name!r}: {key.strip()} is given twice")
        overrides[key.strip()] = value.strip()
    return m.group(1), overrides


def variant_config(name: str):
    """The :class:`~cellbench.sim.config.SimConfig` of a preset or a variant of one; unknown names and keys are named."""
    from cellbench.sim.config import apply_overrides
    from cellbench.sim.presets import PRESETS

    base, changed = split_variant(name)
    if base not in PRESETS:
        raise ConfigError(f"--preset {name!r} is unknown; choose one of {sorted(PRESETS)} "
                          "(or a variant, e.g. default[n_frames=100])")
    return apply_overrides(PRESETS[base], changed)


def is_variant_of_preset(name: str) -> bool:
    """True for a built-in preset name or a well-formed variant of one (its keys are checked when it is built)."""
    from cellbench.sim.presets import PRESETS

    m = _VARIANT.fullmatch(name)
    return (m.group(1) if m else name) in PRESETS


def file_stem(name: str) -> str:
    """A file-name-safe form of a preset or variant name (``default[n_frames=100]`` -> ``default_n_frames_100``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


__all__ = ["split_variant", "variant_config", "is_variant_of_preset", "file_stem"]
