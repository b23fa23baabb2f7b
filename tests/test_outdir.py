"""Output folders never mix two runs: refused, rewritten in place, or cleared with --overwrite."""

from __future__ import annotations

import json

import pytest

from cellbench.errors import ConfigError
from cellbench.outdir import RunKind, claim_out_dir

KIND = RunKind(frozenset({"metrics.json", "config.json", "checkpoint.pt"}), identity="config.json")


def _same_as(cfg):
    return lambda path: json.loads(path.read_text()) == cfg


def _write_run(folder, cfg, files=("metrics.json", "checkpoint.pt")):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg))
    for f in files:
        (folder / f).write_text("x")


def test_new_or_empty_folders_are_used(tmp_path):
    assert claim_out_dir(tmp_path / "new", KIND, _same_as({})) == []
    (tmp_path / "empty").mkdir()
    assert claim_out_dir(tmp_path / "empty", KIND, _same_as({})) == []


def test_the_same_run_is_rewritten_in_place(tmp_path):
    _write_run(tmp_path / "r", {"model": "gat", "seed": 0})
    claim_out_dir(tmp_path / "r", KIND, _same_as({"model": "gat", "seed": 0}))
    assert list((tmp_path / "r").iterdir()) == []  # old files removed before the new ones are written


def test_another_run_is_refused_by_name(tmp_path):
    _write_run(tmp_path / "r", {"model": "gat", "seed": 0})
    with pytest.raises(ConfigError, match=r"--out .*r: holds another run \(checkpoint.pt, config.json, metrics.json\)"):
        claim_out_dir(tmp_path / "r", KIND, _same_as({"model": "zero", "seed": 0}))
    assert (tmp_path / "r" / "checkpoint.pt").exists()  # nothing lost


def test_overwrite_removes_only_that_runs_files(tmp_path):
    _write_run(tmp_path / "r", {"model": "gat", "seed": 0})
    (tmp_path / "r" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="files cellbench did not write \\(notes.txt\\)"):
        claim_out_dir(tmp_path / "r", KIND, _same_as({"model": "gat", "seed": 0}))
    left = claim_out_dir(tmp_path / "r", KIND, _same_as({"model": "zero"}), overwrite=True)
    assert left == ["notes.txt"] and sorted(p.name for p in (tmp_path / "r").iterdir()) == ["notes.txt"]


def test_a_damaged_identity_file_is_not_the_same_run(tmp_path):
    _write_run(tmp_path / "r", {})
    (tmp_path / "r" / "config.json").write_text("{trunc")
    with pytest.raises(ConfigError, match="another run"):
        claim_out_dir(tmp_path / "r", KIND, _same_as({}))


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        claim_out_dir(tmp_path / "f", KIND, _same_as({}))


def test_simulate_refuses_a_folder_holding_another_simulation(tmp_path):
    from typer.testing import CliRunner

    from cellbench.cli import app

    runner = CliRunner()
    out = tmp_path / "sim"
    args = ["simulate", "--preset", "microwell-hsc", "--set", "n_frames=20", "--out", str(out)]
    assert runner.invoke(app, [*args, "--seed", "1"]).exit_code == 0
    assert runner.invoke(app, [*args, "--seed", "1"]).exit_code == 0  # the same run: rewritten in place
    res = runner.invoke(app, [*args, "--seed", "2"])
    assert res.exit_code == 2 and "holds another run" in res.output and "--overwrite" in res.output
    assert '"seed": 1' in (out / "meta.json").read_text()  # nothing lost
    assert runner.invoke(app, [*args, "--seed", "2", "--overwrite"]).exit_code == 0
    assert '"seed": 2' in (out / "meta.json").read_text()
