r"""The curves of one sequence's motion that a free rollout must reproduce (issue section 2).

Pure functions of a :class:`~cellbench.data.tracks.Tracks` (any frame subset); each is built on
the one implementation the package already has:

* :func:`msd_curve`: the MSD of :mod:`cellbench.data.track_stats` (um^2);
* :func:`pair_correlation_corrected`: g(r) with the prior's field-of-view edge correction
  (:func:`cellbench.prior.structure.pair_histogram`, :mod:`cellbench.prior.window`);
* :func:`velocity_autocorrelation` and :func:`polar_order`: from one-frame displacements, minimum
  images in a periodic box (:func:`cellbench.data.targets.displacement_targets`);
* :func:`cell_counts`, and :func:`divides` (whether counts are worth comparing).

:mod:`cellbench.evaluation.distribution` gathers them on a frame block and compares a model's
with the truth's.
"""

from __future__ import annotations

import numpy as np

from cellbench.data.table import NO_PARENT
from cellbench.data.targets import displacement_targets, neighbour_rows
from cellbench.data.track_stats import msd_2d
from cellbench.data.tracks import Tracks
from cellbench.prior.automatic import positions_by_frame
from cellbench.prior.correlation import shell_areas_um2
from cellbench.prior.structure import pair_histogram
from cellbench.prior.window import Window, fit_window

VACF_LAGS_FRAMES = tuple(range(1, 11))
"""Velocity autocorrelation lags, frames."""
MAX_MSD_LAGS = 32
"""At most this many MSD lags, geometrically spaced integers from 1 to block length / 4."""
MAX_G_FRAMES = 100
"""g(r) is averaged over at most this many evenly spaced frames."""
G_R_MAX_SPACINGS = 4.0
"""Default g(r) range: 4 mean spacings :math:`\\rho^{-1/2}` (capped by the window's own limit)."""
G_N_BINS = 40
"""Default number of g(r) bins over that range."""


def divides(tracks: Tracks) -> bool:
    """True when some track has a mother: a ``parent_id`` column with a value other than
    :data:`~cellbench.data.table.NO_PARENT`. Cell counts are compared only for such data."""
    return "parent_id" in tracks.df.columns and bool(np.any(tracks.df["parent_id"].to_numpy() != NO_PARENT))


def frame_block(tracks: Tracks, first_frame: int, stop_frame: int) -> Tracks:
    """The rows of frames ``first_frame <= frame < stop_frame`` (same metadata).

    Raises
    ------
    ValueError
        when the block is empty or holds no row.
    """
    if stop_frame <= first_frame:
        raise ValueError(f"frame block [{first_frame}, {stop_frame}) is empty: stop_frame must be > first_frame")
    f = tracks.df["frame"].to_numpy()
    sub = tracks.df[(f >= first_frame) & (f < stop_frame)]
    if sub.empty:
        raise ValueError(f"{tracks.meta.where}: no cell in frames [{first_frame}, {stop_frame})")
    return tracks.with_df(sub.reset_index(drop=True))


