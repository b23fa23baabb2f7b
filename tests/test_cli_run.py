import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cellbench.cli import COMMANDS, app
from tests.helpers import random_walk_tracks

runner = CliRunner()


@pytest.fixture
def walk_file(tmp_path):
    path = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=8, n_frames=60, seed=1).save(path)
    return path


def test_run_writes_the_run_folder(walk_file, tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "--model", "ar", "--tracks", str(walk_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "const-velocity" in res.output and "zero" in res.output and "RMSE dx (um)" in res.output
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    preds = pd.read_parquet(out / "predictions.parquet")
    assert metrics["model"] == "ar" and metrics["test"]["n_targets"] == len(preds)
    assert config["data_files"][0]["sha256"] and config["cellbench_version"]
    assert {"dx_true_um", "dx_pred_um", "track_id", "frame", "x_um", "y_um", "x_next_pred_um",
            "y_next_pred_um"} <= set(preds.columns)


def test_same_seed_same_metrics(walk_file, tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        assert runner.invoke(app, ["run", "--model", "ar", "--tracks", str(walk_file), "--out", str(out)]).exit_code == 0
        outs.append((out / "metrics.json").read_bytes())
    assert outs[0] == outs[1]


def test_unknown_model_is_a_clear_error_and_writes_nothing(walk_file, tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "--model", "nope", "--tracks", str(walk_file), "--out", str(out)])
    assert res.exit_code != 0
    assert not out.exists()


def test_tracks_info_prints_units(walk_file):
    res = runner.invoke(app, ["tracks", "info", str(walk_file)])
    assert res.exit_code == 0, res.output
    assert "um per frame" in res.output and "rows (spots)" in res.output


def test_hsc_const_velocity_run(real_data_dir, tmp_path):
    path = real_data_dir / "BF-C2DL-HSC_02_spots.csv"
    res = runner.invoke(app, ["run", "--model", "const-velocity", "--tracks", str(path), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    # The HSC displacements are close to white noise: every trivial reference has R^2 < 0.03.
    assert metrics["references"]["zero"]["r2"] < 0.03 and metrics["test"]["r2"] < 0.03


def test_help_lists_every_command_and_each_command_loads():
    """`cellbench --help` lists the summaries without importing the commands; each loads when used."""
    res = runner.invoke(app, ["--help"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    for name, command in COMMANDS.items():
        assert name in res.output and command.summary in res.output
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output, (name, sub.output)
