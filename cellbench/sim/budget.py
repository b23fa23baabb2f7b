"""What a simulation will cost, estimated from its config before anything is allocated.

A config can be valid physics and still ask for more than a machine has: ``n_cells = 10^9``
wants gigabytes for the state alone, ``n_frames = 10^9`` runs for days. (The cell list is capped at
2048 x 2048 bins by the engine, so a huge box costs no memory by itself.) :func:`check_size` refuses
a run over :data:`LIMITS` with the estimate in the message, unless it is explicitly allowed
(``cellbench simulate --allow-large``).

The estimates are upper bounds of the dominant terms, not exact counts:

- particle-steps = capacity x (n_equil_steps + n_frames x record_every); the simulator runs at
  about 10-50 M particle-steps/s on one core, so :data:`LIMITS` ``particle_steps`` is about
  10-30 minutes;
- recorded rows = capacity x n_frames (every cell observed on every frame), at
  :data:`BYTES_PER_ROW` bytes for the tracks, truth and pair tables while they are built;
- state = capacity x :data:`BYTES_PER_CELL`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cellbench.errors import ConfigError

BYTES_PER_ROW = 400
"""Recorded bytes per cell per frame: tracks + truth columns (float64) + pairs, held as lists then frames."""
BYTES_PER_CELL = 400
"""Simulator state per cell (positions, orientations, forces, ages, neighbour list), bytes."""

LIMITS = {"particle_steps": 3e10, "memory_bytes": 8 * 2**30}
"""Largest run accepted without ``allow_large``: 3e10 particle-steps, 8 GiB."""


@dataclass(frozen=True)
class SizeEstimate:
    """Cost of a run: particle-steps and bytes of memory at the peak."""

    particle_steps: float
    memory_bytes: float

    def describe(self) -> str:
        return f"{self.particle_steps:.3g} particle-steps and about {self.memory_bytes / 2**30:.3g} GiB of memory"


def estimate_size(cfg) -> SizeEstimate:
    """Upper-bound cost of simulating ``cfg`` (a :class:`~cellbench.sim.config.SimConfig`)."""
    capacity = float(cfg.capacity)
    steps = float(cfg.n_equil_steps) + float(cfg.n_frames) * float(cfg.record_every)
    memory = capacity * float(cfg.n_frames) * BYTES_PER_ROW + capacity * BYTES_PER_CELL
    return SizeEstimate(capacity * steps, memory)


def check_size(cfg, allow_large: bool = False) -> SizeEstimate:
    """The estimate of ``cfg``; raises :class:`ConfigError` naming what is over :data:`LIMITS`.

    With ``allow_large`` nothing is refused (the caller accepts the cost).
    """
    est = estimate_size(cfg)
    over = [name for name, limit in LIMITS.items() if not getattr(est, name) <= limit]
    if over and not allow_large:
        limits = ", ".join(f"{k} <= {LIMITS[k]:.3g}" for k in over)
        raise ConfigError(f"this simulation would need {est.describe()} (limits: {limits}); reduce n_cells, "
                          "n_frames, record_every, n_equil_steps or box_um, or pass --allow-large to run it anyway")
    return est
