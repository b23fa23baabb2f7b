"""Sampled rollouts and the energy score (evaluation.sampled_rollouts): analytic limits, calibration, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from cellbench.data.dataset import build_dataset
from cellbench.evaluation.rollouts import rollout_positions, start_frames_in
from cellbench.evaluation.sampled_rollouts import (
    NoisyPredictor,
    SampledRollout,
    energy_score_um,
    residual_sigma_um,
    sampled_rollout,
)
from cellbench.evaluation.uncertainty import constant_sigma_um
from cellbench.train.build import build
from tests.helpers import random_walk_tracks

STEP_UM = 1.0  # per-component sd of one Brownian step of the synthetic walks


def _walks(seed: int = 0, n_tracks: int = 40, n_frames: int = 60, drop: float = 0.0):
    return random_walk_tracks(n_tracks=n_tracks, n_frames=n_frames, seed=seed, step_um=STEP_UM, drop=drop)


def _sampled(x_um: np.ndarray, y_um: np.ndarray, box_um: float | None = None) -> SampledRollout:
    """A one-horizon SampledRollout from samples (P, S, 2) and observations (P, 2)."""
    P, S, _ = x_um.shape
    return SampledRollout(start_frames=np.zeros(1, np.int64), horizon_frames=1, n_samples=S, seed=0,
                          start=np.zeros(P, np.int64), track_id=np.arange(P), n_present=np.ones(P, np.int64),
                          x0_um=y_um.copy(), samples_um=x_um[:, :, None], true_um=y_um[:, None], box_um=box_um,
                          noise="test")


def test_energy_score_of_identical_samples_is_the_mean_absolute_error():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 3, (50, 2)), rng.normal(0, 3, (50, 2))
    r = energy_score_um(_sampled(np.repeat(x[:, None], 5, axis=1), y), horizons=(1,))[1]
    assert r["energy_score_um"] == pytest.approx(np.mean(np.linalg.norm(x - y, axis=1)), rel=1e-12)
    assert r["crps_um"] == pytest.approx(np.mean(np.abs(x - y)), rel=1e-12)
    assert r["mean_rmse_um"] == pytest.approx(np.sqrt(np.mean(np.sum((x - y) ** 2, axis=1))), rel=1e-12)
    assert r["spread_um"] == pytest.approx(0.0, abs=1e-12) and r["n_scored"] == 50
    # in a periodic box distances are minimum images: 39.5 and 0.5 are 1 um apart in a 40-um box
    r = energy_score_um(_sampled(np.full((1, 3, 2), [39.5, 10.0]), np.array([[0.5, 10.0]]), box_um=40.0), (1,))[1]
    assert r["energy_score_um"] == pytest.approx(1.0) and r["mean_rmse_um"] == pytest.approx(1.0)


def test_energy_score_of_a_gaussian_sample_at_its_mean_is_analytic():
    """2D isotropic Gaussian, sd s, y its mean: E|X - y| = s sqrt(pi/2), E|X - X'| = s sqrt(pi)."""
    s, P, S = 2.5, 100, 400
    rng = np.random.default_rng(1)
    y = rng.uniform(0, 100, (P, 2))
    r = energy_score_um(_sampled(y[:, None] + rng.normal(0, s, (P, S, 2)), y), horizons=(1,))[1]
    expected = s * np.sqrt(np.pi / 2) - s * np.sqrt(np.pi) / 2
    # Monte Carlo: sd of the mean |X - y| over P S = 4e4 draws is ~0.66 s / 200 ~ 0.9 % of ES; 3 % is ~3.3 sd
    assert r["energy_score_um"] == pytest.approx(expected, rel=0.03)
    # per component: CRPS of N(0, s^2) at its mean is s (sqrt(2/pi) - 1/sqrt(pi))
    assert r["crps_um"] == pytest.approx(s * (np.sqrt(2 / np.pi) - 1 / np.sqrt(np.pi)), rel=0.03)
    assert r["spread_um"] == pytest.approx(s * np.sqrt(2), rel=0.01)


