r"""Reduced pair potentials :math:`\beta u(r)` for the prior's ground truth, from a run's metadata.

Each potential is defined once, in :mod:`cellbench.sim.potentials` (u(r) in kT and its force). This
module only divides by kT and makes the core explicit: where u overflows (r -> 0 inside a
repulsive core) it returns :math:`+\infty`, so the Ornstein-Zernike solver and the truth code can
take a plain function of r. The Monte Carlo reference (:mod:`cellbench.prior.validation.reference_mc`) keeps
its own numba energy on purpose: it is the independent check of the simulators.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cellbench.errors import ConfigError
from cellbench.sim.potentials import PairPotential, from_dict, wca, yukawa


def _with_core(u_kT: np.ndarray) -> np.ndarray:
    """+inf where u is not finite (overflow of the repulsive core at r -> 0)."""
    return np.where(np.isfinite(u_kT), u_kT, np.inf)


def beta_u_wca(r_um: np.ndarray, sigma_um: float, epsilon_kT: float = 1.0) -> np.ndarray:
    r"""WCA over kT (:func:`cellbench.sim.potentials.wca`), :math:`+\infty` at r = 0.

    .. math:: \beta u(r) = 4 \beta\epsilon \left[(\sigma/r)^{12} - (\sigma/r)^6\right] + \beta\epsilon
              \quad (r < 2^{1/6}\sigma), \qquad 0 \text{ beyond}
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return _with_core(wca(np.asarray(r_um, dtype=float), sigma_um, epsilon_kT)[0])


def beta_u_yukawa(r_um: np.ndarray, A_kT_um: float, kappa_per_um: float, r_cut_um: float) -> np.ndarray:
    r"""Screened Coulomb over kT, cut and shifted at r_cut (:func:`cellbench.sim.potentials.yukawa`).

    .. math:: \beta u(r) = \frac{A\, e^{-\kappa r}}{r} - \frac{A\, e^{-\kappa r_c}}{r_c}, \quad r < r_c
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return _with_core(yukawa(np.asarray(r_um, dtype=float), 0.0, A_kT_um, kappa_per_um, r_cut_um)[0])


def beta_u_from_meta(potential: dict, kT: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """beta u(r) (r in um) of any simulator potential from a run's ``meta["potential"]``.

    Parameters
    ----------
    potential : the ``potential`` entry of ``meta.json`` (:meth:`PairPotential.to_dict`), or
        the same keys by hand (``name``, ``sigma_um`` and the potential's parameters). Cut
        potentials are shifted, as in the simulators; ``"shifted": false`` is refused.
    kT : the thermal energy in the potential's energy unit (the simulators use kT = 1).

    Returns
    -------
    function of r_um (array) returning u(r)/kT, +inf inside the core at r -> 0.
    """
    if potential.get("shifted", True) is False and potential.get("name") != "harmonic":
        raise ConfigError(f"potential {potential.get('name')!r} with shifted=false: the simulators cut and shift "
                          "their potentials; an unshifted u(r) has no definition here")
    try:
        pot: PairPotential = from_dict(potential)
    except TypeError as err:
        raise ConfigError(f"potential {potential!r} is not a simulator potential ({err})") from err
    if not kT > 0:
        raise ConfigError(f"kT must be > 0, got {kT}")

    def beta_u(r_um: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return _with_core(pot(np.asarray(r_um, dtype=float))[0] / kT)

    return beta_u
