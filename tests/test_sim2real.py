"""Sim-to-real transfer: training on a simulation, fine-tuning on real data, the sweep axis and the table.

"Real" data here are small random-walk tables made by the tests; the simulation is a tiny
free-ABP preset TOML (10 cells, no interactions), so every run takes a second or two.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest
import torch

from cellbench.data.dataset import build_dataset
from cellbench.errors import ConfigError
from cellbench.runs.pipeline import RunConfig, run
from cellbench.runs.sim2real import pretraining_dataset, sim_seed_for, training_block_tracks
from cellbench.data.splits import frames_of
from tests.helpers import random_walk_tracks

import cellbench.sim  # noqa: E402
from cellbench.sim.preset_file import read_preset, write_preset  # noqa: E402

TINY = {"n_cells": 10, "box_um": 100.0, "n_frames": 20, "record_every": 20}
"""free ABPs, 10 cells in a 100-um box, 1-s frames: a fast stand-in for a fitted preset."""
FAST = {"train": {"epochs": 2}, "hidden": 8}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("s2r")
    walk = root / "walk.parquet"
    random_walk_tracks(n_tracks=10, n_frames=60, seed=3).save(walk)
    tiny = root / "tiny.toml"
    write_preset(dataclasses.replace(cellbench.sim.PRESETS["free-abp"], **TINY), tiny)
    return walk, tiny


def _run(walk, tiny, out, train_on, model="lstm", seed=0, **kw):
    cfg = RunConfig(model=model, data=(str(walk),), seed=seed, model_options=FAST, train_on=train_on,
                    sim_source=str(tiny), **kw)
    return run(cfg, out)


def test_sim_seed_derives_from_the_run_seed_and_differs_from_data_seeds():
    seeds = {sim_seed_for(s, q) for s in range(5) for q in range(2)}
    assert len(seeds) == 10 and sim_seed_for(0) == sim_seed_for(0)
    assert not seeds & set(range(100))  # never the small seeds of --sim-seed datasets


def test_pretraining_simulation_is_about_as_large_as_the_training_block(files):
    walk, tiny = files
    from cellbench.data.tracks import Tracks

    data = build_dataset([Tracks.load(walk)])
    pre = pretraining_dataset(data, str(tiny), run_seed=0)
    (seq,) = pre.sources
    real_train = data.seqs[0].masks["train"].sum()
    # 70 % of the simulation trains; it is cut at the first frame reaching train rows / 0.7, so it
    # exceeds that by less than one frame (10 cells); the TOML's 20 frames are too few: simulated longer
    assert seq["real_train_rows"] / 0.7 <= seq["sim_rows"] < seq["real_train_rows"] / 0.7 + 10
    assert seq["sim_frames"] > 20
    assert abs(pre.data.n_targets("train") - real_train) < 0.2 * real_train
    assert seq["sim_seed"] == sim_seed_for(0, 0)


def test_sim_and_sim_real_are_scored_on_the_real_test_block(files, tmp_path):
    walk, tiny = files
    real = _run(walk, tiny, tmp_path / "real", "real")
    for train_on in ("sim", "sim+real"):
        res = _run(walk, tiny, tmp_path / train_on, train_on)
        m = res.metrics
        assert m["train_on"] == train_on and m["dataset"] == real.metrics["dataset"]
        assert m["test"]["n_targets"] == real.metrics["test"]["n_targets"]
        assert m["references"] == real.metrics["references"]  # references: the real training block, unchanged
        assert np.isfinite(m["test"]["r2"]) and np.isfinite(m["sim2real"]["sim_test"]["r2"])
        pred = pd.read_parquet(tmp_path / train_on / "predictions.parquet")
        assert len(pred) == m["test"]["n_targets"]
        assert (tmp_path / train_on / "pretrained.pt").exists() == (train_on == "sim+real")
        cfg = json.loads((tmp_path / train_on / "config.json").read_text())
        assert (cfg["train_on"], cfg["sim_source"]) == (train_on, str(tiny))
    # the sim-only model never saw a real target: its scaler is the simulation's
    sim_cfg = json.loads((tmp_path / "sim" / "model.json").read_text())
    real_cfg = json.loads((tmp_path / "real" / "model.json").read_text())
    assert sim_cfg["scaler"] != real_cfg["scaler"]
    tuned_cfg = json.loads((tmp_path / "sim+real" / "model.json").read_text())
    assert tuned_cfg["scaler"] == real_cfg["scaler"]  # fine-tuning re-fits radius and scaler on real training data


def test_fine_tuning_starts_from_the_pretrained_weights(files, tmp_path, monkeypatch):
    walk, tiny = files
    import cellbench.train.learned as predictor

    calls = []
    original = predictor.fit

    def spy(model, frames, cfg, seed, **kw):
        calls.append({"init_state": kw.get("init_state"), "start": {k: v.clone() for k, v in model.state_dict().items()}})
        return original(model, frames, cfg, seed, **kw)

    monkeypatch.setattr(predictor, "fit", spy)
    res = _run(walk, tiny, tmp_path / "ft", "sim+real")
    pretrain, finetune = calls
    assert pretrain["init_state"] is None and finetune["init_state"] is not None
    saved = torch.load(tmp_path / "ft" / "pretrained.pt", weights_only=True)
    for k, v in saved.items():
        npt.assert_array_equal(finetune["init_state"][k].numpy(), v.numpy())
    # the pretrained weights are not the fresh initialization the fine-tuning net was built with
    assert any(not torch.equal(finetune["start"][k], saved[k]) for k in saved)
    assert res.metrics["training"]["best_epoch"] >= -1


def test_the_loop_loads_init_state_and_refuses_a_mismatch(files):
    walk, _ = files
    from cellbench.train.build import build
    from cellbench.data.tracks import Tracks
    from cellbench.train.loop import TrainConfig, fit

    data = build_dataset([Tracks.load(walk)])
    m = build("lstm", train={"epochs": 1}, hidden=8).fit(data, seed=0)
    frames = m._frames(data)
    state = {k: torch.full_like(v, 0.01) for k, v in m.net.state_dict().items()}
    fit(m.net, frames, TrainConfig(epochs=1, lr=0.0), seed=1, init_state=state)  # lr 0: stays at init_state
    for k, v in m.net.state_dict().items():
        npt.assert_array_equal(v.numpy(), state[k].numpy())
    wrong = build("lstm", train={"epochs": 1}, hidden=4).fit(data, seed=0).net.state_dict()
    with pytest.raises(ConfigError, match="shape"):
        fit(m.net, frames, TrainConfig(epochs=1), seed=1, init_state=wrong)


def test_like_fit_reads_only_training_block_frames(files, tmp_path, monkeypatch):
    walk, tiny = files
    seen = []
    cfg = read_preset(tiny)

    def fake_fit_preset(tracks):
        seen.append(tracks)
        return types.SimpleNamespace(config=cfg)

    monkeypatch.setitem(sys.modules, "cellbench.simfit", types.SimpleNamespace(fit_preset=fake_fit_preset))
    import cellbench.runs.sim2real as s2r

    monkeypatch.setattr(s2r, "_FIT_CACHE", {})
    res = run(RunConfig(model="lstm", data=(str(walk),), model_options=FAST, train_on="sim", sim_source="like"),
              tmp_path / "like")
    (tracks,) = seen
    blocks = res.metrics["sim2real"]["sequences"]
    assert blocks[0]["description"].startswith("fitted to the training block")
    from cellbench.data.tracks import Tracks

    data = build_dataset([Tracks.load(walk)])
    train_frames = set(frames_of(data.blocks, 0, "train").tolist())
    assert set(tracks.frames.tolist()) == train_frames  # every training frame, and nothing else
    later = set(frames_of(data.blocks, 0, "val").tolist()) | set(frames_of(data.blocks, 0, "test").tolist())
    assert not set(tracks.frames.tolist()) & later
    assert [i for i, _ in training_block_tracks(data)] == [0]


def test_train_on_is_for_learned_models_and_choices_are_checked(files, tmp_path):
    walk, tiny = files
    with pytest.raises(ConfigError, match="learned models only"):
        run(RunConfig(model="ar", data=(str(walk),), train_on="sim", sim_source=str(tiny)), tmp_path / "a")
    with pytest.raises(ConfigError, match="--train-on"):
        run(RunConfig(model="lstm", data=(str(walk),), train_on="simulation"), tmp_path / "b")
    with pytest.raises(ConfigError, match="--sim-source"):
        _run(walk, tmp_path / "missing.toml", tmp_path / "c", "sim")
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_cli_run_train_on_sim(files, tmp_path):
    from typer.testing import CliRunner

    from cellbench.cli import app

    walk, tiny = files
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["run", "--model", "lstm", "--data", str(walk), "--epochs", "1", "--train-on", "sim+real",
                                 "--sim-source", str(tiny), "--out", str(out)], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "trained on sim+real" in r.output and (out / "pretrained.pt").exists()
    bad = CliRunner().invoke(app, ["run", "--model", "lstm", "--data", str(walk), "--train-on", "both"])
    assert bad.exit_code == 2 and "real" in bad.output and "sim+real" in bad.output


# -- the sweep axis and the sim-to-real table -------------------------------------------------------

def test_a_real_spec_keeps_the_key_it_had_before_the_axis(files, tmp_path):
    from cellbench.sweep.spec import RunSpec
    from cellbench.sweep.store import run_key

    spec = RunSpec("lstm", ("walk.parquet",), 0)
    legacy = {"model": "lstm", "dataset": ("walk.parquet",), "seed": 0, "train_fraction": 1.0, "split": "time",
              "test_seq": None, "model_options": {}}
    assert spec.to_dict() == legacy
    assert run_key(spec.to_dict(), "sha", "v") == run_key(legacy, "sha", "v")
    sim = RunSpec("lstm", ("walk.parquet",), 0, train_on="sim+real", sim_source="microwell-hsc")
    assert run_key(sim.to_dict(), "sha", "v") != run_key(legacy, "sha", "v")
    assert sim.label == "lstm (sim microwell-hsc+real)"


def _sweep(tmp_path, walk, tiny, extra=""):
    from cellbench.sweep import load_sweep

    path = tmp_path / "s2r.toml"
    path.write_text(f'[sweep]\nmodels = ["zero", "lstm"]\ndatasets = ["{walk}"]\nseeds = [0, 1]\n'
                    f'train_on = ["real", "sim", "sim+real"]\nsim_source = "{tiny}"\n{extra}'
                    '[models.lstm]\nhidden = 8\n"train.epochs" = 1\n')
    return load_sweep(path)


def test_sweep_axis_applies_to_learned_models_only(files, tmp_path):
    walk, tiny = files
    cfg = _sweep(tmp_path, walk, tiny)
    kinds = sorted((s.model, s.train_on) for s in cfg.specs if s.seed == 0)
    assert kinds == [("lstm", "real"), ("lstm", "sim"), ("lstm", "sim+real"), ("zero", "real")]
    sim = next(s for s in cfg.specs if s.train_on == "sim")
    assert sim.to_dict()["sim_source_sha256"]  # the preset file's content is part of the key
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[sweep]\nmodels = ["lstm"]\ndatasets = ["{walk}"]\nseeds = [0]\ntrain_on = ["simulated"]\n')
    from cellbench.sweep import load_sweep

    with pytest.raises(ConfigError, match="train_on 'simulated'"):
        load_sweep(bad)


def test_sweep_with_the_axis_runs_and_the_table_equals_the_result_files(files, tmp_path):
    from cellbench.leaderboard.tables import fmt_mean_ci
    from cellbench.leaderboard.pages import hsc_page, sim2real_page, write_pages
    from cellbench.sweep import ResultStore
    from cellbench.sweep.runner import run_sweep

    walk, tiny = files
    cfg = _sweep(tmp_path, walk, tiny)
    summary = run_sweep(cfg, tmp_path / "res", n_workers=2)
    assert (summary.done, summary.failed) == (len(cfg.specs), 0), summary.errors
    records = ResultStore(tmp_path / "res").records()
    page = sim2real_page(records)
    label = "lstm[hidden=8,train.epochs=1]"
    for train_on, source in (("real", "real"), ("sim", "sim tiny"), ("sim+real", "sim tiny + real")):
        runs = [r for r in records if r["spec"]["model"] == "lstm" and r["spec"].get("train_on", "real") == train_on]
        assert len(runs) == 2 and all(r["metrics"]["test"]["n_targets"] == runs[0]["metrics"]["test"]["n_targets"] for r in runs)
        row = next(l for l in page.splitlines() if l.startswith(f"| {label} | {source} |"))
        for key in ("r2", "rmse_um", "skill_vs_zero"):
            v = [r["metrics"]["test"][key] for r in runs]
            sd = np.std(v, ddof=1)
            ci = 12.706 * sd / np.sqrt(2)  # Student's t, 1 degree of freedom
            assert fmt_mean_ci(np.mean(v), ci) in row
    by_seed = {t: {r["spec"]["seed"]: r["metrics"]["test"]["r2"] for r in records
                   if r["spec"]["model"] == "lstm" and r["spec"].get("train_on", "real") == t} for t in ("real", "sim+real")}
    d = [by_seed["sim+real"][k] - by_seed["real"][k] for k in (0, 1)]
    row = next(l for l in page.splitlines() if l.startswith(f"| {label} | sim tiny + real |"))
    assert row.rstrip(" |").endswith(fmt_mean_ci(np.mean(d), 12.706 * np.std(d, ddof=1) / np.sqrt(2)))
    for ref in ("zero", "const-velocity"):
        assert f"| {ref} | reference (real training block) | 2 |" in page
    assert "**Reading.**" in page and "In short: simulation pretraining measurably helps" in page
    written = write_pages(records, tmp_path / "lb")
    assert (tmp_path / "lb" / "sim-to-real.md") in written
    # the HSC page shows real-trained runs only, and links the sim-to-real page
    renamed = [{**r, "metrics": {**r["metrics"], "dataset": "BF-C2DL-HSC_walk"}} for r in records]
    hsc = hsc_page(renamed)
    assert "[sim-to-real.md](sim-to-real.md)" in hsc and f"| {label} |" in hsc and f"| {label} (sim" not in hsc
    again = run_sweep(cfg, tmp_path / "res", n_workers=1)
    assert again.skipped == len(cfg.specs)
