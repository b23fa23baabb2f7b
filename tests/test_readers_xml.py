"""TrackMate XML: divisions into daughter tracks, merges, filtering, units, malformed files."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.errors import TracksFormatError
from cellbench.data.readers import read_tracks
from cellbench.data.readers.common import LeakColumnWarning
from cellbench.data.readers.branches import split_branches
from cellbench.data.readers.trackmate_xml import CalibrationWarning, MergeWarning, read_trackmate_xml
from tests.conftest import trackmate_xml_text, xml_chain, xml_spot


def _write(tmp_path, text, name="movie.xml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _division_xml(**kwargs) -> str:
    """Track 4: spot 0 (frame 0) -> 1 (frame 1) divides into 2 -> 4 and 3 -> 5 (frames 2, 3).

    The edge 1-3 is written target-first, as TrackMate may do; it must be re-oriented by frame.
    """
    spots = [
        xml_spot(0, 0, 10.0, 10.0, t=0.0),
        xml_spot(1, 1, 11.0, 10.0, t=5.0),
        xml_spot(2, 2, 12.0, 8.0, t=10.0),
        xml_spot(3, 2, 12.0, 12.0, t=10.0),
        xml_spot(4, 3, 13.0, 7.0, t=15.0),
        xml_spot(5, 3, 13.0, 13.0, t=15.0),
    ]
    return trackmate_xml_text(spots, {4: [(0, 1), (1, 2), (3, 1), (2, 4), (3, 5)]}, **kwargs)


def test_division_gives_daughters_new_ids_and_the_mother_as_parent(tmp_path):
    t = read_trackmate_xml(_write(tmp_path, _division_xml()))
    df = t.df
    mother = df[df.frame <= 1]
    assert list(mother.track_id) == [4, 4] and (mother.parent_id == -1).all()  # the mother keeps TRACK_ID
    daughters = df[df.frame >= 2]
    assert set(daughters.track_id) == {5, 6}  # new ids from max(TRACK_ID) + 1
    assert (daughters.parent_id == 4).all()
    # daughter 5 starts at the lower spot ID (2, y = 8); each daughter keeps its own branch
    assert list(df[df.track_id == 5].y_um) == [8.0, 7.0] and list(df[df.track_id == 6].y_um) == [12.0, 13.0]
    assert t.n_rows == 6 and list(df.columns[:5]) == ["track_id", "frame", "x_um", "y_um", "parent_id"]


def test_track_and_edge_features_never_become_columns(tmp_path):
    t = read_trackmate_xml(_write(tmp_path, _division_xml()))
    for name in ("track_duration", "track_mean_speed", "link_cost", "speed", "displacement", "edge_time"):
        assert not any(name in c for c in t.df.columns), t.df.columns


def test_units_micron_and_minutes(tmp_path):
    image = {"pixelwidth": 0.645, "pixelheight": 0.645, "timeinterval": 5.0}
    t = read_trackmate_xml(_write(tmp_path, _division_xml(timeunits="min", image_data=image)))
    assert t.meta.pixel_um == 0.645 and t.meta.frame_interval_s == 300.0
    npt.assert_allclose(t.df["t_s"], t.df["frame"] * 300.0, rtol=1e-12)
    npt.assert_array_equal(t.df[t.df.frame == 0][["x_um", "y_um"]].to_numpy(), [[10.0, 10.0]])


def test_units_nanometres_are_converted(tmp_path):
    image = {"pixelwidth": 645.0, "timeinterval": 5.0}
    t = read_trackmate_xml(_write(tmp_path, _division_xml(spatialunits="nm", image_data=image)))
    npt.assert_allclose(t.df["x_um"].iloc[0], 10.0e-3, rtol=1e-15)
    npt.assert_allclose(t.df["radius_um"], 2.0e-3, rtol=1e-15)
    assert t.meta.pixel_um == pytest.approx(0.645, rel=1e-12)


def test_pixels_need_a_pixel_size(tmp_path):
    path = _write(tmp_path, _division_xml(spatialunits="pixel", image_data={"pixelwidth": 1.0}))
    with pytest.raises(TracksFormatError, match=r"movie.xml: spot positions \(Model spatialunits='pixel'\) are in pixels.*--pixel-um"):
        read_trackmate_xml(path)
    t = read_trackmate_xml(path, pixel_um=0.5)
    npt.assert_array_equal(t.df["x_um"].iloc[0], 5.0)
    assert t.meta.pixel_um == 0.5 and (t.df["radius_um"] == 1.0).all()


def test_explicit_pixel_size_that_contradicts_the_file_wins_with_a_warning(tmp_path):
    # file: 2 micron per pixel, so x = 10 micron is pixel 5; the user says 0.5 um per pixel -> 2.5 um
    path = _write(tmp_path, _division_xml(image_data={"pixelwidth": 2.0, "timeinterval": 1.0}))
    with pytest.warns(CalibrationWarning, match="pixel_um=0.5 contradicts"):
        t = read_trackmate_xml(path, pixel_um=0.5)
    assert t.df["x_um"].iloc[0] == 2.5 and t.meta.pixel_um == 0.5


def test_explicit_frame_interval_that_contradicts_the_file_wins_with_a_warning(tmp_path):
    # uncalibrated ImageJ time: TrackMate writes timeinterval 1 "sec", POSITION_T = 5 per frame here
    path = _write(tmp_path, _division_xml(image_data={"pixelwidth": 1.0, "timeinterval": 5.0}))
    with pytest.warns(CalibrationWarning, match="frame_interval_s=300"):
        t = read_trackmate_xml(path, frame_interval_s=300.0)
    assert t.meta.frame_interval_s == 300.0
    npt.assert_allclose(t.df["t_s"], t.df["frame"] * 300.0, rtol=1e-12)


def test_uncalibrated_movie_has_no_time_unless_told(tmp_path):
    # TrackMate on an uncalibrated movie: pixel units, timeinterval 1 "sec", POSITION_T = frame
    spots, tracks = xml_chain(n_frames=3)
    for s in spots:
        s["POSITION_T"] = float(s["FRAME"])
    text = trackmate_xml_text(spots, tracks, spatialunits="pixel", image_data={"pixelwidth": 1.0, "timeinterval": 1.0})
    path = _write(tmp_path, text)
    t = read_trackmate_xml(path, pixel_um=0.645)
    assert t.meta.frame_interval_s is None and "t_s" not in t.df.columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = read_trackmate_xml(path, pixel_um=0.645, frame_interval_s=300.0)
    assert t.meta.frame_interval_s == 300.0
    npt.assert_array_equal(t.df["t_s"], t.df["frame"] * 300.0)


def test_matching_explicit_calibration_is_silent(tmp_path):
    path = _write(tmp_path, _division_xml(image_data={"pixelwidth": 0.645, "timeinterval": 5.0}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = read_trackmate_xml(path, pixel_um=0.645, frame_interval_s=5.0)
    assert t.meta.pixel_um == 0.645


def test_frame_interval_inferred_from_position_t_without_image_data(tmp_path):
    t = read_trackmate_xml(_write(tmp_path, _division_xml(timeunits="sec")))
    assert t.meta.frame_interval_s == 5.0


def test_declared_length_features_get_um(tmp_path):
    spots, tracks = xml_chain(n_frames=3)
    for s in spots:
        s.update(ELLIPSE_MAJOR=4.0, AREA=9.0, MEAN_INTENSITY_CH1=120.0)
    text = trackmate_xml_text(spots, tracks, spatialunits="pixel",
                              features={"ELLIPSE_MAJOR": "LENGTH", "AREA": "AREA", "MEAN_INTENSITY_CH1": "INTENSITY"})
    t = read_trackmate_xml(_write(tmp_path, text), pixel_um=0.5)
    assert (t.df["ellipse_major_um"] == 2.0).all() and (t.df["area_um2"] == 2.25).all()
    assert (t.df["mean_intensity_ch1"] == 120.0).all()


def test_manual_spot_color_is_dropped_as_a_leak(tmp_path):
    spots, tracks = xml_chain(n_frames=2)
    spots[0]["MANUAL_SPOT_COLOR"] = -10000
    spots[1]["MANUAL_SPOT_COLOR"] = -10000
    with pytest.warns(LeakColumnWarning, match="MANUAL_SPOT_COLOR"):
        t = read_trackmate_xml(_write(tmp_path, trackmate_xml_text(spots, tracks)))
    assert "manual_spot_color" not in t.df.columns


def test_filtered_tracks_decide_which_tracks_are_kept(tmp_path):
    a, ta = xml_chain(track_id=1, first_spot=0)
    b, tb = xml_chain(track_id=2, first_spot=10, x0=50.0)
    c, tc = xml_chain(track_id=3, first_spot=20, x0=90.0)
    text = trackmate_xml_text(a + b + c, {**ta, **tb, **tc}, filtered=[1, 3])
    with pytest.warns(UserWarning, match="dropped 3 spot"):
        t = read_trackmate_xml(_write(tmp_path, text))
    assert list(t.track_ids) == [1, 3] and t.n_rows == 6


def test_without_filtered_tracks_every_track_is_kept_and_unlinked_spots_dropped(tmp_path):
    a, ta = xml_chain(track_id=1, first_spot=0)
    lone = xml_spot(99, 1, 40.0, 40.0)
    with pytest.warns(UserWarning, match="dropped 1 spot"):
        t = read_trackmate_xml(_write(tmp_path, trackmate_xml_text(a + [lone], ta)))
    assert list(t.track_ids) == [1] and t.n_rows == 3


def test_merge_starts_a_new_branch_with_a_warning(tmp_path):
    # spots 0 and 1 (frame 0, 1) and 2 (frame 1) merge into 3 (frame 2) -> 4 (frame 3)
    spots = [xml_spot(0, 0, 0.0, 0.0), xml_spot(1, 1, 1.0, 0.0), xml_spot(2, 1, 5.0, 5.0),
             xml_spot(3, 2, 3.0, 3.0), xml_spot(4, 3, 3.0, 4.0)]
    text = trackmate_xml_text(spots, {7: [(0, 1), (1, 3), (2, 3), (3, 4)]})
    with pytest.warns(MergeWarning, match=r"1 merge\(s\).*spot ID=3 \(line \d+\)"):
        t = read_trackmate_xml(_write(tmp_path, text))
    df = t.df
    assert list(df[df.track_id == 7].frame) == [0, 1]  # the first root keeps TRACK_ID and ends at the merge
    others = df[df.track_id != 7]
    assert set(others.track_id) == {8, 9}
    assert (others.parent_id == -1).all()  # a merged branch has no single mother
    assert list(df[df.frame >= 2].track_id.unique()) == [9]  # the merged branch continues to frame 3


def test_gap_closing_link_stays_one_track(tmp_path):
    spots = [xml_spot(0, 0, 0.0, 0.0), xml_spot(1, 1, 1.0, 0.0), xml_spot(2, 4, 4.0, 0.0)]
    t = read_trackmate_xml(_write(tmp_path, trackmate_xml_text(spots, {0: [(0, 1), (1, 2)]})))
    assert list(t.df.track_id) == [0, 0, 0] and list(t.df.frame) == [0, 1, 4]


def test_frame_falls_back_to_spots_in_frame(tmp_path):
    spots, tracks = xml_chain(n_frames=3)
    text = trackmate_xml_text(spots, tracks).replace(' FRAME="1"', "")
    t = read_trackmate_xml(_write(tmp_path, text))
    assert list(t.df.frame) == [0, 1, 2]


def test_split_branches_on_a_lineage_tree():
    # 0 -> 1 -> {2, 3}; 3 -> {4, 5}: branches {0,1}, {2}, {3}, {4}, {5}
    frames = np.array([0, 1, 2, 2, 3, 3])
    ids = np.arange(6)
    src, dst = np.array([0, 1, 1, 3, 3]), np.array([1, 2, 3, 4, 5])
    branch, parent, merges = split_branches(frames, ids, src, dst, np.ones(6, bool))
    npt.assert_array_equal(branch, [0, 0, 1, 2, 3, 4])
    npt.assert_array_equal(parent, [-1, 0, 0, 2, 2])
    assert merges.size == 0


def test_truncated_xml_names_file_and_line(tmp_path):
    text = _division_xml()
    cut = text[: text.index("<AllTracks>") + 20]
    path = _write(tmp_path, cut)
    n_lines = cut.count("\n") + 1
    with pytest.raises(TracksFormatError, match=rf"movie.xml, line {n_lines}, column \d+: malformed XML.*truncated"):
        read_trackmate_xml(path)


def test_malformed_xml_names_the_line_of_the_error(tmp_path):
    text = _division_xml().replace('<Spot name="ID3"', '<Spot name="ID3" name="twice"')
    line = next(i for i, s in enumerate(text.splitlines(), 1) if 'name="twice"' in s)
    with pytest.raises(TracksFormatError, match=rf"movie.xml, line {line}, column \d+: malformed XML: duplicate attribute"):
        read_trackmate_xml(_write(tmp_path, text))


def test_spot_errors_name_the_line_and_spot(tmp_path):
    text = _division_xml().replace('POSITION_X="12.0" POSITION_Y="12.0"', 'POSITION_X="nan" POSITION_Y="12.0"')
    line = next(i for i, s in enumerate(text.splitlines(), 1) if 'POSITION_X="nan"' in s)
    with pytest.raises(TracksFormatError, match=rf"movie.xml, line {line}: Spot ID=3 has 'nan' as attribute POSITION_X"):
        read_trackmate_xml(_write(tmp_path, text))


def test_read_tracks_dispatches_xml(tmp_path):
    t = read_tracks(_write(tmp_path, _division_xml()))
    assert t.n_rows == 6 and t.meta.dataset == "movie"


def _random_lineage(seed: int, n_roots: int = 4, n_frames: int = 12, p_divide: float = 0.15, p_end: float = 0.05):
    """Random division trees; spot IDs shuffled, edges shuffled and written in random orientation.

    Returns spots (POSITION_X = spot ID, to trace each row back), tracks, and the true links.
    """
    rng = np.random.default_rng(seed)
    ids = iter(rng.permutation(10_000))
    spots, links, tracks = [], [], {}
    for root in range(n_roots):
        alive = [int(next(ids))]
        spots.append(xml_spot(alive[0], 0, float(alive[0]), 0.0))
        edges = []
        for f in range(1, n_frames):
            nxt = []
            for s in alive:
                if rng.random() < p_end:
                    continue
                for _ in range(2 if rng.random() < p_divide else 1):
                    c = int(next(ids))
                    spots.append(xml_spot(c, f, float(c), 0.0))
                    edges.append((s, c))
                    nxt.append(c)
            alive = nxt
        if edges:
            links += edges
            order = rng.permutation(len(edges))
            tracks[10 * root] = [edges[i] if rng.random() < 0.5 else edges[i][::-1] for i in order]
    linked = {s for e in links for s in e}
    return [s for s in spots if s["ID"] in linked], tracks, links


@pytest.mark.parametrize("seed", range(5))
def test_random_lineages_split_into_consistent_branches(tmp_path, seed):
    spots, tracks, links = _random_lineage(seed)
    t = read_trackmate_xml(_write(tmp_path, trackmate_xml_text(spots, tracks)))
    df = t.df
    assert t.n_rows == len(spots)
    children: dict[int, list[int]] = {}
    for s, c in links:
        children.setdefault(s, []).append(c)
    # one branch per root, plus one per daughter of each division
    assert len(t.track_ids) == len(tracks) + sum(len(c) for c in children.values() if len(c) > 1)
    by_track = {k: g.sort_values("frame") for k, g in df.groupby("track_id")}
    for k, g in by_track.items():
        ids = g["x_um"].astype(int).tolist()  # POSITION_X is the spot ID
        assert (np.diff(g["frame"]) == 1).all()
        for a, b in zip(ids, ids[1:]):  # consecutive spots of a branch are linked, without a division
            assert children[a] == [b]
        parent = int(g["parent_id"].iloc[0])
        assert (g["parent_id"] == parent).all()
        if parent == -1:
            assert k in tracks  # roots keep their TrackMate TRACK_ID
        else:
            mother_last = int(by_track[parent]["x_um"].iloc[-1])
            assert ids[0] in children[mother_last] and len(children[mother_last]) == 2


def test_xml_tracks_survive_the_parquet_round_trip(tmp_path):
    t = read_trackmate_xml(_write(tmp_path, _division_xml(image_data={"pixelwidth": 0.5, "timeinterval": 5.0})))
    t.save(tmp_path / "movie.parquet")
    back = read_tracks(tmp_path / "movie.parquet")
    assert back.df.equals(t.df) and back.meta == t.meta
