r"""Sampled rollouts and their energy score: does a model predict the spread of its own future?

A deterministic rollout (:mod:`cellbench.evaluation.rollouts`) of a stochastic model follows the
mean; its RMSE(k) cannot tell a model that knows how far cells wander from one that does not. Here
each (start frame, cell) pair is rolled out S times with noise drawn at every step,

.. math:: \hat{\mathbf x}_{i,s}^{t_0+j} = \hat{\mathbf x}_{i,s}^{t_0+j-1}
          + \boldsymbol\mu_{i,s}^{t_0+j-1} + \boldsymbol\sigma_{i,s}^{t_0+j-1} \odot \mathbf z_{i,s}^{t_0+j-1},
          \qquad \mathbf z \sim N(0, I_2)\ \text{i.i.d.}

and scored by the energy score (:func:`energy_score_um`) beside the sample mean's RMSE.

The noise rule (stated in :attr:`SampledRollout.noise`)
-------------------------------------------------------
* **Sampled** where the model has a noise model: a heteroscedastic learned model
  (``heteroscedastic`` and ``predict_with_sigma``) draws with its own predicted sigma per row,
  component and step, evaluated on the rolled (noisy) table.
* **Otherwise the mean rollout with the residuals added as noise**: a constant sigma per component
  (um per frame), the RMS one-step residual of the model on the validation rows of the original
  data, else on the training rows, never test (:func:`residual_sigma_um`, which uses
  :func:`~cellbench.evaluation.uncertainty.constant_sigma_um`). The mean of each step is still the
  model's prediction on the rolled table, so a model that reads its own past (``ar``) sees its
  noisy past.

Draws are Gaussian per component, independent between rows, steps, start frames and samples, and
reproducible: one ``numpy.random.default_rng(seed)`` stream is consumed in a fixed order, so the
same seed gives bit-identical samples and different seeds different ones.

Batching: :func:`sampled_rollout` calls :func:`~cellbench.evaluation.rollouts.rollout_positions`
unchanged with every start frame repeated S times (``np.repeat``); each copy is its own sequence
with its own draws, so all samples of all starts run in K predictor calls. A predictor with a
rollout session (a learned model) keeps it: :class:`NoisyPredictor` then offers a session too, each
copy carries its own track state (the stateful path of :mod:`~cellbench.evaluation.rollouts`), and
the draws of step s are (n cells of frame :math:`t_0+s-1`, 2) per copy instead of one per row of
the copy's whole table: other draws than through ``predict``, by the same reproducible rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench import space
from cellbench.data.dataset import Dataset
from cellbench.data.tracks import Tracks
from cellbench.evaluation.rollouts import HORIZONS, rollout_positions, scored_pairs
from cellbench.evaluation.scoring import split_predictions
from cellbench.evaluation.uncertainty import constant_sigma_um


def has_noise_model(predictor) -> bool:
    """True when ``predictor`` predicts its own sigma (``heteroscedastic`` and ``predict_with_sigma``)."""
    return hasattr(predictor, "predict_with_sigma") and bool(getattr(predictor, "heteroscedastic", False))


def residual_sigma_um(predictor, data: Dataset, pred: list[np.ndarray] | None = None) -> tuple[np.ndarray, str]:
    """Constant sigma per component from the one-step residuals of a fitted ``predictor`` on ``data``.

    Parameters
    ----------
    predictor : fitted, with ``predict(data) -> list[(n_rows, 2) array]`` in um per frame.
    data : the original :class:`Dataset` (targets and split masks), not a rolled one.
    pred : the predictor's one-step predictions on ``data`` when already made (not recomputed).

    Returns
    -------
    ((2,) array in um per frame, split): the RMS residual per component
    (:func:`~cellbench.evaluation.uncertainty.constant_sigma_um`) on the ``'val'`` rows, or on the
    ``'train'`` rows when ``data`` holds no validation target; never on test.
    """
    split = "val" if data.n_targets("val") else "train"
    pred = split_predictions(predictor.predict(data) if pred is None else pred, data, split)
    return constant_sigma_um(pred, data.targets(split)), split


def noise_sigma(predictor, data: Dataset, pred: list[np.ndarray] | None = None) -> tuple[np.ndarray | None, str]:
    """(sigma for :class:`NoisyPredictor`, where it comes from): None and ``"model sigma"`` for a model
    with a noise model, else :func:`residual_sigma_um` and its split."""
    if has_noise_model(predictor):
        return None, "model sigma"
    sigma, split = residual_sigma_um(predictor, data, pred)
    return sigma, f"{split} residuals"


def _as_sigma_um(sigma_um) -> np.ndarray:
    s = np.broadcast_to(np.asarray(sigma_um, dtype=float), (2,)).copy()
    if not np.all(np.isfinite(s) & (s >= 0)):
        raise ValueError(f"sigma_um must be finite and >= 0 um per frame per component, got {s.tolist()}")
    return s


class NoisyPredictor:
    r"""A predictor whose one-step displacement is a draw, :math:`\boldsymbol\mu + \boldsymbol\sigma \odot \mathbf z`.

    Parameters
    ----------
    predictor : fitted, with ``predict(data) -> list[(n_rows, 2) array]`` (um per frame).
    sigma_um : scalar or (2,) constant sigma in um per frame, used when ``predictor`` has no noise
        model (:func:`has_noise_model`); ignored when it has one (its own sigma wins). Default None:
        required then, e.g. from :func:`residual_sigma_um`.
    seed : seed of the one ``numpy.random.default_rng`` stream; every :meth:`predict` call draws the
        next (n_rows, 2) standard normals per sequence, in sequence order.
    sigma_note : where ``sigma_um`` came from, for :attr:`noise` (e.g. ``"val residuals"``).

    Attributes
    ----------
    noise : one sentence stating the noise model used.
    rollout_session : present only when ``predictor`` has one: a fresh :class:`NoisySession` of it,
        drawing from the same stream (every ``step`` draws the next (n_last, 2) standard normals per
        sequence, n_last the rows of the sequence's last frame that the session predicts, in
        sequence order).

    Raises
    ------
    ValueError
        when ``predictor`` has no noise model and ``sigma_um`` is None or not finite and >= 0.
    """

    def __init__(self, predictor, sigma_um=None, seed: int = 0, sigma_note: str = "given"):
        self.predictor, self.seed = predictor, int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.model_sigma = has_noise_model(predictor)
        if self.model_sigma:
            self.sigma_um = None
            self.noise = "sampled: the model's own heteroscedastic sigma per row, component and step (Gaussian)"
        else:
            if sigma_um is None:
                raise ValueError("the predictor has no noise model (no heteroscedastic sigma); pass sigma_um, "
                                 "e.g. residual_sigma_um(predictor, data)[0]")
            self.sigma_um = _as_sigma_um(sigma_um)
            sx, sy = self.sigma_um
            self.noise = (f"mean rollout plus residual noise: constant sigma ({sx:.4g}, {sy:.4g}) um per frame "
                          f"({sigma_note}), Gaussian per component; the model has no noise model")
        if hasattr(predictor, "rollout_session"):  # duck typing: offered only when the inner predictor has one
            self.rollout_session = self._session

    def __repr__(self) -> str:
        sigma = None if self.sigma_um is None else self.sigma_um.tolist()
        return f"NoisyPredictor({self.predictor!r}, sigma_um={sigma}, seed={self.seed})"

    def predict(self, data: Dataset) -> list[np.ndarray]:
        """Per sequence, (n_rows, 2) drawn displacements in um per frame (mean + sigma * N(0, 1))."""
        return self.draw(getattr(self.predictor, "predict_with_sigma", None), self.predictor.predict, data)

    def _session(self) -> "NoisySession":
        return NoisySession(self, self.predictor.rollout_session())

    def draw(self, with_sigma, means, data: Dataset) -> list[np.ndarray]:
        """Per sequence, mean + sigma * (the next standard normals of the stream, the mean's shape), in sequence order.

        ``with_sigma(data) -> (means, sigmas)`` gives the model's own sigma (used when it has a noise
        model); ``means(data) -> means`` the means otherwise (sigma :attr:`sigma_um`).
        """
        if self.model_sigma:
            if with_sigma is None:
                raise ValueError(f"{self.predictor!r} is heteroscedastic but its session has no step_with_sigma")
            mus, sigmas = with_sigma(data)
            if sigmas is None:
                raise ValueError(f"{self.predictor!r} is heteroscedastic but returned no sigma")
        else:
            mus = means(data)
            sigmas = [np.broadcast_to(self.sigma_um, np.shape(m)) for m in mus]
        return [np.asarray(m) + np.asarray(s) * self.rng.standard_normal(np.shape(m)) for m, s in zip(mus, sigmas)]


class NoisySession:
    """The rollout session of a :class:`NoisyPredictor`: its inner predictor's session, with draws added.

    Parameters
    ----------
    noisy : the :class:`NoisyPredictor` (its sigma and its random stream).
    session : a fresh session of ``noisy.predictor`` (``step(data)``, ``history_frames``, and
        ``step_with_sigma(data)`` for a model with a noise model).

    Each :meth:`step` draws the next (n_last, 2) standard normals per sequence from the noisy
    predictor's stream, in sequence order (n_last: the rows of the table's last frame the session predicts).
    """

    def __init__(self, noisy: NoisyPredictor, session):
        self.noisy, self.session = noisy, session
        self.history_frames = session.history_frames

    def step(self, data: Dataset) -> list[np.ndarray]:
        """Per sequence, (n_last, 2) drawn displacements in um per frame of its table's last frame."""
        return self.noisy.draw(getattr(self.session, "step_with_sigma", None), self.session.step, data)


