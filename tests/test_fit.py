"""``cellbench.simfit``: the ABP motion fit, crowding statistics, fitted presets, TOML preset files
and ``cellbench simulate --like``, tested against known simulations and closed forms."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest
from scipy import integrate
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.data.track_stats import msd_per_axis
from cellbench.errors import CellbenchError, ConfigError, FitError
from cellbench.simfit import fit_preset
from cellbench.simfit.crowding import cells_per_frame, core_size_um, growth_rate_per_s, occupied_region, pair_correlation
from cellbench.simfit.motion import abp_lag1_cov_um2, abp_msd_per_axis_um2, fit_motion, lag1_covariance
from cellbench.simfit.preset import division_for_growth
from cellbench.data.tracks import Tracks, TracksMeta
from cellbench.sim import PRESETS, SimConfig, simulate
from cellbench.sim.analysis import abp_msd_theory
from cellbench.sim.potentials import PairPotential
from cellbench.sim.preset_file import read_preset, write_preset
from tests.helpers import random_walk_tracks, table

runner = CliRunner()

# A free ABP with known parameters: persistence 1/D_r = 20 frames, so lags 1..20 see the
# crossover from ballistic to diffusive (D_r is identifiable), and sigma_loc^2 = 0.09 um^2 is a
# fifth of the one-frame per-axis MSD (so noise and diffusion are both visible).
FREE = SimConfig(n_cells=400, box_um=400.0, v0_um_per_s=0.5, D_t_um2_per_s=0.05, D_r_per_s=0.05, dt_s=0.05,
                 record_every=20, n_frames=300, init="random", sigma_loc_um=0.3)


@pytest.fixture(scope="module")
def free_abp() -> Tracks:
    return simulate(FREE, 1).tracks


# -- closed forms ---------------------------------------------------------------------------------

def test_msd_formula_is_half_the_2d_abp_msd_plus_noise():
    t = np.array([0.1, 1.0, 7.0, 50.0])
    npt.assert_allclose(abp_msd_per_axis_um2(t, 0.7, 0.2, 0.03, 0.4),
                        0.5 * abp_msd_theory(t, 0.7, 0.03, 0.2) + 2 * 0.4**2, rtol=1e-12)
    # D_r -> 0: ballistic v0^2 t^2 / 2 per axis; tiny D_r uses the series without cancellation
    npt.assert_allclose(abp_msd_per_axis_um2(t, 0.7, 0.0, 0.0), 0.5 * 0.49 * t**2, rtol=1e-12)
    npt.assert_allclose(abp_msd_per_axis_um2(t, 0.7, 1e-9, 0.0), 0.5 * 0.49 * t**2, rtol=1e-6)


def test_lag1_covariance_formula_against_the_orientation_integral():
    # active part: (v0^2/2) int_0^tau int_tau^2tau exp(-D_r (s' - s)) ds' ds, per axis
    v0, D_r, tau, sigma = 0.8, 0.3, 2.0, 0.25
    val, _ = integrate.dblquad(lambda s2, s1: 0.5 * v0**2 * np.exp(-D_r * (s2 - s1)), 0, tau, tau, 2 * tau)
    npt.assert_allclose(abp_lag1_cov_um2(tau, v0, D_r, sigma), val - sigma**2, rtol=1e-8)
    npt.assert_allclose(abp_lag1_cov_um2(tau, v0, 0.0, 0.0), 0.5 * (v0 * tau) ** 2, rtol=1e-12)


def test_white_position_noise_gives_rho_minus_half_and_flat_msd():
    # cells that do not move, recorded with N(0, s^2) noise: MSD = 2 s^2 per axis at every lag,
    # C_1 = -s^2, rho_1 = -1/2 (statistical tolerance: ~1/sqrt(40 000) relative)
    rng = np.random.default_rng(3)
    n_tracks, n_frames, s = 200, 200, 0.5
    tid, f = np.meshgrid(np.arange(n_tracks), np.arange(n_frames), indexing="ij")
    df = pd.DataFrame({"track_id": tid.ravel(), "frame": f.ravel(),
                       "x_um": 10.0 * tid.ravel() + rng.normal(0, s, tid.size),
                       "y_um": rng.normal(0, s, tid.size)})
    tr = Tracks.from_table(df, TracksMeta("noise", frame_interval_s=1.0))
    msd, n = msd_per_axis(tr, [1, 5, 20])
    npt.assert_allclose(msd, 2 * s**2, rtol=0.03)
    assert n.tolist() == [n_tracks * (n_frames - L) for L in (1, 5, 20)]
    cov, rho, n_tri = lag1_covariance(tr)
    npt.assert_allclose(cov, -s**2, rtol=0.05)
    npt.assert_allclose(rho, -0.5, atol=0.02)
    assert n_tri == n_tracks * (n_frames - 2)


def test_msd_and_covariance_use_only_frames_of_one_track_brute_force():
    # gaps (dropped spots) and several tracks: the fast path equals a naive double loop
    tr = random_walk_tracks(n_tracks=5, n_frames=30, seed=2, drop=0.2)
    df = tr.df
    pos = {(int(r.track_id), int(r.frame)): (r.x_um, r.y_um) for r in df.itertuples()}
    for lag in (1, 3, 7):
        d2 = [(np.subtract(pos[(t, f + lag)], pos[(t, f)])) ** 2 for (t, f) in pos if (t, f + lag) in pos]
        msd, n = msd_per_axis(tr, [lag])
        assert n[0] == len(d2)
        npt.assert_allclose(msd[0], np.mean(d2, axis=0), rtol=1e-12)
    prods = [np.multiply(np.subtract(pos[(t, f + 1)], pos[(t, f)]), np.subtract(pos[(t, f + 2)], pos[(t, f + 1)]))
             for (t, f) in pos if (t, f + 1) in pos and (t, f + 2) in pos]
    cov, _, n_tri = lag1_covariance(tr)
    assert n_tri == len(prods)
    npt.assert_allclose(cov, np.mean(prods, axis=0), rtol=1e-12)


# -- recovery on simulations with known parameters --------------------------------------------------

def test_motion_fit_recovers_v0_dr_dt_sigma_within_10_percent(free_abp):
    m = fit_motion(free_abp, max_lag_frames=20)
    for got, want in [(m.v0_um_per_s, FREE.v0_um_per_s), (m.D_r_per_s, FREE.D_r_per_s),
                      (m.D_t_um2_per_s, FREE.D_t_um2_per_s), (m.sigma_loc_um, FREE.sigma_loc_um)]:
        assert abs(got / want - 1) < 0.10, (got, want)
    assert m.frame_interval_s == FREE.frame_interval_s


def test_motion_fit_works_on_a_frame_subset(free_abp):
    df = free_abp.df
    sub = free_abp.with_df(df[(df.frame >= 100) & (df.frame < 250)])
    m = fit_motion(sub)
    assert abs(m.v0_um_per_s / FREE.v0_um_per_s - 1) < 0.10
    assert abs(m.sigma_loc_um / FREE.sigma_loc_um - 1) < 0.10


def test_growth_fit_recovers_the_division_rate_within_10_percent():
    # no minimum age: each cell divides at rate k, so N(t) = N0 e^{k t}; 300 -> ~2400 cells
    k = 1.0 / 1000.0
    cfg = SimConfig(n_cells=300, box_um=1000.0, D_t_um2_per_s=0.1, dt_s=1.0, record_every=10, n_frames=210,
                    division_rate_per_s=k, max_cells=4000, init="random")
    tr = simulate(cfg, 4).tracks
    frames, counts = cells_per_frame(tr)
    lam, n0 = growth_rate_per_s(frames, counts, cfg.frame_interval_s)
    assert abs(lam / k - 1) < 0.10, lam
    assert abs(n0 / 300 - 1) < 0.10


def test_no_growth_gives_rate_zero():
    frames = np.arange(50)
    assert growth_rate_per_s(frames, np.full(50, 7), 60.0)[0] == 0.0
    assert growth_rate_per_s(frames, np.linspace(20, 10, 50).round().astype(int), 60.0)[0] == 0.0


def test_division_rate_with_min_age_keeps_the_growth_rate():
    lam = 2e-5
    k, a = division_for_growth(lam)
    npt.assert_allclose(2 * k / (k + lam) * math.exp(-lam * a), 1.0, rtol=1e-12)  # Euler-Lotka
    npt.assert_allclose(a, 0.75 * math.log(2) / lam)
    assert division_for_growth(0.0) == (0.0, 0.0)


def test_region_is_a_disk_for_a_microwell_and_a_box_for_a_periodic_run():
    well = dataclasses.replace(PRESETS["microwell-hsc"], n_cells=120, division_rate_per_s=0.0, max_cells=0,
                               n_frames=40, fov_um=None)
    tracks = simulate(well, 0).tracks
    reg = occupied_region(tracks)
    assert reg.kind == "disk"
    npt.assert_allclose(reg.centre_um, (0.0, 0.0), atol=6.0)  # the well is centred at the origin
    assert 140.0 < reg.radius_um < 150.0  # cell centres stay ~ one radius inside the 150-um well
    cfg = fit_preset(tracks, n_corrections=0).config  # a disk becomes a microwell of about the same size
    assert cfg.boundary == "microwell" and 140.0 < cfg.well_radius_um < 160.0
    box = occupied_region(random_walk_tracks(n_tracks=40, n_frames=5, box_um=100.0, step_um=0.1))
    assert box.kind == "box"


def test_core_size_of_soft_disks_from_g():
    # dense soft disks of diameter 10 um: g(r) reaches 0.5 a little below contact
    cfg = SimConfig(n_cells=300, box_um=250.0, potential=PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=50.0),
                    D_t_um2_per_s=1.0, dt_s=0.002, record_every=50, n_frames=30, n_equil_steps=2000)
    tr = simulate(cfg, 0).tracks
    r, g, n = pair_correlation(tr, 250.0**2, 30.0, 0.5)
    assert n > 0
    core = core_size_um(r, g)
    assert 9.0 < core < 10.2, core
    npt.assert_allclose(np.nanmean(g[(r > 25)]), 1.0, atol=0.15)  # uncorrelated at 2.5 diameters


# -- fitted presets ---------------------------------------------------------------------------------

def test_fit_preset_is_deterministic_and_keeps_the_file_s_frames(free_abp):
    df = free_abp.df
    sub = free_abp.with_df(df[df.frame < 120])
    a = fit_preset(sub, n_corrections=1)
    b = fit_preset(sub, n_corrections=1)
    assert a.config == b.config
    assert a.stats == b.stats
    cfg = a.config
    assert cfg.frame_interval_s == pytest.approx(FREE.frame_interval_s)
    assert cfg.n_frames == 120 and cfg.n_cells == 400
    assert cfg.boundary == "periodic"
    assert cfg.sigma_loc_um == pytest.approx(a.stats["sigma_loc_um"])
    for key in ("v0_um_per_s", "D_r_per_s", "D_t_um2_per_s", "sigma_loc_um", "density_per_um2", "core_size_um",
                "growth_rate_per_s", "region", "correction_iterations"):
        assert key in a.stats


def test_preset_toml_round_trip(tmp_path, free_abp):
    fitted = fit_preset(free_abp.with_df(free_abp.df[free_abp.df.frame < 60]), n_corrections=0).config
    for name, cfg in [*PRESETS.items(), ("fitted", fitted)]:
        path = tmp_path / f"{name}.toml"
        write_preset(cfg, path, fit={"source": "x.csv", "v0_um_per_s": np.float64(0.1), "region_radius_um": None})
        assert read_preset(path) == cfg, name


def test_preset_file_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "p.toml"
    write_preset(PRESETS["free-abp"], path)
    text = path.read_text()
    cases = [
        (text + "colour = 'blue'\n", "colour"),
        (text.replace("dt_s = 0.05", "dt_s = -1.0"), "dt_s"),
        (text + "[potential]\nname = 'harmonic'\nsigma_um = 10.0\nk_kT_per_um2 = 1.0\nfoo = 1\n", "foo"),
        ("n_cells = = 3\n", "not a valid TOML"),
    ]
    for body, word in cases:
        path.write_text(body)
        with pytest.raises(ConfigError) as err:
            read_preset(path)
        assert str(path) in str(err.value) and word in str(err.value), str(err.value)
    with pytest.raises(ConfigError, match="no such preset file"):
        read_preset(tmp_path / "missing.toml")


def test_too_short_tracks_give_a_clear_error_naming_the_file():
    rows = [(t, f, 10.0 * t + 0.1 * f, 0.0) for t in range(30) for f in range(3)]  # 3 frames per track
    tr = table(rows, dataset="short", frame_interval_s=60.0, source_path="/data/short.csv")
    with pytest.raises(FitError, match=r"/data/short.csv: too short to fit the motion"):
        fit_motion(tr)
    no_tau = table([(0, f, 0.1 * f**1.5, 0.0) for f in range(100)], dataset="nodt", source_path="/data/nodt.csv")
    with pytest.raises(FitError, match=r"/data/nodt.csv: the frame interval is unknown"):
        fit_preset(no_tau)
    assert issubclass(FitError, CellbenchError)


# -- command line -----------------------------------------------------------------------------------

def test_cli_simulate_like_writes_preset_sim_and_report(tmp_path, free_abp):
    src = tmp_path / "src.parquet"
    df = free_abp.df
    free_abp.with_df(df[(df.frame < 60) & (df.track_id < 150)]).save(src)
    out = tmp_path / "fit"
    res = runner.invoke(app, ["simulate", "--like", str(src), "--out", str(out), "--corrections", "1"])
    assert res.exit_code == 0, res.output
    for name in ("preset.toml", "fit.md", "fit.png", "fit.json", "sim/tracks.parquet", "sim/meta.json"):
        assert (out / name).exists(), name
    md = (out / "fit.md").read_text()
    assert "MSD per axis, lag 20" in md and "lag-1 autocorrelation x" in md and "g(r) peak" in md
    # the written preset runs again through --preset PATH
    res = runner.invoke(app, ["simulate", "--preset", str(out / "preset.toml"), "--out", str(tmp_path / "again"),
                              "--set", "n_frames=5"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "again" / "tracks.parquet").exists()


def test_cli_like_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("TRACK_ID,FRAME,POSITION_X,POSITION_Y\n1,0,abc,2\n")
    short = tmp_path / "short.parquet"  # 30 tracks of 3 frames: no MSD beyond lag 2
    table([(t, f, 10.0 * t + 0.1 * f, 0.0) for t in range(30) for f in range(3)], dataset="short",
          frame_interval_s=60.0).save(short)
    for args, word in [(["--like", str(bad)], "bad.csv"), (["--like", str(tmp_path / "none.csv")], "none.csv"),
                       (["--like", str(short)], "short.parquet: too short to fit"),
                       (["--like", str(bad), "--preset", "free-abp"], "--like")]:
        res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "o"), *args])
        assert res.exit_code == 2, (args, res.output)
        assert word in res.output and "Traceback" not in res.output, res.output


# -- slow: the fitted simulation reproduces its source ------------------------------------------------

CROWDED = SimConfig(n_cells=250, box_um=250.0, potential=PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=20.0),
                    v0_um_per_s=0.3, D_t_um2_per_s=0.05, D_r_per_s=0.05, dt_s=0.05, record_every=20, n_frames=200,
                    n_equil_steps=2000, init="random", sigma_loc_um=0.3)


@pytest.mark.slow
def test_fitted_simulation_reproduces_a_crowded_source():
    # crowded soft disks (phi 0.31) with noise: the free-ABP formula alone misfits, the
    # simulation-based correction brings the MSD within 10 % at lags 1-20 and rho_1 within 0.05
    from cellbench.simfit.summary import summarize_tracks

    src = simulate(CROWDED, 7).tracks
    a = summarize_tracks(src, 20)
    formula = fit_preset(src, n_corrections=0)
    b0 = summarize_tracks(simulate(formula.config, 11).tracks, 20)
    assert np.max(np.abs(b0.msd_um2 / a.msd_um2 - 1)) > 0.10  # crowding slows the cells: the formula alone misfits
    fit = fit_preset(src)
    assert fit.stats["correction_iterations"] >= 1
    sim = simulate(fit.config, 11).tracks  # another seed than the correction's
    b = summarize_tracks(sim, 20)
    npt.assert_allclose(b.msd_um2, a.msd_um2, rtol=0.10)
    npt.assert_allclose(b.rho1_xy, a.rho1_xy, atol=0.05)
    # the corrected speed and the noise are the source's (measured: 2 % and 1 % off, seed 7)
    assert abs(fit.config.v0_um_per_s / CROWDED.v0_um_per_s - 1) < 0.10
    assert abs(fit.config.sigma_loc_um / CROWDED.sigma_loc_um - 1) < 0.10


@pytest.mark.slow
def test_fitted_simulation_reproduces_hsc_02(real_data_dir):
    from cellbench.simfit.summary import summarize_tracks
    from cellbench.data.readers import read_tracks

    real = read_tracks(real_data_dir / "BF-C2DL-HSC_02_spots.csv")
    fit = fit_preset(real)
    sim = simulate(fit.config, 0).tracks
    a, b = summarize_tracks(real, 20), summarize_tracks(sim, 20)
    npt.assert_allclose(b.msd_um2, a.msd_um2, rtol=0.10)
    npt.assert_allclose(b.rho1, a.rho1, atol=0.05)
