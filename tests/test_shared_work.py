"""The references' work shared between runs on the same data (cellbench.evaluation.shared_work):
cached or not, the numbers are the same; a different dataset, split or option never hits the cache."""

from __future__ import annotations

import json

import pytest

import cellbench.sim
from cellbench.data.dataset import build_dataset
from cellbench.evaluation.shared_work import REFERENCE_SEED, SHARED, SharedWork, work_seed
from cellbench.runs.dynamics import dynamics_sections, probe_outputs
from cellbench.runs.pipeline import RunConfig, run
from cellbench.runs.simulated import SimTruth
from cellbench.train.build import build
from tests.helpers import random_walk_tracks

SMALL = {"n_cells": 60, "box_um": 90.0, "fov_um": None, "n_frames": 60, "n_equil_steps": 200, "record_every": 40}


@pytest.fixture(scope="module")
def sim_data():
    r = cellbench.sim.simulate("default", 2, SMALL)
    return build_dataset([r.tracks], truths=[SimTruth(r.truth, r.pairs, r.meta, "")])


def _fitted(data, seed, names=("ar", "zero", "const-velocity", "oracle")):
    out = {}
    for n in names:
        m = build(n).fit(data, seed=seed)
        out[n] = (m, m.predict(data))
    return out


class Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"value": self.calls}


def test_only_shared_names_are_cached_and_a_second_lookup_does_not_recompute(sim_data, tmp_path):
    work = SharedWork(sim_data, tmp_path)
    f = Counting()
    assert work.get("zero", "x", (1, 2), f) == work.get("zero", "x", (1, 2), f) == {"value": 1}
    assert f.calls == 1
    g = Counting()
    work.get("physattn", "x", (1, 2), g)
    work.get("physattn", "x", (1, 2), g)
    assert g.calls == 2, "the run's own model is never shared"
    assert "physattn" not in SHARED and {"zero", "const-velocity", "oracle"} <= SHARED


def test_another_option_or_another_dataset_misses_the_cache(sim_data, tmp_path):
    f = Counting()
    SharedWork(sim_data, tmp_path).get("oracle", "rollouts", (1,), f)
    SharedWork(sim_data, tmp_path).get("oracle", "rollouts", (2,), f)
    SharedWork(sim_data, tmp_path).get("oracle", "other", (1,), f)
    assert f.calls == 3
    moved = sim_data.seqs[0].tracks
    df = moved.df.copy()
    df.loc[df.index[0], "x_um"] += 1e-9  # one coordinate of one row
    other = build_dataset([moved.with_df(df)], truths=[sim_data.seqs[0].truth])
    SharedWork(other, tmp_path).get("oracle", "rollouts", (1,), f)
    assert f.calls == 4
    resplit = build_dataset([moved], truths=[sim_data.seqs[0].truth], fractions=(0.6, 0.2, 0.2))
    SharedWork(resplit, tmp_path).get("oracle", "rollouts", (1,), f)
    assert f.calls == 5


def test_a_damaged_cache_file_is_recomputed(sim_data, tmp_path):
    f = Counting()
    SharedWork(sim_data, tmp_path).get("zero", "x", (), f)
    for p in tmp_path.glob("*.pkl"):
        p.write_bytes(b"not a pickle")
    assert SharedWork(sim_data, tmp_path).get("zero", "x", (), f) == {"value": 2}


def test_the_switch_turns_the_cache_off(sim_data, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLBENCH_SHARED_CACHE", "0")
    f = Counting()
    SharedWork(sim_data, tmp_path).get("zero", "x", (), f)
    SharedWork(sim_data, tmp_path).get("zero", "x", (), f)
    assert f.calls == 2 and not list(tmp_path.iterdir())


def test_references_draw_with_the_reference_seed_whatever_the_run_seed():
    assert work_seed("zero", 7) == REFERENCE_SEED
    assert work_seed("ar", 7) == 7


def test_cached_cold_warm_and_uncached_sections_are_identical(sim_data, tmp_path):
    """Two training seeds share the references' numbers; the model's own still follow its seed."""
    def sections(seed, work):
        dyn, _ = dynamics_sections(_fitted(sim_data, seed), sim_data, (1, 2, 4), seed=seed, shared=work)
        probes, _ = probe_outputs(_fitted(sim_data, seed), sim_data, shared=work)
        return json.loads(json.dumps({**dyn, **probes}, default=str))

    cold = sections(0, SharedWork(sim_data, tmp_path))
    n_files = len(list(tmp_path.glob("*.pkl")))
    assert n_files > 0
    warm = sections(0, SharedWork(sim_data, tmp_path))
    off = sections(0, SharedWork.off(sim_data))
    assert cold == warm == off
    assert len(list(tmp_path.glob("*.pkl"))) == n_files
    seed1 = sections(1, SharedWork(sim_data, tmp_path))
    for name in ("zero", "const-velocity", "oracle"):
        assert seed1["rollout"]["models"][name] == cold["rollout"]["models"][name]
        assert seed1["probes"]["models"][name] == cold["probes"]["models"][name]
    for name in ("zero", "const-velocity"):
        assert seed1["distribution"]["models"][name] == cold["distribution"]["models"][name]
    # ar's sampled rollouts draw with the run's seed
    assert seed1["rollout"]["models"]["ar"]["energy_score_um"] != cold["rollout"]["models"]["ar"]["energy_score_um"]


def test_a_run_without_files_writes_only_its_metrics(tmp_path):
    path = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=10, n_frames=40, seed=1).save(path)
    cfg = RunConfig(model="ar", data=(str(path),))
    lean = run(cfg, tmp_path / "lean", files=False)
    full = run(cfg, tmp_path / "full")
    assert sorted(p.name for p in lean.out_dir.iterdir()) == ["config.json", "metrics.json", "timing.json"]
    assert {"predictions.parquet", "rollout.png"} <= {p.name for p in full.out_dir.iterdir()}
    assert (lean.out_dir / "metrics.json").read_bytes() == (full.out_dir / "metrics.json").read_bytes()
