r"""Distribution statistics of a free rollout beside those of the true motion (issue section 2).

A free rollout leaves the true trajectories after a few frames, so pointwise errors stop being
informative; what a good model must still reproduce are the *statistics* of the motion. On one
block of frames ``[first_frame, stop_frame)`` of one sequence, :func:`statistics` measures
(curves in :mod:`cellbench.evaluation.distribution_curves`)

* ``"msd"``: :math:`\mathrm{MSD}(L)` (um^2) for lags up to a quarter of the block;
* ``"g_r"``: the pair correlation g(r) with the prior's field-of-view edge correction;
* ``"vacf"``: the normalised velocity autocorrelation at lags 1..10 frames;
* ``"polar_order"``: the mean over frames of :math:`|\langle \hat{\mathbf v} \rangle|`, for
  active (flocking) data only: the caller says whether the data are active;
* ``"cell_count"``: cells per frame, for dividing data only (:func:`divides` decides).

:func:`distances` compares a model's :class:`DistributionStats` with the truth's, one number per
statistic (:data:`DISTANCE_KINDS`). The floor a perfect model would reach is the same distance
between two independent simulations of the same preset.

Usage::

    truth = statistics(test_tracks, f0, f1, active=True)
    d_model = distances(statistics(rollout, f0, f1, like=truth), truth)
    d_floor = distances(statistics(other_seed, f0, f1, like=truth), truth)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench.data.tracks import Tracks
from cellbench.evaluation.distribution_curves import (
    MAX_G_FRAMES,
    VACF_LAGS_FRAMES,
    cell_counts,
    default_msd_lags,
    default_r_grid,
    divides,
    frame_block,
    msd_curve,
    pair_correlation_corrected,
    polar_order,
    velocity_autocorrelation,
    window_for,
)
from cellbench.prior.window import Window

KEYS = ("msd", "g_r", "vacf", "polar_order", "cell_count")
"""The statistics, in the order tables and plots show them."""
DISTANCE_KINDS = {"msd": "relative", "g_r": "relative", "vacf": "rms", "polar_order": "rms", "cell_count": "relative"}
"""How each statistic is compared (:func:`distance`). Curves with a scale (MSD in um^2, g(r),
counts) use the relative L2; the VACF and the polar order are already normalised to [-1, 1] and
[0, 1] and can be ~0 in the truth (a random walk, a disordered flock), where a relative error
divides by noise, so they use the root mean square difference (for a scalar, |a - b|)."""
COUNTS_FROM_DATA_NOTE = ("the model does not divide: its rollout takes the cells (and so the cell counts) from the "
                         "data, and its cell_count distance is not a score (NaN)")


@dataclass(frozen=True, eq=False)
class DistributionStats:
    """Every statistic of one frame block of one sequence (:func:`statistics` fills it).

    Attributes
    ----------
    first_frame, stop_frame : the block ``[first_frame, stop_frame)``, frames.
    lags_frames, msd_um2 : (n_lags,) MSD lags (frames) and MSD (um^2).
    window : the g(r) observation window. r_um, g_r : (n_bins,) bin centres (um) and g(r).
    r_max_um : g(r) range, um (bins of width r_max_um / n_bins).
    vacf_lags_frames, vacf : (n_vacf,) lags (frames) and the normalised VACF.
    polar_order : mean polar order, or None when the data are not active.
    count_frames, cell_count : (stop - first,) frames and cells per frame, or None when the data
        do not divide.
    """

    first_frame: int
    stop_frame: int
    lags_frames: np.ndarray
    msd_um2: np.ndarray
    window: Window
    r_um: np.ndarray
    r_max_um: float
    g_r: np.ndarray
    vacf_lags_frames: np.ndarray
    vacf: np.ndarray
    polar_order: float | None = None
    count_frames: np.ndarray | None = None
    cell_count: np.ndarray | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The statistics measured, in :data:`KEYS` order."""
        return tuple(k for k in KEYS if self.curve(k)[1] is not None)

    def curve(self, key: str) -> tuple[np.ndarray | None, np.ndarray | float | None]:
        """(x, y) of one statistic: x in frames or um (None for the scalar polar order)."""
        table = {"msd": (self.lags_frames, self.msd_um2), "g_r": (self.r_um, self.g_r),
                 "vacf": (self.vacf_lags_frames, self.vacf), "polar_order": (None, self.polar_order),
                 "cell_count": (self.count_frames, self.cell_count)}
        if key not in table:
            raise KeyError(f"statistic {key!r} is unknown; choose one of {KEYS}")
        return table[key]

    def to_dict(self) -> dict:
        """JSON-ready: the block, window and g(r) range, and ``{key: {"x": list | None, "y": list | float}}``
        for every statistic measured."""
        out = {"first_frame": self.first_frame, "stop_frame": self.stop_frame, "window": self.window.to_dict(),
               "r_max_um": self.r_max_um}
        for key in self.keys:
            x, y = self.curve(key)
            out[key] = {"x": None if x is None else np.asarray(x).tolist(), "y": np.asarray(y).tolist()}
        return out


