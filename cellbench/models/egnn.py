r"""``egnn``: an E(2)-equivariant graph network (Satorras, Hoogeboom and Welling 2021) with the track LSTM.

Every node feature and every edge feature is split into what rotates and what does not
(:func:`split_node_features`, :func:`edge_invariants`). The network reads only invariants and
outputs a displacement built from vectors with invariant weights:

.. math::
    \mathbf h_i^{(0)} = \mathrm{GELU}\big(\mathbf W_\mathrm{in}\, [\mathbf v_{i,k} \cdot \mathbf v_{i,l}\ (k \le l),\
    a_{i,k},\ s_i]\big),

    \mathbf m_{ij} = \phi_e\big(\mathbf h_i, \mathbf h_j, r_{ij}^2 / r_\mathrm{cut}^2, \varphi_1(r_{ij}) ..
    \varphi_K(r_{ij})\big), \quad
    \mathbf h_i^{(l)} = \mathbf h_i^{(l-1)} + \phi_h\Big(\mathbf h_i^{(l-1)}, \frac{1}{|\mathcal N(i)|}
    \sum_j \mathbf m_{ij}\Big), \quad
    \boldsymbol\Delta_i^{(l)} = \sum_{j \in \mathcal N(i)} \frac{\mathbf x_i - \mathbf x_j}{r_\mathrm{cut}}\,
    \phi_x(\mathbf m_{ij}),

    \mathbf g_i^t = \mathbf W_\mathrm{out}\, \mathrm{LSTM}(\mathbf h_i^{(2)}, \cdot), \qquad
    \boldsymbol\mu_i^t = \sum_{l=1}^{2} g_{i,l}^t\, \boldsymbol\Delta_i^{(l)} + \sum_{k=1}^{n_\mathrm{lags}}
    g_{i,2+k}^t\, \mathbf v_{i,k}

with :math:`\mathbf v_{i,k}` the track's past displacements (lag k, in target-scale units),
:math:`a_{i,k}` their availability flags, :math:`s_i` the scalar node features (log neighbour
count, radius), :math:`\varphi_k` the radial basis of :func:`cellbench.inputs.batching.edge_features`
and :math:`\mathbf x_i - \mathbf x_j` the relative position of the edge (minimum image). The sum
for :math:`\boldsymbol\Delta` is a superposition of pair terms along the separation, as pair
forces add; the message to :math:`\mathbf h` is averaged (its scale does not grow with crowding).
Positions are not moved between blocks: they are observations, the output is the displacement.
Heteroscedastic: one invariant :math:`\log\sigma^2` per cell, used for both axes (isotropic noise).

What is and is not equivariant
------------------------------
- Equivariant (exactly, up to float round-off): the network output :math:`\boldsymbol\mu` under any
  rotation or reflection of the plane and any translation applied to all positions of all frames,
  and under permutations of the nodes. Lag displacements rotate with the plane, so the encoder
  sees only their Gram matrix; the LSTM state is built from invariants only and stays invariant
  from frame to frame, and so are its gates :math:`\mathbf g`. No absolute position is read
  (the relative vector comes from the edge features), so translations drop out.
- Not equivariant: the un-standardized prediction :math:`s \boldsymbol\mu + \mathbf m`
  (:class:`~cellbench.inputs.batching.TargetScaler`) adds the training mean displacement
  :math:`\mathbf m`, a fixed vector (drift). Fitting on rotated data rotates :math:`\mathbf m` too,
  so fit-then-predict is equivariant as a whole; a fitted model is equivariant only when
  :math:`\mathbf m = 0`.
- A periodic square box is symmetric only under the rotations by multiples of 90 degrees (and
  its reflections); other rotations change which pairs are minimum images within r_cut.
- Reflections are included (E(2), not SE(2)): a chiral motion (cells that turn one way, as a
  chiral ABP does) cannot be expressed, since no pseudo-scalar such as :math:`\mathbf v_1 \times
  \mathbf v_2` is read. The other learned models (gat, transformer, physattn) read the raw
  vectors and are not equivariant at all.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from cellbench.inputs.batching import DIST_COL, REL_COLS
from cellbench.models.net import N_BLOCKS, GraphTemporalNet, NetConfig, Prediction, column_layout
from cellbench.models.temporal import TrackState



def split_node_features(x: Tensor, n_lags: int, names: list[str]) -> tuple[Tensor, Tensor]:
    """Lag vectors (n_nodes, n_lags, 2), which rotate, and invariants (n_nodes, n_invariants).

    Invariants: the Gram matrix :math:`\\mathbf v_k \\cdot \\mathbf v_l` (k <= l) of the lag vectors,
    their availability flags and the scalar features (neighbour count, radius).
    """
    col = {name: i for i, name in enumerate(names)}
    dx = [col[f"dx_lag{k}"] for k in range(1, n_lags + 1)]
    dy = [col[f"dy_lag{k}"] for k in range(1, n_lags + 1)]
    vel = torch.stack([x[:, dx], x[:, dy]], dim=2)
    vector_cols = set(dx) | set(dy)
    scalars = x[:, [i for i in range(len(names)) if i not in vector_cols]]
    k, l = torch.triu_indices(n_lags, n_lags)
    gram = (vel[:, k] * vel[:, l]).sum(dim=2)
    return vel, torch.cat([gram, scalars], dim=1)


def n_invariants(n_lags: int, names: list[str]) -> int:
    """Width of the invariants of :func:`split_node_features`."""
    return n_lags * (n_lags + 1) // 2 + len(names) - 2 * n_lags


def edge_invariants(edge_attr: Tensor, n_rbf: int) -> Tensor:
    """Rotation-invariant edge features, (n_edges, 1 + n_rbf): :math:`r^2 / r_\\mathrm{cut}^2` and the radial basis."""
    d = edge_attr[:, DIST_COL:DIST_COL + 1]
    return torch.cat([d * d, edge_attr[:, DIST_COL + 1:DIST_COL + 1 + n_rbf]], dim=1)


def _mlp(n_in: int, n_hidden: int, n_out: int, last_act: bool = False) -> nn.Sequential:
    layers = [nn.Linear(n_in, n_hidden), nn.GELU(), nn.Linear(n_hidden, n_out)]
    return nn.Sequential(*layers, nn.GELU()) if last_act else nn.Sequential(*layers)


class EGNNConv(MessagePassing):
    r"""One E(n)-equivariant block on fixed positions (Satorras et al. 2021, eqs. 3-6; see the module docstring).

    Parameters
    ----------
    channels : width of :math:`\mathbf h` (in and out).
    edge_channels : width of the invariant edge features (1 + n_rbf).

    Shapes
    ------
    ``forward(h, edge_index, rel, edge_inv)``: h (n_nodes, channels), edge_index (2, n_edges) source
    row 0 -> target row 1, rel (n_edges, 2) source minus target over r_cut, edge_inv (n_edges,
    edge_channels); returns h' (n_nodes, channels) and :math:`\boldsymbol\Delta` (n_nodes, 2).
    A node without incoming edges keeps h (residual) and gets :math:`\boldsymbol\Delta = 0`.
    """

    def __init__(self, channels: int, edge_channels: int):
        super().__init__(aggr="add")
        self.channels = channels
        self.phi_e = _mlp(2 * channels + edge_channels, channels, channels, last_act=True)
        self.phi_x = _mlp(channels, channels, 1)
        self.phi_h = _mlp(2 * channels, channels, channels)

    def forward(self, h: Tensor, edge_index: Tensor, rel: Tensor, edge_inv: Tensor) -> tuple[Tensor, Tensor]:
        out = self.propagate(edge_index, h=h, rel=rel, edge_inv=edge_inv)
        c = self.channels
        m_sum, delta, degree = out[:, :c], out[:, c:c + 2], out[:, c + 2:]
        m = m_sum / degree.clamp(min=1.0)
        return h + self.phi_h(torch.cat([h, m], dim=1)), delta

    def message(self, h_i: Tensor, h_j: Tensor, rel: Tensor, edge_inv: Tensor) -> Tensor:
        m = self.phi_e(torch.cat([h_i, h_j, edge_inv], dim=1))
        delta = -rel * self.phi_x(m)  # x_i - x_j with i the target
        return torch.cat([m, delta, torch.ones_like(delta[:, :1])], dim=1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels})"


class EGNNNet(GraphTemporalNet):
    """:class:`GraphTemporalNet` with :class:`EGNNConv` blocks and an equivariant head (module docstring).

    The base class's encoder (on raw features) and head (two numbers) are replaced, under the
    same names and in the same order, by an encoder on the invariants and a head that outputs the
    invariant gates :math:`\\mathbf g` (``N_BLOCKS + n_lags``, plus one :math:`\\log\\sigma^2` when
    heteroscedastic). Returns no attention.
    """

    conv = "egnn"
    optional_inputs = ()  # it reads columns by meaning: other columns would be misread as invariants

    def __init__(self, cfg: NetConfig):
        self.n_lags, self.feature_names = column_layout(cfg)
        super().__init__(cfg)
        h = cfg.hidden
        self.encoder = nn.Linear(n_invariants(self.n_lags, self.feature_names), h)
        self.head = nn.Linear(h, N_BLOCKS + self.n_lags + (1 if cfg.heteroscedastic else 0))

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> MessagePassing:
        self.n_rbf = (edge_dim - 3) // 3
        return EGNNConv(in_channels, 1 + self.n_rbf)

    def forward(self, batch, state: TrackState, return_attention: bool = True) -> Prediction:
        vel, inv = split_node_features(batch.x, self.n_lags, self.feature_names)
        rel = batch.edge_attr[:, REL_COLS]
        edge_inv = edge_invariants(batch.edge_attr, self.n_rbf)
        h = F.gelu(self.encoder(inv))
        deltas = []
        for conv in self.convs:
            h, delta = conv(h, batch.edge_index, rel, edge_inv)
            deltas.append(delta)
        g = self.head(self.lstm(h, batch.keys, state))
        basis = torch.cat([torch.stack(deltas, dim=1), vel], dim=1)  # (n_nodes, N_BLOCKS + n_lags, 2)
        n = basis.shape[1]
        mu = (g[:, :n, None] * basis).sum(dim=1)
        if self.cfg.heteroscedastic:
            return Prediction(mu, g[:, n:].clamp(-10.0, 10.0).expand(-1, 2), None)
        return Prediction(mu, None, None)
