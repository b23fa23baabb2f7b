"""The rollout and distribution sections of a run (cellbench.evaluation.rollout_section,
distribution_section, oracle_rollout; cellbench.runs.dynamics): known answers on small simulations."""

from __future__ import annotations

import numpy as np
import pytest

import cellbench.sim
from cellbench import space
from cellbench.data.dataset import build_dataset
from cellbench.evaluation.distribution_section import distribution_section
from cellbench.evaluation.oracle_rollout import oracle_rollout
from cellbench.evaluation.rollout_section import RolloutOptions, rollout_section, rollout_start_frames
from cellbench.evaluation.rollouts import rollout_rmse_um, start_frames_in
from cellbench.evaluation.scoring import score_predictors
from cellbench.runs.dynamics import dynamics_sections, is_active
from cellbench.runs.simulated import SimTruth
from cellbench.train.build import build

# ~100 soft active disks in a periodic box, every cell observed, no localization noise
SMALL = {"n_cells": 100, "box_um": 110.0, "fov_um": None, "n_frames": 120, "n_equil_steps": 400, "record_every": 40}
# dense passive WCA disks: g(r) has a hard core that non-interacting rollouts do not keep
DENSE = {"n_cells": 75, "box_um": 120.0, "fov_um": None, "n_frames": 80, "record_every": 100, "n_equil_steps": 5000}


def _data(preset: str, seed: int, overrides: dict):
    r = cellbench.sim.simulate(preset, seed, overrides)
    return build_dataset([r.tracks], truths=[SimTruth(r.truth, r.pairs, r.meta, "")])


@pytest.fixture(scope="module")
def active():
    return _data("default", 1, SMALL)


def _fitted(data, names=("zero", "const-velocity", "oracle")):
    out = {}
    for n in names:
        m = build(n).fit(data, seed=0)
        out[n] = (m, m.predict(data))
    return out


def test_the_oracle_rollout_reproduces_the_oracle_row(active):
    """k = 1 from every test frame: the oracle rollout's errors are the one-step oracle's, row for row."""
    preds = _fitted(active)
    opts = RolloutOptions(horizons=(1,), stride_frames=1, n_samples=0, max_starts=10**6)
    sec = rollout_section(preds, active, opts)
    row = score_predictors(preds, active)["oracle"]
    assert sec["models"]["oracle"]["n_scored"][0] == active.n_targets("test")
    assert sec["models"]["oracle"]["rmse_um"][0] == pytest.approx(np.hypot(row["rmse_dx_um"], row["rmse_dy_um"]),
                                                                 rel=1e-9)
    assert sec["models"]["zero"]["rmse_um"][0] == pytest.approx(
        np.hypot(*[score_predictors(preds, active)["zero"][k] for k in ("rmse_dx_um", "rmse_dy_um")]), rel=1e-9)
    # and position for position: true x(t0) + the recorded oracle displacement
    s = active.seqs[0]
    starts = rollout_start_frames(active, opts)[0]
    ro = oracle_rollout(s, starts, 1)
    rows = np.flatnonzero(np.isin(s.tracks.df["frame"].to_numpy(), starts))
    want = space.wrap(s.tracks.positions_um()[rows] + s.truth.oracle_um[rows], s.tracks.periodic_box_um)
    np.testing.assert_allclose(ro.pred_um[:, 0], want, atol=1e-9)


def test_start_frames_are_capped_per_block_and_spread_over_it(active):
    every = rollout_start_frames(active, RolloutOptions(horizons=(2,), stride_frames=1, max_starts=10**6))[0]
    capped = rollout_start_frames(active, RolloutOptions(horizons=(2,), stride_frames=1, max_starts=3))[0]
    assert len(every) > 3 and len(capped) == 3
    assert capped[0] == every[0] and capped[-1] == every[-1] and set(capped) <= set(every)
    with pytest.raises(ValueError, match="max_starts"):
        RolloutOptions(max_starts=0)


