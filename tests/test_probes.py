"""Force-law probes (cellbench.sim.two_body, cellbench.evaluation.probes, probe_section, probe_plot).

The simulator's noise-free few-body response against the potentials of cellbench.sim.potentials,
and the probes against known answers: the oracle used as a model reproduces the truth, the
``zero`` reference responds with 0 everywhere, a learned model gives a finite curve.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import numpy.testing as npt
import pytest

import cellbench.sim
from cellbench.data.dataset import build_dataset
from cellbench.errors import ConfigError
from cellbench.evaluation import probes
from cellbench.evaluation.probe_plot import probe_png
from cellbench.evaluation.probe_section import ProbeOptions, probe_grid_um, probe_section, true_additivity
from cellbench.runs.simulated import SimTruth
from cellbench.sim import PRESETS
from cellbench.sim.two_body import noise_free_displacements_um, pair_response_um
from cellbench.train.build import build
from tests.helpers import random_walk_tracks

PAIR_PRESETS = ("passive-yukawa", "passive-wca", "morse-adhesive")
TINY = {"n_cells": 16, "box_um": 100.0, "fov_um": None, "n_frames": 12, "n_equil_steps": 0, "record_every": 50}
"""passive-yukawa shrunk to 16 cells x 12 frames (1 s per frame, ~1 s to simulate)."""


def _one_step(name: str):
    """The preset with one time step per frame: the response is mu F dt exactly."""
    return dataclasses.replace(PRESETS[name], record_every=1)


def _rot(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


@pytest.fixture(scope="module")
def template():
    return random_walk_tracks(n_tracks=4, n_frames=10, seed=3)


@pytest.fixture(scope="module")
def tiny():
    r = cellbench.sim.simulate("passive-yukawa", 0, TINY)
    return r, build_dataset([r.tracks], truths=[SimTruth(r.truth, r.pairs, r.meta, "")])


# -- the simulator's own response ----------------------------------------------------------------

@pytest.mark.parametrize("name", PAIR_PRESETS)
def test_one_step_response_is_mobility_times_force_times_dt(name):
    cfg = _one_step(name)
    r = np.linspace(0.85, 1.2, 9) * cfg.potential.sigma_um
    f_kT_per_um = cfg.potential(r)[1]
    want = cfg.mobility * f_kT_per_um * cfg.dt_s
    # numba float64 kernel against numpy, same formula: rounding only
    npt.assert_allclose(pair_response_um(cfg, r), want, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name", PAIR_PRESETS)
def test_pair_moves_along_its_axis_and_oppositely(name):
    """Newton's third law over a whole frame: equal and opposite displacements along the pair axis."""
    cfg = PRESETS[name]
    pos = np.array([[[3.0, -1.0], [3.0 - 9.0 * np.cos(0.7), -1.0 - 9.0 * np.sin(0.7)]]])
    d = noise_free_displacements_um(cfg, pos)[0]
    axis = (pos[0, 0] - pos[0, 1]) / 9.0
    assert np.hypot(*d[0]) > 0
    npt.assert_allclose(d[0], -d[1], atol=1e-12)
    npt.assert_allclose(d[0] - (d[0] @ axis) * axis, 0.0, atol=1e-12)  # no component across the axis
    assert d[0] @ axis != 0


@pytest.mark.parametrize("name", PAIR_PRESETS + ("abp-wca", "microwell-hsc"))
def test_no_response_beyond_the_cutoff_nor_alone(name):
    """Beyond the interaction range, and for a lone cell (self-propulsion removed, no wall nearby): 0 exactly."""
    cfg = PRESETS[name]
    assert pair_response_um(cfg, [1.01 * cfg.interaction_range_um, 2.5 * cfg.interaction_range_um]).tolist() == [0, 0]
    assert np.all(noise_free_displacements_um(cfg, np.zeros((1, 1, 2))) == 0)


def test_response_is_rotation_and_translation_invariant():
    cfg = PRESETS["passive-yukawa"]
    base = np.array([[0.0, 0.0], [-14.0, 3.0], [5.0, -16.0]])
    configs = np.stack([base @ _rot(a).T + shift for a, shift in ((0.0, 0.0), (1.1, 40.0), (-2.5, -7.0))])
    d = noise_free_displacements_um(cfg, configs)
    for k, a in enumerate((0.0, 1.1, -2.5)):
        npt.assert_allclose(d[k], d[0] @ _rot(a).T, atol=1e-10)  # rotations of a float configuration


def test_one_step_three_body_response_is_exactly_additive():
    """Forces of pair potentials add, and one Euler step reads them at the initial positions."""
    cfg = _one_step("passive-yukawa")
    add = true_additivity(cfg, 14.0, 18.0, 90.0)
    assert add["error_pct"] < 1e-9


