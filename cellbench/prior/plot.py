"""The ``prior.png`` figure: S(k), C(k), g(r) and c(r), with the truth and closures when known."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellbench.io import write_atomic_with
from cellbench.prior.result import Prior


def plot_prior(prior: Prior, path: Path, curves: dict | None = None, title: str = "") -> None:
    """Write a 2x2 figure to ``path`` (atomically).

    Parameters
    ----------
    prior : the estimate.
    curves : optional ``{label: {"k": ..., "S": ..., "C": ..., "r": ..., "c": ...}}`` (any subset
        of keys, same units as the prior) drawn as comparison lines (truth, PY, HNC, null).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = curves or {}
    fig, ax = plt.subplots(2, 2, figsize=(10, 7.5))
    k, r = prior.k_inv_um, prior.r_um
    kg = prior.diagnostics.get("k_guard_inv_um")
    ax[0, 0].plot(k, prior.S_k, "k-", lw=1.2, label="estimate")
    ax[0, 1].plot(k, prior.C_k, "k-", lw=1.2, label="estimate")
    g = prior.diagnostics.get("g_r")
    if g is not None:
        ax[1, 0].plot(r, g, "k-", lw=1.0, label="estimate")
    ax[1, 1].plot(r, prior.c_r, "k-", lw=1.2, label="estimate")
    for i, (label, cv) in enumerate(curves.items()):
        style = dict(lw=1.0, ls=["--", ":", "-.", (0, (5, 1))][i % 4], color=f"C{i}", label=label)
        if "S" in cv:
            ax[0, 0].plot(cv["k"], cv["S"], **style)
        if "C" in cv:
            ax[0, 1].plot(cv["k"], cv["C"], **style)
        if "g" in cv:
            ax[1, 0].plot(cv["r"], cv["g"], **style)
        if "c" in cv:
            ax[1, 1].plot(cv["r"], cv["c"], **style)
    for a in (ax[0, 0], ax[0, 1]):
        if kg:
            a.axvspan(0, kg, color="0.85", label="k < 2 pi / window")
        a.set_xlabel("k (1/um)")
        a.set_xlim(0, k[-1])
    ax[0, 0].axhline(1, color="0.6", lw=0.5)
    ax[0, 0].set_ylabel("S(k)")
    _mark_s0(ax[0, 0], prior)
    ax[0, 1].set_ylabel("C(k) (um^2)")
    for a in (ax[1, 0], ax[1, 1]):
        a.set_xlabel("r (um)")
        a.axvline(prior.r_cut_um, color="C3", lw=0.8, ls=":", label=f"r_cut = {prior.r_cut_um:.3g} um")
        a.set_xlim(0, min(r[-1], 6 * max(prior.r_cut_um, 1e-9)))
    ax[1, 0].set_ylabel("g(r)")
    ax[1, 0].axhline(1, color="0.6", lw=0.5)
    ax[1, 1].set_ylabel("c(r)")
    ax[1, 1].axhline(0, color="0.6", lw=0.5)
    lo = np.min(prior.c_r[r < 6 * prior.r_cut_um]) if np.any(r < 6 * prior.r_cut_um) else -1
    ax[1, 1].set_ylim(min(lo * 1.2, -0.1), max(0.5, -0.3 * lo))
    for a in ax.flat:
        a.legend(fontsize=7)
    fig.suptitle(title or f"prior: rho = {prior.rho_per_um2:.4g} /um^2, r_cut = {prior.r_cut_um:.4g} um", fontsize=10)
    fig.tight_layout()
    write_atomic_with(Path(path), lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def _mark_s0(ax, prior: Prior) -> None:
    """S(0) +- its standard error at k = 0, and a warning when it is not resolved from zero."""
    d = prior.diagnostics
    se = d.get("S0_standard_error")
    if se is None or not np.isfinite(se):
        return
    ax.errorbar([0.0], [prior.S_k[0]], yerr=[se], fmt="o", color="C3", ms=3, capsize=3, clip_on=False,
                label="S(0) +- 1 s.e.")
    if d.get("S0_resolved") is False:
        ax.text(0.03, 0.97, f"S(0) = {prior.S_k[0]:.3g} +- {se:.2g}: not resolved from 0", transform=ax.transAxes,
                ha="left", va="top", fontsize=7, color="C3")
