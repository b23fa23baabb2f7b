r"""Crowding statistics of a tracks table: cells per frame, growth, occupied region, g(r), core size.

Everything is a pure function of a :class:`~cellbench.data.tracks.Tracks` (any frame subset).
Lengths in um, times in s, densities in cells per um^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from cellbench import space
from cellbench.data.tracks import Tracks
from cellbench.errors import FitError

DISK_RMS_TOL = 0.08  # hull vertices within 8 % (rms) of the fitted circle ...
DISK_FILL_MIN = 0.75  # ... and the hull covering >= 75 % of the disk: the cells stay in a disk
MIN_GROWTH = 1.05  # a population growing less than 5 % over the movie does not divide
G_CORE_LEVEL = 0.5  # the core size is the first r where g(r) reaches this value
MAX_G_FRAMES = 400  # g(r) is averaged over at most this many evenly spaced frames


def cells_per_frame(tracks: Tracks) -> tuple[np.ndarray, np.ndarray]:
    """(frames, counts): every frame from the first to the last recorded one, with its number of
    cells (0 for a frame without any), as two (n_frames,) int arrays."""
    f = tracks.df["frame"].to_numpy()
    frames = np.arange(f.min(), f.max() + 1)
    counts = np.bincount(f - f.min(), minlength=len(frames))
    return frames, counts


def growth_rate_per_s(frames: np.ndarray, counts: np.ndarray, frame_interval_s: float) -> tuple[float, float]:
    r"""Exponential growth rate of the number of cells, 1/s, and the fitted N(t=first frame).

    Weighted least squares of :math:`\log N_f = \log N_0 + \lambda\,\tau\,(f - f_0)` over frames
    with N_f > 0, with weights N_f (the inverse variance of log N for Poisson counts). A
    population that does not grow is reported as 0 (no division): a fitted growth over the
    movie :math:`e^{\lambda T}` below ``MIN_GROWTH`` (5 %) or lambda within two standard errors
    of 0 (residual-based).
    """
    ok = counts > 0
    if ok.sum() < 2:
        return 0.0, float(counts[ok][0]) if ok.any() else 0.0
    t = (frames[ok] - frames[0]) * frame_interval_s
    y = np.log(counts[ok])
    w = counts[ok].astype(float)
    A = np.stack([np.ones_like(t), t], axis=1) * np.sqrt(w)[:, None]
    b = y * np.sqrt(w)
    (a, lam), *_ = np.linalg.lstsq(A, b, rcond=None)
    dof = max(len(t) - 2, 1)
    s2 = float(np.sum((b - A @ np.array([a, lam])) ** 2)) / dof
    se = math.sqrt(s2 * np.linalg.inv(A.T @ A)[1, 1])
    if lam * (t[-1] - t[0]) < math.log(MIN_GROWTH) or lam <= 2 * se:
        return 0.0, float(np.exp(a))
    return float(lam), float(np.exp(a))


@dataclass(frozen=True)
class Region:
    """Where the cells are.

    Attributes
    ----------
    kind : ``"disk"`` (the cells stay inside a circle: a microwell) or ``"box"``.
    centre_um : (x, y) of the disk centre, or of the box, um.
    radius_um : disk radius, um (the largest centre distance of a recorded cell; None for a box).
    box_um : (x_min, y_min, x_max, y_max) of the recorded positions, um.
    area_um2 : area of the occupied region: pi R^2 for a disk, the convex hull of all recorded
        positions for a box, um^2.
    hull_rms_rel : rms relative distance of the hull vertices to the fitted circle.
    hull_fill : hull area / area of the fitted circle.
    """

    kind: str
    centre_um: tuple[float, float]
    radius_um: float | None
    box_um: tuple[float, float, float, float]
    area_um2: float
    hull_rms_rel: float
    hull_fill: float


def _circle_fit(pts: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Algebraic (Kasa) circle fit: least squares of :math:`x^2 + y^2 = 2 a x + 2 b y + c`."""
    A = np.stack([2 * pts[:, 0], 2 * pts[:, 1], np.ones(len(pts))], axis=1)
    (a, b, c), *_ = np.linalg.lstsq(A, (pts**2).sum(axis=1), rcond=None)
    centre = np.array([a, b])
    return centre, float(np.sqrt(max(c + a * a + b * b, 0.0)))


