"""The installed package version and the code version of the sources that compute results; importable from every layer."""

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("cellbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

SOURCE_ROOT = Path(__file__).resolve().parents[1]
"""The folder holding the ``cellbench`` package of this checkout."""


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
    root = SOURCE_ROOT if root is None else Path(root)
    digests = sorted(hashlib.sha256(path.read_bytes()).hexdigest() for path in source_files(root))
    h = hashlib.sha256("\n".join(digests).encode())
    return f"{__version__}+src.{h.hexdigest()[:12]}"


def source_files(root: Path) -> list[Path]:
    """The ``*.py`` files under ``root/cellbench`` that enter :func:`code_version`, sorted."""
    files = []
    for path in sorted((root / "cellbench").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if not rel.startswith(PRESENTATION_ONLY):
            files.append(path)
    return files
