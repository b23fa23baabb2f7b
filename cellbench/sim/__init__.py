"""cellbench simulators: overdamped 2D active Brownian particles with known interactions.

Public API
----------
``PRESETS`` : dict[str, SimConfig], named configurations (``cellbench simulate --list``).
``simulate(preset_or_config, seed, overrides=None, progress=None) -> SimResult``
``write_run(result, out_dir)`` / ``load_run(dir) -> SimResult``
``cached_dataset(preset, seed=0, cache_dir=None) -> Path``
``potentials`` : pair potentials u(r) (kT) and forces as pure numpy functions.
"""

import os

# numba's OpenMP workers spin between the per-step parallel regions; on a shared machine a
# descheduled spinning worker made 2 threads ten times slower than 1 (0.75 vs 7.7 M
# particle-steps/s, WCA N = 10^4, load average ~9 on 2 cores), passive waiting gave 12.6 M.
# libgomp reads this when it loads (numba loads it at the first parallel call); an explicit
# setting by the user wins. Note: it also applies to OpenMP libraries loaded later in the process.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from cellbench.sim import potentials  # noqa: E402
from cellbench.sim.config import SimConfig, apply_overrides  # noqa: E402
from cellbench.sim.engine import SimResult, simulate  # noqa: E402
from cellbench.sim.output import cached_dataset, load_run, write_run  # noqa: E402
from cellbench.sim.presets import PRESETS  # noqa: E402

Config = SimConfig

__all__ = ["PRESETS", "Config", "SimConfig", "SimResult", "apply_overrides", "cached_dataset", "load_run",
           "potentials", "simulate", "write_run"]
