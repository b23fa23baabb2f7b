"""cellbench simulators: overdamped 2D active Brownian particles with known interactions.

Public API
----------
``PRESETS`` : dict[str, SimConfig], named configurations (``cellbench simulate --list``).
``simulate(preset_or_config, seed, overrides=None, progress=None) -> SimResult``
``write_run(result, out_dir)`` / ``load_run(dir) -> SimResult``
``cached_dataset(preset, seed=0, cache_dir=None) -> Path``
``potentials`` : pair potentials u(r) (kT) and forces as pure numpy functions.
"""

from simulators import potentials
from simulators.config import SimConfig, apply_overrides
from simulators.engine import SimResult, simulate
from simulators.output import cached_dataset, load_run, write_run
from simulators.presets import PRESETS

Config = SimConfig

__all__ = ["PRESETS", "Config", "SimConfig", "SimResult", "apply_overrides", "cached_dataset", "load_run",
           "potentials", "simulate", "write_run"]
