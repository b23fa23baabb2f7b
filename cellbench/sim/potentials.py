r"""Pair potentials u(r) of the simulators, as pure numpy functions with their forces.

Energies are in units of the thermal energy kT (the simulators' energy unit, kT = 1), lengths
in um, forces in kT/um. Each potential has a module-level function

``name(r_um, **params) -> (u_kT, force_kT_per_um)``

where ``force_kT_per_um = -du/dr`` (positive = repulsive), both arrays shaped like ``r_um``
and zero beyond the cutoff. A :class:`PairPotential` bundles a name with its parameters,
evaluates itself, serialises to the ``potential`` entry of a run's ``meta.json`` and is read
back by :func:`from_dict`, so code outside the simulators (the prior estimator, an oracle
baseline) can rebuild the exact u(r) of a run::

    pot = potentials.from_dict(meta["potential"])
    u_kT, f_kT_per_um = pot(r_um)

In a polydisperse system the contact distance of a pair is ``sigma_ij = r_i + r_j`` (the sum
of the two cell radii); ``sigma_um`` here is the value for two cells of the mean radius.
Potentials that are cut at ``r_cut_um`` are also shifted so that u(r_cut) = 0 (the force is
not shifted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cellbench.errors import ConfigError

WCA_CUT = 2.0 ** (1.0 / 6.0)  # r_cut / sigma of the WCA potential (minimum of LJ)

# Integer codes shared with the numba kernels: the potential kind in cellbench/sim/kernels/pair.py.
KIND_NONE, KIND_WCA, KIND_LJ, KIND_HARMONIC, KIND_YUKAWA, KIND_MORSE = 0, 1, 2, 3, 4, 5


def _lj_raw(r: np.ndarray, sigma: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    sr6 = (sigma / r) ** 6
    return 4.0 * eps * (sr6 * sr6 - sr6), 24.0 * eps * (2.0 * sr6 * sr6 - sr6) / r


def wca(r_um, sigma_um: float, epsilon_kT: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Weeks-Chandler-Andersen repulsion (LJ cut at its minimum and shifted up).

    .. math:: u(r) = 4\epsilon\left[(\sigma/r)^{12} - (\sigma/r)^6\right] + \epsilon,
              \quad r < 2^{1/6}\sigma

    Parameters
    ----------
    r_um : array of centre distances in um, > 0.
    sigma_um : contact distance in um. epsilon_kT : energy scale in kT.
    """
    r = np.asarray(r_um, dtype=float)
    inside = r < WCA_CUT * sigma_um
    rs = np.where(inside, r, 1.0)
    u, f = _lj_raw(rs, sigma_um, epsilon_kT)
    return np.where(inside, u + epsilon_kT, 0.0), np.where(inside, f, 0.0)


