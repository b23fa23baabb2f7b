"""Cell Tracking Challenge (CTC) tracks -> :class:`~cellbench.data.tracks.Tracks`.

A CTC sequence is a folder with a track file and one label mask per frame:

- ground truth (``01_GT/TRA``): ``man_track.txt`` and ``man_track000.tif`` (or ``man_track0000.tif``);
- results (``01_RES``): ``res_track.txt`` and ``mask000.tif`` (or ``mask0000.tif``).

Each line of the track file is ``L B E P``: label ``L`` is a cell from frame ``B`` to frame
``E`` (inclusive, 0-based), and ``P`` is the label of its mother (0 = none). In the mask of
frame ``t``, pixels with value ``L`` belong to cell ``L`` (0 is background).

Positions
---------
A cell's position is the centroid of its pixels, with the centre of the pixel in row ``i``,
column ``j`` at ``x = j * pixel_um``, ``y = i * pixel_um`` (the TrackMate / scikit-image
convention); ``radius_um = sqrt(n_pixels / pi) * pixel_um`` is the radius of the disk with the
same area. Masks are in pixels, so ``pixel_um`` is required. Without an explicit ``fov_um``,
the field of view is the image, ``(-pixel_um/2, -pixel_um/2, (W - 1/2) pixel_um, (H - 1/2) pixel_um)``.

Consistency between masks and track file
----------------------------------------
Errors (naming the file and frame): a label in a mask that the track file does not list, or
that it lists for other frames; a missing mask for a frame in ``[min B, max E]`` (a line whose
frames lie beyond the masks is named by its line; the span is checked against the mask files
without allocating it); masks of different shapes, or larger than
:data:`~cellbench.data.readers.ctc_masks.MAX_MASK_PIXELS` (both read from the TIFF tags before
any pixel is decoded); a malformed track-file line, a parent that does not exist or does not
end before its daughter begins.

Gaps (a label listed for frame ``t`` but absent from that frame's mask) warn with a
:class:`GapWarning` and leave that frame out of the track: the CTC convention is that a track
is continuous (a cell that vanishes comes back under a new label whose parent is the old
one), but annotations in the wild do skip frames, and the track's identity is not in doubt.
Pass ``strict=True`` to make gaps an error. A parent with a single daughter is, in CTC, such a
gap continuation, not a division; ``parent_id`` keeps the link either way.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import TracksFormatError
from cellbench.data.readers.common import decode_text, require_file, to_um_factor
from cellbench.data.readers.ctc_masks import MAX_MASK_PIXELS, LabelStats, label_stats, read_mask
from cellbench.data.tracks import MAX_FRAME, NO_PARENT, Tracks, TracksMeta

TRACK_FILES = {"man_track.txt": "man_track", "res_track.txt": "mask"}  # track file -> mask file prefix


class GapWarning(UserWarning):
    """A label listed for a frame by the track file is absent from that frame's mask."""


@dataclass(frozen=True)
class CtcTrackFile:
    """The rows of a CTC track file, each a (L, B, E, P) with its line number (1-based)."""

    path: Path
    label: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    parent: np.ndarray
    line: np.ndarray


