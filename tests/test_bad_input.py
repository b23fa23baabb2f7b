"""A corpus of malformed tracks inputs, each generated here: one clear error, or a valid load.

Every case goes through ``read_tracks`` (the dispatcher every command uses). A bad input must
raise exactly one ``TracksFormatError`` whose message is one line naming the file and where
in it (row, line, column or frame). Inputs that are odd but valid (one spot, a BOM and CRLF
line ends, a CTC gap) must load. A few cases then go through the command line.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from cellbench.errors import TracksFormatError
from cellbench.data.readers import read_tracks
from cellbench.data.readers.ctc import GapWarning
from tests.conftest import csv_spots, ctc_division, trackmate_csv_text, trackmate_xml_text, write_ctc, xml_chain, xml_spot


@dataclass
class Case:
    path: Path
    words: list = field(default_factory=list)  # each a string, or a tuple of alternatives; [] = must load
    kwargs: dict = field(default_factory=dict)
    n_rows: int | None = None  # for inputs that must load
    warns: type[Warning] | None = None
    one_line: bool = True  # False only where the message quotes a multi-line parser error


def _csv(tmp_path: Path, rows, name="cells_spots.csv", **kwargs) -> Path:
    path = tmp_path / name
    path.write_text(trackmate_csv_text(rows, **kwargs))
    return path


def _rows(i: int | None = None, **change) -> list[dict]:
    """The 6 valid spot rows (file rows 5-10), with ``change`` applied to row ``i`` (all rows if None)."""
    rows = csv_spots()
    for k, r in enumerate(rows):
        if i is None or k == i:
            r.update(change)
    return rows


def _xml(tmp_path: Path, text: str, name="movie.xml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _line_of(path: Path, needle: str) -> str:
    return f"line {next(i for i, s in enumerate(path.read_text().splitlines(), 1) if needle in s)}"


def _chain_xml(**spot_change) -> str:
    spots, tracks = xml_chain(track_id=1, n_frames=3)
    spots[1].update(spot_change)
    return trackmate_xml_text(spots, tracks)


def _bad_spot(tmp_path: Path, words: list, **spot_change) -> Case:
    """Spot ID=1 of a three-spot track with ``spot_change``; the error must name its line."""
    path = _xml(tmp_path, _chain_xml(**spot_change))
    return Case(path, [_line_of(path, '<Spot name="ID1"'), *words])


def _parquet(tmp_path: Path, df: pd.DataFrame) -> Path:
    path = tmp_path / "cells.parquet"
    df.to_parquet(path, index=False)
    return path


def _table() -> pd.DataFrame:
    return pd.DataFrame({"track_id": [1, 2, 1, 2], "frame": [0, 0, 1, 1], "x_um": [0.0, 5.0, 1.0, 6.0],
                         "y_um": [0.0, 0.0, 0.0, 0.0]})


def _ctc(tmp_path: Path, change: Callable[[dict], None] | None = None, text: str | None = None) -> Path:
    masks, default_text = ctc_division()
    if change is not None:
        change(masks)
    return write_ctc(tmp_path / "01_GT" / "TRA", masks, text or default_text)


def _edge_to_missing_spot(tmp_path):
    spots, tracks = xml_chain(track_id=1, n_frames=3)
    path = _xml(tmp_path, trackmate_xml_text(spots, {1: tracks[1] + [(2, 99)]}))
    return Case(path, [_line_of(path, 'SPOT_TARGET_ID="99"'), "SPOT_TARGET_ID=99", "missing spot"])


def _edge_within_a_frame(tmp_path):
    spots, _ = xml_chain(track_id=1, n_frames=3)
    spots.append(xml_spot(7, 1, 9.0, 9.0))
    path = _xml(tmp_path, trackmate_xml_text(spots, {1: [(0, 1), (1, 7)]}))
    return Case(path, [_line_of(path, 'SPOT_TARGET_ID="7"'), "both in frame 1"])


def _spot_in_two_tracks(tmp_path):
    spots, _ = xml_chain(track_id=1, n_frames=3)
    path = _xml(tmp_path, trackmate_xml_text(spots, {1: [(0, 1)], 2: [(1, 2)]}))
    return Case(path, [_line_of(path, 'SPOT_SOURCE_ID="1" SPOT_TARGET_ID="2"'), "spot ID=1", "one track"])


def _duplicate_spot_id(tmp_path):
    spots, tracks = xml_chain(track_id=1, n_frames=3)
    spots[2]["ID"] = 1
    path = _xml(tmp_path, trackmate_xml_text(spots, {1: [(0, 1)]}))
    return Case(path, [_line_of(path, 'name="ID1" ID="1" FRAME="2"'), "ID=1 appears again"])


def _truncated_xml(tmp_path):
    text = _chain_xml()
    path = _xml(tmp_path, text[: text.index("<AllTracks>")])
    return Case(path, [f"line {path.read_text().count(chr(10)) + 1}", "truncated"])


def _filtered_unknown(tmp_path):
    path = _xml(tmp_path, trackmate_xml_text(*xml_chain(), filtered=[5]))
    return Case(path, [_line_of(path, '<TrackID TRACK_ID="5"'), "TRACK_ID=5"])


def _unlisted_label(masks):
    masks[3][0, 0] = 9


def _wrong_shape(masks):
    masks[2] = np.zeros((21, 30), np.uint16)


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _unlink(folder: Path, name: str) -> Path:
    (folder / name).unlink()
    return folder


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


CASES: dict[str, Callable[[Path], Case]] = {
    # -- TrackMate spots CSV (4 header rows: the data rows are file rows 5-10) --
    "csv missing column": lambda p: Case(_csv(p, [{k: v for k, v in r.items() if k != "POSITION_Y"} for r in _rows()]),
                                         ["row 1", "POSITION_Y"]),
    "csv NaN coordinate": lambda p: Case(_csv(p, _rows(2, POSITION_X="nan")), ["row 7", ("POSITION_X", "x_um")]),
    "csv inf coordinate": lambda p: Case(_csv(p, _rows(3, POSITION_Y="inf")), ["row 8", ("POSITION_Y", "y_um")]),
    "csv duplicated track and frame": lambda p: Case(_csv(p, _rows(2, FRAME=0)), ["rows 5, 7", "'track_id', 'frame'"]),
    "csv negative frame": lambda p: Case(_csv(p, _rows(0, FRAME=-1)), ["row 5", "FRAME", ">= 0"]),
    "csv non-integer frame": lambda p: Case(_csv(p, _rows(4, FRAME=1.5)), ["row 9", "FRAME", "integer"]),
    "csv non-integer track id": lambda p: Case(_csv(p, _rows(1, TRACK_ID=0.5)), ["row 6", "TRACK_ID", "integer"]),
    "csv text in a numeric column": lambda p: Case(_csv(p, _rows(5, POSITION_X="12.5um")), ["row 10", ("POSITION_X", "x_um")]),
    # pandas' tokenizer message ends in a newline, which trackmate_csv.py passes on (reported)
    "csv row with an extra field": lambda p: Case(_csv(p, _rows(5, POSITION_X="12,5")), ["line 10", "saw 11"],
                                                  one_line=False),
    "csv huge value": lambda p: Case(_csv(p, _rows(1, POSITION_X=1e300)), ["row 6", ("POSITION_X", "x_um"), "1e+300"]),
    "csv empty file": lambda p: Case(_write_bytes(p / "cells.csv", b""), ["empty"]),
    "csv header only": lambda p: Case(_csv(p, []), ["no spot rows"]),
    "csv one spot": lambda p: Case(_csv(p, _rows()[:1]), n_rows=1),
    "csv BOM and CRLF line ends": lambda p: Case(_write_bytes(p / "crlf.csv", ("\ufeff" + trackmate_csv_text(_rows()))
                                                               .replace("\n", "\r\n").encode()), n_rows=6),
    "csv pixels without a pixel size": lambda p: Case(_csv(p, _rows(), length_unit="pixel"), ["POSITION_X/Y", "--pixel-um"]),
    "csv no unit without a pixel size": lambda p: Case(_csv(p, _rows(), length_unit=None), ["POSITION_X/Y", "--pixel-um"]),
    "csv unknown unit": lambda p: Case(_csv(p, _rows(), length_unit="furlong"), ["POSITION_X/Y", "'(furlong)'"]),
    "csv semicolon delimiter": lambda p: Case(_csv(p, _rows(), sep=";"), ["row 1", "semicolon"]),
    "csv tab delimiter": lambda p: Case(_csv(p, _rows(), sep="\t"), ["row 1", "tab"]),
    "csv no spot in a track": lambda p: Case(_csv(p, _rows(TRACK_ID=None)), ["TRACK_ID"]),
    # -- canonical parquet --
    "parquet unsorted rows": lambda p: Case(_parquet(p, _table().iloc[[2, 0, 1, 3]]), ["row", "not sorted"]),
    "parquet missing column": lambda p: Case(_parquet(p, _table().drop(columns="x_um")), ["missing column", "x_um"]),
    "parquet NaN coordinate": lambda p: Case(_parquet(p, _table().assign(y_um=[0, np.nan, 0, 0])), ["row 2", "'y_um'"]),
    "parquet duplicated track and frame": lambda p: Case(_parquet(p, _table().assign(frame=[0, 0, 0, 1])), ["rows 1, 3"]),
    "parquet not a parquet file": lambda p: Case(_write_bytes(p / "cells.parquet", b"PAR1 not really"), ["not a readable parquet"]),
    # -- TrackMate XML --
    "xml truncated": _truncated_xml,
    "xml empty file": lambda p: Case(_write_bytes(p / "movie.xml", b""), ["empty"]),
    "xml edge to a missing spot": _edge_to_missing_spot,
    "xml edge within one frame": _edge_within_a_frame,
    "xml spot in two tracks": _spot_in_two_tracks,
    "xml duplicated spot id": _duplicate_spot_id,
    "xml NaN position": lambda p: _bad_spot(p, ["Spot ID=1", "POSITION_X"], POSITION_X="NaN"),
    "xml text position": lambda p: _bad_spot(p, ["Spot ID=1", "POSITION_Y"], POSITION_Y="1,5"),
    "xml huge position": lambda p: _bad_spot(p, ["Spot ID=1", "POSITION_X", "beyond"], POSITION_X="1e300"),
    "xml negative frame": lambda p: _bad_spot(p, ["Spot ID=1", "FRAME", ">= 0"], FRAME=-2),
    "xml pixels without a pixel size": lambda p: Case(
        _xml(p, trackmate_xml_text(*xml_chain(), spatialunits="pixel")), ["spatialunits='pixel'", "--pixel-um"]),
    "xml not TrackMate": lambda p: Case(_xml(p, '<?xml version="1.0"?>\n<Foo><Bar/></Foo>\n'), ["line 1", "<Foo>"]),
    "xml simplified tracks export": lambda p: Case(
        _xml(p, '<?xml version="1.0"?>\n<Tracks nTracks="1"><particle nSpots="1"><detection t="0" x="1" y="2" z="0"/>'
                "</particle></Tracks>\n"), ["line 1", "<Tracks>", "Export tracks to XML"]),
    "xml no tracks": lambda p: Case(_xml(p, trackmate_xml_text(xml_chain()[0], {})), ["no spot belongs to a kept track"]),
    "xml filtered track does not exist": _filtered_unknown,
    "xml one track of two spots": lambda p: Case(_xml(p, trackmate_xml_text(*xml_chain(n_frames=2))), n_rows=2),
    # -- Cell Tracking Challenge folders --
    "ctc label missing in the track file": lambda p: Case(_ctc(p, _unlisted_label), ["man_track003.tif, frame 3", "label 9"],
                                                          {"pixel_um": 1.0}),
    "ctc label outside its frames": lambda p: Case(_ctc(p, text="1 0 1 0\n2 3 3 1\n3 2 3 1\n"),
                                                   ["man_track002.tif, frame 2", "label 2", "line 2"], {"pixel_um": 1.0}),
    "ctc missing TIFF": lambda p: Case(_unlink(_ctc(p), "man_track001.tif"), ["frame(s) 1", "man_track001.tif"],
                                       {"pixel_um": 1.0}),
    "ctc masks of different shapes": lambda p: Case(_ctc(p, _wrong_shape), ["man_track002.tif, frame 2", "(21, 30)"],
                                                    {"pixel_um": 1.0}),
    "ctc without a pixel size": lambda p: Case(_ctc(p), ["TRA", "--pixel-um"]),
    "ctc malformed track file line": lambda p: Case(_ctc(p, text="1 0 1 0\n2 2 3 1 extra\n3 2 3 1\n"),
                                                    ["man_track.txt, line 2"], {"pixel_um": 1.0}),
    "ctc parent not in the track file": lambda p: Case(_ctc(p, text="1 0 1 0\n2 2 3 8\n3 2 3 1\n"),
                                                       ["man_track.txt, line 2", "parent 8"], {"pixel_um": 1.0}),
    "ctc folder without a track file": lambda p: Case(_mkdir(p / "empty_folder"), ["no man_track.txt"], {"pixel_um": 1.0}),
    "ctc gap in a track": lambda p: Case(_ctc(p, lambda m: m[2].__setitem__(m[2] == 3, 0)), n_rows=5,
                                         kwargs={"pixel_um": 1.0}, warns=GapWarning),
    # -- anything else --
    "unknown suffix": lambda p: Case(_write_bytes(p / "cells.txt", b"1 2 3\n"), ["unknown tracks format", "'.txt'"]),
    "missing file": lambda p: Case(p / "nowhere.csv", ["no such file"]),
}


def _case(name: str, tmp_path: Path) -> Case:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return CASES[name](tmp_path)


def test_corpus_is_large_enough():
    errors = [n for n in CASES if n not in ("csv one spot", "csv BOM and CRLF line ends", "xml one track of two spots",
                                            "ctc gap in a track")]
    assert len(errors) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_clear_error_or_loads(name, tmp_path):
    case = _case(name, tmp_path)
    if not case.words:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            t = read_tracks(case.path, **case.kwargs)
        assert t.n_rows == case.n_rows
        categories = {w.category for w in record}
        assert categories == ({case.warns} if case.warns else set()), [str(w.message) for w in record]
        return
    with pytest.raises(TracksFormatError) as err:
        read_tracks(case.path, **case.kwargs)
    msg = str(err.value)
    assert case.path.name in msg, f"the message does not name the file {case.path.name!r}: {msg}"
    assert "Traceback" not in msg and ("\n" not in msg or not case.one_line), msg
    for w in case.words:
        alternatives = w if isinstance(w, tuple) else (w,)
        assert any(a in msg for a in alternatives), f"{w!r} not in: {msg}"


# -- the command line: exit code 2, 'error: ...' on stderr, no traceback, no output files ------

CLI_CASES = ["csv NaN coordinate", "csv pixels without a pixel size", "xml truncated", "xml edge to a missing spot",
             "parquet unsorted rows", "ctc missing TIFF", "unknown suffix", "missing file"]


def _main(monkeypatch, capsys, args: list[str]) -> tuple[int, str, str]:
    """Run the installed ``cellbench`` entry point (``cellbench.cli:main``) in-process."""
    from cellbench.cli import main

    monkeypatch.setattr(sys, "argv", ["cellbench", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_tracks_info_reports_bad_input(name, tmp_path, monkeypatch, capsys):
    case = _case(name, tmp_path)
    code, out, err = _main(monkeypatch, capsys, ["tracks", "info", str(case.path)])
    assert code == 2, (out, err)
    assert err.startswith("error: ") and case.path.name in err, err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("name", ["csv NaN coordinate", "xml edge to a missing spot", "ctc without a pixel size"])
def test_cli_run_on_bad_input_writes_nothing(name, tmp_path, monkeypatch, capsys):
    case = _case(name, tmp_path / "in")
    out_dir = tmp_path / "run"
    code, out, err = _main(monkeypatch, capsys, ["run", "--model", "zero", "--tracks", str(case.path), "--out", str(out_dir)])
    assert code == 2 and err.startswith("error: "), (out, err)
    assert "Traceback" not in out + err
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_cli_app_reports_library_errors_with_exit_2(tmp_path):
    """Through ``typer.testing.CliRunner`` on ``cellbench.cli.app``: ``error: ...``, exit 2, no traceback."""
    from typer.testing import CliRunner

    from cellbench.cli import app

    case = _case("xml truncated", tmp_path)
    res = CliRunner().invoke(app, ["tracks", "info", str(case.path)])
    assert res.exit_code == 2, res.output
    assert "error: " in res.output and "movie.xml, line" in res.output and "Traceback" not in res.output
