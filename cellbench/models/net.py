r"""The one network behind every learned model: node encoder, two graph blocks, track LSTM, head.

.. math::
    \mathbf z^{(0)} = \mathrm{GELU}(\mathbf W_\mathrm{in} \mathbf x), \quad
    \mathbf z^{(l)} = \mathrm{GELU}\big(\mathrm{Conv}^{(l)}(\mathbf z^{(l-1)}, \mathbf e, \tilde C)\big),\ l = 1, 2, \quad
    \mathbf h_i^t = \mathrm{LSTM}(\mathbf z_i^{(2)}, \mathbf h_i^{t-1}), \quad
    (\boldsymbol\mu_i^t, \log \boldsymbol\sigma_i^{2,t}) = \mathbf W_\mathrm{out} \mathbf h_i^t

Models differ only in ``Conv``, chosen by the hook :meth:`GraphTemporalNet.init_conv` of a
subclass (as PyG's ``BasicGNN.init_conv``), one file each:

- :class:`~cellbench.models.physattn.PhysAttnNet`: :class:`~cellbench.models.physattn_conv.PhysAttnConv`,
  the prior :math:`\gamma \tilde C_{ij}` added to the logits (the paper's method);
- :class:`~cellbench.models.transformer.TransformerNet`: PyG ``TransformerConv`` (physattn without prior);
- :class:`~cellbench.models.gat.GATNet`: PyG ``GATConv`` with self loops and a residual skip;
- :class:`~cellbench.models.egnn.EGNNNet`: E(2)-equivariant EGNN blocks (it also replaces the encoder,
  head and ``forward``: invariants in, a sum of vectors with invariant weights out);
- :class:`~cellbench.models.lstm.LSTMNet`: no graph (a per-track LSTM on the node features;
  a linear layer stands in for the graph blocks).

All graph convs get the same edge features (:func:`cellbench.inputs.batching.edge_features`, or
the one-column :func:`~cellbench.inputs.batching.r_only_edge_features`; ``NetConfig.edge_dim`` is
their size); a class with ``supports_edge_bias = True`` also gets the prior :math:`\tilde C_{ij}`
per edge as ``edge_bias``. The output is in standardized target units (see
:mod:`cellbench.inputs.batching`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar, NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from cellbench.errors import ConfigError
from cellbench.inputs.batching import EDGE_DIM, node_feature_names
from cellbench.models.temporal import TrackLSTM, TrackState

N_BLOCKS = 2
"""Graph blocks of every graph model."""


@dataclass(frozen=True)
class NetConfig:
    """Architecture of a :class:`GraphTemporalNet`; saved beside every checkpoint.

    n_features : node feature size. hidden : width of every layer. heads : attention heads
    (``hidden`` must be divisible by it). gamma : prior weight in the logits (networks with
    ``supports_edge_bias``). heteroscedastic : also predict :math:`\\log\\sigma^2` per component.
    edge_dim : edge feature size, passed to :meth:`GraphTemporalNet.init_conv` (default
    :data:`~cellbench.inputs.batching.EDGE_DIM`; :data:`~cellbench.inputs.batching.EDGE_DIMS` per kind).
    feature_names : the node feature columns by name (:func:`~cellbench.inputs.batching.node_feature_names`),
    for networks that read columns by meaning (:func:`column_layout`); None: the default layout.
    """

    n_features: int
    hidden: int = 32
    heads: int = 2
    gamma: float = 1.0
    heteroscedastic: bool = False
    edge_dim: int = EDGE_DIM
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.feature_names is not None:
            if len(self.feature_names) != self.n_features:
                raise ConfigError(f"feature_names has {len(self.feature_names)} names for n_features {self.n_features}")
            object.__setattr__(self, "feature_names", tuple(self.feature_names))
        if self.hidden % self.heads:
            raise ConfigError(f"hidden {self.hidden} must be divisible by heads {self.heads}")
        if self.edge_dim < 1:
            raise ConfigError(f"edge_dim {self.edge_dim} must be >= 1")

    def to_dict(self) -> dict:
        return asdict(self)


def column_layout(cfg: NetConfig) -> tuple[int, list[str]]:
    """``(n_lags, names)`` of the node feature columns, for networks that read them by meaning.

    From ``cfg.feature_names`` when given (a learned model always gives them); otherwise the
    default layout, which the size alone decides: 3 columns per lag, one neighbour count and
    optionally one radius (:func:`~cellbench.inputs.batching.node_feature_names`).
    """
    if cfg.feature_names is not None:
        names = list(cfg.feature_names)
        n_lags = sum(name.startswith("dx_lag") for name in names)
        if n_lags < 1:
            raise ConfigError(f"feature_names {names}: no past displacement (dx_lag1, ...) to read")
        return n_lags, names
    n_lags, extra = divmod(cfg.n_features - 1, 3)
    if n_lags < 1 or extra not in (0, 1):
        raise ConfigError(f"n_features {cfg.n_features}: expected 3 n_lags + 1 (+1 with radius), n_lags >= 1")
    return n_lags, node_feature_names(n_lags, has_radius=bool(extra))


class Prediction(NamedTuple):
    """mu : (n_nodes, 2); log_var : (n_nodes, 2) or None; attention : per graph block (n_edges, heads), or None."""

    mu: Tensor
    log_var: Tensor | None
    attention: list[Tensor] | None


class GraphTemporalNet(nn.Module):
    """Encoder, :data:`N_BLOCKS` graph blocks from :meth:`init_conv`, track LSTM and head (see the module docstring).

    Subclasses implement :meth:`init_conv` and set the class flags.

    Attributes
    ----------
    conv : ClassVar[str]
        Name of the graph block, written to ``model.json`` (``'none'`` without a graph).
    supports_edge_bias : ClassVar[bool]
        The blocks take the prior :math:`\\tilde C` as ``edge_bias``, shape (n_edges,), and the
        learned predictor estimates a prior for them (and the KL term toward it).
    optional_inputs : ClassVar[tuple[str, ...]]
        The optional inputs of :class:`~cellbench.train.learned.LearnedModel` the network can read
        (``edge_features``, ``absolute_position``, ``wall_features``); the learned model refuses the
        others. A network that reads columns by meaning and keeps a symmetry lists fewer.

    Shapes
    ------
    ``forward(batch, state)``: ``batch.x`` (n_nodes, n_features), ``batch.edge_index`` (2, n_edges),
    ``batch.edge_attr`` (n_edges, cfg.edge_dim), ``batch.c_tilde`` (n_edges,), ``batch.keys`` (n_nodes,);
    returns a :class:`Prediction` with mu (n_nodes, 2). ``state`` is a :class:`TrackState`, updated in place.
    """

    conv: ClassVar[str] = "none"
    supports_edge_bias: ClassVar[bool] = False
    optional_inputs: ClassVar[tuple[str, ...]] = ("edge_features", "absolute_position", "wall_features")

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        h, H = cfg.hidden, cfg.heads
        self.encoder = nn.Linear(cfg.n_features, h)
        self.convs = nn.ModuleList()
        for _ in range(N_BLOCKS):
            conv = self.init_conv(h, h // H, H, cfg.edge_dim)
            if conv is None:
                break
            self.convs.append(conv)
        if not self.convs:
            self.mlp = nn.Linear(h, h)
        self.lstm = TrackLSTM(h, h)
        self.head = nn.Linear(h, 4 if cfg.heteroscedastic else 2)

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing | None:
        """One graph block, or None for a model without graph.

        Called :data:`N_BLOCKS` times, after the encoder and before the LSTM are made (the order in
        which parameters are initialized); ``self.cfg`` is set (e.g. ``self.cfg.gamma``). The block
        is called as PyG's attention layers are, ``conv(x, edge_index, edge_attr,
        return_attention_weights=True)`` (plus ``edge_bias=`` when :attr:`supports_edge_bias`), and
        returns ``(out, (edge_index, alpha))``: x ``(n_nodes, in_channels)``, edge_index
        ``(2, n_edges)``, edge_attr ``(n_edges, edge_dim)``, out ``(n_nodes, heads * out_channels)``,
        alpha ``(n_edges, heads)``.
        """
        raise NotImplementedError

    def new_state(self) -> TrackState:
        return TrackState(self.cfg.hidden)

    def forward(self, batch, state: TrackState, return_attention: bool = True) -> Prediction:
        z = F.gelu(self.encoder(batch.x))
        attention = [] if (return_attention and self.convs) else None
        bias = {"edge_bias": batch.c_tilde} if self.supports_edge_bias else {}
        for conv in self.convs:
            z, (_, alpha) = conv(z, batch.edge_index, batch.edge_attr, return_attention_weights=True, **bias)
            z = F.gelu(z)
            if attention is not None:
                attention.append(alpha)
        if not self.convs:
            z = F.gelu(self.mlp(z))
        h = self.lstm(z, batch.keys, state)
        out = self.head(h)
        if self.cfg.heteroscedastic:
            return Prediction(out[:, :2], out[:, 2:].clamp(-10.0, 10.0), attention)
        return Prediction(out, None, attention)