def default_msd_lags(n_frames: int, max_lags: int = MAX_MSD_LAGS) -> np.ndarray:
    """Integer lags from 1 to ``max(1, n_frames // 4)``: all of them when there are at most
    ``max_lags``, else ``max_lags`` geometrically spaced (duplicates removed), frames."""
    top = max(1, int(n_frames) // 4)
    if top <= max_lags:
        return np.arange(1, top + 1)
    return np.unique(np.geomspace(1, top, max_lags).round().astype(np.int64))


def msd_curve(tracks: Tracks, lags_frames) -> np.ndarray:
    r""":math:`\mathrm{MSD}(L) = \langle |\mathbf x_{f+L} - \mathbf x_f|^2 \rangle` over every
    lag-L pair of one track (:func:`cellbench.data.track_stats.msd_2d`, minimum images in a
    periodic box).

    Parameters
    ----------
    tracks : Tracks. lags_frames : (n_lags,) integer lags >= 1, frames.

    Returns
    -------
    (n_lags,) array, um^2; NaN where no track spans the lag.
    """
    return msd_2d(tracks, lags_frames)


def window_for(tracks: Tracks, kind: str = "auto") -> Window:
    """The observation window of g(r): the periodic box when the cells fill one
    (:attr:`Tracks.periodic_box_um`), else the window the prior fits to the points (bounding box,
    or a disk for a microwell; :func:`cellbench.prior.window.fit_window`)."""
    box = tracks.periodic_box_um
    if box is not None:
        return Window.periodic((box, box))
    return fit_window(positions_by_frame(tracks), kind)


def default_r_grid(tracks: Tracks, window: Window) -> tuple[float, float]:
    """(r_max_um, dr_um): :data:`G_R_MAX_SPACINGS` mean spacings (density = mean cells per frame /
    window area), capped by the window's limit (:attr:`Window.r_max_allowed_um`), in
    :data:`G_N_BINS` bins."""
    rho = tracks.cells_per_frame().mean() / window.area_um2
    limit = window.r_max_allowed_um * (0.999 if window.kind == "periodic" else 1.0)
    r_max = float(min(G_R_MAX_SPACINGS / np.sqrt(rho), limit))
    return r_max, r_max / G_N_BINS


def _sample(frames: list, max_frames: int) -> list:
    if len(frames) <= max_frames:
        return frames
    return [frames[i] for i in np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))]


