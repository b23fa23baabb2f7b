r"""``gat``: two GATConv blocks with self loops and a residual path, the track LSTM and the head of physattn.

Each block is PyG's ``GATConv`` (v1 attention) with an added self loop on every node and a
learned skip connection (``residual=True``, PyG >= 2.5):

.. math::
    \mathbf z_j' = \sum_{i \in \mathcal N(j) \cup \{j\}} \alpha_{ij} \mathbf W \mathbf z_i
    + \mathbf W_\mathrm{res} \mathbf z_j + \mathbf b, \qquad
    \alpha_{ij} = \operatorname{softmax}_i\left(\mathrm{LeakyReLU}\left(\mathbf a^\top
    [\mathbf W \mathbf z_j \,\|\, \mathbf W \mathbf z_i \,\|\, \mathbf W_e \mathbf e_{ij}]\right)\right)

so a cell's own features reach the output twice: through attention to itself and through the
skip. Without either (the layer before issue "Fair baselines"), a cell without neighbours got
only the bias, whatever its own history.

The self loop's edge features are those of a zero-length edge, :func:`self_loop_edge_attr`,
``edge_features(0, 0)``: zero relative position and distance, the radial basis at r = 0 and zero
direction. That is what a self loop means geometrically (the cell seen from itself), and it is
exactly what the self loops of an empty frame (:mod:`cellbench.inputs.graphs`) already carry, so
both kinds of self loop get the same logit. PyG's default ``fill_value='mean'`` would instead make
the self loop look like the average neighbour (mean relative position, mean distance) and differ
between crowded and sparse cells for no physical reason; a constant 0 would mean "no radial basis
at all", as if the cell were beyond r_cut. The vector does not depend on r_cut (the basis centres
and width scale with it).

Attention is returned per *input* edge, in input order (the contract of
:meth:`~cellbench.models.net.GraphTemporalNet.init_conv`): the weights the added self loops take
are dropped, so on the real edges of a cell they now sum to :math:`1 - \alpha_{jj}` rather than 1.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.nn import GATConv, MessagePassing

from cellbench.inputs.batching import zero_length_edge_features
from cellbench.models.net import GraphTemporalNet


def self_loop_edge_attr(edge_dim: int) -> Tensor:
    """Edge features of a zero-length edge, shape (edge_dim,) float32, for either edge feature kind
    (:func:`cellbench.inputs.batching.zero_length_edge_features`; see the module docstring)."""
    return torch.as_tensor(zero_length_edge_features(edge_dim), dtype=torch.float32)


def input_edge_positions(edge_index: Tensor) -> Tensor:
    """Where each input edge sits after PyG's ``remove_self_loops`` + ``add_self_loops``, shape (n_edges,).

    Those keep the non-loop edges in order and append one loop per node (node order); an input
    self loop (an empty frame's) maps to its node's appended loop.
    """
    loop = edge_index[0] == edge_index[1]
    pos = torch.empty(edge_index.shape[1], dtype=torch.long, device=edge_index.device)
    n_real = int((~loop).sum())
    pos[~loop] = torch.arange(n_real, device=edge_index.device)
    pos[loop] = n_real + edge_index[0, loop]
    return pos


class SelfLoopGATConv(GATConv):
    """PyG ``GATConv`` with self loops (zero-length edge features) and a residual path.

    Parameters
    ----------
    in_channels, out_channels, heads, edge_dim : as ``GATConv`` (output ``heads * out_channels``).

    Shapes
    ------
    ``forward(x, edge_index, edge_attr, return_attention_weights=True)``: x (n_nodes, in_channels),
    edge_index (2, n_edges), edge_attr (n_edges, edge_dim); returns ``(out, (edge_index, alpha))`` with
    out (n_nodes, heads * out_channels) and alpha (n_edges, heads), one row per input edge.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int, edge_dim: int):
        super().__init__(in_channels, out_channels, heads=heads, edge_dim=edge_dim, add_self_loops=True,
                         fill_value=self_loop_edge_attr(edge_dim), residual=True)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None,
                return_attention_weights: bool | None = None):
        if not return_attention_weights:
            return super().forward(x, edge_index, edge_attr)
        out, (_, alpha) = super().forward(x, edge_index, edge_attr, return_attention_weights=True)
        return out, (edge_index, alpha[input_edge_positions(edge_index)])


class GATNet(GraphTemporalNet):
    """:class:`GraphTemporalNet` with :class:`SelfLoopGATConv` blocks (a cell attends to itself and its neighbours)."""

    conv = "gat"

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing:
        return SelfLoopGATConv(in_channels, out_channels, heads, edge_dim)
