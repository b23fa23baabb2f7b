"""The stateful rollout path (evaluation.rollouts + train.learned.RolloutSession): exact against the anchored window.

A learned model's session warms the track LSTM over the ``context_frames`` frames before each start
and carries it through the rollout, building one frame per step. It must give what ``predict`` gives
on the anchored window (frames t0 - c .. t0 + s - 1 at step s), which the ``predict`` path computes
with ``window='anchored'`` once the session is hidden (:class:`_PredictOnly`).
"""

from __future__ import annotations

import numpy as np
import pytest

import cellbench.sim
from cellbench.data.dataset import build_dataset
from cellbench.data.tracks import Tracks
from cellbench.evaluation.rollouts import rollout_positions
from cellbench.evaluation.sampled_rollouts import NoisyPredictor, has_noise_model, sampled_rollout
from cellbench.train.build import build

ATOL_UM = 1e-5
STARTS = [2, 9, 14, 22]  # 2: the window is cut by the sequence start when c > 2
K = 6
TINY = {"hidden": 8, "train": {"epochs": 1}}
MODELS = {"physattn": ("physattn", {}), "lstm": ("lstm", {}),
          "physattn-hetero": ("physattn", {"heteroscedastic": True})}


class _PredictOnly:
    """The model seen through ``predict`` alone (no session): the reference path."""

    def __init__(self, model):
        self.model = model

    def predict(self, data):
        return self.model.predict(data)


@pytest.fixture(scope="module")
def sim() -> Tracks:
    """The `default` preset shrunk to 40 cells x 40 frames in a periodic 80-um box (no field of view)."""
    tracks = cellbench.sim.simulate("default", 1, overrides={"n_frames": 40, "box_um": 80.0, "n_cells": 40,
                                                             "fov_um": None}).tracks
    assert tracks.periodic_box_um == 80.0
    return tracks


@pytest.fixture(scope="module")
def edited(sim) -> Tracks:
    """``sim`` with, inside the horizons of starts 9 and 14: a cell vanishing, a cell appearing, a gap."""
    df = sim.df
    tid, frame = df["track_id"].to_numpy(), df["frame"].to_numpy()
    drop = ((tid == 3) & (frame >= 12)) | ((tid == 5) & (frame < 11)) | ((tid == 7) & (frame == 16))
    out = sim.with_df(df[~drop].reset_index(drop=True))
    assert out.periodic_box_um == 80.0
    return out


@pytest.fixture(scope="module")
def models(sim) -> dict:
    data = build_dataset([sim])
    return {key: build(name, **TINY, **opts).fit(data, seed=0) for key, (name, opts) in MODELS.items()}