def test_a_calibrated_noise_model_beats_under_and_over_dispersed_ones():
    """Zero model on Brownian walks: sigma = step (calibrated) against 0.3x and 3x."""
    tracks = _walks(seed=2, n_tracks=150, n_frames=40)
    starts = start_frames_in(tracks, 0, 40, 8)[::10]   # 4 starts x 150 cells; the zero model reads no past
    es = {f: energy_score_um(sampled_rollout(build("zero"), tracks, starts, 8, 8, seed=0, sigma_um=f * STEP_UM,
                                             context_frames=0), horizons=(1, 4, 8))
          for f in (0.3, 1.0, 3.0)}
    for k in (1, 4, 8):
        assert es[1.0][k]["energy_score_um"] < es[0.3][k]["energy_score_um"]
        assert es[1.0][k]["energy_score_um"] < es[3.0][k]["energy_score_um"]
        # analytic: y ~ N(0, k), X ~ N(0, f^2 k) per component -> ES = sqrt(pi k / 2) (sqrt(1 + f^2) - f / sqrt 2);
        # the pairs share tracks (overlapping windows), so allow 10 %
        for f in (0.3, 1.0, 3.0):
            expected = np.sqrt(np.pi * k / 2) * (np.sqrt(1 + f**2) - f / np.sqrt(2)) * STEP_UM
            assert es[f][k]["energy_score_um"] == pytest.approx(expected, rel=0.10)
        # the sample mean of the zero model stays put, whatever the noise: RMSE ~ the k-frame displacement
        assert es[1.0][k]["mean_rmse_um"] == pytest.approx(np.sqrt(2 * k * (1 + 1 / 8)) * STEP_UM, rel=0.10)


def test_spread_grows_like_the_square_root_of_the_horizon():
    tracks = _walks(seed=4, n_tracks=120, n_frames=20)
    res = energy_score_um(sampled_rollout(build("zero"), tracks, [2], 16, 16, seed=1, sigma_um=0.7, context_frames=0),
                          horizons=(1, 4, 16))
    for k in (1, 4, 16):  # 2D spread of a random walk: sqrt(2 k) sigma; 120 x 15 x 2 degrees of freedom -> ~1.3 % sd
        assert res[k]["spread_um"] == pytest.approx(0.7 * np.sqrt(2 * k), rel=0.08)
    assert res[16]["spread_um"] / res[4]["spread_um"] == pytest.approx(2.0, rel=0.08)


def test_same_seed_same_samples_different_seeds_differ():
    tracks = _walks(seed=5, n_tracks=10, n_frames=30, drop=0.05)
    model = build("ar").fit(build_dataset([tracks]))
    a = sampled_rollout(model, tracks, [8, 12], 6, 4, seed=3, sigma_um=[0.5, 0.8], context_frames=3)
    b = sampled_rollout(model, tracks, [8, 12], 6, 4, seed=3, sigma_um=[0.5, 0.8], context_frames=3)
    c = sampled_rollout(model, tracks, [8, 12], 6, 4, seed=4, sigma_um=[0.5, 0.8], context_frames=3)
    np.testing.assert_array_equal(a.samples_um, b.samples_um)
    ok = ~np.isnan(a.samples_um)
    assert np.all(np.isnan(c.samples_um) == ~ok) and not np.any(a.samples_um[ok] == c.samples_um[ok])
    # samples of one pair are independent draws: all distinct at k = 1
    first = a.samples_um[a.n_present >= 1, :, 0, 0]
    assert all(len(np.unique(row)) == a.n_samples for row in first)


