r"""Intervals of test metrics from a moving-block bootstrap over test frames.

The test targets of one frame share the frame's cells and noise, and neighbouring frames share
slow collective motion, so rows are neither independent nor are frames. The resampling unit is
therefore a block of ``block_len`` *consecutive* test frames (all rows of a frame move together),
drawn as a **circular** moving-block bootstrap (Politis & Romano 1992): a block may start at any of
the ``n_frames`` frames and wraps from the last frame to the first, so every frame is drawn equally
often on average and the bootstrap mean of a frame average equals the sample value. Blocks are
concatenated and the last one is cut so that each resample again holds ``n_frames`` frames
(``circular=False`` gives the plain moving-block bootstrap, starts in ``0 .. n_frames - block_len``).

Every statistic here is a smooth function of *sums of per-row quantities* (counts, targets,
squared targets, squared errors), so the rows are reduced once to per-frame sums ``S`` of shape
(n_frames, k); a resample is a vector ``w`` of how often each frame was drawn and its totals are
``w @ S``. One resample costs O(n_frames), not O(n_rows).

- :func:`block_length_frames`: the block length from the autocorrelation of a per-frame series.
- :func:`block_bootstrap_draws`: the drawn frame positions, (n_boot, n_frames).
- :func:`moving_block_bootstrap`: replicates of ``stat_fn`` of the resampled totals.
- :func:`metric_intervals`: 95 % intervals of R^2 and RMSE for several models and of paired
  differences, as plain floats and lists for ``metrics.json``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np


BLOCK_LEN_RULE = (
    "Politis-White (2004) automatic block length with the Patton-Politis-White (2009) correction, "
    "circular/moving-block constant: b = ceil((2 G^2 / D)^(1/3) n^(1/3)), D = (4/3) g0^2, on each "
    "model's per-frame MSE and each pair's per-frame MSE difference; the largest is used, clipped "
    "to [1, n_frames/3]"
)
"""The block-length rule of :func:`metric_intervals`, as written into ``metrics.json``."""


def _flat_top(t: np.ndarray) -> np.ndarray:
    """Politis-Romano trapezoidal flat-top lag window: 1 for |t| <= 1/2, 2(1 - |t|) up to 1, 0 beyond."""
    t = np.abs(t)
    return np.where(t <= 0.5, 1.0, np.clip(2.0 * (1.0 - t), 0.0, None))


def block_length_frames(per_frame_values: np.ndarray) -> int:
    r"""Block length, in frames, for a moving-block bootstrap of a per-frame series.

    Politis & White (2004), corrected by Patton, Politis & White (2009). With
    :math:`\hat R(k)` the sample autocovariance and :math:`\hat\rho(k)` the autocorrelation of the
    series :math:`x_1 .. x_n`:

    1. :math:`\hat m` = the smallest lag :math:`m \ge 0` after which :math:`K_n = \max(5,
       \lceil\sqrt{\log_{10} n}\rceil)` consecutive autocorrelations are insignificant,
       :math:`|\hat\rho(m + j)| < 2 \sqrt{\log_{10} n / n}` for :math:`j = 1..K_n`;
       :math:`M = \min(2 \max(\hat m, 1),\ \lceil\sqrt n\rceil + K_n)`.
    2. With the flat-top window :math:`\lambda(t)` (1 for :math:`|t| \le 1/2`,
       :math:`2(1-|t|)` for :math:`1/2 < |t| \le 1`):

       .. math:: \hat G = \sum_{|k| \le M} \lambda(k/M)\, |k|\, \hat R(k), \qquad
                 \hat g_0 = \sum_{|k| \le M} \lambda(k/M)\, \hat R(k)

    3. The block length of the circular (and of the moving-) block bootstrap,

       .. math:: b = \Big\lceil \Big(\frac{2 \hat G^2}{\tfrac43 \hat g_0^2}\Big)^{1/3} n^{1/3} \Big\rceil,

       clipped to :math:`[1, \lfloor n/3 \rfloor]`.

    For an AR(1) series with coefficient :math:`\phi` this tends to
    :math:`(\tfrac32)^{1/3} (2\phi/(1-\phi^2))^{2/3} n^{1/3}` (about 6.8 frames for
    :math:`\phi = 0.6, n = 60`); for independent frames :math:`\hat G \approx 0` and b is 1 or 2.

    Parameters
    ----------
    per_frame_values : (n_frames,) array in time order, e.g. each frame's mean squared error;
        must be finite.

    Returns
    -------
    int, frames, in ``[1, max(1, n_frames // 3)]``; 1 when ``n_frames < 6`` or the series is constant.
    """
    x = np.asarray(per_frame_values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"per_frame_values must have shape (n_frames,), found rank {x.ndim}")
    if not np.isfinite(x).all():
        raise ValueError(f"per_frame_values holds {int((~np.isfinite(x)).sum())} non-finite values")
    n = len(x)
    b_max = max(1, n // 3)
    eps = x - x.mean()
    r0 = float(eps @ eps) / n
    if n < 6 or r0 <= 0:
        return 1
    k_n = max(5, math.ceil(math.sqrt(math.log10(n))))
    m_max = min(math.ceil(math.sqrt(n)) + k_n, n - 1)
    n_fft = 1 << (2 * n - 1).bit_length()  # zero-padded: the linear, not circular, autocovariance
    spec = np.fft.rfft(eps, n_fft)
    acv = np.fft.irfft(spec * np.conj(spec), n_fft)[:n] / n  # R(k), k = 0 .. n-1
    rho = np.abs(acv / r0)
    band = 2.0 * math.sqrt(math.log10(n) / n)
    m_hat = None
    for m in range(0, n - k_n):
        if np.all(rho[m + 1 : m + 1 + k_n] < band):
            m_hat = m
            break
    big_m = m_max if m_hat is None else min(2 * max(m_hat, 1), m_max)
    k = np.arange(1, big_m + 1)
    lam = _flat_top(k / big_m)
    g_hat = 2.0 * float(np.sum(lam * k * acv[1 : big_m + 1]))
    g0 = r0 + 2.0 * float(np.sum(lam * acv[1 : big_m + 1]))
    if g0 <= 0:  # a negative long-run variance estimate: the series looks anti-persistent
        return 1
    b = (2.0 * g_hat**2 / (4.0 / 3.0 * g0**2)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return int(min(max(math.ceil(b), 1), b_max))


def block_bootstrap_draws(n_frames: int, n_boot: int, block_len: int, seed: int, circular: bool = True) -> np.ndarray:
    """Frame positions drawn by a (circular) moving-block bootstrap.

    Parameters
    ----------
    n_frames : number of frames in time order, >= 1.
    n_boot : number of resamples, >= 1.
    block_len : frames per block, in ``[1, n_frames]``.
    seed : seed of ``np.random.default_rng``; the same seed gives the same draws.
    circular : True: blocks start anywhere and wrap past the last frame; False: blocks start in
        ``0 .. n_frames - block_len`` (plain moving-block bootstrap, end frames drawn less often).

    Returns
    -------
    (n_boot, n_frames) int array: ``ceil(n_frames / block_len)`` blocks of consecutive positions
    per resample, concatenated and cut to ``n_frames``.
    """
    if n_frames < 1 or n_boot < 1:
        raise ValueError(f"n_frames and n_boot must be >= 1, found {n_frames} and {n_boot}")
    if not 1 <= block_len <= n_frames:
        raise ValueError(f"block_len must be in [1, n_frames = {n_frames}] frames, found {block_len}")
    rng = np.random.default_rng(seed)
    n_blocks = -(-n_frames // block_len)
    n_starts = n_frames if circular else n_frames - block_len + 1
    starts = rng.integers(0, n_starts, size=(n_boot, n_blocks))
    pos = (starts[:, :, None] + np.arange(block_len)).reshape(n_boot, -1)[:, :n_frames]
    return pos % n_frames


def per_frame_sums(frame_ids: np.ndarray, row_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of per-row quantities over the rows of each frame.

    Parameters
    ----------
    frame_ids : (n_rows,) array, the frame (or any sortable time label) of each row.
    row_values : (n_rows, k) array of additive per-row quantities.

    Returns
    -------
    frames : (n_frames,) the distinct frame labels, sorted: the time order of the bootstrap.
    sums : (n_frames, k) float64, ``sums[f] = row_values[frame_ids == frames[f]].sum(0)``.
    """
    frame_ids = np.asarray(frame_ids)
    row_values = np.asarray(row_values, dtype=np.float64)
    if row_values.ndim != 2 or frame_ids.shape != (len(row_values),):
        raise ValueError(f"frame_ids must be (n_rows,) and row_values (n_rows, k), found {frame_ids.shape} "
                         f"and {row_values.shape}")
    frames, inv = np.unique(frame_ids, return_inverse=True)
    sums = np.zeros((len(frames), row_values.shape[1]))
    np.add.at(sums, inv, row_values)
    return frames, sums


def moving_block_bootstrap(frame_ids: np.ndarray, row_values: np.ndarray, stat_fn: Callable[[np.ndarray], np.ndarray],
                           n_boot: int = 1000, block_len: int = 1, seed: int = 0, circular: bool = True) -> np.ndarray:
    r"""Bootstrap replicates of a statistic of summed per-row quantities, resampling blocks of frames.

    With per-frame sums :math:`S_f` (:func:`per_frame_sums`) and :math:`w_{bf}` the number of times
    resample b drew frame f (:func:`block_bootstrap_draws`), replicate b is

    .. math:: \theta^*_b = \mathrm{stat\_fn}\Big(\sum_f w_{bf} S_f\Big),

    exactly the statistic recomputed from the rows of the drawn frames (a frame drawn twice
    counts twice), at O(n_frames) per resample.

    Parameters
    ----------
    frame_ids : (n_rows,) frame of each row; the sorted distinct values are the time order.
    row_values : (n_rows, k) additive per-row quantities.
    stat_fn : maps totals of shape (n_boot, k) to (n_boot,) or (n_boot, m), vectorised over
        resamples (``stat_fn(row_values.sum(0, keepdims=True))`` is the full-sample value).
    n_boot : number of resamples.
    block_len : frames per block, ``[1, n_frames]``; see :func:`block_length_frames`.
    seed : seed of the draws.
    circular : see :func:`block_bootstrap_draws`.

    Returns
    -------
    (n_boot,) or (n_boot, m) array of replicates.
    """
    _, sums = per_frame_sums(frame_ids, row_values)
    n_frames = len(sums)
    pos = block_bootstrap_draws(n_frames, n_boot, block_len, seed, circular)
    weights = np.bincount((pos + n_frames * np.arange(n_boot)[:, None]).ravel(),
                          minlength=n_boot * n_frames).reshape(n_boot, n_frames)
    return stat_fn(weights.astype(np.float64) @ sums)


# -- R^2 and RMSE of several models from sufficient statistics ---------------------------------

def metric_row_values(true_um: np.ndarray, preds_um: Sequence[np.ndarray]) -> np.ndarray:
    r"""Per-row sufficient statistics of pooled R^2 and RMSE for several models.

    Columns: 1, :math:`\tilde y_x, \tilde y_y, \tilde y_x^2, \tilde y_y^2`, then one
    :math:`\sum_d (\hat y_{d} - y_{d})^2` per model, where :math:`\tilde y = y - \bar y` is the
    target centred on the full test mean (the sum of squares around a resample's own mean does
    not change; centring only avoids cancellation).

    Parameters
    ----------
    true_um : (n_rows, 2) true displacements, um.
    preds_um : n_models arrays (n_rows, 2) of predicted displacements, um.

    Returns
    -------
    (n_rows, 5 + n_models) float64.
    """
    true_um = np.asarray(true_um, dtype=np.float64)
    yc = true_um - true_um.mean(axis=0)
    cols = [np.ones(len(true_um)), yc[:, 0], yc[:, 1], yc[:, 0] ** 2, yc[:, 1] ** 2]
    for p in preds_um:
        p = np.asarray(p, dtype=np.float64)
        if p.shape != true_um.shape or p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"predictions and targets must both have shape (n_rows, 2), found {p.shape} and "
                             f"{true_um.shape}")
        cols.append(np.sum((p - true_um) ** 2, axis=1))
    return np.column_stack(cols)


def metrics_from_sums(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Pooled R^2 and RMSE of every model from totals of :func:`metric_row_values`.

    .. math:: R^2 = 1 - \frac{SSE}{\sum_d \big(\sum \tilde y_d^2 - (\sum \tilde y_d)^2 / n\big)},
              \qquad \mathrm{RMSE} = \sqrt{SSE / (2n)}

    the same numbers as :func:`~cellbench.evaluation.pointwise.r2_pooled` and
    :func:`~cellbench.evaluation.pointwise.rmse_pooled_um` on the rows summed.

    Parameters
    ----------
    totals : (n_boot, 5 + n_models) summed sufficient statistics.

    Returns
    -------
    r2 : (n_boot, n_models), dimensionless; NaN where the targets do not vary.
    rmse_um : (n_boot, n_models), um.
    """
    n = totals[:, 0]
    sst = totals[:, 3] - totals[:, 1] ** 2 / n + totals[:, 4] - totals[:, 2] ** 2 / n
    sse = totals[:, 5:]
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst[:, None] > 0, 1.0 - sse / sst[:, None], np.nan)
    return r2, np.sqrt(sse / (2.0 * n[:, None]))


def _r2_then_rmse(totals: np.ndarray) -> np.ndarray:
    """(n_boot, 2 n_models): the R^2 of every model, then the RMSE of every model."""
    return np.concatenate(metrics_from_sums(totals), axis=1)


def _interval(values: np.ndarray, level: float) -> list[float] | None:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return None
    lo, hi = np.quantile(v, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return [float(lo), float(hi)]


def metric_intervals(true_um: np.ndarray, preds_um: dict[str, np.ndarray], frame_ids: np.ndarray,
                     pairs: Sequence[tuple[str, str]] = (), n_boot: int = 1000, block_len: int | None = None,
                     seed: int = 0, level: float = 0.95, circular: bool = True) -> dict:
    """Percentile intervals of R^2 and RMSE per model and of paired differences, for ``metrics.json``.

    All models and pairs use the same resamples, so a paired difference keeps the frames'
    common difficulty out of its width (a model paired with itself gives exactly ``[0, 0]``).

    Parameters
    ----------
    true_um : (n_rows, 2) test targets, um.
    preds_um : ``{model name: (n_rows, 2) predictions}``, um, rows aligned with ``true_um``.
    frame_ids : (n_rows,) frame of each row. Rows with the same frame are resampled together
        (with several test sequences on the same time block, pass the frame alone).
    pairs : ``(a, b)`` names; the interval of ``metric(a) - metric(b)`` on the same resample.
    n_boot : resamples. block_len : frames per block; None chooses it by :data:`BLOCK_LEN_RULE`.
    seed : seed of the draws. level : coverage of the interval. circular : see
        :func:`block_bootstrap_draws`.

    Returns
    -------
    dict of plain floats, ints, strings and lists: ``method``, ``level``, ``n_boot``, ``seed``,
    ``n_frames``, ``block_len_frames``, ``block_len_rule``, ``models`` ``{name: {"r2": [low, high],
    "rmse_um": [low, high]}}``, ``differences`` ``{"a - b": {...}}`` and ``n_boot_undefined``
    (resamples whose targets do not vary: left out of the R^2 quantiles). An interval is None
    when no resample defines it.
    """
    names = list(preds_um)
    for a, b in pairs:
        if a not in preds_um or b not in preds_um:
            raise ValueError(f"pair ({a!r}, {b!r}): both must be among the models {names}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), found {level}")
    rows = metric_row_values(true_um, [preds_um[k] for k in names])
    frames, sums = per_frame_sums(frame_ids, rows)
    chosen = block_len is None
    if chosen:
        block_len = block_length_frames_for(sums, names, pairs)
    reps = moving_block_bootstrap(frame_ids, rows, _r2_then_rmse, n_boot, block_len, seed, circular)
    r2, rmse = reps[:, : len(names)], reps[:, len(names):]
    col = {k: i for i, k in enumerate(names)}
    models = {k: {"r2": _interval(r2[:, i], level), "rmse_um": _interval(rmse[:, i], level)} for k, i in col.items()}
    diffs = {f"{a} - {b}": {"r2": _interval(r2[:, col[a]] - r2[:, col[b]], level),
                            "rmse_um": _interval(rmse[:, col[a]] - rmse[:, col[b]], level)} for a, b in pairs}
    return {
        "method": ("circular" if circular else "non-circular") + " moving-block bootstrap over test frames, "
                  "percentile intervals",
        "level": float(level), "n_boot": int(n_boot), "seed": int(seed), "n_frames": int(len(frames)),
        "block_len_frames": int(block_len), "block_len_rule": BLOCK_LEN_RULE if chosen else "given by the caller",
        "models": models, "differences": diffs,
        "n_boot_undefined": int(np.sum(~np.isfinite(r2[:, 0]))) if names else 0,
    }


def block_length_frames_for(sums: np.ndarray, names: Sequence[str], pairs: Sequence[tuple[str, str]]) -> int:
    """:data:`BLOCK_LEN_RULE`: the largest :func:`block_length_frames` over each model's per-frame MSE
    and each pair's per-frame MSE difference (``sums`` from :func:`metric_row_values` summed per frame)."""
    mse = sums[:, 5:] / (2.0 * sums[:, :1])
    col = {k: i for i, k in enumerate(names)}
    series = [mse[:, i] for i in range(len(names))] + [mse[:, col[a]] - mse[:, col[b]] for a, b in pairs]
    return max([block_length_frames(s) for s in series], default=1)