@dataclass(frozen=True, eq=False)
class SampledRollout:
    """S sampled rollouts of every (start frame, rolled cell) pair.

    Sizes: P pairs, S = ``n_samples``, K = ``horizon_frames``. The pairs, their order and the
    cells rule are those of :class:`~cellbench.evaluation.rollouts.Rollout` for the same starts.

    Attributes
    ----------
    start_frames : (n_starts,) int64, the start frames t0.
    horizon_frames : K. n_samples : S. seed : the seed of the draws.
    start : (P,) int64, index into ``start_frames`` of each pair.
    track_id : (P,) int64.
    n_present : (P,) int64, frames present after t0 with no gap, capped at K; scored at k <= it.
    x0_um : (P, 2) data position at t0.
    samples_um : (P, S, K, 2) sampled positions at t0 + 1 .. t0 + K, NaN from the frame the cell vanishes.
    true_um : (P, K, 2) data positions, NaN likewise.
    box_um : periodic box side (distances are minimum images), or None.
    noise : the noise model used, one sentence (see the module docstring).
    """

    start_frames: np.ndarray
    horizon_frames: int
    n_samples: int
    seed: int
    start: np.ndarray
    track_id: np.ndarray
    n_present: np.ndarray
    x0_um: np.ndarray
    samples_um: np.ndarray
    true_um: np.ndarray
    box_um: float | None
    noise: str


