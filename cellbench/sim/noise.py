r"""Localization (observation) noise: what a microscope and a segmentation add to true positions.

The recorded position of cell :math:`i` at frame :math:`t` is

.. math:: x^{obs}_{i,t} = x_{i,t} + \sigma_{loc}\, z_{i,t}, \qquad z_{i,t} \sim N(0, I_2)

with :math:`z` independent over cells, frames and axes. The observed one-frame displacement is
then :math:`d^{obs} = d + \sigma_{loc}(z_{t+1} - z_t)`: its variance per axis gains
:math:`2\sigma_{loc}^2` and successive displacements of a cell are anti-correlated,
:math:`\mathrm{Cov}(d^{obs}_t, d^{obs}_{t+1}) = \mathrm{Cov}(d_t, d_{t+1}) - \sigma_{loc}^2` per axis.

The noise is a pure function of ``(seed, frame, track_id)``: frame ``f`` draws from
``np.random.default_rng([seed, LOC_NOISE_TAG, f])`` and cell ``track_id`` takes normals
``2 track_id`` and ``2 track_id + 1`` of that stream. It is therefore independent of the dynamics'
random numbers (the trajectories are bitwise those without noise), of which other cells are
observed and of the numba thread count.
"""

from __future__ import annotations

import numpy as np

LOC_NOISE_TAG = 0x10C_A115  # second word of the seed of the localization-noise streams


def localization_noise_um(seed: int, frame: np.ndarray, track_id: np.ndarray, sigma_loc_um: float) -> np.ndarray:
    """Noise added to the recorded positions, shape ``(n_rows, 2)`` in um.

    Parameters
    ----------
    seed : the simulation seed (non-negative integer).
    frame, track_id : ``(n_rows,)`` integer arrays, one row per recorded cell and frame (any order).
    sigma_loc_um : standard deviation per axis, um (>= 0).

    Returns
    -------
    ndarray (n_rows, 2): ``sigma_loc_um * z`` with ``z`` the standard normals keyed by
    ``(seed, frame, track_id)``; zeros when ``sigma_loc_um == 0``.
    """
    frame = np.asarray(frame, dtype=np.int64)
    track_id = np.asarray(track_id, dtype=np.int64)
    if frame.shape != track_id.shape or frame.ndim != 1:
        raise ValueError(f"frame and track_id must be 1-D of the same length, got {frame.shape} and {track_id.shape}")
    out = np.zeros((len(frame), 2))
    if sigma_loc_um == 0 or len(frame) == 0:
        return out
    if (frame < 0).any() or (track_id < 0).any():
        raise ValueError("frame and track_id must be >= 0 to key the localization noise")
    order = np.argsort(frame, kind="stable")
    frames, starts = np.unique(frame[order], return_index=True)
    bounds = np.append(starts, len(order))
    for f, a, b in zip(frames, bounds[:-1], bounds[1:]):
        rows = order[a:b]
        ids = track_id[rows]
        z = np.random.default_rng([int(seed), LOC_NOISE_TAG, int(f)]).standard_normal((int(ids.max()) + 1, 2))
        out[rows] = z[ids]
    return sigma_loc_um * out


def observed_positions_um(
    x_um: np.ndarray, y_um: np.ndarray, frame: np.ndarray, track_id: np.ndarray, seed: int, sigma_loc_um: float,
    box_um: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The recorded positions: true ``(x_um, y_um)`` plus :func:`localization_noise_um`.

    ``box_um``: side of a periodic box whose every point is observed; the noisy positions are
    wrapped back into ``[0, box_um)`` like the true ones (displacements are read by minimum
    image there). None (open field of view or microwell): no wrapping, a noisy position may lie
    up to a few ``sigma_loc_um`` outside the field of view, as the true one decided what is seen.
    New arrays are returned; the inputs are not modified.
    """
    noise = localization_noise_um(seed, frame, track_id, sigma_loc_um)
    x = np.asarray(x_um, dtype=float) + noise[:, 0]
    y = np.asarray(y_um, dtype=float) + noise[:, 1]
    if box_um is not None:
        x, y = (_wrap(v, float(box_um)) for v in (x, y))
    return x, y


def _wrap(v: np.ndarray, box_um: float) -> np.ndarray:
    w = v - box_um * np.floor(v / box_um)
    return np.where(w >= box_um, 0.0, w)  # -1e-17 mod L rounds to L


__all__ = ["LOC_NOISE_TAG", "localization_noise_um", "observed_positions_um"]
