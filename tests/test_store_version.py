"""The code version that keys sweep results: computing code counts, presentation code and paths do not."""

import shutil
from pathlib import Path

import cellbench
from cellbench.sweep.store import code_version, source_files

ROOT = Path(cellbench.__file__).resolve().parents[1]


def _copy_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "cellbench", tmp_path / "cellbench", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_presentation_modules_are_left_out():
    files = {p.relative_to(ROOT).as_posix() for p in source_files(ROOT)}
    assert "cellbench/runs/pipeline.py" in files and "cellbench/sim/engine.py" in files
    assert "cellbench/leaderboard/pages.py" not in files and "cellbench/commands/run.py" not in files


def test_version_follows_computing_code_only(tmp_path):
    root = _copy_tree(tmp_path)
    v0 = code_version(root)
    assert code_version(root) == v0
    (root / "cellbench" / "leaderboard" / "pages.py").write_text("# a table layout change\n", encoding="utf-8")
    assert code_version(root) == v0
    with (root / "cellbench" / "evaluation" / "pointwise.py").open("a", encoding="utf-8") as f:
        f.write("\n# a change to how results are computed\n")
    assert code_version(root) != v0


def test_pure_move_keeps_the_version(tmp_path):
    """Moving a file without changing its bytes does not re-key results."""
    root = _copy_tree(tmp_path)
    v0 = code_version(root)
    (root / "cellbench" / "evaluation" / "pointwise.py").rename(root / "cellbench" / "runs" / "pointwise_moved.py")
    assert code_version(root) == v0
