r"""``physattn``, the paper's method: two :class:`~cellbench.models.physattn_conv.PhysAttnConv` blocks, track LSTM, head.

The prior :math:`\gamma \tilde C_{ij}` enters the attention logits of both blocks; the KL term
toward :math:`\pi = \operatorname{softmax}(\gamma \tilde C)` is added by the one training loop
(:func:`cellbench.train.loop.fit`). Its default options (gamma, eta_max, ...) are registry
metadata (:mod:`cellbench.models.registry`).

Two options bring the prior to the scale of the learned logits (both off by default):

- ``prior_scale``: ``'robust'`` (default) feeds the blocks the robust :math:`\tilde C` of
  :class:`~cellbench.prior.EdgeNormalizer` as it is; ``'standardized'`` z-scores it over each
  frame's real edges first (:func:`~cellbench.models.physattn_conv.standardize_per_graph`). The
  KL's :math:`\pi` is built from the same values (:meth:`PhysAttnNet.prior_edge_values`).
- ``learn_gamma``: the weight of the prior in the logits becomes a parameter per head and block,
  started at ``gamma_init`` (default 0.1); ``gamma`` then sets only the temperature of the fixed
  :math:`\pi` of the KL term (eq. 4: "the prior :math:`\pi` is fixed"). The values training chose
  are read with :meth:`PhysAttnNet.prior_scale_report`.
"""

from __future__ import annotations

import copy

from torch import Tensor
from torch_geometric.nn import MessagePassing

from cellbench.errors import ConfigError
from cellbench.models.net import GraphTemporalNet, NetConfig, Prediction
from cellbench.models.physattn_conv import PhysAttnConv, standardize_per_graph
from cellbench.models.temporal import TrackState

PRIOR_SCALES = ("robust", "standardized")
"""Values of ``prior_scale``: the robust :math:`\\tilde C` as it is, or z-scored per frame."""


class PhysAttnNet(GraphTemporalNet):
    r""":class:`GraphTemporalNet` with :class:`PhysAttnConv` blocks; ``cfg.gamma`` weighs the prior in the logits.

    Parameters
    ----------
    cfg : the architecture; ``cfg.gamma == 0`` leaves the prior out of the logits (then
        ``learn_gamma`` is ignored: the "KL only" ablation stays KL only).
    prior_scale : ``'robust'`` (default) or ``'standardized'`` (see the module docstring).
    learn_gamma : learn :math:`\gamma^{(h)}` per head and block (default False: ``cfg.gamma`` everywhere).
    gamma_init : the learned :math:`\gamma^{(h)}`'s starting value (default 0.1).
    """

    conv = "physattn"
    supports_edge_bias = True

    def __init__(self, cfg: NetConfig, prior_scale: str = "robust", learn_gamma: bool = False, gamma_init: float = 0.1):
        if prior_scale not in PRIOR_SCALES:
            raise ConfigError(f"prior_scale {prior_scale!r} is unknown; choose one of {PRIOR_SCALES}")
        if not isinstance(learn_gamma, bool):
            raise ConfigError(f"learn_gamma {learn_gamma!r}: must be true or false")
        self.prior_scale = prior_scale
        self.learn_gamma = learn_gamma and cfg.gamma != 0.0
        self.gamma_init = float(gamma_init)
        super().__init__(cfg)

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing:
        return PhysAttnConv(in_channels, out_channels, heads=heads, gamma=self.cfg.gamma, edge_dim=edge_dim,
                            learn_gamma=self.learn_gamma, gamma_init=self.gamma_init)

    def prior_edge_values(self, batch) -> Tensor:
        r"""The prior values the blocks add to their logits (times :math:`\gamma`), shape (n_edges,).

        ``batch.c_tilde`` itself with ``prior_scale='robust'``; z-scored over each frame's real
        edges (self loops stay 0) with ``'standardized'``. The training loop builds the KL's
        :math:`\pi` from these values too.
        """
        if self.prior_scale == "robust":
            return batch.c_tilde
        real = batch.edge_index[0] != batch.edge_index[1]
        return standardize_per_graph(batch.c_tilde, batch.edge_ptr, real)

    def forward(self, batch, state: TrackState, return_attention: bool = True) -> Prediction:
        if self.prior_scale != "robust":
            batch = copy.copy(batch)  # shallow: the caller's batch (and its cached frames) stay untouched
            batch.c_tilde = self.prior_edge_values(batch)
        return super().forward(batch, state, return_attention)

    def prior_scale_report(self) -> dict:
        """The scale of the prior in the logits, JSON-ready: what training chose when gamma is learned.

        ``gamma`` lists, per block, the weight of each head (the learned values with
        ``learn_gamma``, else ``cfg.gamma`` repeated); ``gamma_mean`` is their mean.
        """
        gammas = [[round(g, 6) for g in conv.gamma_per_head] for conv in self.convs]  # float32: 6 digits hold
        flat = [g for block in gammas for g in block]
        return {"prior_scale": self.prior_scale, "learn_gamma": self.learn_gamma,
                "gamma_init": self.gamma_init if self.learn_gamma else None,
                "gamma": gammas, "gamma_mean": sum(flat) / len(flat) if flat else None}
