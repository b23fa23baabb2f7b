"""``gat``: two GATConv blocks (no added self loops, edge features), the track LSTM and the head of physattn."""

from __future__ import annotations

from torch_geometric.nn import GATConv, MessagePassing

from cellbench.models.net import GraphTemporalNet


class GATNet(GraphTemporalNet):
    """:class:`GraphTemporalNet` with PyG ``GATConv`` blocks, no self loops added (a cell attends to neighbours only)."""

    conv = "gat"

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing:
        return GATConv(in_channels, out_channels, heads=heads, edge_dim=edge_dim, add_self_loops=False)
