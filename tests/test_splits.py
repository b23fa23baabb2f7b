import numpy as np
import pytest

from cellbench.data.dataset import build_dataset
from cellbench.errors import ConfigError
from cellbench.data.splits import SPLITS, frames_of, time_blocks
from tests.helpers import random_walk_tracks


def _target_keys(data, split):
    keys = set()
    for i, s in enumerate(data.seqs):
        df = s.tracks.df[s.masks[split]]
        keys |= {(i, int(a), int(b)) for a, b in zip(df["track_id"], df["frame"])}
    return keys


@pytest.mark.parametrize("kind", ["time", "sequence"])
def test_no_target_in_two_splits_and_no_target_crosses_a_block(kind):
    tracks = [random_walk_tracks(seed=s, n_frames=50, drop=0.1) for s in range(3)]
    data = build_dataset(tracks, split=kind)
    keys = {s: _target_keys(data, s) for s in SPLITS}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]
    # frames t and t+1 of every target lie in one block of its split
    for i, s in enumerate(data.seqs):
        for split in SPLITS:
            frames = set(frames_of(data.blocks, i, split).tolist())
            f = s.tracks.df["frame"].to_numpy()[s.masks[split]]
            assert all(int(t) in frames and int(t) + 1 in frames for t in f)
    # blocks are contiguous and do not overlap
    for i in range(3):
        all_frames = np.concatenate([frames_of(data.blocks, i, s) for s in SPLITS])
        assert len(all_frames) == len(set(all_frames.tolist()))


def test_time_blocks_are_70_15_15_in_frame_order():
    t = random_walk_tracks(n_frames=100)
    blocks = time_blocks([t])
    assert [(b.split, b.start_frame, b.stop_frame) for b in blocks] == [
        ("train", 0, 70),
        ("val", 70, 85),
        ("test", 85, 100),
    ]


def test_targets_at_block_edges_are_dropped():
    t = random_walk_tracks(n_tracks=1, n_frames=100)
    data = build_dataset([t])
    s = data.seqs[0]
    frames = {k: set(s.tracks.df["frame"].to_numpy()[m].tolist()) for k, m in s.masks.items()}
    assert 69 not in frames["train"] and 84 not in frames["val"] and 99 not in frames["test"]
    assert max(frames["train"]) == 68 and min(frames["val"]) == 70


def test_sequence_split_holds_one_sequence_out():
    tracks = [random_walk_tracks(seed=s) for s in range(3)]
    data = build_dataset(tracks, split="sequence", test_seq=1)
    assert data.seqs[1].masks["test"].sum() > 0
    assert data.seqs[0].masks["test"].sum() == 0 and data.seqs[2].masks["test"].sum() == 0
    assert data.seqs[1].masks["train"].sum() == 0


def test_bad_split_options_are_refused():
    t = random_walk_tracks()
    with pytest.raises(ConfigError, match="--split"):
        build_dataset([t], split="random-frames")
    with pytest.raises(ConfigError, match="split fractions"):
        build_dataset([t], fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ConfigError, match="at least two sequences"):
        build_dataset([t], split="sequence")


def test_train_fraction_keeps_the_last_part_of_train_and_leaves_val_and_test():
    t = random_walk_tracks(n_tracks=4, n_frames=100)
    full, quarter = build_dataset([t]), build_dataset([t], train_fraction=0.25)
    for split in ("val", "test"):
        np.testing.assert_array_equal(full.seqs[0].masks[split], quarter.seqs[0].masks[split])
    frames = t.df["frame"].to_numpy()[quarter.seqs[0].masks["train"]]
    assert frames.min() == 70 - 18 and frames.max() == 68  # last 18 of the 70 training frames (t+1 < 70)
    assert quarter.n_targets("train") < 0.3 * full.n_targets("train")
    with pytest.raises(ConfigError, match="--train-fraction"):
        build_dataset([t], train_fraction=0.0)
