"""Train / validation / test splits by contiguous time block or by sequence, never by random frame.

Neighbouring frames are nearly identical, so a random-frame split leaks. A split is a list of
:class:`Block` (one sequence, a contiguous frame range ``[start, stop)``, a split name). A
target at frame t belongs to a block when both t and t+1 lie in it: a target whose t+1 falls
in a later block is dropped. Features may still read earlier frames (history), which never
hold a later split's targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cellbench.errors import ConfigError
from cellbench.data.tracks import Tracks

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)


@dataclass(frozen=True)
class Block:
    """Frames ``[start_frame, stop_frame)`` of sequence number ``seq`` belong to ``split``.

    ``frames`` : (n_block_frames,) int64, the sorted frames of the range that hold at least one
    cell (at most one per table row, however sparse the frame numbers are); None for a block
    made by hand, which then stands for every frame of its range.
    """

    seq: int
    split: str
    start_frame: int
    stop_frame: int
    frames: np.ndarray | None = field(default=None, compare=False, repr=False)

    def restrict(self, start_frame: int) -> "Block":
        """The same block from ``start_frame`` on (its held frames cut to match)."""
        kept = None if self.frames is None else self.frames[self.frames >= start_frame]
        return Block(self.seq, self.split, start_frame, self.stop_frame, kept)


def _block(seq: int, split: str, start: int, stop: int, held: np.ndarray) -> Block:
    """A block of ``held`` (sorted unique frames of the sequence) restricted to ``[start, stop)``."""
    a, b = np.searchsorted(held, [start, stop])
    return Block(seq, split, int(start), int(stop), held[a:b])


def time_blocks(tracks: list[Tracks], fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> list[Block]:
    """Split every sequence into contiguous train / val / test blocks by frame index.

    With the default fractions the first 70 % of each sequence's frame range trains, the next
    15 % validates and the last 15 % tests.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ConfigError(f"split fractions {fractions}: need three non-negative numbers (train, val, test) summing to 1")
    blocks = []
    for seq, t in enumerate(tracks):
        held = t.frames
        f0, f1 = int(held[0]), int(held[-1]) + 1
        n = f1 - f0
        cuts = f0 + np.round(np.cumsum((0.0, *fractions)) * n).astype(np.int64)
        for name, a, b in zip(SPLITS, cuts[:-1], cuts[1:]):
            if b > a:
                blocks.append(_block(seq, name, a, b, held))
    return blocks


def sequence_blocks(
    tracks: list[Tracks], test_seq: int, val_fraction: float = 0.15
) -> list[Block]:
    """Leave sequence ``test_seq`` out for test; the others train, with their last ``val_fraction`` as val."""
    if not 0 <= test_seq < len(tracks):
        raise ConfigError(f"--test-seq {test_seq}: there are {len(tracks)} sequences (0..{len(tracks) - 1})")
    if len(tracks) < 2:
        raise ConfigError("--split sequence needs at least two sequences (give --data more than once)")
    blocks = []
    for seq, t in enumerate(tracks):
        held = t.frames
        f0, f1 = int(held[0]), int(held[-1]) + 1
        if seq == test_seq:
            blocks.append(_block(seq, "test", f0, f1, held))
            continue
        cut = f0 + int(round((1 - val_fraction) * (f1 - f0)))
        blocks.append(_block(seq, "train", f0, cut, held))
        if f1 > cut:
            blocks.append(_block(seq, "val", cut, f1, held))
    return blocks


def shrink_train(blocks: list[Block], train_fraction: float) -> list[Block]:
    """Keep only the last ``train_fraction`` of each training block (contiguous, next to val).

    For sample-efficiency studies: every model, references included, then sees the same
    smaller training set, and validation and test blocks are unchanged.
    """
    if not 0 < train_fraction <= 1:
        raise ConfigError(f"--train-fraction {train_fraction}: must lie in (0, 1]")
    if train_fraction == 1:
        return list(blocks)
    out = []
    for b in blocks:
        if b.split == "train":
            n = b.stop_frame - b.start_frame
            keep = max(2, int(round(train_fraction * n)))
            b = b.restrict(max(b.start_frame, b.stop_frame - keep))
        out.append(b)
    return out


def target_masks(tracks: Tracks, seq: int, blocks: list[Block], valid: np.ndarray) -> dict[str, np.ndarray]:
    """Row masks of the valid targets of each split in one sequence.

    Parameters
    ----------
    tracks : the sequence.
    seq : its number in the block list.
    blocks : from :func:`time_blocks` or :func:`sequence_blocks`.
    valid : (n_rows,) target validity (the same track has frame t+1).

    Returns
    -------
    {split name: (n_rows,) bool}; a row is in a split when its frames t and t+1 lie in one block of it.
    """
    frame = tracks.df["frame"].to_numpy()
    masks = {name: np.zeros(len(frame), dtype=bool) for name in SPLITS}
    for b in blocks:
        if b.seq != seq:
            continue
        masks[b.split] |= (frame >= b.start_frame) & (frame + 1 < b.stop_frame)
    return {name: m & valid for name, m in masks.items()}


def frames_of(blocks: list[Block], seq: int, split: str) -> np.ndarray:
    """The frames of ``split`` blocks in sequence ``seq`` that hold cells, sorted.

    Memory is proportional to the table's rows, not to the frame numbers: a block of
    :func:`time_blocks` or :func:`sequence_blocks` lists only its frames that hold a cell (which
    are all any consumer can select), so sparse frame numbers (up to
    :data:`~cellbench.data.tracks.MAX_FRAME`) cost nothing. A block
    made by hand without ``frames`` stands for its whole range.
    """
    parts = [b.frames if b.frames is not None else np.arange(b.start_frame, b.stop_frame, dtype=np.int64)
             for b in blocks if b.seq == seq and b.split == split]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def blocks_to_dicts(blocks: list[Block]) -> list[dict]:
    """``seq``, ``split``, ``start_frame``, ``stop_frame`` of every block (JSON-ready, without the held frames)."""
    return [{"seq": b.seq, "split": b.split, "start_frame": b.start_frame, "stop_frame": b.stop_frame} for b in blocks]
