"""``transformer``: physattn without prior and KL (plain PyG TransformerConv blocks, same LSTM and head)."""

from __future__ import annotations

from torch_geometric.nn import MessagePassing, TransformerConv

from cellbench.models.net import GraphTemporalNet


class TransformerNet(GraphTemporalNet):
    """:class:`GraphTemporalNet` with PyG ``TransformerConv`` blocks (edge features, no prior)."""

    conv = "transformer"

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing:
        return TransformerConv(in_channels, out_channels, heads=heads, edge_dim=edge_dim)
