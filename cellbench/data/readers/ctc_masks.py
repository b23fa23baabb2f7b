"""Cell Tracking Challenge label masks: checked from their TIFF tags, then decoded and summarised.

A mask's size is read from its tags (``tifffile`` parses them without decoding any pixel) and
checked before a byte is decompressed: it must be a 2D integer image of at most
:data:`MAX_MASK_PIXELS` pixels, with the shape of the sequence's first mask. A 2 MB
zlib-compressed file that declares 30000 x 30000 pixels is refused by name instead of asking
for 1.8 GB. Per-label statistics are then accumulated over bands of rows, so decoding a mask
costs its own size plus a bounded working set.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from cellbench.errors import TracksFormatError

MAX_MASK_PIXELS = 1 << 26
"""Largest mask accepted, in pixels (67,108,864, e.g. 8192 x 8192): 64x the largest 2D CTC
sequence (about 1100 x 1100). A uint16 mask of this size takes 128 MiB; larger files are
refused from their tags before decoding."""
MAX_LABEL = 1 << 62
"""Labels are below this, in masks as in the track file (they become int64 track ids)."""
_DIRECT_BINCOUNT_MAX_LABEL = 1 << 20  # above this, labels are compacted with np.unique before counting
_BAND_PIXELS = 1 << 22  # pixels per band of rows in label_stats (bounds its temporary arrays)


@dataclass(frozen=True)
class LabelStats:
    """Per-label pixel statistics of one mask (labels sorted, background excluded)."""

    label: np.ndarray  # (n_labels,) int64
    n_pixels: np.ndarray  # (n_labels,) int64
    x_px: np.ndarray  # (n_labels,) float64, mean column index
    y_px: np.ndarray  # (n_labels,) float64, mean row index


def label_stats(mask: np.ndarray) -> LabelStats:
    """Pixel count and centroid (column, row) of every non-zero label of a 2D mask.

    The sums are accumulated over bands of rows; they are sums of integer pixel indices, exact
    in float64 for any mask of at most :data:`MAX_MASK_PIXELS` pixels, so the result does not
    depend on the band size.

    Parameters
    ----------
    mask : (H, W) integer array, 0 = background, no negative label.
    """
    empty = np.zeros(0, dtype=np.int64)
    if mask.size == 0:
        return LabelStats(empty, empty, empty.astype(float), empty.astype(float))
    top = int(mask.max())
    if top <= 0:
        return LabelStats(empty, empty, empty.astype(float), empty.astype(float))
    height, width = mask.shape
    uniq = None if top < _DIRECT_BINCOUNT_MAX_LABEL else np.unique(mask)
    n_bins = top + 1 if uniq is None else len(uniq)
    n_pixels = np.zeros(n_bins, dtype=np.int64)
    sum_x = np.zeros(n_bins)
    sum_y = np.zeros(n_bins)
    band = max(1, _BAND_PIXELS // max(width, 1))
    for r0 in range(0, height, band):
        flat = np.ascontiguousarray(mask[r0 : r0 + band]).ravel()
        idx = np.flatnonzero(flat)
        if idx.size == 0:
            continue
        values = flat[idx].astype(np.int64)
        bins = values if uniq is None else np.searchsorted(uniq, values)
        n_pixels += np.bincount(bins, minlength=n_bins)
        sum_x += np.bincount(bins, weights=(idx % width).astype(np.float64), minlength=n_bins)
        sum_y += np.bincount(bins, weights=(idx // width + r0).astype(np.float64), minlength=n_bins)
    present = np.flatnonzero(n_pixels)  # bin 0 (background) is never counted: only non-zero pixels are
    label = present if uniq is None else uniq[present]
    n = n_pixels[present]
    return LabelStats(label.astype(np.int64), n.astype(np.int64), sum_x[present] / n, sum_y[present] / n)


@contextmanager
def _quiet_tifffile():
    """Hold back tifffile's log lines about inconsistent tags: the checks here report what matters, once."""
    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _squeeze(shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` without its leading 1s (a (1, H, W) page stack is a 2D image)."""
    shape = tuple(int(s) for s in shape)
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    return shape


def read_mask(path: Path, data: bytes, frame: int, expected_shape: tuple[int, int] | None, first: str | None) -> np.ndarray:
    """Decode one label mask after checking its declared shape and type.

    Parameters
    ----------
    path : the mask file (named in errors).
    data : its bytes.
    frame : its frame (named in errors).
    expected_shape : (rows, columns) of the sequence's first mask, None for the first mask.
    first : the file name of that first mask (named in a shape mismatch).

    Returns
    -------
    (H, W) integer array, labels >= 0.

    Raises
    ------
    TracksFormatError
        for a file that is not a readable TIFF, holds no image, is not 2D, does not hold
        integers, is larger than :data:`MAX_MASK_PIXELS`, differs in shape from the first mask
        (all found from the tags, before decoding), or holds a negative label.
    """
    where = f"{path}, frame {frame}"
    try:
        with _quiet_tifffile(), tifffile.TiffFile(io.BytesIO(data)) as tif:
            series = tif.series[0] if tif.series else None
            if series is None or not series.shape or 0 in series.shape:
                raise TracksFormatError(f"{where}: not a readable TIFF (no image data in it: empty or corrupt)")
            shape, dtype = _squeeze(series.shape), np.dtype(series.dtype)
            _check_declared(where, shape, dtype, expected_shape, first)
            mask = tif.asarray()
    except TracksFormatError:
        raise
    except Exception as err:  # tifffile raises many types on corrupt input; all mean "not a readable TIFF"
        raise TracksFormatError(f"{where}: not a readable TIFF ({type(err).__name__}: {err})") from err
    if mask.size == 0 or mask.ndim < 2:
        raise TracksFormatError(f"{where}: not a readable TIFF (no image data in it: empty or corrupt)")
    while mask.ndim > 2 and mask.shape[0] == 1:
        mask = mask[0]
    if mask.shape != shape or not np.issubdtype(mask.dtype, np.integer):
        raise TracksFormatError(
            f"{where}: decoded image {mask.shape} {mask.dtype} differs from the {shape} {dtype} its TIFF tags "
            f"declare (corrupt file)"
        )
    if mask.min() < 0:
        raise TracksFormatError(f"{where}: mask holds negative label {mask.min()}; labels are >= 0")
    if int(mask.max()) >= MAX_LABEL:
        raise TracksFormatError(f"{where}: mask holds label {mask.max()}; labels are below 2**62 (as in the track file)")
    return mask


def _check_declared(
    where: str, shape: tuple[int, ...], dtype: np.dtype, expected: tuple[int, int] | None, first: str | None
) -> None:
    if len(shape) != 2:
        raise TracksFormatError(
            f"{where}: mask has shape {shape}; expected a 2D label image (rows, columns) "
            f"(3D CTC datasets are not supported)"
        )
    if not np.issubdtype(dtype, np.integer):
        raise TracksFormatError(f"{where}: mask holds {dtype} values; expected integer labels")
    if expected is not None and shape != tuple(expected):
        raise TracksFormatError(
            f"{where}: mask shape {shape} (rows, columns) differs from {tuple(expected)} of {first}; all masks of a "
            f"sequence must have one shape"
        )
    n_pixels = shape[0] * shape[1]
    if n_pixels > MAX_MASK_PIXELS:
        raise TracksFormatError(
            f"{where}: the TIFF tags declare a {shape[0]} x {shape[1]} mask ({n_pixels:,} pixels, "
            f"{n_pixels * dtype.itemsize / 2**30:.1f} GiB decoded); cellbench reads masks of at most "
            f"{MAX_MASK_PIXELS:,} pixels (a corrupt or non-CTC file?)"
        )
