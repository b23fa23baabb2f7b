"""Edge projection of c(r) and the prior neighbour distribution (paper eq. 4).

pi is computed where the models use it, :func:`cellbench.models.physattn_conv.prior_distribution`
(one group softmax, PyG's); these tests check it on C~ from the fitted :class:`EdgeNormalizer`.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.errors import ConfigError
from cellbench.prior import EdgeNormalizer, Prior

torch = pytest.importorskip("torch")
from cellbench.models.physattn_conv import prior_distribution  # noqa: E402


def project_prior(prior, d, ei, n, self_loop=None, gamma=1.0, normalizer=None):
    """C~ and pi of one frame as the learned models build them (normalizer fitted on these edges if None)."""
    sl = np.zeros(len(d), bool) if self_loop is None else self_loop
    c = prior.c_of_r(d)
    normalizer = normalizer or EdgeNormalizer.fit(c[~sl])
    c_t = normalizer.apply(c, sl)
    pi = prior_distribution(torch.as_tensor(c_t), torch.as_tensor(ei[1]), n, gamma)
    return c_t, pi.double().numpy()


def _prior():
    r = np.linspace(0.01, 10, 1000)
    c = np.where(r < 1, -3.0, -0.5 * np.exp(-(r - 1)))
    k = np.linspace(0, 5, 10)
    return Prior(k, np.ones_like(k), np.zeros_like(k), r, c, 0.3, 1.5, {})


def _graph(seed=0, n=30):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, 200)
    dst = rng.integers(0, n, 200)
    keep = src != dst
    return np.stack([src[keep], dst[keep]]).astype(np.int64), rng.uniform(0.5, 4, keep.sum()), n


def test_softmax_sums_to_one_per_target_and_matches_loop():
    ei, d, n = _graph()
    c_t, pi = project_prior(_prior(), d, ei, n, gamma=2.0)
    sums = np.bincount(ei[1], weights=pi, minlength=n)
    has = np.bincount(ei[1], minlength=n) > 0
    npt.assert_allclose(sums[has], 1.0, rtol=1e-6)  # float32 softmax
    for j in np.flatnonzero(has)[:5]:
        sel = ei[1] == j
        e = np.exp(2.0 * c_t[sel])
        npt.assert_allclose(pi[sel], e / e.sum(), rtol=1e-5)
    assert np.all((pi >= 0) & (pi <= 1))


def test_self_loops_get_zero_and_uniform_prior():
    n = 4
    ei = np.stack([np.arange(n), np.arange(n)]).astype(np.int64)
    d = np.zeros(n)
    norm = EdgeNormalizer.fit(_prior().c_of_r(np.linspace(0.5, 4, 100)))
    c_t, pi = project_prior(_prior(), d, ei, n, self_loop=np.ones(n, bool), gamma=5.0, normalizer=norm)
    npt.assert_array_equal(c_t, 0.0)
    npt.assert_allclose(pi, 1.0)  # one incoming edge per node


def test_normalizer_fitted_on_train_only_is_reused():
    prior = _prior()
    ei, d, n = _graph(1)
    norm = EdgeNormalizer.fit(prior.c_of_r(d), "signed")
    ei2, d2, n2 = _graph(2)
    c_t, _ = project_prior(prior, d2, ei2, n2, normalizer=norm)
    npt.assert_allclose(c_t, norm.apply(prior.c_of_r(d2)))
    assert np.all((c_t >= norm.clip_lo) & (c_t <= norm.clip_hi))
    z = (np.abs(prior.c_of_r(d)) - np.median(np.abs(prior.c_of_r(d))))
    na = EdgeNormalizer.fit(prior.c_of_r(d), "abs")
    assert na.transform == "abs" and abs(na.center - np.median(np.abs(prior.c_of_r(d)))) < 1e-12
    assert z.shape == d.shape


def test_gamma_controls_sharpness_and_validation():
    ei, d, n = _graph(3)
    _, p_small = project_prior(_prior(), d, ei, n, gamma=1e-6)
    counts = np.bincount(ei[1], minlength=n)
    npt.assert_allclose(p_small, 1.0 / counts[ei[1]], rtol=1e-5)  # gamma -> 0: uniform over neighbours
    with pytest.raises(ConfigError, match="transform"):
        EdgeNormalizer.fit(d, "square")


def test_group_softmax_is_stable_for_large_logits():
    p = prior_distribution(torch.tensor([1000.0, 999.0, -1000.0]), torch.tensor([0, 0, 1]), 2, 1.0).numpy()
    npt.assert_allclose(p, [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 1.0], rtol=1e-6)


def test_prior_json_round_trip(tmp_path):
    p = _prior()
    p.save(tmp_path / "prior.json", {"c_r_true": [1, 2]})
    q = Prior.load(tmp_path / "prior.json")
    npt.assert_array_equal(q.c_r, p.c_r)
    assert q.r_cut_um == p.r_cut_um and q.rho_per_um2 == p.rho_per_um2
    npt.assert_allclose(q.c_of_r([0.5, 20.0]), [-3.0, 0.0])
