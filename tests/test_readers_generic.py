"""Column tables from other trackers (napari, Ultrack, laptrack, btrack) and --columns mappings.

The files are written by the tests in each tool's documented (or, for btrack, coded) layout;
see the sources cited in ``cellbench/data/readers/formats.py``.
"""

from __future__ import annotations

import warnings

import numpy.testing as npt
import pandas as pd
import pytest
from typer.testing import CliRunner

from cellbench.cli import app, load_command
from cellbench.data.readers import read_tracks
from cellbench.data.readers.generic import FormatDetectedWarning
from cellbench.data.readers.options import ReadOptions, parse_columns
from cellbench.errors import ConfigError, TracksFormatError
from tests.conftest import csv_spots, trackmate_csv_text

pytestmark = pytest.mark.filterwarnings("ignore::cellbench.data.readers.generic.FormatDetectedWarning")

# two tracks over three frames; rows deliberately not sorted by frame
NAPARI = "track_id,t,y,x\n1,0,10,5\n1,1,11,6\n2,0,20,25\n2,1,21,26\n1,2,12,7\n"


def _write(tmp_path, text: str, name: str = "cells.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _read(path, **kwargs):
    """read_tracks, returning the table and the warnings it raised."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        t = read_tracks(path, **kwargs)
    return t, record


def test_napari_csv_is_detected_and_read_in_um(tmp_path):
    t, record = _read(_write(tmp_path, NAPARI), position_units="um", frame_interval_s=30.0)
    detected = [w for w in record if w.category is FormatDetectedWarning]
    assert len(detected) == 1 and "format napari" in str(detected[0].message)
    assert "cells.csv" in str(detected[0].message) and "--format" in str(detected[0].message)
    assert list(t.df["frame"]) == [0, 0, 1, 1, 2] and list(t.df["track_id"]) == [1, 2, 1, 2, 1]
    npt.assert_array_equal(t.df["x_um"], [5, 25, 6, 26, 7])  # x is the last column, y the one before it
    npt.assert_array_equal(t.df["y_um"], [10, 20, 11, 21, 12])
    npt.assert_array_equal(t.df["t_s"], [0, 0, 30, 30, 60])
    assert t.meta.frame_interval_s == 30.0 and t.meta.dataset == "cells" and len(t.meta.source_sha256) == 64


def test_pixels_are_converted_and_a_missing_unit_is_refused(tmp_path):
    path = _write(tmp_path, NAPARI)
    t, _ = _read(path, pixel_um=0.5)  # a pixel size alone means the positions are in pixels
    npt.assert_array_equal(t.df["x_um"], [2.5, 12.5, 3.0, 13.0, 3.5])
    assert t.meta.pixel_um == 0.5
    t, _ = _read(path, position_units="nm")
    npt.assert_allclose(t.df["x_um"], [0.005, 0.025, 0.006, 0.026, 0.007])
    with pytest.raises(TracksFormatError, match=r"cells\.csv: .*unit of its positions.*--position-units.*--pixel-um"):
        read_tracks(path, format="napari")
    with pytest.raises(TracksFormatError, match="--pixel-um"):
        read_tracks(path, position_units="px")


def test_ultrack_table_reads_parent_track_ids_not_node_ids(tmp_path):
    # to_tracks_layer(include_parents=True, include_node_ids=True): parent_id is the parent *node*
    text = ("track_id,t,y,x,id,parent_track_id,parent_id\n"
            "1,0,0,0,100,-1,-1\n1,1,0,1,101,-1,100\n2,2,0,2,102,1,101\n3,2,5,2,103,1,101\n")
    t, record = _read(_write(tmp_path, text), position_units="um")
    assert any("format ultrack" in str(w.message) for w in record if w.category is FormatDetectedWarning)
    assert dict(zip(t.df["track_id"], t.df["parent_id"])) == {1: -1, 2: 1, 3: 1}
    assert "id" not in t.df.columns


def test_btrack_csv_space_separated_drops_dummies_and_roots_parents(tmp_path):
    # export_CSV: delimiter " ", header ID t x y z parent root state generation dummy; a root's parent is its ID
    rows = ["1 0 1.0 2.0 0.0 1 1 0 0 0", "1 1 1.5 2.5 0.0 1 1 0 0 0", "1 2 9.0 9.0 0.0 1 1 0 0 1",
            "1 3 2.5 3.5 0.0 1 1 0 0 0", "2 4 2.6 3.6 0.0 1 1 0 1 0", "3 4 2.4 3.4 0.0 1 1 0 1 0"]
    text = "ID t x y z parent root state generation dummy\n" + "\n".join(rows) + "\n"
    t, record = _read(_write(tmp_path, text), pixel_um=2.0)
    messages = [str(w.message) for w in record]
    assert any("format btrack" in m for m in messages)
    assert any("dropped 1 row(s) with dummy = 1" in m for m in messages)
    assert list(t.df["frame"]) == [0, 1, 3, 4, 4]  # the dummy at frame 2 leaves a gap
    npt.assert_array_equal(t.df["x_um"], [2.0, 3.0, 5.0, 5.2, 4.8])
    assert dict(zip(t.df["track_id"], t.df["parent_id"])) == {1: -1, 2: 1, 3: 1}


def test_laptrack_track_df(tmp_path):
    # predict_dataframe(df, ["position_x", "position_y"]) -> frame, position_x, position_y, index, track_id, tree_id
    text = ("frame,position_x,position_y,index,track_id,tree_id\n"
            "0,1.0,2.0,0,0,0\n1,1.5,2.5,0,0,0\n0,7.0,8.0,1,1,1\n1,7.5,8.5,1,1,1\n")
    t, record = _read(_write(tmp_path, text), position_units="um")
    assert any("format laptrack" in str(w.message) for w in record)
    npt.assert_array_equal(t.df["x_um"], [1.0, 7.0, 1.5, 7.5])
    assert set(t.df.columns) == {"track_id", "frame", "x_um", "y_um"}


def test_generic_columns_on_csv_and_parquet(tmp_path):
    df = pd.DataFrame({"cell": [4, 4, 9], "time": [0.0, 20.0, 20.0], "px": [1.0, 2.0, 3.0], "py": [4.0, 5.0, 6.0],
                       "r": [1.0, 1.0, 2.0], "mother": [-1, -1, 4]})
    csv, parquet = tmp_path / "mine.csv", tmp_path / "mine.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet)
    cols = parse_columns("track=cell,time_s=time,x=px,y=py,radius=r,parent=mother")
    for path in (csv, parquet):
        t, record = _read(path, columns=cols, position_units="um", frame_interval_s=20.0)
        assert not [w for w in record if w.category is FormatDetectedWarning]
        assert list(t.df["frame"]) == [0, 1, 1] and list(t.df["parent_id"]) == [-1, -1, 4]
        npt.assert_array_equal(t.df["t_s"], [0.0, 20.0, 20.0])
        npt.assert_array_equal(t.df["radius_um"], [1.0, 1.0, 2.0])
    with pytest.raises(TracksFormatError, match=r"column 'time' holds times in s; pass --frame-interval-s"):
        read_tracks(csv, columns=cols, position_units="um")
    with pytest.raises(TracksFormatError, match=r"mine\.csv, row 3: column 'time' is 20 s, 1\.333 frames"):
        read_tracks(csv, columns=cols, position_units="um", frame_interval_s=15.0)


def test_format_columns_rename_single_columns(tmp_path):
    path = _write(tmp_path, NAPARI.replace("track_id", "cell"))
    with pytest.raises(TracksFormatError, match=r"no column 'track_id' \(track\).*--columns"):
        read_tracks(path, format="napari", position_units="um")
    t, _ = _read(path, format="napari", columns={"track": "cell"}, position_units="um")
    assert list(t.track_ids) == [1, 2]


def test_errors_name_the_file_row_and_column(tmp_path):
    bad_x = _write(tmp_path, NAPARI.replace("2,1,21,26", "2,1,21,abc"), "bad_x.csv")
    with pytest.raises(TracksFormatError, match=r"bad_x\.csv, row 5: column 'x' is 'abc' \(expected a number\)"):
        read_tracks(bad_x, position_units="um")
    dup = _write(tmp_path, NAPARI.replace("1,2,12,7", "1,1,12,7"), "dup.csv")
    with pytest.raises(TracksFormatError, match=r"dup\.csv, rows 3, 6: columns 'track_id', 'frame'"):
        read_tracks(dup, position_units="um")
    frac = _write(tmp_path, NAPARI.replace("1,2,12,7", "1,2.5,12,7"), "frac.csv")
    with pytest.raises(TracksFormatError, match=r"frac\.csv, row 6: column 't' is 2\.5 \(expected an integer\)"):
        read_tracks(frac, position_units="um")


def test_z_is_dropped_when_constant_and_refused_when_it_varies(tmp_path):
    flat = _write(tmp_path, "track_id,t,z,y,x\n1,0,3,0,0\n1,1,3,0,1\n", "flat.csv")
    t, _ = _read(flat, position_units="um")
    assert t.n_rows == 2 and "z" not in t.df.columns
    deep = _write(tmp_path, "track_id,t,z,y,x\n1,0,3,0,0\n1,1,4.5,0,1\n", "deep.csv")
    with pytest.raises(TracksFormatError, match=r"deep\.csv, rows 2, 3: column 'z' varies \(3 and 4\.5\).*--drop-z"):
        read_tracks(deep, position_units="um")
    t, record = _read(deep, position_units="um", drop_z=True)
    assert t.n_rows == 2 and any("projected onto the x-y plane" in str(w.message) for w in record)


def test_parents_must_be_one_per_track_and_known(tmp_path):
    head = "track_id,t,y,x,parent_track_id\n"
    two = _write(tmp_path, head + "1,0,0,0,-1\n2,1,0,0,1\n2,2,0,0,3\n3,0,5,5,-1\n", "two.csv")
    with pytest.raises(TracksFormatError, match=r"two\.csv, rows 3, 4: column 'parent_track_id' differs within track 2"):
        read_tracks(two, position_units="um")
    gone = _write(tmp_path, head + "2,1,0,0,7\n2,2,0,1,7\n", "gone.csv")
    t, record = _read(gone, position_units="um")
    assert (t.df["parent_id"] == -1).all() and any("not in the table" in str(w.message) for w in record)


def test_headers_that_fit_no_format_or_several(tmp_path):
    none = _write(tmp_path, "cell,time,px,py\n1,0,0,0\n", "none.csv")
    with pytest.raises(TracksFormatError, match=r"none\.csv, row 1: .*match no format.*--columns track="):
        read_tracks(none)
    both = _write(tmp_path, "track_id,ID,t,y,x\n1,1,0,0,0\n", "both.csv")
    with pytest.raises(TracksFormatError, match=r"both\.csv, row 1: .*fits several formats \(napari, btrack\).*--format"):
        read_tracks(both, position_units="um")


def test_trackmate_csv_still_goes_to_the_trackmate_reader(tmp_path):
    path = _write(tmp_path, trackmate_csv_text(csv_spots(n_tracks=2, n_frames=3)), "cells_spots.csv")
    t, record = _read(path)
    assert t.n_rows == 6 and not [w for w in record if w.category is FormatDetectedWarning]
    xml = _write(tmp_path, "<TrackMate/>", "movie.xml")
    with pytest.raises(ConfigError, match=r"movie\.xml is a TrackMate XML file: --columns, --format napari"):
        read_tracks(xml, format="napari")


def test_read_options_are_checked_and_name_the_option():
    with pytest.raises(ConfigError, match="--position-units 'furlong': choose one of px, um, nm, mm"):
        ReadOptions(position_units="furlong")
    with pytest.raises(ConfigError, match="--format 'imagej'"):
        ReadOptions(format="imagej")
    with pytest.raises(ConfigError, match="--frame-interval-s 0"):
        ReadOptions(frame_interval_s=0)
    with pytest.raises(ConfigError, match="--format generic: give the columns with --columns"):
        ReadOptions(format="generic")
    with pytest.raises(ConfigError, match=r"unknown role\(s\) \['speed'\]"):
        parse_columns("track=a,speed=b")
    with pytest.raises(ConfigError, match="'frame' is not role=COLUMN"):
        parse_columns("track=a,frame")
    with pytest.raises(ConfigError, match="column 'a' is given for both track and x"):
        parse_columns("track=a,x=a")
    assert parse_columns(" track = T , frame=f,x=X,y=Y ") == {"track": "T", "frame": "f", "x": "X", "y": "Y"}
    assert ReadOptions(pixel_um=0.3).beyond_pixel_um() is None
    assert ReadOptions(pixel_um=0.3, position_units="um").beyond_pixel_um() is not None


runner = CliRunner()


def test_cli_tracks_info_takes_the_read_options(tmp_path):
    path = _write(tmp_path, NAPARI.replace("track_id", "cell"))
    res = runner.invoke(app, ["tracks", "info", str(path), "--format", "napari", "--columns", "track=cell",
                              "--position-units", "um", "--frame-interval-s", "30"])
    assert res.exit_code == 0, res.output
    assert "frame interval (s)" in res.output and "30" in res.output
    res = runner.invoke(app, ["tracks", "info", str(path), "--columns", "track=cell,frame"])
    assert res.exit_code == 2 and "error: --columns" in res.output


@pytest.mark.parametrize("command", [["run"], ["prior"], ["simulate"], ["tracks", "info"], ["tune"], ["export"]])
def test_every_command_that_reads_tracks_has_the_read_options(command):
    cmd = load_command(command[0])
    if len(command) > 1:
        cmd = cmd.commands[command[1]]
    options = {opt for param in cmd.params for opt in param.opts}
    for option in ("--pixel-um", "--position-units", "--frame-interval-s", "--columns", "--format", "--drop-z"):
        assert option in options, f"{' '.join(command)} lacks {option}"


def test_a_run_reads_and_records_the_read_options(tmp_path):
    from cellbench.io import read_json
    from cellbench.runs.pipeline import RunConfig, run
    from tests.helpers import random_walk_tracks

    df = random_walk_tracks(n_tracks=6, n_frames=40, seed=2).df
    path = tmp_path / "walk.csv"
    df.rename(columns={"frame": "t", "x_um": "x", "y_um": "y"})[["track_id", "t", "y", "x"]].to_csv(path, index=False)
    opts = ReadOptions(position_units="um", frame_interval_s=60.0, format="napari")
    res = run(RunConfig(model="zero", data=(str(path),), rollout=False, probes=False, read_options=opts),
              tmp_path / "run")
    config = read_json(res.out_dir / "config.json")
    assert config["read_options"]["position_units"] == "um" and config["read_options"]["format"] == "napari"
    assert res.metrics["test"]["n_targets"] > 0
    with pytest.raises(ConfigError, match="disagree"):
        run(RunConfig(model="zero", data=(str(path),), pixel_um=1.0, read_options=ReadOptions(pixel_um=2.0)),
            tmp_path / "r2")