def _assert_same(a, b):
    for name in ("start", "track_id", "n_present"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(np.isnan(a.pred_um), np.isnan(b.pred_um))
    np.testing.assert_allclose(a.pred_um, b.pred_um, rtol=0, atol=ATOL_UM)


@pytest.mark.parametrize("key", list(MODELS))
def test_the_session_equals_predict_on_the_anchored_window(models, edited, key):
    model = models[key]
    assert model.heteroscedastic == key.endswith("hetero")
    ro = rollout_positions(model, edited, STARTS, K, context_frames=4)
    ref = rollout_positions(_PredictOnly(model), edited, STARTS, K, context_frames=4, window="anchored")
    _assert_same(ro, ref)
    # the data hold what the test claims: a cell ends and a gap cuts a rollout inside a horizon
    assert np.any((ro.n_present > 0) & (ro.n_present < K))
    assert (ro.track_id[ro.start == 1] == 5).sum() == 0 and (ro.track_id[ro.start == 2] == 5).sum() == 1
    # the sliding window (the old rule) reads other frames: it differs, so the test can tell them apart
    sliding = rollout_positions(model, edited, STARTS, K, context_frames=4, window="sliding")
    assert np.nanmax(np.abs(sliding.pred_um - ro.pred_um)) > 1e-3


def test_the_whole_past_and_a_zero_context(models, edited):
    model = models["lstm"]
    for c in (None, 0):
        ro = rollout_positions(model, edited, STARTS, K, context_frames=c)
        _assert_same(ro, rollout_positions(_PredictOnly(model), edited, STARTS, K, context_frames=c,
                                           window="anchored"))
    # with the whole past the window never slides: the old path gives the same
    _assert_same(rollout_positions(model, edited, STARTS, K),
                 rollout_positions(model, edited, STARTS, K, window="sliding"))


def test_an_open_field_of_view_where_cells_leave_and_enter(models):
    """Not periodic: cells leave and enter the field of view inside the horizons."""
    tracks = cellbench.sim.simulate("default", 1, overrides={"n_frames": 40, "box_um": 80.0, "n_cells": 40,
                                                             "fov_um": (5.0, 5.0, 75.0, 75.0)}).tracks
    assert tracks.periodic_box_um is None
    model = models["physattn"]
    ro = rollout_positions(model, tracks, STARTS, K, context_frames=5)
    _assert_same(ro, rollout_positions(_PredictOnly(model), tracks, STARTS, K, context_frames=5, window="anchored"))
    assert np.any((ro.n_present > 0) & (ro.n_present < K))


class _SpySession:
    """Records the frames of every table given to a session."""

    def __init__(self, model):
        self.model, self.tables = model, []

    def predict(self, data):
        return self.model.predict(data)

    def rollout_session(self):
        inner, tables = self.model.rollout_session(), self.tables

        class Session:
            history_frames = inner.history_frames

            def step(self, data):
                tables.append([s.tracks.df["frame"].to_numpy() for s in data.seqs])
                return inner.step(data)

        return Session()


def test_each_step_builds_one_new_frame_after_the_warm_up(models, edited):
    model = models["physattn"]
    spy = _SpySession(model)
    rollout_positions(spy, edited, STARTS, K, context_frames=4)
    assert len(spy.tables) == K  # one batched call per step
    for t0, frames in zip(STARTS, spy.tables[0]):  # step 1: the warm-up window t0 - 4 .. t0 (cut at frame 0)
        assert (frames.min(), frames.max()) == (max(0, t0 - 4), t0)
    for s, tables in enumerate(spy.tables[1:], start=2):  # later: frame t and the n_lags frames its lags read
        for t0, frames in zip(STARTS, tables):
            t = t0 + s - 1
            assert (frames.min(), frames.max()) == (max(t0 - 4, t - model.n_lags), t)


class _AnchoredDraws:
    """The documented draw rule of the stateful path, applied through ``predict`` on anchored windows.

    Per call and sequence, in sequence order: the next (rows of the table's last frame, 2) standard
    normals of ``default_rng(seed)``, times the model's sigma (heteroscedastic) or ``sigma_um``.
    """

    def __init__(self, model, sigma_um, seed):
        self.model, self.sigma_um, self.rng = model, sigma_um, np.random.default_rng(seed)

    def predict(self, data):
        if has_noise_model(self.model):
            mus, sigmas = self.model.predict_with_sigma(data)
        else:
            mus = self.model.predict(data)
            sigmas = [np.broadcast_to(self.sigma_um, np.shape(m)) for m in mus]
        out = []
        for s, m, sg in zip(data.seqs, mus, sigmas):
            frame = s.tracks.df["frame"].to_numpy()
            last = frame == frame.max()
            y = np.array(m, dtype=float)
            y[last] += sg[last] * self.rng.standard_normal((int(last.sum()), 2))
            out.append(y)
        return out


@pytest.mark.parametrize("key", ["lstm", "physattn-hetero"])
def test_noisy_sessions_draw_by_the_documented_rule(models, edited, key):
    model, sigma = models[key], np.array([0.6, 0.9])
    noisy = NoisyPredictor(model, sigma, seed=5)
    assert hasattr(noisy, "rollout_session") and not hasattr(NoisyPredictor(_PredictOnly(model), sigma),
                                                             "rollout_session")
    starts = np.repeat(STARTS, 3)  # as sampled_rollout lays out 3 samples per start
    ro = rollout_positions(noisy, edited, starts, K, context_frames=4)
    ref = rollout_positions(_AnchoredDraws(model, sigma, 5), edited, starts, K, context_frames=4, window="anchored")
    _assert_same(ro, ref)
    smp = sampled_rollout(model, edited, STARTS, K, 3, seed=5, sigma_um=sigma, context_frames=4)
    again = sampled_rollout(model, edited, STARTS, K, 3, seed=5, sigma_um=sigma, context_frames=4)
    other = sampled_rollout(model, edited, STARTS, K, 3, seed=6, sigma_um=sigma, context_frames=4)
    np.testing.assert_array_equal(smp.samples_um, again.samples_um)
    ok = ~np.isnan(smp.samples_um)
    assert not np.any(smp.samples_um[ok] == other.samples_um[ok])
    if key.endswith("hetero"):
        assert smp.noise.startswith("sampled: the model's own heteroscedastic sigma")


def test_a_bad_window_is_refused(models, edited):
    with pytest.raises(ValueError, match="window 'fixed'"):
        rollout_positions(models["lstm"], edited, STARTS, K, window="fixed")
