"""``cellbench export --napari``: a run's test-block tracks and displacement vectors, read back and checked
against predictions.parquet; and the positions predictions.parquet now carries."""

from __future__ import annotations

import json

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.data.dataset import build_dataset
from cellbench.data.tracks import Tracks, TracksMeta
from cellbench.evaluation.scoring import predictions_table
from cellbench.runs.pipeline import RunConfig, run
from tests.helpers import random_walk_tracks

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny AR run (no rollouts, no probes: a few seconds)."""
    tmp = tmp_path_factory.mktemp("export")
    walk = tmp / "walk.parquet"
    random_walk_tracks(n_tracks=6, n_frames=40, seed=4).save(walk)
    return run(RunConfig(model="ar", data=(str(walk),), rollout=False, probes=False), tmp / "run").out_dir


def test_predictions_carry_positions_and_the_predicted_next_position(run_dir):
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert {"x_um", "y_um", "x_next_pred_um", "y_next_pred_um"} <= set(preds.columns)
    tracks = random_walk_tracks(n_tracks=6, n_frames=40, seed=4).df.set_index(["track_id", "frame"])
    at = tracks.loc[pd.MultiIndex.from_frame(preds[["track_id", "frame"]])]
    npt.assert_array_equal(preds["x_um"], at["x_um"])  # the spot's own position at frame t
    npt.assert_array_equal(preds["y_um"], at["y_um"])
    npt.assert_allclose(preds["x_next_pred_um"], preds["x_um"] + preds["dx_pred_um"], rtol=0, atol=1e-12)
    npt.assert_allclose(preds["y_next_pred_um"], preds["y_um"] + preds["dy_pred_um"], rtol=0, atol=1e-12)


def test_predicted_next_position_wraps_into_a_periodic_box():
    box = 20.0
    rows = [(1, f, (13.0 + 0.4 * f) % box, 5.0) for f in range(20)]  # crosses x = 20 between frames 17 and 18
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"])
    tracks = Tracks.from_table(df, TracksMeta(dataset="ring", extra={"boundary": "periodic", "box_um": box}))
    data = build_dataset([tracks])
    table = predictions_table([np.tile([0.4, 0.0], (tracks.n_rows, 1))], data, "test")
    assert (table["x_um"] + table["dx_pred_um"] >= box).any(), "no test step crosses the boundary"
    assert ((table["x_next_pred_um"] >= 0) & (table["x_next_pred_um"] < box)).all()
    npt.assert_allclose(table["dx_true_um"], 0.4, atol=1e-12)  # minimum image across the boundary


def test_export_napari_files_match_predictions(run_dir, tmp_path):
    out = tmp_path / "nap"
    res = runner.invoke(app, ["export", "--napari", str(run_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    preds = pd.read_parquet(run_dir / "predictions.parquet").sort_values(["track_id", "frame"]).reset_index(drop=True)
    note = json.loads((out / "napari.json").read_text())
    assert note["units"] == {"t": "frame", "y": "um", "x": "um"} and note["models"] == ["ar"]
    seq = note["sequences"][0]
    tracks = pd.read_csv(out / seq["tracks"])
    assert list(tracks.columns) == ["track_id", "t", "y", "x"] and len(tracks) == len(preds)
    npt.assert_array_equal(tracks["track_id"], preds["track_id"])
    npt.assert_array_equal(tracks["t"], preds["frame"])
    npt.assert_allclose(tracks[["y", "x"]], preds[["y_um", "x_um"]], rtol=1e-15)
    for name, dx, dy in (("true", "dx_true_um", "dy_true_um"), ("ar", "dx_pred_um", "dy_pred_um")):
        v = np.load(out / seq["vectors"][name])
        assert v.shape == (len(preds), 2, 3)
        npt.assert_array_equal(v[:, 0], preds[["frame", "y_um", "x_um"]].to_numpy(dtype=float))
        npt.assert_array_equal(v[:, 1, 0], 0.0)
        npt.assert_array_equal(v[:, 1, 1:], preds[[dy, dx]].to_numpy())
    pred = np.load(out / seq["vectors"]["ar"])
    npt.assert_allclose((pred[:, 0] + pred[:, 1])[:, 1:], preds[["y_next_pred_um", "x_next_pred_um"]], atol=1e-12)
    # the same export again rewrites in place; a folder with other files is refused
    assert runner.invoke(app, ["export", "--napari", str(run_dir), "--out", str(out)]).exit_code == 0
    (out / "notes.txt").write_text("mine")
    res = runner.invoke(app, ["export", "--napari", str(run_dir), "--out", str(out)])
    assert res.exit_code == 2 and "notes.txt" in res.output


def test_export_refuses_what_it_cannot_export(run_dir, tmp_path):
    res = runner.invoke(app, ["export", "--napari", str(run_dir), "--pixel-um", "0.5"])
    assert res.exit_code == 2 and "apply to --geff FILE only" in res.output
    res = runner.invoke(app, ["export", "--napari", str(tmp_path)])
    assert res.exit_code == 2 and "not a finished cellbench run folder" in res.output
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"model": "ar"}))
    pd.read_parquet(run_dir / "predictions.parquet").drop(columns=["x_um", "y_um"]).to_parquet(old / "predictions.parquet")
    res = runner.invoke(app, ["export", "--napari", str(old)])
    assert res.exit_code == 2 and "['x_um', 'y_um']" in res.output and "rerun" in res.output
    res = runner.invoke(app, ["export"])
    assert "--napari" in res.output
