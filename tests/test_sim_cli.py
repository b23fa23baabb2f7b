"""``cellbench simulate`` end to end on small runs."""

from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.sim import PRESETS

runner = CliRunner()


def test_list_prints_every_preset():
    res = runner.invoke(app, ["simulate", "--list"])
    assert res.exit_code == 0, res.output
    for name in PRESETS:
        assert name in res.output


def test_simulate_writes_a_run(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", "--preset", "microwell-hsc", "--seed", "1", "--out", str(out),
                              "--set", "n_frames=30", "--set", "potential.k_kT_per_um2=1.5", "--threads", "1"])
    assert res.exit_code == 0, res.output
    for name in ["tracks.parquet", "truth.parquet", "pairs.parquet", "meta.json", "trajectory.gsd", "snapshot.png",
                 "msd.png"]:
        assert (out / name).exists(), name
    assert '"k_kT_per_um2": 1.5' in (out / "meta.json").read_text()


def test_refuses_unknown_preset_keys_and_unphysical_values(tmp_path):
    for args, words in [
        (["--preset", "nope"], "unknown"),
        (["--set", "colour=blue"], "colour"),
        (["--set", "dt_s=-1"], "dt_s"),
        (["--set", "n_cells=100000"], "close packing"),
        (["--set", "novalue"], "key=value"),
    ]:
        res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x"), *args])
        assert res.exit_code == 2, (args, res.output)
        assert words in res.output, (args, res.output)
        assert "Traceback" not in res.output
