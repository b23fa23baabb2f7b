"""The model registry: metadata without torch, one build path, plug-ins, and copies nobody keeps."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cellbench.errors import ConfigError
from cellbench.models import registry
from cellbench.models.registry import KINDS, MODELS

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torch_geometric")


def _imported_after(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; which of :data:`HEAVY` it imported."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["tracks", "info", "--help"], ["run", "--help"]],
                         ids=" ".join)
def test_cli_help_imports_no_torch(args):
    code = ("from typer.testing import CliRunner\nfrom cellbench.cli import app\n"
            f"res = CliRunner().invoke(app, {args!r}, terminal_width=400)\nassert res.exit_code == 0, res.output\n"
            f"assert {args != ['run', '--help']} or 'physattn' in res.output")
    assert _imported_after(code) == []


def test_listing_models_and_leaderboard_constants_import_no_torch():
    code = ("from cellbench.models import registry\nimport cellbench.leaderboard.synthetic\n"
            "assert registry.names('learned') and registry.entry('physattn').defaults")
    assert _imported_after(code) == []


def test_a_reference_run_imports_no_torch(tmp_path):
    """Torch and PyG are imported only when a learned model is built."""
    from tests.helpers import random_walk_tracks

    path = tmp_path / "walk.parquet"
    random_walk_tracks(n_tracks=6, n_frames=40, seed=1).save(path)
    code = ("from cellbench.runs.pipeline import RunConfig, run\n"
            f"run(RunConfig(model='ar', data=({str(path)!r},)), {str(tmp_path / 'run')!r})")
    assert _imported_after(code) == []
    assert (tmp_path / "run" / "metrics.json").is_file()


@pytest.mark.parametrize("name", list(MODELS))
def test_every_entry_has_metadata_and_a_factory(name):
    from cellbench.models.net import GraphTemporalNet, NetConfig

    e = MODELS[name]
    assert e.kind in KINDS and e.summary and "\n" not in e.summary
    factory = e.load()
    if e.kind != "learned":
        assert hasattr(factory, "fit") and hasattr(factory, "predict")
        return
    assert issubclass(factory, GraphTemporalNet)
    net = factory(NetConfig(n_features=5, hidden=8))
    # creation order decides the initial weights: encoder -> convs -> (mlp) -> lstm -> head
    expected = ["encoder", "convs", "lstm", "head"] if len(net.convs) else ["encoder", "convs", "mlp", "lstm", "head"]
    assert list(dict(net.named_children())) == expected


def test_flags_say_which_networks_take_the_prior():
    takes_prior = {n for n in registry.names("learned") if MODELS[n].load().supports_edge_bias}
    assert takes_prior == {"physattn"}


def test_physattn_registry_defaults_agree_with_the_learned_model():
    """The registry is where physattn's defaults are read (leaderboards); LearnedModel's own
    defaults for the same options must not say otherwise."""
    from cellbench.train.learned import LearnedModel
    from cellbench.train.build import build

    defaults = MODELS["physattn"].defaults
    params = inspect.signature(LearnedModel).parameters
    for key, value in defaults.items():
        if key != "train":
            assert params[key].default == value, key
    m = build("physattn", train={"epochs": 3})
    assert (m.gamma, m.prior_bias, m.prior_transform) == (defaults["gamma"], defaults["prior_bias"],
                                                          defaults["prior_transform"])
    assert (m.train_cfg.epochs, m.train_cfg.eta_max) == (3, defaults["train"]["eta_max"])
    assert build("physattn", train={"eta_max": 0.0}).train_cfg.eta_max == 0.0
    assert build("transformer", gamma=2.0, prior_transform="abs").train_cfg.eta_max == 0.0  # no prior: no KL


def test_unknown_model_names_the_registered_ones():
    from cellbench.train.build import build

    with pytest.raises(ConfigError, match="physattn"):
        build("nope")


def test_a_plugin_is_one_class_and_one_registration(monkeypatch):
    """A new network: a GraphTemporalNet subclass with init_conv, registered with the decorator,
    then built by name and trained by the one loop like every built-in model."""
    from torch_geometric.nn import GATv2Conv

    from cellbench.data.dataset import build_dataset
    from cellbench.models.net import GraphTemporalNet
    from cellbench.train.build import build
    from tests.helpers import random_walk_tracks

    monkeypatch.setattr(registry, "MODELS", dict(MODELS))

    @registry.register("gatv2", "two GATv2Conv blocks + track LSTM (test plug-in)")
    class GATv2Net(GraphTemporalNet):
        conv = "gatv2"

        def init_conv(self, in_channels, out_channels, heads, edge_dim):
            return GATv2Conv(in_channels, out_channels, heads=heads, edge_dim=edge_dim, add_self_loops=False)

    with pytest.raises(ValueError, match="twice"):
        registry.register("gatv2", "again")(GATv2Net)
    assert "gatv2" in registry.names("learned") and "gatv2" not in MODELS  # the real registry is untouched
    data = build_dataset([random_walk_tracks(n_tracks=8, n_frames=40, seed=3)])
    model = build("gatv2", hidden=8, train={"epochs": 1}).fit(data, seed=0)
    pred = model.predict(data)[0]
    assert pred.shape == (data.seqs[0].tracks.n_rows, 2) and np.isfinite(pred).all()
    assert model.config()["conv"] == "gatv2" and model.attention_table(data) is not None


def _constant(node):
    return node.value if isinstance(node, ast.Constant) else None


def test_leaderboards_keep_no_copy_of_the_model_list_or_defaults():
    """No literal list of registered names, no literal dict of physattn's defaults in leaderboard/."""
    import cellbench.leaderboard.synthetic as synthetic
    import cellbench.leaderboard.tables as tables

    assert synthetic.LEARNED == registry.names("learned")
    assert tables.REFERENCE_MODELS == registry.names("reference", "oracle")
    assert synthetic.DEFAULT_PHYSATTN == MODELS["physattn"].flat_defaults
    defaults = MODELS["physattn"].flat_defaults
    for path in sorted((ROOT / "cellbench" / "leaderboard").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2:
                values = [_constant(e) for e in node.elts]
                assert not set(values) <= set(MODELS), f"{path.name}, line {node.lineno}: a copy of model names {values}"
            if isinstance(node, ast.Dict):
                same = [k for k, v in zip(node.keys, node.values)
                        if k is not None and _constant(k) in defaults and _constant(v) == defaults[_constant(k)]]
                assert len(same) < 2, f"{path.name}, line {node.lineno}: a copy of physattn's defaults"
