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
:func:`prior_distribution` and :func:`kl_to_prior` (:class:`PriorKL` when several graph blocks
are scored against one prior: its alpha-free part is then computed once).

Two options bring the prior to the learned logits' scale (section 4 asks for "a stable and
comparable scale"; on ``default`` the robust :math:`\tilde C` reaches 15 on force-bearing edges and
its per-node spread, median 5, is several times that of the learned logits): :func:`standardize_per_graph` z-scores :math:`\tilde C`
over each frame's edges, and ``learn_gamma`` makes :math:`\gamma` a parameter per head and block.
"""

from __future__ import annotations

import math

import numpy as np
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
    reduce : ``'mean'`` (default; one reading of the paper's "computing the mean within each
        group": the terms are averaged within each target's incoming edges, i.e.
        :math:`\mathrm{KL}_j / |\mathcal N(j)|`) or ``'sum'`` (eq. 6 as written: the sum over
        :math:`i \in \mathcal N(j)`, the exact per-node KL, ``|N(j)|`` times the mean). Both are
        >= 0 and 0 exactly when alpha = pi.

    Returns
    -------
    Scalar tensor; 0 when no node is used. Logs are floored at :data:`KL_FLOOR`.
    Scoring several attentions against one prior (the graph blocks of a batch)? Build
    :class:`PriorKL` once and call it on each: the same numbers, the prior's share computed once.
    """
    return PriorKL(pi, target, n_nodes, use_node, reduce)(alpha)


class PriorKL:
    r""":func:`kl_to_prior` toward one fixed prior, its alpha-free part computed once.

    The training loop scores every graph block's attention against the same :math:`\pi` on the
    same graph. What does not depend on :math:`\alpha` is built here once per batch: the floored
    :math:`\log \pi`, the in-degree of each target (the divisor of ``reduce='mean'``) and the nodes
    that enter the mean over j. Calling the object on an attention does only the alpha-dependent
    work, with the same operations in the same order as before, so
    ``PriorKL(pi, target, n_nodes, use_node, reduce)(alpha)`` is bitwise what :func:`kl_to_prior`
    computed per block (value and gradient).

    Parameters
    ----------
    pi, target, n_nodes, use_node, reduce : as in :func:`kl_to_prior`.

    Shapes
    ------
    ``kl(alpha)``: alpha ``(n_edges, n_heads)`` or ``(n_edges,)``; returns a scalar tensor.
    """

    def __init__(self, pi: Tensor, target: Tensor, n_nodes: int, use_node: Tensor | None = None,
                 reduce: str = "mean"):
        if reduce not in ("mean", "sum"):
            raise ValueError(f"reduce {reduce!r}: choose 'mean' or 'sum'")
        self.target = target
        self.n_nodes = n_nodes
        self.log_pi = torch.log(pi.clamp_min(KL_FLOOR))[:, None]  # (n_edges, 1)
        deg = torch.bincount(target, minlength=n_nodes)
        used = deg > 0 if use_node is None else use_node & (deg > 0)
        self.n_used = int(used.sum())
        # rows of the per-node table that enter the mean; None: all of them (no gather needed)
        self.used = None if self.n_used == n_nodes else used.nonzero().squeeze(1)
        # what PyG's scatter(reduce='mean') divides by: the in-degree as a float, at least 1
        self.count = deg.to(pi.dtype).clamp(min=1)[:, None] if reduce == "mean" else None

    def __call__(self, alpha: Tensor) -> Tensor:
        if alpha.dim() == 1:
            alpha = alpha[:, None]
        if self.n_used == 0:
            return alpha.sum() * 0.0  # keeps the graph (finite zero gradient)
        terms = alpha * (torch.log(alpha.clamp_min(KL_FLOOR)) - self.log_pi)
        per_node = scatter(terms, self.target, dim=0, dim_size=self.n_nodes, reduce="sum")  # (n_nodes, n_heads)
        if self.count is not None:
            per_node = per_node / self.count.to(per_node.dtype)
        if self.used is not None:
            per_node = per_node.index_select(0, self.used)
        return per_node.mean()


