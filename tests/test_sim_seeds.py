"""Independent simulated trajectories: the ``sim_seeds`` sweep axis, its result keys, and leaderboard
intervals over simulation seeds (training seeds averaged within each), paired by (sim seed, seed).

The end-to-end sweep registers a tiny free-ABP preset (10 cells, 60 frames) in this process and
runs on an in-process Dask cluster (``processes=False``), so its worker threads see that preset;
worker processes would import ``cellbench.sim`` afresh and not know it.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cellbench.errors import ConfigError
from cellbench.leaderboard.synthetic import paired, synthetic_page
from cellbench.leaderboard.tables import collect, markdown_table, split_sim_seed, summarize, write_leaderboards
from cellbench.sweep import load_sweep
from cellbench.sweep.spec import RunSpec
from cellbench.sweep.store import run_key
from tests.helpers import random_walk_tracks

SHA = "ab" * 32
VERSION = "0.1.0+src.test"


# -- the sweep axis and the run key -----------------------------------------------------------------

@pytest.mark.parametrize("spec, key", [
    # keys computed with the RunSpec of commit 680ce62, before sim_seed existed
    (RunSpec("physattn", ("preset:default",), 3, 0.5, "time", None, (("gamma", 0.1),)), "5f2a83e13733933f07374ddb"),
    (RunSpec("lstm", ("/data/a.csv",), 1, 1.0, "time", None, (), "sim", "like", ""), "8b3e3659cfdeaeeffd72ba93"),
])
def test_a_spec_without_a_sim_seed_keeps_its_old_run_key(spec, key):
    assert "sim_seed" not in spec.to_dict()
    assert run_key(spec.to_dict(), SHA, VERSION) == key
    other = dataclasses.replace(spec, sim_seed=1)
    assert other.to_dict()["sim_seed"] == 1 and run_key(other.to_dict(), SHA, VERSION) != key


def _toml(tmp_path, datasets, extra=""):
    path = tmp_path / "sweep.toml"
    path.write_text(f'[sweep]\nmodels = ["zero", "ar"]\ndatasets = {json.dumps(datasets)}\nseeds = [0, 1]\n{extra}')
    return path


def test_sim_seeds_multiply_preset_runs_and_keep_the_keys_of_sim_seed_0(tmp_path):
    walk = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=10, n_frames=60, seed=3).save(walk)
    old = load_sweep(_toml(tmp_path, ["preset:default", "walk.parquet"]))
    new = load_sweep(_toml(tmp_path, ["preset:default", "walk.parquet"], "sim_seeds = [0, 1, 2]\n"))
    assert {s.sim_seed for s in old.specs} == {0} and len(old.specs) == 2 * 2 * 2
    preset = [s for s in new.specs if s.dataset == ("preset:default",)]
    tracks = [s for s in new.specs if s.dataset != ("preset:default",)]
    assert sorted({s.sim_seed for s in preset}) == [0, 1, 2] and len(preset) == 2 * 3 * 2
    assert {s.sim_seed for s in tracks} == {0} and len(tracks) == 2 * 2  # a tracks file is one trajectory
    # the sim-seed-0 runs of the new sweep are the old sweep's runs: their finished results are reused
    assert {json.dumps(s.to_dict(), sort_keys=True) for s in new.specs if s.sim_seed == 0} == \
           {json.dumps(s.to_dict(), sort_keys=True) for s in old.specs}


@pytest.mark.parametrize("value", ["[-1]", "[0, 0]", "[0.5]", '["1"]'])
def test_bad_sim_seeds_are_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="sim_seeds"):
        load_sweep(_toml(tmp_path, ["preset:default"], f"sim_seeds = {value}\n"))


# -- leaderboard intervals from hand-made records -----------------------------------------------------

def _record(model, dataset, sim_seed, seed, r2):
    spec = {"model": model, "dataset": [dataset], "seed": seed, "train_fraction": 1.0, "split": "time", "model_options": {}}
    if sim_seed:
        spec["sim_seed"] = sim_seed
    name = f"sim:{dataset.removeprefix('preset:')}:seed{sim_seed}" if dataset.startswith("preset:") else dataset
    return {"key": f"{model}-{name}-{seed}", "status": "done", "label": model, "spec": spec,
            "metrics": {"dataset": name, "split": "time", "test": {"r2": r2, "rmse_dx_um": 1 - r2}, "references": {}},
            "data_sha256": SHA, "code_version": "test", "finished_at": "2026-01-01T00:00:00"}


# r2[model][sim seed][training seed]: trajectories differ more than training seeds do
R2 = {"physattn": [[0.40, 0.42, 0.41], [0.50, 0.49, 0.51], [0.30, 0.33, 0.31]],
      "transformer": [[0.41, 0.42, 0.40], [0.52, 0.50, 0.50], [0.30, 0.35, 0.30]]}


def _t_interval(values):
    v = np.asarray(values, dtype=float)
    return v.mean(), stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))


def _records(n_sim=3):
    return [_record(m, "preset:default", q, s, R2[m][q][s]) for m in R2 for q in range(n_sim) for s in range(3)]


def test_cells_are_the_mean_and_interval_over_sim_seeds_of_training_seed_means():
    df = collect(_records())
    assert set(df.dataset) == {"sim:default"} and sorted(set(df.sim_seed)) == [0, 1, 2]
    s = summarize(df)
    row = s[(s.label == "physattn") & (s.metric == "r2")].iloc[0]
    mean, ci = _t_interval([np.mean(r) for r in R2["physattn"]])  # t with 2 degrees of freedom, not 8
    assert row["mean"] == pytest.approx(mean, rel=1e-12) and row["ci95"] == pytest.approx(ci, rel=1e-12)
    assert (row["n"], row["n_sim_seeds"], row["n_seeds"], row["interval"]) == (3, 3, 3, "sim_seeds")
    md = markdown_table(s, "sim:default")
    assert "95 % interval over 3 simulation seeds, training seeds averaged within each" in md
    assert "| seeds (sim x train) |" in md and "| physattn | 3 x 3 |" in md
    # a model run on one trajectory only keeps its interval over training seeds, and the line says so
    s = summarize(collect(_records() + [_record("ar", "preset:default", 0, q, 0.2 + 0.01 * q) for q in range(3)]))
    ar = s[(s.label == "ar") & (s.metric == "r2")].iloc[0]
    assert ar["interval"] == "seeds" and ar["ci95"] == pytest.approx(_t_interval([0.2, 0.21, 0.22])[1])
    md = markdown_table(s, "sim:default")
    assert "| ar | 1 x 3 |" in md and "Rows run on one simulation seed only: interval over their training seeds." in md

    # paired by (sim seed, training seed), then averaged within each sim seed, interval over sim seeds
    d = [np.mean([a - b for a, b in zip(ra, rb)]) for ra, rb in zip(R2["physattn"], R2["transformer"])]
    dm, dci = _t_interval(d)
    assert paired(df, "sim:default", "physattn", "transformer", "r2") == pytest.approx((dm, dci, 3), rel=1e-12)
    page = synthetic_page(_records())
    assert "paired by (simulation seed, training seed), interval over simulation seeds" in page
    assert "Intervals: 95 % interval over 3 simulation seeds, training seeds averaged within each; paired differences: paired by (simulation seed" in page


def test_one_sim_seed_falls_back_to_training_seeds_and_real_tables_stay_as_they_were():
    df = collect(_records(n_sim=1))
    s = summarize(df)
    row = s[(s.label == "physattn") & (s.metric == "r2")].iloc[0]
    mean, ci = _t_interval(R2["physattn"][0])
    assert row["mean"] == pytest.approx(mean) and row["ci95"] == pytest.approx(ci) and row["interval"] == "seeds"
    assert set(df.dataset) == {"sim:default:seed0"}  # one trajectory: the label names it, as before sim seeds
    md = markdown_table(s, "sim:default:seed0")
    assert "95 % interval over 3 training seeds, one trajectory" in md and "| physattn | 3 |" in md
    real = collect([_record("ar", "hsc.csv", 0, s, 0.01 * s) for s in range(3)])
    assert real.sim_seed.isna().all()
    md = markdown_table(summarize(real), "hsc.csv")
    assert "interval over" not in md and md.startswith("| model | seeds |")


def test_sim_seed_is_split_off_the_dataset_name():
    assert split_sim_seed("sim:default:seed2") == ("sim:default", 2.0)
    assert split_sim_seed("sim:a:seed1+sim:b:seed1") == ("sim:a+sim:b", 1.0)
    assert split_sim_seed("sim:a:seed0+sim:b:seed0 (train on the others, test on sim:b:seed0)") == \
           ("sim:a+sim:b (train on the others, test on sim:b)", 0.0)
    for name in ("BF-C2DL-HSC_02", "sim:x", "sim:a:seed0+sim:b:seed1", "sim:a:seed0+real"):
        out = split_sim_seed(name)
        assert out[0] == name and np.isnan(out[1])


# -- end to end: a tiny sweep over 2 models x 2 sim seeds x 2 training seeds -----------------------------

FAST = '[models.lstm]\nhidden = 8\n"train.epochs" = 2\n'


@pytest.fixture
def tiny_preset(monkeypatch, tmp_path):
    import cellbench.sim

    monkeypatch.setenv("CELLBENCH_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(cellbench.sim.PRESETS["free-abp"], n_cells=10, box_um=100.0, n_frames=60)
    monkeypatch.setitem(cellbench.sim.PRESETS, "tiny-test", cfg)
    return "tiny-test"


def test_tiny_sweep_over_sim_seeds_reaches_the_leaderboard(tmp_path, tiny_preset):
    from dask.distributed import LocalCluster

    import cellbench.sim
    from cellbench.io import sha256_file
    from cellbench.sweep import ResultStore
    from cellbench.sweep.runner import run_sweep

    torch = pytest.importorskip("torch")
    path = tmp_path / "sweep.toml"
    path.write_text(f'[sweep]\nmodels = ["zero", "lstm"]\ndatasets = ["preset:{tiny_preset}"]\nseeds = [0, 1]\n'
                    f"sim_seeds = [0, 1]\nrollout = false\nprobes = false\nfiltered_oracle = false\n{FAST}")  # one-step only
    cfg = load_sweep(path)
    assert len(cfg.specs) == 8
    threads = torch.get_num_threads()
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    try:
        summary = run_sweep(cfg, tmp_path / "res", scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
        torch.set_num_threads(threads)  # the worker thread set it for this whole process
    assert (summary.done, summary.failed) == (8, 0), summary.errors
    records = ResultStore(tmp_path / "res").records()

    for rec in records:  # each run saw the trajectory of its sim seed, and its key hashes that data
        q = rec["spec"].get("sim_seed", 0)
        assert rec["metrics"]["dataset"] == f"sim:{tiny_preset}:seed{q}"
        assert rec["data_sha256"] == sha256_file(cellbench.sim.cached_dataset(tiny_preset, seed=q) / "tracks.parquet")
    assert len({r["data_sha256"] for r in records}) == 2

    label = next(r["label"] for r in records if r["spec"]["model"] == "lstm")
    r2 = {(r["spec"].get("sim_seed", 0), r["spec"]["seed"]): r["metrics"]["test"]["r2"] for r in records if r["label"] == label}
    zero = {(r["spec"].get("sim_seed", 0), r["spec"]["seed"]): r["metrics"]["test"]["r2"] for r in records if r["label"] == "zero"}
    assert r2[0, 0] != r2[0, 1]  # training seeds differ, so averaging them within a sim seed matters
    mean, ci = _t_interval([np.mean([r2[q, 0], r2[q, 1]]) for q in (0, 1)])

    written = write_leaderboards(records, tmp_path / "lb")
    csv = pd.read_csv(next(p for p in written if p.suffix == ".csv"))
    row = csv[(csv.label == label) & (csv.metric == "r2")].iloc[0]
    assert row["mean"] == pytest.approx(mean, rel=1e-12) and row["ci95"] == pytest.approx(ci, rel=1e-12)
    assert (row["n_sim_seeds"], row["n_seeds"], row["interval"]) == (2, 2, "sim_seeds")
    md = next(p for p in written if p.suffix == ".md").read_text()
    assert f"# cellbench leaderboard: sim:{tiny_preset}" in md
    assert "95 % interval over 2 simulation seeds, training seeds averaged within each" in md

    d = [np.mean([r2[q, s] - zero[q, s] for s in (0, 1)]) for q in (0, 1)]
    df = collect(records)
    assert paired(df, f"sim:{tiny_preset}", label, "zero", "r2") == pytest.approx((*_t_interval(d), 2), rel=1e-12)
