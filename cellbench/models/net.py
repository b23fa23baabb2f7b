r"""The one network behind every learned model: node encoder, two graph blocks, track LSTM, head.

.. math::
    \mathbf z^{(0)} = \mathrm{GELU}(\mathbf W_\mathrm{in} \mathbf x), \quad
    \mathbf z^{(l)} = \mathrm{GELU}\big(\mathrm{Conv}^{(l)}(\mathbf z^{(l-1)}, \mathbf e, \tilde C)\big),\ l = 1, 2, \quad
    \mathbf h_i^t = \mathrm{LSTM}(\mathbf z_i^{(2)}, \mathbf h_i^{t-1}), \quad
    (\boldsymbol\mu_i^t, \log \boldsymbol\sigma_i^{2,t}) = \mathbf W_\mathrm{out} \mathbf h_i^t

Models differ only in ``Conv`` (:data:`CONVS`):

- ``physattn``: :class:`~cellbench.models.physattn_conv.PhysAttnConv`, the prior
  :math:`\gamma \tilde C_{ij}` added to the logits (the paper's method);
- ``transformer``: PyG ``TransformerConv`` (physattn without prior);
- ``gat``: PyG ``GATConv`` without added self loops;
- ``none``: no graph (a per-track LSTM on the node features).

All graph convs get the same edge features (:func:`cellbench.inputs.batching.edge_features`).
The output is in standardized target units (see :mod:`cellbench.inputs.batching`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv, TransformerConv

from cellbench.inputs.batching import EDGE_DIM
from cellbench.errors import ConfigError
from cellbench.models.physattn_conv import PhysAttnConv
from cellbench.models.temporal import TrackLSTM, TrackState

CONVS = ("physattn", "transformer", "gat", "none")


@dataclass(frozen=True)
class NetConfig:
    """Architecture of :class:`GraphTemporalNet`; saved beside every checkpoint.

    conv : one of :data:`CONVS`. hidden : width of every layer. heads : attention heads
    (``hidden`` must be divisible by it). gamma : prior weight in the logits (physattn).
    heteroscedastic : also predict :math:`\\log\\sigma^2` per component. n_features : node feature size.
    """

    n_features: int
    conv: str = "physattn"
    hidden: int = 32
    heads: int = 2
    gamma: float = 1.0
    heteroscedastic: bool = False

    def __post_init__(self):
        if self.conv not in CONVS:
            raise ConfigError(f"conv {self.conv!r} is unknown; choose one of {CONVS}")
        if self.hidden % self.heads:
            raise ConfigError(f"hidden {self.hidden} must be divisible by heads {self.heads}")

    def to_dict(self) -> dict:
        return asdict(self)


class Prediction(NamedTuple):
    """mu : (n_nodes, 2); log_var : (n_nodes, 2) or None; attention : per graph block (n_edges, heads), or None."""

    mu: Tensor
    log_var: Tensor | None
    attention: list[Tensor] | None


class GraphTemporalNet(nn.Module):
    """See the module docstring. ``forward(batch, state) -> Prediction``; ``state`` is a :class:`TrackState`."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        h, H = cfg.hidden, cfg.heads
        self.encoder = nn.Linear(cfg.n_features, h)
        self.convs = nn.ModuleList()
        for _ in range(2 if cfg.conv != "none" else 0):
            if cfg.conv == "physattn":
                conv = PhysAttnConv(h, h // H, heads=H, gamma=cfg.gamma, edge_dim=EDGE_DIM)
            elif cfg.conv == "transformer":
                conv = TransformerConv(h, h // H, heads=H, edge_dim=EDGE_DIM)
            else:
                conv = GATConv(h, h // H, heads=H, edge_dim=EDGE_DIM, add_self_loops=False)
            self.convs.append(conv)
        if cfg.conv == "none":
            self.mlp = nn.Linear(h, h)
        self.lstm = TrackLSTM(h, h)
        self.head = nn.Linear(h, 4 if cfg.heteroscedastic else 2)

    def new_state(self) -> TrackState:
        return TrackState(self.cfg.hidden)

    def forward(self, batch, state: TrackState, return_attention: bool = True) -> Prediction:
        z = F.gelu(self.encoder(batch.x))
        attention = [] if (return_attention and self.convs) else None
        for conv in self.convs:
            if isinstance(conv, PhysAttnConv):
                z, (_, alpha) = conv(z, batch.edge_index, batch.edge_attr, batch.c_tilde, return_attention_weights=True)
            else:
                z, (_, alpha) = conv(z, batch.edge_index, batch.edge_attr, return_attention_weights=True)
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
