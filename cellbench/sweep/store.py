"""Results store: one JSON file per run, named by a hash of (spec, data sha256, code version).

Files are written atomically, so a sweep killed at any moment (even SIGKILL) leaves every
finished result intact and no half-written file; re-running the sweep skips them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import cellbench
from cellbench.io import read_json, write_json


# Modules that only present finished results (tables, pages, the CLI): editing them must not
# invalidate a sweep's results, so they stay out of the code version.
PRESENTATION_ONLY = ("cellbench/leaderboard/", "cellbench/cli.py", "cellbench/commands/", "cellbench/simfit/report.py")


def code_version(root: Path | None = None) -> str:
    """Package version plus a hash of the contents of the Python sources that compute results.

    A content hash, not the git commit: committing a regenerated table or a README change does
    not invalidate finished results, while any change to the code that computes them does. The
    ``*.py`` files of the ``cellbench`` package under ``root`` (default: this checkout) count,
    except :data:`PRESENTATION_ONLY`.

    Only contents enter the hash, not paths: the sorted sha256 of every file. A pure move (same
    bytes, new folder) keeps the version, so it re-keys results only when a move also edits the
    file (its imports), and then once.
    """
    root = Path(cellbench.__file__).resolve().parents[1] if root is None else Path(root)
    digests = sorted(hashlib.sha256(path.read_bytes()).hexdigest() for path in source_files(root))
    h = hashlib.sha256("\n".join(digests).encode())
    return f"{cellbench.__version__}+src.{h.hexdigest()[:12]}"


def source_files(root: Path) -> list[Path]:
    """The ``*.py`` files under ``root/cellbench`` that enter :func:`code_version`, sorted."""
    files = []
    for path in sorted((root / "cellbench").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith(PRESENTATION_ONLY):
            files.append(path)
    return files


def git_commit() -> str:
    """Short git commit of the source tree ('' outside a git checkout), with '-dirty' if modified."""
    root = Path(cellbench.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return commit + ("-dirty" if commit and dirty else "")


def run_key(spec: dict, data_sha256: str, version: str) -> str:
    """Hex key (24 chars) of a run: sha256 of its canonical JSON description."""
    blob = json.dumps({"spec": spec, "data_sha256": data_sha256, "code_version": version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class ResultStore:
    """A folder of ``<key>.json`` result files."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def status(self, key: str) -> str | None:
        """'done', 'failed' or None when the run has no result yet (an unreadable file counts as none)."""
        p = self.path(key)
        if not p.exists():
            return None
        try:
            return read_json(p).get("status")
        except (json.JSONDecodeError, OSError):
            return None

    def write(self, key: str, record: dict) -> Path:
        path = self.path(key)
        write_json(path, {"key": key, **record})
        return path

    def records(self) -> list[dict]:
        """Every readable result record, sorted by key."""
        out = []
        for p in sorted(self.root.glob("*.json")):
            try:
                out.append(read_json(p))
            except (json.JSONDecodeError, OSError):
                continue
        return out
