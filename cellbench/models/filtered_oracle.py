r"""``filtered-oracle``: the best prediction from observed positions (up to the approximations below).

Simulated data only. The ``oracle`` integrates the noise-free dynamics from the *true* state,
heading included, which no model sees: on active presets its RMSE mixes "the heading is
unknowable" with "the model is poor". This reference knows the simulator's equations and parameters (the run's ``meta``; never
its truth columns) but reads only the observed positions of frames <= t. Per cell it runs a
bootstrap particle filter over the heading :math:`\theta`, with ``n_particles`` samples
:math:`\theta_i^{(p)}` of equal weight.

**Prediction at frame t.** Replica p is the observed frame t with every cell given its particle
p; :func:`cellbench.models.filtered_kernels.integrate_replicas` integrates the simulator's
drift over one frame interval :math:`\tau` = ``record_every * dt_s`` in ``n_sub`` Euler
sub-steps, with rotational diffusion (and the alignment torque) on the heading, without
translational noise:

.. math:: \hat y_i^t = \frac{1}{P} \sum_p D_i^{(p)}, \quad
          D_i^{(p)} = \int_t^{t+\tau} \left(v_0 e(\theta_i^{(p)}(s)) + \mu \sum_j F_{ij} + \mu F^{wall}_i\right) ds

For a free cell :math:`E[D] = v_0 e(\theta)\,(1 - e^{-D_r \tau}) / D_r`: with a known heading
this is the oracle's :math:`v_0 e(\theta)\tau` shrunk by the heading's diffusion within the frame.

**Update at frame t + 1** (the same track observed at t and t + 1). The path ends
:math:`\theta_i^{(p)}(t + \tau)` are weighted by the likelihood of the observed displacement
:math:`d_i` (minimum image) and resampled (systematic resampling, then a random permutation of
the particles so that replicas pair cells independently):

.. math:: w_i^{(p)} \propto \exp\left(-\frac{|d_i - D_i^{(p)}|^2}{2 s^2}\right),
          \qquad s^2 = 2 D_t \tau + 2\sigma_{loc}^2 \ \text{per axis}

**Track starts.** A new track (entering the field of view, or the first frame) starts from a
uniform heading. A track seen again after a gap of g frames continues from its last paths,
diffused by :math:`N(0, 2 D_r \tau g)`. A daughter (``parent_id`` of an observed mother) starts
from the mother's last path ends, each particle flipped by :math:`\pi` with probability 1/2: the
simulator gives one daughter the mother's heading and the other the opposite one, and the
observations do not say which is which.

**Approximations.** (1) Mean-field posterior: the heading posterior is a product over cells,
and the replicas pair independent samples; the likelihood of cell i is evaluated with its
neighbours' sampled headings, not marginalised over them. (2) Only observed cells exert forces;
near the edge of the field of view cells outside it are missing. (3) Integration starts from the
observed positions; with localization noise they are the noisy ones, and successive observed
displacements (which share a noise term) are treated as independent. (4) The likelihood's
variance is the free-diffusion one; in contact, forces absorb part of the kick, so it is wider
than the truth and each step is weighed a little less than it could be. (5) ``n_sub`` Euler sub-steps:
the simulator's own ``dt_s`` when the headings do not matter (``v0 = 0``: one replica, the
oracle's integration from the observed positions, equal to it up to round-off when every cell
is observed without noise), else ``min(record_every, substeps)`` (default 40; for ``default``
h = 0.05 s against the harmonic contact time 1/(mu k) = 0.1 s), raised to keep mu k h <= 0.5
for a harmonic potential or wall (the limit :class:`~cellbench.sim.config.SimConfig` puts on
dt). (6) No division within a frame. (7) Monte Carlo: the prediction carries a sampling error of
order sd(D)/sqrt(P), which costs R^2 (``default`` test block: 0.449 with P = 64, 0.455 with 128).

Measured (seed 0, test blocks, R^2 of zero / oracle / filtered-oracle): ``default`` -0.002 /
0.658 / 0.449 (19 s for the whole run), ``abp-wca`` -0.016 / 0.944 / 0.900 (27 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench import space
from cellbench.errors import ConfigError
from cellbench.models.filtered_kernels import FLAG_BLOWUP, FLAG_SKIN, integrate_replicas, neighbour_lists
from cellbench.sim.kernels.params import P_MU, P_WALL_K

MAX_REFINE = 6
"""How many times a frame is redone (skin doubled, or sub-steps doubled) before giving up."""


@dataclass(frozen=True)
class FilterParams:
    """What the filter knows: the simulator's equations and parameters, from a run's ``meta``.

    prm : the simulator's parameter vector (:func:`cellbench.sim.engine.kernel_params`).
    v0_um_per_s, D_t_um2_per_s, D_r_per_s, sigma_loc_um : dynamics and localization noise.
    frame_interval_s : tau. record_every : simulator steps per frame. radius_um : the radius of cells
    without a ``radius_um`` column. box_um : periodic box side or None. potential : the
    :class:`~cellbench.sim.potentials.PairPotential` or None. align_range_um : 0 without alignment.
    """

    prm: np.ndarray
    v0_um_per_s: float
    D_t_um2_per_s: float
    D_r_per_s: float
    sigma_loc_um: float
    frame_interval_s: float
    record_every: int
    radius_um: float
    box_um: float | None
    potential: object
    align_range_um: float

    @classmethod
    def from_meta(cls, meta: dict) -> "FilterParams":
        from cellbench.sim.config import config_from_dict
        from cellbench.sim.engine import kernel_params

        cfg = config_from_dict(meta["config"])
        return cls(kernel_params(cfg), cfg.v0_um_per_s, cfg.D_t_um2_per_s, cfg.D_r_per_s, cfg.sigma_loc_um,
                   cfg.frame_interval_s, cfg.record_every, cfg.radius_um,
                   float(cfg.box_um) if cfg.boundary == "periodic" else None, cfg.potential,
                   cfg.align_range_um if cfg.align_strength_per_s > 0 else 0.0)

    @property
    def min_substeps(self) -> int:
        """Fewest Euler sub-steps per frame keeping mu k h <= 0.5 for a harmonic potential or wall (as SimConfig)."""
        k = float(self.prm[P_WALL_K])
        if self.potential is not None and self.potential.name == "harmonic":
            k = max(k, float(self.potential.k_kT_per_um2))
        return int(np.ceil(self.prm[P_MU] * k * self.frame_interval_s / 0.5))

    def interaction_range_um(self, max_contact_um: float) -> float:
        """Largest distance at which two observed cells interact (0: they never do), um."""
        r = self.align_range_um
        if self.potential is not None:
            r = max(r, self.potential.r_cut_pair_um(max_contact_um))
        return float(r)


@dataclass(frozen=True, eq=False)
class FilterResult:
    """Per row of a tracks table: predicted mean displacement and the filtered heading at the frame.

    mean_um : (n_rows, 2), um per frame. heading_rad : (n_rows,) circular mean of the particles at
    frame t (after the update with the step t-1 -> t). heading_r : (n_rows,) their mean resultant
    length in [0, 1] (1: the heading is known; ~0: it is not).
    """

    mean_um: np.ndarray
    heading_rad: np.ndarray
    heading_r: np.ndarray


def systematic_resample(theta: np.ndarray, logw: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Systematic resampling per row: (n_cells, P) particles, log-weights and (n_cells,) uniforms in [0, 1).

    Particle k of row i is the first ancestor whose cumulative weight exceeds (u_i + k) / P.
    """
    m, n_p = theta.shape
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    c = np.cumsum(w, axis=1)
    c /= c[:, -1:]
    c[:, -1] = 1.0
    offset = 2.0 * np.arange(m)[:, None]
    targets = (u[:, None] + np.arange(n_p)[None, :]) / n_p
    idx = np.searchsorted((c + offset).ravel(), (targets + offset).ravel(), side="right").reshape(m, n_p)
    idx = np.minimum(idx - n_p * np.arange(m)[:, None], n_p - 1)
    return np.take_along_axis(theta, idx, axis=1)


