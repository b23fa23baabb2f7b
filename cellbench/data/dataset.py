"""A benchmark dataset: sequences, their targets, and the split of every target.

Built once from a list of :class:`Tracks`; every predictor (trivial reference or learned
model) reads targets and split masks from here, so all of them are scored on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cellbench.errors import ConfigError
from cellbench.data.splits import DEFAULT_FRACTIONS, SPLITS, Block, sequence_blocks, shrink_train, target_masks, time_blocks
from cellbench.data.targets import displacement_targets
from cellbench.data.tracks import Tracks


@dataclass(frozen=True, eq=False)
class Sequence:
    """One sequence with its targets.

    Attributes
    ----------
    tracks : the table (no truth columns).
    y_um : (n_rows, 2) one-step displacement targets in um per frame, NaN where invalid.
    masks : {split: (n_rows,) bool} rows whose target belongs to that split.
    truth : optional simulator truth, row-aligned with ``tracks.df``; only oracles read it.
    """

    tracks: Tracks
    y_um: np.ndarray
    masks: dict[str, np.ndarray]
    truth: object = None


@dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    seqs: list[Sequence]
    blocks: list[Block]
    split_kind: str
    extra: dict = field(default_factory=dict)

    def n_targets(self, split: str) -> int:
        return int(sum(s.masks[split].sum() for s in self.seqs))

    def targets(self, split: str) -> np.ndarray:
        """(n_targets, 2) targets of ``split``, sequences concatenated in order."""
        return np.concatenate([s.y_um[s.masks[split]] for s in self.seqs])

    def gather(self, per_seq: list[np.ndarray], split: str) -> np.ndarray:
        """Concatenate per-sequence row arrays restricted to ``split``'s targets, in the order of :meth:`targets`."""
        return np.concatenate([a[s.masks[split]] for a, s in zip(per_seq, self.seqs)])


def build_dataset(
    tracks: list[Tracks],
    split: str = "time",
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    test_seq: int | None = None,
    truths: list | None = None,
    name: str | None = None,
    train_fraction: float = 1.0,
) -> Dataset:
    """Targets and split masks for ``tracks``.

    Parameters
    ----------
    split : ``'time'`` (contiguous blocks in every sequence, ``fractions`` = train, val, test)
        or ``'sequence'`` (sequence ``test_seq`` is the test set; default the last one).
    train_fraction : keep only the last fraction of every training block (sample-efficiency
        studies); validation and test are unchanged.
    """
    if not tracks:
        raise ConfigError("no tracks given")
    if split == "time":
        blocks = time_blocks(tracks, fractions)
    elif split == "sequence":
        blocks = sequence_blocks(tracks, len(tracks) - 1 if test_seq is None else test_seq, fractions[1])
    else:
        raise ConfigError(f"--split {split!r}: choose 'time' (contiguous time blocks) or 'sequence' (leave one out)")
    blocks = shrink_train(blocks, train_fraction)
    seqs = []
    for i, t in enumerate(tracks):
        y, valid = displacement_targets(t)
        seqs.append(Sequence(t, y, target_masks(t, i, blocks, valid), None if truths is None else truths[i]))
    data = Dataset(name or "+".join(t.meta.dataset for t in tracks), seqs, blocks, split)
    for s in SPLITS:
        if s != "val" and data.n_targets(s) == 0:
            raise ConfigError(
                f"the {s} split of {data.name} holds no target (a target needs the same track in frames t and t+1 "
                f"inside one {s} block); use longer tracks or another --split"
            )
    return data
