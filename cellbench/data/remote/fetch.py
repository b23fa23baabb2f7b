"""Fetch a registered dataset into the data folder and convert its tracking ground truth to parquet.

``fetch_dataset("BF-C2DL-HSC")`` downloads ``<data>/BF-C2DL-HSC.zip`` (resumable, verified; see
:mod:`~cellbench.data.remote.download`), checks it against the registry's sha256 or the lock
file's record (:mod:`~cellbench.data.remote.lock`), extracts each sequence's ``<SEQ>_GT/TRA``
into a temporary folder, reads it with :func:`~cellbench.data.readers.ctc.read_ctc` at the
registry's pixel size (um) and frame interval (s), and writes the canonical table
``<data>/BF-C2DL-HSC/BF-C2DL-HSC_<SEQ>.parquet`` atomically; ``data:BF-C2DL-HSC_01`` then names
it (:mod:`cellbench.data.location`). The archive is kept: a later fetch verifies it and converts
again without downloading; the extracted masks are removed once converted.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cellbench.data.location import data_dir
from cellbench.data.readers.ctc import read_ctc
from cellbench.data.remote.download import FetchError, ProgressFn, download
from cellbench.data.remote.extract import extract_tra
from cellbench.data.remote.lock import read_lock, record
from cellbench.data.remote.registry import RemoteDataset, get_dataset, load_registry
from cellbench.data.tracks import Tracks
from cellbench.errors import ConfigError
from cellbench.io import sha256_file

CHECKSUM_STATES = ("pinned", "locked", "first-use")
"""How an archive was checked: against the registry, against the lock file's earlier record, or not at all."""


@dataclass(frozen=True)
class FetchResult:
    """archive : the zip. sha256 : its digest. checksum : one of :data:`CHECKSUM_STATES`.
    parquets : one tracks file per sequence. warning : set when the archive was not verified."""

    dataset: RemoteDataset
    archive: Path
    sha256: str
    checksum: str
    parquets: list[Path]
    warning: str | None = None


def parquet_path(folder: Path, name: str, seq: str) -> Path:
    """``<data>/<NAME>/<NAME>_<SEQ>.parquet``: where a fetched sequence goes (and ``data:NAME_SEQ`` finds it)."""
    return Path(folder) / name / f"{name}_{seq}.parquet"


def fetch_dataset(name: str, dest: Path | str | None = None, sequence: str = "all",
                  registry: Path | str | None = None, progress: ProgressFn | None = None, retries: int = 3,
                  timeout_s: float = 60.0) -> FetchResult:
    """Download (or reuse) dataset ``name`` into ``dest`` (default: the data folder) and write its parquet files.

    Parameters
    ----------
    sequence : ``'01'``, ``'02'``, ... or ``'all'`` (every sequence the registry lists).
    registry : a registry TOML (default ``$CELLBENCH_DATA_REGISTRY`` or the built-in one).
    progress, retries, timeout_s : passed to :func:`~cellbench.data.remote.download.download`.

    Raises
    ------
    ConfigError
        unknown dataset or sequence, malformed registry or lock file.
    FetchError
        the download failed or does not match the registry's or the lock file's checksum, the
        archive is unsafe or lacks the sequence's tracking ground truth.
    TracksFormatError
        the ground truth cannot be read (names the file).
    """
    entry = get_dataset(name, load_registry(registry))
    seqs = _sequences(entry, sequence)
    root, _ = data_dir(dest)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / f"{entry.name}.zip"
    sha256, checksum = _obtain(entry, archive, root, progress, retries, timeout_s)
    warning = None
    if checksum == "first-use":
        warning = (f"{archive.name}: no published sha256 for {entry.name}; this copy (sha256 {sha256}) was NOT verified "
                   f"against one. Its sha256 and size are now recorded in {root / 'cellbench-data.lock.json'}, and "
                   "later fetches into this folder are verified against them")
    parquets = [_convert(entry, archive, sha256, checksum, seq, root) for seq in seqs]
    return FetchResult(entry, archive, sha256, checksum, parquets, warning)


def _sequences(entry: RemoteDataset, sequence: str) -> list[str]:
    if sequence == "all":
        return list(entry.sequences)
    if sequence not in entry.sequences:
        raise ConfigError(f"sequence {sequence!r}: {entry.name} has sequences {', '.join(entry.sequences)} (or 'all')")
    return [sequence]


def _obtain(entry: RemoteDataset, archive: Path, root: Path, progress: ProgressFn | None, retries: int,
            timeout_s: float) -> tuple[str, str]:
    """(sha256 of the archive, checksum state): reuse a verified archive, else download it; update the lock."""
    locked = read_lock(root).get(entry.name)
    if entry.pinned:
        want_sha, want_size, checksum = entry.sha256, entry.size_bytes, "pinned"
    elif locked is not None:
        want_sha, want_size, checksum = locked.sha256, entry.size_bytes or locked.size_bytes, "locked"
    else:
        want_sha, want_size, checksum = "", entry.size_bytes, "first-use"
    against = {"pinned": "the registry's sha256", "locked": f"the sha256 recorded in the lock file on "
               f"{locked.recorded_utc if locked else ''}"}.get(checksum)
    if archive.exists():
        sha, size = sha256_file(archive), archive.stat().st_size
        if (want_sha and sha != want_sha) or (want_size and size != want_size):
            raise FetchError(f"{archive}: exists but its sha256 {sha} ({size:,} bytes) differs from {against} "
                             f"({want_sha}); delete it to download it again"
                             + ("" if checksum == "pinned" else ", or delete its entry in the lock file to trust it"))
    else:
        got = download(entry.url, archive, want_sha, want_size, retries=retries, timeout_s=timeout_s,
                       progress=progress, expected_from=against or "")
        sha, size = got.sha256, got.size_bytes
    if checksum != "locked":
        record(root, entry.name, entry.url, sha, size, "registry" if checksum == "pinned" else "first-use")
    return sha, checksum


def _convert(entry: RemoteDataset, archive: Path, sha256: str, checksum: str, seq: str, root: Path) -> Path:
    """Extract sequence ``seq``'s TRA ground truth, read it in um and s, write its parquet atomically."""
    out = parquet_path(root, entry.name, seq)
    tmp = out.parent / f".{seq}_GT-TRA.{os.getpid()}.tmp"
    try:
        tracks = read_ctc(extract_tra(archive, seq, tmp), pixel_um=entry.pixel_um,
                          frame_interval_s=entry.frame_interval_s, dataset=f"{entry.name}_{seq}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta = dataclasses.replace(
        tracks.meta, source_path=f"{archive} ({seq}_GT/TRA)",
        extra={**tracks.meta.extra, "archive_url": entry.url, "archive_sha256": sha256, "archive_checksum": checksum})
    Tracks(tracks.df, meta).save(out)
    return out
