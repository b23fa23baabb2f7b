"""What ``cellbench prior`` does, as a library function: estimate, compare with the truth when
the data are simulated, test against a no-structure null, check whether the estimate can be
trusted (:mod:`cellbench.prior.quality`), write ``prior.json`` and ``prior.png``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellbench.errors import ConfigError
from cellbench.prior.automatic import estimate_prior, positions_by_frame
from cellbench.prior.validation.oz import solve_oz
from cellbench.prior.plot import plot_prior
from cellbench.prior.quality import frames_hint, prior_warnings, warning_lines
from cellbench.prior.result import Prior
from cellbench.prior.window import Window

NULL_REPEATS = 5
"""Uniform-random null: the same window and cells per frame, 5 independent draws."""


@dataclass(frozen=True, eq=False)
class PriorRun:
    prior: Prior
    extra: dict
    json_path: Path
    png_path: Path


def first_frames(tracks, n_frames: int | None):
    """The Tracks restricted to its first ``n_frames`` frames (a contiguous training block);
    ConfigError when none of them holds two cells (:func:`require_pairs`)."""
    if n_frames is not None and n_frames < 1:
        raise ConfigError(f"--frames {n_frames}: must be >= 1")
    require_pairs(tracks, n_frames)
    if n_frames is None:
        return tracks
    keep = tracks.frames[:n_frames]
    return tracks.with_df(tracks.df[tracks.df["frame"].isin(keep)])


def require_pairs(tracks, n_frames: int | None = None) -> None:
    """ConfigError unless one of the first ``n_frames`` frames (None: any frame) holds two cells,
    saying which ``--frames`` reaches the first frame that does and where the most cells are."""
    counts = tracks.cells_per_frame()
    used = counts if n_frames is None else counts.iloc[:n_frames]
    if not (used >= 2).any():
        where = (f"--frames {n_frames}: none of the first {n_frames} frames" if n_frames is not None
                 else f"no frame of {tracks.meta.dataset}")
        first = np.flatnonzero(counts.to_numpy() >= 2)
        more = (f"; the first frame with two cells is frame {counts.index[first[0]]} (--frames {first[0] + 1} or more "
                f"reaches it); {frames_hint(counts, n_frames)}" if len(first) else
                "; the prior needs frames with at least two cells")
        raise ConfigError(f"{where} holds two cells, so there are no pairs to estimate S(k) from{more}")


def null_prior(tracks, window: Window, seed: int = 0, repeats: int = NULL_REPEATS, **kwargs) -> list[Prior]:
    """Priors of uniform random points with the same window and number of cells per frame."""
    rng = np.random.default_rng(seed)
    counts = [len(f) for f in positions_by_frame(tracks)]
    out = []
    for _ in range(repeats):
        frames = []
        for n in counts:
            if window.kind == "disk":
                rr = window.radius_um * np.sqrt(rng.uniform(size=n))
                th = rng.uniform(0, 2 * np.pi, n)
                frames.append(np.c_[window.center_um[0] + rr * np.cos(th), window.center_um[1] + rr * np.sin(th)])
            else:
                x0, y0, x1, y1 = window.bounds_um
                frames.append(np.c_[rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
        import pandas as pd

        from cellbench.data.tracks import Tracks, TracksMeta

        df = pd.DataFrame({
            "track_id": np.concatenate([np.arange(n) for n in counts]),
            "frame": np.repeat(np.arange(len(counts)), counts),
            "x_um": np.concatenate(frames)[:, 0] if frames else [],
            "y_um": np.concatenate(frames)[:, 1] if frames else [],
        })
        out.append(estimate_prior(Tracks.from_table(df, TracksMeta(dataset="null")), window=window, **kwargs))
    return out


def truth_curves(meta: dict, rho_per_um2: float, reference: str = "mc", seed: int = 0,
                 mc_frames: int = 1000) -> tuple[dict, dict]:
    """(curves for the plot, truth summary) for a simulated run's ``meta``.

    ``reference``: ``"mc"`` (an independent Monte Carlo run, the truth), ``"py"`` (PY as the
    truth: only for steep cores) or ``"none"`` (closure curves only).
    """
    from cellbench.prior.validation.reduced_potentials import beta_u_from_meta

    pot = meta.get("potential")
    if not pot:
        return {}, {}
    beta_u = beta_u_from_meta(pot, float(meta.get("kT", 1.0)))
    sigma = float(pot["sigma_um"])
    curves, summary = {}, {"potential": pot, "sigma_um": sigma, "rho_per_um2": rho_per_um2}
    oz = {}
    for closure in ("py", "hnc"):
        res = solve_oz(beta_u, rho_per_um2, closure, r_max=40 * sigma, n=2048)
        oz[closure] = res
        curves[closure.upper()] = {"k": res.k, "S": res.S_k, "C": res.C_k, "r": res.r, "c": res.c_r, "g": 1 + res.h_r}
        summary[f"{closure}_converged"] = res.converged
    if reference == "mc":
        from cellbench.prior.validation.truth import reference_by_mc

        name = str(pot.get("name"))
        mc_pot = {"name": name, **{k: pot[k] for k in ("sigma_um", "epsilon_kT", "A_kT_um", "kappa_per_um", "r_cut_um")
                                    if k in pot}, "shifted": bool(pot.get("shifted", False))}
        ref = reference_by_mc(mc_pot, rho_per_um2, n_frames=mc_frames, seed=seed)
        curves = {"truth (independent MC)": {"k": ref.k_inv_um, "S": ref.S_k, "C": ref.C_k, "r": ref.r_um,
                                             "c": ref.c_r}, **curves}
        summary["reference"] = ref.hyperparameters["reference"]
        summary["_ref"] = ref
    elif reference == "py":
        summary["reference"] = {"closure": "py"}
    summary["_oz"] = oz
    summary["_beta_u"] = beta_u
    return curves, summary


def run_prior(tracks, out_dir: Path, meta: dict | None = None, window: str = "auto", reference: str = "mc",
              seed: int = 0, null: bool = True, mc_frames: int = 1000, hint: str = "") -> PriorRun:
    """Estimate the prior of ``tracks`` and write ``prior.json`` and ``prior.png`` into ``out_dir``.

    ``extra["warnings"]`` (also in ``prior.json`` and on the plot) lists the failed checks of
    :func:`cellbench.prior.quality.prior_warnings`; with a warning, ``hint`` (:func:`cellbench.prior.quality.frames_hint`
    of the whole recording: where more cells are) goes to ``extra["where_the_cells_are"]`` and the
    null's ratio is marked not meaningful (``extra["null"]["ratio_meaningful"]``)."""
    from cellbench.prior.validation.truth import recovery_errors

    out_dir = Path(out_dir)
    require_pairs(tracks)
    prior = estimate_prior(tracks, window=window)
    extra: dict = {"dataset": tracks.meta.dataset, "n_frames_used": int(len(tracks.frames))}
    curves: dict = {}
    meta = meta if meta is not None else (tracks.meta.extra or {})
    if meta.get("potential"):
        curves, summary = truth_curves(meta, prior.rho_per_um2, reference, seed, mc_frames)
        sigma = summary["sigma_um"]
        oz, beta_u = summary.pop("_oz"), summary.pop("_beta_u")
        ref = summary.pop("_ref", None)
        tail_bu = beta_u if str(meta["potential"].get("name")) == "yukawa" else None
        if ref is not None:
            truth_c, truth_S, r_t, c_t = ref.c_of_r, (lambda k: np.interp(k, ref.k_inv_um, ref.S_k)), ref.r_um, ref.c_r
        elif reference == "py":
            truth_c, truth_S, r_t, c_t = oz["py"].c_of_r, oz["py"].S_of_k, oz["py"].r, oz["py"].c_r
        else:
            truth_c = None
        errors = {}
        if truth_c is not None:
            r = prior.r_um
            extra["c_r_true"] = truth_c(r)
            extra["c_r_true_source"] = "independent Monte Carlo" if ref is not None else "Percus-Yevick"
            errors["vs_truth"] = recovery_errors(prior, truth_c, truth_S, sigma, tail_bu, r_t, c_t)
        for closure, res in oz.items():
            errors[f"vs_{closure}"] = recovery_errors(prior, res.c_of_r, res.S_of_k, sigma, tail_bu, res.r, res.c_r)
        extra["truth"] = summary
        extra["errors"] = errors
    if null:
        win = Window.from_dict(prior.hyperparameters["window"])
        hp = prior.hyperparameters
        nulls = null_prior(tracks, win, seed=seed, r_max_um=hp["r_max_um"], dr_um=hp["dr_um"],
                           k_max_inv_um=hp["k_max_inv_um"], dk_inv_um=hp["dk_inv_um"])
        r = prior.r_um
        c_null = np.array([p.c_of_r(r) for p in nulls])
        band = np.max(np.abs(c_null), axis=0)
        extra["null"] = {
            "what": f"{NULL_REPEATS} uniform random point sets, same window, cells per frame and hyperparameters",
            "max_abs_c_null": float(np.max(band)),
            "max_abs_c": float(np.max(np.abs(prior.c_r))),
            "signal_to_null": float(np.max(np.abs(prior.c_r)) / max(float(np.max(band)), 1e-300)),
            "rms_c_null": float(np.sqrt(np.mean(c_null**2))),
            "r_cut_null_um": [p.r_cut_um for p in nulls],
        }
        curves["uniform null (max |c|)"] = {"r": r, "c": band}
    extra["warnings"] = prior_warnings(prior, positions_by_frame(tracks), extra["null"]["rms_c_null"] if null else None)
    if null:
        extra["null"]["ratio_meaningful"] = not extra["warnings"]
    if extra["warnings"] and hint:
        extra["where_the_cells_are"] = hint
    json_path, png_path = out_dir / "prior.json", out_dir / "prior.png"
    prior.save(json_path, extra)
    plot_prior(prior, png_path, curves, title=f"{tracks.meta.dataset}: rho = {prior.rho_per_um2:.4g} /um^2, "
               f"r_cut = {prior.r_cut_um:.4g} um", warnings=warning_lines(extra["warnings"], hint))
    return PriorRun(prior, extra, json_path, png_path)


def report_lines(run: PriorRun) -> list[str]:
    """What the console says about an estimate: the null comparison, read as evidence only when no
    check failed, then one ``warning:`` line per failed check."""
    lines = []
    n, warnings = run.extra.get("null"), run.extra.get("warnings") or []
    if n is not None:
        ratio = (f"max |c(r)| = {n['max_abs_c']:.3g}, uniform null max |c| = {n['max_abs_c_null']:.3g} "
                 f"(ratio {n['signal_to_null']:.3g})")
        lines.append(ratio if not warnings else
                     f"{ratio}: NOT evidence of structure, the estimate fails {len(warnings)} check(s) below")
    return lines + warning_lines(warnings, run.extra.get("where_the_cells_are", ""))
