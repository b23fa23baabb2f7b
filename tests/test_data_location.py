"""The data folder (--data-dir, CELLBENCH_DATA, default) and data:NAME resolution in sweeps and runs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.data.location import data_dir, resolve_data_arg, resolve_data_name
from cellbench.errors import ConfigError
from cellbench.runs.pipeline import RunConfig, load_data
from cellbench.sweep import load_sweep
from tests.helpers import random_walk_tracks

REPO = Path(__file__).resolve().parents[1]


def spots_file(root: Path, seq: str = "01") -> Path:
    """The layout of ../shared/data: <data>/bf-c2dl-hsc/BF-C2DL-HSC_<seq>_spots.csv (resolution only checks
    that the file exists; nothing here reads it)."""
    path = root / "bf-c2dl-hsc" / f"BF-C2DL-HSC_{seq}_spots.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not read by the resolver\n")
    return path


def fetched_file(root: Path, name: str = "BF-C2DL-HSC", seq: str = "01") -> Path:
    """The layout `cellbench data fetch` writes: <data>/<NAME>/<NAME>_<seq>.parquet (a real tracks table)."""
    path = root / name / f"{name}_{seq}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    random_walk_tracks(n_tracks=8, n_frames=60, seed=1).save(path)
    return path


def test_env_var_and_option(monkeypatch, tmp_path):
    env_csv = spots_file(tmp_path / "shared")
    monkeypatch.setenv("CELLBENCH_DATA", str(tmp_path / "shared"))
    assert resolve_data_name("data:BF-C2DL-HSC_01") == env_csv.resolve()
    fetched = fetched_file(tmp_path / "mine")
    assert resolve_data_name("data:BF-C2DL-HSC_01", tmp_path / "mine") == fetched.resolve()  # the option wins
    assert data_dir(tmp_path / "mine") == ((tmp_path / "mine").absolute(), "the data-dir option")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CELLBENCH_DATA", "shared")  # relative: from the current folder
    assert data_dir() == (tmp_path / "shared", "CELLBENCH_DATA")
    assert resolve_data_arg("default") == "default" and resolve_data_arg("x/y.csv") == "x/y.csv"


def test_default_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CELLBENCH_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == (tmp_path / ".cache" / "cellbench" / "data", "default")


def test_missing_name_names_the_folder_and_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.setenv("CELLBENCH_DATA", str(tmp_path / "empty"))
    with pytest.raises(ConfigError) as err:
        resolve_data_name("data:PhC-C2DL-PSC_02")
    text = str(err.value)
    assert f"the data folder {tmp_path / 'empty'} (from CELLBENCH_DATA)" in text
    assert str(tmp_path / "empty" / "PhC-C2DL-PSC" / "PhC-C2DL-PSC_02.parquet") in text
    assert "cellbench data fetch PhC-C2DL-PSC`" in text


def test_two_matches_are_refused_and_a_relative_path_picks_one(tmp_path):
    csv, parquet = spots_file(tmp_path), fetched_file(tmp_path)
    if os.path.samefile(csv.parent, parquet.parent):
        pytest.skip("case-insensitive file system: one dataset folder")
    with pytest.raises(ConfigError, match="several files .* data:BF-C2DL-HSC/BF-C2DL-HSC_01.parquet"):
        resolve_data_name("data:BF-C2DL-HSC_01", tmp_path)
    assert resolve_data_name("data:bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv", tmp_path) == csv.resolve()


@pytest.mark.parametrize("name, message", [("data:nosequence", "<DATASET>_<SEQUENCE>"),
                                           ("data:../outside/x.csv", "inside the data folder"),
                                           ("data:bf-c2dl-hsc/none.csv", "does not exist")])
def test_malformed_names(tmp_path, name, message):
    spots_file(tmp_path)
    with pytest.raises(ConfigError, match=message):
        resolve_data_name(name, tmp_path)


def sweep_toml(folder: Path, datasets: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(f'[sweep]\nmodels = ["zero"]\ndatasets = {datasets}\nseeds = [0]\n')
    return path


def test_sweep_names_resolve_like_paths_so_result_keys_stay(monkeypatch, tmp_path):
    """data:NAME expands to the spec (hence result key) of the same file given by its relative path."""
    one, two = spots_file(tmp_path / "shared" / "data", "01"), spots_file(tmp_path / "shared" / "data", "02")
    configs = tmp_path / "main" / "leaderboards" / "configs"
    by_path = load_sweep(sweep_toml(configs / "a", '[["../../../../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_02_spots.csv", '
                                                  '"../../../../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv"]]'))
    names = sweep_toml(configs / "b", '[["data:BF-C2DL-HSC_02", "data:BF-C2DL-HSC_01"]]')
    by_option = load_sweep(names, data_dir=tmp_path / "main" / ".." / "shared" / "data")
    monkeypatch.setenv("CELLBENCH_DATA", str(tmp_path / "shared" / "data"))
    by_env = load_sweep(names)
    assert by_path.specs[0].dataset == (str(two.resolve()), str(one.resolve()))
    assert [s.to_dict() for s in by_option.specs] == [s.to_dict() for s in by_path.specs] == \
           [s.to_dict() for s in by_env.specs]
    monkeypatch.setenv("CELLBENCH_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(ConfigError, match=r"s.toml: \[sweep\] datasets: data:BF-C2DL-HSC_02: not found .*"
                                          r"cellbench data fetch BF-C2DL-HSC`"):
        load_sweep(names)


def test_committed_hsc_configs_use_names():
    for name in ("hsc", "hsc-transfer", "hsc-sim2real"):
        text = (REPO / "leaderboards" / "configs" / f"{name}.toml").read_text()
        assert "data:BF-C2DL-HSC_01" in text and "shared/data" not in text.split("[sweep]")[1]


def test_run_reads_a_name_from_the_env_folder_and_the_option(monkeypatch, tmp_path):
    path = fetched_file(tmp_path / "data", "WALK")
    monkeypatch.setenv("CELLBENCH_DATA", str(tmp_path / "data"))
    data = load_data(RunConfig(model="zero", data=("data:WALK_01",)))
    assert data.seqs[0].tracks.df.equals(random_walk_tracks(n_tracks=8, n_frames=60, seed=1).df)
    monkeypatch.setenv("CELLBENCH_DATA", str(tmp_path / "nowhere"))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--model", "zero", "--data", "data:WALK_01", "--data-dir", str(tmp_path / "data"),
                                   "--no-rollout", "--no-probes", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "config.json").read_text())["data"] == [str(path.resolve())]
    res = CliRunner().invoke(app, ["run", "--model", "zero", "--data", "data:WALK_01"])
    assert res.exit_code == 2 and f"the data folder {tmp_path / 'nowhere'} (from CELLBENCH_DATA)" in res.stderr


def test_regenerate_sets_the_data_folder_from_any_folder(tmp_path):
    """leaderboards/regenerate.sh, with a stand-in `cellbench` that logs its data folder and arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log.txt"
    (bin_dir / "cellbench").write_text(f'#!/usr/bin/env bash\necho "$CELLBENCH_DATA $*" >> {log}\n')
    (bin_dir / "cellbench").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CELLBENCH_DATA"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    script = REPO / "leaderboards" / "regenerate.sh"
    subprocess.run(["bash", str(script), str(tmp_path / "results")], cwd=tmp_path, env=env, check=True)
    lines = log.read_text().splitlines()
    assert lines and all(line.startswith(f"{REPO}/../shared/data ") for line in lines)
    assert f"--audit {REPO}/../shared/data/bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv" in lines[-1]
    log.unlink()
    subprocess.run(["bash", str(script), str(tmp_path / "results")], cwd=tmp_path, env={**env, "CELLBENCH_DATA": "d"},
                   check=True)
    assert all(line.startswith(f"{tmp_path}/d ") for line in log.read_text().splitlines())
