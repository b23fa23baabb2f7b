"""The public Python API: lazily re-exported from ``cellbench``, documented, and its example runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ["read_tracks", "simulate", "run", "RunConfig", "compare", "CompareConfig", "register", "load_plugins", "Tracks"]


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_import_cellbench_stays_cheap_and_every_public_name_resolves():
    heavy = ["torch", "pandas", "numba", "scipy", "matplotlib", "dask"]
    code = (f"import cellbench, json, sys\nbefore = [m for m in {heavy!r} if m in sys.modules]\n"
            "names = {n: bool(getattr(cellbench, n).__doc__) for n in cellbench.__all__ if n != '__version__'}\n"
            "print(json.dumps([before, names, 'compare' in dir(cellbench)]))")
    before, documented, listed = json.loads(_fresh(code))
    assert before == []  # `import cellbench` imports none of them
    assert set(API) <= set(documented) and listed
    undocumented = [n for n, ok in documented.items() if not ok]
    assert not undocumented, f"public names without a docstring: {undocumented}"


def test_the_api_objects_are_the_library_ones():
    import cellbench
    from cellbench.leaderboard.compare_table import compare
    from cellbench.models.registry import register
    from cellbench.runs.pipeline import RunConfig, run

    assert (cellbench.run, cellbench.RunConfig, cellbench.compare, cellbench.register) == (run, RunConfig, compare, register)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cellbench.nope


def test_api_quickstart_example_runs(tmp_path):
    """examples/api_quickstart.py end to end: simulate, read, run, register, compare."""
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "api_quickstart.py"), str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "simulated" in res.stdout and "AR test R2" in res.stdout
    assert "| half-step | 2 |" in res.stdout and "| half-step - ar (paired) | 2 |" in res.stdout
    assert (tmp_path / "run-ar" / "metrics.json").exists()
    assert {"compare.md", "compare.csv", "compare.png"} <= {p.name for p in (tmp_path / "compare").iterdir()}
