r"""The fit report: ``fit.md`` (tables) and ``fit.png`` (four panels), real file beside simulation.

Compared statistics (:mod:`cellbench.simfit.summary`): per-axis MSD at several lags, the lag-1
autocorrelation of one-frame displacements, the number of cells per frame over time, and g(r).
:func:`comparison` gives the numbers as a dict (also written as ``fit.json``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cellbench.simfit.crowding import core_size_um
from cellbench.simfit.preset import PresetFit
from cellbench.simfit.summary import Summary
from cellbench.evaluation.figures import figure_legend, png_bytes, pyplot, wrap_to_width
from cellbench.io import write_atomic, write_json

REPORT_LAGS = (1, 2, 5, 10, 20, 50, 100)


def comparison(real: Summary, sim: Summary) -> dict:
    """Real vs simulated statistics, with the relative MSD error per lag (sim/real - 1)."""
    n = min(len(real.lags_frames), len(sim.lags_frames))
    rel = sim.msd_um2[:n] / real.msd_um2[:n] - 1
    cut = np.linspace(0, 1, 5)

    def at(s: Summary) -> list[int]:
        idx = np.minimum((cut * (len(s.counts) - 1)).round().astype(int), len(s.counts) - 1)
        return [int(s.counts[i]) for i in idx]

    core_r, core_s = core_size_um(real.r_um, real.g), core_size_um(sim.r_um, sim.g)
    return {
        "lags_frames": real.lags_frames[:n].tolist(),
        "msd_axis_real_um2": real.msd_um2[:n].tolist(),
        "msd_axis_sim_um2": sim.msd_um2[:n].tolist(),
        "msd_rel_error": rel.tolist(),
        "msd_max_abs_rel_error": float(np.nanmax(np.abs(rel))),
        "lag1_autocorr_real_xy": real.rho1_xy.tolist(),
        "lag1_autocorr_sim_xy": sim.rho1_xy.tolist(),
        "lag1_autocorr_real": real.rho1,
        "lag1_autocorr_sim": sim.rho1,
        "lag1_autocorr_abs_diff": abs(sim.rho1 - real.rho1),
        "cells_per_frame_fractions": cut.tolist(),
        "cells_per_frame_real": at(real),
        "cells_per_frame_sim": at(sim),
        "core_size_real_um": core_r,
        "core_size_sim_um": core_s,
        "g_peak_real": float(np.nanmax(real.g)) if np.isfinite(real.g).any() else None,
        "g_peak_sim": float(np.nanmax(sim.g)) if np.isfinite(sim.g).any() else None,
        "area_real_um2": real.area_um2,
        "area_sim_um2": sim.area_um2,
    }


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}"
    return str(v)


def fit_markdown(fit: PresetFit, cmp: dict, sim_dir: str, preset_path: str, seed: int) -> str:
    """The text of ``fit.md``."""
    s = fit.stats
    tau = s["frame_interval_s"]
    lines = [
        f"# Fitted preset: {s['dataset']}",
        "",
        f"Source: `{s['source']}` ({s['n_frames']} frames from frame {s['first_frame']}, {tau:g} s per frame). "
        f"Preset: `{preset_path}`. Simulation (seed {seed}): `{sim_dir}`.",
        "",
        "## Fitted parameters",
        "",
        "| quantity | value | how |",
        "| --- | --- | --- |",
        f"| v0 (um/s) | {_fmt(s['v0_um_per_s'])} | free-ABP fit {_fmt(s['formula_v0_um_per_s'])}, then "
        f"{s['correction_iterations']} simulation correction(s) |",
        f"| D_r (1/s) | {_fmt(s['D_r_per_s'])} | free-ABP fit (persistence 1/D_r = {_fmt(s['persistence_time_s'])} s "
        f"= {_fmt(s['persistence_time_s'] / tau)} frames) |",
        f"| D_t (um^2/s) | {_fmt(s['D_t_um2_per_s'])} | free-ABP fit {_fmt(s['formula_D_t_um2_per_s'])}, "
        "then corrected |",
        f"| sigma_loc (um) | {_fmt(s['sigma_loc_um'])} | MSD offset and lag-1 covariance |",
        f"| lag-1 covariance (um^2/axis) | {_fmt(s['lag1_cov_um2'])} | model {_fmt(s['lag1_cov_model_um2'])} |",
        f"| growth rate (1/s) | {_fmt(s['growth_rate_per_s'])} | exponential fit of cells per frame "
        f"(doubling {_fmt(s['doubling_time_h'], 3)} h) |",
        f"| division rate (1/s), min age (s) | {_fmt(s['division_rate_per_s'])}, {_fmt(s['division_min_age_s'])} | "
        "same growth rate (Euler-Lotka), min age 0.75 doubling times |",
        f"| cells per frame | {s['cells_per_frame_first']} -> {s['cells_per_frame_last']} (max "
        f"{s['cells_per_frame_max']}) | simulation starts with {s['n_cells_start']} |",
        f"| region | {s['region']} | hull vs fitted circle: rms {_fmt(s['hull_circle_rms_rel'], 2)}, "
        f"fill {_fmt(s['hull_circle_fill'], 2)} |",
        f"| occupied area (um^2) | {_fmt(s['region_area_um2'])} | "
        f"{'pi R^2' if s['region'] == 'disk' else 'convex hull'} |",
        f"| density (cells/um^2) | {_fmt(s['density_per_um2'])} | mean over frames |",
        f"| core size (um) | {_fmt(s['core_size_um'])} | {s['core_size_from']} |",
        f"| potential diameter (um) | {_fmt(s['potential_sigma_um'])} | core size, then corrected so that the "
        "simulated g(r) reaches 0.5 at the same r |",
        f"| harmonic k (kT/um^2) | {_fmt(s['potential_k_kT_per_um2'])} | max(5/(mu tau), 1/(0.05 sigma)^2) |",
        f"| simulated region | {s['sim_boundary']} | "
        + (f"well radius {_fmt(s['sim_well_radius_um'])} um |" if s['sim_boundary'] == 'microwell'
           else f"periodic square {_fmt(s['sim_box_um'])} um (same area) |"),
        "",
        "## Real file vs fitted simulation",
        "",
        "| statistic | real | simulation | sim/real - 1 |",
        "| --- | --- | --- | --- |",
    ]
    lags = cmp["lags_frames"]
    for lag in REPORT_LAGS:
        if lag in lags:
            i = lags.index(lag)
            lines.append(f"| MSD per axis, lag {lag} frame(s) (um^2) | {_fmt(cmp['msd_axis_real_um2'][i])} | "
                         f"{_fmt(cmp['msd_axis_sim_um2'][i])} | {cmp['msd_rel_error'][i]:+.3f} |")
    rr, rs = cmp["lag1_autocorr_real_xy"], cmp["lag1_autocorr_sim_xy"]
    lines += [
        f"| lag-1 autocorrelation x | {rr[0]:+.3f} | {rs[0]:+.3f} | diff {rs[0] - rr[0]:+.3f} |",
        f"| lag-1 autocorrelation y | {rr[1]:+.3f} | {rs[1]:+.3f} | diff {rs[1] - rr[1]:+.3f} |",
    ]
    for frac, a, b in zip(cmp["cells_per_frame_fractions"], cmp["cells_per_frame_real"], cmp["cells_per_frame_sim"]):
        lines.append(f"| cells at {frac:.0%} of the movie | {a} | {b} | {(b / a - 1) if a else float('nan'):+.2f} |")
    lines += [
        f"| core size, g(r) = 0.5 (um) | {_fmt(cmp['core_size_real_um'])} | {_fmt(cmp['core_size_sim_um'])} | |",
        f"| g(r) peak | {_fmt(cmp['g_peak_real'], 3)} | {_fmt(cmp['g_peak_sim'], 3)} | |",
        "",
        f"Largest MSD misfit over lags 1-{lags[-1]}: {cmp['msd_max_abs_rel_error']:.1%}; "
        f"lag-1 autocorrelation (mean of axes) differs by {cmp['lag1_autocorr_abs_diff']:.3f}.",
        "",
    ]
    if fit.corrections:
        lines += ["## Simulation-based correction", "",
                  "| iteration | v0 (um/s) | D_t (um^2/s) | diameter (um) | max rel MSD error | mean rel MSD error "
                  "| core size rel error |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for h in fit.corrections:
            lines.append(f"| {h['iteration']} | {_fmt(h['v0_um_per_s'])} | {_fmt(h['D_t_um2_per_s'])} | "
                         f"{_fmt(h['potential_sigma_um'])} | {h['max_rel_msd_error']:.3f} | "
                         f"{h['mean_rel_msd_error']:.3f} | {h['core_size_rel_error']:.3f} |")
        lines += ["", "Iteration 0 is the free-ABP formula; the preset is the iteration with the smallest "
                  "larger of the max MSD error and the core-size error (same seed in every iteration).", ""]
    lines += ["![real vs simulation](fit.png)", ""]
    return "\n".join(lines)


def fit_figure(fit: PresetFit, real: Summary, sim: Summary):
    """MSD, lag-1 autocorrelation, cells per frame, g(r); real (black) vs simulation (red); one legend."""
    plt = pyplot()
    tau = fit.stats["frame_interval_s"]
    fig, ax = plt.subplots(2, 2, figsize=(10, 8), layout="constrained")
    a = ax[0, 0]
    a.loglog(real.lags_frames, real.msd_um2, "ko", ms=4, label="real")
    a.loglog(sim.lags_frames, sim.msd_um2, "r-", label="simulation")
    a.loglog(fit.motion.lags_frames, fit.motion.model_msd_um2(fit.motion.lags_frames), "b--", lw=1,
             label="free-ABP formula fit")
    a.set_xlabel(f"lag (frames of {tau:g} s)")
    a.set_ylabel("MSD per axis (um^2)")
    a.set_title("mean squared displacement", fontsize=10)
    a = ax[0, 1]
    xs = np.arange(2)
    a.bar(xs - 0.2, real.rho1_xy, 0.4, color="k")
    a.bar(xs + 0.2, sim.rho1_xy, 0.4, color="r")
    a.axhline(0, color="grey", lw=0.5)
    a.set_xticks(xs, ["x", "y"])
    a.set_xlabel("displacement component")
    a.set_ylabel("lag-1 autocorrelation (dimensionless)")
    a.set_title("lag-1 autocorrelation of one-frame displacements", fontsize=10)
    a = ax[1, 0]
    a.plot(real.frames * tau / 3600, real.counts, "k-")
    a.plot(sim.frames * tau / 3600, sim.counts, "r-")
    a.set_xlabel("time (h)")
    a.set_ylabel("cells per frame")
    a.set_title("cells per frame", fontsize=10)
    a = ax[1, 1]
    a.plot(real.r_um, real.g, "k-")
    a.plot(sim.r_um, sim.g, "r-")
    a.axhline(0.5, color="grey", lw=0.5, ls=":", label="g = 0.5 (core size)")
    a.set_xlabel("r (um)")
    a.set_ylabel("g(r) (dimensionless)")
    a.set_title("pair correlation", fontsize=10)
    figure_legend(fig, ax)
    wrap_to_width(fig, fig.suptitle(f"{fit.stats['dataset']}: real vs fitted simulation"))
    return fig


def fit_figure_png(fit: PresetFit, real: Summary, sim: Summary) -> bytes:
    """``fit.png``: :func:`fit_figure` as PNG bytes (100 dpi)."""
    return png_bytes(fit_figure(fit, real, sim), dpi=100)


def write_report(out_dir: Path, fit: PresetFit, real: Summary, sim: Summary, sim_dir: str, preset_path: str,
                 seed: int) -> dict:
    """Write ``fit.md``, ``fit.png`` and ``fit.json`` (stats + comparison) under ``out_dir``, atomically."""
    out_dir = Path(out_dir)
    cmp = comparison(real, sim)
    write_atomic(out_dir / "fit.png", fit_figure_png(fit, real, sim))
    write_json(out_dir / "fit.json", {"stats": fit.stats, "comparison": cmp, "corrections": fit.corrections,
                                      "seed": seed})
    write_atomic(out_dir / "fit.md", fit_markdown(fit, cmp, sim_dir, preset_path, seed).encode())
    return cmp


__all__ = ["comparison", "fit_markdown", "fit_figure", "fit_figure_png", "write_report", "REPORT_LAGS"]
