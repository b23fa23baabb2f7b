r"""The simulation configuration: one frozen dataclass, validated on creation.

A :class:`SimConfig` is data: it is written in full to each run's ``meta.json`` and hashed to
name cached datasets. Overrides (``--set key=value`` on the command line) go through
:func:`apply_overrides`, which refuses unknown keys and re-validates.

Units: lengths in um, times in s, energies in kT (kT = 1), forces in kT/um. The mobility
follows from the Einstein relation, mu = D_t / kT in um^2/(kT s), so that the drift of a force
F (kT/um) is mu F (um/s).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import numpy as np

from cellbench.errors import ConfigError
from cellbench.sim.potentials import PairPotential

MAX_LENGTH_UM = 1e9
"""Largest length a config accepts (box, well, radii, ranges, field of view): 1 km, in um."""
MIN_DT_S = 1e-6
"""Smallest time step accepted, s (a smaller one moves nothing in any preset's units)."""
INT_FIELDS = ("n_cells", "record_every", "n_frames", "n_equil_steps", "max_cells")
STR_FIELDS = ("description", "boundary", "init")

PHI_CLOSE_PACKING = math.pi / (2.0 * math.sqrt(3.0))  # 0.9069, hexagonal packing of equal disks
KT = 1.0  # the energy unit


@dataclass(frozen=True)
class SimConfig:
    r"""Parameters of an overdamped 2D active-Brownian-particle simulation.

    .. math:: dx_i = (v_0 e(\theta_i) + \mu \sum_j F_{ij} + \mu F^{wall}_i)\,dt + \sqrt{2 D_t dt}\,\xi,
              \quad d\theta_i = \tau_i\,dt + \sqrt{2 D_r dt}\,\eta,
              \quad \tau_i = g \langle \sin(\theta_j - \theta_i) \rangle_{|r_{ij}| < r_a}

    Parameters
    ----------
    description : one line of physics (shown by ``cellbench simulate --list``).
    n_cells : number of cells at t = 0 (grows by division).
    boundary : ``"periodic"`` (square box ``[0, box_um)^2``, minimum image) or ``"microwell"``
        (circular well of radius ``well_radius_um`` centred at the origin, harmonic soft wall
        of stiffness ``wall_k_kT_per_um2`` acting on a cell's rim).
    box_um : periodic box side, um (periodic only).
    well_radius_um, wall_k_kT_per_um2 : microwell only.
    fov_um : observation window (x_min, y_min, x_max, y_max) in um; only cells inside it are
        recorded. None: the whole box (periodic) or the well's bounding square (microwell).
    radius_um : mean cell radius, um. radius_spread : radii uniform in radius_um*(1 +- spread).
    potential : pair potential (None: no interactions).
    v0_um_per_s : self-propulsion speed. D_t_um2_per_s : translational diffusion (> 0).
    D_r_per_s : rotational diffusion. align_strength_per_s, align_range_um : alignment torque.
    dt_s : time step. record_every : steps per recorded frame. n_frames : frames recorded.
    n_equil_steps : steps run before frame 0.
    division_rate_per_s : division rate of a cell older than ``division_min_age_s`` (0: none).
    max_cells : capacity; division stops there.
    sigma_loc_um : localization (observation) noise, um: the recorded ``x_um, y_um`` are the true
        positions plus independent N(0, sigma_loc_um^2) per axis, frame and cell (segmentation or
        marker jitter). The dynamics and the truth columns do not see it. 0: exact positions.
    """

    description: str = ""
    n_cells: int = 200
    boundary: str = "periodic"
    box_um: float | None = 200.0
    well_radius_um: float | None = None
    wall_k_kT_per_um2: float = 0.0
    fov_um: tuple[float, float, float, float] | None = None
    radius_um: float = 5.0
    radius_spread: float = 0.0
    potential: PairPotential | None = None
    v0_um_per_s: float = 0.0
    D_t_um2_per_s: float = 0.01
    D_r_per_s: float = 0.0
    align_strength_per_s: float = 0.0
    align_range_um: float = 0.0
    dt_s: float = 0.01
    record_every: int = 10
    n_frames: int = 100
    n_equil_steps: int = 0
    division_rate_per_s: float = 0.0
    division_min_age_s: float = 0.0
    max_cells: int = 0
    init: str = "lattice"
    sigma_loc_um: float = 0.0

    def __post_init__(self):
        def need(cond: bool, key: str, msg: str, value) -> None:
            if not cond:
                raise ConfigError(f"{key} = {value!r}: {msg}")

        for f in dataclasses.fields(self):  # types first: a bool is not an int, a string is not a number
            v = getattr(self, f.name)
            if f.name in INT_FIELDS:
                need(isinstance(v, (int, np.integer)) and not isinstance(v, bool), f.name, "must be an integer", v)
                object.__setattr__(self, f.name, int(v))
            elif f.name in STR_FIELDS:
                need(isinstance(v, str), f.name, "must be a string", v)
            elif f.name == "fov_um":
                need(v is None or (isinstance(v, (tuple, list)) and len(v) == 4 and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)), f.name,
                    "must be 4 numbers (x_min, y_min, x_max, y_max) in um, e.g. [0, 0, 100, 100]", v)
            elif f.name != "potential":
                need(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
                     or (v is None and f.name in ("box_um", "well_radius_um")), f.name, "must be a number", v)
        for key in ("box_um", "well_radius_um", "radius_um", "align_range_um", "sigma_loc_um"):
            v = getattr(self, key)
            need(v is None or abs(v) <= MAX_LENGTH_UM, key, f"must be at most {MAX_LENGTH_UM:g} um", v)
        if self.fov_um is not None:
            need(all(abs(x) <= MAX_LENGTH_UM for x in self.fov_um), "fov_um",
                 f"coordinates must be within +-{MAX_LENGTH_UM:g} um", self.fov_um)

        for key in ("box_um", "well_radius_um", "radius_um", "radius_spread", "v0_um_per_s", "D_t_um2_per_s",
                    "D_r_per_s", "align_strength_per_s", "align_range_um", "dt_s", "division_rate_per_s",
                    "division_min_age_s", "wall_k_kT_per_um2", "sigma_loc_um"):
            v = getattr(self, key)
            if v is not None:
                need(isinstance(v, (int, float)) and math.isfinite(v), key, "must be a finite number", v)
        need(isinstance(self.sigma_loc_um, (int, float)) and not isinstance(self.sigma_loc_um, bool), "sigma_loc_um",
             "must be a finite number >= 0 um (0: no localization noise)", self.sigma_loc_um)
        need(self.boundary in ("periodic", "microwell"), "boundary", "choose 'periodic' or 'microwell'", self.boundary)
        need(self.init in ("lattice", "random"), "init", "choose 'lattice' or 'random'", self.init)
        need(isinstance(self.n_cells, int) and self.n_cells >= 1, "n_cells", "must be an integer >= 1", self.n_cells)
        need(self.dt_s >= MIN_DT_S, "dt_s", f"must be >= {MIN_DT_S:g} s", self.dt_s)
        need(isinstance(self.record_every, int) and self.record_every >= 1, "record_every", "must be an integer >= 1",
             self.record_every)
        need(isinstance(self.n_frames, int) and self.n_frames >= 2, "n_frames", "must be an integer >= 2", self.n_frames)
        need(isinstance(self.n_equil_steps, int) and self.n_equil_steps >= 0, "n_equil_steps", "must be an integer >= 0",
             self.n_equil_steps)
        need(self.radius_um > 0, "radius_um", "must be > 0 um", self.radius_um)
        need(0 <= self.radius_spread < 1, "radius_spread", "must be in [0, 1)", self.radius_spread)
        need(self.D_t_um2_per_s > 0, "D_t_um2_per_s", "must be > 0 um^2/s (it also sets the mobility mu = D_t/kT)",
             self.D_t_um2_per_s)
        for key in ("v0_um_per_s", "D_r_per_s", "align_strength_per_s", "align_range_um", "division_rate_per_s",
                    "division_min_age_s", "wall_k_kT_per_um2", "sigma_loc_um"):
            need(getattr(self, key) >= 0, key, "must be >= 0", getattr(self, key))
        need((self.align_strength_per_s > 0) == (self.align_range_um > 0) or self.align_strength_per_s == 0,
             "align_range_um", "must be > 0 um when align_strength_per_s > 0", self.align_range_um)
        need(isinstance(self.max_cells, int) and self.max_cells >= 0, "max_cells", "must be an integer >= 0",
             self.max_cells)
        if self.division_rate_per_s > 0:
            need(self.max_cells >= self.n_cells, "max_cells", f"must be >= n_cells ({self.n_cells}) when cells divide",
                 self.max_cells)
        need(self.potential is None or isinstance(self.potential, PairPotential), "potential",
             "must be a cellbench.sim.potentials.PairPotential or None", self.potential)
        if self.boundary == "periodic":
            need(self.box_um is not None and self.box_um > 0, "box_um", "must be > 0 um for a periodic box", self.box_um)
            need(self.well_radius_um is None, "well_radius_um", "applies to boundary='microwell' only",
                 self.well_radius_um)
            need(self.box_um >= 3 * self.interaction_range_um, "box_um",
                 f"must be >= 3 interaction ranges ({3 * self.interaction_range_um:g} um) for the cell list", self.box_um)
        else:
            need(self.well_radius_um is not None and self.well_radius_um > self.radius_um * (1 + self.radius_spread),
                 "well_radius_um", "must be larger than a cell radius", self.well_radius_um)
            need(self.wall_k_kT_per_um2 > 0, "wall_k_kT_per_um2", "must be > 0 kT/um^2 for a microwell",
                 self.wall_k_kT_per_um2)
            need(self.box_um is None, "box_um", "applies to boundary='periodic' only (use well_radius_um)", self.box_um)
        if self.fov_um is not None:
            fov = tuple(float(v) for v in self.fov_um)
            need(len(fov) == 4 and all(map(math.isfinite, fov)) and fov[2] > fov[0] and fov[3] > fov[1], "fov_um",
                 "must be (x_min, y_min, x_max, y_max) in um with max > min", self.fov_um)
            if self.boundary == "periodic":
                need(fov[0] >= 0 and fov[1] >= 0 and fov[2] <= self.box_um and fov[3] <= self.box_um, "fov_um",
                     f"must lie inside the box [0, {self.box_um}]^2", self.fov_um)
            object.__setattr__(self, "fov_um", fov)
        # density: the final number of cells must fit below hexagonal close packing
        n_max = max(self.n_cells, self.max_cells if self.division_rate_per_s > 0 else 0)
        phi = n_max * math.pi * self.radius_um**2 * (1 + self.radius_spread**2 / 3) / self.area_um2
        need(phi < PHI_CLOSE_PACKING, "n_cells" if n_max == self.n_cells else "max_cells",
             f"gives an area fraction {phi:.3f} above close packing ({PHI_CLOSE_PACKING:.4f})", n_max)
        if self.potential is not None and self.potential.name == "harmonic":
            stiff = self.mobility * self.potential.k_kT_per_um2 * self.dt_s
            need(stiff < 0.5, "dt_s", f"too large for the harmonic potential: mu*k*dt = {stiff:.3g} must be < 0.5 "
                 "(Euler stability)", self.dt_s)
        if self.boundary == "microwell":
            stiff = self.mobility * self.wall_k_kT_per_um2 * self.dt_s
            need(stiff < 0.5, "dt_s", f"too large for the wall: mu*k_wall*dt = {stiff:.3g} must be < 0.5", self.dt_s)

    # -- derived quantities ----------------------------------------------------------------------
    @property
    def mobility(self) -> float:
        """mu = D_t / kT, um^2/(kT s) (Einstein relation)."""
        return self.D_t_um2_per_s / KT

    @property
    def frame_interval_s(self) -> float:
        return self.dt_s * self.record_every

    @property
    def area_um2(self) -> float:
        if self.boundary == "periodic":
            return self.box_um**2
        return math.pi * self.well_radius_um**2

    @property
    def phi(self) -> float:
        """Area fraction at t = 0 (expected over the radius distribution)."""
        return self.n_cells * math.pi * self.radius_um**2 * (1 + self.radius_spread**2 / 3) / self.area_um2

    @property
    def max_radius_um(self) -> float:
        return self.radius_um * (1 + self.radius_spread)

    @property
    def interaction_range_um(self) -> float:
        """Largest distance at which two cells interact (potential or alignment), um."""
        r = self.align_range_um
        if self.potential is not None:
            sigma_max = 2 * self.max_radius_um
            r = max(r, self.potential.r_cut_pair_um(sigma_max))
        return max(r, 1e-9)

    @property
    def fov(self) -> tuple[float, float, float, float]:
        """The observation window actually used, um."""
        if self.fov_um is not None:
            return self.fov_um
        if self.boundary == "periodic":
            return (0.0, 0.0, float(self.box_um), float(self.box_um))
        r = float(self.well_radius_um)
        return (-r, -r, r, r)

    @property
    def capacity(self) -> int:
        return max(self.n_cells, self.max_cells if self.division_rate_per_s > 0 else self.n_cells)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["potential"] = None if self.potential is None else self.potential.to_dict()
        if d["fov_um"] is not None:
            d["fov_um"] = list(d["fov_um"])
        return d