def occupied_region(tracks: Tracks) -> Region:
    r"""The region the cells occupy over the whole movie: a disk (microwell) or a box.

    The convex hull of all recorded positions is fitted by a circle (Kasa). The cells "stay in
    a disk" when the hull vertices lie close to that circle (rms relative distance below
    ``DISK_RMS_TOL``) and the hull fills at least ``DISK_FILL_MIN`` of it; the disk is then
    centred on the fitted centre with radius the largest distance of a recorded cell from it.
    Otherwise the region is the bounding box, with the hull area as occupied area (a crescent
    or a band of cells is not credited with the empty part of its box).
    """
    pts = tracks.positions_um()
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    box = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        raise FitError(f"{tracks.meta.where}: the cells' positions span no area (fewer than 3 distinct points or all "
                       "on a line); the occupied region cannot be estimated") from None
    verts = pts[hull.vertices]
    centre, R = _circle_fit(verts)
    rms = float(np.sqrt(np.mean((np.hypot(*(verts - centre).T) / R - 1) ** 2))) if R > 0 else np.inf
    fill = float(hull.volume / (np.pi * R**2)) if R > 0 else 0.0
    if rms < DISK_RMS_TOL and fill > DISK_FILL_MIN:
        r_max = float(np.hypot(*(pts - centre).T).max())
        return Region("disk", (float(centre[0]), float(centre[1])), r_max, box, np.pi * r_max**2, rms, fill)
    mid = (0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]))
    return Region("box", (float(mid[0]), float(mid[1])), None, box, float(hull.volume), rms, fill)


def _frame_sample(frames: np.ndarray, max_frames: int) -> np.ndarray:
    if len(frames) <= max_frames:
        return frames
    return frames[np.linspace(0, len(frames) - 1, max_frames).round().astype(int)]


def pair_correlation(tracks: Tracks, area_um2: float, r_max_um: float, dr_um: float = 1.0,
                     max_frames: int = MAX_G_FRAMES) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Radial pair correlation g(r) pooled over frames, normalised by the occupied area.

    .. math:: g(r) = \frac{\sum_f h_f(r)}{\sum_f \tfrac{N_f (N_f - 1)}{2}\,\frac{2\pi r\,\Delta r}{A}}

    where :math:`h_f(r)` counts pairs of frame f with distance in [r - dr/2, r + dr/2) and A is
    the occupied area. Edges are not corrected, so g(r) falls below 1 once r is a sizeable
    fraction of the region; at the core size (a cell diameter) the bias is a few percent. In a
    periodic simulation box distances are minimum images. At most ``max_frames`` evenly spaced
    frames are used.

    Returns
    -------
    r_um : (n_bins,) bin centres, um. g : (n_bins,) dimensionless (NaN when no pairs at all).
    n_pairs : pairs counted below r_max.
    """
    edges = np.arange(0.0, r_max_um + dr_um, dr_um)
    r = 0.5 * (edges[1:] + edges[:-1])
    hist = np.zeros(len(r))
    norm = 0.0
    df = tracks.df
    f_all = df["frame"].to_numpy()
    pos = tracks.positions_um()
    box = tracks.periodic_box_um
    bounds = np.searchsorted(f_all, np.arange(f_all.min(), f_all.max() + 2))
    for f in _frame_sample(tracks.frames, max_frames):
        sl = slice(bounds[f - f_all.min()], bounds[f - f_all.min() + 1])
        p = pos[sl]
        n = len(p)
        if n < 2:
            continue
        if box is None:  # the open plane's fast path; a periodic box needs the minimum image
            d = pdist(p)
        else:
            i, j = np.triu_indices(n, 1)
            dxy = space.minimum_image(p[j] - p[i], box)
            d = np.hypot(dxy[:, 0], dxy[:, 1])
        hist += np.histogram(d, bins=edges)[0]
        norm += 0.5 * n * (n - 1)
    shell = 2 * np.pi * r * dr_um / area_um2
    with np.errstate(invalid="ignore", divide="ignore"):
        g = hist / (norm * shell) if norm > 0 else np.full(len(r), np.nan)
    return r, g, int(hist.sum())


def core_size_um(r_um: np.ndarray, g: np.ndarray, level: float = G_CORE_LEVEL) -> float | None:
    """The first r (linear interpolation) where g(r) reaches ``level``; None if it never does."""
    above = np.flatnonzero(np.nan_to_num(g) >= level)
    if len(above) == 0:
        return None
    k = int(above[0])
    if k == 0:
        return float(r_um[0])
    g0, g1 = g[k - 1], g[k]
    return float(r_um[k - 1] + (level - g0) / (g1 - g0) * (r_um[k] - r_um[k - 1]))


__all__ = ["Region", "cells_per_frame", "growth_rate_per_s", "occupied_region", "pair_correlation", "core_size_um"]
