"""Small synthetic tracks tables for tests (made by the tests, never real data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.data.tracks import Tracks, TracksMeta


def random_walk_tracks(
    n_tracks: int = 6, n_frames: int = 40, seed: int = 0, step_um: float = 1.0, box_um: float = 50.0, drop: float = 0.0
) -> Tracks:
    """Independent random walks; ``drop`` removes that fraction of spots at random (gaps)."""
    rng = np.random.default_rng(seed)
    rows = []
    for tid in range(1, n_tracks + 1):
        start = rng.uniform(0, box_um, 2)
        path = start + np.cumsum(rng.normal(0, step_um, (n_frames, 2)), axis=0)
        for f in range(n_frames):
            if drop and rng.random() < drop:
                continue
            rows.append((tid, f, path[f, 0], path[f, 1]))
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"])
    return Tracks.from_table(df, TracksMeta(dataset=f"walk{seed}", frame_interval_s=60.0))


def table(rows, **meta) -> Tracks:
    """Tracks from (track_id, frame, x_um, y_um) tuples."""
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"])
    return Tracks.from_table(df, TracksMeta(dataset=meta.pop("dataset", "t"), **meta))
