"""One PNG per distribution statistic: the truth, every model's rollout and the floor band.

The floor band is the envelope (pointwise min to max) of the truth and the independent
simulations of the same preset (one or several seeds): the spread a perfect model would show.
A scalar statistic (the polar order) is drawn as one marker per model (one row each, names
on the y axis) beside the truth's line and the floor band. PNGs are written atomically (:func:`cellbench.io.write_atomic`).
"""

from __future__ import annotations

import warnings

from pathlib import Path

import numpy as np

from cellbench.evaluation.distribution import KEYS, DistributionStats
from cellbench.evaluation.figures import figure_legend, png_bytes, pyplot, wrap_to_width
from cellbench.io import write_atomic

AXES = {
    "msd": ("lag (frames)", "MSD (um^2)", "log"),
    "g_r": ("r (um)", "g(r)", "linear"),
    "vacf": ("lag (frames)", "VACF <v(t).v(t+lag)> / <|v|^2>", "linear"),
    "polar_order": (None, "polar order |<v/|v|>| (mean over frames)", "linear"),
    "cell_count": ("frame", "cells per frame", "linear"),
}
"""Per statistic: x label, y label (units in brackets) and the axes' scale."""


def _floor_band(truth: np.ndarray, floors: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stack = np.vstack([np.atleast_1d(truth)] + [np.atleast_1d(f) for f in floors]).astype(float)
    with warnings.catch_warnings():  # an all-NaN column (e.g. g(r) at r with no pair) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)


def statistic_png(name: str, x, truth_curve, model_curves: dict, floor_curves, title: str = "") -> bytes:
    """The figure of :func:`plot_statistic` as PNG bytes."""
    return png_bytes(statistic_figure(name, x, truth_curve, model_curves, floor_curves, title))


def statistic_figure(name: str, x, truth_curve, model_curves: dict, floor_curves, title: str = ""):
    """The figure of :func:`plot_statistic` (arguments alike); the legend sits under the axes."""
    if name not in AXES:
        raise ValueError(f"statistic {name!r} is unknown; choose one of {KEYS}")
    floors = list(floor_curves) if isinstance(floor_curves, (list, tuple)) else [floor_curves]
    xlabel, ylabel, scale = AXES[name]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.6), layout="constrained")
    lo, hi = _floor_band(truth_curve, floors)
    if np.ndim(truth_curve) == 0:  # a scalar: one row per model (names read horizontally), truth a line
        if floors:
            ax.axvspan(lo[0], hi[0], color="0.85", label=f"floor ({len(floors)} independent sim.)")
        ax.axvline(float(truth_curve), color="k", lw=2, label="truth")
        names = list(model_curves)
        ax.plot([float(v) for v in model_curves.values()], range(len(names)), "o", color="C0", label="models")
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(max(len(names), 1) - 0.5, -0.5)
        ax.set_xlabel(ylabel)
    else:
        x = np.asarray(x, dtype=float)
        if floors:
            ax.fill_between(x, lo, hi, color="0.85", label=f"floor ({len(floors)} independent sim.)")
        ax.plot(x, np.asarray(truth_curve, dtype=float), "k-", lw=2, label="truth")
        for i, (label, curve) in enumerate(model_curves.items()):
            ax.plot(x, np.asarray(curve, dtype=float), "-", marker=".", color=f"C{i}", label=label)
        ax.set_xlabel(xlabel)
        if scale == "log":
            ax.set_xscale("log")
            ax.set_yscale("log")
        if name == "g_r":
            ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        if name == "vacf":
            ax.axhline(0.0, color="0.5", lw=0.8, ls=":")
        ax.set_ylabel(ylabel)
    figure_legend(fig, ax, ncols=3)
    wrap_to_width(fig, fig.suptitle(title or name, fontsize=11))
    return fig


def plot_statistic(path: Path, name: str, x, truth_curve, model_curves: dict, floor_curves, title: str = "") -> Path:
    """Write one statistic's PNG: truth, models and the floor band.

    Parameters
    ----------
    path : the PNG to write (atomically).
    name : one of :data:`~cellbench.evaluation.distribution.KEYS`; picks the axis labels
        (lag in frames, r in um, MSD in um^2) and scales (log-log for the MSD).
    x : (n,) lags (frames), r (um) or frames; ignored for the scalar polar order.
    truth_curve : (n,) array, or a float for a scalar statistic.
    model_curves : {model name: (n,) array or float}.
    floor_curves : the second independent simulation's curve (array or float), or a list of
        several (an empty list draws no band).
    title : figure title (default: ``name``).

    Returns
    -------
    ``path``.
    """
    write_atomic(Path(path), statistic_png(name, x, truth_curve, model_curves, floor_curves, title))
    return Path(path)


def plot_all(out_dir: Path, truth: DistributionStats, models: dict[str, DistributionStats],
             floors: list[DistributionStats], title: str = "") -> list[Path]:
    """``<out_dir>/<key>.png`` for every statistic of ``truth`` (models and floors on its grids).

    Returns
    -------
    The written paths, in :data:`~cellbench.evaluation.distribution.KEYS` order.
    """
    out = []
    for key in truth.keys:
        x, y = truth.curve(key)
        curves = {name: s.curve(key)[1] for name, s in models.items() if s.curve(key)[1] is not None}
        floor = [f.curve(key)[1] for f in floors if f.curve(key)[1] is not None]
        label = f"{title}: {key}" if title else key
        out.append(plot_statistic(Path(out_dir) / f"{key}.png", key, x, y, curves, floor, label))
    return out


__all__ = ["AXES", "statistic_figure", "statistic_png", "plot_statistic", "plot_all"]
