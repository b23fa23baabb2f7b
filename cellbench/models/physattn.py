r"""``physattn``, the paper's method: two :class:`~cellbench.models.physattn_conv.PhysAttnConv` blocks, track LSTM, head.

The prior :math:`\gamma \tilde C_{ij}` enters the attention logits of both blocks; the KL term
toward :math:`\pi = \operatorname{softmax}(\gamma \tilde C)` is added by the one training loop
(:func:`cellbench.train.loop.fit`). Its default options (gamma, eta_max, ...) are registry
metadata (:mod:`cellbench.models.registry`).
"""

from __future__ import annotations

from torch_geometric.nn import MessagePassing

from cellbench.models.net import GraphTemporalNet
from cellbench.models.physattn_conv import PhysAttnConv


class PhysAttnNet(GraphTemporalNet):
    """:class:`GraphTemporalNet` with :class:`PhysAttnConv` blocks; ``cfg.gamma`` weighs the prior in the logits."""

    conv = "physattn"
    supports_edge_bias = True

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing:
        return PhysAttnConv(in_channels, out_channels, heads=heads, gamma=self.cfg.gamma, edge_dim=edge_dim)
