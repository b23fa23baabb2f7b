"""``probes.png``: each model's learned two-body response against the simulator's (a run's ``probes`` section)."""

from __future__ import annotations

import math

import numpy as np

from cellbench.evaluation.figures import figure_legend, png_bytes, pyplot, symlog_ticks, wrap_to_width


def _curve(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def probe_figure(section: dict, title: str):
    """One panel per model: its response R(r) (um per frame, > 0 repulsion) and the true one, r in um.

    The y axis is symmetric-log (linear within 5 % of the true curve's largest value over the
    distances the data holds; ticks at 0 and the powers of ten beyond that band), so a steep core
    does not flatten the tail; distances below the data's nearest-neighbour 1st percentile are
    shaded. One legend under the panels.
    """
    plt = pyplot()
    r = np.asarray(section["grid_r_um"], dtype=float)
    models = section["models"]
    truth = section.get("truth")
    true_r = None if truth is None else _curve(truth["response_um"])
    seen = section.get("r_seen_min_um")
    n = max(len(models), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows + 0.6), squeeze=False, sharey=True,
                             layout="constrained")
    curves = [true_r] if true_r is not None else [_curve(m["response_um"]) for m in models.values()]
    held = [np.abs(c[np.isfinite(c) & (r >= (seen or 0.0))]) for c in curves]
    scale = max([float(v.max()) for v in held if len(v)] + [1e-12])
    for ax, (name, m) in zip(axes.flat, models.items()):
        if true_r is not None:
            ax.plot(r, true_r, color="k", lw=1.5, label="simulator (noise-free)")
        ax.plot(r, _curve(m["response_um"]), color="tab:blue", marker=".", label="model response")
        ax.axhline(0.0, color="0.6", lw=0.8)
        if seen is not None:
            ax.axvspan(r[0], seen, color="0.9", zorder=0,
                       label="r below the data's nearest-neighbour 1st percentile (no pairs seen)")
        ax.set_yscale("symlog", linthresh=0.05 * scale)
        symlog_ticks(ax, 0.05 * scale)
        err = m.get("errors_seen") or m.get("errors")
        sub = "" if err is None or err.get("rel_l2") is None else f" (rel. L2 {err['rel_l2']:.2f})"
        ax.set_title(f"{name}{sub}", fontsize=9)
        ax.set_xlabel("r (um)")
        ax.set_ylabel("response (um per frame)")
    for ax in list(axes.flat)[len(models):]:
        ax.set_visible(False)
    figure_legend(fig, axes.flat[0], ncols=3)
    wrap_to_width(fig, fig.suptitle(f"{title}: two-body response, {section['n_orientations']} orientations, "
                                    f"range {section['range_um']:.3g} um"
                                    + ("" if true_r is not None else "; real data: no true response to compare"),
                                    fontsize=10))
    return fig


def probe_png(section: dict, title: str) -> bytes:
    """``probes.png``: :func:`probe_figure` as PNG bytes."""
    return png_bytes(probe_figure(section, title))


__all__ = ["probe_figure", "probe_png"]
