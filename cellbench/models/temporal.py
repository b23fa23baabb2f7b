r"""An LSTM whose state is keyed by track id and carried from frame to frame (the paper's section 6).

At every frame each node looks up the state its track left at the previous step of the same
*lane* (an independent stream of frames: one sequence, or one contiguous window of it when the
training loop runs several in parallel). New tracks start from zero state; tracks absent from
the current frame are dropped. The lookup goes by key, never by node position, so the order of
the nodes inside a frame does not matter.

.. math:: (\mathbf h_i^t, \mathbf c_i^t) = \mathrm{LSTMCell}\left(\mathbf z_i^t,\ (\mathbf h_i^{t-1}, \mathbf c_i^{t-1})\right)

with :math:`(\mathbf h_i^{t-1}, \mathbf c_i^{t-1}) = 0` when track i had no node at the previous step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


class TrackState:
    """The LSTM state ``(h, c)`` of the tracks seen at the previous step, looked up by key.

    Attributes
    ----------
    keys : (n_tracks,) sorted int64 keys (see :func:`cellbench.inputs.batching.track_keys`).
    h, c : (n_tracks, hidden) tensors in the order of ``keys``.
    """

    def __init__(self, hidden: int):
        self.hidden = hidden
        self.keys = np.empty(0, dtype=np.int64)
        self.h: Tensor | None = None
        self.c: Tensor | None = None

    def gather(self, keys: np.ndarray, like: Tensor) -> tuple[Tensor, Tensor]:
        """State for each key in ``keys`` (zeros for keys not stored), shape (n_nodes, hidden)."""
        n = len(keys)
        h0 = like.new_zeros(n, self.hidden)
        c0 = like.new_zeros(n, self.hidden)
        if self.h is None or len(self.keys) == 0 or n == 0:
            return h0, c0
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = self.keys[pos] == keys
        if found.any():
            idx_nodes = torch.from_numpy(np.flatnonzero(found)).to(like.device)
            idx_state = torch.from_numpy(pos[found]).to(like.device)
            h0 = h0.index_copy(0, idx_nodes, self.h.index_select(0, idx_state))
            c0 = c0.index_copy(0, idx_nodes, self.c.index_select(0, idx_state))
        return h0, c0

    def replace(self, keys: np.ndarray, h: Tensor, c: Tensor) -> None:
        """Keep exactly the tracks of the current step (ended tracks are dropped)."""
        order = np.argsort(keys, kind="stable")
        idx = torch.from_numpy(order).to(h.device)
        self.keys = np.asarray(keys)[order]
        self.h = h.index_select(0, idx)
        self.c = c.index_select(0, idx)

    def detach(self) -> None:
        """Cut the graph (truncated backpropagation through time)."""
        if self.h is not None:
            self.h = self.h.detach()
            self.c = self.c.detach()


class TrackLSTM(nn.Module):
    """An :class:`~torch.nn.LSTMCell` stepping the tracks of one frame (or a batch of lanes' frames).

    Parameters
    ----------
    in_channels : int
        Size of the per-node input.
    hidden : int
        Size of the state.

    Shapes
    ------
    - input: z ``(n_nodes, in_channels)``, keys ``(n_nodes,)`` (numpy int64), a :class:`TrackState`.
    - output: h ``(n_nodes, hidden)``; the state is updated in place.
    """

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.cell = nn.LSTMCell(in_channels, hidden)

    def forward(self, z: Tensor, keys: np.ndarray, state: TrackState) -> Tensor:
        h0, c0 = state.gather(keys, z)
        h, c = self.cell(z, (h0, c0))
        state.replace(keys, h, c)
        return h
