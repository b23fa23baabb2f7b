"""Numba kernels: counter-based RNG and its normals, cos/sin, Verlet lists and forces against brute force,
wrapping, threads."""

import numba
import numpy as np
import numpy.testing as npt
import pytest
from scipy import stats

from cellbench.sim import kernels as K
from cellbench.sim.config import SimConfig
from cellbench.sim.engine import initial_state, kernel_params, simulate
from cellbench.sim.potentials import PairPotential


def test_rng_is_a_pure_function_with_unit_normals():
    pids = np.arange(50_000, dtype=np.int64)
    z = K.normals(7, 3, pids, K.STREAM_X)
    npt.assert_array_equal(z, K.normals(7, 3, pids, K.STREAM_X))
    # 5e4 N(0,1) samples: std error of the mean 0.0045, of the variance 0.0063; 5 sigma bounds
    assert abs(z.mean()) < 0.023
    assert abs(z.var() - 1) < 0.032
    # another step, stream or seed gives independent numbers (correlation std error 0.0045)
    others = (K.normals(7, 4, pids, K.STREAM_X), K.normals(7, 3, pids, K.STREAM_Y), K.normals(8, 3, pids, K.STREAM_X))
    for other in others:
        assert abs(np.corrcoef(z, other)[0, 1]) < 0.023


def test_ziggurat_samples_the_normal_distribution_tails_included():
    # the layers have equal areas and the top one closes at x = 0
    X, F, v = K.rng._ZIG_X, K.rng._ZIG_F, K.rng._ZIG_V
    npt.assert_allclose(X[1:-1] * (F[2:] - F[1:-1]), v, rtol=1e-9)
    z = K.normals(1, 0, np.arange(1_000_000, dtype=np.int64), K.STREAM_TH)
    # Kolmogorov-Smirnov distance of 1e6 samples: 1.95/sqrt(n) = 0.00195 is the 0.1 % critical value
    assert stats.kstest(z, "norm").statistic < 0.00195
    # the tail sampler (|z| > r = 3.654) and the wedges: fractions beyond 2, 3 and r, each within
    # 5 binomial sigma (p = 0.0455, 0.0027, 2.58e-4: sigma = 2.1e-4, 5.2e-5, 1.6e-5)
    for cut in (2.0, 3.0, K.rng._ZIG_R):
        p = 2 * stats.norm.sf(cut)
        assert abs(np.mean(np.abs(z) > cut) - p) < 5 * np.sqrt(p * (1 - p) / z.size), cut
    # kurtosis: E z^4 = 3, std error sqrt(96 / n) = 0.0098
    assert abs(np.mean(z**4) - 3.0) < 0.05
    assert abs(z.mean()) < 0.005 and abs(z.var() - 1) < 0.007


def test_polynomial_cos_sin_matches_libm():
    t = np.concatenate([np.random.default_rng(0).uniform(-1e5, 1e5, 200_000), np.linspace(-10, 10, 20_001),
                        np.pi / 4 * np.arange(-8, 9), [0.0, 1e-300, 4.9e5, 1e6, -3e7]])
    c, s = K.cos_sin_array(t)
    # values in [-1, 1]: one or two units in the last place of the reduced argument
    npt.assert_allclose(c, np.cos(t), rtol=0, atol=3e-16)
    npt.assert_allclose(s, np.sin(t), rtol=0, atol=3e-16)


def _brute_pairs(x, y, n, L, reach):
    d = np.stack([x[:n, None] - x[None, :n], y[:n, None] - y[None, :n]])
    if L:
        d -= L * np.round(d / L)
    close = np.hypot(d[0], d[1]) < reach
    np.fill_diagonal(close, False)
    return close


@pytest.mark.parametrize("boundary", ["periodic", "microwell"])
@pytest.mark.parametrize("box_um", [260.0, 90.0])  # 90 um: a 3 x 3 periodic grid, every cell at an edge
def test_verlet_lists_hold_exactly_the_close_pairs(boundary, box_um):
    pot = PairPotential("yukawa", sigma_um=10.0, A_kT_um=300.0, kappa_per_um=0.2, r_cut_um=25.0)
    if boundary == "periodic":
        cfg = SimConfig(n_cells=60 if box_um < 100 else 300, box_um=box_um, potential=pot, init="random")
    else:
        cfg = SimConfig(n_cells=60 if box_um < 100 else 300, boundary="microwell", box_um=None,
                        well_radius_um=box_um / 2, wall_k_kT_per_um2=1.0, potential=pot, init="random")
    st = initial_state(cfg, 4)
    prm = kernel_params(cfg)
    nb_start = np.empty(st.n + 1, np.int64)
    nb = K.build_verlet(st.x, st.y, st.n, prm, nb_start, False)
    close = _brute_pairs(st.x, st.y, st.n, prm[K.P_L] if boundary == "periodic" else 0.0,
                         prm[K.P_RMAX] + prm[K.P_SKIN])
    assert close.sum() > st.n  # several neighbours each
    for i in range(st.n):
        mine = nb[nb_start[i]:nb_start[i + 1]]
        assert len(np.unique(mine)) == len(mine)  # no cell visited twice
        npt.assert_array_equal(np.sort(mine), np.flatnonzero(close[i]))


