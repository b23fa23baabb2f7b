r"""When a prior estimate cannot be trusted: checks on S(k), C(k) and the data behind them, each with
what to change.

:func:`prior_warnings` returns one ``{"code", "message", "suggestion"}`` per failed check (empty
when every check passes); ``cellbench prior`` writes them into ``prior.json`` (``warnings``), on
the console and on ``prior.png``. The checks and their thresholds:

``S_negative``
    S(k) < 0 somewhere. No real system has a negative structure factor, so the noise of the pair
    histogram exceeds S itself there.
``C_clamped``
    S(k) < ``s_min`` somewhere: :func:`~cellbench.prior.correlation.direct_correlation_k` clips S
    there, C(k) sits at its clamp :math:`(1 - 1/s_\min)/\rho` and c(r) carries the clamp, not data.
``few_cells``
    fewer than :data:`MIN_CELLS_PER_FRAME` cells per frame on average: the window is fitted to
    the points (:func:`~cellbench.prior.window.fit_window`) and below this count a bounding box
    is not meaningful (the same threshold that ``--window frame`` applies to a frame); the
    finite-N correction of g(r), :math:`(1 - S_0)/N` per frame, is then of order 0.1 or more.
``few_pairs``
    fewer than :data:`MIN_INDEPENDENT_PAIRS` independent pairs within :math:`r_c`: the pair count
    over all frames divided by the integrated autocorrelation time of the single-frame S(0) (the
    estimator's own error model, ``S0_autocorr_frames``). With n independent pairs, g(r) averaged
    over the whole range has a Poisson error :math:`1/\sqrt n`: above 10 % below 100 pairs, and
    each of the hundreds of bins is far noisier.
``null_noise``
    the uniform-random null (same window, cells per frame and hyperparameters; its true c is 0)
    gives c(r) with an RMS of :data:`NULL_RMS_C` or more over :math:`r \le r_c`: its 2-sigma band
    then reaches 0.5, half of a hard core's :math:`|c| = 1` at low density (c(r) approaches the
    Mayer function :math:`e^{-u/kT} - 1`, -1 inside the core), so noise hides a contact
    interaction. The RMS, not the null's largest :math:`|c|`: that sits at r -> 0, where the
    inverse Hankel transform adds up the noise of every k and cells never are (measured: null RMS
    0.03-0.06 for 300 cells over 20-60 frames of WCA and ``default``, 0.42-0.56 for 3 cells over
    300 frames, random walks or the first 300 frames of BF-C2DL-HSC_02).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from cellbench.prior.automatic import FRAME_WINDOW_MIN_CELLS
from cellbench.prior.result import Prior

MIN_CELLS_PER_FRAME = FRAME_WINDOW_MIN_CELLS
"""10 cells per frame on average (module docstring, ``few_cells``)."""
MIN_INDEPENDENT_PAIRS = 100
"""100 independent pairs within r_c: a 10 % Poisson error on g(r) averaged over the range (``few_pairs``)."""
NULL_RMS_C = 0.25
"""The null's RMS c(r) at which its 2-sigma band reaches half of a hard core's |c| = 1 (``null_noise``)."""


def pairs_within(frames_um: list[np.ndarray], r_um: float) -> int:
    """Number of cell pairs closer than ``r_um`` (plain distances), summed over frames.

    Parameters
    ----------
    frames_um : list of (n_cells, 2) position arrays, um. r_um : the distance, um.
    """
    return int(sum(cKDTree(f).count_neighbors(cKDTree(f), r_um) - len(f) for f in frames_um if len(f) > 1) // 2)


def frames_hint(cells_per_frame: pd.Series, n_frames_used: int | None) -> str:
    """Where the cells are: which frame holds the most, and the ``--frames`` that reaches it.

    ``cells_per_frame``: cells per frame of the whole recording (index: frame), in frame order;
    ``n_frames_used``: the first frames the estimate used (None: all of them).
    """
    if cells_per_frame.empty:
        return "the recording holds no cells"
    frames = cells_per_frame.index.to_numpy()
    best = int(np.argmax(cells_per_frame.to_numpy()))
    text = f"frame {frames[best]} holds the most cells ({int(cells_per_frame.iloc[best])})"
    if n_frames_used is not None and best >= n_frames_used:
        text += f"; --frames {best + 1} or more includes it (or leave --frames out to use all {len(frames)} frames)"
    elif n_frames_used is None:
        text += "; only a longer or denser recording adds pairs"
    return text


def prior_warnings(prior: Prior, frames_um: list[np.ndarray], null_rms_c: float | None = None) -> list[dict]:
    """The failed checks of one estimate (module docstring), each with a suggestion.

    Parameters
    ----------
    prior : the estimate (its ``diagnostics`` and ``hyperparameters`` as written by
        :func:`~cellbench.prior.automatic.estimate_prior`).
    frames_um : the (n_cells, 2) position arrays of the frames it used, um.
    null_rms_c : RMS of the uniform-random null's c(r) over its r grid, all repeats (None: no null).

    Returns
    -------
    list of dicts ``{"code", "message", "suggestion"}``, in the order of the module docstring.
    """
    d, hp = prior.diagnostics, prior.hyperparameters
    more = "average more frames (raise --frames, or leave it out)"
    denser = more + " or use frames that hold more cells"
    out = []
    S, k = np.asarray(prior.S_k), np.asarray(prior.k_inv_um)
    window_k = d.get("k_guard_inv_um")
    larger = (f"; a larger window lowers the smallest resolved k (2 pi / window size = {window_k:.3g} 1/um)"
              if window_k else "")
    if np.nanmin(S) < 0:
        i = int(np.nanargmin(S))
        out.append({"code": "S_negative", "message": f"S(k) reaches {S[i]:.3g} at k = {k[i]:.3g} 1/um: below 0, which "
                    "no real system gives, so noise dominates S(k) there", "suggestion": more + larger})
    s_min = float(hp.get("s_min", 0.0))
    small = ~(S >= s_min)
    if small.any():
        clamp = (1.0 - 1.0 / s_min) / prior.rho_per_um2
        out.append({"code": "C_clamped", "message": f"S(k) < s_min = {s_min:g} at {int(small.sum())} of {len(S)} k values "
                    f"({k[small].min():.3g}-{k[small].max():.3g} 1/um): C(k) there is the clamp (1 - 1/s_min) / rho = "
                    f"{clamp:.3g} um^2, not data, and c(r) carries it", "suggestion": more + larger})
    cells = float(d.get("mean_cells_per_frame", np.nan))
    if cells < MIN_CELLS_PER_FRAME:
        out.append({"code": "few_cells", "message": f"{cells:.3g} cells per frame on average (< {MIN_CELLS_PER_FRAME}): "
                    "the window fitted to so few points and the finite-N correction of g(r) dominate the estimate",
                    "suggestion": "use frames that hold more cells"})
    tau = float(d.get("S0_autocorr_frames", 1.0))
    n_pairs = pairs_within(frames_um, float(hp["r_max_um"]))
    independent = n_pairs / max(tau, 1.0)
    if independent < MIN_INDEPENDENT_PAIRS:
        out.append({"code": "few_pairs", "message": f"{independent:.3g} independent pairs within r_c = "
                    f"{hp['r_max_um']:.3g} um ({n_pairs} pairs in {len(frames_um)} frames / autocorrelation time "
                    f"{tau:.3g} frames; < {MIN_INDEPENDENT_PAIRS}): g(r) has a counting error above 10 % even "
                    "averaged over the whole range", "suggestion": denser})
    if null_rms_c is not None and null_rms_c >= NULL_RMS_C:
        out.append({"code": "null_noise", "message": f"uniform random points with the same window and cells per frame "
                    f"(true c = 0) give c(r) with an RMS of {null_rms_c:.3g} (>= {NULL_RMS_C:g}: a 2-sigma band of "
                    "+-0.5, half of a hard core's |c| = 1 at low density): the estimator's noise here hides a contact "
                    "interaction",
                    "suggestion": denser})
    return out


def warning_lines(warnings: list[dict], hint: str = "") -> list[str]:
    """One line per warning, ``message; suggestion``, then where the cells are (``hint``, :func:`frames_hint`)."""
    lines = [f"warning: {w['message']}; {w['suggestion']}" for w in warnings]
    return lines + ([f"where the cells are: {hint}"] if warnings and hint else [])


__all__ = ["MIN_CELLS_PER_FRAME", "MIN_INDEPENDENT_PAIRS", "NULL_RMS_C", "frames_hint", "pairs_within",
           "prior_warnings", "warning_lines"]