def test_ratios_and_sampled_scores_have_their_reference_values(active):
    preds = _fitted(active)
    opts = RolloutOptions(horizons=(1, 2, 4, 8), stride_frames=2, n_samples=3, sample_stride_frames=4)
    sec = rollout_section(preds, active, opts, seed=5)
    assert sec["horizons_frames"] == [1, 2, 4, 8] and sec["n_start_frames"] > 0
    assert sec["models"]["zero"]["rmse_over_zero"] == pytest.approx([1.0] * 4)
    assert sec["models"]["oracle"]["rmse_over_oracle"] == pytest.approx([1.0] * 4)
    # active cells persist: at short horizons the heading-aware oracle beats standing still
    assert sec["models"]["oracle"]["rmse_over_zero"][0] < 0.9
    assert "energy_score_um" not in sec["models"]["oracle"]
    es = sec["models"]["zero"]["energy_score_um"]
    assert all(np.isfinite(es)) and es == sorted(es)  # the error of standing still grows with k
    assert "residual" in sec["models"]["zero"]["noise"]
    assert rollout_section(preds, active, opts, seed=5) == sec  # same seed, same numbers


def test_start_frames_stay_inside_the_test_block(active):
    opts = RolloutOptions(horizons=(1, 4), stride_frames=2)
    (b,) = [b for b in active.blocks if b.split == "test"]
    starts = rollout_start_frames(active, opts)[0]
    assert starts.tolist() == start_frames_in(active.seqs[0].tracks, b.start_frame, b.stop_frame, 4)[::2].tolist()
    assert len(starts) >= 2 and starts.max() + 4 < b.stop_frame
    ro = oracle_rollout(active.seqs[0], starts, 4)
    assert set(rollout_rmse_um(ro, (4,))) == {4}
    # a horizon longer than the test block: nothing to roll out, no section
    too_long = RolloutOptions(horizons=(b.stop_frame - b.start_frame,))
    assert rollout_start_frames(active, too_long) == {}
    assert rollout_section(_fitted(active, ("zero",)), active, too_long) is None


@pytest.mark.parametrize("bad", [dict(horizons=()), dict(horizons=(0, 1)), dict(stride_frames=0),
                                 dict(n_samples=-1), dict(context_frames=-2)])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError):
        RolloutOptions(**bad)


def test_g_r_tells_an_interacting_truth_from_rollouts_that_ignore_interactions():
    """Dense WCA: rollouts of non-interacting references let cells overlap; an independent
    simulation of the same system keeps the core, so its distance (the floor) is far smaller."""
    data = _data("passive-wca", 0, DENSE)
    other = cellbench.sim.simulate("passive-wca", 1, DENSE).tracks
    preds = _fitted(data, ("zero",))
    sec, curves = distribution_section(preds, data, seed=0, floors={0: other}, floor_source="seed 1")
    assert set(sec["models"]) == {"zero"}
    assert sec["floor"]["g_r"] < 0.5 * sec["models"]["zero"]["g_r"]
    assert sec["floor"]["msd"] < 0.5 and sec["floor_source"] == "seed 1"
    assert "polar_order" not in sec["statistics"]  # passive
    x, truth, models, floors = curves["g_r"]
    assert len(x) == len(truth) == len(models["zero"]) == len(floors[0])


def test_dynamics_sections_of_an_active_run_floor_from_its_own_config(active):
    """A preset with overrides: the floor re-simulates the run's config (not the cached preset)."""
    assert is_active(active)
    sections, files = dynamics_sections(_fitted(active), active, (1, 2, 4), seed=0)
    assert set(sections) == {"rollout", "distribution"}
    dist = sections["distribution"]
    assert "the run's config" in dist["floor_source"] and "seed 2" in dist["floor_source"]
    assert dist["floor"]["msd"] < dist["models"]["zero"]["msd"]
    assert "polar_order" in sections["distribution"]["statistics"]
    assert "oracle" not in sections["distribution"]["models"]
    assert "rollout.png" in files and "distribution_msd.png" in files