def pair_correlation_corrected(
    tracks: Tracks, r_max_um: float, dr_um: float, window: Window | None = None, corrected: bool = True,
    max_frames: int = MAX_G_FRAMES,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Radial pair correlation with the translation (overlap-area) edge correction, averaged over frames.

    .. math:: g(r_b) = \frac{1}{n_f} \sum_f \frac{2 A^2}{N_f (N_f - 1)\, a_b}
              \sum_{i<j \in f} \frac{1[r_{ij} \in b]}{\gamma_W(\mathbf r_{ij})}

    with :math:`a_b` the area of annulus b, :math:`\gamma_W` the window's overlap area
    (:mod:`cellbench.prior.window`) and :math:`A` its area: the normalisation of the prior's
    :class:`~cellbench.prior.estimator.PriorEstimator`, without its finite-N tail correction.
    In a periodic box distances are minimum images and :math:`\gamma_W = A`. With
    ``corrected=False`` every pair counts :math:`1/A` (the uncorrected estimate of
    :func:`cellbench.simfit.crowding.pair_correlation`), which falls below 1 as r grows.

    Parameters
    ----------
    tracks : Tracks. Only cells inside ``window`` count (a rollout's cells may leave it).
    r_max_um : range in um; at most half the box for a periodic window.
    dr_um : bin width in um; the bins are ``round(r_max_um / dr_um)`` equal bins over [0, r_max_um).
    window : where the cells were observed; default :func:`window_for` (tracks). To compare a
        rollout with the truth, pass the truth's window.
    corrected : weight pairs by :math:`A / \gamma_W` (default True).
    max_frames : at most this many evenly spaced frames are used.

    Returns
    -------
    r_um : (n_bins,) bin centres, um. g : (n_bins,) dimensionless, 1 for uniform random points;
    NaN when no frame holds two cells.
    """
    if not (r_max_um > 0 and dr_um > 0):
        raise ValueError(f"g(r) needs r_max_um > 0 and dr_um > 0 um, got {r_max_um}, {dr_um}")
    window = window or window_for(tracks)
    n_bins = max(1, int(round(r_max_um / dr_um)))
    edges = np.linspace(0.0, r_max_um, n_bins + 1)
    area = window.area_um2
    num, n_used = np.zeros(n_bins), 0
    for pos in _sample(positions_by_frame(tracks), max_frames):
        if window.kind != "periodic":
            pos = pos[window.contains(pos)]
        n = len(pos)
        if n < 2:
            continue
        hist = pair_histogram(pos, window, r_max_um, n_bins, corrected=corrected)
        if window.kind == "periodic" or not corrected:
            hist = hist / area  # counts -> sums of 1/A
        num += 2.0 * hist * area**2 / (n * (n - 1.0))
        n_used += 1
    r = 0.5 * (edges[1:] + edges[:-1])
    if n_used == 0:
        return r, np.full(n_bins, np.nan)
    return r, num / (n_used * shell_areas_um2(edges))


def velocity_autocorrelation(tracks: Tracks, lags_frames=VACF_LAGS_FRAMES) -> np.ndarray:
    r"""Normalised velocity autocorrelation of one-frame displacements.

    .. math:: C(L) = \frac{\langle \mathbf v_i(f) \cdot \mathbf v_i(f + L) \rangle}{\langle |\mathbf v_i|^2 \rangle},
              \qquad \mathbf v_i(f) = \mathbf x_i(f + 1) - \mathbf x_i(f)

    The numerator averages every (track, f) with both velocities defined (frames f, f+1, f+L,
    f+L+1 of one track); the denominator every defined velocity. Minimum images in a periodic box.

    Parameters
    ----------
    tracks : Tracks. lags_frames : (n_lags,) integer lags >= 1, frames (default 1..10).

    Returns
    -------
    (n_lags,) dimensionless array in [-1, 1] up to sampling: 1 for constant velocity, ~0 for a
    random walk; NaN at a lag without pairs, or everywhere when no cell moves.
    """
    lags = np.asarray(lags_frames, dtype=np.int64)
    if lags.size and lags.min() < 1:
        raise ValueError(f"vacf lags_frames must be >= 1, found {lags.min()}")
    v, valid = displacement_targets(tracks)
    v2 = float(np.mean(np.sum(v[valid] ** 2, axis=1))) if valid.any() else 0.0
    out = np.full(len(lags), np.nan)
    if v2 == 0:
        return out
    for k, lag in enumerate(lags):
        later = neighbour_rows(tracks, int(lag))
        i = np.flatnonzero(valid & (later >= 0))
        i = i[valid[later[i]]]
        if len(i):
            out[k] = np.mean(np.sum(v[i] * v[later[i]], axis=1)) / v2
    return out


def polar_order_per_frame(tracks: Tracks) -> tuple[np.ndarray, np.ndarray]:
    r"""Polar order of every frame: :math:`\phi_f = |\frac{1}{N_f} \sum_i \mathbf v_i / |\mathbf v_i||`.

    Velocities are one-frame displacements; cells that do not move (or whose next frame is
    missing) are left out.

    Returns
    -------
    frames : (n,) int frames with at least one moving cell. phi : (n,) dimensionless in [0, 1]:
    1 for aligned motion, about :math:`\sqrt{\pi}/(2\sqrt{N})` for N random headings.
    """
    v, valid = displacement_targets(tracks)
    speed = np.hypot(v[:, 0], v[:, 1])
    ok = valid & (speed > 0)
    frame = tracks.df["frame"].to_numpy()[ok]
    u = v[ok] / speed[ok, None]
    frames, inverse, n = np.unique(frame, return_inverse=True, return_counts=True)
    mean_u = np.stack([np.bincount(inverse, u[:, a], len(frames)) for a in (0, 1)], axis=1) / n[:, None]
    return frames, np.hypot(mean_u[:, 0], mean_u[:, 1])


def polar_order(tracks: Tracks) -> float:
    """Mean over frames of :func:`polar_order_per_frame`, dimensionless; NaN when no cell moves."""
    _, phi = polar_order_per_frame(tracks)
    return float(phi.mean()) if len(phi) else float("nan")


def cell_counts(tracks: Tracks, frames=None) -> tuple[np.ndarray, np.ndarray]:
    """(frames, counts): the number of cells at every frame, as two (n_frames,) int arrays.

    ``frames`` default: every frame from the first to the last recorded one (0 for a frame
    without cells), as :func:`cellbench.simfit.crowding.cells_per_frame` counts them.
    """
    f = tracks.df["frame"].to_numpy()
    frames = np.arange(f.min(), f.max() + 1) if frames is None else np.asarray(frames, dtype=np.int64)
    per = tracks.cells_per_frame()
    return frames, per.reindex(frames, fill_value=0).to_numpy().astype(np.int64)


__all__ = ["VACF_LAGS_FRAMES", "divides", "frame_block", "default_msd_lags", "msd_curve", "window_for",
           "default_r_grid", "pair_correlation_corrected", "velocity_autocorrelation", "polar_order_per_frame",
           "polar_order", "cell_counts"]
