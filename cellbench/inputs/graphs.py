r"""Causal per-frame radius graphs (the paper's section 3).

For frame t, nodes are the cells detected in t and directed edges :math:`i \to j` join every
pair with :math:`r_{ij} \le r_\mathrm{cut}`, both directions, no self loops. Messages flow
from source i (``edge_index[0]``) to target j (``edge_index[1]``); attention softmaxes group by
the target. A frame with no edge gets one self-loop per cell with zero distance and zero
prior (the paper's rule for empty graphs). Only positions of frame t are used.

Built with scipy's ``cKDTree`` (PyG's ``radius_graph`` needs compiled extras).

Also the frame's other geometry: the region boundary a cell may feel (:class:`Disk`, a microwell
or a disk fitted to a colony; :func:`wall_features`), and what a graph radius cuts from a known
interaction range (:func:`pairs_beyond_cut`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from cellbench import space
from cellbench.data.tracks import Tracks
from cellbench.errors import ConfigError

R_CUT_NN_MULTIPLE = 2.5
"""Default r_cut = 2.5 x the median nearest-neighbour distance of the training frames: wide
enough for the first neighbour shell of a dense fluid (peak of g(r) near 1 NN distance, first
minimum near 1.5-2) and a few neighbours in sparse frames, small enough to stay local."""


@dataclass(frozen=True)
class FrameGraph:
    """The radius graph of one frame.

    Attributes
    ----------
    frame : frame index t.
    rows : (n_nodes,) row indices of the nodes in the Tracks table.
    track_id : (n_nodes,) track ids of the nodes.
    pos_um : (n_nodes, 2) positions in um.
    edge_index : (2, n_edges) int64, source i in row 0, target j in row 1.
    d_um : (n_edges,) distances r_ij in um (0 on self loops).
    rel_um : (n_edges, 2) x_i - x_j in um: the source seen from the target (0 on self loops).
    self_loop : (n_edges,) bool, True on the self-loop edges of a frame without edges.
    """

    frame: int
    rows: np.ndarray
    track_id: np.ndarray
    pos_um: np.ndarray
    edge_index: np.ndarray
    d_um: np.ndarray
    rel_um: np.ndarray
    self_loop: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.rows)

    @property
    def n_edges(self) -> int:
        return self.edge_index.shape[1]


@dataclass(frozen=True)
class Disk:
    """A circular region boundary: a microwell, or a disk fitted to a colony.

    center_um : (x, y) in um. radius_um : in um, > 0. source : where it comes from (for reports).
    """

    center_um: tuple[float, float]
    radius_um: float
    source: str

    def __post_init__(self):
        if not (np.isfinite(self.radius_um) and self.radius_um > 0):
            raise ConfigError(f"{self.source}: disk radius must be a finite number > 0 um, got {self.radius_um}")

    def to_dict(self) -> dict:
        return {"center_um": [float(v) for v in self.center_um], "radius_um": float(self.radius_um),
                "source": self.source}


def microwell_disk(tracks: Tracks) -> Disk | None:
    """The well of a microwell simulation from its metadata (``meta.extra``), else None.

    :func:`cellbench.sim.engine.run_meta` records ``boundary: 'microwell'`` and ``well_radius_um``;
    the engine's wall is centred on the origin (``well_center_um`` overrides it when present).
    """
    extra = tracks.meta.extra or {}
    if extra.get("boundary") != "microwell" or extra.get("well_radius_um") is None:
        return None
    cx, cy = extra.get("well_center_um", (0.0, 0.0))
    return Disk((float(cx), float(cy)), float(extra["well_radius_um"]), "microwell (simulation metadata)")


@dataclass(frozen=True)
class Boundaries:
    """The region boundary of each sequence a model sees, fixed when the model is fitted.

    :meth:`disk_for` looks in this order: the well of a microwell simulation (:func:`microwell_disk`),
    the disk stored for the sequence's name (``meta.dataset``; rollout windows and probes keep their
    sequence's name), then ``fallback``; with none of them it raises.

    by_dataset : (dataset name, :class:`Disk`) pairs. fallback : the disk for any other sequence, or None.
    """

    by_dataset: tuple[tuple[str, Disk], ...] = ()
    fallback: Disk | None = None

    def disk_for(self, tracks: Tracks) -> Disk:
        well = microwell_disk(tracks)
        if well is not None:
            return well
        disk = dict(self.by_dataset).get(tracks.meta.dataset, self.fallback)
        if disk is None:
            raise ConfigError(f"{tracks.meta.dataset}: wall features need a region boundary, and the model was "
                              "fitted with none for this sequence (not a microwell simulation, no fitted disk)")
        return disk

    def to_dict(self) -> dict:
        return {"by_dataset": {name: d.to_dict() for name, d in self.by_dataset},
                "fallback": None if self.fallback is None else self.fallback.to_dict()}


def wall_features(pos_um: np.ndarray, disk: Disk, r_cut_um: float) -> np.ndarray:
    r"""Distance to a circular boundary and the inward unit normal.

    .. math::
        \left(\frac{R - |\mathbf x - \mathbf c|}{r_\mathrm{cut}},\
        \frac{\mathbf c - \mathbf x}{|\mathbf c - \mathbf x|}\right)

    The distance is signed (negative outside the disk); the normal is 0 at the centre.

    Parameters
    ----------
    pos_um : (n_nodes, 2) positions in um. disk : the boundary. r_cut_um : graph radius in um.

    Returns
    -------
    (n_nodes, 3) float64: distance over r_cut, normal x, normal y.
    """
    inward = np.asarray(disk.center_um, dtype=float)[None, :] - np.asarray(pos_um, dtype=float)
    rho = np.hypot(inward[:, 0], inward[:, 1])
    unit = np.divide(inward, rho[:, None], out=np.zeros_like(inward), where=rho[:, None] > 0)
    return np.concatenate([((disk.radius_um - rho) / r_cut_um)[:, None], unit], axis=1)


def radius_edges(
    pos_um: np.ndarray, r_cut_um: float, box_um: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed radius-graph edges of one frame.

    Parameters
    ----------
    pos_um : (n_nodes, 2) positions in um.
    r_cut_um : cutoff radius in um, > 0.
    box_um : side of a periodic square box in um (positions wrapped, minimum image; :mod:`cellbench.space`),
        or None for the open plane.

    Returns
    -------
    edge_index : (2, n_edges) int64; both directions of every pair, no self loops, sorted by
        (target, source). With no pair within r_cut, one self loop per node.
    d_um : (n_edges,), rel_um : (n_edges, 2) source minus target, self_loop : (n_edges,) bool.
    """
    pos_um = np.asarray(pos_um, dtype=np.float64)
    if pos_um.ndim != 2 or pos_um.shape[1] != 2:
        raise ValueError(f"pos_um must have shape (n_nodes, 2), found {pos_um.shape}")
    if not r_cut_um > 0:
        raise ConfigError(f"--r-cut-um {r_cut_um}: must be > 0 um")
    n = len(pos_um)
    pos_um = space.wrap(pos_um, box_um)
    tree = cKDTree(pos_um, boxsize=box_um)  # boxsize None: the open plane
    pairs = tree.query_pairs(r_cut_um, output_type="ndarray") if n > 1 else np.empty((0, 2), dtype=np.int64)
    if len(pairs) == 0:
        loops = np.arange(n, dtype=np.int64)
        return np.stack([loops, loops]), np.zeros(n), np.zeros((n, 2)), np.ones(n, dtype=bool)
    src = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
    order = np.lexsort((src, dst))
    src, dst = src[order], dst[order]
    rel = space.minimum_image(pos_um[src] - pos_um[dst], box_um)
    return np.stack([src, dst]), np.hypot(rel[:, 0], rel[:, 1]), rel, np.zeros(len(src), dtype=bool)


