"""The oracle rollout (cellbench.sim.replay): it reaches the recorded states, its first frame is
the recorded oracle, and its paths obey known physics over several frames."""

from __future__ import annotations

import json

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.errors import ConfigError
from cellbench.sim import simulate
from cellbench.sim.replay import noise_free_paths

# ~80 active soft disks (harmonic), a field of view smaller than the box (unobserved cells) and
# localization noise (its own random stream: must not matter to the replay)
SMALL_DEFAULT = {"n_cells": 80, "box_um": 100.0, "fov_um": (10.0, 10.0, 90.0, 90.0), "n_frames": 12,
                 "n_equil_steps": 200, "record_every": 50, "sigma_loc_um": 0.3}
# microwell with divisions during the run (track ids appear and disappear), wall and contacts
SMALL_WELL = {"n_frames": 30, "record_every": 20, "division_rate_per_s": 1 / 2000, "division_min_age_s": 3600.0}
# free ABP: no potential, no alignment, large periodic box (no wall)
FREE = {"n_cells": 50, "box_um": 2000.0, "n_frames": 8, "record_every": 20}


@pytest.fixture(scope="module")
def default_run():
    return simulate("default", 3, SMALL_DEFAULT)


def _rows_of(paths, truth):
    """(truth rows of the start frame, index of each row's cell in ``paths``)."""
    rows = truth[truth["frame"] == paths.start_frame]
    where = {t: i for i, t in enumerate(paths.track_id)}
    return rows, np.array([where[t] for t in rows["track_id"]])


@pytest.mark.parametrize("preset,seed,overrides", [("default", 3, SMALL_DEFAULT), ("microwell-hsc", 1, SMALL_WELL)])
def test_first_frame_is_the_recorded_oracle_and_start_is_the_recorded_state(preset, seed, overrides):
    res = simulate(preset, seed, overrides)
    meta = json.loads(json.dumps(res.meta))  # as read back from meta.json
    starts = [0, 4, 11, res.meta["n_frames"] - 1]
    paths = noise_free_paths(meta, starts, 3)
    assert [p.start_frame for p in paths] == sorted(set(starts))
    for p in paths:
        rows, i = _rows_of(p, res.truth)
        assert sorted(p.track_id[p.observed]) == sorted(rows["track_id"])  # same cells observed
        # bitwise: the replay runs the same kernels with the same step counters and Verlet rebuilds
        npt.assert_array_equal(p.start_unwrap_um[i], rows[["x_unwrap_um", "y_unwrap_um"]].to_numpy())
        npt.assert_array_equal(p.disp_um[i, 0], rows[["oracle_dx_um", "oracle_dy_um"]].to_numpy())
    if preset == "microwell-hsc":  # the run did divide, so the replay went through divisions
        assert res.meta["n_track_ids"] > res.meta["n_cells_initial"]


def test_positions_are_wrapped_like_the_recorded_ones(default_run):
    box_um = default_run.meta["box_um"]
    for p in noise_free_paths(default_run.meta, [2, 9], 5):
        assert np.all((p.pos_um >= 0) & (p.pos_um < box_um))
        # wrapped position = start + displacement folded into the box; rounding of a ~100-um
        # coordinate after ~250 Euler steps is ~1e-12 um
        unwrapped = p.start_unwrap_um[:, None, :] + p.disp_um
        d = np.mod(unwrapped - p.pos_um + box_um / 2, box_um) - box_um / 2
        npt.assert_allclose(d, 0.0, atol=1e-9)


def test_free_abp_moves_straight_at_v0():
    res = simulate("free-abp", 2, FREE)
    v0, tau = res.meta["v0_um_per_s"], res.meta["frame_interval_s"]
    k = np.arange(1, 6)
    for p in noise_free_paths(res.meta, [0, 3, 7], 5):  # frame 7 is the last: the path goes past the run
        rows, i = _rows_of(p, res.truth)
        theta = rows["theta"].to_numpy()
        expected = v0 * tau * k[None, :, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)[:, None, :]
        # 100 Euler steps of v0 e(theta) dt, each exact to ~1 ulp (polynomial cos/sin to 1-2 ulp):
        # error ~ 100 * 1e-16 * 5 um, far below 1e-10 um
        npt.assert_allclose(p.disp_um[i], expected, rtol=0, atol=1e-10)


