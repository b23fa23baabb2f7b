r"""The simulator's own noise-free few-body response: a handful of cells integrated over one frame.

The engine's kernels (:func:`cellbench.sim.engine._advance`, the call the recorded one-frame
oracle makes) integrate ``n_cells`` cells (2 for a pair, 3 for an additivity check) placed at
given positions, without noise, over one frame interval (``record_every`` steps of ``dt_s``):

.. math:: x_i \leftarrow x_i + \mu \Big(\sum_j F_{ij} + F^{wall}_i\Big)\,dt, \qquad
          \Delta x_i = x_i(\tau) - x_i(0), \quad \tau = \text{record\_every}\cdot dt

The rules (:data:`RULES`):

* Self-propulsion is removed (``v0_um_per_s = 0``): an active preset's response is its pair
  potential's alone (alignment then turns headings only and moves nobody). Noise-free mode also
  switches off division.
* The cells sit in open space. Each configuration is translated so that the centre of its
  bounding box is the centre of the engine's domain (the middle of the periodic box, the centre
  of the microwell), and the domain is enlarged when needed (box side >= 2 (extent + reach),
  well radius >= extent + reach + a cell radius, reach = interaction range + Verlet skin, extent
  = the farthest cell from the centre plus a radius), so no periodic image and no wall acts.
* Every cell has the config's mean radius ``radius_um`` unless radii are given.
* A configuration whose integration blows up (a cell jumping more than a box in one step, deep
  overlaps of steep potentials) gives NaN displacements, not an error.

For a frame of one step the response is exactly :math:`\mu F(r)\,dt` along the pair axis
(:mod:`cellbench.sim.potentials`), and a target's response to two neighbours is exactly the sum
of its responses to each; over many steps both hold only while the cells move little compared
with the scale of the potential.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cellbench import space
from cellbench.errors import ConfigError
from cellbench.sim.config import SimConfig, config_from_dict
from cellbench.sim.engine import SKIN_FRACTION, State, _advance, kernel_params

RULES = {
    "self_propulsion": "removed (v0_um_per_s = 0): the response of an active preset is its pair potential's alone",
    "placement": "each configuration centred in the engine's domain (middle of the periodic box, centre of the "
                 "microwell), the domain enlarged so that no periodic image or wall acts (open space)",
    "radii": "every cell has the config's mean radius_um",
    "integration": "the engine's kernels, noise off, one frame interval (record_every steps of dt_s); "
                   "NaN where the integration blows up",
}
"""The rules of the truth, as stated in a run's metrics."""


def as_config(cfg_or_meta) -> SimConfig:
    """A :class:`SimConfig` from itself or from a run's meta dict (its ``config`` entry)."""
    if isinstance(cfg_or_meta, SimConfig):
        return cfg_or_meta
    if isinstance(cfg_or_meta, dict) and isinstance(cfg_or_meta.get("config"), dict):
        return config_from_dict(cfg_or_meta["config"])
    raise ConfigError(f"expected a SimConfig or a run's meta dict with a 'config' entry, "
                      f"got {type(cfg_or_meta).__name__}")


def probe_config(cfg: SimConfig, n_cells: int, extent_um: float) -> SimConfig:
    """``cfg`` for ``n_cells`` cells within ``extent_um`` of the domain centre, in open space.

    Self-propulsion off, no division, no field of view; the periodic box or the microwell is
    enlarged when it is too small to keep images and walls out of reach (see :data:`RULES`).
    """
    reach = cfg.interaction_range_um * (1.0 + SKIN_FRACTION)
    changes = dict(n_cells=int(n_cells), v0_um_per_s=0.0, fov_um=None, division_rate_per_s=0.0, max_cells=0,
                   n_equil_steps=0, sigma_loc_um=0.0)
    if cfg.boundary == "periodic":
        changes["box_um"] = float(max(cfg.box_um, 2.0 * (extent_um + reach), 3.0 * cfg.interaction_range_um))
    else:
        changes["well_radius_um"] = float(max(cfg.well_radius_um, extent_um + reach + cfg.max_radius_um))
    return dataclasses.replace(cfg, **changes)


def _domain_centre_um(cfg: SimConfig) -> np.ndarray:
    return np.full(2, cfg.box_um / 2.0) if cfg.boundary == "periodic" else np.zeros(2)


