"""Localization noise: only the recorded positions move, by N(0, sigma^2), from its own random stream."""

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.errors import ConfigError
from simulators import simulate
from simulators.engine import config_hash, resolve_config
from simulators.noise import localization_noise_um

SIGMA = 0.5
# passive, non-interacting, the whole periodic box observed: the exact case for the statistics
PASSIVE = {"n_cells": 400, "v0_um_per_s": 0.0, "D_r_per_s": 0.0, "n_frames": 40, "record_every": 10,
           "D_t_um2_per_s": 0.1, "dt_s": 0.1}


@pytest.fixture(scope="module")
def passive_pair():
    return simulate("free-abp", 7, PASSIVE), simulate("free-abp", 7, {**PASSIVE, "sigma_loc_um": SIGMA})


@pytest.fixture(scope="module")
def crowded_pair():
    small = {"n_frames": 6, "record_every": 20, "n_equil_steps": 20}
    return simulate("default", 1, small), simulate("default", 1, {**small, "sigma_loc_um": SIGMA})


def _noise(clean, noisy, box_um=None):
    d = noisy.tracks.positions_um() - clean.tracks.positions_um()
    if box_um is not None:
        d -= box_um * np.round(d / box_um)
    return d


def test_zero_sigma_is_the_default_and_keeps_the_cache_key():
    name, cfg = resolve_config("default")
    assert cfg.sigma_loc_um == 0.0
    _, noisy = resolve_config("default", {"sigma_loc_um": "0.5"})
    assert noisy.sigma_loc_um == 0.5
    assert config_hash(name, cfg, 0) != config_hash(name, noisy, 0)
    # the hash of a noise-free config does not mention the option: datasets cached before it stay valid
    _, explicit = resolve_config("default", {"sigma_loc_um": 0})
    assert config_hash(name, explicit, 0) == config_hash(name, cfg, 0)


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "none", "wide"])
def test_bad_sigma_is_refused_naming_the_option(value):
    with pytest.raises(ConfigError, match="sigma_loc_um"):
        simulate("free-abp", 0, {"sigma_loc_um": value, "n_frames": 2})


def test_only_recorded_positions_change(crowded_pair):
    clean, noisy = crowded_pair
    pd.testing.assert_frame_equal(noisy.truth, clean.truth)  # dynamics, forces, oracle: bitwise the same
    pd.testing.assert_frame_equal(noisy.pairs, clean.pairs)
    a, b = clean.tracks.df, noisy.tracks.df
    for col in a.columns.difference(["x_um", "y_um"]):
        npt.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    d = _noise(clean, noisy)
    assert (np.abs(d) > 0).all() and np.abs(d).max() < 8 * SIGMA
    assert noisy.meta["sigma_loc_um"] == SIGMA and clean.meta["sigma_loc_um"] == 0.0
    assert noisy.meta["config"]["sigma_loc_um"] == SIGMA
    assert noisy.tracks.meta.extra["sigma_loc_um"] == SIGMA


def test_noise_is_gaussian_with_the_set_sigma(passive_pair):
    clean, noisy = passive_pair
    d = _noise(clean, noisy, box_um=400.0)  # the whole box is observed: noisy positions wrap
    x = noisy.tracks.df["x_um"].to_numpy()
    assert (x >= 0).all() and (x < 400.0).all()
    n = d.size  # 32000 draws: std error of the std 0.4 %, of the mean 0.003 um
    npt.assert_allclose(d.std(axis=0), SIGMA, rtol=0.03)
    npt.assert_allclose(d.mean(axis=0), 0.0, atol=4 * SIGMA / np.sqrt(n / 2))
    kurt = np.mean((d / SIGMA) ** 4)
    assert kurt == pytest.approx(3.0, abs=0.15)  # Gaussian: E z^4 = 3
    assert abs(np.corrcoef(d[:, 0], d[:, 1])[0, 1]) < 0.03


def test_lag1_displacement_covariance_is_minus_sigma_squared(passive_pair):
    """d_obs = d + n_{t+1} - n_t: Cov(d_obs_t, d_obs_{t+1}) = -sigma^2 per axis (passive: Cov(d_t, d_t+1) = 0)."""
    clean, noisy = passive_pair
    for run, expect in ((clean, 0.0), (noisy, -SIGMA**2)):
        pos = run.truth[["x_unwrap_um", "y_unwrap_um"]].to_numpy() + _noise(clean, run, box_um=400.0)
        n_cells = run.meta["n_cells_initial"]
        traj = pos.reshape(-1, n_cells, 2)  # sorted by (frame, track_id); no division, all observed
        disp = np.diff(traj, axis=0)
        cov = np.mean(disp[1:] * disp[:-1], axis=(0, 1)) - disp.mean(axis=(0, 1)) ** 2
        var = disp.var(axis=(0, 1))
        # 2 D tau = 0.2 um^2, + 2 sigma^2 = 0.5 um^2 for the noisy run
        npt.assert_allclose(var, 2 * 0.1 * 1.0 + 2 * run.meta["sigma_loc_um"] ** 2, rtol=0.04)
        npt.assert_allclose(cov, expect, atol=0.02)


def test_same_seed_same_bytes_and_noise_keyed_by_frame_and_cell(tmp_path, crowded_pair):
    from simulators import write_run

    _, noisy = crowded_pair
    again = simulate("default", 1, {"n_frames": 6, "record_every": 20, "n_equil_steps": 20, "sigma_loc_um": SIGMA})
    write_run(noisy, tmp_path / "a")
    write_run(again, tmp_path / "b")
    for name in ("tracks.parquet", "truth.parquet", "pairs.parquet", "meta.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # a cell's noise depends on (seed, frame, track id) only, not on which other cells are seen
    frame = np.array([3, 3, 0, 5])
    tid = np.array([7, 2, 7, 40])
    full = localization_noise_um(1, frame, tid, SIGMA)
    npt.assert_array_equal(localization_noise_um(1, frame[:1], tid[:1], SIGMA), full[:1])
    npt.assert_array_equal(localization_noise_um(1, frame[::-1], tid[::-1], SIGMA), full[::-1])
    assert not np.array_equal(localization_noise_um(2, frame, tid, SIGMA), full)
    assert not np.array_equal(full[0], full[2])  # same cell, other frame


def test_observation_is_decided_by_the_true_position():
    """Microwell: no wrapping; the same cells are recorded with and without noise."""
    small = {"n_frames": 5, "record_every": 10}
    clean = simulate("microwell-hsc", 2, small)
    noisy = simulate("microwell-hsc", 2, {**small, "sigma_loc_um": 2.0})
    npt.assert_array_equal(clean.tracks.df[["track_id", "frame"]].to_numpy(),
                           noisy.tracks.df[["track_id", "frame"]].to_numpy())
    npt.assert_array_equal(clean.tracks.df["x_um"].to_numpy(), clean.truth["x_unwrap_um"].to_numpy())
    d = _noise(clean, noisy)
    assert np.abs(d).max() < 8 * 2.0 and (d != 0).all()
