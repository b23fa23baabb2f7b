r"""Reduced pair potentials :math:`\beta u(r)` of the simulators' presets, as pure functions.

These mirror the potentials described in a simulation's ``meta["potential"]`` so that the
prior's ground truth (Ornstein-Zernike curves, the reference Monte Carlo) can be computed from
metadata alone. :func:`beta_u_from_meta` reads that description.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np

from cellbench.errors import ConfigError

WCA_CUT = 2.0 ** (1.0 / 6.0)


def beta_u_wca(r_um: np.ndarray, sigma_um: float, epsilon_kT: float = 1.0) -> np.ndarray:
    r"""Weeks-Chandler-Andersen (purely repulsive, shifted Lennard-Jones) potential over kT.

    .. math:: \beta u(r) = 4 \beta\epsilon \left[(\sigma/r)^{12} - (\sigma/r)^6\right] + \beta\epsilon
              \quad (r < 2^{1/6}\sigma), \qquad 0 \text{ beyond}
    """
    r = np.asarray(r_um, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        s6 = (sigma_um / r) ** 6
        u = 4 * epsilon_kT * (s6 * s6 - s6) + epsilon_kT
    return np.where(r < WCA_CUT * sigma_um, np.where(r > 0, u, np.inf), 0.0)


def beta_u_yukawa(
    r_um: np.ndarray, A_kT_um: float, kappa_per_um: float, r_cut_um: float | None = None, shift: bool = False
) -> np.ndarray:
    r"""Screened Coulomb (Yukawa) potential over kT, optionally cut (and shifted) at r_cut.

    .. math:: \beta u(r) = \frac{A\, e^{-\kappa r}}{r} \;(- \beta u(r_c) \text{ if shifted}), \quad r < r_c
    """
    r = np.asarray(r_um, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        u = np.where(r > 0, A_kT_um * np.exp(-kappa_per_um * r) / r, np.inf)
    if r_cut_um is not None:
        if shift:
            u = u - A_kT_um * np.exp(-kappa_per_um * r_cut_um) / r_cut_um
        u = np.where(r < r_cut_um, u, 0.0)
    return u


def beta_u_from_meta(potential: dict, kT: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """beta u(r) (r in um) from a simulation's ``meta["potential"]`` description.

    Parameters
    ----------
    potential : ``{"name": "wca" | "yukawa", "sigma_um", "epsilon_kT" or "A_kT_um",
        "kappa_per_um", "r_cut_um", "shift" (optional)}``. Energies are already in kT.
    kT : unused for energies given in kT; kept for potentials given in absolute units.
    """
    name = str(potential.get("name", "")).lower()
    if name == "wca":
        return partial(beta_u_wca, sigma_um=float(potential["sigma_um"]), epsilon_kT=float(potential.get("epsilon_kT", 1.0)))
    if name == "yukawa":
        return partial(
            beta_u_yukawa, A_kT_um=float(potential["A_kT_um"]), kappa_per_um=float(potential["kappa_per_um"]),
            r_cut_um=potential.get("r_cut_um"), shift=bool(potential.get("shifted", potential.get("shift", False))),
        )
    raise ConfigError(f"potential {potential.get('name')!r} has no beta u(r) here; known: wca, yukawa")
