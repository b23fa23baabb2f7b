"""The ``prior.png`` figure: S(k), C(k), g(r) and c(r), with the truth and closures when known, and
the estimate's warnings (:mod:`cellbench.prior.quality`) in red under the panels."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from cellbench.io import write_atomic_with
from cellbench.prior.result import Prior

WARNING_CHARS_PER_LINE = 165
"""Warnings are wrapped to this many characters: 7 pt text across the 10 in figure."""
WARNING_LINE_IN = 0.14
"""Height of one warning line, inches (7 pt text and its leading)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_prior(prior: Prior, path: Path, curves: dict | None = None, title: str = "",
               warnings: list[str] | None = None) -> None:
    """Write :func:`prior_figure` to ``path`` (atomically)."""
    fig = prior_figure(prior, curves, title, warnings)
    write_atomic_with(Path(path), lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    _pyplot().close(fig)


def prior_figure(prior: Prior, curves: dict | None = None, title: str = "", warnings: list[str] | None = None):
    """A 2x2 figure: S(k), C(k) (um^2), g(r), c(r), k in 1/um and r in um; one legend under the panels.

    Parameters
    ----------
    prior : the estimate.
    curves : optional ``{label: {"k": ..., "S": ..., "C": ..., "r": ..., "c": ...}}`` (any subset
        of keys, same units as the prior) drawn as comparison lines (truth, PY, HNC, null).
    warnings : lines written in red under the legend (the failed checks, with what to change:
        :func:`cellbench.prior.quality.warning_lines`).
    """
    plt = _pyplot()
    curves = curves or {}
    lines = [part for w in (warnings or []) for part in textwrap.wrap(w, WARNING_CHARS_PER_LINE)]
    fig = plt.figure(figsize=(10, 7.5 + WARNING_LINE_IN * len(lines)), layout="constrained")
    top = fig
    if lines:  # the warnings get a strip of their own under the panels and the legend
        top, bottom = fig.subfigures(2, 1, height_ratios=[7.5, WARNING_LINE_IN * len(lines)])
        bottom.text(0.01, 0.98, "\n".join(lines), ha="left", va="top", color="C3", fontsize=7)
    ax = top.subplots(2, 2)
    k, r = prior.k_inv_um, prior.r_um
    kg = prior.diagnostics.get("k_guard_inv_um")
    ax[0, 0].plot(k, prior.S_k, "k-", lw=1.2, label="estimate")
    ax[0, 1].plot(k, prior.C_k, "k-", lw=1.2)
    g = prior.diagnostics.get("g_r")
    if g is not None:
        ax[1, 0].plot(r, g, "k-", lw=1.0)
    ax[1, 1].plot(r, prior.c_r, "k-", lw=1.2)
    for i, (label, cv) in enumerate(curves.items()):
        style = dict(lw=1.0, ls=["--", ":", "-.", (0, (5, 1))][i % 4], color=f"C{i}")
        drawn = [(a, cv[x], cv[y]) for a, x, y in ((ax[0, 0], "k", "S"), (ax[0, 1], "k", "C"), (ax[1, 0], "r", "g"),
                                                   (ax[1, 1], "r", "c")) if y in cv]
        for j, (a, xs, ys) in enumerate(drawn):
            a.plot(xs, ys, **style, label=label if j == 0 else None)  # one legend entry per curve
    for j, a in enumerate((ax[0, 0], ax[0, 1])):
        if kg:
            a.axvspan(0, kg, color="0.85", label="k < 2 pi / window size (low resolution)" if j == 0 else None)
        a.set_xlabel("k (1/um)")
        a.set_xlim(0, k[-1])
    ax[0, 0].axhline(1, color="0.6", lw=0.5)
    ax[0, 0].set_ylabel("S(k) (dimensionless)")
    for a, name in zip(ax.flat, ("structure factor", "direct correlation in k space", "pair correlation",
                                 "direct correlation c(r)")):
        a.set_title(name, fontsize=9)
    _mark_s0(ax[0, 0], prior)
    _mark_clamp(ax[0, 0], ax[0, 1], prior)
    ax[0, 1].set_ylabel("C(k) (um^2)")
    for j, a in enumerate((ax[1, 0], ax[1, 1])):
        a.set_xlabel("r (um)")
        a.axvline(prior.r_cut_um, color="C3", lw=0.8, ls=":", label=f"r_cut = {prior.r_cut_um:.3g} um" if j == 0 else None)
        a.set_xlim(0, min(r[-1], 6 * max(prior.r_cut_um, 1e-9)))
    ax[1, 0].set_ylabel("g(r) (dimensionless)")
    ax[1, 0].axhline(1, color="0.6", lw=0.5)
    ax[1, 1].set_ylabel("c(r) (dimensionless)")
    ax[1, 1].axhline(0, color="0.6", lw=0.5)
    shown = prior.c_r[r < 6 * prior.r_cut_um]
    lo, hi = (float(np.min(shown)), float(np.max(shown))) if len(shown) else (-1.0, 0.5)
    pad = 0.08 * (max(hi, 0.5) - min(lo, -0.1))
    ax[1, 1].set_ylim(min(lo, -0.1) - pad, max(hi, 0.5) + pad)  # the whole estimate, never clipped
    top.legend(loc="outside lower center", ncols=4, fontsize=7, frameon=False)
    top.suptitle(title or f"prior: rho = {prior.rho_per_um2:.4g} /um^2, r_cut = {prior.r_cut_um:.4g} um",
                 fontsize=10, wrap=True)
    return fig


def _mark_s0(ax, prior: Prior) -> None:
    """S(0) +- its standard error at k = 0, and a warning when it is not resolved from zero."""
    d = prior.diagnostics
    se = d.get("S0_standard_error")
    if se is None or not np.isfinite(se):
        return
    ax.errorbar([0.0], [prior.S_k[0]], yerr=[se], fmt="o", color="C3", ms=3, capsize=3, clip_on=False,
                label="S(0) +- 1 s.e.")
    if d.get("S0_resolved") is False:  # in the title, where it covers no data
        ax.set_title(f"structure factor; S(0) = {prior.S_k[0]:.3g} +- {se:.2g}: not resolved from 0", fontsize=9,
                     color="C3")


def _mark_clamp(ax_s, ax_c, prior: Prior) -> None:
    """Where S(k) < s_min: red points on S(k), and C(k)'s clamp (1 - 1/s_min) / rho as a red line."""
    s_min = prior.hyperparameters.get("s_min")
    small = ~(prior.S_k >= s_min) if s_min is not None else np.zeros(len(prior.S_k), dtype=bool)
    if not small.any():
        return
    ax_s.plot(prior.k_inv_um[small], prior.S_k[small], "o", color="C3", ms=3,
              label=f"S(k) < s_min = {s_min:g}: C(k) clamped")
    ax_c.axhline((1.0 - 1.0 / s_min) / prior.rho_per_um2, color="C3", lw=0.8, ls="--",
                 label="C(k) clamp (1 - 1/s_min) / rho")
