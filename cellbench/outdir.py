"""Output folders that never mix two runs.

``cellbench run --out R`` and ``cellbench simulate --out R`` write a set of files of their
own kind. Writing into a folder that already holds another run would leave that run's files
(a checkpoint, attention tables) beside the new ones, and nothing would tell them apart.
:func:`claim_out_dir` decides before anything is computed:

- a missing or empty folder is used;
- a folder holding the same run (its identity file, e.g. ``config.json``, describes the same
  run) is rewritten in place: its files of this kind are removed first;
- anything else (another run, or files this kind of run does not write) is refused with the
  names of what is there, unless ``overwrite``: then the files of this kind are removed and
  files of other kinds are left alone (and named).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cellbench.errors import ConfigError


@dataclass(frozen=True)
class RunKind:
    """What one kind of run writes.

    files : names (files or folders) a run of this kind may write into its folder.
    identity : the file whose content identifies the run (compared by ``same_run``).
    option : the CLI option naming the folder, for messages.
    """

    files: frozenset[str]
    identity: str
    option: str = "--out"


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def claim_out_dir(folder: Path, kind: RunKind, same_run: Callable[[Path], bool], overwrite: bool = False,
                  remove: bool = True) -> list[str]:
    """Make ``folder`` ready for a run of ``kind``; returns the names of foreign files left in it.

    Parameters
    ----------
    same_run : called with the existing identity file; True when it describes the run about to
        be written (so rewriting it loses nothing).
    remove : False only checks (call it again with True when the new files are ready, so a
        run that fails on the way leaves the old one intact).

    Raises
    ------
    ConfigError
        naming the folder and its content, when it holds another run or foreign files and
        ``overwrite`` is False, or when ``folder`` is a file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{kind.option} {folder}: is a file, expected a folder")
    if not folder.exists():
        return []
    present = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    if not present:
        return []
    ours = [n for n in present if n in kind.files]
    foreign = [n for n in present if n not in kind.files]
    identity = folder / kind.identity
    same = identity.is_file() and not foreign and _same(same_run, identity)
    if not (same or overwrite):
        what = (f"another run ({_listing(ours)})" if identity.exists() else f"files of a run ({_listing(ours)})"
                if ours else "")
        if foreign:
            what = (what + " and " if what else "") + f"files cellbench did not write ({_listing(foreign)})"
        raise ConfigError(f"{kind.option} {folder}: holds {what}; choose an empty or new folder, or pass --overwrite "
                          "to remove that run's files first (other files are left alone)")
    for name in ours if remove else ():
        path = folder / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return foreign


def _same(same_run: Callable[[Path], bool], identity: Path) -> bool:
    try:
        return bool(same_run(identity))
    except (OSError, ValueError):  # unreadable or damaged: not known to be the same run
        return False
