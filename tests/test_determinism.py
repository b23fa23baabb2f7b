"""The same seed gives byte-identical metrics.json and predictions.parquet, for every model.

Wall-clock numbers live in timing.json, so metrics.json itself can be compared byte for byte.
"""

from __future__ import annotations

import pytest

from cellbench.models.registry import MODELS
from cellbench.runs.pipeline import RunConfig, run
from tests.helpers import random_walk_tracks

FAST = {"train": {"epochs": 2}, "hidden": 8}


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    path = tmp_path_factory.mktemp("det") / "walk.parquet"
    random_walk_tracks(n_tracks=12, n_frames=40, seed=5).save(path)
    return path


@pytest.mark.parametrize("model", sorted(n for n, e in MODELS.items() if not e.needs_truth))
def test_same_seed_same_bytes(model, walk, tmp_path):
    options = FAST if MODELS[model].kind == "learned" else {}
    cfg = RunConfig(model=model, data=(str(walk),), seed=3, model_options=options)
    a = run(cfg, tmp_path / "a").out_dir
    b = run(cfg, tmp_path / "b").out_dir
    for name in ("metrics.json", "predictions.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{model}: {name} differs between two runs"
    assert "seconds" not in (a / "metrics.json").read_text()
    assert "total_seconds" in (a / "timing.json").read_text()


def test_a_run_folder_holding_another_run_is_refused(walk, tmp_path):
    from cellbench.errors import ConfigError

    out = tmp_path / "r"
    run(RunConfig(model="ar", data=(str(walk),)), out)
    run(RunConfig(model="ar", data=(str(walk),)), out)  # the same run: rewritten in place
    with pytest.raises(ConfigError, match="holds another run"):
        run(RunConfig(model="zero", data=(str(walk),)), out)
    assert '"model": "ar"' in (out / "metrics.json").read_text()  # nothing lost
    run(RunConfig(model="zero", data=(str(walk),)), out, overwrite=True)
    assert '"model": "zero"' in (out / "metrics.json").read_text()
