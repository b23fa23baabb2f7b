"""Every committed sweep configuration loads: models registered, options known, datasets present."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellbench.sweep import load_sweep
from cellbench.train.build import build, nest_options

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "leaderboards" / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_committed_sweep_config_loads(path, monkeypatch):
    if "hsc" in path.stem and not (path.parents[3] / "shared" / "data" / "bf-c2dl-hsc").exists():
        pytest.skip("the BF-C2DL-HSC tracks are not on this machine")
    monkeypatch.setenv("CELLBENCH_DATA", str(path.parents[3] / "shared" / "data"))  # as leaderboards/regenerate.sh
    cfg = load_sweep(path)
    assert cfg.specs, f"{path.name} expands to no run"
    for spec in {(s.model, s.model_options) for s in cfg.specs}:  # every option set builds (no fit)
        build(spec[0], **nest_options(dict(spec[1])))
