r"""Frames -> tensors -> batches: what every learned model reads, and nothing else.

For each frame t of each sequence, :func:`build_frames` makes a :class:`FrameData` holding

=================  ===========================  ==============================================
name               shape                        meaning
=================  ===========================  ==============================================
``x``              (n_nodes, n_features)        causal node features (frames <= t only)
``edge_index``     (2, n_edges)                 radius graph, source row 0 -> target row 1
``edge_attr``      (n_edges, edge_dim)          :func:`edge_features` (``'rbf'``, edge_dim 3 + 3 n_rbf) or
                                                :func:`r_only_edge_features` (``'r_only'``, edge_dim 1)
``c_tilde``        (n_edges,)                   normalized prior :math:`\tilde C_{ij}` (0 on self loops)
``has_neighbour``  (n_nodes,)                   the node has at least one real incoming edge
``y``              (n_nodes, 2)                 standardized target (0 where invalid)
``split``          (n_nodes,) int8              0 train, 1 val, 2 test, -1 no valid target
=================  ===========================  ==============================================

Node features (:func:`node_feature_names`): the last ``n_lags`` one-step displacements of the
track (lag 1 = :math:`x^t - x^{t-1}`), divided by the training target scale and zero-filled,
with an availability flag each; :math:`\log(1 + n_\mathrm{neighbours})`; and the spot radius
over :math:`r_\mathrm{cut}` when the table has one. Never the target, never a frame after t, never
frame indices. Simulator truth is not read here at all.

Optional inputs (:class:`FeatureOptions`, all off by default; the default adds no column):

- ``edge_features='r_only'``: one edge column, :math:`r_{ij} / r_\mathrm{cut}` (the paper's "edge
  features, for example :math:`r_{ij}`"), instead of the relative position and its radial basis.
- ``position_bounds_um``: the absolute position, :func:`scaled_position`, scaled to [0, 1] per axis by
  a box fixed before the frames are built (the learned predictor passes :func:`position_bounds_um`,
  the bounding box of the training frames' positions), clipped to [0, 1] outside it.
- ``walls``: the region boundary of each sequence (:class:`~cellbench.inputs.graphs.Boundaries`);
  :func:`~cellbench.inputs.graphs.wall_features` gives the signed distance to it over
  :math:`r_\mathrm{cut}` and the inward unit normal.

Each is a function of the frame-t position and of values fixed before any frame is built, so the
features stay causal.

Targets are standardized with training statistics only: :math:`\tilde y = (y - m) / s`,
``m`` the per-component training mean and ``s`` the pooled training standard deviation (one
scale for both axes keeps the problem isotropic).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from cellbench.data.dataset import Dataset
from cellbench.data.splits import SPLITS
from cellbench.data.targets import history_um
from cellbench.data.tracks import Tracks
from cellbench.errors import ConfigError
from cellbench.inputs.graphs import Boundaries, frame_graphs, wall_features

SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}
N_RBF = 8
EDGE_DIM = 3 + 3 * N_RBF
"""Edge feature size of the default ``'rbf'`` features."""
EDGE_DIMS = {"rbf": EDGE_DIM, "r_only": 1}
REL_COLS = slice(0, 2)
"""Columns of :func:`edge_features` holding the source's position minus the target's (minimum image)
over r_cut: :math:`(\\mathbf x_j - \\mathbf x_i) / r_\\mathrm{cut}` for the edge j -> i."""
DIST_COL = 2
"""Column of :func:`edge_features` holding :math:`r_{ij} / r_\\mathrm{cut}`; the next ``N_RBF`` hold the radial basis."""
"""Edge feature size of each ``edge_features`` kind (:class:`FeatureOptions`)."""


def track_keys(lane: np.ndarray, track_id: np.ndarray) -> np.ndarray:
    """(n_nodes,) int64 keys identifying a track within a lane (lanes never share a track's state)."""
    return (np.asarray(lane, dtype=np.int64) << 40) + np.asarray(track_id, dtype=np.int64)


def edge_features(rel_um: np.ndarray, d_um: np.ndarray, r_cut_um: float, n_rbf: int = N_RBF) -> np.ndarray:
    r"""Edge features of ``i -> j`` from the source's position relative to the target.

    .. math::
        \mathbf e_{ij} = \left(\frac{\mathbf r_{ij}}{r_\mathrm{cut}},\ \frac{r_{ij}}{r_\mathrm{cut}},\
        \phi_k(r_{ij}),\ \phi_k(r_{ij})\,\hat{\mathbf r}_{ij}\right)_{k=1..K},
        \qquad \phi_k(r) = \exp\left(-\frac{(r - r_k)^2}{2 w^2}\right)

    with K = ``n_rbf`` centres :math:`r_k` evenly spaced on :math:`[0, r_\mathrm{cut}]` and
    :math:`w = r_\mathrm{cut} / K`: a radial basis, so that attention logits and values (linear in
    :math:`\mathbf e`) can express any smooth function of distance, and a pair force
    :math:`f(r)\hat{\mathbf r}`. Self loops (r = 0) get zero direction.

    Returns
    -------
    (n_edges, 3 + 3 n_rbf) float64.
    """
    d = np.asarray(d_um, dtype=float)
    centres = np.linspace(0.0, r_cut_um, n_rbf)
    width = r_cut_um / n_rbf
    phi = np.exp(-0.5 * ((d[:, None] - centres[None, :]) / width) ** 2)
    unit = np.divide(rel_um, d[:, None], out=np.zeros_like(rel_um, dtype=float), where=d[:, None] > 0)
    return np.concatenate([rel_um / r_cut_um, d[:, None] / r_cut_um, phi, phi * unit[:, :1], phi * unit[:, 1:]], axis=1)


def r_only_edge_features(d_um: np.ndarray, r_cut_um: float) -> np.ndarray:
    r"""The paper's edge feature: the distance alone, :math:`e_{ij} = r_{ij} / r_\mathrm{cut}`.

    Returns
    -------
    (n_edges, 1) float64, in [0, 1] (0 on self loops).
    """
    return np.asarray(d_um, dtype=float)[:, None] / r_cut_um


def zero_length_edge_features(edge_dim: int) -> np.ndarray:
    """Features of a zero-length edge (a cell seen from itself), shape (edge_dim,), for either kind.

    For layers that add self loops and know only ``edge_dim`` (:data:`EDGE_DIMS`).
    """
    kinds = [k for k, dim in EDGE_DIMS.items() if dim == edge_dim]
    if not kinds:
        raise ValueError(f"edge_dim {edge_dim} matches no edge feature kind; expected one of {EDGE_DIMS}")
    zero = np.zeros(1)
    if kinds[0] == "r_only":
        return r_only_edge_features(zero, 1.0)[0]
    return edge_features(np.zeros((1, 2)), zero, 1.0)[0]


def position_bounds_um(train: list[tuple[Tracks, np.ndarray]]) -> tuple[float, float, float, float]:
    """Bounding box ``(x_min, y_min, x_max, y_max)`` in um of the positions in the training frames.

    Parameters
    ----------
    train : (tracks, training frame indices) per sequence; all sequences are pooled.
    """
    pos = [t.positions_um()[np.isin(t.df["frame"].to_numpy(), f)] for t, f in train]
    pos = np.concatenate(pos) if pos else np.empty((0, 2))
    if len(pos) == 0:
        raise ConfigError("absolute_position: the training frames hold no cell to take a bounding box from")
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    if np.any(hi <= lo):
        raise ConfigError(f"absolute_position: the training positions span no area (bounding box {lo}..{hi} um)")
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def scaled_position(pos_um: np.ndarray, bounds_um: tuple[float, float, float, float]) -> np.ndarray:
    """(n_nodes, 2) positions scaled to [0, 1] per axis by ``bounds_um`` (x_min, y_min, x_max, y_max), clipped."""
    lo = np.asarray(bounds_um[:2], dtype=float)
    hi = np.asarray(bounds_um[2:], dtype=float)
    return np.clip((np.asarray(pos_um, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


@dataclass(frozen=True)
class FeatureOptions:
    """Optional inputs of :func:`build_frames` (see the module docstring); the default adds nothing.

    edge_features : ``'rbf'`` or ``'r_only'`` (:data:`EDGE_DIMS`).
    position_bounds_um : (x_min, y_min, x_max, y_max) in um scaling the absolute position, or None.
    walls : the region boundaries (:class:`~cellbench.inputs.graphs.Boundaries`), or None (no wall features).
    """

    edge_features: str = "rbf"
    position_bounds_um: tuple[float, float, float, float] | None = None
    walls: Boundaries | None = None

    def __post_init__(self):
        if self.edge_features not in EDGE_DIMS:
            raise ConfigError(f"edge_features {self.edge_features!r}: choose one of {sorted(EDGE_DIMS)}")

    @property
    def edge_dim(self) -> int:
        return EDGE_DIMS[self.edge_features]


@dataclass(frozen=True)
class TargetScaler:
    """Standardization of targets with training statistics: ``(y - mean_um) / scale_um``."""

    mean_um: np.ndarray  # (2,)
    scale_um: float

    @classmethod
    def fit(cls, data: Dataset) -> "TargetScaler":
        y = data.targets("train")
        scale = float(np.sqrt(np.mean((y - y.mean(axis=0)) ** 2)))
        return cls(y.mean(axis=0), scale if scale > 0 else 1.0)

    def to_dict(self) -> dict:
        return {"mean_um": [float(v) for v in self.mean_um], "scale_um": self.scale_um}


@dataclass
class FrameData:
    """One frame of one sequence as tensors (see the module docstring for shapes)."""

    seq: int
    frame: int
    rows: np.ndarray
    track_id: np.ndarray
    x: Tensor
    edge_index: Tensor
    edge_attr: Tensor
    d_um: np.ndarray
    c_tilde: Tensor
    has_neighbour: Tensor
    y: Tensor
    split: Tensor

    @property
    def n_nodes(self) -> int:
        return len(self.rows)


@dataclass
class Batch:
    """Several frames (one per lane) stacked as one disjoint graph.

    ``keys`` (n_nodes,) identifies (lane, track) for the LSTM state; ``frame_ptr`` (n_frames + 1,)
    the node range of each frame, ``edge_ptr`` its edge range.
    """

    x: Tensor
    edge_index: Tensor
    edge_attr: Tensor
    c_tilde: Tensor
    has_neighbour: Tensor
    y: Tensor
    split: Tensor
    keys: np.ndarray
    frame_ptr: np.ndarray
    edge_ptr: np.ndarray

    @property
    def n_nodes(self) -> int:
        return self.x.shape[0]

    def to(self, device) -> "Batch":
        """The same batch with its tensors on ``device`` (itself when they are there already)."""
        if self.x.device == torch.device(device):
            return self
        move = {name: getattr(self, name).to(device) for name in
                ("x", "edge_index", "edge_attr", "c_tilde", "has_neighbour", "y", "split")}
        return replace(self, **move)


def node_feature_names(n_lags: int, has_radius: bool, absolute_position: bool = False,
                       walls: bool = False) -> list[str]:
    """Names of the node feature columns, in order; the optional ones come last."""
    names = []
    for lag in range(1, n_lags + 1):
        names += [f"dx_lag{lag}", f"dy_lag{lag}", f"has_lag{lag}"]
    names.append("log1p_n_neighbours")
    if has_radius:
        names.append("radius_over_r_cut")
    if absolute_position:
        names += ["x_scaled", "y_scaled"]
    if walls:
        names += ["wall_distance_over_r_cut", "wall_normal_x", "wall_normal_y"]
    return names


def build_frames(
    data: Dataset,
    r_cut_um: float,
    scaler: TargetScaler,
    n_lags: int = 2,
    c_tilde_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    options: FeatureOptions | None = None,
    first_frames: list[int | None] | None = None,
) -> list[list[FrameData]]:
    """Per sequence, the list of its frames as :class:`FrameData`, in frame order.

    Parameters
    ----------
    r_cut_um : graph radius in um.
    scaler : training target statistics (targets and lag features share its scale).
    n_lags : number of past displacements in the node features.
    c_tilde_fn : maps edge distances (n_edges,) in um to the normalized prior :math:`\\tilde C`
        (n_edges,); None gives zeros (no prior).
    options : optional inputs (:class:`FeatureOptions`); None is the default, ``FeatureOptions()``.
    first_frames : per sequence, the first frame to build (None: every frame); the earlier frames of the
        table still feed the lag features of the frames built. None builds every frame of every sequence.
    """
    options = options or FeatureOptions()
    has_radius = all("radius_um" in s.tracks.df.columns for s in data.seqs)
    out = []
    for si, s in enumerate(data.seqs):
        hist = history_um(s.tracks, n_lags)  # frames <= t only
        avail = ~np.isnan(hist[:, :, 0])
        lag_feats = np.where(avail[:, :, None], hist / scaler.scale_um, 0.0)
        split = np.full(s.tracks.n_rows, -1, dtype=np.int8)
        for name, m in s.masks.items():
            split[m] = SPLIT_CODE[name]
        y = np.where(split[:, None] >= 0, (np.nan_to_num(s.y_um) - scaler.mean_um) / scaler.scale_um, 0.0)
        radius = s.tracks.df["radius_um"].to_numpy() / r_cut_um if has_radius else None
        disk = None if options.walls is None else options.walls.disk_for(s.tracks)
        first = None if first_frames is None else first_frames[si]
        a = 0 if first is None else int(np.searchsorted(s.tracks.df["frame"].to_numpy(), first, "left"))
        graphs = [] if a >= s.tracks.n_rows else frame_graphs(s.tracks if a == 0 else
                                                              s.tracks.row_window(a, s.tracks.n_rows), r_cut_um)
        frames = []
        for g in graphs:
            rows = g.rows + a
            real = ~g.self_loop
            n_nb = np.bincount(g.edge_index[1][real], minlength=g.n_nodes)
            cols = [np.concatenate([lag_feats[rows], avail[rows, :, None]], axis=2).reshape(len(rows), -1),
                    np.log1p(n_nb)[:, None]]
            if radius is not None:
                cols.append(radius[rows, None])
            if options.position_bounds_um is not None:
                cols.append(scaled_position(g.pos_um, options.position_bounds_um))
            if disk is not None:
                cols.append(wall_features(g.pos_um, disk, r_cut_um))
            x = np.concatenate(cols, axis=1)
            if options.edge_features == "r_only":
                ea = r_only_edge_features(g.d_um, r_cut_um)
            else:
                ea = edge_features(g.rel_um, g.d_um, r_cut_um)
            c = np.zeros(g.n_edges) if c_tilde_fn is None else np.where(real, c_tilde_fn(g.d_um), 0.0)
            frames.append(FrameData(
                seq=si, frame=g.frame, rows=rows, track_id=g.track_id,
                x=torch.as_tensor(x, dtype=torch.float32),
                edge_index=torch.as_tensor(g.edge_index, dtype=torch.long),
                edge_attr=torch.as_tensor(ea, dtype=torch.float32),
                d_um=g.d_um,
                c_tilde=torch.as_tensor(c, dtype=torch.float32),
                has_neighbour=torch.as_tensor(n_nb > 0),
                y=torch.as_tensor(y[rows], dtype=torch.float32),
                split=torch.as_tensor(split[rows]),
            ))
        out.append(frames)
    return out


def collate(frames: list[FrameData], lanes: list[int]) -> Batch:
    """Stack frames (frame k comes from lane ``lanes[k]``) into one :class:`Batch`."""
    n = np.array([f.n_nodes for f in frames])
    e = np.array([f.edge_index.shape[1] for f in frames])
    node_off = np.r_[0, np.cumsum(n)]
    edge_off = np.r_[0, np.cumsum(e)]
    if len(frames) == 1:
        f = frames[0]
        ei = f.edge_index
    else:
        ei = torch.cat([f.edge_index + int(o) for f, o in zip(frames, node_off[:-1])], dim=1)
    keys = np.concatenate([track_keys(np.full(f.n_nodes, lane), f.track_id) for f, lane in zip(frames, lanes)])
    cat = (lambda name: getattr(frames[0], name)) if len(frames) == 1 else (
        lambda name: torch.cat([getattr(f, name) for f in frames]))
    return Batch(
        x=cat("x"), edge_index=ei, edge_attr=cat("edge_attr"), c_tilde=cat("c_tilde"),
        has_neighbour=cat("has_neighbour"), y=cat("y"), split=cat("split"), keys=keys,
        frame_ptr=node_off, edge_ptr=edge_off,
    )