def _random_system(boundary: str, pot: PairPotential, n: int = 300, seed: int = 1, spread: float = 0.2):
    if boundary == "periodic":
        cfg = SimConfig(n_cells=n, box_um=260.0, potential=pot, radius_spread=spread, init="random")
    else:
        cfg = SimConfig(n_cells=n, boundary="microwell", box_um=None, well_radius_um=150.0, wall_k_kT_per_um2=1.0,
                        potential=pot, radius_spread=spread, init="random")
    st = initial_state(cfg, seed)
    # close contacts (sequential addition places none): 30 cells 8 um from another one
    st.x[10:40] = st.x[40:70] + 8.0
    st.y[10:40] = st.y[40:70]
    if boundary == "periodic":
        st.x[:n] %= 260.0
    # put some cells right at the box edges and corners, where the minimum image matters
    if boundary == "periodic":
        st.x[:8] = [0.0, 1e-9, 259.9, 259.999, 0.5, 259.5, 130.0, 0.1]
        st.y[:8] = [0.2, 259.9, 0.0, 259.999, 130.0, 0.3, 259.8, 0.1]
    return cfg, st


POTS = [
    PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=2.0),
    PairPotential("lennard_jones", sigma_um=10.0, epsilon_kT=1.0, r_cut_um=25.0),
    PairPotential("yukawa", sigma_um=10.0, A_kT_um=300.0, kappa_per_um=0.2, r_cut_um=30.0),
    PairPotential("morse", sigma_um=10.0, epsilon_kT=4.0, alpha_per_um=0.5, r_cut_um=15.0),
]


@pytest.mark.parametrize("boundary", ["periodic", "microwell"])
@pytest.mark.parametrize("pot", POTS, ids=[p.name for p in POTS])
def test_cell_list_forces_equal_brute_force(boundary, pot):
    cfg, st = _random_system(boundary, pot)
    prm = kernel_params(cfg)
    assert prm[K.P_NC] >= 3  # the cell list is really used
    fast = K.forces(st.x, st.y, st.th, st.a, st.n, prm)[:2]
    ref = K.forces_brute(st.x, st.y, st.a, st.n, prm)
    # same pair terms summed in another order: differences are rounding, ~1e-16 of the largest term
    npt.assert_allclose(fast, ref, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(ref).max()))
    assert np.abs(ref).max() > 0


@pytest.mark.parametrize("pot", POTS, ids=[p.name for p in POTS])
def test_pair_forces_sum_to_zero_in_periodic_box(pot):
    cfg, st = _random_system("periodic", pot)
    f = K.forces(st.x, st.y, st.th, st.a, st.n, kernel_params(cfg))[:2]
    # Newton's third law: each pair enters twice with opposite signs; rounding only
    npt.assert_allclose(f.sum(axis=1), 0.0, atol=1e-10 * np.abs(f).sum())


