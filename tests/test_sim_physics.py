"""Physics of the simulators against closed forms: free ABP MSD and orientation correlation,
passive diffusion, confinement in the microwell, division and the field of view."""

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.sim import simulate
from cellbench.evaluation.sim_truth import one_step_table, oracle_r2
from cellbench.sim.analysis import abp_msd_theory, msd, orientation_autocorrelation

N_FREE = 4000


@pytest.fixture(scope="module")
def free_abp():
    # v0 = 1 um/s, D_r = 1/s, D_t = 0.05 um^2/s; 0.1-s frames over 10 s (10 persistence times)
    return simulate("free-abp", 11, {"n_cells": N_FREE, "box_um": 2000.0, "D_r_per_s": 1.0, "D_t_um2_per_s": 0.05,
                                     "dt_s": 0.005, "record_every": 20, "n_frames": 101})


def test_free_abp_msd_matches_theory(free_abp):
    lags = np.array([1, 3, 10, 30])  # 0.1 s (ballistic) ... 3 s (diffusive)
    m = msd(free_abp.truth, lags)
    t = lags * free_abp.meta["frame_interval_s"]
    theory = abp_msd_theory(t, 1.0, 0.05, 1.0)
    # Statistical error: a 2D displacement's |d|^2 has relative std <= 1, and MSD at lag L averages
    # N_FREE * (100 / L) roughly independent windows (>= 4000 * 3.3 = 1.3e4): relative std <= 0.9 %,
    # so 3 % is >= 3.4 sigma. Euler bias of e(theta) frozen over dt: O(D_r dt) = 0.5 %.
    npt.assert_allclose(m, theory, rtol=0.03)


def test_free_abp_orientation_autocorrelation(free_abp):
    lags = np.array([1, 3, 7])  # exp(-D_r t) = 0.90, 0.74, 0.50
    c = orientation_autocorrelation(free_abp.truth, lags)
    theory = np.exp(-1.0 * lags * free_abp.meta["frame_interval_s"])
    # cos(dtheta) has variance <= 0.5, averaged over >= 4000 * 100/7 windows / (correlation of
    # overlapping windows, <= 7): std <= sqrt(0.5 * 7 / 5.7e4) = 0.008 absolute, i.e. <= 1.6 % of 0.5
    # at the longest lag; 3 % is ~2 sigma there and ~10 sigma at the shortest. The orientation
    # increments are exact Gaussians (no discretisation bias).
    npt.assert_allclose(c, theory, rtol=0.03)


def test_passive_diffusion_coefficient():
    res = simulate("free-abp", 5, {"n_cells": 2000, "box_um": 2000.0, "v0_um_per_s": 0.0, "D_t_um2_per_s": 0.3,
                                   "dt_s": 0.01, "record_every": 10, "n_frames": 51})
    lags = np.array([1, 5])
    d = msd(res.truth, lags) / (4 * lags * res.meta["frame_interval_s"])
    # MSD/(4 t) is a mean of |d|^2, relative std 1 per sample. At lag L frames there are 2000 * (50 - L)
    # windows, overlapping ones correlated over L frames: ~2000 * 50 / L independent samples, so the
    # relative std is 0.3 % at L = 1 and 0.7 % at L = 5; 2 % is >= 2.7 sigma. Euler-Maruyama is exact
    # for free diffusion.
    npt.assert_allclose(d, 0.3, rtol=0.02)
    assert res.meta["D_t_um2_per_s"] == pytest.approx(res.meta["mu"] * res.meta["kT"])  # Einstein


def test_no_cell_leaves_the_microwell():
    # high activity: v0 = 0.2 um/s pushes against the wall k = 1 kT/um^2 with mu = 0.01 um^2/(kT s):
    # the wall stops a cell at overlap v0/(mu k) = 20 um > the radius, so cells would escape if the
    # wall force were missing; we require every centre inside the well minus the stall overlap
    res = simulate("microwell-hsc", 2, {"n_cells": 60, "v0_um_per_s": 0.2, "D_t_um2_per_s": 0.01, "D_r_per_s": 0.01,
                                        "wall_k_kT_per_um2": 1.0, "division_rate_per_s": 0.0, "dt_s": 1.0,
                                        "record_every": 20, "n_frames": 200, "fov_um": (-200.0, -200.0, 200.0, 200.0)})
    r = np.hypot(res.tracks.df["x_um"], res.tracks.df["y_um"])
    R = res.meta["well_radius_um"]
    assert res.tracks.cells_per_frame().eq(60).all()  # fov covers the well: nobody lost
    # stall: |r| + a - R = v0/(mu k) = 20 um; thermal excursion sqrt(kT/k) = 1 um; 5 sigma margin
    assert r.max() <= R - 4.0 + 20.0 + 5.0
    assert r.max() > R - 10.0  # the cells did reach the wall


