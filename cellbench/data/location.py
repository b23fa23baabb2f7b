"""The data folder, and dataset names resolved in it (``data:NAME``).

Sweep configs and the data of ``cellbench run`` refer to a tracks file in the data folder by name, so
the same config works on every machine whatever the folder's path.

The data folder
---------------
The first that is set: the command's data-dir option, the ``CELLBENCH_DATA`` environment variable
(a relative path is taken from the current folder), else ``~/.cache/cellbench/data`` (beside the
simulation cache ``~/.cache/cellbench/sim``). ``cellbench data fetch`` writes there.

Names
-----
``data:NAME`` where ``NAME`` is ``<DATASET>_<SEQ>`` (e.g. ``data:BF-C2DL-HSC_01``) is looked
up in the dataset's folder ``<data>/<DATASET>``, the folder name matched without regard to case,
as, in this order of names:

- ``<NAME>.parquet``: the canonical table written by ``cellbench data fetch``
  (``<data>/BF-C2DL-HSC/BF-C2DL-HSC_01.parquet``);
- ``<NAME>_spots.csv``: a TrackMate spots export (``<data>/bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv``).

Exactly one of them must exist; when several do, the error lists them, and ``data:REL`` with
a ``/`` in it names one file (or CTC folder) by its path under the data folder
(``data:bf-c2dl-hsc/BF-C2DL-HSC_01_spots.csv``). A name is returned as an absolute path with
symbolic links and ``..`` resolved, so a sweep's result keys do not depend on how the data
folder was spelled.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from cellbench.errors import ConfigError

DATA_ENV = "CELLBENCH_DATA"
"""Environment variable naming the data folder."""
DATA_PREFIX = "data:"
"""Prefix of a dataset name resolved in the data folder."""
FROM_OPTION = "the data-dir option"
"""How :func:`data_dir` names a folder given by the command line."""
CANDIDATE_FILES = ("{name}.parquet", "{name}_spots.csv")
"""File names a ``data:NAME`` may have in its dataset folder, in order."""


def default_data_dir() -> Path:
    """``~/.cache/cellbench/data``."""
    return Path.home() / ".cache" / "cellbench" / "data"


def data_dir(option: Path | str | None = None) -> tuple[Path, str]:
    """(the data folder, where that choice came from: :data:`FROM_OPTION`, ``CELLBENCH_DATA`` or ``default``).

    The folder is absolute; it need not exist.
    """
    if option is not None and str(option) != "":
        return Path(option).expanduser().absolute(), FROM_OPTION
    env = os.environ.get(DATA_ENV, "")
    if env:
        return Path(env).expanduser().absolute(), DATA_ENV
    return default_data_dir(), "default"


def is_data_name(text: str) -> bool:
    """Whether ``text`` is a ``data:NAME`` reference."""
    return isinstance(text, str) and text.startswith(DATA_PREFIX)


def split_name(name: str) -> tuple[str, str]:
    """``'BF-C2DL-HSC_01'`` -> ``('BF-C2DL-HSC', '01')``; a ConfigError for a name without ``_<digits>``."""
    m = re.fullmatch(r"(.+)_(\d+)", name)
    if m is None:
        raise ConfigError(
            f"{DATA_PREFIX}{name}: a dataset name is <DATASET>_<SEQUENCE>, e.g. {DATA_PREFIX}BF-C2DL-HSC_01 "
            f"(or {DATA_PREFIX}FOLDER/FILE for a file under the data folder)"
        )
    return m.group(1), m.group(2)


def resolve_data_name(text: str, data_dir_option: Path | str | None = None) -> Path:
    """The tracks file that ``data:NAME`` (the prefix may be left out) names; see the module docstring.

    Raises
    ------
    ConfigError
        when nothing matches (naming the data folder, where it came from, every path tried, and
        the ``cellbench data fetch`` command that would provide it), when several files match,
        or when the name is malformed.
    """
    name = text[len(DATA_PREFIX):] if is_data_name(text) else text
    root, origin = data_dir(data_dir_option)
    where = f"the data folder {root} (from {origin})"
    if "/" in name or "\\" in name:
        return _relative(name, root, where)
    dataset, _ = split_name(name)
    tried = [folder / pattern.format(name=name) for folder in _dataset_folders(root, dataset)
             for pattern in CANDIDATE_FILES]
    found = [p for p in tried if p.exists()]
    if len(found) > 1:
        listed = ", ".join(f"{DATA_PREFIX}{p.relative_to(root).as_posix()}" for p in found)
        raise ConfigError(f"{DATA_PREFIX}{name}: several files in {where} match: {listed}; name one of them")
    if found:
        return found[0].resolve()
    if not tried:  # no dataset folder: show the paths it would have
        tried = [root / dataset / pattern.format(name=name) for pattern in CANDIDATE_FILES]
    raise ConfigError(
        f"{DATA_PREFIX}{name}: not found in {where}; looked for {', '.join(map(str, tried))}. Fetch it with "
        f"`cellbench data fetch {dataset}` (`cellbench data list` shows the public datasets), or set {DATA_ENV} "
        f"(or the command's data-dir option) to the folder that holds it"
    )


def resolve_data_arg(text: str, data_dir_option: Path | str | None = None) -> str:
    """``data:NAME`` -> the path of its file (as a string); any other string unchanged (a preset or a path)."""
    return str(resolve_data_name(text, data_dir_option)) if is_data_name(text) else text


def _dataset_folders(root: Path, dataset: str) -> list[Path]:
    """The folders of ``root`` named ``dataset`` without regard to case (one on case-insensitive file systems)."""
    if not root.is_dir():
        return []
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() == dataset.lower()]
    unique: list[Path] = []
    for p in folders:
        if not any(os.path.samefile(p, q) for q in unique):
            unique.append(p)
    return unique


def _relative(name: str, root: Path, where: str) -> Path:
    """``data:FOLDER/FILE``: a path under the data folder, never outside it."""
    parts = PurePosixPath(name.replace("\\", "/"))
    if parts.is_absolute() or ".." in parts.parts or re.match(r"^[A-Za-z]:", name):
        raise ConfigError(f"{DATA_PREFIX}{name}: give a path inside the data folder (no leading '/', no '..')")
    path = root.joinpath(*parts.parts)
    if not path.exists():
        raise ConfigError(f"{DATA_PREFIX}{name}: {path} does not exist in {where}")
    return path.resolve()


__all__ = ["CANDIDATE_FILES", "DATA_ENV", "DATA_PREFIX", "FROM_OPTION", "data_dir", "default_data_dir", "is_data_name",
           "resolve_data_arg", "resolve_data_name", "split_name"]