def test_pair_table_matches_forces_and_potential():
    pot = PairPotential("lennard_jones", sigma_um=10.0, epsilon_kT=1.0, r_cut_um=25.0)
    cfg, st = _random_system("periodic", pot, spread=0.0)
    prm = kernel_params(cfg)
    obs = np.ones(st.n, bool)
    i, j, r, fx, fy, fm = K.pairs_within(st.x, st.y, st.a, st.n, prm, obs)
    f = np.zeros((2, st.n))
    np.add.at(f[0], i, fx); np.add.at(f[1], i, fy)  # noqa: E702
    np.add.at(f[0], j, -fx); np.add.at(f[1], j, -fy)  # noqa: E702
    ref = K.forces(st.x, st.y, st.th, st.a, st.n, prm)[:2]
    npt.assert_allclose(f, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    npt.assert_allclose(fm, pot(r)[1], rtol=1e-12, atol=1e-12)
    assert np.all(r < pot.r_cut_um) and np.all(i < j)


def test_periodic_wrapping_at_the_edges():
    cfg = SimConfig(n_cells=4, box_um=100.0, v0_um_per_s=1.0, D_t_um2_per_s=1e-6, dt_s=0.1)
    prm = kernel_params(cfg)
    st = initial_state(cfg, 0)
    st.x[:4] = [99.95, 0.05, 50.0, 50.0]
    st.y[:4] = [50.0, 50.0, 99.95, 0.05]
    st.th[:4] = [0.0, np.pi, np.pi / 2, -np.pi / 2]  # each heads out through the nearest edge
    x0 = st.x[:4] + 100 * st.imx[:4]
    y0 = st.y[:4] + 100 * st.imy[:4]
    n, _, ok = K.advance(*st.arrays(), st.n, st.next_id, 0, 10, 0, False, prm)  # 1 um, noise off
    assert ok
    assert np.all((st.x[:4] >= 0) & (st.x[:4] < 100) & (st.y[:4] >= 0) & (st.y[:4] < 100))
    npt.assert_array_equal(st.imx[:4], [1, -1, 0, 0])
    npt.assert_array_equal(st.imy[:4], [0, 0, 1, -1])
    ux, uy = st.x[:4] + 100 * st.imx[:4], st.y[:4] + 100 * st.imy[:4]
    npt.assert_allclose(np.hypot(ux - x0, uy - y0), 1.0, rtol=1e-9)


def _small_active(threads: int, parallel_min: int, monkeypatch):
    monkeypatch.setattr(K, "PARALLEL_MIN_CELLS", parallel_min)
    numba.set_num_threads(threads)
    try:
        return simulate("default", 3, {"n_frames": 6, "record_every": 20, "n_equil_steps": 50,
                                        "division_rate_per_s": 0.05, "max_cells": 300})
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_identical_results_for_one_and_two_threads(monkeypatch):
    # parallel loops (threshold 0) on 1 and 2 threads, and the serial loop used for small systems
    runs = [_small_active(1, 0, monkeypatch), _small_active(2, 0, monkeypatch), _small_active(2, 10**9, monkeypatch)]
    a = runs[0]
    assert a.tracks.df["parent_id"].max() >= 0  # divisions happened
    for b in runs[1:]:
        assert a.tracks.n_rows == b.tracks.n_rows
        for col in a.tracks.df.columns:
            npt.assert_array_equal(a.tracks.df[col].to_numpy(), b.tracks.df[col].to_numpy())
        for col in a.truth.columns:
            npt.assert_array_equal(a.truth[col].to_numpy(), b.truth[col].to_numpy())
        npt.assert_array_equal(a.pairs.to_numpy(), b.pairs.to_numpy())


def test_verlet_list_dynamics_follow_the_cell_list_forces():
    # 300 noise-free steps with lists reused across steps (skin 0.3 range) against a plain Euler
    # loop that recomputes cell-list forces every step: the lists must never miss a pair
    pot = PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=2.0)
    cfg, st = _random_system("periodic", pot)
    cfg = SimConfig(n_cells=cfg.n_cells, box_um=260.0, potential=pot, radius_spread=0.2, v0_um_per_s=2.0,
                    D_t_um2_per_s=1.0, dt_s=0.05, init="random")
    prm = kernel_params(cfg)
    ref = st.copy()
    n, _, ok = K.advance(*st.arrays(), st.n, st.next_id, 0, 300, 0, False, prm)
    assert ok
    L = cfg.box_um
    x, y = ref.x[: ref.n].copy(), ref.y[: ref.n].copy()
    ux, uy = x.copy(), y.copy()
    e = np.stack([np.cos(ref.th[: ref.n]), np.sin(ref.th[: ref.n])])
    for _ in range(300):
        f = K.forces(x, y, ref.th, ref.a, ref.n, prm)
        dx = (cfg.v0_um_per_s * e[0] + cfg.mobility * f[0]) * cfg.dt_s
        dy = (cfg.v0_um_per_s * e[1] + cfg.mobility * f[1]) * cfg.dt_s
        ux += dx
        uy += dy
        x, y = np.mod(x + dx, L), np.mod(y + dy, L)
    moved = np.hypot(ux - ref.x[: ref.n], uy - ref.y[: ref.n])
    assert moved.max() > 20.0  # cells travelled several skins (3.6 um): the lists were rebuilt
    # same forces summed in another order: rounding (1e-16) amplified over 300 contact steps
    npt.assert_allclose(st.x[: st.n] + L * st.imx[: st.n], ux, rtol=0, atol=1e-8)
    npt.assert_allclose(st.y[: st.n] + L * st.imy[: st.n], uy, rtol=0, atol=1e-8)