def test_a_blown_up_integration_gives_nan_not_an_error():
    """WCA at 0.3 x its range: the first Euler step jumps more than a box; the probe records NaN."""
    cfg = PRESETS["passive-wca"]
    out = pair_response_um(cfg, [0.3 * cfg.interaction_range_um, 0.95 * cfg.interaction_range_um])
    assert np.isnan(out[0]) and out[1] > 0


# -- the probes ------------------------------------------------------------------------------------

def test_grid_holds_at_least_40_points_in_0_3_to_3_ranges():
    r = probe_grid_um(11.0)
    assert len(r) >= 40 and r[0] == pytest.approx(0.3 * 11.0) and r[-1] == pytest.approx(3.0 * 11.0)
    assert np.all(np.diff(r) > 0)
    with pytest.raises(ValueError, match=">= 40"):
        ProbeOptions(n_points=39)


@pytest.mark.parametrize("name", ["passive-yukawa", "passive-wca"])
def test_the_oracle_used_as_a_model_has_the_true_response(name, template):
    """Exercises placement, batching, orientation averaging and baseline subtraction of the probe."""
    cfg = PRESETS[name]
    r = probe_grid_um(cfg.interaction_range_um)
    truth = pair_response_um(cfg, r)
    learned = probes.two_body_response(probes.OracleProbe(cfg), template, r)
    err = probes.response_errors(r, learned, truth)
    # the same engine on the same relative positions, shifted by the template's centre: rounding only
    assert err["rel_l2"] < 1e-9 and err["range_error_um"] == 0 and err["sign_changes"] == err["true_sign_changes"]
    assert err["true_range_um"] > 0


@pytest.mark.parametrize("name", ["passive-yukawa", "passive-wca"])
def test_the_oracles_additivity_is_the_engines_and_near_zero_for_pair_potentials(name, template):
    cfg = PRESETS[name]
    r_add = 0.85 * cfg.interaction_range_um
    got = probes.additivity_error(probes.OracleProbe(cfg), template, r_add, r_add)
    want = true_additivity(cfg, r_add, r_add, 90.0)
    assert got["error_pct"] == pytest.approx(want["error_pct"], abs=1e-6)
    # over a whole frame (20 s) the cells' own motion couples the two pairs at second order:
    # measured 0.69 % (yukawa), 0.18 % (WCA) at 0.85 range; one step per frame is exact (below)
    assert got["error_pct"] < 2.0
    exact = probes.additivity_error(probes.OracleProbe(_one_step(name)), template, r_add, r_add)
    assert exact["error_pct"] < 1e-7


def test_the_zero_reference_responds_with_zero_everywhere(template):
    zero = build("zero").fit(build_dataset([template]))
    r = probe_grid_um(10.0)
    assert np.all(probes.two_body_response(zero, template, r) == 0)
    assert np.isnan(probes.additivity_error(zero, template, 6.0, 7.0)["error_pct"])  # undefined: no response
    err = probes.response_errors(r, np.zeros(len(r)), pair_response_um(PRESETS["passive-yukawa"], r))
    assert err["rel_l2"] == 1.0 and err["range_um"] == 0.0 and err["sign_changes"] == 0


def test_a_learned_model_gives_a_finite_curve_of_the_grids_length(tiny):
    _, data = tiny
    model = build("transformer", train={"epochs": 1}, hidden=8).fit(data, seed=0)
    r = probe_grid_um(30.0)
    curve = probes.two_body_response(model, data.seqs[0].tracks, r, n_orientations=2)
    assert curve.shape == r.shape and np.all(np.isfinite(curve))


