"""``cellbench.evaluation.distribution``: distribution statistics of rollouts, against known answers."""

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.data.tracks import Tracks, TracksMeta
from cellbench.evaluation.distribution import (
    DISTANCE_KINDS,
    KEYS,
    DistributionStats,
    distance,
    distances,
    statistics,
)
from cellbench.evaluation.distribution_curves import (
    cell_counts,
    default_msd_lags,
    divides,
    msd_curve,
    pair_correlation_corrected,
    polar_order,
    velocity_autocorrelation,
    window_for,
)
from cellbench.evaluation.distribution_plot import plot_all, plot_statistic
from cellbench.prior.window import Window

PERIODIC = {"boundary": "periodic", "box_um": 100.0}


def tracks_of(pos_um: np.ndarray, parent_id: np.ndarray | None = None, **meta) -> Tracks:
    """Tracks from (n_frames, n_cells, 2) positions: cell k is track k in every frame."""
    n_frames, n_cells, _ = pos_um.shape
    df = pd.DataFrame({"track_id": np.tile(np.arange(n_cells), n_frames), "frame": np.repeat(np.arange(n_frames), n_cells),
                       "x_um": pos_um[..., 0].ravel(), "y_um": pos_um[..., 1].ravel()})
    if parent_id is not None:
        df["parent_id"] = np.tile(parent_id, n_frames)
    return Tracks.from_table(df, TracksMeta(dataset=meta.pop("dataset", "synthetic"), frame_interval_s=60.0, **meta))