def read_track_file(path: Path) -> CtcTrackFile:
    """Parse and check ``man_track.txt`` / ``res_track.txt``.

    Raises
    ------
    TracksFormatError
        naming the file and line for: a line without four whitespace-separated integers, a
        label < 1, a negative or reversed frame range, a repeated label, a parent that is the
        label itself, is not in the file, or does not end before the daughter begins.
    """
    path = Path(path)
    rows, lines = [], []
    for n, text in enumerate(decode_text(path.read_bytes(), str(path), "line").splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue
        try:
            values = [int(f) for f in fields]
        except ValueError:
            values = None
        if values is None or len(values) != 4 or max(abs(v) for v in values) >= 2**62:
            raise TracksFormatError(
                f"{path}, line {n}: {text.strip()!r} is not 'L B E P' (four integers: label, first frame, last "
                f"frame, parent label or 0)"
            )
        rows.append(values)
        lines.append(n)
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    label, begin, end, parent = table.T
    line = np.array(lines, dtype=np.int64)
    checks = [
        (label < 1, "label L must be >= 1 (0 is the background)"),
        (begin < 0, "first frame B must be >= 0"),
        (end < begin, "last frame E must be >= first frame B"),
        (parent < 0, "parent P must be a label or 0"),
        (parent == label, "parent P must differ from label L"),
    ]
    for bad, rule in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TracksFormatError(f"{path}, line {line[i]}: {' '.join(map(str, table[i]))!r}: {rule}")
    _, first, counts = np.unique(label, return_index=True, return_counts=True)
    if (counts > 1).any():
        lab = label[first[np.flatnonzero(counts > 1)[0]]]
        at = line[label == lab]
        raise TracksFormatError(f"{path}, line {at[1]}: label {lab} appears again (first at line {at[0]})")
    has_parent = np.flatnonzero(parent > 0)
    row_of = {int(lab): i for i, lab in enumerate(label)}
    for i in has_parent:
        j = row_of.get(int(parent[i]))
        if j is None:
            raise TracksFormatError(
                f"{path}, line {line[i]}: parent {parent[i]} of label {label[i]} is not a label of this file"
            )
        if end[j] >= begin[i]:
            raise TracksFormatError(
                f"{path}, line {line[i]}: label {label[i]} begins at frame {begin[i]} but its parent {parent[i]} "
                f"(line {line[j]}) ends at frame {end[j]}; a parent must end before its daughter begins"
            )
    return CtcTrackFile(path, label, begin, end, parent, line)


def find_track_file(path: Path) -> Path:
    """The track file of a CTC folder (or ``path`` itself when it is one).

    ``path`` may be the track file, the folder holding it (``01_GT/TRA``, ``01_RES``), or a
    ``01_GT`` folder whose ``TRA`` subfolder holds it.
    """
    path = Path(path)
    if not path.exists():
        raise TracksFormatError(f"{path}: no such file or folder")
    if path.is_file():
        if path.name not in TRACK_FILES:
            raise TracksFormatError(f"{path}: a CTC track file is named {' or '.join(TRACK_FILES)}")
        return path
    for folder in (path, path / "TRA"):
        found = [folder / name for name in TRACK_FILES if (folder / name).is_file()]
        if len(found) > 1:
            raise TracksFormatError(
                f"{folder}: holds both {found[0].name} and {found[1].name}; pass the one to read"
            )
        if found:
            return found[0]
    raise TracksFormatError(
        f"{path}: no {' or '.join(TRACK_FILES)} in this folder (nor in its TRA subfolder); "
        f"is it a Cell Tracking Challenge sequence folder?"
    )


def find_masks(folder: Path, prefix: str) -> dict[int, Path]:
    """Frame -> mask file, for files named ``<prefix><digits>.tif[f]`` in ``folder``."""
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)\.tiff?", re.IGNORECASE)
    masks: dict[int, Path] = {}
    for p in sorted(folder.iterdir()):
        m = pattern.fullmatch(p.name)
        if m is None or not p.is_file():
            continue
        frame = int(m.group(1))
        if frame > MAX_FRAME:
            raise TracksFormatError(f"{p}: frame {frame} in the file name is beyond 2**53 (the largest frame index)")
        if frame in masks:
            raise TracksFormatError(f"{folder}: {masks[frame].name} and {p.name} are both masks of frame {frame}")
        masks[frame] = p
    return masks