def filter_sequence(tracks, params: FilterParams, seed: int, n_particles: int = 64,
                    substeps: int = 40) -> FilterResult:
    """Run the heading filter over one sequence (rows sorted by frame, then track id).

    Parameters
    ----------
    tracks : :class:`~cellbench.data.tracks.Tracks` (``x_um, y_um``; ``radius_um`` and
        ``parent_id`` when present). params : :class:`FilterParams` of the simulation.
    seed : integer >= 0 or a sequence of them (an ``np.random.default_rng`` seed); same seed, same
        result. n_particles : P (1 is used when v0 = 0).
    substeps : Euler sub-steps per frame for active cells (at most ``record_every``).
    """
    df = tracks.df
    n_rows = len(df)
    pos = df[["x_um", "y_um"]].to_numpy(dtype=float)
    radius = (df["radius_um"].to_numpy(dtype=float) if "radius_um" in df else np.full(n_rows, params.radius_um))
    tids, track = np.unique(df["track_id"].to_numpy(), return_inverse=True)
    parent = df["parent_id"].to_numpy() if "parent_id" in df else np.full(n_rows, -1)
    parent_k = np.searchsorted(tids, parent)
    parent_k = np.where((parent_k < len(tids)) & (tids[np.minimum(parent_k, len(tids) - 1)] == parent), parent_k, -1)
    frames, starts = np.unique(df["frame"].to_numpy(), return_index=True)
    bounds = np.r_[starts, n_rows]

    active = params.v0_um_per_s != 0.0
    n_p = int(n_particles) if active else 1
    n_sub = min(params.record_every, max(int(substeps), params.min_substeps)) if active else params.record_every
    tau = params.frame_interval_s
    s2 = 2.0 * params.D_t_um2_per_s * tau + 2.0 * params.sigma_loc_um ** 2
    rng = np.random.default_rng(seed)
    seed_word = int(rng.integers(0, 2**62))
    r_int = params.interaction_range_um(2.0 * radius.max()) if n_rows else 0.0
    skin0 = max(0.3 * r_int, 2.5 * params.v0_um_per_s * tau) if r_int > 0 else np.inf

    # heading noise of frame f, sub-step s is keyed by step (f << 24) + s: distinct even when a frame is redone
    # with more sub-steps (up to 2^24)
    n_tracks = len(tids)
    end_th = np.zeros((n_tracks, n_p))  # heading path ends of each track's last integration
    end_d = np.zeros((n_tracks, n_p, 2))  # and its displacements
    end_pos = np.zeros((n_tracks, 2))  # from these observed positions
    end_frame = np.full(n_tracks, -1, np.int64)  # the frame those paths end at (-1: none yet)
    mean = np.zeros((n_rows, 2))
    head = np.zeros(n_rows)
    head_r = np.zeros(n_rows)
    for f, r0, r1 in zip(frames, bounds[:-1], bounds[1:]):
        k = track[r0:r1]
        m = r1 - r0
        th = rng.uniform(-np.pi, np.pi, (m, n_p))  # new tracks: uniform heading
        u = rng.random(m)
        cont = end_frame[k] == f
        if cont.any():
            d_obs = space.minimum_image(pos[r0:r1][cont] - end_pos[k[cont]], params.box_um)
            logw = -((d_obs[:, None, :] - end_d[k[cont]]) ** 2).sum(axis=2) / (2.0 * s2)
            th[cont] = systematic_resample(end_th[k[cont]], logw, u[cont])
        gap = (end_frame[k] >= 0) & (end_frame[k] < f)
        pk = parent_k[r0:r1]
        born = (end_frame[k] < 0) & (pk >= 0)
        born &= (end_frame[np.maximum(pk, 0)] >= 0) & (end_frame[np.maximum(pk, 0)] <= f)
        kick = rng.normal(0.0, 1.0, (m, n_p))
        flip = rng.random((m, n_p)) < 0.5
        for rows, src, extra in ((gap, k, 0.0), (born, pk, np.pi)):
            if rows.any():
                lag = f - end_frame[src[rows]]
                sd = np.sqrt(2.0 * params.D_r_per_s * tau * lag)[:, None]
                th[rows] = end_th[src[rows]] + sd * kick[rows] + extra * flip[rows]
        th = rng.permuted(th, axis=1)
        d, th_end = _integrate_frame(pos[r0:r1], radius[r0:r1], th, tids[k].astype(np.int64), params, n_sub,
                                     seed_word, int(f) << 24, r_int, skin0)
        mean[r0:r1] = d.mean(axis=1)
        z = np.exp(1j * th).mean(axis=1)
        head[r0:r1], head_r[r0:r1] = np.angle(z), np.abs(z)
        end_th[k], end_d[k], end_pos[k], end_frame[k] = th_end, d, pos[r0:r1], f + 1
    return FilterResult(mean, head, head_r)


