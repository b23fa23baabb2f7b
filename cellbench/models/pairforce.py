r"""``pairforce``: a positive control that can represent a pair force exactly; track LSTM for the rest.

Each cell's displacement over the next frame, in standardized target units
(:class:`~cellbench.inputs.batching.TargetScaler`: :math:`\tilde{\mathbf y} = (\mathbf y - \mathbf m)/s`), is

.. math::
    \boldsymbol\mu_i^t = \underbrace{\sum_{j \in \mathcal N(i)} f(r_{ij})\, \hat{\mathbf e}_{ji}}_{\mathbf P_i^t}
    + \underbrace{\sum_{k=1}^{K} a_{i,k}^t\, \mathbf w_{i,k}}_{\mathbf g_i^t},
    \qquad \hat{\mathbf e}_{ji} = \frac{\mathbf x_i - \mathbf x_j}{r_{ij}},
    \qquad f(r) = \mathrm{MLP}\big(\varphi(r / r_\mathrm{cut})\big)\,\big(1 - (r / r_\mathrm{cut})^2\big)^2

- **pair term** :math:`\mathbf P`: :math:`f` is an MLP (SiLU, two hidden layers of 32) of the distance,
  read through 32 Gaussians :math:`\varphi` on [0, 1] (:class:`PairForceMLP`), summed over the radius graph (:mod:`cellbench.inputs.graphs`; pairs up to ``r_cut_um``), times a smooth
  envelope that takes it to 0 at :math:`r_\mathrm{cut}` (a neighbour entering the graph adds nothing
  abruptly). :math:`f > 0` pushes i away from j (repulsion). In um per frame the learned response is
  :math:`s\, f(r)` (:meth:`PairForceNet.pair_force_um`, :func:`pair_force_um`): with
  :math:`\mathbf y = s \tilde{\mathbf y} + \mathbf m` the prediction in um is
  :math:`\mathbf m + s \mathbf g + \sum_j s f(r_{ij}) \hat{\mathbf e}_{ji}`, so the pair term in um is
  exactly :math:`s f`, and the training mean :math:`\mathbf m` is a constant beside it.
- **self term** :math:`\mathbf g` (the cell's own history): the track LSTM of the ``lstm`` model, fed
  invariants only, outputs weights :math:`a_{i,k}` of the *active residuals*
  :math:`\mathbf w_{i,k} = \mathbf v_{i,k} - \mathbf P_i^{t-k}`: the track's past displacement at lag k
  minus what the pair term predicted for that step (0 when the track was not in that frame). For an
  active cell :math:`\mathbf w` estimates the self-propulsion :math:`v_0 \mathbf e(\theta)\tau` even
  when neighbours block it (a cell pushing into a cluster barely moves, but it overlaps); for a
  passive cell it is noise and :math:`a \to 0`. The LSTM reads the Gram matrix of
  :math:`(\mathbf v_{i,1..K}, \mathbf w_{i,1..K}, \mathbf P_i^t)`, the lag availability flags and the
  scalar node features (neighbour count, radius), all detached from :math:`f`. :math:`\mathbf g` only
  weighs past vectors, never :math:`\mathbf P^t`, so it cannot rescale the pair term: :math:`f` keeps
  its meaning and is trained through :math:`\mathbf P^t` and through the residuals (within the
  truncated-backpropagation window).

K = ``n_lags`` (registry default 4: on abp-wca, test RMSE 0.1790 um with 2 lags, 0.1773 with 4 and 6).
Heteroscedastic: one invariant :math:`\log\sigma^2` per cell for both axes.

Symmetries: the output :math:`\boldsymbol\mu` is exactly equivariant under rotations, reflections and
translations of all positions of all frames (the network reads relative positions and Gram
matrices only), in the open plane; a periodic box only under its own symmetries (multiples of 90
degrees). The un-standardized prediction adds the fixed training mean :math:`\mathbf m`. The pair
term of an isolated pair is antisymmetric, :math:`\mathbf P_i = -\mathbf P_j` (Newton's third law for
equal mobilities).

Cutoff: the learned model's default graph radius (2.5 x the median nearest-neighbour distance) is
used unchanged; on the presets it covers the potentials' range: passive-wca 27.7 um and abp-wca
26.5 um against WCA's 11.2 um, passive-yukawa 38.5 um against the Yukawa cut of 30 um (seed 0).
Pass ``r_cut_um`` when a potential reaches further.

Walls: with the learned model's ``wall_features`` on (a microwell, a colony in a dish), the pair term
gains a wall term :math:`h(d_i / r_\mathrm{cut})\, \hat{\mathbf n}_i`, with :math:`d_i` the distance to
the region boundary and :math:`\hat{\mathbf n}_i` its inward normal
(:func:`cellbench.inputs.graphs.wall_features`), :math:`h` a second :class:`PairForceMLP` (0 from one
graph radius away; a cell outside the region reads :math:`d = 0`): :math:`\mathbf P_i` is then every
force from outside the cell, and the active residuals subtract it too. The wall distance joins the
invariants; the normal, a vector, enters only through the wall term. It is the only optional input
the network takes (:attr:`PairForceNet.optional_inputs`): an absolute position or other edge
features would break its symmetries.

Measured (seed 0, defaults): test RMSE / oracle's 0.98 on passive-wca and 1.02 on passive-yukawa;
RMSE / filtered oracle's 1.095 on abp-wca (its excess is in cells with contacts: pair-additive
one-frame responses miss how stiff contacts relax within a frame). With 20-s frames the learned
:math:`s f` is not :math:`\mu F \tau` nor the noise-free two-body response (the probe's truth): it
is the response averaged over 20 s of diffusion in a crowd (noise carries pairs into contact), and
on passive-wca it predicts better than the noise-free oracle. With short frames (0.04 s WCA, 0.5 s
Yukawa with every cell observed) the probe's response curve is within 7 % of the truth where the
data hold pairs; cells near the edge of a field of view, whose neighbours beyond it are unseen,
shrink :math:`f` (Yukawa 0.5 s: 14 %).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from cellbench.errors import ConfigError
from cellbench.inputs.batching import DIST_COL, REL_COLS
from cellbench.models.net import GraphTemporalNet, NetConfig, Prediction, column_layout
from cellbench.models.temporal import TrackState

PAIR_HIDDEN = 32
"""Width of the two hidden layers of the pair-force MLP f."""
PAIR_RBF = 32
"""Gaussian radial basis functions on [0, r_cut] fed to f."""
WALL_COLS = ("wall_distance_over_r_cut", "wall_normal_x", "wall_normal_y")
"""Node feature columns of the wall term (:func:`cellbench.inputs.batching.node_feature_names`)."""


class PairForceMLP(nn.Module):
    r"""The radial response :math:`f(u) = \mathrm{MLP}(\varphi(u))\,(1 - u^2)^2` of :math:`u = r / r_\mathrm{cut}`.

    :math:`\varphi_k(u) = \exp(-(u - u_k)^2 / (2 w^2))`, ``n_rbf`` centres :math:`u_k` evenly on [0, 1] and
    :math:`w = 1 / n_\mathrm{rbf}` (a resolution of ``r_cut / n_rbf``; a bare :math:`u` input needs
    ~5x more optimizer steps to fit a WCA-steep response); then two SiLU layers of ``hidden``.
    Standardized target units per frame; positive = repulsion. Input and output shaped (n,).
    The last layer starts at zero: an untrained model has no pair term.
    """

    def __init__(self, hidden: int = PAIR_HIDDEN, n_rbf: int = PAIR_RBF):
        super().__init__()
        self.register_buffer("centres", torch.linspace(0.0, 1.0, n_rbf), persistent=False)
        self.width = 1.0 / n_rbf
        self.net = nn.Sequential(nn.Linear(n_rbf, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, u: Tensor) -> Tensor:
        phi = torch.exp(-0.5 * ((u[:, None] - self.centres) / self.width) ** 2)
        envelope = (1.0 - u.clamp(max=1.0) ** 2) ** 2
        return self.net(phi)[:, 0] * envelope


class PairForceConv(MessagePassing):
    r"""The pair term as a graph block: :math:`\mathbf P_i = \sum_{j \in \mathcal N(i)} f(r_{ij})\, \hat{\mathbf e}_{ji}`.

    Message of the edge :math:`j \to i`: :math:`f(r_{ij}) (\mathbf x_i - \mathbf x_j) / r_{ij}`, summed over
    the incoming edges of each target (``aggr='add'``). Self loops (r = 0) send nothing.

    Shapes
    ------
    ``forward(edge_index, edge_attr, n_nodes)``: edge_index (2, n_edges), source j in row 0, target i in
    row 1; edge_attr (n_edges, EDGE_DIM) (:func:`cellbench.inputs.batching.edge_features`); returns
    (n_nodes, 2) in standardized target units.
    """

    def __init__(self, hidden: int = PAIR_HIDDEN, n_rbf: int = PAIR_RBF):
        super().__init__(aggr="add")
        self.f = PairForceMLP(hidden, n_rbf)

    def forward(self, edge_index: Tensor, edge_attr: Tensor, n_nodes: int) -> Tensor:
        return self.propagate(edge_index, edge_attr=edge_attr, size=(n_nodes, n_nodes))

    def message(self, edge_attr: Tensor) -> Tensor:
        u = edge_attr[:, DIST_COL]
        real = u > 0
        unit_ji = -edge_attr[:, REL_COLS] / torch.where(real, u, torch.ones_like(u))[:, None]  # (x_i - x_j) / r_ij
        return torch.where(real[:, None], self.f(u)[:, None] * unit_ji, torch.zeros_like(unit_ji))


class PairForceState:
    """Per-track state: the LSTM's (:attr:`lstm`) and the last ``n_lags`` pair terms (:attr:`pair`), both keyed by track.

    :attr:`pair` is a :class:`TrackState` of width ``2 n_lags`` holding
    :math:`(\\mathbf P^{t-1}, .., \\mathbf P^{t-K})` in its ``h`` (its ``c`` is an unused copy).
    """

    def __init__(self, hidden: int, n_lags: int):
        self.lstm = TrackState(hidden)
        self.pair = TrackState(2 * n_lags)

    def detach(self) -> None:
        self.lstm.detach()
        self.pair.detach()


class PairForceNet(GraphTemporalNet):
    """Pair term plus track-LSTM self term (see the module docstring); returns no attention.

    Its one graph block (:meth:`init_conv`) is the :class:`PairForceConv`; the base class's encoder
    (raw features) and head (two numbers) are replaced, under the same names and in the same order,
    by an encoder on the invariants (two layers) and a head giving the ``n_lags`` weights
    :math:`a_{i,k}` (plus one :math:`\\log\\sigma^2` when heteroscedastic). The track LSTM is the base's.

    Shapes
    ------
    ``forward(batch, state)``: as :class:`GraphTemporalNet` (``state`` a :class:`PairForceState`);
    mu (n_nodes, 2) in standardized units, attention None.
    """

    conv = "pairforce"
    optional_inputs = ("wall_features",)

    def __init__(self, cfg: NetConfig):
        self.n_lags, self.feature_names = column_layout(cfg)
        super().__init__(cfg)
        h, K = cfg.hidden, self.n_lags
        col = {name: i for i, name in enumerate(self.feature_names)}
        self._dx = [col[f"dx_lag{k}"] for k in range(1, K + 1)]
        self._dy = [col[f"dy_lag{k}"] for k in range(1, K + 1)]
        self._has = [col[f"has_lag{k}"] for k in range(1, K + 1)]
        self._wall = [col[name] for name in WALL_COLS] if WALL_COLS[0] in col else None
        vectors = set(self._dx) | set(self._dy) | set(self._wall[1:] if self._wall else ())
        self._scalars = [i for i in range(len(self.feature_names)) if i not in vectors]
        n_vec = 2 * K + 1
        self.encoder = nn.Sequential(nn.Linear(n_vec * (n_vec + 1) // 2 + len(self._scalars), h), nn.GELU(),
                                     nn.Linear(h, h))
        self.head = nn.Linear(h, K + (1 if cfg.heteroscedastic else 0))
        self.wall = PairForceMLP() if self._wall else None  # made last: without walls nothing else changes

    def init_conv(self, in_channels: int, out_channels: int, heads: int, edge_dim: int) -> PairForceConv | None:
        """One :class:`PairForceConv` (the first call), then None: the pair term is the only graph block."""
        return None if len(self.convs) else PairForceConv()

    @property
    def pair(self) -> PairForceConv:
        return self.convs[0]

    def new_state(self) -> PairForceState:
        return PairForceState(self.cfg.hidden, self.n_lags)

    def forward(self, batch, state: PairForceState, return_attention: bool = True) -> Prediction:
        x = batch.x
        n, K = x.shape[0], self.n_lags
        p_now = self.pair(batch.edge_index, batch.edge_attr, n)
        if self.wall is not None:
            p_now = p_now + self.wall_term(x)
        p_past, _ = state.pair.gather(batch.keys, x)  # (n, 2K): P^{t-1} .. P^{t-K}, 0 for unseen tracks
        memory = torch.cat([p_now, p_past[:, :2 * K - 2]], dim=1)
        state.pair.replace(batch.keys, memory, memory)
        vel = torch.stack([x[:, self._dx], x[:, self._dy]], dim=2)  # (n, K, 2): past displacements / s
        resid = vel - p_past.view(n, K, 2) * x[:, self._has, None]  # active residuals w_k
        vecs = torch.cat([vel, resid.detach(), p_now.detach()[:, None]], dim=1)  # (n, 2K + 1, 2)
        k, l = torch.triu_indices(2 * K + 1, 2 * K + 1)
        inv = torch.cat([(vecs[:, k] * vecs[:, l]).sum(dim=2), x[:, self._scalars]], dim=1)
        a = self.head(self.lstm(F.gelu(self.encoder(inv)), batch.keys, state.lstm))
        mu = p_now + (a[:, :K, None] * resid).sum(dim=1)
        if self.cfg.heteroscedastic:
            return Prediction(mu, a[:, K:].clamp(-10.0, 10.0).expand(-1, 2), None)
        return Prediction(mu, None, None)

    def wall_term(self, x: Tensor) -> Tensor:
        """:math:`h(d_i / r_\\mathrm{cut})\\, \\hat{\\mathbf n}_i`, shape (n_nodes, 2), standardized units (see the module docstring)."""
        d, nx, ny = (x[:, c] for c in self._wall)
        return self.wall(d.clamp(min=0.0))[:, None] * torch.stack([nx, ny], dim=1)

    @torch.no_grad()
    def pair_force_um(self, r_um: np.ndarray, r_cut_um: float, scale_um: float) -> np.ndarray:
        """The learned radial response :math:`s f(r)` in um per frame (positive = repulsion), shaped like ``r_um``.

        Parameters
        ----------
        r_um : distances in um (0 beyond ``r_cut_um``: the pair is not in the graph).
        r_cut_um : the graph radius the network was trained with, um.
        scale_um : the target scale :math:`s` it was trained with, um per frame.
        """
        r = np.asarray(r_um, dtype=float)
        device = next(self.parameters()).device
        u = torch.as_tensor(r.ravel() / r_cut_um, dtype=torch.float32, device=device)
        out = self.pair.f(u).double().cpu().numpy() * scale_um
        return np.where(r.ravel() < r_cut_um, out, 0.0).reshape(r.shape)


def pair_force_um(model, r_um: np.ndarray) -> np.ndarray:
    """The learned radial displacement per frame (um, positive = repulsion) of a fitted ``pairforce`` predictor.

    Parameters
    ----------
    model : ``cellbench.train.build.build("pairforce").fit(data)`` (its ``net``, ``r_cut_um`` and
        ``scaler`` are read).
    r_um : array of distances in um.

    Compare with the simulator's :math:`\\mu F(r) \\tau` (mobility ``meta['mu']``, force from
    :mod:`cellbench.sim.potentials`, frame interval ``meta['frame_interval_s']``) when the frame is
    short against the time contacts take to relax.
    """
    if not isinstance(getattr(model, "net", None), PairForceNet):
        raise ConfigError("pair_force_um needs a fitted 'pairforce' model (build('pairforce').fit(data))")
    return model.net.pair_force_um(r_um, model.r_cut_um, model.scaler.scale_um)
