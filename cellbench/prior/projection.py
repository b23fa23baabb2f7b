r"""Projection of c(r) onto graph edges and the prior neighbour distribution (paper eq. 4).

For an edge :math:`i \to j` of frame t with length :math:`r_{ij}`,

.. math:: c_{ij} = c(r_{ij}), \qquad \tilde C_{ij} = \mathcal N(c_{ij}), \qquad
          \pi_{ij} = \operatorname{softmax}_{i \in \mathcal N(j)} \left(\gamma\, \tilde C_{ij}\right)

where :math:`\mathcal N` is a robust normalisation fitted on training edges only
(:class:`EdgeNormalizer`: median/IQR centering and scaling, then percentile clipping) and the
softmax groups the incoming edges of each target j = ``edge_index[1]``. Self-loop edges added to
frames without edges get :math:`\tilde C = 0` (no artificial signal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench.errors import ConfigError

TRANSFORMS = ("signed", "abs")
CLIP_PERCENTILES = (1.0, 99.0)
"""Percentiles of the normalised training values at which :math:`\\tilde C` is clipped."""


def _transform(c: np.ndarray, transform: str) -> np.ndarray:
    if transform == "signed":
        return np.asarray(c, dtype=float)
    if transform == "abs":
        return np.abs(np.asarray(c, dtype=float))
    raise ConfigError(f"--prior-transform {transform!r} is unknown; choose one of {TRANSFORMS}")


@dataclass(frozen=True)
class EdgeNormalizer:
    r"""Robust normalisation :math:`\mathcal N(c) = \mathrm{clip}((t(c) - m) / s, lo, hi)`.

    Parameters
    ----------
    center : m, the median of t(c) over training edges.
    scale : s, their interquartile range (1 if it is 0).
    clip_lo, clip_hi : percentiles :data:`CLIP_PERCENTILES` of the normalised training values.
    transform : t, ``"signed"`` (c itself) or ``"abs"`` (|c|).
    """

    center: float
    scale: float
    clip_lo: float
    clip_hi: float
    transform: str = "signed"

    def __post_init__(self):
        if self.transform not in TRANSFORMS:
            raise ConfigError(f"--prior-transform {self.transform!r} is unknown; choose one of {TRANSFORMS}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"EdgeNormalizer.scale must be > 0, got {self.scale}")

    @classmethod
    def fit(cls, c_edges: np.ndarray, transform: str = "signed",
            clip_percentiles: tuple[float, float] = CLIP_PERCENTILES) -> "EdgeNormalizer":
        """Fit on the c(r_ij) of training edges (self loops excluded), shape (n_edges,)."""
        t = _transform(c_edges, transform)
        t = t[np.isfinite(t)]
        if len(t) == 0:
            return cls(0.0, 1.0, 0.0, 0.0, transform)
        q1, med, q3 = np.percentile(t, [25, 50, 75])
        scale = float(q3 - q1)
        if not scale > 0:
            scale = float(np.max(np.abs(t - med))) or 1.0
        z = (t - med) / scale
        lo, hi = np.percentile(z, clip_percentiles)
        return cls(float(med), scale, float(lo), float(hi), transform)

    def apply(self, c_edges: np.ndarray, self_loop: np.ndarray | None = None) -> np.ndarray:
        """:math:`\\tilde C` of shape (n_edges,); 0 on self-loop edges."""
        z = np.clip((_transform(c_edges, self.transform) - self.center) / self.scale, self.clip_lo, self.clip_hi)
        if self_loop is not None:
            z = np.where(np.asarray(self_loop, dtype=bool), 0.0, z)
        return z

    def to_dict(self) -> dict:
        return {"center": self.center, "scale": self.scale, "clip_lo": self.clip_lo, "clip_hi": self.clip_hi,
                "transform": self.transform}
