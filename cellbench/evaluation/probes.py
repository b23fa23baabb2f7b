r"""Force-law probes: what a predictor has learnt about two cells at distance r, read off synthetic tables.

Two-body response. A target cell and one neighbour at distance r sit at the centre of the
template's field of view, motionless for ``history_frames`` frames (stationary histories). The
predictor's mean displacement of the target over the next frame, minus its prediction for the
target alone (same place, same history), projected on the unit vector from neighbour to target
and averaged over ``n_orientations`` pair axes :math:`\phi_k = 2\pi k / n`:

.. math:: R(r) = \big\langle (\hat{\mathbf d}_0(r, \phi) - \hat{\mathbf d}_0^{alone}) \cdot
          \mathbf e(\phi) \big\rangle_\phi \quad [\mathrm{um\ per\ frame}], \quad > 0 \text{ repulsion}

Additivity. The target with two neighbours (at r1 along the axis phi, at r2 along phi + angle)
against the sum of its single responses:

.. math:: \epsilon_{add} = 100\,\frac{|\mathbf R_{12} - (\mathbf R_1 + \mathbf R_2)|}{|\mathbf R_{12}|}\ [\%]

(2D response vectors, each minus the lone prediction; undefined when :math:`\mathbf R_{12} = 0`).

Every configuration is one :class:`~cellbench.data.dataset.Sequence` (frames 0 .. H-1, the
target track 0 first, the test mask on the last frame); all of them go to ``predictor.predict``
in one :class:`~cellbench.data.dataset.Dataset`. Probe tables copy the template's metadata
(frame interval, extra) with a field of view grown to hold the configurations, are open (no
periodic box), and give every cell the template's median ``radius_um`` when it has one.

:class:`OracleProbe` answers probe tables with the simulator's noise-free response
(:mod:`cellbench.sim.two_body`): the oracle used as a model.

Metrics of a response curve against the truth (:func:`response_errors`): the relative L2 error
over the grid, the range (the largest r where :math:`|R| \ge 5\,\%` of the curve's peak
:math:`\max_r |R|`; 0 for a curve that is 0 everywhere) and its error in um, and the sign
changes of each curve (counted over the points above 5 % of its peak; smaller ones count as 0).
The run's section is :mod:`cellbench.evaluation.probe_section`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellbench.data.dataset import Dataset, Sequence
from cellbench.data.splits import Block
from cellbench.data.tracks import NO_PARENT, Tracks, TracksMeta
from cellbench.sim.two_body import as_config, noise_free_displacements_um, orientations_rad, pair_positions_um

PEAK_FRACTION = 0.05
"""A response below this fraction of its curve's peak counts as none (range, sign changes)."""
HISTORY_FRAMES = 8
"""Default stationary history, frames (more than the lags any built-in model reads: AR 3, learned 2)."""
ADDITIVITY_ANGLE_DEG = 90.0
"""Default angle between the two neighbours' axes, degrees (their mutual distance is sqrt(r1^2 + r2^2))."""

RULES = {
    "placement": "target and neighbours at the centre of the template's field of view (grown to hold them), "
                 "open space (no periodic box)",
    "history": "stationary: every cell at the same position in frames 0 .. history_frames - 1; the prediction "
               "of the last frame is read",
    "baseline": "the same predictor's displacement of the target alone (same place, same history) is subtracted",
    "orientations": "pair axes 2 pi k / n_orientations, the response projected on the unit vector from "
                    "neighbour to target (> 0: repulsion) and averaged over them",
    "additivity": "100 |R12 - (R1 + R2)| / |R12| with 2D responses (each minus the lone prediction); "
                  "undefined (null) when R12 = 0",
}


def _checked_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _checked_r_um(r_um, name: str = "r_um") -> np.ndarray:
    r = np.asarray(r_um, dtype=float).reshape(-1)
    if len(r) == 0 or not np.all(np.isfinite(r) & (r > 0)):
        raise ValueError(f"{name} must hold finite distances > 0 um, got {np.asarray(r_um).tolist()!r:.80}")
    return r


def _centre_um(template: Tracks) -> np.ndarray:
    fov = template.meta.fov_um
    if fov is not None:
        return np.array([(fov[0] + fov[2]) / 2.0, (fov[1] + fov[3]) / 2.0])
    return template.positions_um().mean(axis=0)


