"""Pair potentials: force = -dU/dr, numba kernels equal the numpy functions, cutoffs, round trip."""

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.errors import ConfigError
from cellbench.sim import kernels as K
from cellbench.sim import potentials as P

POTENTIALS = [
    P.PairPotential("wca", sigma_um=10.0, epsilon_kT=2.0),
    P.PairPotential("lennard_jones", sigma_um=10.0, epsilon_kT=1.5, r_cut_um=25.0),
    P.PairPotential("harmonic", sigma_um=10.0, k_kT_per_um2=3.0),
    P.PairPotential("yukawa", sigma_um=10.0, A_kT_um=300.0, kappa_per_um=0.2, r_cut_um=30.0),
    P.PairPotential("morse", sigma_um=10.0, epsilon_kT=4.0, alpha_per_um=0.5, r_cut_um=15.0),
]
IDS = [p.name for p in POTENTIALS]


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_force_is_minus_du_dr(pot):
    r = np.linspace(0.85 * pot.sigma_um, 0.999 * pot.r_cut_um, 200)
    h = 1e-5
    du = (pot(r + h)[0] - pot(r - h)[0]) / (2 * h)
    # central difference: truncation error ~ h^2 u''' ~ 1e-10 relative; rounding ~ eps*u/h ~ 1e-9
    npt.assert_allclose(pot(r)[1], -du, rtol=1e-6, atol=1e-7 * np.abs(pot(r)[1]).max())


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_cut_and_shifted_vanishes_at_cutoff(pot):
    u, f = pot(np.array([pot.r_cut_um * (1 - 1e-9), pot.r_cut_um, pot.r_cut_um * 1.5]))
    assert abs(u[0]) < 1e-6 and u[1] == 0 and u[2] == 0 and f[1] == 0 and f[2] == 0


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_numba_kernel_equals_numpy(pot):
    kind, p = pot.kernel_params()
    rng = np.random.default_rng(0)
    for sigma_ij in (pot.sigma_um, 0.8 * pot.sigma_um, 1.2 * pot.sigma_um):  # polydisperse pairs
        r = rng.uniform(0.8 * sigma_ij, 1.1 * pot.r_cut_pair_um(sigma_ij), 300)
        ref = pot.at(r, sigma_ij)[1]
        got = np.array([K.pair_force_scalar(kind, ri, sigma_ij, p) for ri in r])
        # same formula in another association order: agreement to a few ulps of the largest force
        npt.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_wca_minimum_and_harmonic_contact():
    u, f = P.wca(np.array([P.WCA_CUT * 10.0 * 0.999999]), 10.0, 1.0)
    assert abs(f[0]) < 1e-3
    u, f = P.harmonic(np.array([8.0, 10.0, 12.0]), 10.0, 2.0)
    npt.assert_allclose(u, [4.0, 0.0, 0.0])
    npt.assert_allclose(f, [4.0, 0.0, 0.0])


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_dict_round_trip(pot):
    back = P.from_dict(pot.to_dict())
    assert back == pot
    r = np.linspace(5, 40, 50)
    npt.assert_array_equal(back(r)[0], pot(r)[0])


def test_mayer_function_limits():
    pot = POTENTIALS[0]
    f = pot.mayer_f(np.array([5.0, 30.0]))
    assert f[0] == pytest.approx(-1.0) and f[1] == 0.0


def test_invalid_parameters_name_the_option():
    with pytest.raises(ConfigError, match="potential.epsilon_kT"):
        P.PairPotential("wca", sigma_um=10.0)
    with pytest.raises(ConfigError, match="potential.name"):
        P.PairPotential("coulomb", sigma_um=10.0)
    with pytest.raises(ConfigError, match="does not apply"):
        P.PairPotential("wca", sigma_um=10.0, epsilon_kT=1.0, kappa_per_um=1.0)
