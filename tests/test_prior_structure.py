"""Pair histograms, windows and structure factors: fast paths against brute force, and physics."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.errors import ConfigError
from cellbench.prior.correlation import integrated_autocorr_time
from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.structure import (
    pair_distances,
    pair_histogram,
    structure_factor_debye,
    structure_factor_debye_3d_kernel,
    structure_factor_lattice,
)
from cellbench.prior.window import Window, fit_window, overlap_area_box, overlap_area_disk


def _uniform(n, L, seed):
    return np.random.default_rng(seed).uniform(0, L, (n, 2))


@pytest.mark.parametrize("kind", ["periodic", "box", "disk"])
@pytest.mark.parametrize("r_max", [3.0, 7.5, 9.9])
def test_cell_list_histogram_equals_brute_force(kind, r_max):
    L = 20.0
    pos = _uniform(400, L, 1)
    win = {"periodic": Window.periodic((L, L)), "box": Window.box((0, 0, L, L)), "disk": Window.disk((10, 10), 10.0)}[kind]
    if kind == "disk":
        pos = pos[win.contains(pos)]
    n_bins = 37
    fast = pair_histogram(pos, win, r_max, n_bins)
    d, dx, dy = pair_distances(pos, win)
    sel = d < r_max
    w = np.ones(sel.sum()) if kind == "periodic" else 1.0 / win.overlap_area_um2(dx[sel], dy[sel])
    ref, _ = np.histogram(d[sel], bins=n_bins, range=(0, r_max), weights=w)
    # float summation order only
    npt.assert_allclose(fast, ref, rtol=1e-10, atol=1e-14)


def test_histogram_rejects_r_max_beyond_half_box():
    with pytest.raises(ConfigError, match="half the periodic box"):
        pair_histogram(_uniform(10, 10.0, 0), Window.periodic((10.0, 10.0)), 6.0, 10)


def test_overlap_areas_match_monte_carlo():
    rng = np.random.default_rng(0)
    p = rng.uniform(-1, 1, (400_000, 2))
    # disk of radius 1 translated by 0.7: fraction of the square [-1,1]^2 inside both, times 4
    inside = (np.hypot(*p.T) <= 1) & (np.hypot(p[:, 0] - 0.7, p[:, 1]) <= 1)
    # binomial standard error of the MC area ~ 4 * sqrt(0.3 * 0.7 / 4e5) = 3e-3; allow 4 sigma
    npt.assert_allclose(overlap_area_disk(0.7, 1.0), 4 * inside.mean(), atol=0.012)
    npt.assert_allclose(overlap_area_box(1.0, -2.0, 3.0, 5.0), 2.0 * 3.0)
    assert overlap_area_disk(2.5, 1.0) == 0.0


def test_fit_window_detects_disk_and_box():
    rng = np.random.default_rng(3)
    r = 50 * np.sqrt(rng.uniform(size=5000))
    th = rng.uniform(0, 2 * np.pi, 5000)
    disk = fit_window([np.c_[100 + r * np.cos(th), 200 + r * np.sin(th)]])
    assert disk.kind == "disk"
    npt.assert_allclose(disk.radius_um, 50, rtol=0.01)  # farthest of 5000 points: within ~0.1% of R
    box = fit_window([rng.uniform(0, 80, (5000, 2))])
    assert box.kind == "box"


def test_debye_binned_route_matches_brute_force_debye():
    """S(k) from the uncorrected all-pairs histogram equals the exact Debye J0 sum."""
    L = 30.0
    pos = _uniform(300, L, 5)
    k = np.array([0.3, 1.0, 2.5, 6.0])
    exact = structure_factor_debye(pos, k)
    diag = np.hypot(L, L) * 1.0001
    n_bins = 60_000
    hist = pair_histogram(pos, Window.box((0, 0, L, L)), diag, n_bins, corrected=False)
    rc = (np.arange(n_bins) + 0.5) * diag / n_bins
    from scipy.special import j0

    binned = 1 + 2 * (hist[None, :] * j0(k[:, None] * rc[None, :])).sum(1) / len(pos)
    # binning error: k dr / 2 * |J0'| per pair ~ 6 * 7e-4 / 2 ~ 2e-3 relative, averaging out over pairs
    npt.assert_allclose(binned, exact, atol=2e-3)


def test_3d_kernel_is_not_the_2d_debye_sum():
    pos = _uniform(200, 20.0, 2)
    k = np.array([0.5, 1.0])
    assert np.all(np.abs(structure_factor_debye_3d_kernel(pos, k) - structure_factor_debye(pos, k)) > 0.1)


def test_lattice_route_equals_explicit_sum():
    L = 12.0
    pos = _uniform(50, L, 7)
    edges = np.array([0.1, 2 * np.pi / L * 1.3])  # only the 4 vectors (+-1, 0), (0, +-1)
    s, n = structure_factor_lattice(pos, (L, L), edges)
    kvecs = 2 * np.pi / L * np.array([[1, 0], [0, 1]])
    ref = np.mean([abs(np.exp(1j * pos @ kv).sum()) ** 2 / len(pos) for kv in kvecs])
    assert n[0] == 2  # half plane: (1, 0) and (0, 1)
    npt.assert_allclose(s[0], ref, rtol=1e-12)


def test_uniform_points_have_no_structure():
    """Ideal gas: g = 1, S = 1 at large k, C ~ 0 (freud's S -> 1 check)."""
    L = 60.0
    frames = [_uniform(1500, L, s) for s in range(40)]
    est = PriorEstimator(Window.periodic((L, L)), 8.0, 0.05, k_max_inv_um=20.0).compute(frames)
    k = est.k_inv_um
    sel = k > 2.0
    # noise of S for 40 x 1500 Poisson points ~ 1/sqrt(N M * modes): 0.02 is 5x the measured rms
    assert np.sqrt(np.mean((est.S_k[sel] - 1) ** 2)) < 0.02
    assert abs(est.S_k[0] - 1) < 0.1  # S(0) of a Poisson gas, from 40 frames
    assert np.max(np.abs(est.c_r[est.r_um > 1.0])) < 0.1


def test_symmetries_translation_rotation_permutation():
    rng = np.random.default_rng(11)
    L = 40.0
    frames = [rng.uniform(5, 35, (300, 2)) for _ in range(4)]

    def prior_of(fr):
        return PriorEstimator(Window.box((0, 0, L, L)), 6.0, 0.02, k_max_inv_um=30.0).compute(fr)

    base = prior_of(frames)
    th = 0.7
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    center = np.array([20.0, 20.0])
    # rotating about the center of the window would move points out of a square window; use a disk
    disk = Window.disk((20.0, 20.0), 20.0)
    d0 = PriorEstimator(disk, 6.0, 0.02, k_max_inv_um=30.0).compute(frames)
    d1 = PriorEstimator(disk, 6.0, 0.02, k_max_inv_um=30.0).compute([(f - center) @ rot.T + center for f in frames])
    npt.assert_allclose(d1.S_k, d0.S_k, rtol=1e-9, atol=1e-9)
    npt.assert_allclose(d1.c_r, d0.c_r, rtol=1e-9, atol=1e-9)
    shifted = PriorEstimator(Window.box((3, -2, L + 3, L - 2)), 6.0, 0.02, k_max_inv_um=30.0).compute(
        [f + [3.0, -2.0] for f in frames])
    npt.assert_allclose(shifted.c_r, base.c_r, rtol=1e-9, atol=1e-9)
    perm = prior_of([f[rng.permutation(len(f))] for f in frames])
    npt.assert_allclose(perm.S_k, base.S_k, rtol=1e-12, atol=1e-12)
    # periodic: translating by any vector (with wrapping) changes nothing
    per0 = PriorEstimator(Window.periodic((L, L)), 6.0, 0.02, k_max_inv_um=30.0).compute(frames)
    per1 = PriorEstimator(Window.periodic((L, L)), 6.0, 0.02, k_max_inv_um=30.0).compute(
        [np.mod(f + [17.3, -8.1], L) for f in frames])
    npt.assert_allclose(per1.c_r, per0.c_r, rtol=1e-9, atol=1e-9)


def test_integrated_autocorr_time_of_ar1():
    """AR(1) x_t = phi x_{t-1} + noise has tau = (1 + phi) / (1 - phi): 9 for phi = 0.8, 1 for iid."""
    rng = np.random.default_rng(5)
    e = rng.normal(size=50000)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = 0.8 * x[t - 1] + e[t]
    # the estimator's own statistical error at n = 5e4 is ~6% (Sokal: sqrt(2 (2M + 1) / n))
    assert integrated_autocorr_time(x) == pytest.approx(9.0, rel=0.15)
    assert integrated_autocorr_time(e) == pytest.approx(1.0, abs=0.1)


def test_independent_frames_are_counted():
    """Copies of a frame add no information: the diagnostics say how many frames were independent."""
    L = 40.0
    distinct = [_uniform(600, L, s) for s in range(48)]
    repeated = [f for f in distinct[:6] for _ in range(8)]  # 48 frames, 6 configurations
    win = Window.box((0, 0, L, L))
    d_ind = PriorEstimator(win, 6.0, 0.05).compute(distinct).prior.diagnostics
    d_rep = PriorEstimator(win, 6.0, 0.05).compute(repeated).prior.diagnostics
    assert d_ind["n_independent_frames"] > 24  # 48 expected
    assert d_rep["n_independent_frames"] < 12  # 6 expected
    assert d_rep["S0_standard_error"] > d_ind["S0_standard_error"]


def test_results_before_compute_raise():
    est = PriorEstimator(Window.periodic((10.0, 10.0)), 4.0, 0.1)
    with pytest.raises(AttributeError, match="compute"):
        est.S_k
    assert "PriorEstimator(" in repr(est)


def test_too_few_cells_is_a_config_error():
    import pandas as pd

    from cellbench.prior import estimate_prior
    from cellbench.data.tracks import Tracks, TracksMeta

    df = pd.DataFrame({"track_id": [0], "frame": [0], "x_um": [1.0], "y_um": [2.0]})
    with pytest.raises(ConfigError, match="too few cells"):
        estimate_prior(Tracks.from_table(df, TracksMeta("one")))
