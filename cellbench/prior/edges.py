r"""The prior :math:`\tilde C_{ij}` on graph edges, as the models consume it.

A thin link to :mod:`cellbench.prior` (issue 5): c(r) from
:func:`~cellbench.prior.estimate_prior` on the **training frames only** (each sequence cut to
``cellbench.data.splits.frames_of(blocks, seq, "train")``), and the robust
:class:`~cellbench.prior.EdgeNormalizer` (median / IQR, percentile clipping) fitted on the
c(r_ij) of the training frames' edges. ``transform='abs'`` normalizes :math:`|c(r)|`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench.inputs.graphs import radius_edges
from cellbench.data.tracks import Tracks

MAX_NORMALIZER_FRAMES = 200
"""Training frames (evenly spaced) whose edges fit the normalizer."""


@dataclass(frozen=True)
class EdgePrior:
    """The estimated prior and the fitted normalizer; :meth:`c_tilde` maps edge lengths to :math:`\\tilde C`."""

    prior: object  # cellbench.prior.Prior
    normalizer: object  # cellbench.prior.EdgeNormalizer

    @property
    def r_um(self) -> np.ndarray:
        return self.prior.r_um

    @property
    def c_r(self) -> np.ndarray:
        return self.prior.c_r

    def c_tilde(self, d_um: np.ndarray) -> np.ndarray:
        """(n_edges,) normalized prior for edge lengths (n_edges,) in um (no self loops here)."""
        return self.normalizer.apply(self.prior.c_of_r(np.asarray(d_um, dtype=float)))

    def summary(self) -> dict:
        return {"rho_per_um2": self.prior.rho_per_um2, "r_cut_um": self.prior.r_cut_um,
                "normalizer": self.normalizer.to_dict(), "hyperparameters": self.prior.hyperparameters}


def _train_only(tracks: Tracks, frames: np.ndarray) -> Tracks | None:
    df = tracks.df[np.isin(tracks.df["frame"].to_numpy(), frames)]
    return tracks.with_df(df) if len(df) else None


def edge_prior(train: list[tuple[Tracks, np.ndarray]], r_cut_um: float, transform: str = "signed") -> EdgePrior:
    """Estimate c(r) on the training frames and fit the edge normalizer on their edges.

    Parameters
    ----------
    train : (tracks, training frame indices) per sequence.
    r_cut_um : graph radius in um (the edges whose c(r_ij) fit the normalizer).
    transform : ``'signed'`` (the paper's) or ``'abs'``.
    """
    from cellbench.prior import EdgeNormalizer, estimate_prior

    seqs = [t for t in (_train_only(tr, fr) for tr, fr in train) if t is not None]
    prior = estimate_prior(seqs)
    d = []
    for tracks in seqs:
        groups = [g for _, g in tracks.df.groupby("frame")]
        idx = np.unique(np.linspace(0, len(groups) - 1, min(len(groups), MAX_NORMALIZER_FRAMES)).round().astype(int))
        for i in idx:
            _, d_um, _, loop = radius_edges(groups[i][["x_um", "y_um"]].to_numpy(), r_cut_um, tracks.periodic_box_um)
            d.append(d_um[~loop])
    c = prior.c_of_r(np.concatenate(d)) if d else np.zeros(0)
    return EdgePrior(prior, EdgeNormalizer.fit(c, transform))
