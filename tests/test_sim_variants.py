"""Preset variants ``NAME[key=value,...]``: parsed, simulated, cached and named as what they are."""

from __future__ import annotations

import pytest

import cellbench.sim
from cellbench.errors import ConfigError
from cellbench.leaderboard.intervals import split_sim_seed
from cellbench.runs.simulated import is_preset, load_simulated
from cellbench.sim.engine import resolve_config
from cellbench.sim.variants import file_stem, split_variant

SMALL = "default[n_frames=6,n_cells=40]"
LONGER = "default[n_frames=30,n_cells=40]"


def test_a_variant_splits_into_its_preset_and_string_overrides():
    assert split_variant("default") == ("default", {})
    assert split_variant("abp-wca[n_frames=80, dt_s=0.01]") == ("abp-wca", {"n_frames": "80", "dt_s": "0.01"})


@pytest.mark.parametrize("bad,words", [("default[n_frames]", "key=value"), ("default[n_frames=1,n_frames=2]", "twice"),
                                       ("default[]", "no key=value")])
def test_malformed_variants_are_refused_with_the_name(bad, words):
    with pytest.raises(ConfigError, match=r"default\[") as err:
        split_variant(bad)
    assert words in str(err.value)


def test_a_variant_is_the_preset_with_its_fields_changed_and_keeps_its_name():
    name, cfg = resolve_config("default[n_frames=100]")
    assert name == "default[n_frames=100]"
    assert cfg.n_frames == 100
    base = cellbench.sim.PRESETS["default"]
    assert cfg.to_dict() | {"n_frames": base.n_frames} == base.to_dict()


def test_unknown_presets_and_keys_are_named():
    assert is_preset("default[n_frames=3]") and is_preset("default") and not is_preset("nope[n_frames=3]")
    with pytest.raises(ConfigError, match="nope"):
        resolve_config("nope[n_frames=3]")
    with pytest.raises(ConfigError, match="n_framez"):
        resolve_config("default[n_framez=3]")


def test_a_variant_is_simulated_cached_and_labelled_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLBENCH_CACHE", str(tmp_path))
    tracks, truth = load_simulated(SMALL, seed=1)
    assert tracks.meta.dataset == f"sim:{SMALL}:seed1"
    assert tracks.df["frame"].nunique() == 6
    folder = cellbench.sim.cached_dataset(SMALL, seed=1)
    assert folder.name.startswith(file_stem(SMALL) + "-seed1-") and "[" not in folder.name
    assert load_simulated(SMALL, seed=1)[0].df.equals(tracks.df)  # the cache, the same bytes
    assert split_sim_seed(tracks.meta.dataset) == (f"sim:{SMALL}", 1.0)


def test_a_sweep_takes_a_variant_as_a_preset_dataset(tmp_path):
    from cellbench.sweep.spec import expand

    cfg = {"sweep": {"models": ["zero"], "datasets": [f"preset:{SMALL}"], "seeds": [0], "sim_seeds": [0, 1]}}
    specs = expand(cfg, "t.toml").specs
    assert [(s.dataset, s.sim_seed) for s in specs] == [((f"preset:{SMALL}",), 0), ((f"preset:{SMALL}",), 1)]


def test_the_cli_names_a_variant_in_full(tmp_path, monkeypatch):
    """Brackets are not console markup: the run table and the simulate progress keep the variant's name."""
    from typer.testing import CliRunner

    from cellbench.cli import app

    monkeypatch.setenv("CELLBENCH_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    res = runner.invoke(app, ["simulate", "--preset", SMALL, "--out", str(tmp_path / "sim")])
    assert res.exit_code == 0, res.output
    assert f"simulating {SMALL}" in res.output
    res = runner.invoke(app, ["run", "--model", "zero", "--data", LONGER, "--no-rollout", "--no-probes",
                              "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert f"sim:{LONGER}:seed0" in res.output.replace("\n", "")


def test_the_boards_name_files_and_find_the_noise_floor_of_a_variant():
    from cellbench.leaderboard.tables import _preset_floor, dataset_slug

    assert dataset_slug("sim:default[n_frames=100]") == "sim_default_n_frames_100"
    slow = _preset_floor("sim:default[D_t_um2_per_s=0.4]:seed0")
    assert slow is not None and slow["D_t_um2_per_s"] == 0.4  # the variant's own config, not the preset's
    assert _preset_floor("sim:nope[n_frames=3]:seed0") is None


def test_a_variant_sets_a_field_of_view_with_spaces_between_its_numbers():
    """Commas separate a variant's keys, so a tuple field takes spaces (or commas with --set)."""
    from cellbench.sim.config import apply_overrides
    from cellbench.sim.presets import PRESETS
    from cellbench.sim.variants import variant_config

    cfg = variant_config("abp-wca[n_cells=458,box_um=300,fov_um=30 30 270 270]")
    assert (cfg.n_cells, cfg.box_um, cfg.fov_um) == (458, 300.0, (30.0, 30.0, 270.0, 270.0))
    assert apply_overrides(PRESETS["default"], {"fov_um": "1,2,3,4"}).fov_um == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(ConfigError, match="fov_um"):
        variant_config("abp-wca[fov_um=30 a 270 270]")
