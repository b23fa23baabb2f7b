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
from typing import Callable

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


def segment_softmax(logits: np.ndarray, index: np.ndarray, n_groups: int) -> np.ndarray:
    r"""Softmax of ``logits`` within the groups given by ``index`` (numerically stable).

    .. math:: \pi_e = \frac{e^{x_e - m_{g(e)}}}{\sum_{e': g(e') = g(e)} e^{x_{e'} - m_{g(e)}}},
              \quad m_g = \max_{g(e) = g} x_e

    Parameters
    ----------
    logits : (n_edges,). index : (n_edges,) int group of each edge, in [0, n_groups).

    Returns
    -------
    (n_edges,), summing to 1 within each non-empty group.
    """
    x = np.asarray(logits, dtype=float)
    idx = np.asarray(index, dtype=np.int64)
    m = np.full(n_groups, -np.inf)
    np.maximum.at(m, idx, x)
    e = np.exp(x - m[idx])
    s = np.zeros(n_groups)
    np.add.at(s, idx, e)
    return e / s[idx]


def project_prior(
    prior,
    d_um: np.ndarray,
    edge_index: np.ndarray,
    n_nodes: int,
    self_loop: np.ndarray | None = None,
    gamma: float = 1.0,
    transform: str = "signed",
    normalizer: EdgeNormalizer | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Edge prior of one frame: :math:`\tilde C_{ij}` and :math:`\pi_{ij}` (paper eq. 4).

    Parameters
    ----------
    prior : a :class:`~cellbench.prior.result.Prior` or any callable c(r_um).
    d_um : (n_edges,) edge lengths in um.
    edge_index : (2, n_edges) int64; row 0 source i, row 1 target j (softmax groups by j).
    n_nodes : number of nodes of the frame.
    self_loop : (n_edges,) bool mask of self-loop edges (C~ = 0 there), or None.
    gamma : > 0, the prior's convexity.
    transform : ``"signed"`` or ``"abs"`` (used only when ``normalizer`` is None).
    normalizer : fitted on training edges; None fits one on these edges (only correct when
        they are training edges).

    Returns
    -------
    c_tilde : (n_edges,) normalised prior. pi : (n_edges,) softmax over each target's incoming edges.
    """
    edge_index = np.asarray(edge_index)
    d = np.asarray(d_um, dtype=float)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2 or edge_index.shape[1] != d.shape[0]:
        raise ValueError(f"edge_index must have shape (2, n_edges={d.shape[0]}), found {edge_index.shape}")
    if not (np.isfinite(gamma) and gamma > 0):
        raise ConfigError(f"--gamma {gamma}: must be a finite number > 0")
    sl = np.zeros(d.shape[0], bool) if self_loop is None else np.asarray(self_loop, dtype=bool)
    c_of_r: Callable = prior.c_of_r if hasattr(prior, "c_of_r") else prior
    c = np.asarray(c_of_r(d), dtype=float)
    if normalizer is None:
        normalizer = EdgeNormalizer.fit(c[~sl], transform)
    c_tilde = normalizer.apply(c, sl)
    if d.shape[0] == 0:
        return c_tilde, np.zeros(0)
    return c_tilde, segment_softmax(gamma * c_tilde, edge_index[1], n_nodes)
