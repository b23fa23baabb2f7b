"""Outputs of ``cellbench simulate`` and ``cellbench run`` that a pure code move must leave identical.

Driven through the command line only, so the same code records the table before a restructure
and checks it afterwards. ``python -m tests.identity record`` (from the repository root) writes
``tests/data/identity.json``; :mod:`tests.test_identity` recomputes and compares.

- simulate: the sha256 of every data file ``cellbench simulate --preset P --seed 0`` writes (not its
  PNG plots: how a figure is drawn is presentation, and improving it must not count as a change of results).
- run: every number in ``metrics.json`` of ``cellbench run --model M --epochs 1 --seed 0`` on a
  small preset and on BF-C2DL-HSC_01, except wall-clock fields (their names end in ``seconds``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "data" / "identity.json"
HSC_01 = ROOT.parent / "shared" / "data" / "bf-c2dl-hsc" / "BF-C2DL-HSC_01_spots.csv"

PRESETS = ("free-abp", "passive-wca", "passive-yukawa", "abp-wca", "microwell-hsc", "vicsek-flock",
           "morse-adhesive", "default")
MODELS = ("zero", "const-velocity", "mean", "ar", "oracle", "lstm", "gat", "transformer", "physattn")
RUN_PRESET = "microwell-hsc"
TIMING_KEYS = ("seconds",)
NO_EXTRAS = ("--no-rollout", "--no-filtered-oracle", "--no-probes")
"""Sections added after the table was recorded (rollouts, the filtered oracle) are skipped: they add
minutes to these runs and no recorded value; tests/test_rollout_section.py and test_determinism cover them."""


def _cellbench(*args: str, env: dict | None = None) -> None:
    cmd = [sys.executable, "-c", "from cellbench.cli import main; main()", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"cellbench {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def simulate_hashes(preset: str, workdir: Path) -> dict[str, str]:
    """sha256 of every data file (not the PNGs) written by ``cellbench simulate --preset PRESET --seed 0``."""
    out = workdir / f"sim-{preset}"
    _cellbench("simulate", "--preset", preset, "--seed", "0", "--out", str(out))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())
            if p.is_file() and p.suffix != ".png"}


def _strip_timing(obj):
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if not k.endswith(TIMING_KEYS)}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def run_metrics(model: str, data: str, workdir: Path) -> dict:
    """``metrics.json`` of a 1-epoch run of MODEL on DATA (seed 0), wall-clock fields removed."""
    out = workdir / f"run-{model}-{Path(data).stem}"
    env = {**os.environ, "CELLBENCH_CACHE": str(workdir / "cache")}
    _cellbench("run", "--model", model, "--data", data, "--epochs", "1", "--seed", "0", "--out", str(out),
               *NO_EXTRAS, env=env)
    return _strip_timing(json.loads((out / "metrics.json").read_text()))


def record() -> dict:
    table: dict = {"simulate": {}, "run": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for preset in PRESETS:
            table["simulate"][preset] = simulate_hashes(preset, work)
            print("simulate", preset, flush=True)
        for data in (RUN_PRESET, str(HSC_01)):
            key = Path(data).stem
            table["run"][key] = {}
            for model in MODELS:
                if model == "oracle" and data != RUN_PRESET:
                    continue
                table["run"][key][model] = run_metrics(model, data, work)
                print("run", key, model, flush=True)
    return table


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        sys.exit("usage: python -m tests.identity record")
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {TABLE}")