def test_passive_free_cells_do_not_move():
    res = simulate("free-abp", 4, {**FREE, "v0_um_per_s": 0.0})
    for p in noise_free_paths(res.meta, [0, 5], 4):
        npt.assert_array_equal(p.disp_um, 0.0)  # no drift at all: x + 0 * dt is x exactly
        npt.assert_array_equal(p.pos_um, np.broadcast_to(p.start_unwrap_um[:, None, :], p.pos_um.shape))


def test_pair_forces_leave_the_centre_of_mass_in_place():
    # passive harmonic disks at packing fraction ~0.74 in a periodic box, F_ij = -F_ji. They start
    # on a lattice exactly in contact (no force at frame 0); diffusion makes overlaps from frame 1
    res = simulate("default", 5, {"v0_um_per_s": 0.0, "n_cells": 60, "box_um": 80.0, "fov_um": None,
                                  "n_frames": 6, "n_equil_steps": 0, "record_every": 50})
    for p in noise_free_paths(res.meta, [2, 5], 4):
        com = p.disp_um.sum(axis=0)  # (K, 2)
        typical = np.abs(p.disp_um).max(axis=0)
        assert np.all(typical > 0.1)  # the cells do push each other apart (um)
        # the forces cancel pairwise to ~1 ulp; what is left is the rounding of each position update
        # (ulp of an 80-um coordinate ~1.4e-14 um) summed over 60 cells * 200 steps: ~1e-12 um
        # as a random walk (measured 2e-13); 1e-10 um leaves a margin of 100
        npt.assert_allclose(com, 0.0, atol=1e-10)


def test_a_long_horizon_starts_with_the_short_one(default_run):
    long = noise_free_paths(default_run.meta, [1, 6], 6)
    short = noise_free_paths(default_run.meta, [6, 1, 6], 2)  # unsorted, duplicated: same two starts
    for a, b in zip(long, short):
        assert a.start_frame == b.start_frame and a.horizon_frames == 6 and b.horizon_frames == 2
        npt.assert_array_equal(a.track_id, b.track_id)
        npt.assert_array_equal(a.pos_um[:, :2], b.pos_um)
        npt.assert_array_equal(a.disp_um[:, :2], b.disp_um)


def test_progress_and_read_only_results(default_run):
    calls = []
    (p,) = noise_free_paths(default_run.meta, 4, 3, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 7) for i in range(1, 8)]  # 4 frames of the run, then 3 of the path
    with pytest.raises(ValueError):
        p.pos_um[0, 0, 0] = 1.0
    assert noise_free_paths(default_run.meta, [], 3) == []


@pytest.mark.parametrize("start,horizon,match", [
    (-1, 2, "outside the run"), (12, 2, r"outside the run \(expected 0 .. 11\)"), ([1, 2.5], 2, "not an integer"),
    (True, 2, "not an integer"), ("3", 2, "not an integer"), (1, 0, "horizon_frames"), (1, 1.5, "horizon_frames"),
    (1, True, "horizon_frames"),
])
def test_bad_arguments_are_refused(default_run, start, horizon, match):
    with pytest.raises(ConfigError, match=match):
        noise_free_paths(default_run.meta, start, horizon)


def test_bad_meta_is_refused(default_run):
    with pytest.raises(ConfigError, match="'config' and 'seed'"):
        noise_free_paths({k: v for k, v in default_run.meta.items() if k != "config"}, [0], 1)
    with pytest.raises(ConfigError, match="simulators_version"):
        noise_free_paths({**default_run.meta, "simulators_version": "2"}, [0], 1)