def sampled_rollout(predictor, tracks: Tracks, start_frames, horizon_frames: int, n_samples: int, seed: int = 0,
                    sigma_um=None, context_frames: int | None = None, sigma_note: str = "given") -> SampledRollout:
    """Roll ``predictor`` out ``n_samples`` times from each start frame, with noise at every step.

    Parameters
    ----------
    predictor : fitted and causal on the table (as for
        :func:`~cellbench.evaluation.rollouts.rollout_positions`); wrapped in :class:`NoisyPredictor`.
    tracks : one sequence. start_frames : (n_starts,) frames held in ``tracks``.
    horizon_frames : K >= 1. n_samples : S >= 1. seed : seed of the draws.
    sigma_um : scalar or (2,) um per frame, the constant sigma of a model without a noise model
        (:func:`residual_sigma_um`); ignored for a heteroscedastic model.
    context_frames : as for :func:`~cellbench.evaluation.rollouts.rollout_positions`.
    sigma_note : where ``sigma_um`` came from, quoted in :attr:`SampledRollout.noise`.

    Returns
    -------
    :class:`SampledRollout`; the predictor is called K times (every start repeated S times, batched).
    """
    S = int(n_samples)
    if S < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    starts = np.asarray(start_frames, dtype=np.int64).reshape(-1)
    noisy = NoisyPredictor(predictor, sigma_um, seed, sigma_note)
    ro = rollout_positions(noisy, tracks, np.repeat(starts, S), horizon_frames, context_frames)
    # pairs of copy i = j * S + s (start j, sample s) are contiguous, n_j cells each, in the same order
    n_cells = np.bincount(ro.start, minlength=len(starts) * S)[::S]
    first = np.r_[0, np.cumsum(n_cells * S)[:-1]]                  # first row of start j's copies
    j = np.repeat(np.arange(len(starts)), n_cells)
    c = np.arange(len(j)) - np.repeat(np.r_[0, np.cumsum(n_cells)[:-1]], n_cells)
    rows = (first[j] + c)[:, None] + np.arange(S)[None, :] * n_cells[j][:, None]   # (P, S)
    same_cells = np.all(ro.track_id[rows] == ro.track_id[rows[:, :1]])
    if not (same_cells and np.all(ro.start[rows] == j[:, None] * S + np.arange(S))):
        raise RuntimeError("the copies of a start frame rolled different cells (rollout order changed)")
    return SampledRollout(
        start_frames=starts, horizon_frames=ro.horizon_frames, n_samples=S, seed=int(seed),
        start=j.astype(np.int64), track_id=ro.track_id[rows[:, 0]], n_present=ro.n_present[rows[:, 0]],
        x0_um=ro.x0_um[rows[:, 0]], samples_um=ro.pred_um[rows], true_um=ro.true_um[rows[:, 0]],
        box_um=ro.box_um, noise=noisy.noise,
    )


