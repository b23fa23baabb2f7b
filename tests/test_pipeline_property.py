"""Property: any small tracks table, valid or broken, ends in a result or a ``CellbenchError``.

Hypothesis draws tables of a few tracks over a few frames, with gaps, then breaks them in one
of the ways users' files break (a duplicated row, a huge, sparse or negative frame, NaN or inf,
one cell, all cells at one point, wrong column types, unsorted rows, no rows). Each goes, as a
parquet file, a TrackMate CSV or an in-memory DataFrame, through
read -> validate -> targets -> causal history -> frame graphs -> dataset -> the ``zero`` and
``ar`` references. Any exception outside the ``CellbenchError`` family fails the test, and so
does a valid table that does not load or a broken one that does.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellbench.data.dataset import build_dataset
from cellbench.data.readers import read_tracks
from cellbench.data.targets import displacement_targets, history_um
from cellbench.data.tracks import MAX_FRAME, Tracks, TracksMeta
from cellbench.errors import CellbenchError, TracksFormatError
from cellbench.inputs.graphs import frame_graphs
from cellbench.models.references import AutoRegressive, Zero
from tests.conftest import trackmate_csv_text

VALID = {"none", "sparse frames", "one cell", "one point", "integral float ids", "frame 2**53"}
BROKEN = {"duplicate row", "negative frame", "NaN x", "inf y", "huge x", "frame beyond 2**53", "boolean x",
          "fractional frame", "no rows"}
EITHER = {"unsorted", "text x", "uint64 id beyond int64", "frame 10**12"}  # valid in some formats, refused in others
MUTATIONS = sorted(VALID | BROKEN | EITHER)


@st.composite
def tables(draw) -> tuple[str, pd.DataFrame]:
    n_tracks, n_frames = draw(st.integers(1, 4)), draw(st.integers(1, 9))
    keep = draw(st.lists(st.booleans(), min_size=n_tracks * n_frames, max_size=n_tracks * n_frames))
    keep[0] = True
    coord = st.floats(-50, 50, allow_nan=False, width=32)
    rows = [(k, f, draw(coord), draw(coord)) for i, (f, k) in enumerate(
        (f, k) for f in range(n_frames) for k in range(n_tracks)) if keep[i]]
    df = pd.DataFrame(rows, columns=["track_id", "frame", "x_um", "y_um"])
    mutation = draw(st.sampled_from(MUTATIONS))
    i = draw(st.integers(0, len(df) - 1))
    if mutation == "duplicate row":
        df = pd.concat([df, df.iloc[[i]]], ignore_index=True).sort_values(["frame", "track_id"], kind="stable")
    elif mutation == "sparse frames":
        df["frame"] = df["frame"] * draw(st.sampled_from([10**3, 10**9, 2**40]))
    elif mutation in ("frame 2**53", "frame 10**12", "frame beyond 2**53"):
        big = {"frame 2**53": MAX_FRAME, "frame 10**12": 10**12, "frame beyond 2**53": MAX_FRAME + 1}[mutation]
        df.loc[df["frame"] == df["frame"].max(), "frame"] = big
    elif mutation == "negative frame":
        df.loc[i, "frame"] = -1
    elif mutation in ("NaN x", "inf y", "huge x"):
        col, value = {"NaN x": ("x_um", np.nan), "inf y": ("y_um", -np.inf), "huge x": ("x_um", 1e300)}[mutation]
        df.loc[i, col] = value
    elif mutation == "one cell":
        df = df.iloc[[i]]
    elif mutation == "one point":
        df["x_um"], df["y_um"] = 3.0, 3.0
    elif mutation == "integral float ids":
        df["track_id"] = df["track_id"].astype(float)
    elif mutation == "boolean x":
        df["x_um"] = df["x_um"] > 0
    elif mutation == "text x":
        df["x_um"] = df["x_um"].map(repr)
    elif mutation == "uint64 id beyond int64":
        df["track_id"] = (df["track_id"].to_numpy(np.uint64) + np.uint64(2**63))
    elif mutation == "fractional frame":
        df["frame"] = df["frame"].astype(float)
        df.loc[i, "frame"] = df.loc[i, "frame"] + 0.5
    elif mutation == "unsorted":
        df = df.iloc[::-1]
    elif mutation == "no rows":
        df = df.iloc[:0]
    return mutation, df.reset_index(drop=True)


def _csv_text(df: pd.DataFrame) -> str:
    rows = [{"TRACK_ID": r.track_id, "FRAME": r.frame, "POSITION_X": r.x_um, "POSITION_Y": r.y_um}
            for r in df.itertuples(index=False)]
    if not rows:
        return "TRACK_ID,FRAME,POSITION_X,POSITION_Y\nT,F,X,Y\nT,F,X,Y\n,,(micron),(micron)\n"
    return trackmate_csv_text(rows)


def _load(fmt: str, df: pd.DataFrame, folder: Path) -> Tracks:
    if fmt == "frame":
        return Tracks.from_table(df, TracksMeta("drawn"))
    path = folder / ("drawn.parquet" if fmt == "parquet" else "drawn_spots.csv")
    if fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        path.write_text(_csv_text(df))
    return read_tracks(path)


def _downstream(tracks: Tracks) -> None:
    n = tracks.n_rows
    y, valid = displacement_targets(tracks)
    assert y.shape == (n, 2) and valid.shape == (n,) and np.isfinite(y[valid]).all()
    assert history_um(tracks, 2).shape == (n, 2, 2)
    graphs = frame_graphs(tracks, 5.0)
    assert sum(g.n_nodes for g in graphs) == n
    data = build_dataset([tracks])
    for model in (Zero(), AutoRegressive(order=2)):
        (pred,) = model.fit(data).predict(data)
        assert pred.shape == (n, 2) and np.isfinite(pred).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=tables(), fmt=st.sampled_from(["parquet", "csv", "frame"]))
def test_any_table_ends_in_a_result_or_a_cellbench_error(drawn, fmt):
    mutation, df = drawn
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tracks = _load(fmt, df, Path(tmp))
        except TracksFormatError as err:
            assert mutation not in VALID, f"a valid table ({mutation}, {fmt}) was refused: {err}"
            assert "\n" not in str(err)
            return
        assert mutation not in BROKEN, f"a broken table ({mutation}, {fmt}) loaded:\n{df}"
        try:
            _downstream(tracks)
        except CellbenchError as err:
            assert "\n" not in str(err)
