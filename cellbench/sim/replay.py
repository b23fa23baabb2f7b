r"""The oracle rollout: noise-free paths of a recorded run over several frames.

The engine records, per frame, the oracle displacement over ONE frame interval
(``oracle_dx_um, oracle_dy_um``). This module gives the same dynamics over ``horizon_frames``
frame intervals: it re-runs the simulation of a run's ``meta.json`` (same config, seed and step
counters as :func:`cellbench.sim.engine.simulate`, equilibration included), and at each
requested start frame ``t0`` copies the whole state (unobserved cells included) and integrates
it without noise,

.. math:: x_i \leftarrow x_i + (v_0 e(\theta_i) + \mu F_i + \mu F^{wall}_i)\,dt,
          \quad \theta_i \leftarrow \theta_i + \tau_i\,dt,

recording the positions after every ``record_every`` steps (frames ``t0 + 1 .. t0 + K``).
Noise-free mode also switches off division and ageing (:func:`cellbench.sim.kernels.advance`),
so the cells alive at ``t0`` are the cells of the whole path.

Each frame interval of the path is one call of the engine's step loop, as the one-frame oracle
is, so the first frame of a path equals the recorded ``oracle_dx_um, oracle_dy_um`` bitwise (a
single call over ``K * record_every`` steps would reuse the Verlet lists across frames and
differ in the last bits only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cellbench.errors import ConfigError
from cellbench.sim.config import SimConfig, config_from_dict, rng_seed
from cellbench.sim.engine import SIMULATORS_VERSION, State, _advance, _unwrapped, equilibrated_state, kernel_params


@dataclass(frozen=True, eq=False)
class NoiseFreePaths:
    """Noise-free paths of every cell alive at one start frame (read-only arrays).

    Attributes
    ----------
    start_frame : the frame t0 the paths start from.
    track_id : (n_cells,) int64, the cells alive at t0, observed or not, in simulation order.
    observed : (n_cells,) bool, inside the field of view at t0 (the cells the truth records).
    start_unwrap_um : (n_cells, 2) true position at t0 without periodic wrapping, um (the
        truth's ``x_unwrap_um, y_unwrap_um``).
    pos_um : (n_cells, horizon_frames, 2) noise-free positions at frames t0 + 1 .. t0 + K, um,
        wrapped as the recorded ``x_um, y_um`` are (periodic box: in [0, box_um); microwell:
        plain), without localization noise.
    disp_um : (n_cells, horizon_frames, 2) unwrapped displacement from the position at t0, um;
        ``disp_um[:, 0]`` is the truth's ``oracle_dx_um, oracle_dy_um``.
    """

    start_frame: int
    track_id: np.ndarray
    observed: np.ndarray
    start_unwrap_um: np.ndarray
    pos_um: np.ndarray
    disp_um: np.ndarray

    @property
    def horizon_frames(self) -> int:
        """K, the number of frames of each path."""
        return int(self.pos_um.shape[1])


def noise_free_paths(
    meta: dict, start_frames, horizon_frames: int, progress: Callable[[int, int], None] | None = None,
) -> list[NoiseFreePaths]:
    """Noise-free paths over ``horizon_frames`` frames from the true state at each start frame.

    Parameters
    ----------
    meta : a run's ``meta.json`` as written by :func:`cellbench.sim.engine.run_meta` (``SimResult.meta``,
        ``SimTruth.meta``); its ``config`` and ``seed`` rebuild the run.
    start_frames : an integer or a sequence of integers in [0, n_frames - 1], the frames t0.
        Duplicates are computed once.
    horizon_frames : K >= 1, frames per path. A path may run past the last recorded frame
        (t0 + K >= n_frames): the noise-free dynamics go on, there is just no recorded frame
        to compare with.
    progress : called as ``progress(done, total)`` after each frame interval integrated, of the
        run up to the last start frame and of every path (``total = max(t0) + n_starts * K``).

    Returns
    -------
    list of :class:`NoiseFreePaths`, one per distinct start frame, in increasing start frame.

    Raises
    ------
    ConfigError
        ``meta`` lacks ``config`` or ``seed``, was written by another simulator version (the
        re-run would not reproduce it), or an argument is out of range.
    """
    cfg, seed = _run_of(meta)
    starts = _start_frames(start_frames, cfg.n_frames)
    k_frames = _horizon(horizon_frames)
    if not starts:
        return []
    total = starts[-1] + len(starts) * k_frames
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    prm = kernel_params(cfg)
    st, step = equilibrated_state(cfg, seed, prm)
    out = []
    frame = 0
    for t0 in starts:
        while frame < t0:  # exactly the engine's frame loop, without the recording
            _advance(st, step, cfg.record_every, seed, True, prm, cfg)
            step += cfg.record_every
            frame += 1
            tick()
        out.append(_paths_from(st, t0, k_frames, seed, prm, cfg, tick))
    return out


def _paths_from(st: State, t0: int, k_frames: int, seed: int, prm: np.ndarray, cfg: SimConfig,
                tick: Callable[[], None]) -> NoiseFreePaths:
    """The noise-free paths from ``st`` (left unchanged), the true state at frame ``t0``."""
    n = st.n
    x, y = st.x[:n], st.y[:n]
    fov = cfg.fov
    observed = (x >= fov[0]) & (x <= fov[2]) & (y >= fov[1]) & (y <= fov[3])  # as the engine records
    ux, uy = _unwrapped(st, cfg)
    pos = np.empty((n, k_frames, 2))
    disp = np.empty((n, k_frames, 2))
    path = st.copy()
    for k in range(k_frames):
        _advance(path, 0, cfg.record_every, seed, False, prm, cfg)  # step counter unused without noise
        if path.n != n:  # guards the claim that noise-free steps never divide
            raise RuntimeError(f"frame {t0}: the noise-free dynamics changed the number of cells ({n} -> {path.n})")
        px, py = _unwrapped(path, cfg)
        pos[:, k, 0], pos[:, k, 1] = path.x[:n], path.y[:n]
        disp[:, k, 0], disp[:, k, 1] = px - ux, py - uy
        tick()
    arrays = [st.tid[:n].copy(), observed, np.stack([ux, uy], axis=1), pos, disp]
    for a in arrays:
        a.setflags(write=False)
    return NoiseFreePaths(int(t0), *arrays)


def _run_of(meta: dict) -> tuple[SimConfig, int]:
    """(config, seed) of a run's meta, checked to be re-runnable by this simulator version."""
    if not isinstance(meta, dict) or "config" not in meta or "seed" not in meta:
        found = sorted(meta) if isinstance(meta, dict) else type(meta).__name__
        raise ConfigError(f"meta: expected a run's meta.json dict with 'config' and 'seed', found {found}")
    version = str(meta.get("simulators_version"))
    if version != SIMULATORS_VERSION:
        raise ConfigError(f"meta: simulators_version {version!r} differs from this simulator's "
                          f"{SIMULATORS_VERSION!r}; re-simulate the run before replaying it")
    return config_from_dict(meta["config"]), rng_seed(meta["seed"])


