"""Simulated datasets for ``cellbench run --data PRESET``: tracks for the models, truth beside them.

:func:`load_simulated` returns the :class:`~cellbench.data.tracks.Tracks` of a preset (generated on
first use and cached by :func:`cellbench.sim.cached_dataset`) and a :class:`SimTruth` that travels in
``Sequence.truth``. Only the oracle and the kernel-recovery metrics read it; no learned model's
input is built from it.

:func:`noise_floor` is the part of an observed one-frame displacement that the true state does not
determine: the thermal kick and the localization noise (:attr:`SimTruth.noise_floor`,
:func:`dataset_noise_floor`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.data.tracks import Tracks


def noise_floor(D_t_um2_per_s: float, frame_interval_s: float, sigma_loc_um: float = 0.0) -> dict[str, float]:
    r"""Per-axis noise floor of a one-frame displacement prediction: thermal kick + localization noise.

    The observed displacement over one frame interval :math:`\tau` is
    :math:`d^{obs} = d + n_{t+1} - n_t`, with :math:`d` the true displacement and :math:`n`
    the localization noise, :math:`N(0, \sigma_{loc}^2)` per axis, independent of everything
    else. The thermal kick :math:`\int_t^{t+\tau} \sqrt{2 D_t}\,dW` has variance
    :math:`q = 2 D_t \tau` per axis. A predictor of the true displacement from the true state
    (the oracle) therefore has, per axis,

    .. math:: \mathrm{RMSE}_{dx} \ge \sqrt{2 D_t \tau + 2 \sigma_{loc}^2}
              \quad (\text{``rmse_dx_um''})

    with equality for passive non-interacting cells. Active cells add the orientation's
    diffusion within the frame. In contact, forces respond to the kick within the frame, so the
    thermal term is the free-diffusion value (accurate when contacts relax slower than a frame);
    the localization term :math:`2\sigma_{loc}^2` adds to the oracle's noise-free residual exactly.

    A model that reads the noisy past can do better than the oracle when :math:`\sigma_{loc} > 0`,
    because successive observed displacements are anti-correlated (lag-1 covariance
    :math:`-\sigma_{loc}^2`): it partly infers :math:`n_t`. For free passive cells the best
    possible predictor is the steady-state Kalman filter of a random walk (process variance
    :math:`q`, observation variance :math:`r = \sigma_{loc}^2`), whose innovation variance is
    :math:`M + r` with :math:`M = (q + \sqrt{q^2 + 4 q r}) / 2` the prior variance
    (root of :math:`M^2 = q M + q r`):

    .. math:: \mathrm{RMSE}_{dx} \ge \sqrt{M + \sigma_{loc}^2} \quad (\text{``filtered_rmse_dx_um''})

    Both equal :math:`\sqrt{2 D_t \tau}` without localization noise.

    Parameters
    ----------
    D_t_um2_per_s : translational diffusion coefficient, um^2/s (>= 0).
    frame_interval_s : time between frames, s (> 0).
    sigma_loc_um : localization noise per axis, um (>= 0).

    Returns
    -------
    dict: ``rmse_dx_um``, ``rmse_dy_um`` (the oracle's floor, um), ``filtered_rmse_dx_um`` (the
    floor of a predictor reading the noisy history, um), ``thermal_um2`` (:math:`2 D_t \tau`),
    ``localization_um2`` (:math:`2\sigma_{loc}^2`) and the three inputs.
    """
    for key, v, strict in (("D_t_um2_per_s", D_t_um2_per_s, False), ("frame_interval_s", frame_interval_s, True),
                           ("sigma_loc_um", sigma_loc_um, False)):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 if strict else v >= 0)
        if not ok:
            raise ValueError(f"noise floor: {key} = {v!r} must be a finite number {'> 0' if strict else '>= 0'}")
    thermal = 2.0 * float(D_t_um2_per_s) * float(frame_interval_s)
    loc = 2.0 * float(sigma_loc_um) ** 2
    return {**_floor_from_variances(thermal, loc), "D_t_um2_per_s": float(D_t_um2_per_s),
            "frame_interval_s": float(frame_interval_s), "sigma_loc_um": float(sigma_loc_um)}


def _floor_from_variances(thermal_um2: float, localization_um2: float) -> dict[str, float]:
    q, r = thermal_um2, localization_um2 / 2.0
    rmse = math.sqrt(q + 2.0 * r)
    prior = (q + math.sqrt(q * q + 4.0 * q * r)) / 2.0
    return {"rmse_dx_um": rmse, "rmse_dy_um": rmse, "filtered_rmse_dx_um": math.sqrt(prior + r),
            "thermal_um2": q, "localization_um2": 2.0 * r}


@dataclass(frozen=True, eq=False)
class SimTruth:
    """Simulator truth of one sequence.

    Attributes
    ----------
    truth : DataFrame row-aligned with ``tracks.df`` (``oracle_dx_um``, ``oracle_dy_um``, forces, ...).
    pairs : DataFrame (frame, i, j, r_um, fx, fy, f_mag): interacting pairs (track ids i < j).
    meta : the run's meta.json (potential, interaction cutoff, ...).
    folder : where the run is cached.
    """

    truth: pd.DataFrame
    pairs: pd.DataFrame
    meta: dict
    folder: str

    @property
    def oracle_um(self) -> np.ndarray:
        """(n_rows, 2) noise-free one-frame displacement from the recorded state, um."""
        return self.truth[["oracle_dx_um", "oracle_dy_um"]].to_numpy(dtype=float)

    @property
    def noise_floor(self) -> dict[str, float]:
        """:func:`noise_floor` of this run's meta (``sigma_loc_um`` 0 for runs cached before the option)."""
        m = self.meta
        return noise_floor(float(m["D_t_um2_per_s"]), float(m["frame_interval_s"]), float(m.get("sigma_loc_um", 0.0)))

    @property
    def interaction_cutoff_um(self) -> float | None:
        pot = self.meta.get("potential") or {}
        r = pot.get("r_cut_um")
        return None if r is None else float(r)


