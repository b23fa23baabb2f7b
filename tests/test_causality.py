"""Features at frame t read frames <= t only: perturbing later frames changes nothing at t."""

import numpy as np
import numpy.testing as npt
import pandas as pd

from cellbench.models.references import AutoRegressive, ConstVelocity
from cellbench.data.dataset import build_dataset
from cellbench.inputs.features import node_features
from cellbench.inputs.graphs import frame_graphs
from cellbench.data.tracks import Tracks
from tests.helpers import random_walk_tracks


def _perturb_after(t: Tracks, frame: int, seed: int = 99) -> Tracks:
    df = t.df.copy()
    later = df["frame"] > frame
    rng = np.random.default_rng(seed)
    df.loc[later, "x_um"] += rng.normal(0, 50, later.sum())
    df.loc[later, "y_um"] += rng.normal(0, 50, later.sum())
    # also delete some later spots and add a new track after `frame`
    df = df.drop(df[later].sample(frac=0.2, random_state=seed).index)
    extra = pd.DataFrame({"track_id": 999, "frame": np.arange(frame + 1, frame + 5), "x_um": 1.0, "y_um": 2.0})
    return t.with_df(pd.concat([df, extra], ignore_index=True))


def _rows_up_to(t: Tracks, frame: int) -> pd.DataFrame:
    return t.df[t.df["frame"] <= frame][["track_id", "frame"]].reset_index(drop=True)


def test_features_and_graphs_at_t_ignore_later_frames():
    t = random_walk_tracks(n_tracks=10, n_frames=40, seed=5, drop=0.1)
    cut = 25
    u = _perturb_after(t, cut)
    ft, fu = node_features(t, 12.0), node_features(u, 12.0)
    keep_t, keep_u = (t.df["frame"] <= cut).to_numpy(), (u.df["frame"] <= cut).to_numpy()
    pd.testing.assert_frame_equal(_rows_up_to(t, cut), _rows_up_to(u, cut))
    pd.testing.assert_frame_equal(ft[keep_t].reset_index(drop=True), fu[keep_u].reset_index(drop=True))
    gt = [g for g in frame_graphs(t, 12.0) if g.frame <= cut]
    gu = [g for g in frame_graphs(u, 12.0) if g.frame <= cut]
    for a, b in zip(gt, gu):
        npt.assert_array_equal(a.edge_index, b.edge_index)
        npt.assert_array_equal(a.d_um, b.d_um)


def test_reference_predictions_at_t_ignore_later_frames():
    t = random_walk_tracks(n_tracks=10, n_frames=60, seed=6)
    cut = 50  # inside the test block: training data (frames < 42) is unchanged
    u = _perturb_after(t, cut)
    for model in (ConstVelocity(), AutoRegressive(order=3)):
        dt, du = build_dataset([t]), build_dataset([u])
        pt = model.fit(dt).predict(dt)[0][(t.df["frame"] <= cut).to_numpy()]
        pu = model.fit(du).predict(du)[0][(u.df["frame"] <= cut).to_numpy()]
        npt.assert_allclose(pt, pu)
