"""TrackMate spots CSV: both header layouts, units, leak columns, the frame interval, real data."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.testing as npt
import pytest

from cellbench.errors import TracksFormatError
from cellbench.data.readers import read_tracks
from cellbench.data.readers.common import LeakColumnWarning
from cellbench.data.readers.trackmate_csv import read_trackmate_csv
from tests.conftest import csv_spots, trackmate_csv_text


def _write(tmp_path, rows, name="cells_spots.csv", **kwargs):
    path = tmp_path / name
    path.write_text(trackmate_csv_text(rows, **kwargs))
    return path


def test_four_header_rows_in_micron(tmp_path):
    path = _write(tmp_path, csv_spots(n_tracks=2, n_frames=3))
    t = read_trackmate_csv(path)
    assert t.n_rows == 6 and list(t.track_ids) == [0, 1] and list(t.frames) == [0, 1, 2]
    npt.assert_array_equal(t.df["x_um"], [0.0, 10.0, 1.0, 11.0, 2.0, 12.0])  # micron: no conversion
    npt.assert_array_equal(t.df["y_um"], [0.0, 5.0] * 3)
    npt.assert_array_equal(t.df["radius_um"], 2.5)
    assert (t.df["parent_id"] == -1).all()
    assert t.meta.dataset == "cells" and t.meta.source_path == str(path) and len(t.meta.source_sha256) == 64


def test_one_header_row_needs_a_unit(tmp_path):
    path = _write(tmp_path, csv_spots(), length_unit=None)
    with pytest.raises(TracksFormatError, match="state no unit.*--pixel-um.*4-header-row TrackMate spots CSV"):
        read_trackmate_csv(path)
    t = read_trackmate_csv(path, position_units="micron")
    npt.assert_array_equal(t.df["x_um"], [0.0, 10.0, 1.0, 11.0, 2.0, 12.0])


def test_one_header_row_with_a_pixel_size_is_read_as_pixels(tmp_path):
    path = _write(tmp_path, csv_spots(), length_unit=None)
    t = read_trackmate_csv(path, pixel_um=0.5)
    npt.assert_allclose(t.df["x_um"], [0.0, 5.0, 0.5, 5.5, 1.0, 6.0], rtol=0, atol=0)  # x0.5 is exact in binary
    assert t.meta.pixel_um == 0.5


def test_pixels_are_converted_with_the_pixel_size(tmp_path):
    path = _write(tmp_path, csv_spots(), length_unit="pixel")
    t = read_trackmate_csv(path, pixel_um=0.645)
    npt.assert_allclose(t.df["x_um"], np.array([0, 10, 1, 11, 2, 12]) * 0.645, rtol=1e-15)
    npt.assert_allclose(t.df["radius_um"], 2.5 * 0.645, rtol=1e-15)


def test_pixels_without_a_pixel_size_are_refused(tmp_path):
    path = _write(tmp_path, csv_spots(), length_unit="pixel")
    with pytest.raises(TracksFormatError, match=r"cells_spots.csv: POSITION_X/Y are in pixels .*--pixel-um"):
        read_trackmate_csv(path)


def test_nanometres_are_converted(tmp_path):
    path = _write(tmp_path, csv_spots(), length_unit="nm")
    t = read_trackmate_csv(path)
    npt.assert_allclose(t.df["x_um"], np.array([0, 10, 1, 11, 2, 12]) * 1e-3, rtol=1e-15)


def test_leak_columns_are_dropped_with_one_warning_listing_them(tmp_path):
    leaks = {"TRACK_DURATION": 9.0, "TRACK_MEAN_SPEED": 1.0, "EDGE_TIME": 3.0, "DISPLACEMENT": 0.5,
             "LINK_COST": 0.1, "MANUAL_SPOT_COLOR": 7}
    path = _write(tmp_path, csv_spots(MEAN_INTENSITY_CH1=4.0, **leaks))
    with pytest.warns(LeakColumnWarning) as record:
        t = read_trackmate_csv(path)
    leak_warnings = [w for w in record if issubclass(w.category, LeakColumnWarning)]
    assert len(leak_warnings) == 1
    msg = str(leak_warnings[0].message)
    for name in leaks:
        assert name in msg and name.lower() not in t.df.columns
    assert "mean_intensity_ch1" in t.df.columns  # a per-spot feature stays


def test_no_warning_without_leak_columns(tmp_path):
    path = _write(tmp_path, csv_spots())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_trackmate_csv(path)


@pytest.mark.parametrize("unit, factor_s", [("sec", 1.0), ("min", 60.0)])
def test_frame_interval_is_inferred_from_position_t(tmp_path, unit, factor_s):
    path = _write(tmp_path, csv_spots(dt_s=5.0), time_unit=unit)
    t = read_trackmate_csv(path)
    assert t.meta.frame_interval_s == pytest.approx(5.0 * factor_s, rel=1e-12)
    npt.assert_allclose(t.df["t_s"], t.df["frame"] * 5.0 * factor_s, rtol=1e-12)


def test_explicit_frame_interval_wins(tmp_path):
    path = _write(tmp_path, csv_spots(dt_s=5.0))
    assert read_trackmate_csv(path, frame_interval_s=7.0).meta.frame_interval_s == 7.0


def test_rows_are_sorted_and_errors_count_header_rows(tmp_path):
    rows = csv_spots()[::-1]  # frame 2 first
    rows[1]["POSITION_Y"] = "oops"  # file row 4 headers + 2 = 6
    path = _write(tmp_path, rows)
    with pytest.raises(TracksFormatError, match=r"cells_spots.csv, row 6: column '(POSITION_Y|y_um)' is 'oops'"):
        read_trackmate_csv(path)
    rows[1]["POSITION_Y"] = 5.0
    t = read_trackmate_csv(_write(tmp_path, rows))
    assert list(t.df["frame"]) == [0, 0, 1, 1, 2, 2] and list(t.df["track_id"]) == [0, 1] * 3


def test_spots_without_a_track_are_dropped_with_a_warning(tmp_path):
    rows = csv_spots()
    rows.append({**rows[0], "ID": 99, "TRACK_ID": None, "FRAME": 1})
    with pytest.warns(UserWarning, match="dropped 1 spot"):
        t = read_trackmate_csv(_write(tmp_path, rows))
    assert t.n_rows == 6


def test_read_tracks_dispatches_csv(tmp_path):
    path = _write(tmp_path, csv_spots(), length_unit="pixel")
    t = read_tracks(path, pixel_um=2.0)
    npt.assert_array_equal(t.df["x_um"], [0.0, 20.0, 2.0, 22.0, 4.0, 24.0])


@pytest.mark.realdata
@pytest.mark.parametrize("seq, n_rows, n_tracks", [("01", 8_562, 23), ("02", 54_261, 317)])
def test_real_bf_c2dl_hsc(real_data_dir, seq, n_rows, n_tracks):
    path = real_data_dir / f"BF-C2DL-HSC_{seq}_spots.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    t = read_tracks(path)
    assert t.n_rows == n_rows and len(t.track_ids) == n_tracks
    assert t.meta.dataset == f"BF-C2DL-HSC_{seq}"
    assert t.meta.frame_interval_s == pytest.approx(300.0, rel=1e-9)  # one frame every 5 min (README)
    # positions in um inside the 1010 px x 0.645 um/px field of view
    assert t.df["x_um"].between(0, 1010 * 0.645).all() and t.df["y_um"].between(0, 1010 * 0.645).all()
    assert t.df.groupby("frame").size().max() == {"01": 12, "02": 119}[seq]


def test_one_header_layout_keeps_a_first_row_with_a_missing_position(tmp_path):
    """A data row whose POSITION_X is empty is an error on that row, not a second header row."""
    from cellbench.errors import TracksFormatError
    from cellbench.data.readers import read_tracks

    path = tmp_path / "spots.csv"
    path.write_text("TRACK_ID,FRAME,POSITION_X,POSITION_Y\n1,0,,2.0\n1,1,3.0,2.0\n")
    with pytest.raises(TracksFormatError, match=r"row 2: column 'POSITION_X'"):
        read_tracks(path, position_units="micron")


def test_negative_track_id_is_refused(tmp_path):
    from cellbench.errors import TracksFormatError
    from cellbench.data.readers import read_tracks

    path = tmp_path / "spots.csv"
    path.write_text("TRACK_ID,FRAME,POSITION_X,POSITION_Y\n-1,0,1.0,2.0\n")
    with pytest.raises(TracksFormatError, match=r"row 2: column 'TRACK_ID' is -1"):
        read_tracks(path, position_units="micron")