def _integrate_frame(pos_um, radius_um, theta, track_id, params, n_sub, seed_word, step0, r_int, skin_um):
    """(displacements (m, P, 2) um, heading ends (m, P) rad) of one frame's replicas.

    Redone with a doubled skin when a cell outran the neighbour lists, with doubled sub-steps
    when the integration blew up; :class:`ConfigError` after :data:`MAX_REFINE` tries.
    """
    m, n_p = theta.shape
    x0, y0 = np.ascontiguousarray(pos_um[:, 0]), np.ascontiguousarray(pos_um[:, 1])
    dx, dy, th_end = np.empty((m, n_p)), np.empty((m, n_p)), np.empty((m, n_p))
    theta = np.ascontiguousarray(theta)
    for _ in range(MAX_REFINE + 1):
        reach = r_int + skin_um if r_int > 0 else 0.0
        nb_start, nb = neighbour_lists(x0, y0, reach, params.prm)
        h = params.frame_interval_s / n_sub
        sq2dr = np.sqrt(2.0 * params.D_r_per_s * h)
        flag = integrate_replicas(x0, y0, np.ascontiguousarray(radius_um), theta, track_id, nb_start, nb,
                                  params.prm, n_sub, h, sq2dr, seed_word, step0, skin_um, dx, dy, th_end)
        if flag == FLAG_SKIN:
            skin_um *= 2.0
        elif flag == FLAG_BLOWUP:
            n_sub *= 2
        else:
            return np.stack([dx, dy], axis=2), th_end
    raise ConfigError(f"filtered-oracle: the replica integration did not settle after {MAX_REFINE} refinements "
                      f"(last skin {skin_um:g} um, {n_sub} sub-steps per frame)")