def _checked_positions(pos_um) -> np.ndarray:
    pos = np.asarray(pos_um, dtype=float)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 2 or pos.shape[1] < 1 or pos.shape[0] < 1:
        raise ValueError(f"positions must have shape (n_configs, n_cells, 2) in um, found {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions must be finite numbers in um")
    return pos


def noise_free_displacements_um(cfg_or_meta, pos_um, radius_um=None, seed: int = 0) -> np.ndarray:
    """Displacements of a few cells over one frame interval, noise off, self-propulsion removed.

    Parameters
    ----------
    cfg_or_meta : a :class:`SimConfig` or a run's meta dict (``meta["config"]``).
    pos_um : (n_configs, n_cells, 2) or (n_cells, 2) positions in um, any origin: each
        configuration is centred in the engine's domain (translation does not change the response).
    radius_um : (n_cells,) radii in um, or None for the config's mean radius for every cell.
    seed : the engine's seed (noise is off: it changes nothing, kept for the kernel call).

    Returns
    -------
    (n_configs, n_cells, 2) array in um per frame; NaN for a configuration whose integration blew up.
    """
    base = as_config(cfg_or_meta)
    pos = _checked_positions(pos_um)
    n_cfg, n_cells, _ = pos.shape
    radii = np.full(n_cells, base.radius_um) if radius_um is None else np.asarray(radius_um, dtype=float)
    if radii.shape != (n_cells,) or not np.all(np.isfinite(radii) & (radii > 0)):
        raise ValueError(f"radius_um must be ({n_cells},) finite radii > 0 um, found {np.shape(radius_um)}")
    mid = 0.5 * (pos.min(axis=1) + pos.max(axis=1))  # (n_configs, 2) bounding-box centres
    rel = pos - mid[:, None, :]
    extent_um = float(np.max(np.hypot(rel[..., 0], rel[..., 1]))) + float(radii.max())
    cfg = probe_config(base, n_cells, extent_um)
    prm = kernel_params(cfg)
    box = cfg.box_um if cfg.boundary == "periodic" else None
    start = rel + _domain_centre_um(cfg)
    out = np.full(pos.shape, np.nan)
    for k in range(n_cfg):
        st = State(n_cells)
        st.x[:], st.y[:] = start[k, :, 0], start[k, :, 1]
        st.a[:] = radii
        st.tid[:] = np.arange(n_cells)
        st.n, st.next_id = n_cells, n_cells
        try:
            _advance(st, 0, cfg.record_every, seed, False, prm, cfg)
        except ConfigError:
            continue  # blew up: NaN (see RULES)
        end = np.stack([space.unwrap(st.x, st.imx, box), space.unwrap(st.y, st.imy, box)], axis=1)
        out[k] = end - start[k]
    return out


def pair_positions_um(r_um, angles_rad) -> np.ndarray:
    """(n_r * n_angles, 2, 2) pairs: the target at the origin, the neighbour at ``-r e(angle)``.

    The unit vector from neighbour to target is ``e(angle) = (cos, sin)``; rows run over angles
    fastest (``k = i_r * n_angles + i_angle``).
    """
    r = np.asarray(r_um, dtype=float).reshape(-1)
    ang = np.asarray(angles_rad, dtype=float).reshape(-1)
    e = np.stack([np.cos(ang), np.sin(ang)], axis=1)  # (n_angles, 2)
    nb = -(r[:, None, None] * e[None])  # (n_r, n_angles, 2)
    pos = np.zeros((len(r), len(ang), 2, 2))
    pos[:, :, 1] = nb
    return pos.reshape(-1, 2, 2)


def orientations_rad(n_orientations: int) -> np.ndarray:
    """``n_orientations`` pair axes evenly spread over the circle, 2 pi k / n (rad)."""
    if isinstance(n_orientations, bool) or not isinstance(n_orientations, (int, np.integer)) or n_orientations < 1:
        raise ValueError(f"n_orientations must be an integer >= 1, got {n_orientations!r}")
    return 2.0 * np.pi * np.arange(n_orientations) / n_orientations