def oracle_residual_um2(truth: pd.DataFrame, tracks: Tracks, rows: np.ndarray) -> float:
    r"""Mean squared error per axis of the oracle against the TRUE one-frame displacement, um^2.

    :math:`\langle (x^{t+1} - x^t - \hat d_{oracle})^2 \rangle` over ``rows`` (a bool mask of
    ``tracks.df``) and both axes, with ``x`` the unwrapped true positions of ``truth``
    (row-aligned with ``tracks.df``): the oracle's error without localization noise. Rows whose
    track has no next frame are skipped; NaN when none is left.
    """
    from cellbench.data.targets import neighbour_rows

    nxt = neighbour_rows(tracks, +1)
    ok = np.asarray(rows, bool) & (nxt >= 0)
    if not ok.any():
        return float("nan")
    pos = truth[["x_unwrap_um", "y_unwrap_um"]].to_numpy(dtype=float)
    pred = truth[["oracle_dx_um", "oracle_dy_um"]].to_numpy(dtype=float)
    err = pos[nxt[ok]] - pos[ok] - pred[ok]
    return float(np.mean(err**2))


def dataset_noise_floor(data, split: str = "test") -> dict[str, float] | None:
    r"""The noise floor of ``split`` pooled over a dataset's sequences; None unless all are simulated.

    Variances add over the scored rows: each sequence's ``thermal_um2``, ``localization_um2`` and
    squared ``filtered_rmse_dx_um`` are weighted by its number of targets in ``split``; the floors
    are square roots of the pooled variances. ``data`` is a :class:`cellbench.data.dataset.Dataset`.

    Measured on the truth as well: ``oracle_residual_rmse_um``, the oracle's per-axis RMSE
    against the true displacements (:func:`oracle_residual_um2`; below the thermal floor when
    contacts or a wall hold cells back within a frame), and ``oracle_expected_rmse_um`` =
    :math:`\sqrt{\text{residual}^2 + 2\sigma_{loc}^2}`, its expected RMSE on the noisy targets.
    """
    floors, weights, residuals = [], [], []
    for s in data.seqs:
        floor = getattr(s.truth, "noise_floor", None)
        if floor is None:
            return None
        floors.append(floor)
        weights.append(int(s.masks[split].sum()))
        residuals.append(oracle_residual_um2(s.truth.truth, s.tracks, s.masks[split]) if weights[-1] else 0.0)
    total = sum(weights)
    if not floors or total == 0:
        return None
    thermal = sum(w * f["thermal_um2"] for w, f in zip(weights, floors)) / total
    loc = sum(w * f["localization_um2"] for w, f in zip(weights, floors)) / total
    filtered_um2 = sum(w * f["filtered_rmse_dx_um"] ** 2 for w, f in zip(weights, floors)) / total
    residual_um2 = sum(w * r for w, r in zip(weights, residuals)) / total
    out = {**_floor_from_variances(thermal, loc), "filtered_rmse_dx_um": math.sqrt(filtered_um2),
           "oracle_residual_rmse_um": math.sqrt(residual_um2), "oracle_expected_rmse_um": math.sqrt(residual_um2 + loc),
           "n_targets": total}
    if len(floors) == 1:
        out.update({k: floors[0][k] for k in ("D_t_um2_per_s", "frame_interval_s", "sigma_loc_um")})
    return out


def is_preset(name: str) -> bool:
    """A built-in preset's name or a variant of one (``default[n_frames=100]``, :mod:`cellbench.sim.variants`)."""
    try:
        from cellbench.sim.variants import is_variant_of_preset
    except ImportError:
        return False
    return is_variant_of_preset(name)


def load_simulated(preset: str, seed: int = 0) -> tuple[Tracks, SimTruth]:
    """Tracks and truth of ``preset`` simulated with ``seed`` (cached)."""
    import cellbench.sim

    folder = cellbench.sim.cached_dataset(preset, seed=seed)
    run = cellbench.sim.load_run(folder)
    tracks = run.tracks
    keys = tracks.df[["track_id", "frame"]]
    truth = keys.merge(run.truth, on=["track_id", "frame"], how="left", validate="one_to_one")
    if len(truth) != tracks.n_rows or truth["oracle_dx_um"].isna().any():
        raise ValueError(f"{folder}: truth.parquet does not cover every row of tracks.parquet")
    return tracks, SimTruth(truth, run.pairs, run.meta, str(Path(folder)))