def probe_meta(template: Tracks, extent_um: float) -> TracksMeta:
    """The template's metadata, its field of view grown to +-``2 extent_um`` around its centre, open space."""
    m = template.meta
    c = _centre_um(template)
    half = np.full(2, 2.0 * extent_um + 1.0)
    if m.fov_um is not None:
        half = np.maximum(half, [(m.fov_um[2] - m.fov_um[0]) / 2.0, (m.fov_um[3] - m.fov_um[1]) / 2.0])
    extra = dict(m.extra)
    if template.periodic_box_um is not None:  # a probe sits in open space: drop the box
        extra = {k: v for k, v in extra.items() if k not in ("periodic", "box_um")}
        extra["boundary"] = "open"
    extra["probe"] = "force-law probe (cellbench.evaluation.probes)"
    return TracksMeta(dataset=f"{m.dataset}:probe", pixel_um=m.pixel_um, frame_interval_s=m.frame_interval_s,
                      fov_um=(c[0] - half[0], c[1] - half[1], c[0] + half[0], c[1] + half[1]), extra=extra)


def _stationary_table(n_cells: int, history_frames: int, meta: TracksMeta, radius_um: float | None,
                      columns) -> Tracks:
    """A validated table of ``n_cells`` tracks (ids 0 .. n-1) in frames 0 .. H-1, all at the origin.

    Optional columns follow the template's ``columns``: ``radius_um`` (all ``radius_um``),
    ``parent_id`` (none), ``t_s`` (frame x frame interval).
    """
    n, H = n_cells, history_frames
    df = {"track_id": np.tile(np.arange(n, dtype=np.int64), H), "frame": np.repeat(np.arange(H, dtype=np.int64), n),
          "x_um": np.zeros(n * H), "y_um": np.zeros(n * H)}
    if radius_um is not None:
        df["radius_um"] = np.full(n * H, radius_um)
    if "parent_id" in columns:
        df["parent_id"] = np.full(n * H, NO_PARENT, dtype=np.int64)
    if "t_s" in columns and meta.frame_interval_s is not None:
        df["t_s"] = df["frame"] * meta.frame_interval_s
    return Tracks.from_table(pd.DataFrame(df), meta)


def probe_dataset(template: Tracks, configs_um: list[np.ndarray], history_frames: int = HISTORY_FRAMES) -> Dataset:
    """One stationary sequence per configuration, the test mask on its last frame.

    Parameters
    ----------
    template : the tracks whose metadata (and median radius) the probes copy.
    configs_um : list of (n_cells, 2) positions in um relative to the target, row 0 the target
        (track 0); placed at the centre of the template's field of view.
    history_frames : frames H >= 1 of stationary history (frames 0 .. H-1).

    Returns
    -------
    :class:`Dataset` of ``len(configs_um)`` sequences, split ``'time'``, one test block per sequence.
    """
    if not isinstance(template, Tracks):
        raise ValueError(f"template must be a cellbench Tracks, got {type(template).__name__}")
    H = _checked_int(history_frames, "history_frames", 1)
    if not configs_um:
        raise ValueError("no probe configuration given")
    rels = [np.asarray(c, dtype=float) for c in configs_um]
    for i, rel in enumerate(rels):
        if rel.ndim != 2 or rel.shape[1] != 2 or len(rel) == 0 or not np.all(np.isfinite(rel)):
            raise ValueError(f"probe configuration {i}: need finite (n_cells, 2) positions in um, "
                             f"found shape {rel.shape}")
    extent = max(float(np.max(np.hypot(rel[:, 0], rel[:, 1]))) for rel in rels)
    meta = probe_meta(template, extent)
    centre = _centre_um(template)
    radius = float(np.median(template.df["radius_um"])) if "radius_um" in template.df.columns else None
    protos: dict[int, Tracks] = {}  # one validated table per cell count; the others reuse it (row_window)
    seqs, blocks = [], []
    for i, rel in enumerate(rels):
        n = len(rel)
        if n not in protos:
            protos[n] = _stationary_table(n, H, meta, radius, template.df.columns)
        tracks = protos[n].row_window(0, n * H, np.tile(centre + rel, (H, 1)))  # rows by (frame, track)
        last = tracks.df["frame"].to_numpy() == H - 1
        masks = {"train": np.zeros(n * H, bool), "val": np.zeros(n * H, bool), "test": last}
        seqs.append(Sequence(tracks, np.full((n * H, 2), np.nan), masks))
        blocks.append(Block(i, "test", H - 1, H))
    return Dataset(meta.dataset, seqs, blocks, "time")