def pair_response_um(cfg_or_meta, r_um, n_orientations: int = 4) -> np.ndarray:
    r"""The target's response to one neighbour at distance r, along the unit vector from neighbour to target.

    .. math:: R(r) = \big\langle (\Delta x_0(r, \phi) - \Delta x_0^{alone}) \cdot e(\phi) \big\rangle_\phi

    (positive = repulsion), averaged over ``n_orientations`` pair axes; the lone cell's
    displacement is 0 in open space and is subtracted all the same.

    Parameters
    ----------
    r_um : (n_r,) centre distances in um, > 0.

    Returns
    -------
    (n_r,) array, um per frame; NaN where the integration blew up.
    """
    r = np.asarray(r_um, dtype=float).reshape(-1)
    if len(r) == 0 or not np.all(np.isfinite(r) & (r > 0)):
        raise ValueError("r_um must be finite distances > 0 um")
    ang = orientations_rad(n_orientations)
    d = noise_free_displacements_um(cfg_or_meta, pair_positions_um(r, ang))[:, 0]  # the target's
    alone = noise_free_displacements_um(cfg_or_meta, np.zeros((1, 1, 2)))[0, 0]
    e = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    along = np.einsum("rak,ak->ra", (d - alone).reshape(len(r), len(ang), 2), e)
    return along.mean(axis=1)


def noisy_pair_response_um(cfg_or_meta, r_um, n_replicas: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The pair's mean response *with* the simulator's noise: what a predictor of one frame can learn.

    .. math:: R_{noise}(r) = E\big[(\Delta x_i - \Delta x_j) \cdot e_{ji} / 2 \,\big|\, |x_i - x_j| = r\big]

    over one frame interval with thermal noise on (self-propulsion removed, as :data:`RULES`). Over
    a long frame the noise carries pairs into and out of contact, so this conditional mean (the
    target a model trained on the data estimates) differs from the noise-free response of
    :func:`pair_response_um`; they agree when a frame is short against the time to diffuse across
    the interaction range. Per distance, ``n_replicas`` pairs (random axes) run in one simulation
    on a periodic lattice spaced so that no pair meets another within a frame (6 diffusion lengths
    beyond the interaction range); a distance whose integration blows up is NaN.

    Returns
    -------
    (mean (n_r,), standard error (n_r,)) in um per frame.
    """
    base = as_config(cfg_or_meta)
    r = np.asarray(r_um, dtype=float).reshape(-1)
    if len(r) == 0 or not np.all(np.isfinite(r) & (r > 0)) or int(n_replicas) < 2:
        raise ValueError("r_um must be finite distances > 0 um and n_replicas >= 2")
    n = int(n_replicas)
    spread = 6.0 * np.sqrt(2.0 * base.D_t_um2_per_s * base.frame_interval_s)
    spacing = float(r.max() + 2.0 * base.interaction_range_um * (1.0 + SKIN_FRACTION) + 2.0 * spread
                    + 2.0 * base.max_radius_um)
    m = int(np.ceil(np.sqrt(n)))
    cfg = dataclasses.replace(base, n_cells=2 * n, v0_um_per_s=0.0, fov_um=None, division_rate_per_s=0.0,
                              max_cells=0, n_equil_steps=0, sigma_loc_um=0.0, boundary="periodic", box_um=m * spacing,
                              well_radius_um=None)  # a microwell preset's pairs, too, in open periodic space
    prm = kernel_params(cfg)
    rng = np.random.default_rng([int(seed), 0x2B0D])
    k = np.arange(n)
    centre = (np.stack([k % m, k // m], axis=1) + 0.5) * spacing
    mean, se = np.full(len(r), np.nan), np.full(len(r), np.nan)
    for i, ri in enumerate(r):
        ang = rng.uniform(-np.pi, np.pi, n)
        e = np.stack([np.cos(ang), np.sin(ang)], axis=1)  # unit vector from neighbour j to target i
        start = np.concatenate([centre + 0.5 * ri * e, centre - 0.5 * ri * e])  # targets, then neighbours
        st = State(2 * n)
        st.x[:], st.y[:] = start[:, 0], start[:, 1]
        st.a[:] = base.radius_um
        st.tid[:] = np.arange(2 * n)
        st.n, st.next_id = 2 * n, 2 * n
        try:
            _advance(st, 0, cfg.record_every, int(seed) + i, True, prm, cfg)
        except ConfigError:
            continue
        end = np.stack([space.unwrap(st.x, st.imx, cfg.box_um), space.unwrap(st.y, st.imy, cfg.box_um)], axis=1)
        d = end - start
        along = 0.5 * np.einsum("pk,pk->p", d[:n] - d[n:], e)
        mean[i], se[i] = along.mean(), along.std(ddof=1) / np.sqrt(n)
    return mean, se


__all__ = ["RULES", "as_config", "probe_config", "noise_free_displacements_um", "pair_positions_um",
           "orientations_rad", "pair_response_um", "noisy_pair_response_um"]
