"""The filtered oracle: a heading particle filter that reads observed positions <= t and the simulator's parameters.

Small free-ABP runs (100 cells, 200-um periodic box, every cell observed, 1-s frames,
v0 tau = 1 um, thermal kick s^2 = 2 D_t tau = 0.2 um^2 per axis) and one small passive WCA run.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

import cellbench.sim
from cellbench.data.dataset import build_dataset
from cellbench.errors import ConfigError
from cellbench.models.filtered_kernels import integrate_replicas, neighbour_lists
from cellbench.models.filtered_oracle import FilterParams, FilteredOracle, systematic_resample
from cellbench.models.registry import MODELS
from cellbench.runs.simulated import SimTruth
from cellbench.train.build import build
from tests.helpers import random_walk_tracks

FREE = {"n_cells": 100, "box_um": 200.0, "n_frames": 60}
"""free-abp shrunk: 100 cells x 60 frames (v0 1 um/s, D_t 0.1 um^2/s, tau 1 s)."""
BURN_IN = 10
"""Frames before scoring: the heading is unknown on a track's first frame (uniform prior)."""


def _data(preset, seed, overrides):
    r = cellbench.sim.simulate(preset, seed, overrides)
    return build_dataset([r.tracks], truths=[SimTruth(r.truth, r.pairs, r.meta, "")])


def _r2_after_burn_in(pred, data):
    s = data.seqs[0]
    ok = np.isfinite(s.y_um[:, 0]) & (s.tracks.df["frame"].to_numpy() >= BURN_IN)
    y = s.y_um[ok]
    return 1.0 - ((pred[ok] - y) ** 2).sum() / ((y - y.mean(axis=0)) ** 2).sum()


@pytest.fixture(scope="module")
def free_abp():
    return _data("free-abp", 0, {**FREE, "D_r_per_s": 0.1})


def test_registered_as_an_oracle_that_needs_truth():
    e = MODELS["filtered-oracle"]
    assert e.kind == "oracle" and e.needs_truth and e.load() is FilteredOracle


def test_refuses_data_without_simulator_truth():
    data = build_dataset([random_walk_tracks(seed=1)])
    with pytest.raises(ConfigError, match="simulated data"):
        build("filtered-oracle").fit(data, seed=0)


def test_free_cell_with_a_known_heading_drifts_by_the_diffusing_heading_mean():
    """One free cell, 4000 replicas all heading along x: <dx> = v0 (1 - e^{-D_r tau}) / D_r, <dy> = 0."""
    r = cellbench.sim.simulate("free-abp", 0, {**FREE, "n_frames": 2, "D_r_per_s": 1.0})
    params = FilterParams.from_meta(r.meta)
    v0, D_r, tau, n_sub, n_p = 1.0, 1.0, params.frame_interval_s, 20, 4000
    x0, y0, a = np.array([50.0]), np.array([50.0]), np.array([5.0])
    nb_start, nb = neighbour_lists(x0, y0, 0.0, params.prm)
    out = [np.empty((1, n_p)) for _ in range(3)]
    h = tau / n_sub
    integrate_replicas(x0, y0, a, np.zeros((1, n_p)), np.array([7]), nb_start, nb, params.prm, n_sub, h,
                       np.sqrt(2 * D_r * h), 3, 0, np.inf, *out)
    dx, dy, _ = out
    # Euler with the heading frozen over each sub-step: sum_k h e^{-D_r k h} -> h / (1 - e^{-D_r h}) factor
    expected = v0 * h * (1 - np.exp(-D_r * tau)) / (1 - np.exp(-D_r * h))
    assert expected == pytest.approx(v0 * (1 - np.exp(-D_r * tau)) / D_r, rel=0.03)  # O(D_r h / 2) = 2.5 %
    # Monte Carlo: Var(dx) <= v0^2 tau^2 = 1 um^2 per path, 4000 paths -> sd of the mean <= 0.016 um; 4 sd
    assert dx.mean() == pytest.approx(expected, abs=0.064)
    assert dy.mean() == pytest.approx(0.0, abs=0.064)


def test_tiny_rotational_diffusion_reaches_the_oracle():
    """D_r = 1e-3 /s: the heading is almost fixed, so the observed steps pin it down.

    Each frame's displacement carries Fisher information I = (v0 tau)^2 / s^2 = 5 rad^-2 about
    the heading, which itself diffuses by q = 2 D_r tau = 0.002 rad^2 per frame. A tracking
    filter's variance settles at ~sqrt(q / I) = 0.02 rad^2 (sd 0.14 rad; 1/(5n) before, 0.02 at
    the burn-in n = 10). The extra error per axis is (v0 tau)^2 Var(theta) / 2 = 0.01 um^2
    against a target variance of ~0.7 um^2: R^2 ~0.015 below the oracle's (measured 0.014),
    0.03 allowed (2x).
    """
    data = _data("free-abp", 0, {**FREE, "D_r_per_s": 1e-3})
    r2_oracle = _r2_after_burn_in(build("oracle").fit(data).predict(data)[0], data)
    model = build("filtered-oracle").fit(data, seed=0)
    r2_filtered = _r2_after_burn_in(model.predict(data)[0], data)
    assert r2_oracle > 0.6  # (v0 tau)^2 / 2 / ((v0 tau)^2 / 2 + s^2) = 0.71 in theory
    assert r2_filtered == pytest.approx(r2_oracle, abs=0.03)
    # the filtered heading itself: sd ~0.14 rad after the burn-in (measured 0.15); 0.25 allowed
    res = model.filter(data)[0]
    late = data.seqs[0].tracks.df["frame"].to_numpy() >= BURN_IN
    err = np.angle(np.exp(1j * (res.heading_rad - data.seqs[0].truth.truth["theta"].to_numpy())))[late]
    assert np.sqrt(np.mean(err**2)) < 0.25
    assert np.median(res.heading_r[late]) > 0.9


