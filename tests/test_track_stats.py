"""``cellbench.data.track_stats``: one MSD for the simulator checks and the simulator fit."""

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from cellbench.data.track_stats import lag_displacements_um, msd_2d, msd_per_axis
from cellbench.sim import simulate
from cellbench.sim.analysis import msd, unwrapped_tracks
from tests.helpers import random_walk_tracks, table


def test_msd_2d_equals_a_naive_loop_and_the_sum_of_the_axes():
    tr = random_walk_tracks(n_tracks=6, n_frames=30, seed=7, drop=0.25)
    pos = {(int(r.track_id), int(r.frame)): np.array([r.x_um, r.y_um]) for r in tr.df.itertuples()}
    lags = [1, 2, 5, 11]
    got = msd_2d(tr, lags)
    per_axis, n = msd_per_axis(tr, lags)
    for k, lag in enumerate(lags):
        d2 = [np.sum((pos[(t, f + lag)] - pos[(t, f)]) ** 2) for (t, f) in pos if (t, f + lag) in pos]
        assert n[k] == len(d2)
        npt.assert_allclose(got[k], np.mean(d2), rtol=1e-12)  # summation order only
    npt.assert_allclose(got, per_axis.sum(axis=1), rtol=1e-12)


def test_no_pair_gives_nan_and_a_bad_lag_is_refused():
    tr = table([(1, 0, 0.0, 0.0), (1, 1, 1.0, 0.0)])
    npt.assert_array_equal(msd_2d(tr, [1, 5]), [1.0, np.nan])
    m, n = msd_per_axis(tr, [5])
    assert np.isnan(m).all() and n.tolist() == [0]
    with pytest.raises(ValueError, match="must be >= 1"):
        lag_displacements_um(tr, 0)


def test_periodic_tracks_take_the_minimum_image():
    rows = [(1, 0, 99.5, 50.0), (1, 1, 0.5, 50.0), (1, 2, 1.5, 49.0)]
    full = table(rows, extra={"boundary": "periodic", "box_um": 100.0}, fov_um=(0.0, 0.0, 100.0, 100.0))
    npt.assert_allclose(lag_displacements_um(full, 1), [[1.0, 0.0], [1.0, -1.0]])
    npt.assert_allclose(lag_displacements_um(full, 2), [[2.0, -1.0]])
    open_ = table(rows)
    npt.assert_allclose(lag_displacements_um(open_, 2), [[-98.0, -1.0]])


def _msd_by_pivot(truth: pd.DataFrame, lags_frames) -> np.ndarray:
    """The simulator's MSD as written before the two implementations were merged (frame x track
    tables of unwrapped positions): the recorded ``msd.png`` was drawn from these numbers."""
    x = truth.pivot(index="frame", columns="track_id", values="x_unwrap_um").to_numpy()
    y = truth.pivot(index="frame", columns="track_id", values="y_unwrap_um").to_numpy()
    out = []
    for lag in lags_frames:
        d2 = (x[lag:] - x[:-lag]) ** 2 + (y[lag:] - y[:-lag]) ** 2
        ok = np.isfinite(d2)
        out.append(d2[ok].mean() if ok.any() else np.nan)
    return np.array(out)


@pytest.mark.parametrize("preset", ["free-abp", "microwell-hsc"])
def test_sim_msd_is_bitwise_the_former_pivot_msd(preset):
    # periodic box with every cell observed, and a dividing microwell population (tracks start late)
    res = simulate(preset, 0, {"n_frames": 40})
    lags = np.unique(np.geomspace(1, 39, 12).astype(int))
    npt.assert_array_equal(msd(res.truth, lags), _msd_by_pivot(res.truth, lags))
    # the unwrapped table is open: no minimum image even though the box is periodic
    assert unwrapped_tracks(res.truth).periodic_box_um is None