def read_ctc(
    path: Path,
    pixel_um: float | None = None,
    frame_interval_s: float | None = None,
    fov_um: tuple[float, float, float, float] | None = None,
    dataset: str | None = None,
    strict: bool = False,
) -> Tracks:
    """Read a Cell Tracking Challenge sequence (track file + label masks).

    Parameters
    ----------
    path : the folder (``01_GT/TRA``, ``01_GT``, ``01_RES``) or its ``man_track.txt`` / ``res_track.txt``.
    pixel_um : um per pixel, required (masks are in pixels).
    frame_interval_s : s per frame; when given, a ``t_s = frame * frame_interval_s`` column is added.
    fov_um : field of view (x_min, y_min, x_max, y_max) in um; defaults to the image extent.
    dataset : sequence name; defaults to ``<dataset folder>_<sequence>`` (e.g. ``BF-C2DL-HSC_01``).
    strict : make gaps (a listed label absent from a mask) an error instead of a warning.

    Returns
    -------
    Tracks sorted by (frame, track_id): ``track_id`` = label, ``frame``, ``x_um``, ``y_um``
    (centroids), ``radius_um`` (equivalent disk), ``parent_id`` (P, -1 for 0), ``t_s`` when
    the frame interval is known. ``meta.source_path`` is the folder and ``meta.source_sha256``
    the sha256 of the lines ``<file name> <sha256 of its bytes>`` for the track file and
    every mask, in frame order.

    Raises
    ------
    TracksFormatError
        see the module docstring; every message names the file (and line or frame).
    """
    track_path = find_track_file(path)
    folder = track_path.parent
    where = str(folder)
    um = to_um_factor("pixel", pixel_um, where, "CTC mask centroids")  # refuse before reading any mask
    require_file(track_path)
    track = read_track_file(track_path)
    masks = find_masks(folder, TRACK_FILES[track_path.name])
    _check_mask_coverage(track, masks, folder)

    digest = hashlib.sha256(f"{track_path.name} {_sha256(track_path.read_bytes())}\n".encode())
    parts: list[pd.DataFrame] = []
    gaps: list[tuple[str, int, int]] = []
    shape: tuple[int, int] | None = None
    first_mask: Path | None = None
    for frame, mask_path in sorted(masks.items()):
        data = mask_path.read_bytes()
        digest.update(f"{mask_path.name} {_sha256(data)}\n".encode())
        mask = read_mask(mask_path, data, frame, shape, None if first_mask is None else first_mask.name)
        if shape is None:
            shape, first_mask = mask.shape, mask_path
        stats = label_stats(mask)
        _check_labels(stats.label, frame, mask_path, track)
        listed = track.label[(track.begin <= frame) & (track.end >= frame)]
        for lab in np.setdiff1d(listed, stats.label):
            gaps.append((mask_path.name, frame, int(lab)))
        parts.append(
            pd.DataFrame(
                {
                    "track_id": stats.label,
                    "frame": np.full(len(stats.label), frame, dtype=np.int64),
                    "x_um": stats.x_px * um,
                    "y_um": stats.y_px * um,
                    "radius_um": np.sqrt(stats.n_pixels / np.pi) * um,
                }
            )
        )
    _report_gaps(gaps, track_path, strict)

    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if out.empty:
        raise TracksFormatError(f"{where}: no labelled cell in any mask ({len(masks)} mask(s), {len(track.label)} track(s))")
    order = np.argsort(track.label)
    row = order[np.searchsorted(track.label[order], out["track_id"].to_numpy())]  # every label is listed
    out["parent_id"] = np.where(track.parent[row] > 0, track.parent[row], NO_PARENT)
    if frame_interval_s is not None:
        out["t_s"] = out["frame"].to_numpy(dtype=np.float64) * frame_interval_s
    if fov_um is None and shape is not None:
        h, w = shape
        fov_um = (-0.5 * um, -0.5 * um, (w - 0.5) * um, (h - 0.5) * um)
    meta = TracksMeta(
        dataset=dataset or _dataset_name(folder),
        pixel_um=pixel_um,
        frame_interval_s=frame_interval_s,
        fov_um=fov_um,
        source_path=str(folder),
        source_sha256=digest.hexdigest(),
        extra={"format": "ctc", "track_file": track_path.name},
    )
    return Tracks.from_table(out, meta, file_rows=track.line[row])  # errors point at the track-file line


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_mask_coverage(track: CtcTrackFile, masks: dict[int, Path], folder: Path) -> None:
    """Every frame in ``[min B, max E]`` has a mask; checked in memory proportional to the masks.

    The frame span is never materialised: a line ``3 2 1000000000000 1`` is refused by its line
    (the masks stop long before), not by allocating 10**12 frame numbers.
    """
    prefix = TRACK_FILES[track.path.name]
    if not masks:
        raise TracksFormatError(
            f"{folder}: no mask files ({prefix}000.tif or {prefix}0000.tif, ...) next to {track.path.name}"
        )
    if len(track.label) == 0:
        return
    have = np.array(sorted(masks), dtype=np.int64)
    digits = len(re.fullmatch(rf"{re.escape(prefix)}(\d+)\.tiff?", masks[int(have[0])].name, re.I).group(1))
    first, last = int(track.begin.min()), int(track.end.max())
    for i, frame, beyond in ((int(np.argmax(track.end)), last, last > have[-1]),
                             (int(np.argmin(track.begin)), first, first < have[0])):
        if beyond:
            row = " ".join(str(v) for v in (track.label[i], track.begin[i], track.end[i], track.parent[i]))
            raise TracksFormatError(
                f"{track.path}, line {track.line[i]}: {row!r} lists label {track.label[i]} in frame {frame}, but the "
                f"masks cover frames {have[0]} to {have[-1]} only (no {prefix}{frame:0{digits}d}.tif)"
            )
    held = have[(have >= first) & (have <= last)]
    n_missing = (last - first + 1) - len(held)
    if n_missing == 0:
        return
    probe = np.arange(first, min(last, first + len(held) + 5) + 1, dtype=np.int64)  # holds >= 5 missing frames
    missing = probe[~np.isin(probe, held)][:5]
    names = ", ".join(f"{prefix}{f:0{digits}d}.tif" for f in missing)
    raise TracksFormatError(
        f"{folder}: no mask for frame(s) {', '.join(map(str, missing))}{' ...' if n_missing > 5 else ''} "
        f"(expected {names}; {n_missing:,} missing in all); {track.path.name} lists cells from frame {first} to {last}"
    )


