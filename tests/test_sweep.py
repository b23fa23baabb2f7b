"""End-to-end sweeps through Dask distributed, the results store and the leaderboard writer."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cellbench.errors import ConfigError
from cellbench.leaderboard.tables import collect, summarize, write_leaderboards
from cellbench.sweep import ResultStore, load_sweep
from cellbench.sweep.runner import run_sweep
from tests.helpers import random_walk_tracks


def _sweep_file(tmp_path, models, seeds, datasets, extra=""):
    text = f"[sweep]\nmodels = {json.dumps(models)}\ndatasets = {json.dumps(datasets)}\nseeds = {json.dumps(seeds)}\n{extra}"
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


@pytest.fixture
def walk(tmp_path):
    path = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=10, n_frames=60, seed=3).save(path)
    return path


def test_tiny_sweep_through_dask_and_the_leaderboard_match_the_result_files(tmp_path, walk):
    cfg = load_sweep(_sweep_file(tmp_path, ["zero", "ar"], [0, 1], ["walk.parquet"]))
    assert len(cfg.specs) == 4
    summary = run_sweep(cfg, tmp_path / "res", n_workers=2)
    assert (summary.done, summary.skipped, summary.failed) == (4, 0, 0)
    records = ResultStore(tmp_path / "res").records()
    assert len(records) == 4 and all(r["status"] == "done" for r in records)
    # where each run's time went, kept beside its metrics (not in them: same seed, same metrics bytes)
    assert all({"load_seconds", "fit_predict_seconds", "scoring_seconds", "total_seconds"} <= set(r["timing"])
               and "seconds" not in str(r["metrics"].keys()) for r in records)

    written = write_leaderboards(records, tmp_path / "lb")
    md = next(p for p in written if p.suffix == ".md").read_text()
    csv = pd.read_csv(next(p for p in written if p.suffix == ".csv"))
    # the table's numbers equal the result files' (mean over the two seeds)
    ar = [r["metrics"]["test"]["rmse_dx_um"] for r in records if r["spec"]["model"] == "ar"]
    row = csv[(csv.label == "ar") & (csv.metric == "rmse_dx_um")].iloc[0]
    assert row["mean"] == pytest.approx(np.mean(ar), rel=1e-12) and row["n_seeds"] == 2
    assert f"{np.mean(ar):.4g}" in md
    assert "const-velocity" in md  # the references stand beside every model
    assert (tmp_path / "lb" / f"{records[0]['metrics']['dataset']}.png").exists()
    # the multi-step evaluation runs in every sweep run and reaches the board
    m = records[0]["metrics"]
    assert m["rollout"]["horizons_frames"] == [1, 2, 4, 8] and m["rollout"]["horizons_dropped_frames"] == [16]
    assert set(m["rollout"]["models"]) == {"zero", "const-velocity", "ar"} or set(m["rollout"]["models"]) == {
        "zero", "const-velocity"}
    assert m["distribution"]["floor"] is None  # tracks files: no simulator to give the floor
    assert "### Rollouts and distribution statistics" in md and "RMSE(4) / zero" in md
    ar4 = [r["metrics"]["rollout"]["models"]["ar"]["rmse_over_zero"][2] for r in records if r["spec"]["model"] == "ar"]
    row = csv[(csv.label == "ar") & (csv.metric == "roll_rmse_over_zero_k4")].iloc[0]
    assert row["mean"] == pytest.approx(np.mean(ar4), rel=1e-12)

    again = run_sweep(cfg, tmp_path / "res", n_workers=1)
    assert (again.done, again.skipped, again.failed) == (0, 4, 0)


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, walk):
    bad = tmp_path / "bad.csv"
    bad.write_text("TRACK_ID,FRAME,POSITION_X\n1,0,3.0\n")
    cfg = load_sweep(_sweep_file(tmp_path, ["zero"], [0], ["walk.parquet", "bad.csv"]))
    summary = run_sweep(cfg, tmp_path / "res", n_workers=1)
    assert (summary.done, summary.failed) == (1, 1)
    failed = [r for r in ResultStore(tmp_path / "res").records() if r["status"] == "failed"]
    assert "POSITION_Y" in failed[0]["error"] and "bad.csv" in failed[0]["error"]


def test_bad_sweep_files_are_refused(tmp_path, walk):
    with pytest.raises(ConfigError, match="unknown"):
        load_sweep(_sweep_file(tmp_path, ["no-such-model"], [0], ["walk.parquet"]))
    with pytest.raises(ConfigError, match="does not exist"):
        load_sweep(_sweep_file(tmp_path, ["zero"], [0], ["missing.csv"]))
    with pytest.raises(ConfigError, match="train_fractions"):
        load_sweep(_sweep_file(tmp_path, ["zero"], [0], ["walk.parquet"], "train_fractions = [0.0]\n"))
    (tmp_path / "broken.toml").write_text("[sweep\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_sweep(tmp_path / "broken.toml")


def test_sigkilled_sweep_keeps_finished_results_and_resumes(tmp_path):
    path = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=40, n_frames=200, seed=1).save(path)
    n_runs = 16  # one-step runs only (no rollouts or probes): the kill and the resume are what is tested
    sweep = _sweep_file(tmp_path, ["ar"], list(range(n_runs)), ["walk.parquet"], "rollout = false\nprobes = false\n")
    res = tmp_path / "res"
    cmd = [sys.executable, "-m", "cellbench.cli", "sweep", str(sweep), "--results", str(res), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(res.glob("*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the client and its LocalCluster, no clean-up
    proc.wait()
    finished = {p.name: p.read_bytes() for p in res.glob("*.json")}
    assert 2 <= len(finished)
    assert not list(res.glob(".*.tmp")) or all(p.name.startswith(".") for p in res.glob(".*.tmp"))
    for blob in finished.values():
        assert json.loads(blob)["status"] == "done"  # every visible file is whole
    summary = run_sweep(load_sweep(sweep), res, n_workers=1)
    assert summary.skipped == len(finished) and summary.done == n_runs - len(finished) and summary.failed == 0
    for name, blob in finished.items():
        assert (res / name).read_bytes() == blob  # nothing finished was rewritten


def test_evaluation_options_reach_the_run_config_and_keep_default_keys(tmp_path, walk):
    from cellbench.sweep.task import _run_config

    plain = load_sweep(_sweep_file(tmp_path, ["ar"], [0], ["walk.parquet"])).specs[0]
    assert set(plain.to_dict()).isdisjoint({"rollout", "horizons", "filtered_oracle"})  # old keys unchanged
    spec = load_sweep(_sweep_file(tmp_path, ["ar"], [0], ["walk.parquet"],
                                  "rollout = false\nhorizons = [4, 1]\nfiltered_oracle = false\n")).specs[0]
    cfg = _run_config(spec.to_dict(), [str(walk)])
    assert (cfg.rollout, cfg.horizons, cfg.filtered_oracle) == (False, (1, 4), False)
    assert spec.to_dict() != plain.to_dict()  # so the result key differs
    for bad in ("rollout = 1\n", "horizons = [0]\n", "horizons = [2, 2]\n", "filtered_oracle = 'no'\n"):
        with pytest.raises(ConfigError, match="sweep"):
            load_sweep(_sweep_file(tmp_path, ["ar"], [0], ["walk.parquet"], bad))


def test_a_simulated_sweep_shows_the_interaction_table(tmp_path, monkeypatch):
    """End to end on a preset: the probes run in every sweep run and the board's interaction table
    shows the probe's own check (the oracle answers with the simulator: error 0) and the zero model (error 1)."""
    monkeypatch.setenv("CELLBENCH_CACHE", str(tmp_path / "cache"))
    cfg = load_sweep(_sweep_file(tmp_path, ["zero", "oracle"], [0], ["preset:default"],
                                 "rollout = false\nfiltered_oracle = false\n"))
    summary = run_sweep(cfg, tmp_path / "res", n_workers=1)
    assert (summary.done, summary.failed) == (2, 0), summary.errors
    records = ResultStore(tmp_path / "res").records()
    written = write_leaderboards(records, tmp_path / "lb")
    md = next(p for p in written if p.suffix == ".md").read_text()
    assert "### Interactions: force-law probes and attention" in md
    table = md.split("### Interactions")[1]
    zero_row = next(l for l in table.splitlines() if l.startswith("| zero |"))
    oracle_row = next(l for l in table.splitlines() if l.startswith("| oracle |"))
    assert zero_row.split("|")[3].strip().strip("*") == "1"  # relative L2 of a flat zero response
    assert float(oracle_row.split("|")[3].strip().strip("*")) < 1e-6
    assert all("rollout" not in r["metrics"] for r in records)
