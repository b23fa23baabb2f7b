import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.data.dataset import build_dataset
from cellbench.evaluation.scoring import score
from cellbench.models.registry import MODELS
from cellbench.data.tracks import Tracks, TracksMeta
from cellbench.train.build import build
from tests.helpers import random_walk_tracks


def ar1_tracks(phi: float, n_tracks: int = 30, n_frames: int = 200, seed: int = 0) -> Tracks:
    """Tracks whose steps follow y_t = phi * y_{t-1} + noise, per component."""
    rng = np.random.default_rng(seed)
    rows = []
    for tid in range(n_tracks):
        y = np.zeros(2)
        x = rng.uniform(0, 100, 2)
        for f in range(n_frames):
            rows.append((tid, f, x[0], x[1]))
            y = phi * y + rng.normal(0, 1, 2)
            x = x + y
    return Tracks.from_table(pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"]), TracksMeta("ar1"))


def test_ar_recovers_the_coefficient_and_beats_zero():
    data = build_dataset([ar1_tracks(0.6)])
    ar = build("ar", order=2).fit(data)
    # coef[2][c] = (intercept, a1, a2); the process has a1 = 0.6, a2 = 0.
    # 30 tracks x ~140 training steps: standard error of a1 ~ 1/sqrt(4000) ~ 0.016 -> 5 sigma = 0.08
    for c in range(2):
        assert ar.coef[2][c][1] == pytest.approx(0.6, abs=0.08)
        assert ar.coef[2][c][2] == pytest.approx(0.0, abs=0.08)
    m = score(ar.predict(data), data)
    # theory: R^2 of the optimal predictor of an AR(1) = phi^2 = 0.36
    assert m["r2"] == pytest.approx(0.36, abs=0.06)
    assert score(build("zero").fit(data).predict(data), data)["skill_vs_zero"] == 0.0


def test_const_velocity_repeats_the_last_step():
    data = build_dataset([random_walk_tracks(seed=2)])
    pred = build("const-velocity").fit(data).predict(data)[0]
    s = data.seqs[0]
    df = s.tracks.df
    prev = {(r.track_id, r.frame): (r.x_um, r.y_um) for r in df.itertuples()}
    for i, r in enumerate(df.itertuples()):
        p = prev.get((r.track_id, r.frame - 1))
        expected = (0.0, 0.0) if p is None else (r.x_um - p[0], r.y_um - p[1])
        npt.assert_allclose(pred[i], expected)


def test_mean_uses_training_targets_only():
    data = build_dataset([random_walk_tracks(seed=4)])
    pred = build("mean").fit(data).predict(data)[0]
    npt.assert_allclose(pred[0], data.targets("train").mean(axis=0))


def test_every_reference_is_registered_with_a_summary():
    models = MODELS
    for name in ("zero", "const-velocity", "mean", "ar"):
        assert name in models and models[name].kind == "reference" and models[name].summary


def test_random_walk_is_unpredictable_for_every_reference():
    """Independent steps: no honest predictor explains them (R^2 ~ 0, like the HSC tracks)."""
    data = build_dataset([random_walk_tracks(n_tracks=20, n_frames=200, seed=7)])
    for name in ("zero", "mean", "ar"):
        m = score(build(name).fit(data).predict(data), data)
        assert m["r2"] < 0.02, name
