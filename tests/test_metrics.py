import numpy as np
import numpy.testing as npt
import pytest

from cellbench.evaluation import pointwise as M


def _pair(seed=0, n=500):
    rng = np.random.default_rng(seed)
    true = rng.normal(0, 2, (n, 2))
    return true + rng.normal(0, 1, (n, 2)), true


def test_perfect_prediction_scores_perfectly():
    _, true = _pair()
    m = M.regression_metrics(true, true)
    for k in ("rmse_dx_um", "rmse_dy_um", "rmse_abs_d_um", "mae_abs_d_um"):
        assert m[k] == 0.0
    for k in ("r2_dx", "r2_dy", "r2", "skill_vs_zero"):
        assert m[k] == 1.0


def test_metrics_equal_naive_formulas():
    pred, true = _pair(1)
    m = M.regression_metrics(pred, true)
    assert m["rmse_dx_um"] == pytest.approx(np.sqrt(np.mean([(p - t) ** 2 for p, t in zip(pred[:, 0], true[:, 0])])))
    mags_p = [np.sqrt(a * a + b * b) for a, b in pred]
    mags_t = [np.sqrt(a * a + b * b) for a, b in true]
    assert m["mae_abs_d_um"] == pytest.approx(np.mean(np.abs(np.subtract(mags_p, mags_t))))
    assert m["rmse_abs_d_um"] == pytest.approx(np.sqrt(np.mean(np.subtract(mags_p, mags_t) ** 2)))
    ybar = true[:, 1].mean()
    assert m["r2_dy"] == pytest.approx(1 - np.sum((pred[:, 1] - true[:, 1]) ** 2) / np.sum((true[:, 1] - ybar) ** 2))
    assert m["n_targets"] == 500


def test_reference_levels():
    _, true = _pair(2)
    zero = np.zeros_like(true)
    assert M.skill_vs_zero(zero, true) == 0.0
    mean = np.broadcast_to(true.mean(axis=0), true.shape)
    npt.assert_allclose([M.r2(mean, true, 0), M.r2(mean, true, 1), M.r2_pooled(mean, true)], 0.0, atol=1e-12)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 2\)"):
        M.regression_metrics(np.zeros((3, 2)), np.zeros((4, 2)))
