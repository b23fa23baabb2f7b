"""Simulated datasets for ``cellbench run --data PRESET``: tracks for the models, truth beside them.

:func:`load_simulated` returns the :class:`~cellbench.tracks.Tracks` of a preset (generated on
first use and cached by :func:`simulators.cached_dataset`) and a :class:`SimTruth` that travels in
``Sequence.truth``. Only the oracle and the kernel-recovery metrics read it; no learned model's
input is built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.tracks import Tracks


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
    def interaction_cutoff_um(self) -> float | None:
        pot = self.meta.get("potential") or {}
        r = pot.get("r_cut_um")
        return None if r is None else float(r)


def is_preset(name: str) -> bool:
    try:
        from simulators import PRESETS
    except ImportError:
        return False
    return name in PRESETS


def load_simulated(preset: str, seed: int = 0) -> tuple[Tracks, SimTruth]:
    """Tracks and truth of ``preset`` simulated with ``seed`` (cached)."""
    import simulators

    folder = simulators.cached_dataset(preset, seed=seed)
    run = simulators.load_run(folder)
    tracks = run.tracks
    keys = tracks.df[["track_id", "frame"]]
    truth = keys.merge(run.truth, on=["track_id", "frame"], how="left", validate="one_to_one")
    if len(truth) != tracks.n_rows or truth["oracle_dx_um"].isna().any():
        raise ValueError(f"{folder}: truth.parquet does not cover every row of tracks.parquet")
    return tracks, SimTruth(truth, run.pairs, run.meta, str(Path(folder)))
