"""The code version that keys sweep results: computing code counts, presentation code does not."""

import shutil
from pathlib import Path

import cellbench
from cellbench.sweep.store import code_version, source_files

ROOT = Path(cellbench.__file__).resolve().parents[1]


def _copy_tree(tmp_path: Path) -> Path:
    for pkg in ("cellbench", "simulators", "baselines"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_presentation_modules_are_left_out():
    files = {p.relative_to(ROOT).as_posix() for p in source_files(ROOT)}
    assert "cellbench/pipeline.py" in files and "simulators/_kernels.py" in files
    assert "cellbench/leaderboard_pages.py" not in files and "cellbench/commands/run.py" not in files


def test_version_follows_computing_code_only(tmp_path):
    root = _copy_tree(tmp_path)
    v0 = code_version(root)
    assert code_version(root) == v0
    (root / "cellbench" / "leaderboard_pages.py").write_text("# a table layout change\n", encoding="utf-8")
    assert code_version(root) == v0
    with (root / "cellbench" / "metrics.py").open("a", encoding="utf-8") as f:
        f.write("\n# a change to how results are computed\n")
    assert code_version(root) != v0