def predicted_targets_um(predictor, template: Tracks, configs_um: list[np.ndarray],
                         history_frames: int = HISTORY_FRAMES) -> np.ndarray:
    """(n_configs, 2) predicted displacement of the target (track 0, last frame), um per frame; one predict call."""
    data = probe_dataset(template, configs_um, history_frames)
    out = predictor.predict(data)
    if len(out) != len(data.seqs):
        raise ValueError(f"predict returned {len(out)} arrays for {len(data.seqs)} probe sequences")
    res = np.empty((len(data.seqs), 2))
    for k, (y, s) in enumerate(zip(out, data.seqs)):
        y = np.asarray(y, dtype=float)
        if y.shape != (s.tracks.n_rows, 2):
            raise ValueError(f"predict returned shape {y.shape} for probe sequence {k}, "
                             f"expected ({s.tracks.n_rows}, 2)")
        res[k] = y[np.flatnonzero(s.masks["test"])[0]]  # rows sorted by (frame, track): the target comes first
    return res


def two_body_response(predictor, template_tracks: Tracks, r_um, n_orientations: int = 4,
                      history_frames: int = HISTORY_FRAMES) -> np.ndarray:
    """The predictor's two-body response R(r) (module docstring), um per frame, > 0 repulsion.

    Parameters
    ----------
    predictor : fitted, ``predict(Dataset) -> list[(n_rows, 2) array]`` in um per frame.
    template_tracks : tracks whose metadata the probe tables copy (the model's data).
    r_um : (n_r,) centre distances in um, > 0.
    n_orientations : pair axes averaged over (>= 1). history_frames : stationary frames (>= 1).

    Returns
    -------
    (n_r,) array in um per frame. ``predict`` is called once, on n_r * n_orientations + 1 sequences.
    """
    r = _checked_r_um(r_um)
    ang = orientations_rad(n_orientations)
    pairs = pair_positions_um(r, ang)  # (n_r * n_ang, 2, 2), target at the origin
    configs = [np.zeros((1, 2))] + list(pairs)
    d = predicted_targets_um(predictor, template_tracks, configs, history_frames)
    e = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    resp = (d[1:] - d[0]).reshape(len(r), len(ang), 2)
    return np.einsum("rak,ak->ra", resp, e).mean(axis=1)


def three_body_configs_um(r1_um: float, r2_um: float, angle_deg: float = ADDITIVITY_ANGLE_DEG) -> list[np.ndarray]:
    """[alone, neighbour 1, neighbour 2, both]: the target at the origin, neighbour 1 at ``-r1 (1, 0)``,
    neighbour 2 at ``-r2 e(angle)``."""
    r1, r2 = _checked_r_um([r1_um, r2_um], "r1_um, r2_um")
    a = np.deg2rad(float(angle_deg))
    if not np.isfinite(a):
        raise ValueError(f"angle_deg must be a finite angle in degrees, got {angle_deg!r}")
    n1, n2 = -r1 * np.array([1.0, 0.0]), -r2 * np.array([np.cos(a), np.sin(a)])
    o = np.zeros(2)
    return [o[None], np.stack([o, n1]), np.stack([o, n2]), np.stack([o, n1, n2])]


def additivity_from_targets(d_um: np.ndarray) -> dict:
    """Additivity of target displacements (4, 2) in the order of :func:`three_body_configs_um`.

    Returns
    -------
    dict: ``error_pct`` (NaN when the two-neighbour response is 0), and the 2D responses in um per
    frame ``response_both_um``, ``response_first_um``, ``response_second_um``.
    """
    r1, r2, r12 = d_um[1] - d_um[0], d_um[2] - d_um[0], d_um[3] - d_um[0]
    norm = float(np.hypot(*r12))
    err = 100.0 * float(np.hypot(*(r12 - r1 - r2))) / norm if norm > 0 else float("nan")
    return {"error_pct": err, "response_both_um": r12.tolist(), "response_first_um": r1.tolist(),
            "response_second_um": r2.tolist()}


def additivity_error(predictor, template_tracks: Tracks, r1_um: float, r2_um: float,
                     angle_deg: float = ADDITIVITY_ANGLE_DEG, history_frames: int = HISTORY_FRAMES) -> dict:
    """The predictor's additivity error in % (module docstring), one predict call on 4 sequences.

    Returns
    -------
    :func:`additivity_from_targets`'s dict.
    """
    configs = three_body_configs_um(r1_um, r2_um, angle_deg)
    return additivity_from_targets(predicted_targets_um(predictor, template_tracks, configs, history_frames))


