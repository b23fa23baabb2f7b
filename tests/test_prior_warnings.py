"""``cellbench prior`` says when its estimate cannot be trusted: sparse tracks raise warnings (in
prior.json, on the console, on prior.png) and take the null's ratio off the table as evidence; a
dense simulation raises none; frames without pairs get an error that says which --frames helps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellbench.errors import ConfigError
from cellbench.io import read_json
from cellbench.prior.quality import (MIN_CELLS_PER_FRAME, MIN_INDEPENDENT_PAIRS, NULL_RMS_C, frames_hint,
                                     pairs_within, prior_warnings)
from cellbench.prior.result import Prior
from cellbench.runs.prior_report import first_frames, report_lines, require_pairs, run_prior
from tests.helpers import random_walk_tracks, table


def _sparse():
    """Three slowly wandering cells over 300 frames, like the first 300 frames of BF-C2DL-HSC_02
    (2.99 cells per frame; consecutive frames nearly alike)."""
    return random_walk_tracks(n_tracks=3, n_frames=300, seed=0, step_um=0.5, box_um=80.0)


def test_sparse_tracks_warn_everywhere_and_the_ratio_is_not_called_evidence(tmp_path):
    run = run_prior(_sparse(), tmp_path, hint="frame 9 holds the most cells (40)")
    codes = [w["code"] for w in run.extra["warnings"]]
    assert codes == ["S_negative", "C_clamped", "few_cells", "few_pairs", "null_noise"]  # all five, seeded
    saved = read_json(tmp_path / "prior.json")
    assert [w["code"] for w in saved["warnings"]] == codes
    assert all(w["message"] and w["suggestion"] for w in saved["warnings"])
    assert saved["null"]["ratio_meaningful"] is False
    assert saved["where_the_cells_are"] == "frame 9 holds the most cells (40)"
    lines = report_lines(run)
    assert "NOT evidence of structure" in lines[0] and f"fails {len(codes)} check(s)" in lines[0]
    assert sum(line.startswith("warning: ") for line in lines) == len(codes)
    assert lines[-1] == "where the cells are: frame 9 holds the most cells (40)"
    assert (tmp_path / "prior.png").read_bytes()[:4] == b"\x89PNG"


def test_a_dense_simulation_raises_no_warning(tmp_path):
    from cellbench.sim import simulate

    sim = simulate("default", 0, {"n_frames": 60})
    run = run_prior(sim.tracks, tmp_path, meta={})  # no truth: the checks only
    assert run.extra["warnings"] == [], run.extra["warnings"]
    assert run.extra["null"]["ratio_meaningful"] is True
    lines = report_lines(run)
    assert lines == [lines[0]] and "NOT" not in lines[0] and "ratio" in lines[0]


def _prior(S, rho=0.001, cells=30.0, tau=1.0, r_max=20.0):
    k = np.linspace(0, 2, len(S))
    r = np.linspace(0.1, r_max, 50)
    diag = {"mean_cells_per_frame": cells, "S0_autocorr_frames": tau, "k_guard_inv_um": 0.1}
    return Prior(k, np.asarray(S, dtype=float), np.zeros(len(S)), r, np.zeros(50), rho, 5.0,
                 {"s_min": 0.01, "r_max_um": r_max}, diag)


def _dense_frames(n_frames=20, n=400, box=200.0, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, box, (n, 2)) for _ in range(n_frames)]


def test_negative_s_and_the_clamp_are_each_named_with_the_clamp_value():
    S = np.ones(40)
    S[5:8] = [0.005, -0.096, 0.004]
    codes = {w["code"]: w for w in prior_warnings(_prior(S), _dense_frames())}
    assert set(codes) == {"S_negative", "C_clamped"}
    assert "-0.096" in codes["S_negative"]["message"]
    assert "3 of 40 k values" in codes["C_clamped"]["message"]
    assert f"{(1 - 1 / 0.01) / 0.001:.3g} um^2" in codes["C_clamped"]["message"]  # -9.9e+04
    assert "more frames" in codes["S_negative"]["suggestion"] and "larger window" in codes["C_clamped"]["suggestion"]
    S[5:8] = 0.02  # small but above s_min: nothing to say
    assert prior_warnings(_prior(S), _dense_frames()) == []


@pytest.mark.parametrize("cells, tau, null, code", [
    (MIN_CELLS_PER_FRAME - 0.5, 1.0, None, "few_cells"),
    (30.0, 1e9, None, "few_pairs"),  # the same pairs, but all in one correlated stretch
    (30.0, 1.0, NULL_RMS_C, "null_noise"),
])
def test_each_sparsity_threshold_fires_alone(cells, tau, null, code):
    got = [w["code"] for w in prior_warnings(_prior(np.ones(40), cells=cells, tau=tau), _dense_frames(), null)]
    assert got == [code]
    assert prior_warnings(_prior(np.ones(40)), _dense_frames(), 0.99 * NULL_RMS_C) == []  # just below: quiet


def test_independent_pairs_are_counted_against_the_brute_force_count():
    frames = _dense_frames(n_frames=3, n=60, box=50.0)
    brute = sum(int(np.sum(np.triu(np.linalg.norm(f[:, None] - f[None], axis=2) < 7.0, k=1))) for f in frames)
    assert pairs_within(frames, 7.0) == brute
    # below MIN_INDEPENDENT_PAIRS / tau pairs the check fires, above it does not
    tau = brute / MIN_INDEPENDENT_PAIRS
    codes = lambda t: [w["code"] for w in prior_warnings(_prior(np.ones(40), tau=t, r_max=7.0), frames)]  # noqa: E731
    assert codes(tau * 1.01) == ["few_pairs"] and codes(tau * 0.99) == []


def _growing():
    """One cell in frames 0-19, then three cells in frames 20-29, five in 30-34."""
    rows = [(0, f, 10.0, 10.0) for f in range(20)]
    rows += [(i, f, 10.0 * i, 5.0) for f in range(20, 30) for i in range(3)]
    rows += [(i, f, 10.0 * i, 5.0) for f in range(30, 35) for i in range(5)]
    return table(rows, dataset="growing")


def test_frames_without_pairs_get_an_error_that_says_which_frames_to_use():
    with pytest.raises(ConfigError) as err:
        first_frames(_growing(), 10)
    text = str(err.value)
    assert "--frames 10: none of the first 10 frames holds two cells" in text
    assert "the first frame with two cells is frame 20 (--frames 21 or more reaches it)" in text
    assert "frame 30 holds the most cells (5); --frames 31 or more includes it" in text
    assert first_frames(_growing(), 21).n_rows == 20 + 3
    single = table([(0, f, 1.0, 1.0) for f in range(5)], dataset="alone")
    with pytest.raises(ConfigError, match="no frame of alone holds two cells.*at least two cells"):
        require_pairs(single)


def test_frames_hint_points_past_the_frames_used():
    counts = pd.Series([1, 2, 7, 3], index=[10, 11, 12, 13])
    assert frames_hint(counts, 2) == ("frame 12 holds the most cells (7); --frames 3 or more includes it "
                                      "(or leave --frames out to use all 4 frames)")
    assert frames_hint(counts, None).startswith("frame 12 holds the most cells (7); only a longer")
    assert frames_hint(counts, 4) == "frame 12 holds the most cells (7)"
