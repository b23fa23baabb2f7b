r"""A model of your own in one file: ridge regression on a cell's past steps and its neighbours' mean step.

For every cell at frame t the features are its last ``n_lags`` one-step displacements
:math:`y^{t-l+1} = x^{t-l+1} - x^{t-l}` (um per frame, 0 where the track has no such step, with a
0/1 availability flag each) and the mean last step of the other cells within ``r_cut_um`` at
frame t (0, flag 0, when there is none). Frames <= t only. The prediction of the next step is

.. math:: \hat y^t = b + W^\top f^t, \qquad
          (W, b) = \arg\min \sum_{\mathrm{train}} \lVert y^t - b - W^\top f^t \rVert^2 + \alpha \lVert W \rVert^2

on standardized features (closed form, numpy). Registering it makes it a cellbench model
everywhere (``kind="fitted"``: it has its own ``fit`` / ``predict``, no training loop)::

    cellbench run --plugin examples.custom_model --model ridge --data default
    cellbench run --plugin examples/custom_model.py --model ridge --data tracks.csv
    cellbench compare --plugin examples.custom_model --models ridge,ar --data default --seeds 3

or ``plugins = ["examples/custom_model.py"]`` in a sweep TOML. From Python, import this module
(or ``cellbench.models.plugins.load_plugins(["examples/custom_model.py"])``), then
``cellbench.run(cellbench.RunConfig(model="ridge"))``.
"""

from __future__ import annotations

import numpy as np

from cellbench import register
from cellbench.data.targets import history_um
from cellbench.inputs.graphs import default_r_cut_um, frame_graphs


def ridge_features(tracks, n_lags: int, r_cut_um: float) -> np.ndarray:
    """(n_rows, 3 n_lags + 3) features of every row of ``tracks``, frames <= t only.

    Columns: the last ``n_lags`` steps (x, y; um per frame, 0 when missing), their availability
    flags, then the mean last step of the neighbours within ``r_cut_um`` (x, y) and its flag.
    """
    hist = history_um(tracks, n_lags)  # (n_rows, n_lags, 2), NaN without history
    have = ~np.isnan(hist[:, :, 0])
    last = np.nan_to_num(hist[:, 0, :])
    neigh = np.zeros((tracks.n_rows, 2))
    n_neigh = np.zeros(tracks.n_rows)
    for g in frame_graphs(tracks, r_cut_um):
        src, dst = g.edge_index
        keep = ~g.self_loop & have[g.rows[src], 0]  # neighbours whose last step is known
        src, dst = g.rows[src[keep]], g.rows[dst[keep]]
        np.add.at(neigh, dst, last[src])
        np.add.at(n_neigh, dst, 1.0)
    has_neigh = n_neigh > 0
    neigh[has_neigh] /= n_neigh[has_neigh, None]
    return np.column_stack([np.nan_to_num(hist).reshape(len(hist), -1), have, neigh, has_neigh])


@register("ridge", "ridge regression on the last steps and the neighbours' mean step (examples/custom_model.py)",
          kind="fitted")
class RidgeNeighbours:
    """Ridge regression of the next step on the cell's past steps and its neighbours' mean step.

    Parameters
    ----------
    n_lags : past steps of the cell's own track, >= 1.
    alpha : ridge penalty on the standardized features, >= 0 (0: least squares).
    r_cut_um : neighbour radius in um; None: 2.5 x the median nearest-neighbour distance of the
        training frames (the graph models' default).
    """

    def __init__(self, n_lags: int = 3, alpha: float = 1.0, r_cut_um: float | None = None):
        if n_lags < 1 or alpha < 0 or (r_cut_um is not None and not r_cut_um > 0):
            raise ValueError(f"ridge: need n_lags >= 1, alpha >= 0 and r_cut_um > 0 um, got {n_lags}, {alpha}, {r_cut_um}")
        self.n_lags, self.alpha, self.r_cut_um = n_lags, alpha, r_cut_um

    def fit(self, data, seed: int = 0) -> "RidgeNeighbours":
        """Closed-form ridge on the training targets of every sequence (``seed`` is not needed)."""
        if self.r_cut_um is None:
            self.r_cut_um = default_r_cut_um([(s.tracks, s.tracks.df["frame"].to_numpy()[s.masks["train"]])
                                              for s in data.seqs])
        X = np.concatenate([self._features(s)[s.masks["train"]] for s in data.seqs])
        y = data.targets("train")
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0  # a constant column (e.g. a flag always 1) carries nothing
        Z = (X - self.mean_) / self.scale_
        self.coef_ = np.linalg.solve(Z.T @ Z + self.alpha * np.eye(Z.shape[1]), Z.T @ (y - y.mean(axis=0)))
        self.intercept_ = y.mean(axis=0)
        return self

    def predict(self, data) -> list[np.ndarray]:
        """Per sequence, (n_rows, 2) predicted displacements in um per frame."""
        return [((self._features(s) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_ for s in data.seqs]

    def config(self) -> dict:
        """Written into the run's config.json."""
        return {"n_lags": self.n_lags, "alpha": self.alpha, "r_cut_um": self.r_cut_um}

    def _features(self, seq) -> np.ndarray:
        return ridge_features(seq.tracks, self.n_lags, self.r_cut_um)
