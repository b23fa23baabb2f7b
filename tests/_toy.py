"""A tiny interacting-particle movie for model tests (numpy, seconds): soft repulsive discs with
self-propulsion in a periodic box. Interactions dominate the one-step displacement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.tracks import Tracks, TracksMeta


def soft_disc_tracks(n_cells: int = 60, n_frames: int = 80, box_um: float = 60.0, sigma_um: float = 8.0,
                     k_per_frame: float = 0.25, v0_um: float = 0.3, noise_um: float = 0.05, seed: int = 0,
                     churn: float = 0.0, theta_noise: float = 0.2) -> Tracks:
    """Overdamped soft discs; one step per frame: x += k (sigma - r) r_hat (pairs overlapping) + v0 e(theta) + noise.

    ``churn`` > 0 gives births and deaths: each frame that fraction of cells gets a new track id.
    """
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, box_um, (n_cells, 2))
    theta = rng.uniform(0, 2 * np.pi, n_cells)
    tid = np.arange(n_cells)
    next_id = n_cells
    rows = []
    for t in range(n_frames):
        for i in range(n_cells):
            rows.append((int(tid[i]), t, float(pos[i, 0]), float(pos[i, 1])))
        d = pos[:, None, :] - pos[None, :, :]
        d -= box_um * np.round(d / box_um)
        r = np.hypot(d[..., 0], d[..., 1]) + np.eye(n_cells) * 1e9
        over = np.clip(sigma_um - r, 0, None)
        force = (over / r)[..., None] * d
        step = k_per_frame * force.sum(axis=1) + v0_um * np.c_[np.cos(theta), np.sin(theta)]
        pos = np.mod(pos + step + noise_um * rng.normal(size=pos.shape), box_um)
        theta += theta_noise * rng.normal(size=n_cells)
        if churn:
            new = rng.random(n_cells) < churn
            tid[new] = np.arange(next_id, next_id + new.sum())
            next_id += int(new.sum())
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"])
    meta = TracksMeta(dataset=f"toy-soft-discs-{seed}", extra={"periodic": True, "box_um": box_um})
    return Tracks.from_table(df, meta)
