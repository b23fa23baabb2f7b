r"""Multi-step rollouts: position errors at several horizons (issue 14 section 1, first piece).

A predictor gives each cell's one-step displacement; rolled out from a start frame
:math:`t_0` its predicted positions become the next frame's positions:

.. math:: \hat{\mathbf x}_i^{t_0} = \mathbf x_i^{t_0}, \qquad
          \hat{\mathbf x}_i^{t_0+s} = \hat{\mathbf x}_i^{t_0+s-1} + \hat{\mathbf y}_i^{t_0+s-1}
          \quad (s = 1 \dots K)

where :math:`\hat{\mathbf y}^{t_0+s-1}` is predicted on a copy of the table cut after frame
:math:`t_0+s-1` in which the rolled cells' positions in frames :math:`t_0+1 \dots t_0+s-1` are the
predicted ones (wrapped into a periodic box when the table has one, :mod:`cellbench.space`).

The cells rule
--------------
* A cell is *rolled* from :math:`t_0` while its track is present in every frame
  :math:`t_0, t_0+1, \dots` with no gap (the chain of :func:`~cellbench.data.targets.neighbour_rows`).
  At horizon k it is *scored* only when present through the whole horizon
  :math:`t_0 \dots t_0+k`; a cell that vanishes inside the horizon is not scored at that k (it is
  at shorter horizons), and from the frame it vanishes it is simply absent, as in the data.
* Every other cell (one that appears after :math:`t_0`, a daughter, a track reappearing after a
  gap, which gaps never bridge) keeps its data position as given, in every frame.
* Presence (which track is in which frame) and the other columns (``radius_um`` ...) are taken
  from the data; the data positions of rolled cells after :math:`t_0` are never read.

Scores (:func:`rollout_rmse_um`) pool the (start, cell) pairs scored at k:

.. math:: \mathrm{RMSE}(k) = \sqrt{\big\langle |\hat{\mathbf x}_i^{t_0+k} - \mathbf x_i^{t_0+k}|^2
          \big\rangle_{(t_0, i)}}\ [\mathrm{um}]

(the 2D position error: at k = 1 it is :math:`\sqrt 2` times the pooled per-component displacement
RMSE), with the ``zero`` reference's RMSE(k) on the same pairs (:math:`\hat{\mathbf x} = \mathbf x^{t_0}`,
the root mean squared k-frame displacement) and their ratio. In a periodic box the error is a
minimum image, so it saturates once rolled positions drift by half a box.

Scope: the predictor must be *causal on the table*: its prediction at frame t reads only rows of
frames <= t of ``s.tracks`` (and what it learnt in ``fit``). The references (``zero``,
``const-velocity``, ``mean``, ``ar``) are, exactly, and are rolled out through ``predict`` on a
window of the c = ``context_frames`` frames before the frame they predict from (the window slides
with the rollout; exact for them when c >= their lag). The oracle needs the simulator state, which a
table of positions does not carry: its rollout replays the simulation
(:mod:`cellbench.evaluation.oracle_rollout`).

The stateful path (anchored window)
-----------------------------------
A predictor with a ``rollout_session()`` (a learned model,
:class:`~cellbench.train.learned.LearnedModel`, whose track LSTM carries a state from frame to frame)
is rolled out through it instead. For start :math:`t_0` its state is warmed once, from zero state at
frame :math:`t_0 - c` (the sequence start when c is None) through :math:`t_0` on data positions, and
then carried step by step over the rolled frames :math:`t_0+1, t_0+2, \dots`: step s builds the
graph and features of frame :math:`t_0+s-1` alone (from it and the frames its lag features read) and
runs the network one frame. The result is exactly (to float precision) that of ``predict`` on the
*anchored* window, frames :math:`t_0 - c \dots t_0+s-1` at step s (``window='anchored'`` on a
predictor without a session), at the cost of one frame per step instead of c + 1.
``window='sliding'`` rolls such a predictor out through ``predict`` on the sliding window instead
(its state then re-warmed over the c frames before every step: the rule before the sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench import space
from cellbench.data.dataset import Dataset, Sequence
from cellbench.data.splits import Block
from cellbench.data.targets import neighbour_rows
from cellbench.data.tracks import Tracks

HORIZONS: tuple[int, ...] = (1, 2, 4, 8, 16)
"""Default horizons k, in frames."""


@dataclass(frozen=True, eq=False)
class Rollout:
    """Predicted and data positions of every (start frame, rolled cell) pair.

    Sizes: P pairs (a cell rolled from one start frame), K = ``horizon_frames``.

    Attributes
    ----------
    start_frames : (n_starts,) int64, the start frames t0.
    horizon_frames : K.
    start : (P,) int64, index into ``start_frames`` of each pair.
    track_id : (P,) int64.
    n_present : (P,) int64, frames the cell stays present after t0 with no gap, capped at K; the
        pair is scored at horizons k <= ``n_present``.
    x0_um : (P, 2) data position at t0.
    pred_um, true_um : (P, K, 2) predicted and data positions at t0 + 1 .. t0 + K, NaN from the
        frame the cell vanishes.
    box_um : periodic box side (errors are minimum images), or None.
    """

    start_frames: np.ndarray
    horizon_frames: int
    start: np.ndarray
    track_id: np.ndarray
    n_present: np.ndarray
    x0_um: np.ndarray
    pred_um: np.ndarray
    true_um: np.ndarray
    box_um: float | None


def start_frames_in(tracks: Tracks, first_frame: int, stop_frame: int, horizon_frames: int) -> np.ndarray:
    """Held frames t0 with ``first_frame <= t0`` and ``t0 + horizon_frames < stop_frame`` (a block's range).

    Every horizon up to ``horizon_frames`` then stays inside ``[first_frame, stop_frame)``, and all
    horizons are scored from the same start frames.
    """
    f = tracks.frames
    return f[(f >= first_frame) & (f + horizon_frames < stop_frame)]


def _chains(nxt: np.ndarray, first_rows: np.ndarray, K: int) -> np.ndarray:
    """(n, K + 1) rows of each cell at t0 + s while present with no gap, -1 after."""
    rows = np.full((len(first_rows), K + 1), -1, dtype=np.int64)
    rows[:, 0] = first_rows
    for s in range(1, K + 1):
        prev = rows[:, s - 1]
        rows[:, s] = np.where(prev >= 0, nxt[np.maximum(prev, 0)], -1)
    return rows


def _checked_starts(tracks: Tracks, start_frames, horizon_frames: int) -> tuple[np.ndarray, int]:
    K = int(horizon_frames)
    if K < 1:
        raise ValueError(f"horizon_frames must be >= 1, got {horizon_frames}")
    starts = np.asarray(start_frames, dtype=np.int64).reshape(-1)
    if len(starts) == 0:
        raise ValueError("no start frame given")
    missing = np.setdiff1d(starts, tracks.frames)
    if len(missing):
        raise ValueError(f"start frames {missing[:5].tolist()} hold no cell in {tracks.meta.dataset}")
    return starts, K


def rolled_chains(tracks: Tracks, start_frames, horizon_frames: int) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """(start frames, K, chains): per start frame the (n_cells, K + 1) rows of each rolled cell at
    t0 .. t0 + K (-1 once the cell has vanished), the cells rule of the module docstring."""
    starts, K = _checked_starts(tracks, start_frames, horizon_frames)
    frame = tracks.df["frame"].to_numpy()
    nxt = neighbour_rows(tracks, +1)
    return starts, K, [_chains(nxt, np.flatnonzero(frame == t0), K) for t0 in starts]


def assemble_rollout(tracks: Tracks, starts: np.ndarray, K: int, chains: list[np.ndarray],
                     pred: list[np.ndarray]) -> Rollout:
    """The :class:`Rollout` of predicted positions ``pred`` (per start, (n_cells, K + 1, 2), column 0
    the start positions) on the ``chains`` of :func:`rolled_chains`; NaN where a cell has vanished."""
    pos = tracks.positions_um()
    chain = np.concatenate(chains)
    alive = chain[:, 1:] >= 0
    true = np.where(alive[..., None], pos[np.maximum(chain[:, 1:], 0)], np.nan)
    return Rollout(
        start_frames=starts, horizon_frames=K,
        start=np.concatenate([np.full(len(c), i, dtype=np.int64) for i, c in enumerate(chains)]),
        track_id=tracks.df["track_id"].to_numpy()[chain[:, 0]],
        n_present=alive.sum(axis=1).astype(np.int64),
        x0_um=pos[chain[:, 0]], pred_um=np.where(alive[..., None], np.concatenate(pred)[:, 1:], np.nan),
        true_um=true, box_um=tracks.periodic_box_um,
    )


WINDOWS = ("sliding", "anchored")
"""The tables of the ``predict`` path of :func:`rollout_positions` (see there)."""


def _rolled_sequence(tracks: Tracks, frame: np.ndarray, pos_um: np.ndarray, a: int, b: int, t: int,
                     chain: np.ndarray, pred: np.ndarray, s: int) -> Sequence:
    """Rows ``[a, b)`` of ``tracks`` (frames up to t = t0 + s - 1), rolled cells at their positions of steps 1 .. s - 1.

    ``frame``, ``pos_um`` : the frame and position (um) of every row of ``tracks``. Only the rows of
    frame t are test rows; there is no target.
    """
    xy = pos_um[a:b].copy()
    for j in range(1, s):  # rolled frames inside the window (rows of frames before it are < a)
        alive = chain[:, j] >= a
        xy[chain[alive, j] - a] = pred[alive, j]
    window = tracks.row_window(a, b, xy)
    last = frame[a:b] == t
    masks = {"train": np.zeros(b - a, bool), "val": np.zeros(b - a, bool), "test": last}
    return Sequence(window, np.full((b - a, 2), np.nan), masks)


def rollout_positions(predictor, tracks: Tracks, start_frames, horizon_frames: int,
                      context_frames: int | None = None, window: str | None = None) -> Rollout:
    """Roll ``predictor`` out autoregressively for ``horizon_frames`` frames from each start frame.

    Parameters
    ----------
    predictor : fitted, with ``predict(data: Dataset) -> list[(n_rows, 2) array]`` in um per frame,
        causal on the table (see the module docstring); optionally with ``rollout_session()``, a
        session whose ``step(data)`` returns per sequence the (n, 2) predictions for the n rows of
        its table's last frame, carrying its state from call to call
        (:class:`~cellbench.train.learned.RolloutSession`), and ``history_frames``, the frames
        before a frame that its inputs read.
    tracks : one sequence.
    start_frames : (n_starts,) frames held in ``tracks``.
    horizon_frames : K >= 1.
    context_frames : c, frames of history before the frame predicted from (t = t0 + s - 1 at step s);
        None keeps the whole past.
    window : the table of frames given at step s. ``'sliding'``: ``predict`` on frames t - c .. t, so
        each step costs the same however long the horizon (exact for predictors that read at most c
        past frames, e.g. AR(p) with p <= c). ``'anchored'``: the state is warmed over frames
        t0 - c .. t0 and carried through the rollout, through the predictor's session when it has
        one (one new frame per step), else by ``predict`` on frames t0 - c .. t (growing windows).
        Default None: ``'anchored'`` for a predictor with a session, else ``'sliding'``.

    Returns
    -------
    :class:`Rollout`. The starts are batched: step s predicts on one :class:`Dataset` holding one
    rolled table per start frame, so the predictor (or its session) is called K times.
    """
    if window is not None and window not in WINDOWS:
        raise ValueError(f"window {window!r}: choose one of {list(WINDOWS)} or None")
    starts, K, chains = rolled_chains(tracks, start_frames, horizon_frames)
    session = predictor.rollout_session() if hasattr(predictor, "rollout_session") and window != "sliding" else None
    anchored = window == "anchored" or session is not None
    _, shift = space.from_box(tracks.periodic_box_um)
    frame = tracks.df["frame"].to_numpy()
    pos = tracks.positions_um()
    pred = [np.full((len(c), K + 1, 2), np.nan) for c in chains]
    for p, c in zip(pred, chains):
        p[:, 0] = pos[c[:, 0]]
    for s in range(1, K + 1):
        seqs, offsets = [], []
        for t0, c, p in zip(starts, chains, pred):
            t = t0 + s - 1
            lo = -np.inf if context_frames is None else (t0 if anchored else t) - context_frames
            if session is not None and s > 1:  # the session has run frames up to t - 1: history only
                lo = max(lo, t - session.history_frames)
            a, b = np.searchsorted(frame, lo, "left"), np.searchsorted(frame, t, "right")
            seqs.append(_rolled_sequence(tracks, frame, pos, a, b, t, c, p, s))
            offsets.append(a if session is None else np.searchsorted(frame, t, "left"))  # rows of y
        blocks = [Block(i, "test", int(t0 + s - 1), int(t0 + s)) for i, t0 in enumerate(starts)]
        data = Dataset(f"{tracks.meta.dataset}:rollout-step{s}", seqs, blocks, "time")
        out = predictor.predict(data) if session is None else session.step(data)
        for y, a, c, p in zip(out, offsets, chains, pred):
            alive = c[:, s] >= 0
            p[alive, s] = shift(p[alive, s - 1], np.asarray(y)[c[alive, s - 1] - a])
    return assemble_rollout(tracks, starts, K, chains, pred)


def rolled_tracks(tracks: Tracks, rollout: Rollout, start_index: int = 0) -> Tracks:
    """The table of frames t0 .. t0 + K of one start of ``rollout``, rolled cells at their predicted positions.

    Rows are those of the data (the cells rule: presence comes from the data, cells that are not
    rolled keep their data positions); a rolled cell's rows after t0 carry its predicted position.
    """
    t0 = int(rollout.start_frames[start_index])
    K = rollout.horizon_frames
    frame = tracks.df["frame"].to_numpy()
    a, b = np.searchsorted(frame, t0, "left"), np.searchsorted(frame, t0 + K, "right")
    xy = tracks.positions_um()[a:b].copy()
    key = {(int(f), int(t)): i for i, (f, t) in enumerate(zip(frame[a:b], tracks.df["track_id"].to_numpy()[a:b]))}
    for p in np.flatnonzero(rollout.start == start_index):
        for s in range(rollout.n_present[p]):
            xy[key[(t0 + s + 1, int(rollout.track_id[p]))]] = rollout.pred_um[p, s]
    return tracks.row_window(a, b, xy)


def position_rmse_um(pred_um: np.ndarray, true_um: np.ndarray, box_um: float | None = None) -> float:
    r"""Root mean squared 2D position error, :math:`\sqrt{\langle |\hat{\mathbf x}_i - \mathbf x_i|^2 \rangle_i}`.

    Parameters
    ----------
    pred_um, true_um : (n, 2) positions in um. box_um : periodic box side (minimum image) or None.

    Returns
    -------
    float, um; 0 for a perfect prediction.
    """
    if pred_um.shape != true_um.shape or pred_um.ndim != 2 or pred_um.shape[1] != 2:
        raise ValueError(f"pred and true must both have shape (n, 2), found {pred_um.shape} and {true_um.shape}")
    if len(true_um) == 0:
        raise ValueError("no position to score")
    d = space.minimum_image(pred_um - true_um, box_um)
    return float(np.sqrt(np.mean(np.sum(d**2, axis=1))))


def scored_pairs(n_present: np.ndarray, horizon_frames: int, horizons):
    """Yield (k, bool mask of the pairs scored at k: present through t0 .. t0 + k) per horizon.

    Raises ValueError for a horizon < 1 or beyond ``horizon_frames``.
    """
    for k in horizons:
        k = int(k)
        if not 1 <= k <= horizon_frames:
            raise ValueError(f"horizon {k} outside 1 .. {horizon_frames} (the rollout's horizon_frames)")
        yield k, n_present >= k


def rollout_rmse_um(rollout: Rollout, horizons=HORIZONS) -> dict[int, dict[str, float]]:
    """RMSE(k) for each horizon k, over the (start, cell) pairs present through t0 .. t0 + k.

    Returns
    -------
    {k: {"rmse_um", "zero_rmse_um" (the ``zero`` reference on the same pairs), "rmse_over_zero",
    "n_scored" (pairs)}}; a horizon with no scored pair has NaN errors and ``n_scored`` 0.

    Raises
    ------
    ValueError
        when a horizon is < 1 or beyond the rollout's ``horizon_frames``.
    """
    out = {}
    for k, keep in scored_pairs(rollout.n_present, rollout.horizon_frames, horizons):
        if not keep.any():
            out[k] = {"rmse_um": float("nan"), "zero_rmse_um": float("nan"), "rmse_over_zero": float("nan"),
                      "n_scored": 0}
            continue
        true = rollout.true_um[keep, k - 1]
        rmse = position_rmse_um(rollout.pred_um[keep, k - 1], true, rollout.box_um)
        zero = position_rmse_um(rollout.x0_um[keep], true, rollout.box_um)
        out[k] = {"rmse_um": rmse, "zero_rmse_um": zero,
                  "rmse_over_zero": rmse / zero if zero > 0 else float("nan"), "n_scored": int(keep.sum())}
    return out


__all__ = ["HORIZONS", "WINDOWS", "Rollout", "start_frames_in", "rolled_chains", "assemble_rollout",
           "rollout_positions", "rolled_tracks", "position_rmse_um", "scored_pairs", "rollout_rmse_um"]
