"""``cellbench leaderboard --check``: which committed tables were made by other code than this checkout's.

Every table page ends with a provenance line (:func:`cellbench.leaderboard.tables.provenance`) that
names the code version of the results under it (``code: 0.1.0+src.<hash>``, :func:`cellbench.version.code_version`,
a hash of the sources that compute results). A page is stale when any version it names differs from
the current code's, or when it names none: its numbers may no longer be what the code computes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cellbench.sweep.store import code_version

CODE_LINE = re.compile(r"\bcode: ([^;]+);")
"""The ``code: v1, v2;`` part of a provenance line."""


@dataclass(frozen=True)
class PageVersion:
    """One Markdown page of a leaderboard folder and the code versions its provenance lines name."""

    path: Path
    versions: tuple[str, ...]

    def stale(self, current: str) -> bool:
        return not self.versions or any(v != current for v in self.versions)


def page_versions(path: Path) -> PageVersion:
    """The code versions named on one page (every provenance line; ``-`` counts as none)."""
    found: list[str] = []
    for match in CODE_LINE.finditer(Path(path).read_text(encoding="utf-8")):
        found += [v.strip() for v in match.group(1).split(",") if v.strip() not in ("", "-")]
    return PageVersion(Path(path), tuple(dict.fromkeys(found)))


def check_folder(folder: Path, current: str | None = None) -> tuple[str, list[PageVersion]]:
    """``(current version, stale pages)`` of every ``*.md`` page in ``folder`` (sorted by name)."""
    current = current or code_version()
    pages = [page_versions(p) for p in sorted(Path(folder).glob("*.md"))]
    return current, [p for p in pages if p.stale(current)]