def standardize_per_graph(c_tilde: Tensor, edge_ptr: np.ndarray, real: Tensor | None = None,
                          eps: float = 1e-6) -> Tensor:
    r"""The prior z-scored over each graph's real edges: :math:`z_{ij} = (\tilde C_{ij} - m_g) / s_g`.

    :math:`m_g` and :math:`s_g` are the mean and (population) standard deviation of
    :math:`\tilde C` over the real edges of graph (frame) g. Within a target's softmax the shift
    :math:`m_g` cancels; what stays is one scale per frame, so a node with a force-bearing
    neighbour keeps a sharper prior than a node without one (a z-score per target node would blow
    the small differences among far neighbours up to unit spread).

    Parameters
    ----------
    c_tilde : (n_edges,) the robust :math:`\tilde C` of :class:`~cellbench.prior.EdgeNormalizer`.
    edge_ptr : (n_graphs + 1,) int, the edge range of each graph (``Batch.edge_ptr``).
    real : (n_edges,) bool, the real edges (default all); the others (self loops) get 0.
    eps : a graph whose :math:`s_g` is below it (fewer than two distinct values) gets 0 on every edge.

    Returns
    -------
    (n_edges,) tensor: mean 0 and standard deviation 1 over the real edges of each graph that has spread.
    """
    n_graphs = len(edge_ptr) - 1
    graph = torch.repeat_interleave(torch.arange(n_graphs, device=c_tilde.device),
                                    torch.as_tensor(np.diff(edge_ptr), device=c_tilde.device))
    w = torch.ones_like(c_tilde) if real is None else real.to(c_tilde.dtype)
    n = scatter(w, graph, dim=0, dim_size=n_graphs, reduce="sum").clamp_min(1.0)
    mean = scatter(c_tilde * w, graph, dim=0, dim_size=n_graphs, reduce="sum") / n
    dev = (c_tilde - mean[graph]) * w
    std = (scatter(dev * dev, graph, dim=0, dim_size=n_graphs, reduce="sum") / n).sqrt()
    return torch.where((std > eps)[graph], dev / std.clamp_min(eps)[graph], torch.zeros_like(dev))


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
    learn_gamma : bool, default False
        When True, :math:`\gamma` is a trainable parameter per head, :math:`\gamma^{(h)}`
        (``gamma_heads``, shape ``(heads,)``), started at ``gamma_init``; ``gamma`` is then unused.
        It is not constrained to be positive: a sign flip says training turned the prior around.
    gamma_init : float, default 0.1
        Starting value of the learned :math:`\gamma^{(h)}` (small: the prior enters below the
        learned logits' per-node spread and grows only if the data want it).
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

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, gamma: float = 1.0,
                 learn_gamma: bool = False, gamma_init: float = 0.1, **kwargs):
        super().__init__(in_channels, out_channels, heads=heads, **kwargs)
        self.gamma = float(gamma)
        self.gamma_init = float(gamma_init)
        self.gamma_heads = torch.nn.Parameter(torch.full((heads,), self.gamma_init)) if learn_gamma else None

    def reset_parameters(self):
        super().reset_parameters()
        if getattr(self, "gamma_heads", None) is not None:  # TransformerConv.__init__ calls this first
            torch.nn.init.constant_(self.gamma_heads, self.gamma_init)

    @property
    def gamma_per_head(self) -> list[float]:
        r"""The prior weight of each head: the learned :math:`\gamma^{(h)}`, or ``gamma`` for every head."""
        if self.gamma_heads is not None:
            return [float(g) for g in self.gamma_heads.detach()]
        return [self.gamma] * self.heads

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
        if self.gamma_heads is not None:
            logits = logits + self.gamma_heads.view(1, -1) * edge_bias.view(-1, 1)
        elif self.gamma != 0.0:
            logits = logits + self.gamma * edge_bias.view(-1, 1)
        alpha = softmax(logits, index, ptr, size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = value_j if edge_attr is None else value_j + edge_attr
        return out * alpha.view(-1, self.heads, 1)

    def __repr__(self) -> str:
        gamma = f"learn_gamma=True, gamma_init={self.gamma_init}" if self.gamma_heads is not None else f"gamma={self.gamma}"
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, heads={self.heads}, {gamma})"
