"""Multi-step rollouts (cellbench.evaluation.rollouts): known answers, the cells rule, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellbench.data.dataset import build_dataset
from cellbench.data.tracks import Tracks, TracksMeta
from cellbench.evaluation.rollouts import (
    HORIZONS,
    position_rmse_um,
    rollout_positions,
    rollout_rmse_um,
    start_frames_in,
)
from cellbench.train.build import build
from tests.helpers import random_walk_tracks, table


def _walks() -> Tracks:
    """Random walks with gaps: cells vanish and reappear inside horizons."""
    return random_walk_tracks(n_tracks=12, n_frames=60, seed=3, step_um=1.5, box_um=80.0, drop=0.08)


def _direct_k_frame_rms_um(tracks: Tracks, starts, k: int) -> tuple[float, int]:
    """Root mean squared k-frame displacement over cells present (no gap) in every frame t0 .. t0 + k."""
    pos = {(int(r.track_id), int(r.frame)): (r.x_um, r.y_um) for r in tracks.df.itertuples()}
    sq = []
    for t0 in starts:
        for tid in tracks.track_ids:
            if all((int(tid), int(t0) + j) in pos for j in range(k + 1)):
                d = np.subtract(pos[(int(tid), int(t0) + k)], pos[(int(tid), int(t0))])
                sq.append(d @ d)
    return float(np.sqrt(np.mean(sq))), len(sq)


def test_zero_rollout_is_the_rms_k_frame_displacement():
    tracks = _walks()
    starts = start_frames_in(tracks, 10, 60, 16)
    assert starts.tolist() == list(range(10, 44))
    res = rollout_rmse_um(rollout_positions(build("zero"), tracks, starts, 16))
    assert sorted(res) == list(HORIZONS)
    for k, r in res.items():
        rms, n = _direct_k_frame_rms_um(tracks, starts, k)
        assert r["n_scored"] == n > 0
        assert r["rmse_um"] == pytest.approx(rms, rel=1e-12)
        assert r["zero_rmse_um"] == pytest.approx(rms, rel=1e-12)
        assert r["rmse_over_zero"] == pytest.approx(1.0, rel=1e-12)
    # fewer cells survive longer horizons (gaps end a cell's rollout)
    assert res[16]["n_scored"] < res[1]["n_scored"]


def _lattice(periodic: bool) -> Tracks:
    """A 4 x 4 lattice moving by the same constant velocity every frame (wrapped in a 40-um box if periodic)."""
    box, v = 40.0, np.array([1.7, -2.3])
    grid = np.stack(np.meshgrid(np.arange(4), np.arange(4)), -1).reshape(-1, 2) * 10.0 + 3.0
    rows = []
    for f in range(30):
        xy = grid + f * v
        if periodic:
            xy = np.mod(xy, box)
        rows += [(i, f, x, y) for i, (x, y) in enumerate(xy)]
    extra = {"boundary": "periodic", "box_um": box} if periodic else {}
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"])
    t = Tracks.from_table(df, TracksMeta("lattice", extra=extra))
    assert (t.periodic_box_um == box) if periodic else t.periodic_box_um is None
    return t


@pytest.mark.parametrize("periodic", [False, True])
def test_const_velocity_rollout_is_exact_on_a_uniformly_moving_lattice(periodic):
    tracks = _lattice(periodic)
    ro = rollout_positions(build("const-velocity"), tracks, start_frames_in(tracks, 1, 30, 16), 16)
    for k, r in rollout_rmse_um(ro).items():
        assert r["n_scored"] == 16 * 13
        assert r["rmse_um"] < 1e-9
        shift = k * np.array([1.7, -2.3])  # the zero reference's error: a minimum image in the box
        expected = np.hypot(*(shift - 40.0 * np.round(shift / 40.0) if periodic else shift))
        assert r["zero_rmse_um"] == pytest.approx(expected, rel=1e-9)
    if periodic:  # rolled positions stay in the box
        assert np.all((ro.pred_um >= 0) & (ro.pred_um <= 40.0))


@pytest.mark.parametrize("name", ["const-velocity", "ar", "mean"])
def test_one_frame_rollout_is_the_one_step_position_error(name):
    tracks = _walks()
    data = build_dataset([tracks])
    model = build(name).fit(data)
    starts = np.arange(5, 55)
    r1 = rollout_rmse_um(rollout_positions(model, tracks, starts, 1), horizons=(1,))[1]
    pred, (y, frame) = model.predict(data)[0], (data.seqs[0].y_um, tracks.df["frame"].to_numpy())
    rows = np.isin(frame, starts) & ~np.isnan(y[:, 0])
    assert r1["n_scored"] == rows.sum()
    assert r1["rmse_um"] == pytest.approx(np.sqrt(np.mean(np.sum((pred[rows] - y[rows]) ** 2, axis=1))), rel=1e-12)


class _Spy:
    """Const-velocity that records every table it is given."""

    def __init__(self):
        self.inner, self.seen = build("const-velocity"), []

    def predict(self, data):
        self.seen += [s.tracks.df.copy() for s in data.seqs]
        return self.inner.predict(data)


def test_vanishing_cells_are_not_scored_and_appearing_cells_come_from_the_data():
    rows = [(1, f, 2.0 * f, 0.0) for f in range(6)]               # present throughout, v = (2, 0)
    rows += [(2, f, 50.0, 1.0 * f) for f in range(3)]             # vanishes after frame 2
    rows += [(3, f, 100.0 + f**2, 7.0) for f in range(2, 6)]      # appears at frame 2
    tracks = table(rows)
    spy = _Spy()
    ro = rollout_positions(spy, tracks, [1], 4)
    assert ro.track_id.tolist() == [1, 2] and ro.n_present.tolist() == [4, 1]
    res = rollout_rmse_um(ro, horizons=(1, 2, 4))
    assert [res[k]["n_scored"] for k in (1, 2, 4)] == [2, 1, 1]
    assert res[4]["rmse_um"] == pytest.approx(0.0)                # cell 1 rolled exactly
    assert np.isnan(ro.pred_um[1, 1:]).all() and np.isnan(ro.true_um[1, 1:]).all()
    last = spy.seen[-1].set_index(["track_id", "frame"])          # the table of step 4: frames <= 4
    assert last.index.get_level_values("frame").max() == 4
    for f in range(2, 5):                                          # cell 3: data positions as given
        assert last.loc[(3, f), "x_um"] == 100.0 + f**2
    np.testing.assert_allclose(last.loc[1, "x_um"].to_numpy(), 2.0 * np.arange(5))


def test_rollout_never_reads_rolled_cells_data_positions_after_the_start():
    tracks = _walks()
    model = build("ar").fit(build_dataset([tracks]))
    t0, K = 20, 8
    ro = rollout_positions(model, tracks, [t0], K)
    df = tracks.df.copy()
    rng = np.random.default_rng(1)
    for tid, n in zip(ro.track_id, ro.n_present):                 # every rolled row after t0
        hit = (df["track_id"] == tid) & (df["frame"] > t0) & (df["frame"] <= t0 + n)
        df.loc[hit, ["x_um", "y_um"]] += rng.normal(0, 50.0, (hit.sum(), 2))
    ro2 = rollout_positions(model, tracks.with_df(df), [t0], K)
    np.testing.assert_array_equal(ro2.pred_um, ro.pred_um)
    assert not np.array_equal(np.nan_to_num(ro2.true_um), np.nan_to_num(ro.true_um))


def test_batched_starts_and_a_short_context_give_the_same_rollout():
    tracks = _walks()
    model = build("ar", order=3).fit(build_dataset([tracks]))
    both = rollout_positions(model, tracks, [12, 30], 6)
    short = rollout_positions(model, tracks, [12, 30], 6, context_frames=3)  # AR(3) reads frames t-3 .. t
    alone = rollout_positions(model, tracks, [30], 6)
    np.testing.assert_array_equal(short.pred_um, both.pred_um)
    np.testing.assert_array_equal(both.pred_um[both.start == 1], alone.pred_um)
    np.testing.assert_array_equal(both.track_id[both.start == 1], alone.track_id)


def test_bad_arguments_are_refused():
    tracks = _walks()
    with pytest.raises(ValueError, match="horizon_frames"):
        rollout_positions(build("zero"), tracks, [5], 0)
    with pytest.raises(ValueError, match="hold no cell"):
        rollout_positions(build("zero"), tracks, [500], 2)
    with pytest.raises(ValueError, match="outside 1 .. 2"):
        rollout_rmse_um(rollout_positions(build("zero"), tracks, [5], 2), horizons=(4,))
    x = np.ones((3, 2))
    assert position_rmse_um(x, x) == 0.0
    assert position_rmse_um(np.array([[39.0, 0.0]]), np.array([[1.0, 0.0]]), box_um=40.0) == pytest.approx(2.0)


def test_a_learned_model_rolls_out_causally():
    """A learned model rebuilds its inputs from the rolled table: finite, and blind to data after t0."""
    tracks = random_walk_tracks(n_tracks=8, n_frames=40, seed=11)
    model = build("lstm", hidden=8, train={"epochs": 1}).fit(build_dataset([tracks]), seed=0)
    a = rollout_positions(model, tracks, [30], 4, context_frames=8)
    df = tracks.df.copy()
    late = df["frame"].to_numpy() > 30
    df.loc[late, ["x_um", "y_um"]] += 50.0
    b = rollout_positions(model, Tracks(df, tracks.meta), [30], 4, context_frames=8)
    assert np.isfinite(a.pred_um[a.n_present >= 4]).all()
    np.testing.assert_array_equal(a.pred_um, b.pred_um)
