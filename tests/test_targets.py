import numpy as np
import numpy.testing as npt

from cellbench.data.targets import displacement_targets, history_um, neighbour_rows
from tests.helpers import random_walk_tracks, table


def test_targets_are_next_minus_current_within_track():
    t = table([(1, 0, 0.0, 0.0), (1, 1, 1.0, 2.0), (1, 2, 4.0, 2.0), (2, 1, 10.0, 10.0), (2, 2, 9.0, 10.5)])
    y, valid = displacement_targets(t)
    df = t.df
    got = {(int(r.track_id), int(r.frame)): tuple(y[i]) for i, r in enumerate(df.itertuples()) if valid[i]}
    assert got == {(1, 0): (1.0, 2.0), (1, 1): (3.0, 0.0), (2, 1): (-1.0, 0.5)}
    assert valid.sum() == 3  # the last frame of each track has no target


def test_gaps_are_not_bridged():
    t = table([(1, 0, 0.0, 0.0), (1, 2, 5.0, 5.0), (1, 3, 6.0, 5.0)])
    y, valid = displacement_targets(t)
    # frame 0 -> 2 skips frame 1: no target at frame 0
    assert list(valid) == [False, True, False]
    npt.assert_array_equal(y[1], [1.0, 0.0])


def test_history_matches_a_naive_loop():
    t = random_walk_tracks(n_tracks=5, n_frames=30, seed=3, drop=0.2)
    hist = history_um(t, 3)
    pos = {(r.track_id, r.frame): np.array([r.x_um, r.y_um]) for r in t.df.itertuples()}
    for i, r in enumerate(t.df.itertuples()):
        for lag in range(3):
            a, b = (r.track_id, r.frame - lag), (r.track_id, r.frame - lag - 1)
            if a in pos and b in pos and all((r.track_id, r.frame - m) in pos for m in range(lag + 1)):
                npt.assert_allclose(hist[i, lag], pos[a] - pos[b])
            else:
                assert np.isnan(hist[i, lag]).all()


def test_neighbour_rows():
    t = table([(1, 3, 0.0, 0.0), (1, 4, 1.0, 0.0), (2, 4, 5.0, 5.0)])
    assert list(neighbour_rows(t, +1)) == [1, -1, -1]
    assert list(neighbour_rows(t, -1)) == [-1, 0, -1]


def test_periodic_targets_use_minimum_image_only_when_cells_fill_the_box():
    rows = [(1, 0, 99.5, 50.0), (1, 1, 0.5, 50.0)]
    full = table(rows, extra={"boundary": "periodic", "box_um": 100.0}, fov_um=(0.0, 0.0, 100.0, 100.0))
    y, _ = displacement_targets(full)
    npt.assert_allclose(y[0], [1.0, 0.0])
    # a field of view inside the box is an open window: no wrapping
    window = table(rows, extra={"boundary": "periodic", "box_um": 100.0}, fov_um=(0.0, 0.0, 100.0, 90.0))
    y, _ = displacement_targets(window)
    npt.assert_allclose(y[0], [-99.0, 0.0])
