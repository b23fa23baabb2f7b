"""The estimated prior as a value: arrays, hyperparameters, diagnostics, and ``prior.json`` I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cellbench.errors import ConfigError
from cellbench.io import read_json, write_json


@dataclass(frozen=True, eq=False)
class Prior:
    """The estimated prior, ready to project onto graph edges; saved as ``prior.json``.

    Attributes
    ----------
    k_inv_um : (n_k,) wavenumbers, 1/um (starts at 0). S_k : (n_k,) structure factor.
    C_k : (n_k,) direct correlation in k space, um^2. r_um : (n_r,) radii, um.
    c_r : (n_r,) direct correlation c(r), dimensionless. rho_per_um2 : density.
    r_cut_um : interaction range (5% criterion), um.
    hyperparameters : every value used, chosen automatically or given.
    diagnostics : g(r), the guarded low-k range, where S was too small, S(0), frame counts.
    """

    k_inv_um: np.ndarray
    S_k: np.ndarray
    C_k: np.ndarray
    r_um: np.ndarray
    c_r: np.ndarray
    rho_per_um2: float
    r_cut_um: float
    hyperparameters: dict
    diagnostics: dict = field(default_factory=dict)

    def c_of_r(self, r_um: np.ndarray) -> np.ndarray:
        """c at arbitrary radii (linear interpolation; c(r_0) below the grid, 0 beyond it)."""
        return np.interp(np.asarray(r_um, dtype=float), self.r_um, self.c_r, left=self.c_r[0], right=0.0)

    def to_dict(self) -> dict:
        return {
            "k_inv_um": self.k_inv_um, "S_k": self.S_k, "C_k": self.C_k, "r_um": self.r_um, "c_r": self.c_r,
            "rho_per_um2": self.rho_per_um2, "r_cut_um": self.r_cut_um,
            "hyperparameters": self.hyperparameters, "diagnostics": self.diagnostics,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Prior":
        arr = {k: np.asarray(d[k], dtype=float) for k in ("k_inv_um", "S_k", "C_k", "r_um", "c_r")}
        return cls(**arr, rho_per_um2=float(d["rho_per_um2"]), r_cut_um=float(d["r_cut_um"]),
                   hyperparameters=dict(d.get("hyperparameters", {})), diagnostics=dict(d.get("diagnostics", {})))

    def save(self, path: Path, extra: dict | None = None) -> None:
        """Write ``prior.json`` atomically; ``extra`` keys (e.g. the truth) are added at top level."""
        d = self.to_dict()
        d.update(extra or {})
        write_json(Path(path), d)

    @classmethod
    def load(cls, path: Path) -> "Prior":
        path = Path(path)
        try:
            return cls.from_dict(read_json(path))
        except (KeyError, ValueError, TypeError) as err:
            raise ConfigError(f"{path}: not a prior.json written by cellbench ({err})") from err

    def __repr__(self) -> str:
        return (f"Prior(rho_per_um2={self.rho_per_um2:.4g}, r_cut_um={self.r_cut_um:.4g}, n_k={len(self.k_inv_um)}, "
                f"n_r={len(self.r_um)})")
