"""Simulated runs: tables and metadata, identical bytes for a seed, write/load, cache, config errors."""

import os

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.errors import ConfigError
from cellbench.data.tracks import Tracks
from cellbench.sim import PRESETS, SimConfig, cached_dataset, load_run, potentials, simulate, write_run

SMALL = {"n_frames": 8, "record_every": 20, "n_equil_steps": 20}
FILES = ["tracks.parquet", "truth.parquet", "pairs.parquet", "meta.json", "trajectory.gsd", "snapshot.png", "msd.png"]


@pytest.fixture(scope="module")
def small_run():
    return simulate("default", 0, SMALL)


def test_tables_follow_the_contract(small_run):
    r = small_run
    assert list(r.tracks.df.columns) == ["track_id", "frame", "x_um", "y_um", "radius_um", "parent_id", "t_s"]
    for col in ["theta", "fx_int", "fy_int", "fx_wall", "fy_wall", "fx_self", "fy_self", "oracle_dx_um",
                "oracle_dy_um"]:
        assert col in r.truth.columns and np.isfinite(r.truth[col]).all()
    npt.assert_array_equal(r.truth[["track_id", "frame"]].to_numpy(), r.tracks.df[["track_id", "frame"]].to_numpy())
    assert {"frame", "i", "j", "r_um", "fx", "fy", "f_mag"} <= set(r.pairs.columns)
    assert r.tracks.meta.frame_interval_s == pytest.approx(0.2) and r.tracks.meta.fov_um is not None
    assert r.tracks.meta.extra["potential"]["name"] == "harmonic"
    npt.assert_allclose(np.hypot(r.truth["fx_self"], r.truth["fy_self"]), 1.0)
    for key in ["dt_s", "frame_interval_s", "v0_um_per_s", "D_t_um2_per_s", "D_r_per_s", "mu", "box_um", "fov_um",
                "potential", "seed", "cellbench_version", "kT"]:
        assert key in r.meta
    # pair forces are the potential's at the pair distance (polydisperse sigma_ij = r_i + r_j)
    pos = r.tracks.df.set_index(["frame", "track_id"])["radius_um"]
    s = pos.loc[list(zip(r.pairs["frame"], r.pairs["i"]))].to_numpy() + pos.loc[
        list(zip(r.pairs["frame"], r.pairs["j"]))].to_numpy()
    pot = potentials.from_dict(r.meta["potential"])
    npt.assert_allclose(r.pairs["f_mag"], pot.at(r.pairs["r_um"].to_numpy(), s)[1], rtol=1e-12, atol=1e-12)
    # the interaction force on a cell is the sum of its pair forces when all its partners are observed
    assert len(r.pairs) > 0


def test_passive_meta_for_the_prior():
    m = simulate("passive-yukawa", 0, {"n_frames": 2, "record_every": 1, "n_equil_steps": 0}).meta
    assert m["kT"] == 1.0 and m["v0_um_per_s"] == 0.0
    assert m["D_t_um2_per_s"] == pytest.approx(m["mu"] * m["kT"])
    p = m["potential"]
    assert p["name"] == "yukawa" and {"sigma_um", "A_kT_um", "kappa_per_um", "r_cut_um"} <= set(p)
    u, f = potentials.yukawa(np.array([10.0]), p["sigma_um"], p["A_kT_um"], p["kappa_per_um"], p["r_cut_um"])
    assert u[0] == pytest.approx(5.0 - p["A_kT_um"] * np.exp(-6.0) / 30.0)


def test_same_seed_gives_identical_bytes(tmp_path, small_run):
    write_run(small_run, tmp_path / "a")
    write_run(simulate("default", 0, SMALL), tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = simulate("default", 1, SMALL)
    assert not np.array_equal(other.tracks.df["x_um"].to_numpy()[:50], small_run.tracks.df["x_um"].to_numpy()[:50])


def test_write_load_round_trip(tmp_path, small_run):
    write_run(small_run, tmp_path)
    back = load_run(tmp_path)
    pd.testing.assert_frame_equal(back.tracks.df, small_run.tracks.df)
    pd.testing.assert_frame_equal(back.truth, small_run.truth)
    pd.testing.assert_frame_equal(back.pairs, small_run.pairs)
    assert back.meta["potential"] == small_run.meta["potential"]
    assert Tracks.load(tmp_path / "tracks.parquet").meta == small_run.tracks.meta
    import gsd.hoomd

    with gsd.hoomd.open(str(tmp_path / "trajectory.gsd"), "r") as traj:
        assert len(traj) == SMALL["n_frames"]
        assert traj[0].particles.N == (small_run.tracks.df["frame"] == 0).sum()
        npt.assert_array_equal(traj[0].log["particles/track_id"],
                               small_run.tracks.df.loc[small_run.tracks.df["frame"] == 0, "track_id"])


def test_cached_dataset_generates_once(tmp_path, monkeypatch):
    first = cached_dataset("microwell-hsc", 0, cache_dir=tmp_path)
    assert all((first / name).exists() for name in FILES)
    stamp = os.stat(first / "meta.json").st_mtime_ns
    assert cached_dataset("microwell-hsc", 0, cache_dir=tmp_path) == first
    assert os.stat(first / "meta.json").st_mtime_ns == stamp  # reused, not regenerated
    assert first.name.startswith("microwell-hsc-seed0-")
    monkeypatch.setenv("CELLBENCH_CACHE", str(tmp_path / "env"))
    from cellbench.sim.output import cache_root

    assert cache_root() == tmp_path / "env" / "sim"


@pytest.mark.parametrize("overrides, option", [
    ({"dt_s": -0.1}, "dt_s"),
    ({"n_cells": 2000}, "n_cells"),  # phi 4.0: above close packing
    ({"bogus": 1}, "bogus"),
    ({"potential.bogus_kT": 1}, "potential.bogus_kT"),
    ({"potential.k_kT_per_um2": -1}, "potential.k_kT_per_um2"),
    ({"dt_s": 1.0}, "dt_s"),  # harmonic: mu k dt = 10, unstable
    ({"fov_um": "0,0,500,500"}, "fov_um"),  # outside the box
    ({"n_frames": "many"}, "n_frames"),
])
def test_bad_values_raise_config_errors_naming_the_option(overrides, option):
    with pytest.raises(ConfigError, match=option.replace(".", r"\.")):
        simulate("default", 0, overrides)


def test_unknown_preset_and_overrides_as_strings():
    with pytest.raises(ConfigError, match="unknown"):
        simulate("no-such-preset", 0)
    r = simulate("free-abp", 0, {"n_cells": "20", "n_frames": "3", "v0_um_per_s": "0.5"})
    assert r.meta["v0_um_per_s"] == 0.5 and r.tracks.cells_per_frame().iloc[0] == 20
    with pytest.raises(ConfigError, match="seed"):
        simulate("free-abp", -1)


def test_every_preset_is_valid_and_described():
    assert {"free-abp", "passive-wca", "passive-yukawa", "abp-wca", "microwell-hsc", "vicsek-flock",
            "morse-adhesive", "default"} <= set(PRESETS)
    for name, cfg in PRESETS.items():
        assert isinstance(cfg, SimConfig) and cfg.description, name