def _check_labels(labels: np.ndarray, frame: int, mask_path: Path, track: CtcTrackFile) -> None:
    """Every label of a mask is listed in the track file, for a span that includes ``frame``."""
    order = np.argsort(track.label)
    pos = np.clip(np.searchsorted(track.label[order], labels), 0, max(len(order) - 1, 0))
    unknown = (track.label[order][pos] != labels) if len(order) else np.ones(len(labels), dtype=bool)
    if unknown.any():
        lab = labels[np.flatnonzero(unknown)[0]]
        raise TracksFormatError(
            f"{mask_path}, frame {frame}: label {lab} is in the mask but not in {track.path.name}"
        )
    row = order[pos]
    outside = (track.begin[row] > frame) | (track.end[row] < frame)
    if outside.any():
        r = row[np.flatnonzero(outside)[0]]
        raise TracksFormatError(
            f"{mask_path}, frame {frame}: label {track.label[r]} is in the mask, but {track.path.name} line "
            f"{track.line[r]} gives it frames {track.begin[r]}-{track.end[r]}"
        )


def _report_gaps(gaps: list[tuple[str, int, int]], track_path: Path, strict: bool) -> None:
    if not gaps:
        return
    listed = ", ".join(f"label {lab} in {name} (frame {frame})" for name, frame, lab in gaps[:5])
    more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
    text = f"{len(gaps)} cell(s) listed in {track_path.name} are absent from their mask: {listed}{more}"
    if strict:
        raise TracksFormatError(f"{track_path.parent}: {text}")
    warnings.warn(f"{track_path.parent}: {text}; these frames are left out of their tracks (gaps)", GapWarning, stacklevel=3)


def _dataset_name(folder: Path) -> str:
    """``<dataset>_<sequence>`` from a CTC layout (``.../BF-C2DL-HSC/01_GT/TRA``), else the folder name."""
    parts = folder.resolve().parts
    for i in range(len(parts) - 1, 0, -1):
        m = re.fullmatch(r"(\d+)_(GT|RES|ST)", parts[i])
        if m:
            return f"{parts[i - 1]}_{m.group(1)}"
    return folder.name


__all__ = ["MAX_MASK_PIXELS", "CtcTrackFile", "GapWarning", "LabelStats", "find_masks", "find_track_file", "label_stats",
           "read_ctc", "read_track_file"]
