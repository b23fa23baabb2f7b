"""Recovery regression: the estimated c(r) against the committed reference tables (independent
long Monte Carlo runs, tests/data/prior_reference/, see their ``command``), with negative controls
that must fail the same thresholds. Thresholds are the issue's; the measured values are noted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import j0

from cellbench.prior.automatic import estimate_prior
from cellbench.prior.correlation import direct_correlation_k, direct_correlation_r, interaction_range
from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.validation.oz import solve_oz
from cellbench.prior.validation.reduced_potentials import beta_u_from_meta
from cellbench.prior.validation.reference_mc import MCConfig, run_mc
from cellbench.prior.validation.reference_tables import SYSTEMS, load_table
from cellbench.prior.structure import pair_histogram
from cellbench.prior.validation.truth import rel_l2, s_rms
from cellbench.prior.window import Window, fit_window

REF_DIR = Path(__file__).parent / "data" / "prior_reference"
SIGMA = 1.0  # the tables and these runs are in units of sigma


def _table(which):
    t = load_table(REF_DIR / f"{which}.json")
    return t, (lambda r: np.interp(r, t["r_sigma"], t["c_r"], right=0.0)), (lambda k: np.interp(k, t["k_sigma"], t["S_k"]))


def _spacing(which):
    return SYSTEMS[which]["rho_per_um2"] ** -0.5


@pytest.fixture(scope="module")
def wca_run():
    """N = 1000 WCA at packing 0.35, 200 frames 20 sweeps apart (seed 7, not the table's seed 0)."""
    s = SYSTEMS["wca"]
    return run_mc(MCConfig(s["potential"], 1000, s["rho_per_um2"], 2000, 20), 200, seed=7)


@pytest.fixture(scope="module")
def yukawa_run():
    """N = 1000 Yukawa (A = 20 kT sigma, kappa = 1/sigma, rho = 0.3), 200 frames (about 20 s)."""
    s = SYSTEMS["yukawa"]
    return run_mc(MCConfig(s["potential"], 1000, s["rho_per_um2"], 2000, 20), 200, seed=7)


def _periodic(frames, L, which, **kw):
    sp = _spacing(which)
    return PriorEstimator(Window.periodic((L, L)), 8 * sp, sp / 200, **kw).compute(frames).prior


def test_wca_periodic_recovery(wca_run):
    frames, L, _ = wca_run
    t, c_ref, S_ref = _table("wca")
    prior = _periodic(frames, L, "wca")
    # issue: <= 3% at N ~ 1000, 200 frames (measured here 0.6%)
    assert rel_l2(prior.c_of_r, c_ref, SIGMA) <= 0.03
    # issue: S(k) rms over 1 < k sigma < 15 <= 0.005 (measured 0.0036, table noise included)
    assert s_rms(prior, S_ref, SIGMA) <= 0.005
    # issue: interaction range within 0.03 sigma (measured 0.001)
    assert abs(prior.r_cut_um - t["r_cut_sigma"]) <= 0.03
    # against Percus-Yevick, which the issue measured within 0.8% of WCA simulations: <= 3% here
    # at N M = 2e5 (measured 1.3%; the <= 2% check at N M >= 1e6 is the slow test)
    py = solve_oz(beta_u_from_meta(SYSTEMS["wca"]["potential"]), SYSTEMS["wca"]["rho_per_um2"], "py", r_max=20, n=2048)
    assert rel_l2(prior.c_of_r, py.c_of_r, SIGMA) <= 0.03
    # beyond the core c ~ 0: absolute error (measured 0.004)
    r = np.linspace(1.5, 4, 500)
    assert np.max(np.abs(prior.c_of_r(r) - c_ref(r))) <= 0.02


def test_wca_50_frames(wca_run):
    frames, L, _ = wca_run
    _, c_ref, _ = _table("wca")
    # issue: <= 5% with 50 frames (measured 2.3-3.6% on other seeds)
    assert rel_l2(_periodic(frames[::4], L, "wca").c_of_r, c_ref, SIGMA) <= 0.05


def test_negative_control_3d_kernel_fails(wca_run):
    """The 3D kernel sin(kr)/(kr) in place of J0 must fail the 3% threshold (measured 25%)."""
    frames, L, _ = wca_run
    _, c_ref, _ = _table("wca")
    sp = _spacing("wca")
    est = PriorEstimator(Window.periodic((L, L)), 8 * sp, sp / 200).compute(frames)
    r, h, k, rho = est.r_um, est.h_r, est.k_inv_um, est.rho_per_um2
    dr = r[1] - r[0]
    S3 = 1 + rho * (np.sinc(np.outer(k, r) / np.pi) * (h * 2 * np.pi * r * dr)[None, :]).sum(1)
    C3, _ = direct_correlation_k(S3, rho)
    c3 = direct_correlation_r(C3, k, r)
    assert rel_l2(lambda x: np.interp(x, r, c3), c_ref, SIGMA) > 0.10
    # and the correct kernel, through the same code path, passes
    S2 = 1 + rho * (j0(np.outer(k, r)) * (h * 2 * np.pi * r * dr)[None, :]).sum(1)
    C2, _ = direct_correlation_k(S2, rho)
    assert rel_l2(lambda x: np.interp(x, r, direct_correlation_r(C2, k, r)), c_ref, SIGMA) <= 0.03


def test_yukawa_periodic_recovery_tail_and_finite_size_control(yukawa_run):
    frames, L, _ = yukawa_run
    t, c_ref, S_ref = _table("yukawa")
    prior = _periodic(frames, L, "yukawa")
    # issue: <= 3% (measured 0.2-0.5%)
    assert rel_l2(prior.c_of_r, c_ref, SIGMA) <= 0.03
    # issue: interaction range within 0.3 sigma (measured 0.02)
    assert abs(prior.r_cut_um - t["r_cut_sigma"]) <= 0.3
    # issue: c(r) follows -beta u on [2, 4] sigma within 5% (measured 1.7%; table 2.1%)
    bu = beta_u_from_meta(SYSTEMS["yukawa"]["potential"])
    assert rel_l2(prior.c_of_r, lambda r: -bu(r), SIGMA, 2.0, 4.0) <= 0.05
    assert s_rms(prior, S_ref, SIGMA) <= 0.005  # measured 0.004
    # negative control: no finite-N tail correction must fail (measured tail 23-38%, rel 4-7%)
    raw = _periodic(frames, L, "yukawa", tail_correction=False)
    assert rel_l2(raw.c_of_r, lambda r: -bu(r), SIGMA, 2.0, 4.0) > 0.05


@pytest.fixture(scope="module")
def wca_fov_run():
    """WCA, N = 2000 periodic box; the field of view is the central half of the area (~1000 cells)."""
    s = SYSTEMS["wca"]
    frames, L, _ = run_mc(MCConfig(s["potential"], 2000, s["rho_per_um2"], 2000, 20), 250, seed=3)
    a = L / np.sqrt(2)
    x0 = (L - a) / 2
    return [f[(f[:, 0] > x0) & (f[:, 0] < x0 + a) & (f[:, 1] > x0) & (f[:, 1] < x0 + a)] for f in frames]


def test_wca_field_of_view_recovery_and_raw_debye_control(wca_fov_run):
    sub = wca_fov_run
    _, c_ref, _ = _table("wca")
    win = fit_window(sub)
    assert win.kind == "box"
    sp = _spacing("wca")
    est = PriorEstimator(win, 3 * sp, sp / 200).compute(sub)
    # issue: field of view with ~1000 cells, >= 250 frames: WCA <= 5% (measured 1.6%, 993 cells per frame)
    err = rel_l2(est.prior.c_of_r, c_ref, SIGMA)
    assert err <= 0.05, err
    # negative control 1: no edge correction (all pairs weighted as in a periodic box): measured 470%
    unc = PriorEstimator(win, 3 * sp, sp / 200, corrected=False).compute(sub)
    assert rel_l2(unc.prior.c_of_r, c_ref, SIGMA) > 0.05
    # negative control 2: the raw Debye sum over all pairs of the window (the issue: S(0.3/sigma)
    # = 3.4 instead of 0.18); binned on a fine all-pairs histogram, exact to 1e-3 (see
    # test_debye_binned_route_matches_brute_force_debye)
    diag = float(np.hypot(*win.lengths_um)) * 1.0001
    n_bins = 20000
    rc = (np.arange(n_bins) + 0.5) * diag / n_bins
    k = est.k_inv_um
    S_raw = np.zeros(len(k))
    for f in sub[::10]:
        hist = pair_histogram(f, win, diag, n_bins, corrected=False)
        S_raw += 1 + 2 * (j0(np.outer(k, rc)) @ hist) / len(f)
    S_raw /= len(sub[::10])
    assert np.interp(0.3, k, S_raw) > 1.0  # grossly biased at low k
    C_raw, _ = direct_correlation_k(S_raw, est.rho_per_um2)
    c_raw = direct_correlation_r(C_raw, k, est.r_um)
    assert rel_l2(lambda x: np.interp(x, est.r_um, c_raw), c_ref, SIGMA) > 0.05


def test_estimate_prior_automatic_on_tracks(wca_run):
    """The one obvious entry point, on a Tracks table of a periodic run."""
    import pandas as pd

    from cellbench.data.tracks import Tracks, TracksMeta

    frames, L, _ = wca_run
    frames = frames[:60]
    n = len(frames[0])
    df = pd.DataFrame({"track_id": np.tile(np.arange(n), len(frames)), "frame": np.repeat(np.arange(len(frames)), n),
                       "x_um": np.concatenate(frames)[:, 0], "y_um": np.concatenate(frames)[:, 1]})
    tr = Tracks.from_table(df, TracksMeta("mc", fov_um=(0, 0, L, L), extra={"boundary": "periodic", "box_um": L}))
    prior = estimate_prior([tr])
    hp = prior.hyperparameters
    assert hp["window"]["kind"] == "periodic"
    assert hp["r_max_um"] == pytest.approx(8 * _spacing("wca"))
    assert 35 < hp["k_max_inv_um"] < 45  # 40 / r_core with r_core ~ 0.95 sigma
    _, c_ref, _ = _table("wca")
    assert rel_l2(prior.c_of_r, c_ref, SIGMA) <= 0.05  # 60 frames: the 50-frame threshold
    assert abs(interaction_range(prior.r_um, prior.c_r) - prior.r_cut_um) < 1e-12
