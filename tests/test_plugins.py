"""Models of one's own everywhere: installed entry points, --plugin modules and files on run, compare and
sweep (imported on every Dask worker), and the leaderboard showing them."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.errors import ConfigError
from cellbench.io import sha256_file
from cellbench.models import plugins, registry
from cellbench.models.registry import MODELS
from tests.helpers import random_walk_tracks

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_model.py"
FAST = ["--no-rollout", "--no-probes"]


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Every test starts from the built-in models and no plug-in imported, and leaves them so."""
    saved = dict(dict.items(MODELS))
    monkeypatch.setattr(plugins, "_STATE", plugins._PluginState())
    yield
    dict.clear(MODELS)
    dict.update(MODELS, saved)
    for name in [m for m in sys.modules if m.startswith(("examples", "cellbench_plugin_", "cbplug_"))]:
        del sys.modules[name]


@pytest.fixture
def walk(tmp_path):
    path = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=10, n_frames=60, seed=3).save(path)
    return path


def _installed(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
    """A distribution as pip leaves it in site-packages: ``<dist>-0.1.dist-info`` with METADATA and
    entry_points.txt (group cellbench.models), beside its modules."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[cellbench.models]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    for name, text in modules.items():
        (site / f"{name}.py").write_text(text)
    return site


HALF_STEP = '''
import numpy as np
from cellbench import register
from cellbench.data.targets import history_um

@register("ep-half", "half the last step (an entry-point plug-in of a test)", kind="fitted")
class HalfStep:
    def fit(self, data, seed=0):
        return self
    def predict(self, data):
        return [0.5 * np.nan_to_num(history_um(s.tracks, 1)[:, 0]) for s in data.seqs]
'''


def test_an_installed_entry_point_is_loaded_when_the_registry_lacks_a_name(tmp_path, monkeypatch, walk):
    site = _installed(tmp_path / "site", "cbplug", {"half": "cbplug_half"}, {"cbplug_half": HALF_STEP})
    monkeypatch.syspath_prepend(str(site))
    assert MODELS["zero"].kind == "reference" and "physattn" in MODELS
    assert plugins._STATE.scanned_path is None  # a built-in name never looks for plug-ins
    assert "ep-half" in MODELS and registry.entry("ep-half").kind == "fitted"
    assert "ep-half" in registry.names("fitted")
    # and the CLI runs it with no --plugin at all: the installed plug-in is found by name
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "--model", "ep-half", "--data", str(walk), "--out", str(out), *FAST])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "metrics.json").read_text())["model"] == "ep-half"


def test_a_broken_entry_point_is_named_with_its_distribution(tmp_path, monkeypatch):
    site = _installed(tmp_path / "site", "cbplug-broken", {"broken": "cbplug_broken"},
                      {"cbplug_broken": "raise RuntimeError('boom: a dependency is missing')\n"})
    monkeypatch.syspath_prepend(str(site))
    with pytest.warns(plugins.PluginWarning, match=r"'broken'.*broken = cbplug_broken.*cbplug-broken 0\.1.*boom"):
        names = registry.names()
    assert "physattn" in names  # the built-in models stay usable
    with pytest.raises(ConfigError, match=r"'nope' is unknown.*--plugin.*entry point 'broken = cbplug_broken'.*boom"):
        registry.entry("nope")


def test_plugin_as_module_and_as_file_through_the_run_command(tmp_path, walk):
    for k, plugin in enumerate(["examples.custom_model", str(EXAMPLE), "examples/custom_model.py"]):
        out = tmp_path / f"run{k}"
        res = runner.invoke(app, ["run", "--plugin", plugin, "--model", "ridge", "--data", str(walk), "--out", str(out),
                                  *FAST])
        assert res.exit_code == 0, res.output  # the same file twice (module, then path) registers once
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["model"] == "ridge" and np.isfinite(metrics["test"]["r2"])
        assert "zero" in metrics["references"]
    config = json.loads((out / "config.json").read_text())
    assert config["model_config"]["n_lags"] == 3 and config["model_config"]["r_cut_um"] > 0


def test_the_ridge_example_learns_a_linear_dynamics():
    """On tracks whose next step is exactly 0.8 x the last, the ridge recovers it (R^2 near 1)."""
    from cellbench.data.dataset import build_dataset
    from cellbench.data.tracks import Tracks, TracksMeta
    from cellbench.models.plugins import load_plugins
    from cellbench.train.build import build
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    for tid in range(12):
        pos, step = rng.uniform(0, 300, 2), rng.normal(0, 3, 2)
        for f in range(50):
            rows.append((tid, f, *pos))
            step = 0.8 * step + (rng.normal(0, 3, 2) if f % 10 == 0 else 0)  # rare kicks keep it moving
            pos = pos + step
    tracks = Tracks.from_table(pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"]), TracksMeta("ar08"))
    data = build_dataset([tracks])
    assert load_plugins(["examples.custom_model"]) == ["ridge"]
    model = build("ridge", alpha=1e-6).fit(data, seed=0)
    pred = data.gather(model.predict(data), "test")
    true = data.targets("test")
    r2 = 1 - ((pred - true) ** 2).sum() / ((true - true.mean(0)) ** 2).sum()
    assert r2 > 0.9  # kicks every 10th frame are unpredictable; the rest is 0.8 x the last step


def test_bad_plugins_are_clear_errors(tmp_path):
    bad = tmp_path / "bad_plugin.py"
    bad.write_text("raise ImportError('needs sklearn')\n")
    for plugin, message in [("no_such_module_xyz", "no module of that name"), (str(tmp_path / "missing.py"), "no such file"),
                            (str(bad), "importing the plug-in failed: ImportError: needs sklearn"),
                            ("not a module", "not a module name")]:
        res = runner.invoke(app, ["run", "--plugin", plugin, "--model", "zero"])
        assert res.exit_code == 2, res.output
        assert f"error: --plugin {plugin!r}: {message}" in res.output
    res = runner.invoke(app, ["run", "--model", "ridge", "--data", "default"])
    assert res.exit_code == 2 and "'ridge' is unknown" in res.output
    with pytest.raises(ConfigError, match=r"'ridge' is unknown.*--plugin MODULE or --plugin FILE.py"):
        registry.entry("ridge")


def _sweep_toml(folder: Path, extra: str = "") -> Path:
    path = folder / "sweep.toml"
    path.write_text(f'[sweep]\nmodels = ["ridge"]\ndatasets = ["walk.parquet"]\nseeds = [0, 1]\nrollout = false\n'
                    f'probes = false\n{extra}')
    return path


def test_sweep_spec_loads_plugins_before_checking_names_and_keys_their_source(tmp_path, walk):
    from cellbench.sweep import load_sweep

    with pytest.raises(ConfigError, match=r"model 'ridge' is unknown.*--plugin"):
        load_sweep(_sweep_toml(tmp_path))
    shutil.copy(EXAMPLE, tmp_path / "my_model.py")
    cfg = load_sweep(_sweep_toml(tmp_path, 'plugins = ["my_model.py"]\n'))  # relative to the TOML file
    assert cfg.plugins == (str(tmp_path / "my_model.py"),) and len(cfg.specs) == 2
    assert cfg.specs[0].to_dict()["model_sha256"] == sha256_file(tmp_path / "my_model.py")
    from cellbench.sweep.spec import RunSpec

    assert "model_sha256" not in RunSpec("ar", ("x",), 0).to_dict()  # built-in models: keys as before


def test_plugin_model_in_a_dask_sweep_and_on_the_leaderboard(tmp_path, walk):
    """The worker processes import the plug-in themselves: without it they would not know 'ridge'."""
    from cellbench.sweep import ResultStore, load_sweep
    from cellbench.sweep.runner import run_sweep

    shutil.copy(EXAMPLE, tmp_path / "my_model.py")
    cfg = load_sweep(_sweep_toml(tmp_path, 'plugins = ["my_model.py"]\n'))
    summary = run_sweep(cfg, tmp_path / "res", n_workers=1)
    assert (summary.done, summary.failed) == (2, 0), summary.errors
    records = ResultStore(tmp_path / "res").records()
    assert {r["spec"]["model"] for r in records} == {"ridge"}
    res = runner.invoke(app, ["leaderboard", str(tmp_path / "res"), "--out", str(tmp_path / "lb")])
    assert res.exit_code == 0, res.output
    md = next((tmp_path / "lb").glob("*.md")).read_text()
    assert "| ridge |" in md and "| zero |" in md


def test_sweep_and_compare_commands_take_plugin(tmp_path, walk):
    res = runner.invoke(app, ["sweep", str(_sweep_toml(tmp_path)), "--plugin", "examples.custom_model",
                              "--results", str(tmp_path / "res"), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "2 done" in res.output
    res = runner.invoke(app, ["compare", "--plugin", "examples/custom_model.py", "--models", "ridge", "--data", str(walk),
                              "--seeds", "2", "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert "| ridge |" in res.output and "| ridge - ar (paired) |" in res.output