def _start_frames(start_frames, n_frames: int) -> list[int]:
    """Sorted distinct start frames, each an integer in [0, n_frames - 1]."""
    if isinstance(start_frames, np.ndarray):
        values = start_frames.ravel().tolist()
    elif isinstance(start_frames, (list, tuple, range)):
        values = list(start_frames)
    else:
        values = [start_frames]
    bad = [v for v in values if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))]
    if bad:
        raise ConfigError(f"start_frames: {bad[0]!r} is not an integer frame (expected integers in [0, {n_frames - 1}])")
    out = sorted({int(v) for v in values})
    if out and (out[0] < 0 or out[-1] >= n_frames):
        wrong = out[0] if out[0] < 0 else out[-1]
        raise ConfigError(f"start_frames: frame {wrong} is outside the run (expected 0 .. {n_frames - 1})")
    return out


def _horizon(horizon_frames) -> int:
    """K, checked to be an integer >= 1."""
    if isinstance(horizon_frames, (bool, np.bool_)) or not isinstance(horizon_frames, (int, np.integer)) \
            or horizon_frames < 1:
        raise ConfigError(f"horizon_frames: {horizon_frames!r} must be an integer >= 1 (frames per path)")
    return int(horizon_frames)


__all__ = ["NoiseFreePaths", "noise_free_paths"]
