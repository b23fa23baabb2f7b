"""The Tracks table: each validation rule, sorting, and the exact parquet round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from cellbench.errors import TracksFormatError
from cellbench.data.tracks import NO_PARENT, Tracks, TracksMeta


def _df(**override) -> pd.DataFrame:
    """Two tracks over three frames, sorted by (frame, track_id)."""
    df = pd.DataFrame(
        {
            "track_id": [1, 2, 1, 2, 1, 2],
            "frame": [0, 0, 1, 1, 2, 2],
            "x_um": [0.0, 10.0, 1.0, 11.0, 2.0, 12.0],
            "y_um": [0.0, 5.0, 0.5, 5.5, 1.0, 6.0],
        }
    )
    for k, v in override.items():
        df[k] = v
    return df


META = TracksMeta(dataset="unit", source_path="cells.csv")


def test_valid_table_gets_canonical_dtypes():
    t = Tracks.from_table(_df(), META)
    assert t.n_rows == 6 and list(t.track_ids) == [1, 2] and list(t.frames) == [0, 1, 2]
    assert t.df["track_id"].dtype == "int64" and t.df["frame"].dtype == "int64"
    assert t.df["x_um"].dtype == "float64" and t.df["y_um"].dtype == "float64"
    assert t.positions_um().shape == (6, 2)


# (override of one column, the words the error must contain). Row numbers are 1-based table rows.
RULES = {
    "missing column": (lambda df: df.drop(columns="y_um"), ["missing column", "y_um"]),
    "empty table": (lambda df: df.iloc[:0], ["no rows"]),
    "text coordinate": (lambda df: df.assign(x_um=["0", "a", "1", "2", "3", "4"]), ["row 2", "'x_um'", "'a'"]),
    "NaN coordinate": (lambda df: df.assign(x_um=[0, 1, np.nan, 3, 4, 5]), ["row 3", "'x_um'", "finite"]),
    "infinite coordinate": (lambda df: df.assign(y_um=[0, 1, 2, 3, -np.inf, 5]), ["row 5", "'y_um'", "finite"]),
    "huge coordinate": (lambda df: df.assign(x_um=[0, 1, 2, 3, 4, 1e300]), ["row 6", "'x_um'", "1e+300"]),
    "non-integer frame": (lambda df: df.assign(frame=[0, 0, 1.5, 1, 2, 2]), ["row 3", "'frame'", "integer"]),
    "negative frame": (lambda df: df.assign(frame=[-1, 0, 1, 1, 2, 2]), ["row 1", "'frame'", ">= 0"]),
    "non-integer track_id": (lambda df: df.assign(track_id=[1, 2.5, 1, 2, 1, 2]), ["row 2", "'track_id'"]),
    "duplicated (track_id, frame)": (lambda df: df.assign(frame=[0, 0, 0, 1, 2, 2]), ["rows 1, 3", "more than once"]),
    "non-finite t_s": (lambda df: df.assign(t_s=[0, 0, np.nan, 1, 2, 2]), ["row 3", "'t_s'"]),
    "negative-infinite radius": (lambda df: df.assign(radius_um=[1, 1, 1, 1, 1, -np.inf]), ["row 6", "'radius_um'"]),
    "non-integer parent_id": (lambda df: df.assign(parent_id=[-1, -1, -1, 0.5, -1, -1]), ["row 4", "'parent_id'"]),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_validation_rule_names_file_row_and_column(rule):
    change, words = RULES[rule]
    with pytest.raises(TracksFormatError) as err:
        Tracks.from_table(change(_df()), META)
    msg = str(err.value)
    assert msg.startswith("cells.csv"), msg
    for w in words:
        assert w in msg, (w, msg)


def test_errors_use_the_files_row_numbers():
    # a 4-header-row CSV: table row k is file row k + 4
    with pytest.raises(TracksFormatError, match=r"row 7: column 'x_um'"):
        Tracks.from_table(_df(x_um=[0, 1, np.nan, 3, 4, 5]), META, file_rows=np.arange(5, 11))


def test_unsorted_rows_are_an_error_only_when_sorting_is_off():
    shuffled = _df().iloc[[5, 0, 3, 1, 4, 2]]
    with pytest.raises(TracksFormatError, match="not sorted by"):
        Tracks.from_table(shuffled, META, sort=False)
    t = Tracks.from_table(shuffled, META)
    pdt.assert_frame_equal(t.df, Tracks.from_table(_df(), META).df)


def test_sorting_is_by_frame_then_track_and_keeps_rows_whole():
    df = pd.DataFrame(
        {"track_id": [7, 3, 3, 7, 5], "frame": [2, 2, 0, 0, 1], "x_um": [72.0, 32.0, 30.0, 70.0, 51.0],
         "y_um": [0.0, 1.0, 2.0, 3.0, 4.0], "area_um2": [1.0, 2.0, 3.0, 4.0, 5.0]}
    )
    t = Tracks.from_table(df, META)
    assert list(zip(t.df.frame, t.df.track_id)) == [(0, 3), (0, 7), (1, 5), (2, 3), (2, 7)]
    assert list(t.df.x_um) == [30.0, 70.0, 51.0, 32.0, 72.0]  # each row moved as a whole
    assert list(t.df.area_um2) == [3.0, 4.0, 5.0, 2.0, 1.0]
    assert isinstance(t.df.index, pd.RangeIndex)


def test_one_spot_is_a_valid_table():
    t = Tracks.from_table(_df().iloc[:1], META)
    assert t.n_rows == 1


def test_parquet_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    df = _df(t_s=np.arange(6) * 300.0, radius_um=rng.uniform(1, 3, 6), parent_id=[NO_PARENT] * 6,
             mean_intensity_ch1=rng.normal(size=6))
    df["x_um"] = rng.normal(size=6) * 1e3  # full float64 mantissas
    meta = TracksMeta(dataset="BF-C2DL-HSC_02", pixel_um=0.645, frame_interval_s=300.0,
                      fov_um=(-0.3225, -0.3225, 651.1275, 651.1275), source_path="/data/x.csv",
                      source_sha256="ab" * 32, extra={"note": "µm", "n": [1, 2]})
    t = Tracks.from_table(df, meta)
    path = tmp_path / "t.parquet"
    t.save(path)
    back = Tracks.load(path)
    pdt.assert_frame_equal(back.df, t.df, check_exact=True)
    assert back.meta == meta
    assert list(tmp_path.iterdir()) == [path]  # the atomic write left no temporary file


def test_parquet_without_metadata_gets_a_default_meta(tmp_path):
    path = tmp_path / "plain.parquet"
    _df().to_parquet(path, index=False)
    t = Tracks.load(path)
    assert t.meta.dataset == "plain" and t.meta.source_path == str(path) and t.n_rows == 6


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"pixel_um": 0.0}, ["pixel_um", "> 0"]),
        ({"pixel_um": float("nan")}, ["pixel_um"]),
        ({"frame_interval_s": -5.0}, ["frame_interval_s", "> 0 s"]),
        ({"fov_um": (0, 0, -1, 10)}, ["fov_um", "max > min"]),
    ],
)
def test_meta_is_validated(kwargs, words):
    with pytest.raises(TracksFormatError) as err:
        TracksMeta(dataset="m", **kwargs)
    for w in words:
        assert w in str(err.value)
