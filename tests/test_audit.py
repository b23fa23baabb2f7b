"""The leakage audit: leaks are caught by the readers and, when forced in, inflate R^2."""

import warnings

import pytest

from cellbench.leaderboard.audit import leak_audit, least_squares_r2, smooth_positions
from cellbench.data.readers import read_tracks
from cellbench.data.readers.common import LeakColumnWarning
from tests.helpers import random_walk_tracks


def test_smoothing_leaks_future_frames_into_white_noise_steps():
    t = random_walk_tracks(n_tracks=30, n_frames=150, seed=11)
    honest, _ = least_squares_r2(t)
    leaky, _ = least_squares_r2(smooth_positions(t, 5))
    assert honest < 0.02  # independent steps: nothing to predict
    # A centred 5-frame average makes consecutive steps share 4 of 5 noise terms: R^2 ~ 0.5-0.7.
    assert leaky > 0.4


def test_audit_table_rows_and_levels():
    table = leak_audit(random_walk_tracks(n_tracks=20, n_frames=120, seed=2))
    r2 = dict(zip(table["pipeline"], table["test R2"]))
    assert r2["+ displacement-to-next-spot column"] == pytest.approx(1.0, abs=1e-9)
    assert r2["honest: least squares on 3 past steps (AR(3))"] < 0.05
    assert table.loc[table.pipeline.str.startswith("+ displacement"), "allowed by cellbench"].iloc[0].startswith("no")


def test_default_reader_refuses_the_leaking_column(tmp_path):
    path = tmp_path / "spots.csv"
    path.write_text(
        "TRACK_ID,FRAME,POSITION_X,POSITION_Y,EDGE_DISPLACEMENT,TRACK_MEAN_SPEED\n"
        "1,0,0.0,0.0,1.5,2.0\n1,1,1.5,0.0,0.0,2.0\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = read_tracks(path, position_units="micron")
    assert not {"edge_displacement", "track_mean_speed", "EDGE_DISPLACEMENT"} & set(t.df.columns)
    assert any(issubclass(w.category, LeakColumnWarning) and "EDGE_DISPLACEMENT" in str(w.message) for w in caught)
