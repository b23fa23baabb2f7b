"""With one training seed there is no interval over seeds: readings must not call a difference resolved."""

from __future__ import annotations

import pandas as pd

from cellbench.leaderboard.readme import _real_sentence
from cellbench.leaderboard.sim2real import sim2real_reading, sim2real_summary


def _runs(n_seeds: int) -> pd.DataFrame:
    rows = []
    for seed in range(n_seeds):
        rows += [{"dataset": "cells", "model": "physattn", "source": "real", "train_on": "real", "seed": seed,
                  "r2": 0.020 + 0.001 * seed},
                 {"dataset": "cells", "model": "physattn", "source": "like", "train_on": "sim+real", "seed": seed,
                  "r2": 0.010 + 0.001 * seed},
                 {"dataset": "cells", "model": "zero", "source": "real", "train_on": "real", "seed": seed, "r2": 0.0}]
    return pd.DataFrame(rows)


def test_one_seed_resolves_nothing_and_says_so():
    text = sim2real_reading(sim2real_summary(_runs(1)), "cells")
    assert "hurts physattn" not in text and "helps physattn" not in text
    assert "no difference the CIs can resolve" in text and "one seed, no interval" in text


def test_several_seeds_with_a_clear_gap_resolve_it():
    text = sim2real_reading(sim2real_summary(_runs(3)), "cells")
    assert "hurts physattn" in text


def test_the_real_sentence_falls_back_to_the_runs_bootstrap_with_one_seed():
    summary = pd.DataFrame([
        {"dataset": "cells", "label": "physattn", "metric": "r2", "train_fraction": 1.0, "mean": 0.02, "ci95": float("nan"), "n": 1},
        {"dataset": "cells", "label": "physattn", "metric": "boot_r2_halfwidth", "train_fraction": 1.0, "mean": 0.009,
         "ci95": float("nan"), "n": 1},
        {"dataset": "cells", "label": "zero", "metric": "r2", "train_fraction": 1.0, "mean": 0.0, "ci95": float("nan"), "n": 1}])
    text = _real_sentence(pd.DataFrame({"dataset": ["cells"]}), summary)
    assert "± 0.009 (one seed; 95 % moving-block bootstrap over test frames)" in text and "nan" not in text


def test_a_learned_model_above_the_oracle_is_flagged_and_otherwise_nothing_is_said():
    from cellbench.leaderboard.synthetic import above_oracle

    def summary(learned_r2: float, ci: float) -> pd.DataFrame:
        return pd.DataFrame([
            {"dataset": "sim:p", "label": "oracle", "metric": "r2", "train_fraction": 1.0, "mean": 0.015, "ci95": 0.002},
            {"dataset": "sim:p", "label": "egnn", "metric": "r2", "train_fraction": 1.0, "mean": learned_r2, "ci95": ci}])

    assert "no floor" in above_oracle(summary(0.07, float("nan")), "sim:p")
    assert "(one run)" in above_oracle(summary(0.07, float("nan")), "sim:p")
    assert above_oracle(summary(0.016, 0.004), "sim:p") == ""  # overlapping intervals: nothing to say
    assert above_oracle(summary(0.010, 0.001), "sim:p") == ""