def frame_graphs(tracks: Tracks, r_cut_um: float) -> list[FrameGraph]:
    """One :class:`FrameGraph` per frame that holds cells, in frame order."""
    df = tracks.df
    frames = df["frame"].to_numpy()
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    ends = np.r_[starts[1:], len(frames)]
    pos = tracks.positions_um()
    tids = df["track_id"].to_numpy()
    box = tracks.periodic_box_um
    graphs = []
    for a, b in zip(starts, ends):
        edge_index, d_um, rel_um, self_loop = radius_edges(pos[a:b], r_cut_um, box)
        graphs.append(
            FrameGraph(int(frames[a]), np.arange(a, b), tids[a:b], pos[a:b], edge_index, d_um, rel_um, self_loop)
        )
    return graphs


def nearest_neighbour_um(tracks: Tracks, frames: np.ndarray | None = None) -> np.ndarray:
    """Nearest-neighbour distance (um) of every cell in ``frames`` (all frames by default) that has a neighbour."""
    df = tracks.df
    box = tracks.periodic_box_um
    keep = np.ones(len(df), dtype=bool) if frames is None else np.isin(df["frame"].to_numpy(), frames)
    out = []
    for _, group in df[keep].groupby("frame"):
        if len(group) < 2:
            continue
        p = space.wrap(group[["x_um", "y_um"]].to_numpy(), box)
        d, _ = cKDTree(p, boxsize=box).query(p, k=2)
        out.append(d[:, 1])
    return np.concatenate(out) if out else np.empty(0)


def default_r_cut_um(train: list[tuple[Tracks, np.ndarray]]) -> float:
    """:data:`R_CUT_NN_MULTIPLE` x the median nearest-neighbour distance over training frames.

    Parameters
    ----------
    train : (tracks, frames) pairs: the training frames of each sequence.
    """
    nn = np.concatenate([nearest_neighbour_um(t, f) for t, f in train] or [np.empty(0)])
    if len(nn) == 0:
        raise ConfigError(
            "cannot choose a default --r-cut-um: no training frame holds two cells; pass --r-cut-um explicitly"
        )
    return float(R_CUT_NN_MULTIPLE * np.median(nn))


def pairs_beyond_cut(train: list[tuple[Tracks, np.ndarray]], r_cut_um: float,
                     r_interact_um: float) -> tuple[int, int]:
    """What a graph radius cuts: pairs closer than ``r_interact_um``, and how many of them lie beyond ``r_cut_um``.

    Counts unordered pairs once per frame, with the graph's distances (observed positions, minimum
    image in a periodic box): ``n_interacting`` with :math:`r_{ij} < r_\\mathrm{interact}`, and
    ``n_beyond`` of those with :math:`r_{ij} > r_\\mathrm{cut}` (no edge in the radius graph).

    Parameters
    ----------
    train : (tracks, frames) pairs, e.g. the training frames of each sequence.
    r_cut_um : graph radius in um. r_interact_um : interaction range in um (a potential's cutoff).

    Returns
    -------
    (n_interacting, n_beyond) ints.
    """
    n_interacting = n_beyond = 0
    for tracks, frames in train:
        df = tracks.df
        keep = np.isin(df["frame"].to_numpy(), frames)
        box = tracks.periodic_box_um
        for _, group in df[keep].groupby("frame"):
            _, d_um, _, loop = radius_edges(group[["x_um", "y_um"]].to_numpy(), r_interact_um, box)
            d_um = d_um[~loop & (d_um < r_interact_um)]
            n_interacting += len(d_um) // 2  # both directions of every pair
            n_beyond += int(np.sum(d_um > r_cut_um)) // 2
    return n_interacting, n_beyond
