"""Train / validation / test splits by contiguous time block or by sequence, never by random frame.

Neighbouring frames are nearly identical, so a random-frame split leaks. A split is a list of
:class:`Block` (one sequence, a contiguous frame range ``[start, stop)``, a split name). A
target at frame t belongs to a block when both t and t+1 lie in it: a target whose t+1 falls
in a later block is dropped. Features may still read earlier frames (history), which never
hold a later split's targets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cellbench.errors import ConfigError
from cellbench.data.tracks import Tracks

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)


@dataclass(frozen=True)
class Block:
    """Frames ``[start_frame, stop_frame)`` of sequence number ``seq`` belong to ``split``."""

    seq: int
    split: str
    start_frame: int
    stop_frame: int


def time_blocks(tracks: list[Tracks], fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> list[Block]:
    """Split every sequence into contiguous train / val / test blocks by frame index.

    With the default fractions the first 70 % of each sequence's frame range trains, the next
    15 % validates and the last 15 % tests.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ConfigError(f"--fractions {fractions}: need three non-negative numbers (train, val, test) summing to 1")
    blocks = []
    for seq, t in enumerate(tracks):
        f0, f1 = int(t.df["frame"].min()), int(t.df["frame"].max()) + 1
        n = f1 - f0
        cuts = f0 + np.round(np.cumsum((0.0, *fractions)) * n).astype(int)
        for name, a, b in zip(SPLITS, cuts[:-1], cuts[1:]):
            if b > a:
                blocks.append(Block(seq, name, int(a), int(b)))
    return blocks


def sequence_blocks(
    tracks: list[Tracks], test_seq: int, val_fraction: float = 0.15
) -> list[Block]:
    """Leave sequence ``test_seq`` out for test; the others train, with their last ``val_fraction`` as val."""
    if not 0 <= test_seq < len(tracks):
        raise ConfigError(f"--test-seq {test_seq}: there are {len(tracks)} sequences (0..{len(tracks) - 1})")
    if len(tracks) < 2:
        raise ConfigError("--split sequence needs at least two sequences (give --tracks more than once)")
    blocks = []
    for seq, t in enumerate(tracks):
        f0, f1 = int(t.df["frame"].min()), int(t.df["frame"].max()) + 1
        if seq == test_seq:
            blocks.append(Block(seq, "test", f0, f1))
            continue
        cut = f0 + int(round((1 - val_fraction) * (f1 - f0)))
        blocks.append(Block(seq, "train", f0, cut))
        if f1 > cut:
            blocks.append(Block(seq, "val", cut, f1))
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
            b = Block(b.seq, b.split, max(b.start_frame, b.stop_frame - keep), b.stop_frame)
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
    """All frame indices of ``split`` blocks in sequence ``seq``."""
    parts = [np.arange(b.start_frame, b.stop_frame) for b in blocks if b.seq == seq and b.split == split]
    return np.concatenate(parts) if parts else np.empty(0, dtype=int)


def blocks_to_dicts(blocks: list[Block]) -> list[dict]:
    return [asdict(b) for b in blocks]
