"""Board columns of the multi-step evaluation and of the bootstrap (cellbench.leaderboard.dynamics, intervals)."""

from __future__ import annotations

import numpy as np
import pytest

from cellbench.leaderboard.dynamics import DIST_FLOOR_LABEL, DYNAMICS_COLUMNS, dynamics_columns, floor_row
from cellbench.leaderboard.intervals import bootstrap_columns
from cellbench.leaderboard.tables import collect, markdown_table, summarize


def _metrics(dataset: str, model: str, rmse: float, seed: int) -> dict:
    ks = [1, 2, 4, 8, 16]
    roll = {n: {"rmse_um": [r * k for k in ks], "rmse_over_zero": [r / 1.5] * 5, "rmse_over_oracle": [r / 0.9] * 5,
                "energy_score_um": [r * k / 2 for k in ks], "n_scored": [10] * 5}
            for n, r in ((model, rmse), ("zero", 1.5))}
    dist = {n: {"msd": d, "g_r": d, "vacf": d / 2, "polar_order": d / 3} for n, d in ((model, 0.2), ("zero", 0.6))}
    ref = {"rmse_um": 1.5, "r2": 0.0}
    return {"dataset": dataset, "split": "time", "test": {"rmse_um": rmse, "r2": 0.3},
            "references": {"zero": ref, "filtered-oracle": {"rmse_um": 1.0 + 0.01 * seed, "r2": 0.4}},
            "rollout": {"horizons_frames": ks, "models": roll},
            "distribution": {"models": dist, "floor": {"msd": 0.03, "g_r": 0.04, "vacf": 0.01, "polar_order": 0.01}},
            "intervals": {"block_len_frames": 5, "models": {model: {"r2": [0.28, 0.32], "rmse_um": [1.1, 1.3]}}}}


def _records():
    return [{"status": "done", "spec": {"model": "ar", "seed": s, "dataset": ["default"]}, "finished_at": "t",
             "metrics": _metrics("sim:default:seed0", "ar", 1.2 + 0.01 * s, s)} for s in range(3)]


def test_columns_of_one_run():
    m = _metrics("sim:default:seed0", "ar", 1.2, 0)
    cols = dynamics_columns(m, "ar")
    assert cols["roll_rmse_over_zero_k16"] == pytest.approx(0.8)
    assert cols["roll_energy_score_um_k16"] == pytest.approx(1.2 * 16 / 2)
    assert cols["dist_g_r"] == 0.2 and cols["dist_polar_order"] == pytest.approx(0.2 / 3)
    assert floor_row(m) == {"dist_msd": 0.03, "dist_g_r": 0.04, "dist_vacf": 0.01, "dist_polar_order": 0.01}
    assert dynamics_columns({"test": {}}, "ar") == {} and floor_row({}) == {}
    b = bootstrap_columns(m, "ar")
    assert b == pytest.approx({"boot_r2_halfwidth": 0.02, "boot_rmse_halfwidth_um": 0.1, "boot_block_len_frames": 5})
    assert bootstrap_columns(m, "zero") == {}


def test_collect_adds_the_floor_row_and_the_second_ratio():
    df = collect(_records())
    ar = df[df.label == "ar"].sort_values("seed")
    # the filtered oracle ran as an embedded reference: RMSE / its RMSE, per seed
    np.testing.assert_allclose(ar["filtered_oracle_ratio"], [(1.2 + 0.01 * s) / (1.0 + 0.01 * s) for s in range(3)])
    floor = df[df.label == DIST_FLOOR_LABEL]
    assert len(floor) == 3 and floor["dist_g_r"].eq(0.04).all()
    table = markdown_table(summarize(df), "sim:default:seed0", columns=DYNAMICS_COLUMNS)
    lines = table.splitlines()
    assert lines[0].startswith("| model |") and "RMSE(16) / zero" in lines[0] and "g r distance" in lines[0]
    body = [l for l in lines[2:] if l.startswith("| ")]
    assert body[-1].startswith(f"| {DIST_FLOOR_LABEL} |")  # the floor last, never bold
    assert "**" not in body[-1]
    assert not any(l.startswith("| filtered-oracle |") for l in body)  # not rolled out: no dynamics columns
    main = markdown_table(summarize(df), "sim:default:seed0")
    assert "RMSE / filtered-oracle RMSE" in main and "R2 bootstrap" in main and "blocks of 5 frames" in main
    assert DIST_FLOOR_LABEL not in main


def _probe_record(model: str, label: str, seed: int, r2: float, rel_l2: float) -> dict:
    probes = {"models": {model: {"errors_seen": {"rel_l2": rel_l2, "range_error_um": 1.0, "sign_changes": 0},
                                 "additivity": {"error_pct": 5.0}}}}
    return {"status": "done", "label": label, "finished_at": "t",
            "spec": {"model": model, "seed": seed, "dataset": ["preset:passive-yukawa"]},
            "metrics": {"dataset": "sim:passive-yukawa:seed0", "split": "time", "test": {"r2": r2, "rmse_um": 1.0},
                        "probes": probes}}


def test_the_interaction_reading_says_who_recovers_the_force_law_and_whether_the_prior_helps():
    from cellbench.leaderboard.synthetic import interaction_reading

    recs = []
    for s in range(3):
        recs += [_probe_record("transformer", "transformer", s, 0.40 + 0.001 * s, 0.8),
                 _probe_record("physattn", "physattn", s, 0.39 + 0.001 * s, 0.7),
                 _probe_record("pairforce", "pairforce", s, 0.45 + 0.002 * s, 0.05 + 0.001 * s)]
    df = collect(recs)
    text = interaction_reading(df, summarize(df), "sim:passive-yukawa:seed0")
    assert "Recovers the force law within 10%" in text and "pairforce (0.051)" in text
    assert "No physattn variant beats the same network without a prior" in text
    # a prior that helps on every seed is named
    better = [_probe_record("physattn", "physattn", s, 0.43 + 0.001 * s, 0.7) for s in range(3)]
    df2 = collect([r for r in recs if r["label"] != "physattn"] + better)
    text2 = interaction_reading(df2, summarize(df2), "sim:passive-yukawa:seed0")
    assert "physattn beats the same network without a prior" in text2 and "+0.0300" in text2
    # nobody below the threshold
    df3 = collect([r for r in recs if r["label"] != "pairforce"])
    assert "No model recovers the force law" in interaction_reading(df3, summarize(df3), "sim:passive-yukawa:seed0")