def test_probe_section_is_json_ready_with_truth_and_models(tiny):
    run, data = tiny
    preds = {n: build(n).fit(data, seed=0) for n in ("zero", "ar", "oracle")}
    sec = probe_section(preds, data, run.meta, ProbeOptions(n_points=40, n_orientations=2, history_frames=4))
    json.dumps(sec, allow_nan=False)
    assert len(sec["grid_r_um"]) == 40 and sec["range_um"] == 30.0
    assert set(sec["models"]) == {"zero", "ar", "oracle"} and sec["skipped"] == {}
    assert sec["models"]["oracle"]["errors"]["rel_l2"] < 1e-9
    assert sec["models"]["zero"]["errors"]["rel_l2"] == 1.0 and sec["models"]["ar"]["response_um"] == [0.0] * 40
    assert sec["models"]["oracle"]["additivity"]["error_pct"] == pytest.approx(
        sec["truth"]["additivity"]["error_pct"], abs=1e-6)
    assert "self_propulsion" in sec["rules"]["truth"] and "baseline" in sec["rules"]
    png = probe_png(sec, "tiny passive-yukawa")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_probe_tables_are_stationary_open_and_centred(template):
    data = probes.probe_dataset(template, [np.zeros((1, 2)), np.array([[0.0, 0.0], [-5.0, 0.0]])], history_frames=3)
    s = data.seqs[1]
    assert s.tracks.periodic_box_um is None and s.masks["test"].sum() == 2
    assert np.all(s.tracks.df.groupby("track_id")[["x_um", "y_um"]].nunique().to_numpy() == 1)
    fov = s.tracks.meta.fov_um
    target = s.tracks.positions_um()[0]
    assert fov[0] < target[0] - 5.0 < target[0] < fov[2] and s.tracks.meta.frame_interval_s == 60.0


# -- bad inputs ------------------------------------------------------------------------------------

class _WrongShape:
    def predict(self, data):
        return [np.zeros((1, 2)) for _ in data.seqs]


@pytest.mark.parametrize("call, match", [
    (lambda t: probes.two_body_response(build("zero"), t, [-1.0, 2.0]), "r_um must hold finite distances > 0"),
    (lambda t: probes.two_body_response(build("zero"), t, []), "r_um must hold finite distances > 0"),
    (lambda t: probes.two_body_response(build("zero"), t, [5.0], n_orientations=0), "n_orientations"),
    (lambda t: probes.two_body_response(build("zero"), t, [5.0], history_frames=0), "history_frames"),
    (lambda t: probes.two_body_response(build("zero"), t.df, [5.0]), "template must be a cellbench Tracks"),
    (lambda t: probes.two_body_response(_WrongShape(), t, [5.0]), r"shape \(1, 2\) for probe sequence"),
    (lambda t: probes.additivity_error(build("zero"), t, 5.0, np.nan), "r1_um, r2_um"),
    (lambda t: probes.response_errors([1.0, 2.0], [0.0], [0.0, 1.0]), "same length"),
    (lambda t: probes.response_errors([2.0, 1.0], [0.0, 0.0], [0.0, 1.0]), "strictly increasing"),
    (lambda t: noise_free_displacements_um(PRESETS["passive-wca"], np.zeros((2, 3))[None, None]), "shape"),
    (lambda t: probe_grid_um(0.0), "range_um"),
])
def test_bad_inputs_say_what_was_expected(call, match, template):
    with pytest.raises(ValueError, match=match):
        call(template)


def test_a_meta_without_a_config_is_refused():
    with pytest.raises(ConfigError, match="'config' entry"):
        probes.OracleProbe({"preset": "passive-wca"})


def test_noise_averaged_pair_response_known_limits():
    """With noise on, the mean response over a short frame is the noise-free one; over the 20-s frames
    of passive-wca noise carries pairs into contact, so just outside the core the mean response is far
    larger than the noise-free one; far beyond the range it is 0 within its standard error."""
    from cellbench.sim.two_body import noisy_pair_response_um, pair_response_um

    wca = cellbench.sim.PRESETS["passive-wca"]
    short = dataclasses.replace(wca, record_every=5)  # 0.1-s frames: 0.45 um of diffusion
    r = np.array([9.0, 10.5, 30.0])
    mean, se = noisy_pair_response_um(short, r, n_replicas=400, seed=1)
    np.testing.assert_allclose(mean, pair_response_um(short, r), atol=4 * se.max() + 1e-3)
    long_mean, long_se = noisy_pair_response_um(wca, np.array([11.1, 60.0]), n_replicas=256, seed=2)
    assert long_mean[0] > 1.0 > 0.1 > pair_response_um(wca, np.array([11.1]))[0]
    assert abs(long_mean[1]) < 4 * long_se[1]
    again = noisy_pair_response_um(wca, np.array([11.1, 60.0]), n_replicas=256, seed=2)
    np.testing.assert_array_equal(again[0], long_mean)


def test_noise_averaged_response_of_a_microwell_preset_runs_in_open_space():
    """A microwell preset's pairs are averaged in a periodic lattice: its well radius must not travel along."""
    from cellbench.sim.two_body import noisy_pair_response_um

    well = cellbench.sim.PRESETS["microwell-hsc"]
    assert well.boundary == "microwell"
    mean, se = noisy_pair_response_um(well, np.array([well.interaction_range_um * 3]), n_replicas=16, seed=0)
    assert np.isfinite(mean).all() and abs(mean[0]) < 4 * se[0] + 1e-9  # far beyond the range: no response
