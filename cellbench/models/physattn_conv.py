r"""Attention layers and the attention-prior loss shared by the graph models.

:class:`PhysAttnConv` is PyG's :class:`~torch_geometric.nn.conv.TransformerConv` with the
paper's physical prior added to the attention logits (section 5):

.. math::
    \alpha_{ij}^{(h)} = \operatorname{softmax}_{i \in \mathcal N(j)} \left(
    \frac{(\mathbf W_3^{(h)} \mathbf x_j)^\top (\mathbf W_4^{(h)} \mathbf x_i + \mathbf W_6^{(h)} \mathbf e_{ij})}
    {\sqrt d} + \gamma\, \tilde C_{ij} \right),
    \qquad
    \mathbf x_j' = \mathbf W_1 \mathbf x_j + \sum_{i \in \mathcal N(j)} \alpha_{ij}^{(h)}
    \left(\mathbf W_2^{(h)} \mathbf x_i + \mathbf W_6^{(h)} \mathbf e_{ij}\right)

for an edge :math:`i \to j` (source ``edge_index[0]``, target ``edge_index[1]``); the softmax
groups the incoming edges of each target j. With :math:`\gamma = 0` the layer is exactly
TransformerConv. The prior neighbour distribution (eq. 4) and the alignment term (eq. 6) are
:func:`prior_distribution` and :func:`kl_to_prior`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import MessagePassing, TransformerConv
from torch_geometric.utils import scatter, softmax

KL_FLOOR = 1e-8
"""Floor inside the logarithms of the KL term: alpha underflows to 0 on far edges."""


def prior_distribution(c_tilde: Tensor, target: Tensor, n_nodes: int, gamma: float) -> Tensor:
    r"""The prior neighbour distribution of eq. 4, :math:`\pi_{ij} = \operatorname{softmax}_{i \in \mathcal N(j)}(\gamma \tilde C_{ij})`.

    Parameters
    ----------
    c_tilde : (n_edges,) normalized prior :math:`\tilde C_{ij}` on each edge (0 on self loops).
    target : (n_edges,) int64, ``edge_index[1]``.
    n_nodes : number of nodes (targets without an edge get no entry).
    gamma : prior weight.

    Returns
    -------
    (n_edges,) tensor; sums to 1 over the incoming edges of each target node that has any.
    The grouped softmax is PyG's :func:`torch_geometric.utils.softmax`, the one the attention
    layers normalise their logits with (there is no second implementation in torch).
    """
    return softmax(gamma * c_tilde, target, num_nodes=n_nodes)


def kl_to_prior(
    alpha: Tensor, pi: Tensor, target: Tensor, n_nodes: int, use_node: Tensor | None = None, reduce: str = "mean"
) -> Tensor:
    r"""The alignment term of eq. 6: :math:`\mathrm{KL}(\alpha \,\|\, \pi)` grouped by target node.

    .. math::
        \mathcal L_\mathrm{KL} = \mathbb E_j \left[ \frac{1}{H} \sum_{h=1}^{H}
        \operatorname*{agg}_{i \in \mathcal N(j)} \alpha_{ij}^{(h)}
        \log \frac{\alpha_{ij}^{(h)}}{\pi_{ij}} \right]

    Parameters
    ----------
    alpha : (n_edges, n_heads) attention, each head a distribution over every node's incoming edges.
    pi : (n_edges,) prior distribution over the same groups.
    target : (n_edges,) int64, ``edge_index[1]``.
    use_node : (n_nodes,) bool, the nodes that enter the mean over j (default: nodes with an
        incoming edge). Pass the nodes with a real neighbour to leave self-loop-only nodes out.
    reduce : ``'mean'`` (default, the paper's implementation: the terms are averaged within each
        target's incoming edges, i.e. :math:`\mathrm{KL}_j / |\mathcal N(j)|`) or ``'sum'`` (the
        exact per-node KL). Both are >= 0 and 0 exactly when alpha = pi.

    Returns
    -------
    Scalar tensor; 0 when no node is used. Logs are floored at :data:`KL_FLOOR`.
    """
    if alpha.dim() == 1:
        alpha = alpha[:, None]
    terms = alpha * (torch.log(alpha.clamp_min(KL_FLOOR)) - torch.log(pi.clamp_min(KL_FLOOR))[:, None])
    per_node = scatter(terms, target, dim=0, dim_size=n_nodes, reduce=reduce)  # (n_nodes, n_heads)
    deg = torch.bincount(target, minlength=n_nodes)
    if use_node is None:
        use_node = deg > 0
    else:
        use_node = use_node & (deg > 0)
    if not bool(use_node.any()):
        return alpha.sum() * 0.0  # keeps the graph (finite zero gradient)
    return per_node[use_node].mean()


class PhysAttnConv(TransformerConv):
    r"""TransformerConv with an additive prior :math:`\gamma\,\tilde C_{ij}` on the attention logits.

    For an edge :math:`i \to j` (source ``edge_index[0]``, target ``edge_index[1]``) and head h,

    .. math::
        \alpha_{ij}^{(h)} = \operatorname{softmax}_{i \in \mathcal N(j)}
        \left( \frac{\mathbf q_j^{(h)\top} \big(\mathbf k_i^{(h)} + \mathbf W_6^{(h)} \mathbf e_{ij}\big)}{\sqrt d}
        + \gamma\,\tilde C_{ij} \right),
        \qquad
        \mathbf x_j' = \mathbf W_1 \mathbf x_j + \sum_{i \in \mathcal N(j)} \alpha_{ij}^{(h)}
        \left(\mathbf v_i^{(h)} + \mathbf W_6^{(h)} \mathbf e_{ij}\right)

    with :math:`\mathbf q = \mathbf W_3 \mathbf x`, :math:`\mathbf k = \mathbf W_4 \mathbf x`,
    :math:`\mathbf v = \mathbf W_2 \mathbf x`, :math:`d` = ``out_channels`` and
    :math:`\tilde C_{ij}` given per edge as ``edge_bias``. The softmax groups the incoming edges
    of each target j (PyG's :func:`~torch_geometric.utils.softmax`). With :math:`\gamma = 0` the
    layer is exactly :class:`~torch_geometric.nn.conv.TransformerConv`.

    Parameters
    ----------
    in_channels, out_channels, heads : as in TransformerConv (output ``heads * out_channels``
        with ``concat=True``, the default).
    gamma : float, default 1.0
        Weight of the prior in the logits; 0 gives plain TransformerConv.
    **kwargs
        concat, beta, dropout, edge_dim, bias, root_weight: as in TransformerConv.

    Shapes
    ------
    - input: x ``(n_nodes, in_channels)``, edge_index ``(2, n_edges)``, edge_attr
      ``(n_edges, edge_dim)`` or None, edge_bias :math:`\tilde C` ``(n_edges,)`` or None (zeros).
    - output: ``(n_nodes, heads * out_channels)`` (``(n_nodes, out_channels)`` without concat)
      and, when ``return_attention_weights`` is a bool, ``(edge_index, alpha)`` with alpha
      ``(n_edges, heads)`` (PyG's convention).
    """

    # TransformerConv's compiled propagate knows only its own message arguments; take the generic
    # one so that PyG compiles a propagate for this class's message (with ``edge_bias``).
    propagate = MessagePassing.propagate

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, gamma: float = 1.0, **kwargs):
        super().__init__(in_channels, out_channels, heads=heads, **kwargs)
        self.gamma = float(gamma)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None, edge_bias: Tensor | None = None,
                return_attention_weights: bool | None = None):
        H, C = self.heads, self.out_channels
        query = self.lin_query(x).view(-1, H, C)
        key = self.lin_key(x).view(-1, H, C)
        value = self.lin_value(x).view(-1, H, C)
        if edge_bias is None:
            edge_bias = x.new_zeros(edge_index.shape[1])
        # propagate_type: (query: Tensor, key: Tensor, value: Tensor, edge_attr: OptTensor, edge_bias: Tensor)
        out = self.propagate(edge_index, query=query, key=key, value=value, edge_attr=edge_attr,
                             edge_bias=edge_bias)
        alpha = self._alpha
        self._alpha = None
        out = out.view(-1, H * C) if self.concat else out.mean(dim=1)
        if self.root_weight:
            x_r = self.lin_skip(x)
            if self.lin_beta is not None:
                beta = self.lin_beta(torch.cat([out, x_r, out - x_r], dim=-1)).sigmoid()
                out = beta * x_r + (1 - beta) * out
            else:
                out = out + x_r
        if isinstance(return_attention_weights, bool):  # PyG's convention: any bool returns the tuple
            return out, (edge_index, alpha)
        return out

    def message(self, query_i: Tensor, key_j: Tensor, value_j: Tensor, edge_attr: Tensor | None, edge_bias: Tensor,
                index: Tensor, ptr: Tensor | None, size_i: int | None) -> Tensor:
        if self.lin_edge is not None:
            assert edge_attr is not None
            edge_attr = self.lin_edge(edge_attr).view(-1, self.heads, self.out_channels)
            key_j = key_j + edge_attr
        logits = (query_i * key_j).sum(dim=-1) / math.sqrt(self.out_channels)
        if self.gamma != 0.0:
            logits = logits + self.gamma * edge_bias.view(-1, 1)
        alpha = softmax(logits, index, ptr, size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = value_j if edge_attr is None else value_j + edge_attr
        return out * alpha.view(-1, self.heads, 1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, heads={self.heads}, gamma={self.gamma})"
