"""``lstm``: the track LSTM on each cell's own causal features, no graph."""

from __future__ import annotations

from cellbench.models.net import GraphTemporalNet


class LSTMNet(GraphTemporalNet):
    """:class:`GraphTemporalNet` without graph blocks: encoder, a linear layer, track LSTM, head."""

    conv = "none"

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> None:
        return None
