"""Model inputs at frame t read frames <= t only: perturbing later frames changes nothing at t.

Checked on the production path, :func:`cellbench.inputs.batching.build_frames` (what every
learned model reads), and on the reference predictors.
"""

import numpy as np
import numpy.testing as npt
import pandas as pd

from cellbench.data.dataset import build_dataset
from cellbench.data.tracks import Tracks
from cellbench.inputs.batching import FrameData, TargetScaler, build_frames
from cellbench.inputs.graphs import frame_graphs
from cellbench.models.references import AutoRegressive, ConstVelocity
from tests.helpers import random_walk_tracks


def _perturb_after(t: Tracks, frame: int, seed: int = 99) -> Tracks:
    df = t.df.copy()
    later = df["frame"] > frame
    rng = np.random.default_rng(seed)
    df.loc[later, "x_um"] += rng.normal(0, 50, later.sum())
    df.loc[later, "y_um"] += rng.normal(0, 50, later.sum())
    if "radius_um" in df.columns:
        df.loc[later, "radius_um"] *= rng.uniform(0.5, 2.0, later.sum())
    # also delete some later spots and add a new track after `frame`
    df = df.drop(df[later].sample(frac=0.2, random_state=seed).index)
    extra = pd.DataFrame({"track_id": 999, "frame": np.arange(frame + 1, frame + 5), "x_um": 1.0, "y_um": 2.0})
    if "radius_um" in df.columns:
        extra["radius_um"] = 3.0
    return t.with_df(pd.concat([df, extra], ignore_index=True))


def _rows_up_to(t: Tracks, frame: int) -> pd.DataFrame:
    return t.df[t.df["frame"] <= frame][["track_id", "frame"]].reset_index(drop=True)


def _model_inputs(t: Tracks, cut: int) -> list[FrameData]:
    """The frames <= cut of ``build_frames``, with fixed target statistics (fitting them on the
    training block is the split's business, tested in test_train) and a prior on every edge."""
    scaler = TargetScaler(np.array([0.3, -0.2]), 1.7)
    frames = build_frames(build_dataset([t]), 12.0, scaler, n_lags=3, c_tilde_fn=lambda d_um: np.cos(d_um))[0]
    return [f for f in frames if f.frame <= cut]


def test_node_and_edge_features_at_t_ignore_later_frames():
    t = random_walk_tracks(n_tracks=10, n_frames=40, seed=5, drop=0.1)
    t = t.with_df(t.df.assign(radius_um=np.random.default_rng(1).uniform(2.0, 6.0, t.n_rows)))
    cut = 25
    u = _perturb_after(t, cut)
    pd.testing.assert_frame_equal(_rows_up_to(t, cut), _rows_up_to(u, cut))
    ft, fu = _model_inputs(t, cut), _model_inputs(u, cut)
    assert [f.frame for f in ft] == [f.frame for f in fu] == sorted(set(t.df["frame"][t.df["frame"] <= cut]))
    assert ft[0].x.shape[1] == 3 * 3 + 2  # 3 lags x (dx, dy, has), log1p(n_neighbours), radius / r_cut
    for a, b in zip(ft, fu):
        npt.assert_array_equal(a.rows, b.rows)
        npt.assert_array_equal(a.track_id, b.track_id)
        for name in ("x", "edge_index", "edge_attr", "c_tilde", "has_neighbour"):
            npt.assert_array_equal(getattr(a, name).numpy(), getattr(b, name).numpy(), err_msg=name)
        npt.assert_array_equal(a.d_um, b.d_um)


def test_graphs_at_t_ignore_later_frames():
    t = random_walk_tracks(n_tracks=10, n_frames=40, seed=5, drop=0.1)
    cut = 25
    u = _perturb_after(t, cut)
    gt = [g for g in frame_graphs(t, 12.0) if g.frame <= cut]
    gu = [g for g in frame_graphs(u, 12.0) if g.frame <= cut]
    assert len(gt) == len(gu)
    for a, b in zip(gt, gu):
        npt.assert_array_equal(a.edge_index, b.edge_index)
        npt.assert_array_equal(a.d_um, b.d_um)
        npt.assert_array_equal(a.rel_um, b.rel_um)


def test_reference_predictions_at_t_ignore_later_frames():
    t = random_walk_tracks(n_tracks=10, n_frames=60, seed=6)
    cut = 50  # inside the test block: training data (frames < 42) is unchanged
    u = _perturb_after(t, cut)
    for model in (ConstVelocity(), AutoRegressive(order=3)):
        dt, du = build_dataset([t]), build_dataset([u])
        pt = model.fit(dt).predict(dt)[0][(t.df["frame"] <= cut).to_numpy()]
        pu = model.fit(du).predict(du)[0][(u.df["frame"] <= cut).to_numpy()]
        npt.assert_allclose(pt, pu)
