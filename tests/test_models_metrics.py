"""Uncertainty and kernel-recovery metrics on cases with known answers."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.evaluation.interactions import kernel_recovery, recovered_range_um
from cellbench.evaluation.uncertainty import COVERAGE_LEVELS, ellipse_coverage, gaussian_nll_um, uncertainty_metrics


def test_calibrated_gaussian_covers_its_levels():
    rng = np.random.default_rng(0)
    n = 200_000
    sigma = np.array([0.5, 2.0])
    mu = rng.normal(size=(n, 2))
    y = mu + rng.normal(size=(n, 2)) * sigma
    for p in COVERAGE_LEVELS:
        # binomial standard error sqrt(p (1-p) / n) < 0.0012; 0.005 is > 4 of them
        assert abs(ellipse_coverage(mu, sigma, y, p) - p) < 0.005
    expected = 0.5 * np.sum(1 + np.log(2 * np.pi * sigma**2))  # E[z^2] = 1 per component
    npt.assert_allclose(gaussian_nll_um(mu, sigma, y), expected, rtol=0.01)


def test_perfect_prediction_has_full_coverage():
    y = np.random.default_rng(1).normal(size=(50, 2))
    m = uncertainty_metrics(y, np.ones(2), y, "constant")
    assert all(m[f"coverage_{int(100 * p)}"] == 1.0 for p in COVERAGE_LEVELS)


def _star_table(alpha, r, force_pairs):
    n = len(r)
    att = pd.DataFrame({"seq": 0, "frame": 0, "source_track": np.arange(1, n + 1), "target_track": 0,
                        "r_um": r, "c_tilde": 0.0, "alpha_b1_h1": alpha})
    pairs = pd.DataFrame({"frame": 0, "i": 0, "j": [j for j, _ in force_pairs],
                          "r_um": 0.0, "fx": 0.0, "fy": 0.0, "f_mag": [f for _, f in force_pairs]})
    return att, pairs


def test_kernel_recovery_of_an_attention_that_ranks_by_force():
    r = np.array([4.0, 6.0, 8.0, 12.0, 15.0])
    forces = [(1, 1.0), (2, 3.0), (3, 2.0)]  # neighbours 4, 5 lie beyond the range: force 0
    alpha = np.array([0.1, 0.5, 0.3, 0.05, 0.05])
    att, pairs = _star_table(alpha, r, forces)
    m = kernel_recovery(att, pairs, true_range_um=10.0, r_cut_um=20.0)
    f = np.array([1.0, 3.0, 2.0, 0.0, 0.0])
    from scipy.stats import spearmanr

    npt.assert_allclose(m["spearman_force"], spearmanr(alpha, f)[0])
    npt.assert_allclose(m["spearman_force_ref"], spearmanr(-r, f)[0])
    assert m["auroc_in_range"] == 1.0 and m["auroc_in_range_ref"] == 1.0


def test_recovered_range_is_where_attention_falls_to_uniform():
    r = np.linspace(0.5, 19.5, 200)
    rel = np.where(r < 10, 2.0, 0.2)
    assert recovered_range_um(r, rel, 20.0) == pytest.approx(9.5)
