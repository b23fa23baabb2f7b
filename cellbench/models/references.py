r"""Trivial references every model is judged against. None of them reads a graph.

- ``zero``: :math:`\hat y^t = 0` (the cell stays put).
- ``const-velocity``: :math:`\hat y^t = x^t - x^{t-1}`; 0 at a track's first frame.
- ``mean``: the mean training displacement.
- ``ar``: per component, :math:`\hat y^t = c + \sum_{l=1}^{k} a_l\, y^{t-l}`, least squares on
  the training targets. A row with only m < k past steps uses the AR(m) fit.
"""

from __future__ import annotations

import numpy as np

from cellbench.data.targets import history_um


def _per_row(data, fn) -> list[np.ndarray]:
    return [fn(s) for s in data.seqs]


class Zero:
    """``zero``: no displacement."""

    def fit(self, data, seed: int = 0):
        return self

    def predict(self, data):
        return _per_row(data, lambda s: np.zeros((s.tracks.n_rows, 2)))


class ConstVelocity:
    """``const-velocity``: the last step."""

    def fit(self, data, seed: int = 0):
        return self

    def predict(self, data):
        return _per_row(data, lambda s: np.nan_to_num(history_um(s.tracks, 1)[:, 0], nan=0.0))


class MeanDisplacement:
    """``mean``: the mean training displacement."""

    def fit(self, data, seed: int = 0):
        self.mean_um = data.targets("train").mean(axis=0)
        return self

    def predict(self, data):
        return _per_row(data, lambda s: np.broadcast_to(self.mean_um, (s.tracks.n_rows, 2)).copy())


class AutoRegressive:
    """``ar``: AR(``order``) per component, least squares on the training targets."""

    def __init__(self, order: int = 3):
        if order < 1:
            raise ValueError(f"AR order must be >= 1, got {order}")
        self.order = order

    def fit(self, data, seed: int = 0):
        hist = np.concatenate([history_um(s.tracks, self.order)[s.masks["train"]] for s in data.seqs])
        y = data.targets("train")
        n_avail = _n_available(hist)
        # coef[m][c] = (intercept, a_1..a_m) of the AR(m) fit of component c
        self.coef = []
        for m in range(self.order + 1):
            rows = n_avail >= m
            per_comp = []
            for c in range(2):
                X = np.column_stack([np.ones(rows.sum()), hist[rows, :m, c]])
                if rows.sum() <= m + 1:
                    per_comp.append(np.r_[y[:, c].mean() if len(y) else 0.0, np.zeros(m)])
                else:
                    per_comp.append(np.linalg.lstsq(X, y[rows, c], rcond=None)[0])
            self.coef.append(per_comp)
        return self

    def predict(self, data):
        def one(s):
            hist = history_um(s.tracks, self.order)
            n_avail = _n_available(hist)
            out = np.zeros((len(hist), 2))
            for m in range(self.order + 1):
                rows = n_avail == m if m < self.order else n_avail >= m
                for c in range(2):
                    coef = self.coef[m][c]
                    out[rows, c] = coef[0] + hist[rows, :m, c] @ coef[1:]
            return out

        return _per_row(data, one)


def _n_available(hist: np.ndarray) -> np.ndarray:
    """Number of consecutive past steps available (lag 1, 2, ... until the first gap)."""
    ok = ~np.isnan(hist[:, :, 0])
    return np.cumprod(ok, axis=1).sum(axis=1)
