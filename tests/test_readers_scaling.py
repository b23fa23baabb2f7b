"""The CSV reader's time is linear in the file: wide files, huge header lines, long column names.

Timings are compared as ratios measured in the same test (machines are noisy and shared): a
quadratic reader takes about 100x longer for 10x the columns, a linear one about 10x. Before
issue 13, 1,000 extra columns took 5.2 s and 10,000 ran past 100 s (each column was inserted
into the table on its own); a 50 MB header line ran past 120 s.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

from cellbench.data.readers import read_tracks
from cellbench.data.readers.trackmate_csv import MAX_COLUMNS
from cellbench.errors import TracksFormatError
from tests.conftest import csv_spots, trackmate_csv_text


def _wide(tmp_path: Path, n_extra: int) -> Path:
    """The 6-spot TrackMate CSV with ``n_extra`` numeric feature columns appended (written row by row)."""
    lines = trackmate_csv_text(csv_spots()).splitlines()
    extra = [",".join(f"FEATURE_{j}" for j in range(n_extra))] * 3 + [",".join([""] * n_extra)]
    extra += [",".join(f"{j % 7:.1f}" for j in range(n_extra))] * (len(lines) - 4)
    path = tmp_path / f"wide{n_extra}_spots.csv"
    path.write_text("\n".join(f"{a},{b}" for a, b in zip(lines, extra)) + "\n")
    return path


def _seconds(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_wide_csv_is_read_in_linear_time(tmp_path):
    small, large = _wide(tmp_path, 1_000), _wide(tmp_path, 10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pandas PerformanceWarning about a fragmented frame
        t = read_tracks(large)
    assert t.n_rows == 6 and "feature_9999" in t.df.columns and len(t.df.columns) == 10_000 + 7
    assert t.df["feature_13"].tolist() == [6.0] * 6
    t_small = _seconds(lambda: read_tracks(small))
    t_large = _seconds(lambda: read_tracks(large))
    assert t_large < 20 * t_small + 0.5, f"1,000 columns {t_small:.2f} s, 10,000 columns {t_large:.2f} s"
    assert t_large < 20, f"10,000 columns took {t_large:.1f} s (about 1.3 s on the reference 2-core machine)"


def _huge_header(tmp_path: Path, megabytes: int) -> Path:
    n = megabytes * 1_000_000 // 9
    header = "TRACK_ID,FRAME,POSITION_X,POSITION_Y," + ",".join(f"F{i:07d}" for i in range(n))
    path = tmp_path / f"header{megabytes}mb_spots.csv"
    path.write_text(header + "\n0,0,1.0,2.0\n0,1,1.5,2.0\n")
    return path


def test_huge_header_line_is_refused_in_linear_time(tmp_path):
    small, large = _huge_header(tmp_path, 5), _huge_header(tmp_path, 50)

    def refused(path: Path) -> None:
        with pytest.raises(TracksFormatError, match=rf"{path.name}, row 1: the header has [\d,]+ comma-separated columns"):
            read_tracks(path, position_units="um")

    t_small, t_large = _seconds(lambda: refused(small)), _seconds(lambda: refused(large))
    assert t_large < 20 * t_small + 0.5, f"5 MB header {t_small:.2f} s, 50 MB header {t_large:.2f} s"
    assert t_large < 30, f"a 50 MB header took {t_large:.1f} s (about 0.4 s on the reference machine)"


def test_column_cap_counts_the_header_columns(tmp_path):
    at_cap = tmp_path / "at_cap_spots.csv"
    at_cap.write_text(",".join(["TRACK_ID", "FRAME", "POSITION_X", "POSITION_Y"] + [f"F{i}" for i in range(MAX_COLUMNS - 4)]) + "\n")
    with pytest.raises(TracksFormatError, match="no spot rows"):  # past the cap check, then refused for its body
        read_tracks(at_cap, position_units="um")
    with pytest.raises(TracksFormatError, match=f"the header has {MAX_COLUMNS + 1:,} comma-separated columns"):
        read_tracks(_wide(tmp_path, MAX_COLUMNS + 1 - 10))


def test_column_name_longer_than_the_csv_module_limit_is_read(tmp_path):
    """Python's csv module refuses fields over 131,072 characters by default (it raised ``_csv.Error``)."""
    name = "N" * 1_000_000
    path = tmp_path / "longname_spots.csv"
    path.write_text(trackmate_csv_text([{**r, name: 3.0} for r in csv_spots()]))
    t = read_tracks(path)
    assert t.df[name.lower()].tolist() == [3.0] * 6


def test_column_named_twice_is_refused(tmp_path):
    path = tmp_path / "twice_spots.csv"
    path.write_text(trackmate_csv_text(csv_spots()).replace("POSITION_Z", "RADIUS", 1))
    with pytest.raises(TracksFormatError, match=r"twice_spots.csv, row 1: column 'RADIUS' appears twice \(columns 7 and 10\)"):
        read_tracks(path)
