"""Cell Tracking Challenge folders: exact centroids, parent links, layouts, and mismatches."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
import tifffile

from cellbench.errors import TracksFormatError
from cellbench.data.readers import read_tracks
from cellbench.data.readers.ctc import GapWarning, label_stats, read_ctc, read_track_file
from tests.conftest import ctc_division, write_ctc


@pytest.fixture
def gt_folder(tmp_path):
    masks, text = ctc_division()
    return write_ctc(tmp_path / "BF-TEST" / "01_GT" / "TRA", masks, text)


def test_centroids_are_exact_for_known_shapes(gt_folder):
    t = read_ctc(gt_folder, pixel_um=0.5)
    df = t.df.set_index(["track_id", "frame"])
    # cell 1: rows 2-4, columns 3+t..7+t -> (x, y) = (5 + t, 3) px; cell 2: 2x2 at (10.5, 10.5) px;
    # cell 3: the single pixel (20 + t, 15) px. Halves are exact in binary, so equality is exact.
    for f in (0, 1):
        assert tuple(df.loc[(1, f), ["x_um", "y_um"]]) == ((5 + f) * 0.5, 3 * 0.5)
    for f in (2, 3):
        assert tuple(df.loc[(2, f), ["x_um", "y_um"]]) == (10.5 * 0.5, 10.5 * 0.5)
        assert tuple(df.loc[(3, f), ["x_um", "y_um"]]) == ((20 + f) * 0.5, 15 * 0.5)
    npt.assert_allclose(df.loc[(1, 0), "radius_um"], np.sqrt(15 / np.pi) * 0.5, rtol=1e-15)
    npt.assert_allclose(df.loc[(3, 2), "radius_um"], np.sqrt(1 / np.pi) * 0.5, rtol=1e-15)


def test_parent_links_from_the_track_file(gt_folder):
    t = read_ctc(gt_folder, pixel_um=1.0)
    parent = t.df.groupby("track_id")["parent_id"].first().to_dict()
    assert parent == {1: -1, 2: 1, 3: 1}


def test_meta_and_layout(gt_folder, tmp_path):
    t = read_ctc(gt_folder, pixel_um=0.5, frame_interval_s=60.0)
    assert t.meta.dataset == "BF-TEST_01" and t.meta.pixel_um == 0.5 and t.meta.frame_interval_s == 60.0
    assert t.meta.fov_um == (-0.25, -0.25, 14.75, 9.75)  # 30 x 20 px, pixel centres at integer indices
    assert len(t.meta.source_sha256) == 64 and t.meta.source_path == str(gt_folder)
    npt.assert_array_equal(t.df["t_s"], t.df["frame"] * 60.0)
    assert list(t.df["frame"]) == [0, 1, 2, 2, 3, 3] and list(t.df["track_id"]) == [1, 1, 2, 3, 2, 3]
    # the same sequence through the dispatcher: the folder, its parent 01_GT, or the track file
    for p in (gt_folder, gt_folder.parent, gt_folder / "man_track.txt"):
        assert read_tracks(p, pixel_um=0.5).df.equals(read_ctc(gt_folder, pixel_um=0.5).df)


def test_source_hash_covers_the_masks(gt_folder):
    before = read_ctc(gt_folder, pixel_um=1.0).meta.source_sha256
    m = tifffile.imread(gt_folder / "man_track003.tif")
    m[0, 0] = 2  # not a valid move for the reader's checks, but changes the bytes
    m[11, 11] = 0
    tifffile.imwrite(gt_folder / "man_track003.tif", m)
    assert read_ctc(gt_folder, pixel_um=1.0).meta.source_sha256 != before


def test_res_folder_with_four_digit_masks(tmp_path):
    masks, text = ctc_division()
    folder = write_ctc(tmp_path / "01_RES", masks, text, prefix="mask", digits=4)
    t = read_ctc(folder / "res_track.txt", pixel_um=1.0)
    assert t.n_rows == 6 and t.meta.extra["track_file"] == "res_track.txt"


def test_pixel_size_is_required(gt_folder):
    with pytest.raises(TracksFormatError, match=r"TRA: CTC mask centroids are in pixels .*--pixel-um"):
        read_ctc(gt_folder)


def test_label_stats_match_a_brute_force_loop():
    rng = np.random.default_rng(3)
    mask = rng.integers(0, 7, size=(40, 50)).astype(np.uint16)
    mask[mask == 4] = 0  # a missing label
    s = label_stats(mask)
    expect = []
    for lab in range(1, 7):
        rows, cols = np.nonzero(mask == lab)
        if rows.size:
            expect.append((lab, rows.size, cols.mean(), rows.mean()))
    got = list(zip(s.label, s.n_pixels, s.x_px, s.y_px))
    assert [g[:2] for g in got] == [e[:2] for e in expect]
    # sums of at most 2000 integers < 2^53 are exact; one division each: 1 ulp
    npt.assert_allclose([g[2:] for g in got], [e[2:] for e in expect], rtol=1e-15)


def test_label_stats_with_huge_labels_uses_compaction():
    mask = np.zeros((4, 4), np.uint32)
    mask[0, 0] = 4_000_000_000
    mask[3, 1:3] = 7
    s = label_stats(mask)
    assert list(s.label) == [7, 4_000_000_000] and list(s.n_pixels) == [2, 1]
    assert list(s.x_px) == [1.5, 0.0] and list(s.y_px) == [3.0, 0.0]


@pytest.mark.parametrize("top", [7, 5_000_000])
def test_label_stats_over_bands_of_rows_equal_one_pass(monkeypatch, top):
    """Bands of 7 pixels (one row, or less than one) give exactly the sums of the whole mask."""
    import cellbench.data.readers.ctc_masks as masks

    rng = np.random.default_rng(5)
    mask = (rng.integers(0, 4, size=(23, 9)) * (top // 3)).astype(np.uint32)
    whole = label_stats(mask)
    monkeypatch.setattr(masks, "_BAND_PIXELS", 7)
    banded = label_stats(mask)
    for a, b in zip((whole.label, whole.n_pixels, whole.x_px, whole.y_px),
                    (banded.label, banded.n_pixels, banded.x_px, banded.y_px)):
        npt.assert_array_equal(a, b)  # integer sums are exact in float64: no tolerance


def test_gap_warns_and_leaves_the_frame_out(gt_folder):
    m = tifffile.imread(gt_folder / "man_track002.tif")
    m[m == 3] = 0  # cell 3 vanishes in frame 2 although man_track.txt lists it for frames 2-3
    tifffile.imwrite(gt_folder / "man_track002.tif", m)
    with pytest.warns(GapWarning, match=r"label 3 in man_track002.tif \(frame 2\)"):
        t = read_ctc(gt_folder, pixel_um=1.0)
    assert list(t.df[t.df.track_id == 3].frame) == [3]
    with pytest.raises(TracksFormatError, match=r"TRA: 1 cell\(s\) listed in man_track.txt are absent"):
        read_ctc(gt_folder, pixel_um=1.0, strict=True)


@pytest.mark.parametrize(
    "change, words",
    [
        ("unlisted", ["man_track003.tif, frame 3", "label 9 is in the mask but not in man_track.txt"]),
        ("outside span", ["man_track001.tif, frame 1", "label 2 is in the mask", "line 2 gives it frames 2-3"]),
        ("missing tiff", ["no mask for frame(s) 2", "man_track002.tif"]),
        ("shape", ["man_track002.tif, frame 2", "(20, 31)", "(20, 30)"]),
        ("float mask", ["man_track001.tif, frame 1", "float32", "integer labels"]),
        ("3d mask", ["man_track000.tif, frame 0", "(2, 20, 30)", "2D"]),
        ("corrupt tiff", ["man_track001.tif, frame 1", "not a readable TIFF"]),
        ("no masks", ["no mask files", "man_track000.tif"]),
    ],
)
def test_mask_mismatches_name_file_and_frame(gt_folder, change, words):
    masks, _ = ctc_division()
    if change == "unlisted":
        masks[3][0, 0] = 9
        tifffile.imwrite(gt_folder / "man_track003.tif", masks[3])
    elif change == "outside span":
        masks[1][18, 0] = 2
        tifffile.imwrite(gt_folder / "man_track001.tif", masks[1])
    elif change == "missing tiff":
        (gt_folder / "man_track002.tif").unlink()
    elif change == "shape":
        tifffile.imwrite(gt_folder / "man_track002.tif", np.zeros((20, 31), np.uint16))
    elif change == "float mask":
        tifffile.imwrite(gt_folder / "man_track001.tif", masks[1].astype(np.float32))
    elif change == "3d mask":
        tifffile.imwrite(gt_folder / "man_track000.tif", np.stack([masks[0], masks[0]]))
    elif change == "corrupt tiff":
        (gt_folder / "man_track001.tif").write_bytes(b"II*\x00garbage")
    elif change == "no masks":
        for f in gt_folder.glob("*.tif"):
            f.unlink()
    with pytest.raises(TracksFormatError) as err:
        read_ctc(gt_folder, pixel_um=1.0)
    msg = str(err.value)
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize(
    "text, words",
    [
        ("1 0 1 0\n2 2 3\n", ["line 2", "'2 2 3' is not 'L B E P'"]),
        ("1 0 1 0\n2 2 x 1\n", ["line 2", "not 'L B E P'"]),
        ("1 0 1 0\n\n2 3 2 1\n", ["line 3", "E must be >= first frame B"]),
        ("0 0 1 0\n", ["line 1", "label L must be >= 1"]),
        ("1 0 1 0\n1 2 3 0\n", ["line 2", "label 1 appears again (first at line 1)"]),
        ("1 0 1 0\n2 2 3 5\n", ["line 2", "parent 5 of label 2 is not a label"]),
        ("1 0 2 0\n2 2 3 1\n", ["line 2", "parent 1 (line 1) ends at frame 2"]),
        ("1 0 1 1\n", ["line 1", "parent P must differ"]),
    ],
)
def test_track_file_errors_name_the_line(tmp_path, text, words):
    path = tmp_path / "man_track.txt"
    path.write_text(text)
    with pytest.raises(TracksFormatError) as err:
        read_track_file(path)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    for w in words:
        assert w in msg, (w, msg)


def test_folder_without_a_track_file(tmp_path):
    with pytest.raises(TracksFormatError, match="no man_track.txt or res_track.txt in this folder"):
        read_ctc(tmp_path, pixel_um=1.0)
