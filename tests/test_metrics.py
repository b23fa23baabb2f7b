"""Every metric on cases with known answers.

The loops run over :data:`cellbench.evaluation.pointwise.POINTWISE` and
:data:`cellbench.evaluation.uncertainty.UNCERTAINTY`, so a metric added to either list is checked
here without anyone remembering to.
"""

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.evaluation import pointwise as M
from cellbench.evaluation.pointwise import POINTWISE
from cellbench.evaluation.scoring import relative_metrics
from cellbench.evaluation.uncertainty import UNCERTAINTY, uncertainty_metrics


def _pair(seed=0, n=500):
    rng = np.random.default_rng(seed)
    true = rng.normal(0, 2, (n, 2)) + np.array([0.7, -0.4])  # a mean drift, so zero and mean differ
    return true + rng.normal(0, 1, (n, 2)), true


def _key(metric):
    return metric.key


@pytest.mark.parametrize("metric", POINTWISE, ids=_key)
def test_pointwise_metric_is_perfect_on_a_perfect_prediction(metric):
    _, true = _pair()
    assert metric(true.copy(), true) == metric.perfect


@pytest.mark.parametrize("metric", POINTWISE, ids=_key)
def test_pointwise_metric_on_a_constant_prediction(metric):
    _, true = _pair()
    const = np.broadcast_to(np.array([0.3, -0.2]), true.shape)
    value = metric(const, true)
    assert np.isfinite(value)
    assert value < metric.perfect if metric.higher_is_better else value > metric.perfect
    if metric.baseline is not None:  # a skill scores 0 on the constant prediction it is measured against
        base = metric.baseline(true)
        assert np.ptp(base, axis=0).max() == 0.0  # the baseline is a constant prediction
        assert metric(base, true) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("metric", POINTWISE, ids=_key)
def test_pointwise_metric_ignores_the_order_of_targets(metric):
    pred, true = _pair(3)
    perm = np.random.default_rng(4).permutation(len(true))
    # same sums in another order: equal to rounding
    assert metric(pred[perm], true[perm]) == pytest.approx(metric(pred, true), rel=1e-12)


def test_scored_metrics_are_exactly_the_list():
    pred, true = _pair(1)
    keys = list(M.regression_metrics(pred, true)) + list(M.extra_test_metrics(pred, true))
    assert keys == [m.key for m in POINTWISE if not m.test_only] + ["n_targets"] + [m.key for m in POINTWISE if m.test_only]
    assert list(M.METRIC_LABELS) == list(M.regression_metrics(pred, true))


def test_metrics_equal_naive_formulas():
    pred, true = _pair(1)
    m = {**M.regression_metrics(pred, true), **M.extra_test_metrics(pred, true)}
    assert m["rmse_dx_um"] == pytest.approx(np.sqrt(np.mean([(p - t) ** 2 for p, t in zip(pred[:, 0], true[:, 0])])))
    mags_p = [np.sqrt(a * a + b * b) for a, b in pred]
    mags_t = [np.sqrt(a * a + b * b) for a, b in true]
    assert m["mae_abs_d_um"] == pytest.approx(np.mean(np.abs(np.subtract(mags_p, mags_t))))
    assert m["rmse_abs_d_um"] == pytest.approx(np.sqrt(np.mean(np.subtract(mags_p, mags_t) ** 2)))
    ybar = true[:, 1].mean()
    assert m["r2_dy"] == pytest.approx(1 - np.sum((pred[:, 1] - true[:, 1]) ** 2) / np.sum((true[:, 1] - ybar) ** 2))
    assert m["rmse_um"] == pytest.approx(np.sqrt((m["rmse_dx_um"] ** 2 + m["rmse_dy_um"] ** 2) / 2))
    assert m["n_targets"] == 500


def test_reference_levels():
    _, true = _pair(2)
    zero = np.zeros_like(true)
    assert M.skill_vs_zero(zero, true) == 0.0
    mean = np.broadcast_to(true.mean(axis=0), true.shape)
    npt.assert_allclose([M.r2_component(mean, true, 0), M.r2_component(mean, true, 1), M.r2_pooled(mean, true)],
                        0.0, atol=1e-12)


def test_r2_of_constant_targets_is_nan():
    true = np.ones((10, 2))
    assert np.isnan(M.r2_pooled(true + 1, true)) and np.isnan(M.r2_component(true + 1, true, 0))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 2\)"):
        M.regression_metrics(np.zeros((3, 2)), np.zeros((4, 2)))


def _sigma(n, rng):
    return np.exp(rng.normal(0, 0.5, (n, 2)))  # a different sigma per target and component, um


@pytest.mark.parametrize("metric", UNCERTAINTY, ids=_key)
def test_uncertainty_metric_on_a_perfect_mean(metric):
    rng = np.random.default_rng(5)
    mu, sigma = rng.normal(size=(50, 2)), _sigma(50, rng)
    assert metric(mu, sigma, mu.copy()) == pytest.approx(metric.perfect(sigma), rel=1e-12)


@pytest.mark.parametrize("metric", UNCERTAINTY, ids=_key)
@pytest.mark.parametrize("per_target", [False, True], ids=["constant sigma", "per-target sigma"])
def test_uncertainty_metric_on_a_calibrated_gaussian(metric, per_target):
    rng = np.random.default_rng(6)
    n = 200_000
    mu = rng.normal(size=(n, 2))
    sigma = _sigma(n, rng) if per_target else np.array([0.5, 2.0])
    y = mu + rng.normal(size=(n, 2)) * sigma
    # standard errors: coverage sqrt(p (1 - p) / n) <= 0.5 / sqrt(n); NLL per target has
    # std 0.5 sqrt(var(chi2_2)) = 1, so 1 / sqrt(n). 5 / sqrt(n) = 0.011 is >= 5 of either.
    assert metric(mu, sigma, y) == pytest.approx(metric.calibrated(sigma), abs=5 / np.sqrt(n))


def test_uncertainty_metrics_are_exactly_the_list():
    y = np.zeros((4, 2))
    assert list(uncertainty_metrics(y, np.ones(2), y, "constant")) == [m.key for m in UNCERTAINTY] + ["sigma"]


def test_relative_metrics_of_the_references_themselves():
    cv = {"rmse_um": 2.0, "r2": 0.1}
    orc = {"rmse_um": 1.0, "r2": 0.6}
    assert relative_metrics(cv, cv, orc) == {"skill_vs_const_velocity": 0.0, "oracle_ratio": 2.0,
                                             "r2_of_oracle": pytest.approx(0.1 / 0.6)}
    assert relative_metrics(orc, cv, orc) == {"skill_vs_const_velocity": 0.75, "oracle_ratio": 1.0, "r2_of_oracle": 1.0}
    assert relative_metrics(orc, None, None) == {}
    assert np.isnan(relative_metrics(orc, cv, {"rmse_um": 1.0, "r2": -0.2})["r2_of_oracle"])
