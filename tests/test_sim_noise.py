"""Localization noise: only the recorded positions move, by N(0, sigma^2), from its own random stream."""

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.errors import ConfigError
from cellbench.sim import simulate
from cellbench.sim.engine import config_hash, resolve_config
from cellbench.sim.noise import localization_noise_um

SIGMA = 0.5
# passive, non-interacting, the whole periodic box observed: the exact case for the statistics
PASSIVE = {"n_cells": 400, "v0_um_per_s": 0.0, "D_r_per_s": 0.0, "n_frames": 40, "record_every": 10,
           "D_t_um2_per_s": 0.1, "dt_s": 0.1}
CROWDED = {"n_frames": 20, "n_equil_steps": 200}  # the default preset's 2-s frames, ~200 cells in view


@pytest.fixture(scope="module")
def passive_pair():
    return simulate("free-abp", 7, PASSIVE), simulate("free-abp", 7, {**PASSIVE, "sigma_loc_um": SIGMA})


@pytest.fixture(scope="module")
def crowded_pair():
    return simulate("default", 1, CROWDED), simulate("default", 1, {**CROWDED, "sigma_loc_um": SIGMA})


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
    import json

    _, noisy = crowded_pair
    again = simulate("default", 1, {**CROWDED, "sigma_loc_um": SIGMA})
    for tag, run in (("a", noisy), ("b", again)):
        run.tracks.save(tmp_path / f"{tag}.parquet")
        run.truth.to_parquet(tmp_path / f"{tag}-truth.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert (tmp_path / "a-truth.parquet").read_bytes() == (tmp_path / "b-truth.parquet").read_bytes()
    assert json.dumps(noisy.meta, sort_keys=True) == json.dumps(again.meta, sort_keys=True)
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


# -- the oracle and the noise floor ------------------------------------------------------------

def _dataset(run):
    from cellbench.data.dataset import build_dataset
    from cellbench.runs.simulated import SimTruth

    return build_dataset([run.tracks], truths=[SimTruth(run.truth, run.pairs, run.meta, "")])


def _all_rows_rmse(pred, data):
    s = data.seqs[0]
    ok = np.isfinite(s.y_um[:, 0])
    return np.sqrt(np.mean((pred[0][ok] - s.y_um[ok]) ** 2, axis=0))


def test_noise_floor_formula():
    from cellbench.runs.simulated import noise_floor

    f = noise_floor(0.1, 1.0, 0.5)
    assert f["thermal_um2"] == pytest.approx(0.2) and f["localization_um2"] == pytest.approx(0.5)
    assert f["rmse_dx_um"] == f["rmse_dy_um"] == pytest.approx(np.sqrt(0.7))
    q, r = 0.2, 0.25  # steady-state Kalman prior M solves M^2 = q M + q r
    m = (q + np.sqrt(q * q + 4 * q * r)) / 2
    assert m**2 == pytest.approx(q * m + q * r)
    assert f["filtered_rmse_dx_um"] == pytest.approx(np.sqrt(m + r))
    assert noise_floor(0.1, 1.0)["filtered_rmse_dx_um"] == pytest.approx(np.sqrt(0.2))
    for args, key in (((-0.1, 1.0, 0.0), "D_t_um2_per_s"), ((0.1, 0.0, 0.0), "frame_interval_s"),
                      ((0.1, 1.0, float("nan")), "sigma_loc_um")):
        with pytest.raises(ValueError, match=key):
            noise_floor(*args)


def test_oracle_rmse_on_passive_noisy_cells_is_the_floor(passive_pair):
    """Passive free cells: the oracle predicts 0, its per-axis RMSE is sqrt(2 D_t tau + 2 sigma^2)."""
    from cellbench.models.oracle import Oracle
    from cellbench.runs.simulated import dataset_noise_floor

    for run in passive_pair:
        data = _dataset(run)
        floor = data.seqs[0].truth.noise_floor
        expect = np.sqrt(2 * 0.1 * 1.0 + 2 * run.meta["sigma_loc_um"] ** 2)
        assert floor["rmse_dx_um"] == pytest.approx(expect)
        rmse = _all_rows_rmse(Oracle().fit(data).predict(data), data)  # 15600 targets per axis
        npt.assert_allclose(rmse, expect, rtol=0.03)
        pooled = dataset_noise_floor(data, "test")
        assert pooled["rmse_dx_um"] == pytest.approx(expect) and pooled["sigma_loc_um"] == run.meta["sigma_loc_um"]
        assert pooled["oracle_residual_rmse_um"] == pytest.approx(np.sqrt(0.2), rel=0.05)


def test_a_model_reading_the_noisy_past_beats_the_oracle_but_not_the_kalman_floor(passive_pair):
    """d_hat_t = a d_{t-1} with a = -sigma^2 / (2 D tau + 2 sigma^2): MSE = var - cov^2/var < the oracle's."""
    clean, noisy = passive_pair
    n_cells = noisy.meta["n_cells_initial"]
    pos = noisy.truth[["x_unwrap_um", "y_unwrap_um"]].to_numpy() + _noise(clean, noisy, box_um=400.0)
    disp = np.diff(pos.reshape(-1, n_cells, 2), axis=0)
    a = -SIGMA**2 / (0.2 + 2 * SIGMA**2)
    rmse_ar = np.sqrt(np.mean((disp[1:] - a * disp[:-1]) ** 2))
    floor = _dataset(noisy).seqs[0].truth.noise_floor
    assert rmse_ar == pytest.approx(np.sqrt(0.7 - 0.25**2 / 0.7), rel=0.02)
    assert rmse_ar < 0.97 * floor["rmse_dx_um"]
    assert rmse_ar > 0.98 * floor["filtered_rmse_dx_um"]


def test_interacting_oracle_error_is_its_noise_free_residual_plus_localization(crowded_pair):
    """Crowded active disks: the oracle's MSE on noisy targets = its residual on the truth + 2 sigma^2."""
    from cellbench.models.oracle import Oracle
    from cellbench.runs.simulated import dataset_noise_floor

    for run in crowded_pair:
        data = _dataset(run)
        rows = np.isfinite(data.seqs[0].y_um[:, 0])
        rmse = _all_rows_rmse(Oracle().fit(data).predict(data), data)
        floor = dataset_noise_floor(data, "train")
        assert floor["thermal_um2"] == pytest.approx(2 * 0.1 * 2.0)
        from cellbench.runs.simulated import oracle_residual_um2

        residual = oracle_residual_um2(run.truth, run.tracks, rows)
        expect = np.sqrt(residual + 2 * run.meta["sigma_loc_um"] ** 2)
        npt.assert_allclose(rmse, expect, rtol=0.05)  # ~3700 targets per axis
        if run.meta["sigma_loc_um"] == 0:
            npt.assert_allclose(np.sqrt(np.mean(rmse**2)), np.sqrt(residual), rtol=1e-12)  # same targets, exactly


def test_leaderboard_shows_the_floor_under_simulated_tables():
    from cellbench.leaderboard.tables import collect, markdown_table, summarize
    from cellbench.runs.simulated import noise_floor

    floor = {**noise_floor(0.1, 1.0, 0.5), "oracle_residual_rmse_um": 0.45, "oracle_expected_rmse_um": 0.84}

    def rec(model, dataset, seed, rmse, with_floor=True):
        m = {"dataset": dataset, "split": "time", "test": {"rmse_dx_um": rmse, "rmse_dy_um": rmse, "r2": 0.1},
             "references": {}}
        if with_floor:
            m["noise_floor"] = floor
        return {"key": f"{model}-{dataset}-{seed}", "status": "done", "label": model, "metrics": m,
                "spec": {"model": model, "dataset": [dataset], "seed": seed, "train_fraction": 1.0, "split": "time"},
                "data_sha256": "ab" * 32, "code_version": "t", "finished_at": "2026-01-01T00:00:00"}

    recs = [rec(m, "sim:noisy:seed0", s, r) for s in (0, 1) for m, r in (("oracle", 0.84), ("ar", 0.80))]
    recs += [rec("ar", "sim:free-abp:seed0", 0, 0.5, with_floor=False), rec("ar", "real.csv", 0, 1.0, with_floor=False)]
    summary = summarize(collect(recs))
    md = markdown_table(summary, "sim:noisy:seed0")
    assert "| oracle | 2 | 0.84" in md and "noise floor" not in md.split("\n| ar")[0].split("\n")[-1]
    line = md.splitlines()[-1]
    assert line.startswith("noise floor: RMSE dx, dy >= 0.8367 um") and "sqrt(0.2 + 0.5)" in line
    assert "0.45 um" in line and "= 0.84 um" in line and "0.7713 um (Kalman filter)" in line
    assert not any(l.startswith("| (noise floor)") for l in md.splitlines())
    # records written before runs recorded the floor: the preset's parameters give it
    old = markdown_table(summary, "sim:free-abp:seed0").splitlines()[-1]
    assert old.startswith("noise floor: RMSE dx, dy >= 0.4472 um") and "Kalman" not in old
    assert "noise floor" not in markdown_table(summary, "real.csv")


def test_run_records_the_noise_floor(tmp_path, monkeypatch, passive_pair):
    """``cellbench run`` on simulated data writes the floor of its test targets in metrics.json."""
    import cellbench.runs.pipeline as pipeline
    from cellbench.io import read_json
    from cellbench.runs.simulated import SimTruth

    noisy = passive_pair[1]
    monkeypatch.setattr(pipeline, "load_simulated",
                        lambda item, seed=0: (noisy.tracks, SimTruth(noisy.truth, noisy.pairs, noisy.meta, "")))
    res = pipeline.run(pipeline.RunConfig(model="oracle", data=("free-abp",)), out_dir=tmp_path / "run")
    floor = read_json(tmp_path / "run" / "metrics.json")["noise_floor"]
    assert floor["rmse_dx_um"] == pytest.approx(np.sqrt(2 * 0.1 * 1.0 + 2 * SIGMA**2)) and floor["sigma_loc_um"] == SIGMA
    assert floor["n_targets"] == res.metrics["test"]["n_targets"]
    assert floor["oracle_expected_rmse_um"] == pytest.approx(floor["rmse_dx_um"], rel=0.03)
    npt.assert_allclose([res.metrics["test"]["rmse_dx_um"], res.metrics["test"]["rmse_dy_um"]], floor["rmse_dx_um"],
                        rtol=0.06)  # ~2000 test targets per axis: 1.6 % standard error
