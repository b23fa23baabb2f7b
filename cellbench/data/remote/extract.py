"""Take the ground-truth tracking markers of one sequence out of a CTC zip archive, safely.

A CTC training archive holds ``<NAME>/<SEQ>/t*.tif`` (the images), ``<NAME>/<SEQ>_GT/SEG``
(segmentation) and ``<NAME>/<SEQ>_GT/TRA``: ``man_track.txt`` and one label mask
``man_track<frame>.tif`` per frame. Only the TRA files are extracted.

Before anything is written, every member name of the archive is checked: an absolute path, a
Windows drive, or a ``..`` component refuses the whole archive (a path-traversal attempt, or a
damaged file). Extracted files are written under the target folder by their base name only.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from cellbench.data.remote.download import FetchError

TRA_MEMBER = re.compile(r"(?:.*/)?(?P<seq>\d+)_GT/TRA/(?P<file>man_track\.txt|man_track\d+\.tiff?)")
"""A ground-truth tracking file of sequence ``seq`` anywhere in the archive."""


def check_members(archive: zipfile.ZipFile, where: str) -> None:
    """Refuse an archive with a member whose name is absolute or climbs out with ``..``."""
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/"))
        if parts.is_absolute() or re.match(r"^[A-Za-z]:", name) or ".." in parts.parts:
            raise FetchError(f"{where}: member {name!r} has an absolute path or '..'; the archive is refused "
                             "(nothing was extracted)")


def tra_members(archive: zipfile.ZipFile) -> dict[str, list[zipfile.ZipInfo]]:
    """Sequence -> its ground-truth tracking members (track file and masks)."""
    out: dict[str, list[zipfile.ZipInfo]] = {}
    for info in archive.infolist():
        m = TRA_MEMBER.fullmatch(info.filename.replace("\\", "/"))
        if m and not info.is_dir():
            out.setdefault(m.group("seq"), []).append(info)
    return {seq: members for seq, members in out.items()
            if any(i.filename.endswith("man_track.txt") for i in members)}


def extract_tra(zip_path: Path, seq: str, folder: Path) -> Path:
    """Write sequence ``seq``'s ``man_track.txt`` and masks into ``folder``; returns ``folder``.

    Raises
    ------
    FetchError
        the file is not a zip archive, a member name is unsafe, or the archive has no
        ``<seq>_GT/TRA/man_track.txt`` (the message lists the sequences it has).
    """
    where = str(zip_path)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as err:
        raise FetchError(f"{where}: not a readable zip archive ({err}); delete it to download it again") from err
    with archive:
        check_members(archive, where)
        members = tra_members(archive)
        if seq not in members:
            have = ", ".join(sorted(members)) or "none"
            raise FetchError(f"{where}: no {seq}_GT/TRA/man_track.txt in the archive (sequences with tracking "
                             f"ground truth: {have})")
        folder.mkdir(parents=True, exist_ok=True)
        for info in members[seq]:
            target = folder / PurePosixPath(info.filename.replace("\\", "/")).name
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return folder