def config_from_dict(d: dict) -> SimConfig:
    """Inverse of :meth:`SimConfig.to_dict` (reads a ``meta.json``'s ``config``)."""
    from cellbench.sim.potentials import from_dict

    d = dict(d)
    if d.get("potential") is not None:
        d["potential"] = from_dict(d["potential"])
    if d.get("fov_um") is not None:
        d["fov_um"] = tuple(d["fov_um"])
    known = {f.name for f in dataclasses.fields(SimConfig)}
    return SimConfig(**{k: v for k, v in d.items() if k in known})


def _coerce(key: str, value, current, annotation: str):
    """Turn a --set string into the type of the field it replaces."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("none", "null"):
        return None
    if "tuple" in annotation:  # commas or spaces: a preset variant's brackets keep commas for its keys
        parts = [p for p in re.split(r"[,\s]+", text.strip("()[]")) if p]
        try:
            return tuple(float(p) for p in parts)
        except ValueError:
            raise ConfigError(f"--set {key}={value}: expected 4 numbers separated by commas or spaces") from None
    if isinstance(current, bool):
        return text.lower() in ("1", "true", "yes")
    if isinstance(current, int) or annotation.startswith("int"):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"--set {key}={value}: expected an integer") from None
    if isinstance(current, float) or "float" in annotation:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"--set {key}={value}: expected a number") from None
    return text


def apply_overrides(cfg: SimConfig, overrides: dict | None) -> SimConfig:
    """A new config with ``overrides`` applied; keys ``potential.<param>`` edit the potential.

    Values may be strings (from ``--set key=value``) and are converted to the field's type.
    ``potential=none`` removes interactions. Unknown keys raise :class:`ConfigError` listing
    the valid ones.
    """
    if not overrides:
        return cfg
    top: dict = {}
    pot: dict = {}
    fields = {f.name: f for f in dataclasses.fields(SimConfig)}
    pot_fields = {f.name: f for f in dataclasses.fields(PairPotential)}
    for key, value in overrides.items():
        if key.startswith("potential."):
            sub = key.split(".", 1)[1]
            if sub not in pot_fields:
                raise ConfigError(f"--set {key}: unknown potential parameter; choose one of {sorted(pot_fields)}")
            current = getattr(cfg.potential, sub, None) if cfg.potential is not None else None
            pot[sub] = _coerce(key, value, current, str(pot_fields[sub].type))
        elif key in fields:
            if key == "potential":
                if isinstance(value, str) and value.strip().lower() in ("none", "null", ""):
                    top[key] = None
                elif isinstance(value, (PairPotential, type(None))):
                    top[key] = value
                else:
                    raise ConfigError(f"--set potential={value!r}: only 'none' is accepted; set potential.<param> instead")
            else:
                top[key] = _coerce(key, value, getattr(cfg, key), str(fields[key].type))
        else:
            raise ConfigError(f"--set {key}: unknown option; choose one of {sorted(fields)} or potential.<param>")
    if pot:
        base = top.get("potential", cfg.potential)
        base_d = dataclasses.asdict(base) if base is not None else {}
        if "name" in pot and base is not None and pot["name"] != base.name:
            base_d = {"sigma_um": base.sigma_um}
        base_d.update(pot)
        if base_d.get("name") in ("wca", "harmonic"):
            base_d["r_cut_um"] = None if "r_cut_um" not in pot else base_d["r_cut_um"]
        try:
            top["potential"] = PairPotential(**base_d)
        except TypeError as err:
            raise ConfigError(f"--set potential.*: {err}") from None
    return dataclasses.replace(cfg, **top)


def rng_seed(seed: int) -> int:
    """Validate a seed (a non-negative integer below 2^63)."""
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise ConfigError(f"--seed {seed!r}: must be an integer in [0, 2^63)")
    return int(seed)


__all__ = ["SimConfig", "apply_overrides", "config_from_dict", "rng_seed", "PHI_CLOSE_PACKING", "KT"]