def walks(n_cells: int, n_frames: int, seed: int, step_um: float = 1.0, box_um: float = 100.0, **meta) -> Tracks:
    """Independent Brownian walks (Gaussian steps of ``step_um`` per axis per frame) from uniform starts."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, box_um, (1, n_cells, 2))
    return tracks_of(start + np.cumsum(rng.normal(0, step_um, (n_frames, n_cells, 2)), axis=0), **meta)


def uniform_frames(n_cells: int, n_frames: int, seed: int, box_um: float = 100.0, **meta) -> Tracks:
    """Independent uniform random points in [0, box_um)^2 in every frame."""
    return tracks_of(np.random.default_rng(seed).uniform(0, box_um, (n_frames, n_cells, 2)), **meta)


def test_msd_of_a_uniformly_moving_lattice_is_v_lag_squared():
    grid = np.stack(np.meshgrid(np.arange(5.0), np.arange(5.0)), -1).reshape(-1, 2) * 10.0
    v_um_per_frame = np.array([0.3, -0.4])  # |v| = 0.5 um per frame
    pos = grid[None] + np.arange(20)[:, None, None] * v_um_per_frame
    lags = np.array([1, 2, 5])
    npt.assert_allclose(msd_curve(tracks_of(pos), lags), (0.5 * lags) ** 2, rtol=1e-12)  # exact up to rounding


def test_msd_of_brownian_walks_is_4_d_lag():
    tr = walks(n_cells=200, n_frames=100, seed=1, step_um=1.0)
    lags = default_msd_lags(100)
    assert lags.tolist() == list(range(1, 26))  # all lags up to a quarter of the block
    d_um2_per_frame = 0.5  # step variance 1 um^2 per axis per frame = 2 D
    # 200 walks x >= 75 overlapping pairs: the MSD at lag 25 has a relative standard error ~3 %
    npt.assert_allclose(msd_curve(tr, lags), 4 * d_um2_per_frame * lags, rtol=0.08)


def test_long_blocks_get_geometric_msd_lags():
    lags = default_msd_lags(1000)
    assert lags[0] == 1 and lags[-1] == 250 and len(lags) <= 32 and np.all(np.diff(lags) > 0)


def test_g_r_of_uniform_points_is_one_with_the_edge_correction_and_falls_without():
    tr = uniform_frames(n_cells=300, n_frames=40, seed=2)
    win = Window.box((0.0, 0.0, 100.0, 100.0))
    r, g = pair_correlation_corrected(tr, 50.0, 2.5, win)
    _, g_raw = pair_correlation_corrected(tr, 50.0, 2.5, win, corrected=False)
    npt.assert_allclose(r[:2], [1.25, 3.75])
    # 40 frames x 45k pairs: >= 3000 pairs a bin, so <= 2 % noise per bin (measured max 1.6 %)
    npt.assert_allclose(g, 1.0, atol=0.06)
    assert abs(g[r > 25].mean() - 1.0) < 0.03
    # without it the window's edges lose pairs: g ~ gamma(r)/A, about 0.5 at r = L/2
    assert g_raw[r > 40].mean() < 0.7 and g_raw[r > 40].mean() < g[r > 40].mean() - 0.3


def test_g_r_in_a_fitted_disk_window_is_one():
    rng = np.random.default_rng(3)
    rad = 50.0 * np.sqrt(rng.uniform(size=(30, 300)))
    ang = rng.uniform(0, 2 * np.pi, (30, 300))
    tr = tracks_of(np.stack([rad * np.cos(ang), rad * np.sin(ang)], -1))
    win = window_for(tr)
    assert win.kind == "disk"
    r, g = pair_correlation_corrected(tr, 40.0, 4.0, win)
    _, g_raw = pair_correlation_corrected(tr, 40.0, 4.0, win, corrected=False)
    assert abs(g[r > 20].mean() - 1.0) < 0.04  # lens-area correction (measured 1.009)
    assert g_raw[r > 20].mean() < 0.75  # without it: ~0.63


def test_g_r_in_a_periodic_box_uses_minimum_images_and_is_one():
    tr = uniform_frames(n_cells=300, n_frames=30, seed=4, extra=PERIODIC, fov_um=(0.0, 0.0, 100.0, 100.0))
    win = window_for(tr)
    assert win.kind == "periodic"
    r, g = pair_correlation_corrected(tr, 49.9, 2.5, win)
    npt.assert_allclose(g, 1.0, atol=0.08)  # measured max deviation 0.03 (the first bins hold fewest pairs)
    assert abs(g[r > 25].mean() - 1.0) < 0.02  # every pair sees the whole box


def test_vacf_of_a_random_walk_is_zero_and_of_constant_velocity_one():
    vacf = velocity_autocorrelation(walks(n_cells=100, n_frames=50, seed=5))
    assert vacf.shape == (10,)
    npt.assert_allclose(vacf, 0.0, atol=0.05)  # ~4900 pairs a lag: standard error ~0.015
    pos = np.array([[1.0, 2.0], [50.0, 60.0]])[None] + np.arange(30)[:, None, None] * np.array([0.5, 0.2])
    npt.assert_allclose(velocity_autocorrelation(tracks_of(pos)), 1.0, rtol=1e-12)


def test_vacf_crosses_the_periodic_boundary_with_the_minimum_image():
    x = np.mod(95.0 + 2.0 * np.arange(12), 100.0)  # wraps from 99 to 1 at frame 3
    pos = np.stack([x, np.full_like(x, 50.0)], -1)[:, None, :]
    tr = tracks_of(pos, extra=PERIODIC, fov_um=(0.0, 0.0, 100.0, 100.0))
    npt.assert_allclose(velocity_autocorrelation(tr, [1, 2, 5]), 1.0, rtol=1e-12)


def test_polar_order_is_one_for_aligned_motion_and_about_one_over_sqrt_n_for_random_headings():
    rng = np.random.default_rng(6)
    start = rng.uniform(0, 100, (1, 50, 2))
    aligned = start + np.arange(10)[:, None, None] * np.array([0.7, 0.7]) * rng.uniform(0.5, 2.0, (1, 50, 1))
    assert polar_order(tracks_of(aligned)) == pytest.approx(1.0, abs=1e-12)
    n = 100
    heading = rng.uniform(0, 2 * np.pi, (60, n))
    steps = np.stack([np.cos(heading), np.sin(heading)], -1)
    phi = polar_order(tracks_of(np.cumsum(steps, axis=0)))
    # E|mean of n unit vectors| = sqrt(pi) / (2 sqrt(n)) ~ 0.089 for n = 100; 59 frames average it
    assert phi == pytest.approx(np.sqrt(np.pi) / (2 * np.sqrt(n)), rel=0.15)


def test_cell_counts_and_divides_read_the_parent_ids():
    pos = np.zeros((4, 3, 2)) + np.arange(3)[None, :, None]
    assert not divides(tracks_of(pos))
    assert not divides(tracks_of(pos, parent_id=np.array([-1, -1, -1])))
    tr = tracks_of(pos, parent_id=np.array([-1, -1, 0]))
    assert divides(tr)
    frames, counts = cell_counts(tr)
    assert frames.tolist() == [0, 1, 2, 3] and counts.tolist() == [3, 3, 3, 3]
    assert cell_counts(tr, [2, 3, 4, 5])[1].tolist() == [3, 3, 0, 0]


def _full_stats() -> DistributionStats:
    tr = walks(n_cells=40, n_frames=40, seed=7)
    return statistics(tr, 0, 40, active=True, dividing=True)


def test_every_statistic_is_measured_and_its_distance_to_itself_is_zero():
    s = _full_stats()
    assert s.keys == KEYS and set(DISTANCE_KINDS) == set(KEYS)
    d = distances(s, s)
    assert d == {k: 0.0 for k in KEYS}  # one check that covers every statistic added later
    for key in KEYS:
        assert distance(s.curve(key)[1], s.curve(key)[1], DISTANCE_KINDS[key]) == 0.0


def test_distance_is_scale_invariant_symmetric_where_it_should_be_and_nan_safe():
    rng = np.random.default_rng(8)
    a, b = rng.uniform(1, 2, 20), rng.uniform(1, 2, 20)
    assert distance(3.7 * a, 3.7 * b) == pytest.approx(distance(a, b), rel=1e-12)  # units cancel
    assert distance(a, b) == pytest.approx(np.linalg.norm(a - b) / np.linalg.norm(b), rel=1e-12)
    assert distance(a, b, "rms") == pytest.approx(distance(b, a, "rms"), rel=1e-12)
    assert distance(-b, b) == pytest.approx(2.0) and distance(b, -b) == pytest.approx(2.0)  # equal norms: symmetric
    assert distance(0.8, 0.5, "rms") == pytest.approx(0.3)  # a scalar: |a - b|
    a_nan = a.copy()
    a_nan[3] = np.nan
    keep = np.arange(20) != 3
    assert distance(a_nan, b) == pytest.approx(distance(a[keep], b[keep]), rel=1e-12)
    assert np.isnan(distance([np.nan], [1.0])) and np.isnan(distance([1.0], [0.0]))
    assert distance([0.0, 0.0], [0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match=r"found shapes \(3,\) and \(2,\)"):
        distance(np.ones(3), np.ones(2))


def test_floor_two_independent_walk_datasets_are_close_but_not_identical():
    truth = statistics(walks(n_cells=100, n_frames=60, seed=10), 0, 60, active=True)
    other = statistics(walks(n_cells=100, n_frames=60, seed=11), 0, 60, like=truth)
    d = distances(other, truth)
    assert set(d) == {"msd", "g_r", "vacf", "polar_order"}  # no division in random walks
    assert all(0 < v for v in d.values()), d
    # sampling noise only: MSD and g(r) within ~10 %, VACF and polar order within a few hundredths
    assert d["msd"] < 0.15 and d["g_r"] < 0.2 and d["vacf"] < 0.05 and d["polar_order"] < 0.05, d
    # a model that moves twice as fast is far outside that floor
    fast = statistics(walks(n_cells=100, n_frames=60, seed=12, step_um=2.0), 0, 60, like=truth)
    assert distances(fast, truth)["msd"] > 2.5


def test_like_shares_the_grids_and_other_grids_are_refused():
    truth = statistics(walks(n_cells=30, n_frames=40, seed=13), 0, 40, dividing=True)
    model = statistics(walks(n_cells=30, n_frames=40, seed=14), 0, 40, like=truth)
    npt.assert_array_equal(model.r_um, truth.r_um)
    assert model.window == truth.window and model.cell_count is not None and model.polar_order is None
    assert np.isnan(distances(model, truth, model_divides=False)["cell_count"])
    with pytest.raises(ValueError, match="takes its grids from `like`"):
        statistics(walks(n_cells=30, n_frames=40, seed=14), 0, 40, like=truth, r_max_um=5.0)
    other = statistics(walks(n_cells=30, n_frames=40, seed=14), 0, 40, lags_frames=[1, 2], dividing=True)
    with pytest.raises(ValueError, match="msd: the model's grid"):
        distances(other, truth)


def test_statistics_use_only_the_frame_block():
    tr = walks(n_cells=20, n_frames=50, seed=15)
    s = statistics(tr, 10, 30, dividing=True)
    assert s.count_frames.tolist() == list(range(10, 30)) and set(s.cell_count) == {20}
    assert s.lags_frames.tolist() == [1, 2, 3, 4, 5]  # block of 20 frames: lags up to 5
    with pytest.raises(ValueError, match="no cell in frames"):
        statistics(tr, 60, 70)


def test_plots_write_one_png_per_statistic(tmp_path):
    truth = _full_stats()
    other = statistics(walks(n_cells=40, n_frames=40, seed=16), 0, 40, like=truth)
    paths = plot_all(tmp_path, truth, {"model-a": other}, [other, truth], title="walks")
    assert [p.name for p in paths] == [f"{k}.png" for k in KEYS]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    one = plot_statistic(tmp_path / "g.png", "g_r", truth.r_um, truth.g_r, {}, other.g_r)
    assert one.exists() and sorted(q.name for q in tmp_path.iterdir() if q.name.startswith(".")) == []
