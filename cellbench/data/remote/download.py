"""Download one file over HTTP(S) with resume and verification; only the standard library.

The bytes go to ``<final>.part``. When a ``.part`` exists, the download resumes with an HTTP
``Range`` request; a server that ignores it (status 200 instead of 206) sends the whole file,
which then overwrites the ``.part``. A connection that drops mid-stream is resumed the same way,
up to ``retries`` times. When the file is complete its size and sha256 are checked against the
expected values (when given), and only then is it renamed to ``final``: a partial or corrupt
download never appears under the final name. A corrupt ``.part`` is deleted (resuming it could
not help); an interrupted one is kept, so running again resumes it.
"""

from __future__ import annotations

import http.client
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from cellbench.errors import CellbenchError
from cellbench.io import sha256_file
from cellbench.version import __version__

ProgressFn = Callable[[int, "int | None"], None]
"""progress(bytes on disk, total bytes or None when the server does not say)."""
CHUNK_BYTES = 1 << 20


class FetchError(CellbenchError):
    """A download failed, or its bytes are not the expected ones; the message names the URL and file."""


@dataclass(frozen=True)
class Downloaded:
    """path : the final file. sha256 : hex digest of its bytes. size_bytes : its size. resumed : a Range request was honoured."""

    path: Path
    sha256: str
    size_bytes: int
    resumed: bool


def part_path(final: Path) -> Path:
    """Where the bytes of ``final`` go while they arrive."""
    return final.with_name(final.name + ".part")


def download(url: str, final: Path, sha256: str = "", size_bytes: int = 0, retries: int = 3,
             timeout_s: float = 60.0, progress: ProgressFn | None = None, expected_from: str = "") -> Downloaded:
    """Download ``url`` to ``final`` (resuming ``<final>.part``) and verify it.

    Parameters
    ----------
    sha256 : expected hex digest, or "" to accept any content (the caller records what came).
    size_bytes : expected size in bytes, or 0 when unknown.
    retries : how many times a dropped connection is resumed before giving up.
    timeout_s : socket timeout in s for connecting and for each read.
    expected_from : where the expected values come from, for the error message.

    Raises
    ------
    FetchError
        the server cannot be reached or answers with an error; the connection dropped more than
        ``retries`` times (the ``.part`` is kept); the size or sha256 differs from the expected
        one (the ``.part`` is deleted).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(final)
    if size_bytes and part.exists() and part.stat().st_size > size_bytes:
        part.unlink()  # longer than the file can be: not a prefix of it
    for attempt in range(retries + 1):
        try:
            resumed = _transfer(url, part, size_bytes, timeout_s, progress)
            break
        except (http.client.HTTPException, OSError) as err:  # dropped or cut short: resume
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise FetchError(
                    f"{url}: the download was interrupted {retries + 1} time(s), last after {have:,} bytes "
                    f"({type(err).__name__}: {err}); {part} is kept: run the same command again to resume"
                ) from err
    return Downloaded(final, *_verify_and_move(url, part, final, sha256, size_bytes, expected_from), resumed)


class _ShortTransfer(OSError):
    """The server closed the connection before sending the bytes it announced."""


def _transfer(url: str, part: Path, size_bytes: int, timeout_s: float, progress: ProgressFn | None) -> bool:
    """Append the rest of ``url`` to ``part``; whether a Range request was honoured (else the file was restarted)."""
    have = part.stat().st_size if part.exists() else 0
    if have and have == size_bytes:
        return False  # complete already (e.g. stopped before the rename)
    headers = {"User-Agent": f"cellbench/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urlopen(Request(url, headers=headers), timeout=timeout_s)
    except HTTPError as err:
        if err.code == 416 and have:  # asked beyond the end: the .part holds the whole file, or is not a prefix
            if _range_total(err.headers.get("Content-Range", "")) == have:
                return False
            part.unlink()
            return _transfer(url, part, size_bytes, timeout_s, progress)
        raise FetchError(f"{url}: the server answered HTTP {err.code} ({err.reason})") from err
    except URLError as err:
        raise FetchError(f"{url}: cannot connect ({err.reason}); check the network or the URL") from err
    with resp:
        honoured = bool(have) and resp.status == 206
        if honoured:
            start = _range_start(resp.headers.get("Content-Range", ""))
            if start != have:
                raise FetchError(f"{url}: asked for bytes from {have:,}, the server sent them from {start}")
            total = _range_total(resp.headers.get("Content-Range", ""))
        else:  # the whole file: a first request, or a server that ignores Range
            have = 0
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        with open(part, "ab" if honoured else "wb") as f:
            while block := resp.read(CHUNK_BYTES):
                f.write(block)
                have += len(block)
                if progress is not None:
                    progress(have, total)
    if total is not None and have < total:
        raise _ShortTransfer(f"the server sent {have:,} of {total:,} bytes, then closed the connection")
    return honoured


def _verify_and_move(url: str, part: Path, final: Path, sha256: str, size_bytes: int,
                     expected_from: str) -> tuple[str, int]:
    source = f" ({expected_from})" if expected_from else ""
    size = part.stat().st_size
    if size_bytes and size != size_bytes:
        part.unlink()
        raise FetchError(f"{url}: downloaded {size:,} bytes, expected {size_bytes:,}{source}; the download was "
                         f"deleted (nothing written to {final})")
    digest = sha256_file(part)
    if sha256 and digest != sha256:
        part.unlink()
        raise FetchError(f"{url}: sha256 of the download is {digest}, expected {sha256}{source}: the file is "
                         f"corrupt or not the one expected; it was deleted (nothing written to {final})")
    os.replace(part, final)
    return digest, size


def _range_start(content_range: str) -> int | None:
    m = re.match(r"bytes\s+(\d+)-\d+/", content_range)
    return int(m.group(1)) if m else None


def _range_total(content_range: str) -> int | None:
    m = re.search(r"/(\d+)\s*$", content_range)
    return int(m.group(1)) if m else None
