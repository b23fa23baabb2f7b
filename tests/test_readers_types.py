"""Column types and integer ranges: refused by column (and row), never converted silently.

Before issue 13, a parquet ``x_um`` of numeric strings or of booleans loaded as floats (``True``
as 1.0), and a ``uint64`` track id above the int64 range was reported as
``-9223372036854775808``. Integer columns went through float64, so track ids above 2**53
could merge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellbench.data.readers import read_tracks
from cellbench.data.tracks import MAX_FRAME, Tracks, TracksMeta
from cellbench.errors import TracksFormatError
from tests.conftest import csv_spots, trackmate_csv_text, trackmate_xml_text, xml_chain


def _table(**change) -> pd.DataFrame:
    df = pd.DataFrame({"track_id": [1, 2, 1, 2], "frame": [0, 0, 1, 1], "x_um": [0.0, 5.0, 1.0, 6.0],
                       "y_um": [0.0, 0.0, 0.0, 0.0]})
    return df.assign(**change)


def _parquet(tmp_path, df: pd.DataFrame):
    path = tmp_path / "cells.parquet"
    df.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("column, values, words", [
    ("x_um", ["0", "5", "1", "6"], ["'x_um'", "string", "numbers stored as text"]),
    ("x_um", [True, False, True, False], ["'x_um'", "bool", "a number type"]),
    ("frame", pd.to_datetime(["2024-01-01"] * 4), ["'frame'", "timestamp", "an integer type"]),
    ("track_id", ["a", "b", "a", "b"], ["'track_id'", "string"]),
])
def test_parquet_column_of_the_wrong_type_is_refused_by_name(tmp_path, column, values, words):
    path = _parquet(tmp_path, _table(**{column: values}))
    with pytest.raises(TracksFormatError) as err:
        read_tracks(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: column") and all(w in msg for w in words), msg


def test_uint64_track_id_beyond_int64_is_refused_with_its_rows(tmp_path):
    ids = np.array([1, 2**64 - 1, 1, 2**64 - 1], dtype=np.uint64)
    with pytest.raises(TracksFormatError, match=r"cells.parquet, rows 2, 4: column 'track_id' is 18446744073709551615, "
                                                r"beyond the int64 range"):
        read_tracks(_parquet(tmp_path, _table(track_id=ids)))


def test_integer_types_that_fit_are_read_exactly(tmp_path):
    big = np.array([2**62 + 1, 2**62 + 3, 2**62 + 1, 2**62 + 3])  # distinct, but equal after float64 rounding
    t = read_tracks(_parquet(tmp_path, _table(track_id=big, frame=np.array([0, 0, 1, 1], dtype=np.uint32))))
    assert t.df["track_id"].tolist() == [2**62 + 1, 2**62 + 3] * 2 and t.df["frame"].dtype == np.int64
    t = read_tracks(_parquet(tmp_path, _table(track_id=[1.0, 2.0, 1.0, 2.0], x_um=[0, 5, 1, 6])))
    assert t.df["track_id"].dtype == np.int64 and t.df["x_um"].dtype == np.float64


def test_boolean_column_of_a_dataframe_is_refused():
    with pytest.raises(TracksFormatError, match="cells: column 'y_um' holds booleans"):
        Tracks.from_table(_table(y_um=[True, False, True, False]), TracksMeta("cells"))


@pytest.mark.parametrize("frame, words", [
    ("1e300", ["row 7", "'FRAME'", "2**53"]),
    ("100000000000000000000", ["row 7", "'FRAME'", "2**53"]),  # an integer beyond uint64: parsed as a float
    (str(2**62), ["row 7", "'FRAME'", "2**53", str(2**62)]),
    ("18446744073709551615", ["row 7", "'FRAME'", "beyond the int64 range"]),
])
def test_csv_frame_beyond_the_frame_range_is_refused(tmp_path, frame, words):
    rows = csv_spots()
    rows[2]["FRAME"] = frame
    path = tmp_path / "far_spots.csv"
    path.write_text(trackmate_csv_text(rows))
    with pytest.raises(TracksFormatError) as err:
        read_tracks(path)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_largest_frame_is_accepted(tmp_path):
    t = read_tracks(_parquet(tmp_path, _table(frame=[0, 0, MAX_FRAME, MAX_FRAME])))
    assert t.frames.tolist() == [0, MAX_FRAME]


def test_xml_integer_attribute_beyond_2_53_is_refused_by_line(tmp_path):
    text = trackmate_xml_text(*xml_chain())
    assert 'ID="2" FRAME="2"' in text
    path = tmp_path / "far.xml"
    path.write_text(text.replace('ID="2" FRAME="2"', 'ID="2" FRAME="1e300"'))
    with pytest.raises(TracksFormatError, match=r"far.xml, line \d+: Spot ID=2 has '1e300' as attribute FRAME "
                                                r"\(expected an integer >= 0 of at most 2\*\*53\)"):
        read_tracks(path)


def test_feature_column_cannot_replace_a_table_column(tmp_path):
    path = tmp_path / "clash_spots.csv"
    path.write_text(trackmate_csv_text([{**r, "X_UM": 999.0, "Parent_ID": 5} for r in csv_spots()]))
    with pytest.warns(UserWarning, match=r"left out column\(s\) \['X_UM', 'Parent_ID'\]"):
        t = read_tracks(path)
    assert t.df["x_um"].max() < 999 and (t.df["parent_id"] == -1).all()