def curve_range_um(r_um: np.ndarray, response_um: np.ndarray, peak_fraction: float = PEAK_FRACTION) -> float:
    """The largest r (um) where ``|response| >= peak_fraction * max |response|``; 0 when the curve is 0.

    NaN points are ignored; NaN when no point is finite.
    """
    r, y = np.asarray(r_um, float), np.abs(np.asarray(response_um, float))
    ok = np.isfinite(y)
    if not ok.any():
        return float("nan")
    peak = y[ok].max()
    if peak == 0:
        return 0.0
    return float(r[ok][y[ok] >= peak_fraction * peak].max())


def sign_changes(response_um: np.ndarray, peak_fraction: float = PEAK_FRACTION) -> int:
    """Sign changes along the curve, over its finite points with ``|response| >= peak_fraction`` x its peak."""
    y = np.asarray(response_um, float)
    y = y[np.isfinite(y)]
    if len(y) == 0 or np.abs(y).max() == 0:
        return 0
    s = np.sign(y[np.abs(y) >= peak_fraction * np.abs(y).max()])
    return int(np.sum(s[1:] != s[:-1]))


def response_errors(r_um, learned_um, true_um) -> dict:
    r"""Errors of a learned response curve against the true one on the same grid.

    .. math:: \epsilon_{L2} = \frac{\| R_{learned} - R_{true} \|_2}{\| R_{true} \|_2}

    over the grid points where both curves are finite (NaN when the true curve is 0 there).

    Parameters
    ----------
    r_um : (n_r,) increasing distances in um. learned_um, true_um : (n_r,) responses, um per frame.

    Returns
    -------
    dict: ``rel_l2``, ``range_um`` and ``true_range_um`` (:func:`curve_range_um`), ``range_error_um``
    (absolute difference), ``sign_changes`` and ``true_sign_changes``, ``n_points`` (scored).
    """
    r = np.asarray(r_um, float).reshape(-1)
    lrn, tru = np.asarray(learned_um, float).reshape(-1), np.asarray(true_um, float).reshape(-1)
    if not (len(r) == len(lrn) == len(tru)) or len(r) == 0:
        raise ValueError(f"r_um, learned and true must have the same length > 0, "
                         f"found {len(r)}, {len(lrn)}, {len(tru)}")
    if not np.all(np.isfinite(r)) or np.any(np.diff(r) <= 0):
        raise ValueError("r_um must be finite and strictly increasing (um)")
    ok = np.isfinite(lrn) & np.isfinite(tru)
    norm = float(np.linalg.norm(tru[ok]))
    rel = float(np.linalg.norm(lrn[ok] - tru[ok])) / norm if norm > 0 else float("nan")
    rng_l, rng_t = curve_range_um(r[ok], lrn[ok]), curve_range_um(r[ok], tru[ok])
    return {"rel_l2": rel, "range_um": rng_l, "true_range_um": rng_t, "range_error_um": abs(rng_l - rng_t),
            "sign_changes": sign_changes(lrn[ok]), "true_sign_changes": sign_changes(tru[ok]),
            "n_points": int(ok.sum())}


class OracleProbe:
    """The oracle used as a model on probe tables: the simulator's noise-free response.

    ``predict`` reads the positions of each sequence's last frame and integrates those cells over
    one frame with :func:`cellbench.sim.two_body.noise_free_displacements_um` (self-propulsion
    removed, open space, the config's mean radius, see its rules); other rows get 0. Sequences
    with the same number of cells go to the engine together.

    Parameters
    ----------
    cfg_or_meta : the run's :class:`~cellbench.sim.config.SimConfig` or meta dict.
    """

    def __init__(self, cfg_or_meta):
        self.cfg = as_config(cfg_or_meta)

    def fit(self, data, seed: int = 0) -> "OracleProbe":
        return self

    def predict(self, data) -> list[np.ndarray]:
        out = [np.zeros((s.tracks.n_rows, 2)) for s in data.seqs]
        last_rows = []
        for s in data.seqs:
            frame = s.tracks.df["frame"].to_numpy()
            last_rows.append(np.flatnonzero(frame == frame.max()))
        for n in sorted({len(r) for r in last_rows}):
            group = [k for k, r in enumerate(last_rows) if len(r) == n]
            pos = np.stack([data.seqs[k].tracks.positions_um()[last_rows[k]] for k in group])
            d = noise_free_displacements_um(self.cfg, pos)
            for k, dk in zip(group, d):
                out[k][last_rows[k]] = dk
        return out


__all__ = ["HISTORY_FRAMES", "ADDITIVITY_ANGLE_DEG", "RULES", "probe_meta", "probe_dataset", "predicted_targets_um",
           "two_body_response", "three_body_configs_um", "additivity_from_targets", "additivity_error",
           "PEAK_FRACTION", "curve_range_um", "sign_changes", "response_errors", "OracleProbe"]
