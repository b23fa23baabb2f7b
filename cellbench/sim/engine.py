r"""Run a :class:`SimConfig`: initial state, Euler-Maruyama loop, recording, truth, oracle.

Frame ``f`` is the state after ``n_equil_steps + f * record_every`` steps; its time is
``t_s = f * frame_interval_s``. At each frame the wrapper records the cells inside the field of
view, the true forces on them, the observed pairs within the potential cutoff, and the oracle
displacement: the noise-free dynamics of the whole system (unobserved cells included, same
``dt_s``, orientations deterministic, no division) integrated from the recorded state over one
frame interval.

With ``sigma_loc_um > 0`` the recorded ``x_um, y_um`` carry localization noise
(:mod:`cellbench.sim.noise`, its own random stream); which cells are observed, the truth columns,
the pairs and the dynamics are those of the true positions, bitwise as without noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from cellbench import space
from cellbench.errors import ConfigError
from cellbench.version import __version__
from cellbench.data.tracks import NO_PARENT, Tracks, TracksMeta
from cellbench.sim import kernels as K
from cellbench.sim.budget import check_size
from cellbench.sim.config import KT, SimConfig, apply_overrides, rng_seed
from cellbench.sim.noise import observed_positions_um
from cellbench.sim.variants import variant_config

SIMULATORS_VERSION = "3"  # bump when a change alters trajectories (part of the cache key)
SKIN_FRACTION = 0.3  # Verlet skin / interaction range

TRUTH_COLUMNS = {
    "theta": "orientation, rad",
    "fx_int": "interaction force sum_j F_ij, x, kT/um (drift = mu * force)",
    "fy_int": "interaction force, y, kT/um",
    "fx_wall": "wall force, x, kT/um",
    "fy_wall": "wall force, y, kT/um",
    "fx_self": "self-propulsion velocity v0 cos(theta), um/s",
    "fy_self": "self-propulsion velocity v0 sin(theta), um/s",
    "torque_per_s": "alignment torque, 1/s",
    "oracle_dx_um": "noise-free displacement over one frame interval from this state, um",
    "oracle_dy_um": "noise-free displacement over one frame interval from this state, um",
    "x_unwrap_um": "x without periodic wrapping, um",
    "y_unwrap_um": "y without periodic wrapping, um",
}


@dataclass(frozen=True, eq=False)
class SimResult:
    """A simulated movie and its ground truth.

    Attributes
    ----------
    tracks : cellbench Tracks (track_id, frame, x_um, y_um, radius_um, parent_id, t_s).
    truth : DataFrame row-aligned with ``tracks.df`` (same order, same track_id and frame
        columns) with :data:`TRUTH_COLUMNS`.
    pairs : DataFrame (frame, i, j, r_um, fx, fy, f_mag): each observed pair i < j (track ids)
        closer than the potential cutoff once per frame; (fx, fy) is the force on i from j in
        kT/um (on j it is the opposite), f_mag = -du/dr (> 0 repulsive).
    meta : every parameter (see ``meta.json``).
    """

    tracks: Tracks
    truth: pd.DataFrame
    pairs: pd.DataFrame
    meta: dict


def resolve_config(preset_or_config, overrides: dict | None = None) -> tuple[str | None, SimConfig]:
    """(preset name or None, config with overrides applied); a name may be a variant ``NAME[key=value,...]``
    (:mod:`cellbench.sim.variants`), which keeps its full name."""
    if isinstance(preset_or_config, SimConfig):
        name, cfg = None, preset_or_config
    elif isinstance(preset_or_config, str):
        name, cfg = preset_or_config, variant_config(preset_or_config)
    else:
        raise ConfigError(f"expected a preset name or a SimConfig, got {type(preset_or_config).__name__}")
    return name, apply_overrides(cfg, overrides)


def kernel_params(cfg: SimConfig) -> np.ndarray:
    """The ``prm`` vector of cellbench.sim.kernels for ``cfg``."""
    prm = np.zeros(K.N_PRM)
    rng = cfg.interaction_range_um
    interacting = cfg.potential is not None or cfg.align_strength_per_s > 0
    skin = SKIN_FRACTION * rng if interacting else np.inf  # no interactions: never rebuild lists
    reach = rng + skin if interacting else np.inf  # one cell when there is nothing to search
    if cfg.boundary == "periodic":
        L = float(cfg.box_um)
        nc = int(np.floor(L / reach)) if interacting else 1
        if interacting and nc < 3:  # small box: give up the skin rather than the 3x3 stencil
            skin = max(0.0, L / 3 - rng)
            nc = int(np.floor(L / (rng + skin)))
        nc = max(1, min(nc, 2048))
        prm[K.P_PERIODIC] = 1.0
        prm[K.P_L] = L
        prm[K.P_OX] = prm[K.P_OY] = 0.0
        prm[K.P_CELL] = L / nc
    else:
        half = float(cfg.well_radius_um) + 2.0 * cfg.max_radius_um  # the wall is soft: leave a margin
        nc = max(1, min(int(np.floor(2 * half / reach)), 2048)) if interacting else 1
        prm[K.P_OX] = prm[K.P_OY] = -half
        prm[K.P_CELL] = 2 * half / nc
        prm[K.P_WELL_R] = cfg.well_radius_um
        prm[K.P_WALL_K] = cfg.wall_k_kT_per_um2
    prm[K.P_SKIN] = skin
    prm[K.P_NC] = nc
    prm[K.P_V0] = cfg.v0_um_per_s
    prm[K.P_MU] = cfg.mobility
    prm[K.P_SQ2DT] = np.sqrt(2 * cfg.D_t_um2_per_s * cfg.dt_s)
    prm[K.P_SQ2DR] = np.sqrt(2 * cfg.D_r_per_s * cfg.dt_s)
    prm[K.P_DT] = cfg.dt_s
    prm[K.P_ALIGN_G] = cfg.align_strength_per_s
    prm[K.P_ALIGN_R] = cfg.align_range_um
    if cfg.potential is not None:
        kind, p = cfg.potential.kernel_params()
        prm[K.P_KIND] = kind
        prm[K.P_POT : K.P_POT + 4] = p
        prm[K.P_RMAX] = cfg.potential.r_cut_pair_um(2 * cfg.max_radius_um)
    prm[K.P_DIV_RATE] = cfg.division_rate_per_s
    prm[K.P_DIV_AGE] = cfg.division_min_age_s
    prm[K.P_DIV_SEP] = 0.5
    prm[K.P_CAP] = cfg.capacity
    prm[K.P_PAR_MIN] = K.PARALLEL_MIN_CELLS
    return prm


class State:
    """The particle arrays (capacity ``cap``; the first ``n`` alive) and the id counter."""

    def __init__(self, cap: int):
        self.x = np.zeros(cap)
        self.y = np.zeros(cap)
        self.th = np.zeros(cap)
        self.a = np.zeros(cap)
        self.tid = np.zeros(cap, np.int64)
        self.par = np.full(cap, NO_PARENT, np.int64)
        self.age = np.zeros(cap)
        self.imx = np.zeros(cap, np.int64)
        self.imy = np.zeros(cap, np.int64)
        self.n = 0
        self.next_id = 0

    def arrays(self):
        return self.x, self.y, self.th, self.a, self.tid, self.par, self.age, self.imx, self.imy

    def copy(self) -> "State":
        other = State(len(self.x))
        for name in ("x", "y", "th", "a", "tid", "par", "age", "imx", "imy"):
            setattr(other, name, getattr(self, name).copy())
        other.n, other.next_id = self.n, self.next_id
        return other


def initial_state(cfg: SimConfig, seed: int) -> State:
    """Cells on a square lattice (periodic, ``init='lattice'``) or uniform without overlap.

    Orientations are uniform, radii uniform in radius_um*(1 +- radius_spread), the initial age
    uniform in [0, division_min_age_s] (cells are not synchronised). Random numbers come from
    ``np.random.default_rng(seed)``; the dynamics use the counter-based generator.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    st = State(cfg.capacity)
    n = cfg.n_cells
    st.a[:n] = cfg.radius_um * (1 + cfg.radius_spread * rng.uniform(-1, 1, n))
    st.th[:n] = rng.uniform(-np.pi, np.pi, n)
    st.age[:n] = rng.uniform(0, 1, n) * cfg.division_min_age_s
    st.tid[:n] = np.arange(n)
    st.n, st.next_id = n, n
    if cfg.boundary == "periodic" and cfg.init == "lattice":
        m = int(np.ceil(np.sqrt(n)))
        spacing = cfg.box_um / m
        sites = rng.permutation(m * m)[:n]
        jitter = 0.1 * max(spacing - 2 * cfg.max_radius_um, 0.0)
        st.x[:n] = (sites % m + 0.5) * spacing + rng.uniform(-jitter, jitter, n)
        st.y[:n] = (sites // m + 0.5) * spacing + rng.uniform(-jitter, jitter, n)
        st.x[:n] = space.wrap(st.x[:n], cfg.box_um)
        st.y[:n] = space.wrap(st.y[:n], cfg.box_um)
        return st
    # random sequential addition without overlap (gives up on overlap after many tries: soft start)
    box_um = _periodic_box_um(cfg)
    placed = 0
    tries = 0
    while placed < n:
        if cfg.boundary == "periodic":
            p = rng.uniform(0, cfg.box_um, 2)
        else:
            rmax = cfg.well_radius_um - st.a[placed]
            rr = rmax * np.sqrt(rng.uniform())
            ang = rng.uniform(-np.pi, np.pi)
            p = np.array([rr * np.cos(ang), rr * np.sin(ang)])
        d = space.minimum_image(np.stack([st.x[:placed] - p[0], st.y[:placed] - p[1]], axis=1), box_um)
        ok = tries >= 200 or placed == 0 or np.all(np.hypot(d[:, 0], d[:, 1]) >= st.a[:placed] + st.a[placed])
        tries += 1
        if ok:  # after 200 failed tries for one cell, accept an overlap (soft potentials resolve it)
            st.x[placed], st.y[placed] = p
            placed += 1
            tries = 0
    return st


def _advance(st: State, step0: int, n_steps: int, seed: int, noise: bool, prm: np.ndarray, cfg: SimConfig) -> None:
    n, next_id, ok = K.advance(*st.arrays(), st.n, st.next_id, step0, n_steps, seed, noise, prm)
    if not ok:
        raise ConfigError(
            f"dt_s = {cfg.dt_s}: the integration blew up between steps {step0} and {step0 + n_steps} "
            "(a coordinate became non-finite or jumped more than a box); reduce dt_s or the potential strength"
        )
    st.n, st.next_id = int(n), int(next_id)


def equilibrated_state(cfg: SimConfig, seed: int, prm: np.ndarray) -> tuple[State, int]:
    """(state after the ``n_equil_steps`` noisy equilibration steps, steps done): where frame 0 is recorded."""
    st = initial_state(cfg, seed)
    if cfg.n_equil_steps:
        _advance(st, 0, cfg.n_equil_steps, seed, True, prm, cfg)
    return st, cfg.n_equil_steps


def _periodic_box_um(cfg: SimConfig) -> float | None:
    """The side of the periodic box, or None (microwell: the open plane with a wall)."""
    return cfg.box_um if cfg.boundary == "periodic" else None


def _unwrapped(st: State, cfg: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    n, box_um = st.n, _periodic_box_um(cfg)
    return space.unwrap(st.x[:n], st.imx[:n], box_um), space.unwrap(st.y[:n], st.imy[:n], box_um)


def simulate(
    preset_or_config, seed: int, overrides: dict | None = None, progress: Callable[[int, int], None] | None = None,
    allow_large: bool = False,
) -> SimResult:
    """Simulate a preset (by name) or a :class:`SimConfig` with ``seed``.

    Parameters
    ----------
    preset_or_config : a key of ``cellbench.sim.PRESETS`` or a SimConfig.
    seed : non-negative integer; same seed and parameters give identical results whatever the
        number of numba threads.
    overrides : ``{key: value}`` applied to the config (see :func:`cellbench.sim.config.apply_overrides`).
    progress : called as ``progress(frames_done, n_frames)`` after each frame.
    allow_large : run even when :func:`cellbench.sim.budget.check_size` estimates the run over its
        limits (particle-steps, memory); by default such a run is refused before allocating.

    Returns
    -------
    SimResult
    """
    seed = rng_seed(seed)
    name, cfg = resolve_config(preset_or_config, overrides)
    check_size(cfg, allow_large)
    prm = kernel_params(cfg)
    st, step = equilibrated_state(cfg, seed, prm)
    fov = cfg.fov
    tau = cfg.frame_interval_s
    rec: dict[str, list] = {k: [] for k in ("track_id", "frame", "x_um", "y_um", "radius_um", "parent_id", *TRUTH_COLUMNS)}
    prs: dict[str, list] = {k: [] for k in ("frame", "i", "j", "r_um", "fx", "fy", "f_mag")}
    for f in range(cfg.n_frames):
        n = st.n
        x, y = st.x[:n], st.y[:n]
        obs = (x >= fov[0]) & (x <= fov[2]) & (y >= fov[1]) & (y <= fov[3])
        frc = K.forces(st.x, st.y, st.th, st.a, n, prm)
        ux, uy = _unwrapped(st, cfg)
        oracle = st.copy()
        _advance(oracle, 0, cfg.record_every, seed, False, prm, cfg)
        ox, oy = _unwrapped(oracle, cfg)
        idx = np.flatnonzero(obs)
        cols = {
            "track_id": st.tid[idx], "frame": np.full(len(idx), f, np.int64), "x_um": x[idx], "y_um": y[idx],
            "radius_um": st.a[idx], "parent_id": st.par[idx], "theta": st.th[idx],
            "fx_int": frc[0, idx], "fy_int": frc[1, idx], "fx_wall": frc[2, idx], "fy_wall": frc[3, idx],
            "fx_self": cfg.v0_um_per_s * np.cos(st.th[idx]), "fy_self": cfg.v0_um_per_s * np.sin(st.th[idx]),
            "torque_per_s": frc[4, idx], "oracle_dx_um": (ox - ux)[idx], "oracle_dy_um": (oy - uy)[idx],
            "x_unwrap_um": ux[idx], "y_unwrap_um": uy[idx],
        }
        for k, v in cols.items():
            rec[k].append(np.array(v, copy=True))
        if cfg.potential is not None:
            pi, pj, pr, pfx, pfy, pfm = K.pairs_within(st.x, st.y, st.a, n, prm, obs)
            ti, tj = st.tid[pi], st.tid[pj]
            swap = ti > tj  # store i < j by track id; the force is on i
            prs["frame"].append(np.full(len(pi), f, np.int64))
            prs["i"].append(np.where(swap, tj, ti))
            prs["j"].append(np.where(swap, ti, tj))
            prs["r_um"].append(pr)
            prs["fx"].append(np.where(swap, -pfx, pfx))
            prs["fy"].append(np.where(swap, -pfy, pfy))
            prs["f_mag"].append(pfm)
        if f + 1 < cfg.n_frames:
            _advance(st, step, cfg.record_every, seed, True, prm, cfg)
            step += cfg.record_every
        if progress is not None:
            progress(f + 1, cfg.n_frames)

    table = {k: np.concatenate(v) for k, v in rec.items()}
    order = np.lexsort((table["track_id"], table["frame"]))
    table = {k: v[order] for k, v in table.items()}
    if cfg.sigma_loc_um > 0:
        table["x_um"], table["y_um"] = observed_positions_um(
            table["x_um"], table["y_um"], table["frame"], table["track_id"], seed, cfg.sigma_loc_um,
            box_um=_full_periodic_box_um(cfg),
        )
    table["t_s"] = table["frame"] * tau
    track_cols = ["track_id", "frame", "x_um", "y_um", "radius_um", "parent_id", "t_s"]
    meta = run_meta(name, cfg, seed, n_final=st.n, next_id=st.next_id)
    tmeta = TracksMeta(
        dataset=f"sim:{name or 'custom'}:seed{seed}", frame_interval_s=tau, fov_um=fov,
        extra={k: v for k, v in meta.items() if k != "config"},
    )
    tracks = Tracks.from_table(pd.DataFrame({k: table[k] for k in track_cols}), tmeta)
    truth = pd.DataFrame({k: table[k] for k in ("track_id", "frame", *TRUTH_COLUMNS)})
    if cfg.potential is not None and sum(len(v) for v in prs["frame"]):
        pairs = pd.DataFrame({k: np.concatenate(v) for k, v in prs.items()})
    else:
        pairs = pd.DataFrame({k: np.zeros(0, np.int64 if k in ("frame", "i", "j") else float) for k in prs})
    pairs = pairs.sort_values(["frame", "i", "j"], kind="stable").reset_index(drop=True)
    return SimResult(tracks=tracks, truth=truth, pairs=pairs, meta=meta)


def _full_periodic_box_um(cfg: SimConfig) -> float | None:
    """The box side when the field of view is the whole periodic box (positions wrap), else None."""
    if cfg.boundary != "periodic":
        return None
    fov = cfg.fov
    covers = fov[0] <= 0 and fov[1] <= 0 and fov[2] >= cfg.box_um and fov[3] >= cfg.box_um
    return float(cfg.box_um) if covers else None


def run_meta(name: str | None, cfg: SimConfig, seed: int, n_final: int | None = None, next_id: int | None = None) -> dict:
    """Every parameter of a run, with units in the keys (the content of ``meta.json``)."""
    meta = {
        "simulator": "simulators.engine (overdamped 2D active Brownian particles, Euler-Maruyama)",
        "preset": name,
        "description": cfg.description,
        "seed": seed,
        "cellbench_version": __version__,
        "simulators_version": SIMULATORS_VERSION,
        "dt_s": cfg.dt_s,
        "record_every": cfg.record_every,
        "frame_interval_s": cfg.frame_interval_s,
        "n_frames": cfg.n_frames,
        "n_equil_steps": cfg.n_equil_steps,
        "v0_um_per_s": cfg.v0_um_per_s,
        "D_t_um2_per_s": cfg.D_t_um2_per_s,
        "D_r_per_s": cfg.D_r_per_s,
        "sigma_loc_um": cfg.sigma_loc_um,
        # "simulators.noise" (now cellbench.sim.noise) is kept as SIMULATORS_VERSION 3 recorded it, so
        # outputs stay byte-identical across the restructure; rename it with the next version bump.
        "observation": "x_um, y_um = true position + N(0, sigma_loc_um^2) per axis, frame and cell "
                       "(simulators.noise); truth and pairs are noise-free",
        "kT": KT,
        "mu": cfg.mobility,
        "units": {"length": "um", "time": "s", "energy": "kT", "force": "kT/um", "mu": "um^2/(kT s)"},
        "boundary": cfg.boundary,
        "fov_um": list(cfg.fov),
        "radius_um": cfg.radius_um,
        "radius_spread": cfg.radius_spread,
        "phi": cfg.phi,
        "potential": None if cfg.potential is None else cfg.potential.to_dict(),
        "align_strength_per_s": cfg.align_strength_per_s,
        "align_range_um": cfg.align_range_um,
        "division_rate_per_s": cfg.division_rate_per_s,
        "division_min_age_s": cfg.division_min_age_s,
        "n_cells_initial": cfg.n_cells,
    }
    if cfg.boundary == "periodic":
        meta["box_um"] = cfg.box_um
    else:
        meta["well_radius_um"] = cfg.well_radius_um
        meta["wall_k_kT_per_um2"] = cfg.wall_k_kT_per_um2
    if n_final is not None:
        meta["n_cells_final"] = n_final
        meta["n_track_ids"] = next_id
    meta["truth_columns"] = TRUTH_COLUMNS
    meta["config"] = cfg.to_dict()
    return meta


def config_hash(name: str | None, cfg: SimConfig, seed: int) -> str:
    """Short hash of the config, seed and versions (names cached datasets)."""
    import hashlib
    import json

    config = cfg.to_dict()
    if config["sigma_loc_um"] == 0:  # datasets cached before the option existed stay valid
        del config["sigma_loc_um"]
    key = json.dumps({"config": config, "seed": seed, "cellbench": __version__,
                      "simulators": SIMULATORS_VERSION}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


__all__ = ["SimResult", "simulate", "resolve_config", "kernel_params", "run_meta", "config_hash", "TRUTH_COLUMNS"]
