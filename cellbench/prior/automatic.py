r"""Automatic hyperparameters: the prior of a Tracks table from its training frames alone.

:func:`estimate_prior` picks the window (periodic box, bounding box or fitted disk), the density,
the pair range :math:`r_c`, the histogram bin, the k grid and the interaction range from the
frames it is given, runs :class:`~cellbench.prior.estimator.PriorEstimator` and writes every
chosen value into ``prior.hyperparameters``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cellbench.errors import ConfigError
from cellbench.prior.correlation import S_MIN
from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.result import Prior
from cellbench.prior.window import Window, fit_window

R_MAX_SPACINGS = {"periodic": 8.0, "box": 3.0, "disk": 3.0}
"""r_c in mean spacings rho^(-1/2) (capped by what the window allows). Periodic boxes: 8 (c(r)
of WCA and Yukawa Monte Carlo within 0.2-0.3% of r_c = 10; S(k) closer to the direct lattice
than at 4-6). Bounded windows: 3, because there the noise of S(k -> 0) grows like the number of
pairs within r_c (measured on a 500-cell window of WCA Monte Carlo: c(r) error 2.7% at 3, 4.8% at
4, 6.4% at 5 spacings; Yukawa 3.9% at 3, 6.3% at 2.5)."""
DR_SPACING_FRACTION = 1 / 200
"""Histogram bin = mean spacing / 200 (0.0075 sigma for WCA at packing 0.35)."""
FRAME_WINDOW_MIN_CELLS = 10
"""``window="frame"``: frames with fewer cells than this are skipped (no meaningful bounding box)."""


def positions_by_frame(tracks) -> list[np.ndarray]:
    """The (n_cells, 2) position arrays of every frame of a Tracks table, in frame order."""
    df = tracks.df
    f = df["frame"].to_numpy()
    pos = df[["x_um", "y_um"]].to_numpy(dtype=float)
    return np.split(pos, np.flatnonzero(np.diff(f)) + 1)


def window_of(tracks, frames_um: list[np.ndarray], kind: str = "auto") -> Window:
    """The window of one sequence. ``auto``: the periodic box when the metadata says the data
    are a whole periodic simulation box, else the points' bounding box or fitted disk."""
    extra = getattr(tracks.meta, "extra", {}) or {}
    if kind in ("auto", "periodic") and extra.get("boundary") == "periodic" and extra.get("box_um"):
        L = float(extra["box_um"])
        fov = tracks.meta.fov_um
        if fov is None or np.allclose(fov, (0.0, 0.0, L, L)):
            return Window.periodic((L, L))
    if kind == "periodic":
        raise ConfigError("--window periodic: the tracks' metadata do not describe a whole periodic box "
                          "(meta.extra boundary='periodic', box_um, fov = the box)")
    return fit_window(frames_um, kind)


def _subsample(frames: list, max_frames: int | None) -> list:
    if max_frames is None or len(frames) <= max_frames:
        return frames
    idx = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))
    return [frames[i] for i in idx]


def estimate_prior(
    tracks_list,
    window: str | Window = "auto",
    max_frames: int | None = None,
    r_max_um: float | None = None,
    dr_um: float | None = None,
    k_max_inv_um: float | None = None,
    dk_inv_um: float | None = None,
    tail_correction: bool | None = None,
    corrected: bool = True,
    s_min: float = S_MIN,
    tail_smoothing_from_inv_um: float | None = None,
) -> Prior:
    r"""Estimate the prior c(r) from training frames, with every hyperparameter chosen from them.

    Uses only the frames of the Tracks it is given (pass training frames only).

    Automatic choices (all written to ``prior.hyperparameters``):

    * window: a whole periodic box when the metadata say so; otherwise the bounding box of the
      points, or the fitted disk when the points fill a circle (microwell).
    * :math:`\rho` = mean over frames of cells / window area.
    * :math:`r_c` = min(8 (periodic) or 3 (bounded window) mean spacings, the window's limit);
      bin = spacing / 200.
    * :math:`k_\max` = 40 / r_core (r_core: g(r) = 0.5), :math:`dk` = (pi/4) / r_c.
    * :math:`r_\mathrm{cut}` from the 5% criterion on c(r).

    Parameters
    ----------
    tracks_list : a Tracks, or a list of Tracks (sequences; each gets its own window).
    window : ``"auto"``, ``"periodic"``, ``"box"``, ``"disk"``, ``"frame"`` (a bounding box
        fitted to each frame: for a growing colony that fills a changing part of the image) or a
        :class:`Window` (applied to every sequence).
    max_frames : use at most this many frames per sequence, evenly spaced (None: all).
    other parameters : override the automatic values (see :class:`PriorEstimator`).

    Returns
    -------
    Prior
    """
    if not isinstance(tracks_list, (list, tuple)):
        tracks_list = [tracks_list]
    if len(tracks_list) == 0:
        raise ConfigError("estimate_prior needs at least one Tracks (the training frames)")
    # groups of (frames, window): one per sequence, or one per frame with window="frame"
    groups: list[tuple[list[np.ndarray], Window]] = []
    n_skipped = 0
    for tr in tracks_list:
        frames = _subsample(positions_by_frame(tr), max_frames)
        if window == "frame":
            for f in frames:
                if len(f) < FRAME_WINDOW_MIN_CELLS:
                    n_skipped += 1
                    continue
                groups.append(([f], fit_window([f], "box")))
        else:
            groups.append((frames, window if isinstance(window, Window) else window_of(tr, frames, window)))
    if not groups:
        raise ConfigError(f"estimate_prior: no frame holds {FRAME_WINDOW_MIN_CELLS} cells (--window frame)")
    n_frames = sum(len(f) for f, _ in groups)
    rho = sum(sum(len(x) for x in f) / w.area_um2 for f, w in groups) / n_frames
    if not rho > 0:
        raise ConfigError("estimate_prior: the training frames hold no cells")
    spacing = rho**-0.5
    limits = np.array([w.r_max_allowed_um for _, w in groups])
    periodic = all(w.kind == "periodic" for _, w in groups)
    r_limit = float(np.median(limits) if window == "frame" else limits.min()) * (0.999 if periodic else 1.0)
    kind = "periodic" if periodic else "box"
    r_c = r_max_um or min(R_MAX_SPACINGS[kind] * spacing, r_limit)
    if window == "frame":  # frames whose own window is too small for r_c are left out
        n_skipped += int(np.sum(limits < r_c))
        groups = [g for g, lim in zip(groups, limits) if lim >= r_c]
    dr = dr_um or min(DR_SPACING_FRACTION * spacing, r_c / 50)
    est = PriorEstimator(groups[0][1], r_c, dr, k_max_inv_um, dk_inv_um, tail_correction, corrected, s_min,
                         tail_smoothing_from_inv_um)
    for i, (frames, win) in enumerate(groups):
        est.compute(frames, reset=(i == 0), window=win)
    prior = est.prior
    hyper = dict(prior.hyperparameters)
    hyper.update({
        "windows": [w.to_dict() for _, w in groups] if window != "frame" else "one fitted box per frame",
        "frames_skipped": n_skipped,
        "max_frames": max_frames,
        "n_sequences": len(groups),
        "r_max_rule": "given" if r_max_um else f"min({R_MAX_SPACINGS[kind]:g} mean spacings, window limit {r_limit:.4g} um)",
        "dr_rule": "given" if dr_um else f"mean spacing * {DR_SPACING_FRACTION:g}",
    })
    return dataclasses.replace(prior, hyperparameters=hyper)