class FilteredOracle:
    """``filtered-oracle``: a particle filter over each cell's heading, from observed positions only.

    Parameters
    ----------
    n_particles : heading samples per cell (P). substeps : Euler sub-steps per frame for active
        data (capped at the simulator's ``record_every``; passive data use the simulator's dt).
    """

    def __init__(self, n_particles: int = 64, substeps: int = 40):
        if int(n_particles) < 1 or int(substeps) < 1:
            raise ConfigError(f"filtered-oracle: n_particles ({n_particles}) and substeps ({substeps}) must be >= 1")
        self.n_particles, self.substeps = int(n_particles), int(substeps)

    def config(self) -> dict:
        return {"n_particles": self.n_particles, "substeps": self.substeps}

    def fit(self, data, seed: int = 0):
        if any(not isinstance(getattr(s.truth, "meta", None), dict) or "config" not in s.truth.meta
               for s in data.seqs):
            raise ConfigError("--model filtered-oracle needs simulated data with truth (use --data PRESET)")
        self.seed = int(seed)
        return self

    def filter(self, data) -> list[FilterResult]:
        """:class:`FilterResult` per sequence (sequence i is filtered with the seed words (seed, i))."""
        return [filter_sequence(s.tracks, FilterParams.from_meta(s.truth.meta), [self.seed, i, 0xF1],
                                self.n_particles, self.substeps) for i, s in enumerate(data.seqs)]

    def predict(self, data):
        return [r.mean_um for r in self.filter(data)]