def statistics(
    tracks: Tracks, first_frame: int, stop_frame: int, *, active: bool = False, dividing: bool | None = None,
    like: DistributionStats | None = None, window: Window | None = None, lags_frames=None,
    r_max_um: float | None = None, dr_um: float | None = None, vacf_lags_frames=VACF_LAGS_FRAMES,
    max_g_frames: int = MAX_G_FRAMES,
) -> DistributionStats:
    """All statistics of frames ``[first_frame, stop_frame)`` of one sequence.

    Parameters
    ----------
    tracks : Tracks of one sequence (the truth, a model's rollout or another simulation).
    first_frame, stop_frame : the block, frames.
    active : measure the polar order (the caller knows whether a preset is active / flocking).
    dividing : measure the cell counts; None decides from the block (:func:`divides`).
    like : the truth's statistics: reuse its window, lags, r grid, VACF lags and choice of
        statistics, so that the curves are comparable by :func:`distances`. The grid arguments
        below must then be left at their defaults, and ``active`` / ``dividing`` follow ``like``.
    window : g(r) window; default :func:`window_for` (block).
    lags_frames : MSD lags; default :func:`default_msd_lags` (stop_frame - first_frame).
    r_max_um, dr_um : g(r) range and bin, um; default :func:`default_r_grid`.
    vacf_lags_frames : VACF lags, frames (default 1..10).
    max_g_frames : g(r) uses at most this many evenly spaced frames.

    Returns
    -------
    DistributionStats
    """
    block = frame_block(tracks, first_frame, stop_frame)
    if like is not None:
        given = [n for n, v in (("window", window), ("lags_frames", lags_frames), ("r_max_um", r_max_um),
                                ("dr_um", dr_um)) if v is not None]
        if given:
            raise ValueError(f"statistics(like=...) takes its grids from `like`; do not also pass {given}")
        if (like.first_frame, like.stop_frame) != (first_frame, stop_frame):
            raise ValueError(f"statistics(like=...): block [{first_frame}, {stop_frame}) differs from the "
                             f"reference block [{like.first_frame}, {like.stop_frame})")
        window, lags_frames, vacf_lags_frames = like.window, like.lags_frames, like.vacf_lags_frames
        r_max_um, dr_um = like.r_max_um, like.r_max_um / len(like.r_um)
        active, dividing = like.polar_order is not None, like.cell_count is not None
    window = window or window_for(block)
    lags = np.asarray(default_msd_lags(stop_frame - first_frame) if lags_frames is None else lags_frames, np.int64)
    if r_max_um is None or dr_um is None:
        r_default, dr_default = default_r_grid(block, window)
        r_max_um = r_default if r_max_um is None else r_max_um
        dr_um = dr_default if dr_um is None else dr_um
    r, g = pair_correlation_corrected(block, r_max_um, dr_um, window, max_frames=max_g_frames)
    dividing = divides(block) if dividing is None else dividing
    count_frames, counts = cell_counts(block, np.arange(first_frame, stop_frame)) if dividing else (None, None)
    vacf_lags = np.asarray(vacf_lags_frames, dtype=np.int64)
    return DistributionStats(
        int(first_frame), int(stop_frame), lags, msd_curve(block, lags), window, r, float(r_max_um), g, vacf_lags,
        velocity_autocorrelation(block, vacf_lags),
        polar_order(block) if active else None, count_frames, counts,
    )


def distance(a, b, kind: str = "relative") -> float:
    r"""One number comparing a model's statistic ``a`` with the reference ``b``.

    * ``"relative"``: :math:`\|a - b\|_2 / \|b\|_2` over lags, r or frames: 0 for a perfect
      match, invariant under a common rescaling of a and b (units cancel), not symmetric.
    * ``"rms"``: :math:`\sqrt{\langle (a - b)^2 \rangle}`, symmetric, in the statistic's own units;
      for a scalar it is :math:`|a - b|`.

    NaN-safe: only entries finite in both count; NaN when there is none, or for ``"relative"``
    when :math:`\|b\| = 0` and a differs from b.

    Raises
    ------
    ValueError
        when the shapes differ or ``kind`` is unknown.
    """
    a, b = np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float))
    if a.shape != b.shape:
        raise ValueError(f"distance needs curves on one grid: found shapes {a.shape} and {b.shape}")
    if kind not in ("relative", "rms"):
        raise ValueError(f"distance kind {kind!r} is unknown; choose 'relative' or 'rms'")
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return float("nan")
    diff = float(np.linalg.norm(a[ok] - b[ok]))
    if kind == "rms":
        return float(diff / np.sqrt(ok.sum()))
    norm = float(np.linalg.norm(b[ok]))
    if diff == 0:
        return 0.0
    return diff / norm if norm > 0 else float("nan")


def distances(model: DistributionStats, truth: DistributionStats, model_divides: bool = True) -> dict[str, float]:
    """``{key: distance}`` for every statistic of ``truth`` (:data:`DISTANCE_KINDS`).

    ``model`` must be computed on the same grids (:func:`statistics` with ``like=truth``). When
    the model does not divide (``model_divides=False``) its cells are taken from the data, its
    counts equal the truth's by construction, and ``"cell_count"`` is NaN
    (:data:`COUNTS_FROM_DATA_NOTE` says so in reports). For the floor, pass a second independent
    simulation as ``model``.

    Raises
    ------
    ValueError
        when a grid differs or ``model`` lacks a statistic of ``truth``.
    """
    out = {}
    for key in truth.keys:
        (x_m, y_m), (x_t, y_t) = model.curve(key), truth.curve(key)
        if y_m is None:
            raise ValueError(f"model statistics lack {key!r}; compute them with statistics(..., like=truth)")
        if x_t is not None and (np.shape(x_m) != np.shape(x_t) or not np.allclose(x_m, x_t)):
            raise ValueError(f"{key}: the model's grid ({np.shape(x_m)}) differs from the truth's ({np.shape(x_t)}); "
                             "compute them with statistics(..., like=truth)")
        if key == "cell_count" and not model_divides:
            out[key] = float("nan")
            continue
        out[key] = distance(y_m, y_t, DISTANCE_KINDS[key])
    return out


__all__ = ["KEYS", "DISTANCE_KINDS", "COUNTS_FROM_DATA_NOTE", "DistributionStats", "statistics", "distance",
           "distances", "divides", "msd_curve", "pair_correlation_corrected", "velocity_autocorrelation",
           "polar_order", "cell_counts", "window_for"]
