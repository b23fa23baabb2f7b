"""Prior estimator benchmarks: ratios measured in one run on one machine (one core).

Run:  pytest benchmarks/bench_prior.py --benchmark-only      (pytest-benchmark, ratios in extra_info)
 or:  python benchmarks/bench_prior.py                         (prints the same ratios as a table)

Workloads: WCA fluid at packing 0.35 from the reference Monte Carlo (N = 1000, 200 frames), and
uniform points at the same density for the scaling in N.

* ``whole``: estimate_prior-equivalent PriorEstimator (pair histogram -> S -> C -> c) on 200 frames.
* ``lattice``: numpy direct-lattice S(k) (one complex matrix product per frame) over |k| <= 15/sigma,
  the range where both routes are compared against the reference table (equal accuracy check).
* ``debye``: all-pairs J0 Debye sum, per k value per frame (what freud's Debye class does).
* ``scaling``: pair histogram per frame at N = 1e3, 1e4, 1e5 with fixed r_c (cell list: linear).
"""

from __future__ import annotations

import time
from pathlib import Path

import numba
import numpy as np

from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.validation.reference_mc import MCConfig, run_mc
from cellbench.prior.validation.reference_tables import SYSTEMS, load_table
from cellbench.prior.structure import pair_histogram, structure_factor_debye, structure_factor_lattice
from cellbench.prior.window import Window

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "prior_reference" / "wca.json"
RHO = SYSTEMS["wca"]["rho_per_um2"]
SP = RHO**-0.5


def _frames():
    return run_mc(MCConfig(SYSTEMS["wca"]["potential"], 1000, RHO, 2000, 20), 200, seed=7)


def _whole(frames, L):
    est = PriorEstimator(Window.periodic((L, L)), 8 * SP, SP / 200).compute(frames)
    return est.prior


def _lattice(frames, L, edges):
    return np.nanmean([structure_factor_lattice(f, (L, L), edges)[0] for f in frames], axis=0)


def _timed(fn, *a, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*a)
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure() -> dict:
    numba.set_num_threads(1)
    frames, L, _ = _frames()
    tab = load_table(REF)
    _whole(frames[:2], L)  # compile
    t_whole, prior = _timed(_whole, frames, L)
    edges = np.arange(2 * np.pi / L * 0.5, 15.0, 2 * np.pi / L)
    t_lat, S_lat = _timed(_lattice, frames, L, edges, repeat=1)
    kc = 0.5 * (edges[1:] + edges[:-1])
    sel = (kc > 1) & (kc < 15)
    ref = np.interp(kc, tab["k_sigma"], tab["S_k"])
    rms_lat = float(np.sqrt(np.nanmean((S_lat - ref)[sel] ** 2)))
    rms_hist = float(np.sqrt(np.mean((np.interp(kc, prior.k_inv_um, prior.S_k) - ref)[sel] ** 2)))
    pos1024 = frames[0][:1024] if len(frames[0]) >= 1024 else np.random.default_rng(0).uniform(0, L, (1024, 2))
    t_debye, _ = _timed(structure_factor_debye, pos1024, np.array([1.0]))
    rng = np.random.default_rng(0)
    scaling = {}
    for n in (1_000, 10_000, 100_000):
        Ln = float(np.sqrt(n / RHO))
        pts = rng.uniform(0, Ln, (n, 2))
        pair_histogram(pts, Window.periodic((Ln, Ln)), 8 * SP, 1600)
        t_n, _ = _timed(pair_histogram, pts, Window.periodic((Ln, Ln)), 8 * SP, 1600, repeat=5)
        scaling[n] = t_n
    return {
        "whole_estimate_200_frames_s": t_whole,
        "lattice_S_200_frames_s": t_lat,
        "speedup_vs_lattice": t_lat / t_whole,
        "S_rms_hist_vs_table": rms_hist,
        "S_rms_lattice_vs_table": rms_lat,
        "debye_per_k_per_frame_N1024_s": t_debye,
        "debye_equivalent_200_frames_x_n_k_s": t_debye * 200 * len(prior.k_inv_um),
        "pair_hist_per_frame_s": scaling,
        "scaling_1e4_over_1e3": scaling[10_000] / scaling[1_000],
        "scaling_1e5_over_1e4": scaling[100_000] / scaling[10_000],
    }


def test_prior_whole_estimate(benchmark):
    numba.set_num_threads(1)
    frames, L, _ = _frames()
    _whole(frames[:2], L)
    t_lat, _ = _timed(_lattice, frames[:20], L, np.arange(0.05, 15.0, 2 * np.pi / L), repeat=1)
    benchmark.pedantic(_whole, args=(frames, L), rounds=3, iterations=1)
    benchmark.extra_info["speedup_vs_lattice"] = 10 * t_lat / benchmark.stats.stats.median


def test_pair_histogram_linear_in_n(benchmark):
    rng = np.random.default_rng(0)
    times = {}
    for n in (1_000, 10_000, 100_000):
        Ln = float(np.sqrt(n / RHO))
        pts = rng.uniform(0, Ln, (n, 2))
        pair_histogram(pts, Window.periodic((Ln, Ln)), 8 * SP, 1600)
        times[n] = _timed(pair_histogram, pts, Window.periodic((Ln, Ln)), 8 * SP, 1600)[0]
    Ln = float(np.sqrt(1e5 / RHO))
    pts = rng.uniform(0, Ln, (100_000, 2))
    benchmark(pair_histogram, pts, Window.periodic((Ln, Ln)), 8 * SP, 1600)
    benchmark.extra_info["t1e4_over_t1e3"] = times[10_000] / times[1_000]
    benchmark.extra_info["t1e5_over_t1e4"] = times[100_000] / times[10_000]


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:40s} {value}")