def test_division_gives_new_tracks_with_parents():
    res = simulate("microwell-hsc", 0)
    df = res.tracks.df
    n = res.tracks.cells_per_frame()
    assert n.iloc[0] == 4 and 60 <= n.iloc[-1] <= 160  # grows like HSC movies (few -> ~100)
    daughters = df.groupby("track_id")["parent_id"].first()
    daughters = daughters[daughters >= 0]
    first = df.groupby("track_id")["frame"].min()
    last = df.groupby("track_id")["frame"].max()
    assert len(daughters) > 50
    for tid, mother in daughters.items():
        assert last[mother] == first[tid] - 1  # the mother's track ends when the daughters start
    assert (daughters.value_counts() == 2).all()  # two daughters per division
    assert df.groupby("track_id")["parent_id"].nunique().eq(1).all()


def test_field_of_view_and_reentry():
    res = simulate("default", 4, {"n_frames": 60})
    df = res.tracks.df
    fov = res.meta["fov_um"]
    assert df["x_um"].between(fov[0], fov[2]).all() and df["y_um"].between(fov[1], fov[3]).all()
    # some track leaves the window and comes back under the same id (a gap in its frames)
    span = df.groupby("track_id")["frame"].agg(["min", "max", "size"])
    assert (span["max"] - span["min"] + 1 > span["size"]).any()
    npt.assert_array_equal(res.truth["track_id"], df["track_id"])
    npt.assert_array_equal(res.truth["frame"], df["frame"])
    assert "theta" not in df.columns and not any(c.startswith("oracle") for c in df.columns)


def test_interactions_explain_displacements_on_default():
    res = simulate("default", 0, {"n_frames": 60})
    r = oracle_r2(res.truth, res.meta["frame_interval_s"])
    # measured on the full preset: r2_oracle 0.67, interactions +0.74; 60 frames x 190 cells
    # give R^2 to ~0.01, so these bounds hold with a wide margin
    assert r["r2_oracle"] > 0.5 and r["r2_interactions"] > 0.4


@pytest.mark.slow
def test_free_abp_long_time_diffusion():
    res = simulate("free-abp", 1, {"n_cells": 2000, "box_um": 3000.0, "n_frames": 1001})
    lags = np.array([200, 400])  # 200-400 s = 20-40 persistence times
    m = msd(res.truth, lags)
    npt.assert_allclose(m, abp_msd_theory(lags * 1.0, 1.0, 0.1, 0.1), rtol=0.03)


def test_oracle_residual_is_the_translational_noise():
    # with D_r = 0 and no interactions the only unpredictable part of a one-frame displacement is
    # the translational noise: var(dx - oracle_dx) = 2 D_t tau per axis. 2000 cells x 30 frames x 2
    # axes = 1.2e5 samples: the variance estimate has relative std sqrt(2/1.2e5) = 0.4 %; 2 % is 5 sigma.
    res = simulate("free-abp", 8, {"n_cells": 2000, "box_um": 2000.0, "D_r_per_s": 0.0, "D_t_um2_per_s": 0.2, "n_frames": 31})
    t = one_step_table(res.truth, res.meta["frame_interval_s"])
    resid = np.concatenate([t["dx_um"] - t["oracle_dx_um"], t["dy_um"] - t["oracle_dy_um"]])
    npt.assert_allclose(resid.var(), 2 * 0.2 * res.meta["frame_interval_s"], rtol=0.02)
    npt.assert_allclose(t["oracle_dx_um"], t["fx_self"] * res.meta["frame_interval_s"], rtol=1e-9, atol=1e-12)
