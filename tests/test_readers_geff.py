"""geff graphs: write and read back, tracklets and divisions from edges, units from the axes."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.data.readers import read_tracks
from cellbench.data.readers.geff import read_geff, write_geff
from cellbench.data.readers.options import ReadOptions
from cellbench.data.tracks import Tracks, TracksMeta
from cellbench.errors import ConfigError, TracksFormatError

geff = pytest.importorskip("geff", reason="the optional geff package is not installed (pip install 'cellbench[geff]')")
from geff import GeffMetadata  # noqa: E402
from geff.core_io import write_arrays  # noqa: E402
from geff_spec import Axis  # noqa: E402


def _division() -> Tracks:
    """Track 1 over frames 0-2 divides into 2 and 3 (frames 3-4); track 5 alone, with a gap at frame 2."""
    rows = [(1, f, 10.0 + f, 5.0, -1) for f in range(3)]
    rows += [(2, f, 12.0 + f, 4.0, 1) for f in (3, 4)] + [(3, f, 12.0 + f, 6.0, 1) for f in (3, 4)]
    rows += [(5, f, 40.0, 40.0 + f, -1) for f in (0, 1, 3, 4)]
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um", "parent_id"])
    df["radius_um"] = 3.0
    return Tracks.from_table(df, TracksMeta(dataset="div", frame_interval_s=120.0))


def test_write_then_read_gives_the_same_table(tmp_path):
    tracks = _division()
    write_geff(tracks, tmp_path / "div.geff")
    back = read_tracks(tmp_path / "div.geff")
    cols = ["track_id", "frame", "x_um", "y_um", "radius_um", "parent_id"]
    pd.testing.assert_frame_equal(back.df[cols], tracks.df[cols])
    assert back.meta.frame_interval_s == 120.0 and back.meta.dataset == "div" and len(back.meta.source_sha256) == 64
    with pytest.raises(ConfigError, match="exists already and overwrite is off"):
        write_geff(tracks, tmp_path / "div.geff")
    write_geff(tracks, tmp_path / "div.geff", overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def _graph(tmp_path, axes, edges, t, x, y, name="g.geff", track=None):
    props = {"t": t, "x": x, "y": y} | ({"cell": track} if track is not None else {})
    meta = GeffMetadata(directed=True, axes=axes, node_props_metadata={}, edge_props_metadata={},
                        track_node_props={"tracklet": "cell"} if track is not None else None)
    write_arrays(str(tmp_path / name), np.arange(len(t), dtype=np.int64),
                 {k: {"values": np.asarray(v), "missing": None} for k, v in props.items()},
                 np.asarray(edges, dtype=np.int64).reshape(-1, 2), {}, meta, structure_validation=False)
    return tmp_path / name


PIXEL_AXES = [Axis(name="t", type="time", unit="frame", scale=5.0, scaled_unit="minute"),
              Axis(name="y", type="space", unit="pixel", scale=0.5, scaled_unit="micrometer"),
              Axis(name="x", type="space", unit="pixel", scale=0.5, scaled_unit="micrometer")]


def test_tracklets_divisions_and_merges_from_the_edges(tmp_path):
    # nodes 0->1 divide into 2 and 3; 2 and 4 merge into 5 (edges given late-to-early for 1->3: orientation by time)
    t = [0, 1, 2, 2, 2, 3]
    edges = [[0, 1], [1, 2], [3, 1], [2, 5], [4, 5]]
    path = _graph(tmp_path, PIXEL_AXES, edges, t, x=[0, 2, 4, 6, 8, 10], y=[0] * 6)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tr = read_geff(path, ReadOptions())
    assert any("merge" in str(w.message) for w in record)
    df = tr.df.sort_values(["track_id", "frame"])
    # tracks numbered by their first (time, node): [0,1] = 1, 2 = 2, 3 = 3, 4 = 4, 5 = 5
    assert list(df["track_id"]) == [1, 1, 2, 3, 4, 5]
    assert dict(zip(df["track_id"], df["parent_id"])) == {1: -1, 2: 1, 3: 1, 4: -1, 5: -1}
    npt.assert_allclose(df["x_um"], [0, 1, 2, 3, 4, 5])  # pixels x 0.5 um from the axis scale
    assert tr.meta.frame_interval_s == 300.0  # 5 minutes per frame


def test_tracklet_property_and_units(tmp_path):
    axes = [Axis(name="t", type="time", unit="second"), Axis(name="y", type="space", unit="nanometer"),
            Axis(name="x", type="space", unit="nanometer")]
    path = _graph(tmp_path, axes, [[0, 1]], t=[0.0, 30.0], x=[1000.0, 2000.0], y=[0.0, 0.0], track=[7, 7])
    with pytest.raises(TracksFormatError, match=r"holds times in s; pass --frame-interval-s"):
        read_geff(path, ReadOptions())
    tr = read_geff(path, ReadOptions(frame_interval_s=30.0))
    assert list(tr.df["track_id"]) == [7, 7] and list(tr.df["frame"]) == [0, 1]
    npt.assert_allclose(tr.df["x_um"], [1.0, 2.0])
    with pytest.raises(TracksFormatError, match=r"'nanometer' by the file's own metadata.*--position-units"):
        read_geff(path, ReadOptions(frame_interval_s=30.0, position_units="um"))


def test_bad_graphs_name_the_folder_and_node(tmp_path):
    same_time = _graph(tmp_path, PIXEL_AXES, [[0, 1]], t=[0, 0], x=[0, 1], y=[0, 0], name="flat.geff")
    with pytest.raises(TracksFormatError, match=r"flat\.geff .*edge \(0, 1\) joins two nodes of the same time"):
        read_geff(same_time, ReadOptions())
    dangling = _graph(tmp_path, PIXEL_AXES, [[0, 5]], t=[0, 1], x=[0, 1], y=[0, 0], name="dangling.geff")
    with pytest.raises(TracksFormatError, match=r"dangling\.geff .*edge \(0, 5\) names node 5, which is not in the"):
        read_geff(dangling, ReadOptions())
    nan_x = _graph(tmp_path, PIXEL_AXES, [[0, 1]], t=[0, 1], x=[0, np.nan], y=[0, 0], name="nan.geff")
    with pytest.raises(TracksFormatError, match=r"nan\.geff \(geff; rows are node ids\), row 1: column 'x'"):
        read_geff(nan_x, ReadOptions())


def test_without_the_geff_package_the_error_says_how_to_install(tmp_path, monkeypatch):
    write_geff(_division(), tmp_path / "div.geff")
    monkeypatch.setitem(sys.modules, "geff.core_io", None)  # import geff.core_io now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'cellbench\[geff\]'"):
        read_tracks(tmp_path / "div.geff")


def test_cli_export_geff_then_tracks_info(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("track_id,t,y,x\n1,0,10,5\n1,1,11,6\n2,0,20,25\n2,1,21,26\n")
    runner = CliRunner()
    res = runner.invoke(app, ["export", "--geff", str(path), "--position-units", "um", "--frame-interval-s", "10"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cells.geff").is_dir()
    res = runner.invoke(app, ["tracks", "info", str(tmp_path / "cells.geff")])
    assert res.exit_code == 0, res.output
    assert "rows (spots)" in res.output and "10" in res.output
