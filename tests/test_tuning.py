"""The tuning budget (cellbench.runs.tuning): the same seeded draws for every model, defaults first, val only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cellbench.data.dataset import build_dataset
from cellbench.errors import ConfigError
from cellbench.runs.tuning import COMMON_SPACE, PRIOR_SPACE, draw, search_space, tune
from cellbench.train.build import nest_options
from tests.helpers import random_walk_tracks


def test_every_learned_model_gets_the_same_space_and_draws():
    assert search_space("lstm") == search_space("gat") == COMMON_SPACE
    assert search_space("physattn") == {**COMMON_SPACE, **PRIOR_SPACE}
    a, b = draw(COMMON_SPACE, 6, seed=3), draw(COMMON_SPACE, 6, seed=3)
    assert a == b and a[0] == {} and len(a) == 6
    assert draw(COMMON_SPACE, 6, seed=4) != a
    for opts in a[1:]:
        assert opts["hidden"] in COMMON_SPACE["hidden"][1]
        assert 1e-3 <= opts["train.lr"] <= 1e-2
    with pytest.raises(ConfigError, match="only learned"):
        search_space("ar")
    with pytest.raises(ConfigError, match="trials"):
        draw(COMMON_SPACE, 0, 0)


def test_nest_options():
    assert nest_options({"train.lr": 1e-3, "hidden": 8, "train.eta_max": 0.1}) == {
        "train": {"lr": 1e-3, "eta_max": 0.1}, "hidden": 8}


def test_tune_scores_on_validation_only_and_reports_every_trial(tmp_path):
    data = build_dataset([random_walk_tracks(n_tracks=8, n_frames=40, seed=2)])
    res = tune("lstm", data, trials=3, seed=0, epochs=2)
    d = json.loads(json.dumps(res.to_dict()))  # JSON-ready
    assert len(d["trials"]) == 3 and d["trials"][0]["options"] == {}
    assert d["best_trial"] == int(np.argmin([t["val_rmse_um"] for t in d["trials"]]))
    assert all(t["epochs_run"] <= 2 and np.isfinite(t["val_rmse_um"]) for t in d["trials"])
    # the score is the validation RMSE: hiding the test targets changes nothing
    blind = build_dataset([random_walk_tracks(n_tracks=8, n_frames=40, seed=2)])
    for s in blind.seqs:
        s.y_um[s.masks["test"]] = 1e6
    assert tune("lstm", blind, trials=1, seed=0, epochs=2).trials[0]["val_rmse_um"] == d["trials"][0]["val_rmse_um"]