def lennard_jones(r_um, sigma_um: float, epsilon_kT: float, r_cut_um: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Lennard-Jones, cut at ``r_cut_um`` and shifted (attractive well of depth ~epsilon).

    .. math:: u(r) = 4\epsilon\left[(\sigma/r)^{12} - (\sigma/r)^6\right] - u_{LJ}(r_c), \quad r < r_c
    """
    r = np.asarray(r_um, dtype=float)
    inside = r < r_cut_um
    rs = np.where(inside, r, 1.0)
    u, f = _lj_raw(rs, sigma_um, epsilon_kT)
    u_c, _ = _lj_raw(np.asarray(r_cut_um, dtype=float), sigma_um, epsilon_kT)
    return np.where(inside, u - u_c, 0.0), np.where(inside, f, 0.0)


def harmonic(r_um, sigma_um: float, k_kT_per_um2: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Harmonic soft disks: overlapping cells repel linearly in the overlap.

    .. math:: u(r) = \frac{k}{2}(\sigma - r)^2, \quad r < \sigma

    ``k_kT_per_um2`` is the spring constant in kT/um^2.
    """
    r = np.asarray(r_um, dtype=float)
    overlap = np.maximum(sigma_um - r, 0.0)
    return 0.5 * k_kT_per_um2 * overlap**2, k_kT_per_um2 * overlap


def yukawa(r_um, sigma_um: float, A_kT_um: float, kappa_per_um: float, r_cut_um: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Repulsive Yukawa (screened Coulomb), cut at ``r_cut_um`` and shifted.

    .. math:: u(r) = A\,\frac{e^{-\kappa r}}{r} - A\,\frac{e^{-\kappa r_c}}{r_c}, \quad r < r_c

    ``A_kT_um`` in kT um, ``kappa_per_um`` the inverse screening length (Debye length
    ``1/kappa``). ``sigma_um`` (the cell diameter) does not enter u(r); it is kept for plots.
    """
    r = np.asarray(r_um, dtype=float)
    inside = r < r_cut_um
    rs = np.where(inside, r, 1.0)
    e = np.exp(-kappa_per_um * rs)
    u = A_kT_um * e / rs - A_kT_um * np.exp(-kappa_per_um * r_cut_um) / r_cut_um
    f = A_kT_um * e * (1.0 / rs**2 + kappa_per_um / rs)
    return np.where(inside, u, 0.0), np.where(inside, f, 0.0)


def morse(r_um, sigma_um: float, epsilon_kT: float, alpha_per_um: float, r_cut_um: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Morse adhesion: repulsive core, attractive well of depth epsilon at contact, cut and shifted.

    .. math:: u(r) = \epsilon\left[(1 - e^{-\alpha(r - \sigma)})^2 - 1\right] - u_M(r_c), \quad r < r_c

    ``alpha_per_um`` sets the well width (~1/alpha um).
    """
    r = np.asarray(r_um, dtype=float)
    inside = r < r_cut_um

    def raw(x):
        e = np.exp(-alpha_per_um * (x - sigma_um))
        return epsilon_kT * ((1.0 - e) ** 2 - 1.0), -2.0 * epsilon_kT * alpha_per_um * e * (1.0 - e)

    u, f = raw(np.where(inside, r, sigma_um))
    u_c, _ = raw(np.asarray(r_cut_um, dtype=float))
    return np.where(inside, u - u_c, 0.0), np.where(inside, f, 0.0)


@dataclass(frozen=True)
class PairPotential:
    """A named pair potential with its parameters (units in the names), validated on creation.

    Parameters not used by ``name`` must be left at None. ``r_cut_um`` is derived for WCA
    (2^(1/6) sigma) and harmonic (sigma) and required for the others.
    """

    name: str
    sigma_um: float
    epsilon_kT: float | None = None
    k_kT_per_um2: float | None = None
    A_kT_um: float | None = None
    kappa_per_um: float | None = None
    alpha_per_um: float | None = None
    r_cut_um: float | None = None

    _PARAMS = {
        "wca": ("epsilon_kT",),
        "lennard_jones": ("epsilon_kT", "r_cut_um"),
        "harmonic": ("k_kT_per_um2",),
        "yukawa": ("A_kT_um", "kappa_per_um", "r_cut_um"),
        "morse": ("epsilon_kT", "alpha_per_um", "r_cut_um"),
    }

    def __post_init__(self):
        if self.name not in self._PARAMS:
            raise ConfigError(f"potential.name {self.name!r} is unknown; choose one of {sorted(self._PARAMS)}")
        if not (np.isfinite(self.sigma_um) and self.sigma_um > 0):
            raise ConfigError(f"potential.sigma_um must be > 0 um, got {self.sigma_um}")
        if self.name == "wca":
            object.__setattr__(self, "r_cut_um", WCA_CUT * self.sigma_um)
        if self.name == "harmonic":
            object.__setattr__(self, "r_cut_um", float(self.sigma_um))
        needed = self._PARAMS[self.name]
        for key in ("epsilon_kT", "k_kT_per_um2", "A_kT_um", "kappa_per_um", "alpha_per_um"):
            value = getattr(self, key)
            if key in needed:
                if value is None or not np.isfinite(value) or value < 0:
                    raise ConfigError(f"potential.{key} must be a number >= 0 for {self.name}, got {value}")
            elif value is not None:
                raise ConfigError(f"potential.{key} does not apply to {self.name} (parameters: {needed})")
        if not (np.isfinite(self.r_cut_um) and self.r_cut_um > 0):
            raise ConfigError(f"potential.r_cut_um must be > 0 um, got {self.r_cut_um}")
        if self.name in ("lennard_jones", "morse") and self.r_cut_um <= self.sigma_um:
            raise ConfigError(f"potential.r_cut_um ({self.r_cut_um}) must exceed sigma_um ({self.sigma_um}) for {self.name}")

    def __call__(self, r_um) -> tuple[np.ndarray, np.ndarray]:
        """(u_kT, force_kT_per_um) at centre distances ``r_um`` for two cells of the mean radius."""
        return self.at(r_um, self.sigma_um)

    def at(self, r_um, sigma_ij_um) -> tuple[np.ndarray, np.ndarray]:
        """(u_kT, force_kT_per_um) for a pair of contact distance ``sigma_ij_um`` (polydisperse)."""
        scale = np.asarray(sigma_ij_um, dtype=float) / self.sigma_um
        fn = globals()[self.name]
        params = {k: getattr(self, k) for k in self._PARAMS[self.name]}
        if self.name in ("lennard_jones", "morse"):
            params["r_cut_um"] = self.r_cut_um * scale  # the cutoff scales with the pair size
        return fn(r_um, sigma_ij_um, **params)

    def r_cut_pair_um(self, sigma_ij_um: float) -> float:
        """Cutoff of a pair of contact distance ``sigma_ij_um``."""
        return self.r_cut_um if self.name == "yukawa" else self.r_cut_um * sigma_ij_um / self.sigma_um

    def mayer_f(self, r_um) -> np.ndarray:
        r"""Mayer function f(r) = exp(-u(r)/kT) - 1, the low-density limit of c(r)."""
        return np.expm1(-self(r_um)[0])

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if v is not None}
        d["shifted"] = self.name in ("wca", "lennard_jones", "yukawa", "morse")
        d["sigma_ij"] = "r_i + r_j"
        return d

    def kernel_params(self) -> tuple[int, np.ndarray]:
        """(kind, (4,) params) for cellbench.sim.kernels; lengths relative to sigma where they scale."""
        p = np.zeros(4)
        if self.name == "wca":
            return KIND_WCA, p + [self.epsilon_kT, 0, 0, 0]
        if self.name == "lennard_jones":
            return KIND_LJ, p + [self.epsilon_kT, self.r_cut_um / self.sigma_um, 0, 0]
        if self.name == "harmonic":
            return KIND_HARMONIC, p + [self.k_kT_per_um2, 0, 0, 0]
        if self.name == "yukawa":
            return KIND_YUKAWA, p + [self.A_kT_um, self.kappa_per_um, self.r_cut_um, 0]
        return KIND_MORSE, p + [self.epsilon_kT, self.alpha_per_um, self.r_cut_um / self.sigma_um, 0]


def from_dict(d: dict) -> PairPotential:
    """Rebuild a :class:`PairPotential` from ``meta.json``'s ``potential`` entry."""
    fields = {k: v for k, v in d.items() if k in PairPotential.__dataclass_fields__}
    if fields.get("name") in ("wca", "harmonic"):
        fields.pop("r_cut_um", None)
    return PairPotential(**fields)