def test_fast_rotational_diffusion_gives_the_passive_prediction():
    """D_r = 10 /s: the heading forgets itself within 0.1 s of a 1-s frame; free cells are then unpredictable.

    The best mean is v0 e(theta_t) (1 - e^{-D_r tau}) / D_r, 0.1 um along a heading the past
    does not reveal (correlation e^{-D_r tau} = 5e-5 with the last step): ~0. What is left is
    Monte Carlo noise: Var(D) per axis ~ v0^2 tau / D_r = 0.1 um^2 per path, over 64 paths an
    rms of 0.04 um; 0.1 um allowed. The oracle, knowing theta, predicts 0.1 um per frame.
    """
    data = _data("free-abp", 0, {**FREE, "n_frames": 30, "D_r_per_s": 10.0})
    pred = build("filtered-oracle").fit(data, seed=0).predict(data)[0]
    assert np.sqrt(np.mean(pred**2)) < 0.1
    assert _r2_after_burn_in(pred, data) == pytest.approx(0.0, abs=0.03)  # MC variance / target variance ~ 0.01


def test_passive_cells_get_the_oracle_prediction():
    """v0 = 0: headings do not matter; one replica integrated with the simulator's own dt from the
    observed (= true, every cell in view, no noise) positions is the oracle up to the order of
    the force sums (round-off, ~1e-15 um per step over 100 steps)."""
    data = _data("passive-wca", 0, {"n_cells": 40, "box_um": 80.0, "fov_um": None, "n_frames": 14,
                                    "record_every": 100, "n_equil_steps": 500})
    oracle = build("oracle").fit(data).predict(data)[0]
    pred = build("filtered-oracle").fit(data, seed=0).predict(data)[0]
    assert np.abs(oracle).max() > 0.01  # contacts do move the cells
    npt.assert_allclose(pred, oracle, rtol=0, atol=1e-9)


def test_same_seed_same_predictions_and_the_truth_columns_are_never_read(free_abp):
    a = build("filtered-oracle").fit(free_abp, seed=3).predict(free_abp)[0]
    b = build("filtered-oracle").fit(free_abp, seed=3).predict(free_abp)[0]
    c = build("filtered-oracle").fit(free_abp, seed=4).predict(free_abp)[0]
    npt.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    s = free_abp.seqs[0]
    garbage = s.truth.truth.assign(theta=0.0, oracle_dx_um=1e6, oracle_dy_um=-1e6, fx_self=9.0, fy_self=9.0)
    blind = build_dataset([s.tracks], truths=[SimTruth(garbage, s.truth.pairs.iloc[:0], s.truth.meta, "")])
    npt.assert_array_equal(build("filtered-oracle").fit(blind, seed=3).predict(blind)[0], a)


def test_prediction_at_t_ignores_later_frames(free_abp):
    s = free_abp.seqs[0]
    t_cut = 25
    df = s.tracks.df.copy()
    later = df["frame"].to_numpy() > t_cut
    df.loc[later, ["x_um", "y_um"]] += np.random.default_rng(0).normal(0, 3.0, (later.sum(), 2))
    moved = build_dataset([s.tracks.with_df(df)], truths=[s.truth])
    a = build("filtered-oracle").fit(free_abp, seed=0).predict(free_abp)[0]
    b = build("filtered-oracle").fit(moved, seed=0).predict(moved)[0]
    npt.assert_array_equal(a[~later], b[~later])
    assert not np.allclose(a[later], b[later])


def test_divisions_walls_and_localization_noise_run_and_stay_finite():
    data = _data("microwell-hsc", 0, {"n_frames": 40, "division_rate_per_s": 1e-3, "division_min_age_s": 0.0,
                                      "sigma_loc_um": 0.5})
    df = data.seqs[0].tracks.df
    assert (df["parent_id"] >= 0).any()  # some daughters were born
    pred = build("filtered-oracle", n_particles=16).fit(data, seed=0).predict(data)[0]
    assert pred.shape == (len(df), 2) and np.isfinite(pred).all()


def test_systematic_resampling_follows_the_weights():
    theta = np.tile(np.arange(8.0), (3, 1))
    logw = np.full((3, 8), -np.inf)
    logw[:, 5] = 0.0
    logw[1] = 0.0  # row 1: equal weights keep every particle once
    out = systematic_resample(theta, logw, np.array([0.3, 0.7, 0.0]))
    npt.assert_array_equal(out[0], 5.0)
    npt.assert_array_equal(out[1], np.arange(8.0))
    npt.assert_array_equal(out[2], 5.0)
