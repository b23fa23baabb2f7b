"""Causal node features: everything at frame t is computed from frames <= t only.

``node_features`` gives, per row of a :class:`Tracks` table (one cell in one frame):

=========================  ==============================================================
column                     meaning
=========================  ==============================================================
``dx_lag{l}_um``           x component of the step ``l`` frames back (lag 1 = x^t - x^{t-1}), 0 if absent
``dy_lag{l}_um``           y component of that step, 0 if absent
``has_lag{l}``             1 where that step exists in the track, else 0
``speed_lag1_um_per_frame``  magnitude of the lag-1 step (0 if absent)
``radius_um``              the spot radius when the table has one (else absent)
``n_neighbours``           cells within ``r_cut_um`` in the same frame
``age_frames``             frames since the track's first spot
=========================  ==============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.inputs.graphs import frame_graphs
from cellbench.data.targets import history_um, track_age_frames
from cellbench.data.tracks import Tracks


def neighbour_counts(tracks: Tracks, r_cut_um: float) -> np.ndarray:
    """(n_rows,) number of other cells within ``r_cut_um`` in the same frame."""
    counts = np.zeros(tracks.n_rows, dtype=np.int64)
    for g in frame_graphs(tracks, r_cut_um):
        real = ~g.self_loop
        counts[g.rows] = np.bincount(g.edge_index[1][real], minlength=g.n_nodes)
    return counts


def node_features(tracks: Tracks, r_cut_um: float, n_lags: int = 3) -> pd.DataFrame:
    """The causal feature table described in the module docstring, row-aligned with ``tracks.df``."""
    hist = history_um(tracks, n_lags)
    cols: dict[str, np.ndarray] = {}
    for lag in range(n_lags):
        present = ~np.isnan(hist[:, lag, 0])
        cols[f"dx_lag{lag + 1}_um"] = np.where(present, hist[:, lag, 0], 0.0)
        cols[f"dy_lag{lag + 1}_um"] = np.where(present, hist[:, lag, 1], 0.0)
        cols[f"has_lag{lag + 1}"] = present.astype(np.float64)
    cols["speed_lag1_um_per_frame"] = np.hypot(cols["dx_lag1_um"], cols["dy_lag1_um"])
    if "radius_um" in tracks.df.columns:
        cols["radius_um"] = tracks.df["radius_um"].to_numpy(dtype=np.float64)
    cols["n_neighbours"] = neighbour_counts(tracks, r_cut_um).astype(np.float64)
    cols["age_frames"] = track_age_frames(tracks).astype(np.float64)
    return pd.DataFrame(cols)