def _scores_at(x_um: np.ndarray, y_um: np.ndarray, x0_um: np.ndarray, box_um: float | None) -> dict[str, float]:
    """Scores of samples ``x_um`` (n, S, 2) against ``y_um`` (n, 2); ``x0_um`` (n, 2) anchors the sample mean."""
    S = x_um.shape[1]
    err = space.minimum_image(x_um - y_um[:, None], box_um)                      # (n, S, 2)
    spread_2d = np.zeros(len(x_um))
    spread_1d = np.zeros((len(x_um), 2))
    for s in range(S):                                                           # O(n S) memory
        d = space.minimum_image(x_um - x_um[:, s : s + 1], box_um)
        spread_2d += np.linalg.norm(d, axis=-1).sum(axis=1)
        spread_1d += np.abs(d).sum(axis=1)
    norm = 1.0 / (2 * S * (S - 1)) if S > 1 else 0.0
    es = np.linalg.norm(err, axis=-1).mean(axis=1) - norm * spread_2d
    crps = np.abs(err).mean(axis=1) - norm * spread_1d                          # (n, 2)
    dev = space.minimum_image(x_um - x0_um[:, None], box_um)                     # mean taken near x0
    mean = dev.mean(axis=1)
    mean_err = space.minimum_image(x0_um + mean - y_um, box_um)
    var = np.sum((dev - mean[:, None]) ** 2, axis=(1, 2)) / (S - 1) if S > 1 else np.zeros(len(x_um))
    return {"energy_score_um": float(es.mean()), "crps_um": float(crps.mean()),
            "mean_rmse_um": float(np.sqrt(np.mean(np.sum(mean_err**2, axis=1)))),
            "spread_um": float(np.sqrt(var.mean()))}


def energy_score_um(sampled: SampledRollout, horizons=HORIZONS) -> dict[int, dict[str, float]]:
    r"""Energy score ES(k), CRPS(k), the sample mean's RMSE(k) and the spread, over the pairs scored at k.

    For one pair with samples :math:`\mathbf X_1 \dots \mathbf X_S` and data position
    :math:`\mathbf y` at :math:`t_0 + k` (the *fair*, unbiased estimator, U-statistic):

    .. math:: \mathrm{ES} = \frac1S \sum_s |\mathbf X_s - \mathbf y|
              - \frac{1}{2 S (S-1)} \sum_{s \ne s'} |\mathbf X_s - \mathbf X_{s'}|, \qquad
              \mathrm{CRPS} = \frac12 \sum_{d=1}^{2} \Big[\frac1S \sum_s |X_{s,d} - y_d|
              - \frac{1}{2 S (S-1)} \sum_{s \ne s'} |X_{s,d} - X_{s',d}|\Big]

    with 2D Euclidean norms (minimum images in a periodic box), averaged over the pairs with
    ``n_present >= k``. Its expectation is the ES of the sampling distribution whatever S, so scores
    with different S compare; it is minimised by the true distribution (a proper score). With all
    samples equal, ES is the mean position error :math:`\langle|\mathbf x - \mathbf y|\rangle`
    (CRPS the mean absolute error per component); S = 1 scores the single sample so.

    Parameters
    ----------
    sampled : a :class:`SampledRollout`.
    horizons : horizons k in frames, each in 1 .. ``sampled.horizon_frames``.

    Returns
    -------
    {k: {"energy_score_um", "crps_um" (mean over x and y), "mean_rmse_um" (2D RMSE of the sample
    mean, the mean taken on displacements from t0 so it does not straddle a periodic box),
    "spread_um" (root mean 2D sample variance, 1/(S-1) normalised; for a calibrated model it is
    about ``mean_rmse_um`` times :math:`\sqrt{S/(S+1)}`), "n_scored"}}, in um, lower better (the
    spread excepted); NaN and ``n_scored`` 0 at a horizon with no scored pair.

    Raises
    ------
    ValueError
        when a horizon is < 1 or beyond ``sampled.horizon_frames``.
    """
    out = {}
    for k, keep in scored_pairs(sampled.n_present, sampled.horizon_frames, horizons):
        if not keep.any():
            out[k] = {key: float("nan") for key in ("energy_score_um", "crps_um", "mean_rmse_um", "spread_um")}
            out[k]["n_scored"] = 0
            continue
        out[k] = _scores_at(sampled.samples_um[keep, :, k - 1], sampled.true_um[keep, k - 1], sampled.x0_um[keep],
                            sampled.box_um)
        out[k]["n_scored"] = int(keep.sum())
    return out


__all__ = ["has_noise_model", "residual_sigma_um", "noise_sigma", "NoisyPredictor", "NoisySession", "SampledRollout",
           "sampled_rollout", "energy_score_um"]
