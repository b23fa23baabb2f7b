"""Hankel transforms against quad and closed forms; the OZ solver against the Mayer limit."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from scipy.integrate import quad
from scipy.special import j0

from cellbench.prior.correlation import interaction_range
from cellbench.prior.hankel import QDHT, hankel_binned, hankel_inverse_trapezoid
from cellbench.prior.validation.oz import solve_oz
from cellbench.prior.validation.reduced_potentials import beta_u_wca, beta_u_yukawa


def test_qdht_gaussian_and_round_trip():
    q = QDHT(20.0, 512)
    f = np.exp(-q.r**2 / 2)
    F = q.forward(f)
    npt.assert_allclose(F, 2 * np.pi * np.exp(-q.k**2 / 2), atol=1e-12)  # measured 3e-15
    npt.assert_allclose(q.inverse(F), f, atol=1e-12)


def test_binned_forward_equals_quad_for_a_step():
    """A disk indicator (piecewise constant) is transformed exactly: 2 pi a J1(k a) / k."""
    edges = np.linspace(0, 3.0, 31)
    f = (edges[:-1] < 1.0).astype(float)
    k = np.array([0.0, 0.5, 2.0, 7.0])
    ref = [2 * np.pi * quad(lambda r: j0(kk * r) * r, 0, 1.0, limit=200)[0] for kk in k]
    npt.assert_allclose(hankel_binned(f, edges, k), ref, rtol=1e-9, atol=1e-12)


def test_inverse_trapezoid_equals_quad():
    k = np.linspace(0, 15, 4001)
    F = 2 * np.pi * np.exp(-k**2 / 2)
    r = np.array([0.0, 0.5, 1.3, 3.0])
    ref = [quad(lambda kk: kk * 2 * np.pi * np.exp(-kk**2 / 2) * j0(kk * rr), 0, 15, limit=200)[0] / (2 * np.pi) for rr in r]
    npt.assert_allclose(hankel_inverse_trapezoid(F, k, r), ref, atol=5e-6)  # trapezoid, dk = 3.75e-3: measured 1.2e-6


@pytest.mark.parametrize("closure", ["py", "hnc"])
def test_oz_low_density_mayer_limit_is_linear_in_rho(closure):
    """c(r) -> exp(-beta u) - 1 as rho -> 0, with an error linear in rho."""
    bu = lambda r: beta_u_wca(r, 1.0, 1.0)  # noqa: E731
    errs = []
    for rho in (1e-4, 1e-3):
        res = solve_oz(bu, rho, closure, r_max=20, n=1024)
        assert res.converged
        sel = res.r < 4
        errs.append(np.max(np.abs(res.c_r[sel] - np.expm1(-bu(res.r[sel])))))
    # measured 3.1e-4 at rho = 1e-4 (the issue quotes 1.5e-3 on its grid); ratio 10.0 for 10x rho
    assert errs[0] < 1.5e-3
    assert 8 < errs[1] / errs[0] < 12


def test_py_wca_structure_and_range():
    rho = 0.35 * 4 / np.pi
    res = solve_oz(lambda r: beta_u_wca(r, 1.0, 1.0), rho, "py", r_max=20, n=2048)
    assert res.converged
    # PY S(0) of WCA at packing 0.35: 0.187 here; the simulations give ~0.18
    assert 0.15 < res.S_k[0] < 0.22
    assert 1.0 < interaction_range(res.r, res.c_r) < 1.12


def test_hnc_yukawa_tail_is_minus_beta_u():
    bu = lambda r: beta_u_yukawa(r, 20.0, 1.0, 6.0)  # noqa: E731
    res = solve_oz(bu, 0.3, "hnc", r_max=30, n=2048)
    r = np.linspace(2, 4, 200)
    # c ~ -beta u far from the core (HNC: c = -beta u + (h - ln g - ...)); measured 0.3% here
    npt.assert_allclose(res.c_of_r(r), -bu(r), rtol=0.02)