def test_pairs_match_the_deterministic_rollout_and_zero_sigma_gives_the_mean():
    tracks = _walks(seed=6, n_tracks=10, n_frames=30, drop=0.08)
    model = build("ar").fit(build_dataset([tracks]))
    det = rollout_positions(model, tracks, [4, 10, 17], 5)
    smp = sampled_rollout(model, tracks, [4, 10, 17], 5, 3, seed=0, sigma_um=0.0)
    assert smp.samples_um.shape == (len(det.track_id), 3, 5, 2)
    for name in ("start", "track_id", "n_present"):
        np.testing.assert_array_equal(getattr(smp, name), getattr(det, name))
    np.testing.assert_array_equal(smp.x0_um, det.x0_um)
    np.testing.assert_array_equal(smp.true_um, det.true_um)
    for s in range(3):  # sigma 0: every sample is the mean rollout
        np.testing.assert_allclose(smp.samples_um[:, s], det.pred_um, rtol=0, atol=1e-12)
    assert "constant sigma (0, 0) um per frame" in smp.noise


class _Hetero:
    """A heteroscedastic stand-in: mean 0, sigma 0 for odd track ids and 2 um for even ones."""

    heteroscedastic = True

    def predict_with_sigma(self, data):
        sig = [np.where((s.tracks.df["track_id"].to_numpy() % 2 == 0)[:, None], 2.0, 0.0) * np.ones((1, 2))
               for s in data.seqs]
        return [np.zeros((s.tracks.n_rows, 2)) for s in data.seqs], sig

    def predict(self, data):
        return self.predict_with_sigma(data)[0]


def test_a_heteroscedastic_model_samples_with_its_own_sigma():
    tracks = _walks(seed=7, n_tracks=32, n_frames=12)
    smp = sampled_rollout(_Hetero(), tracks, [3, 7], 4, 16, seed=0, sigma_um=100.0)  # sigma_um ignored
    assert smp.noise.startswith("sampled: the model's own heteroscedastic sigma")
    dev = smp.samples_um - smp.x0_um[:, None, None]
    odd = smp.track_id % 2 == 1
    assert np.all(dev[odd] == 0.0)
    sd = dev[~odd][:, :, 0].std()  # per component at k = 1: 2 um (32 pairs x 16 x 2 draws -> ~2.2 % sd)
    assert sd == pytest.approx(2.0, rel=0.08)


def test_residual_sigma_is_fitted_on_validation_rows():
    tracks = _walks(seed=8, n_tracks=12, n_frames=50)
    data = build_dataset([tracks])
    model = build("zero").fit(data)
    sigma, split = residual_sigma_um(model, data)
    assert split == "val"
    np.testing.assert_allclose(sigma, constant_sigma_um(np.zeros_like(data.targets("val")), data.targets("val")))
    assert sigma == pytest.approx([STEP_UM, STEP_UM], rel=0.2)
    noisy = NoisyPredictor(model, sigma, seed=0, sigma_note="val residuals")
    assert "val residuals" in noisy.noise


def test_bad_arguments_are_refused():
    tracks = _walks(seed=9, n_tracks=4, n_frames=10)
    with pytest.raises(ValueError, match="no noise model"):
        sampled_rollout(build("zero"), tracks, [2], 2, 4)
    with pytest.raises(ValueError, match="sigma_um"):
        NoisyPredictor(build("zero"), sigma_um=-1.0)
    with pytest.raises(ValueError, match="n_samples"):
        sampled_rollout(build("zero"), tracks, [2], 2, 0, sigma_um=1.0)
    with pytest.raises(ValueError, match="outside 1 .. 2"):
        energy_score_um(sampled_rollout(build("zero"), tracks, [2], 2, 2, sigma_um=1.0), horizons=(3,))


def test_a_heteroscedastic_learned_model_rolls_out_sampled():
    tracks = random_walk_tracks(n_tracks=8, n_frames=30, seed=11)
    model = build("lstm", hidden=8, heteroscedastic=True, train={"epochs": 1}).fit(build_dataset([tracks]), seed=0)
    smp = sampled_rollout(model, tracks, [22], 3, 3, seed=0, context_frames=6)
    assert smp.noise.startswith("sampled: the model's own heteroscedastic sigma")
    scored = smp.samples_um[smp.n_present >= 3]
    assert np.isfinite(scored).all() and np.all(scored[:, 0] != scored[:, 1])
    assert np.isfinite(energy_score_um(smp, horizons=(1, 3))[3]["energy_score_um"])
