"""``cellbench compare``: models x training seeds on one dataset, one table beside the references, paired
differences, the physics-prior sentence, three files, finished runs skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.errors import ConfigError
from cellbench.leaderboard.compare_table import compare, prior_sentence
from cellbench.runs.compare import CompareConfig, check, pairs, parse_models, parse_pair, sweep_table
from cellbench.sweep import ResultStore

runner = CliRunner()


def _diffs(mean: float, ci: float, n: int) -> pd.DataFrame:
    return pd.DataFrame([{"pair": "physattn - transformer", "metric": "r2", "mean": mean, "ci95": ci, "n": n},
                         {"pair": "physattn - transformer", "metric": "rmse_um", "mean": -0.01, "ci95": 0.004, "n": n}])


@pytest.mark.parametrize("mean,ci,n,answer", [(0.03, 0.01, 3, "Yes:"), (-0.03, 0.01, 3, "No, it hurts:"),
                                              (0.003, 0.01, 3, "Can't tell:"), (0.03, float("nan"), 1, "Can't tell:")])
def test_the_prior_sentence_follows_the_paired_interval(mean, ci, n, answer):
    text = prior_sentence(_diffs(mean, ci, n))
    assert text.startswith("Does the physics prior help on these data? " + answer)
    assert f"{abs(mean):.2g}"[:4] in text  # the numbers are stated
    if n > 1:
        assert ("excludes 0" in text) == (answer != "Can't tell:")


def test_the_sentence_says_when_the_pair_was_not_compared():
    text = prior_sentence(pd.DataFrame(columns=["pair", "metric", "mean", "ci95", "n"]))
    assert "Not measured" in text and "--models physattn,transformer" in text


def test_config_and_parsing_refuse_bad_input():
    assert parse_models(" ar, physattn ") == ("ar", "physattn")
    assert parse_pair("physattn:gat") == ("physattn", "gat")
    for bad in (lambda: parse_models("ar,,gat"), lambda: parse_pair("physattn"), lambda: CompareConfig(seeds=0),
                lambda: CompareConfig(models=("ar", "ar")), lambda: CompareConfig(epochs=0),
                lambda: CompareConfig(models="ar"), lambda: CompareConfig(pairs=(("gat", "gat"),)),
                lambda: CompareConfig(split="random")):
        with pytest.raises(ConfigError):
            bad()
    with pytest.raises(ConfigError, match=r"--models: model 'nope' is unknown"):
        check(CompareConfig(models=("ar", "nope")))
    with pytest.raises(ConfigError, match=r"--pair gat:lstm: both must be compared"):
        check(CompareConfig(models=("gat",), pairs=(("gat", "lstm"),)))
    res = runner.invoke(app, ["compare", "--models", "ar,nope"])
    assert res.exit_code == 2 and "error: --models: model 'nope' is unknown" in res.output
    res = runner.invoke(app, ["compare", "--models", "ar", "--data", "no/such/file.csv"])
    assert res.exit_code == 2 and "no/such/file.csv" in res.output


def test_grid_adds_ar_and_detects_the_physics_pair():
    cfg = check(CompareConfig(data=("default",), models=("transformer", "physattn", "zero"), seeds=2, epochs=1))
    table = sweep_table(cfg)
    assert table["sweep"]["models"] == ["transformer", "physattn", "ar"]  # zero is scored inside every run
    assert table["sweep"]["seeds"] == [0, 1] and table["sweep"]["datasets"] == [["preset:default"]]
    assert table["sweep"]["rollout"] is False and table["sweep"]["probes"] is False
    assert table["models"] == {"transformer": {"train.epochs": 1}, "physattn": {"train.epochs": 1}}
    assert pairs(cfg) == (("physattn", "transformer"), ("transformer", "ar"), ("physattn", "ar"))


def test_compare_two_models_two_seeds_on_a_small_preset(tmp_path, monkeypatch):
    # the result keys include the code version, a hash of cellbench's sources: held fixed here, so that an edit
    # elsewhere in the tree while this test runs does not count as new code
    monkeypatch.setattr("cellbench.sweep.runner.code_version", lambda: "0.0.0+test")
    out = tmp_path / "cmp"
    res = runner.invoke(app, ["compare", "--data", "microwell-hsc", "--models", "transformer,physattn", "--seeds", "2",
                              "--epochs", "1", "--no-filtered-oracle", "--out", str(out)], terminal_width=200)
    assert res.exit_code == 0, res.output
    for label in ("zero", "const-velocity", "ar", "oracle", "transformer", "physattn"):
        assert f"| {label} | 2 |" in res.output, label
    assert "| physattn - transformer (paired) | 2 |" in res.output
    assert "Does the physics prior help on these data?" in res.output
    assert {p.name for p in out.iterdir()} == {"compare.md", "compare.csv", "compare.png", "results"}
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the numbers: recomputed from the result files, independently of the table code
    records = [r for r in ResultStore(out / "results").records() if r["status"] == "done"]
    assert sorted((r["spec"]["model"], r["spec"]["seed"]) for r in records) == [
        ("ar", 0), ("ar", 1), ("physattn", 0), ("physattn", 1), ("transformer", 0), ("transformer", 1)]
    r2 = {(r["spec"]["model"], r["spec"]["seed"]): r["metrics"]["test"]["r2"] for r in records}
    per_seed = np.array([r2["physattn", s] - r2["transformer", s] for s in (0, 1)])
    half = 12.706 * per_seed.std(ddof=1) / np.sqrt(2)  # t(0.975, 1 degree of freedom)
    csv = pd.read_csv(out / "compare.csv").set_index("model")
    assert csv.loc["physattn - transformer", "r2_mean"] == pytest.approx(per_seed.mean(), abs=1e-12)
    assert csv.loc["physattn - transformer", "r2_ci95"] == pytest.approx(half, rel=1e-3)
    assert csv.loc["physattn", "r2_mean"] == pytest.approx(np.mean([r2["physattn", s] for s in (0, 1)]), abs=1e-12)
    assert csv.loc["zero", "skill_vs_zero_mean"] == 0.0 and csv.loc["physattn", "row"] == "model"
    expected = ("Yes:" if per_seed.mean() - half > 0 else "No, it hurts:" if per_seed.mean() + half < 0
                else "Can't tell:")
    md = (out / "compare.md").read_text()
    assert f"Does the physics prior help on these data? {expected}" in md

    # rerun into the same folder: every run is found finished, nothing is trained again
    seen = []
    cfg = CompareConfig(data=("microwell-hsc",), models=("transformer", "physattn"), seeds=2, epochs=1,
                        filtered_oracle=False)
    again = compare(cfg, out, progress=lambda total, done: seen.append((total, done)) or (lambda: None))
    assert seen == [(6, 6)] and again.markdown.split("data sha256")[0] == md.split("data sha256")[0]


def test_tracks_read_options_reach_every_run(tmp_path):
    """A CSV in pixels with its own column names, read with --columns/--format/--position-units/--pixel-um,
    scores exactly as the same tracks in um: the options travel through the result spec into each run."""
    from tests.helpers import random_walk_tracks

    tracks = random_walk_tracks(n_tracks=10, n_frames=60, seed=3)
    tracks.save(tmp_path / "walk.parquet")
    df = tracks.df
    pd.DataFrame({"TRACK": df.track_id, "t": df.frame, "px_x": df.x_um / 0.5, "px_y": df.y_um / 0.5}).to_csv(
        tmp_path / "walk_px.csv", index=False)
    read = ["--columns", "track=TRACK,frame=t,x=px_x,y=px_y", "--format", "generic", "--position-units", "px",
            "--pixel-um", "0.5"]
    rmse = {}
    for name, extra in (("walk.parquet", []), ("walk_px.csv", read)):
        out = tmp_path / name.replace(".", "_")
        res = runner.invoke(app, ["compare", "--data", str(tmp_path / name), "--models", "mean", "--seeds", "1",
                                  "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        rmse[name] = pd.read_csv(out / "compare.csv").set_index("model").loc["zero", "rmse_um_mean"]
        spec = ResultStore(out / "results").records()[0]["spec"]
    assert spec["pixel_um"] == 0.5 and spec["read_options"] == {
        "columns": {"frame": "t", "track": "TRACK", "x": "px_x", "y": "px_y"}, "format": "generic",
        "position_units": "px"}
    assert rmse["walk_px.csv"] == pytest.approx(rmse["walk.parquet"], rel=1e-9)  # in um either way


def test_sweep_read_options_are_checked(tmp_path):
    from cellbench.sweep.spec import expand

    table = {"sweep": {"models": ["zero"], "datasets": ["preset:default"], "seeds": [0]}}
    with pytest.raises(ConfigError, match=r"x.toml: \[sweep\] read_options: --position-units 'furlong'"):
        expand({"sweep": {**table["sweep"], "read_options": {"position_units": "furlong"}}}, "x.toml")
    with pytest.raises(ConfigError, match=r"read_options must be a table of"):
        expand({"sweep": {**table["sweep"], "read_options": {"pixel_um": 0.5}}}, "x.toml")
    spec = expand({"sweep": {**table["sweep"], "read_options": {"position_units": "um"}}}, "x.toml").specs[0]
    assert spec.to_dict()["read_options"] == {"position_units": "um"}
    assert "read_options" not in expand(table, "x.toml").specs[0].to_dict()  # keys of older sweeps unchanged
