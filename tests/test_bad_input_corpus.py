"""The committed corpus ``tests/data/bad_inputs/``: each input loads or ends in one clear error.

``cases.json`` (written with the files by ``python -m tests.data.bad_inputs.make_corpus``)
gives, per input, the words its error must hold, or the rows it must load with the warning it
must raise. Errors go through ``read_tracks`` (the one entry point of every command) and through
``cellbench tracks info`` (exit code 2, one ``error:`` line, no traceback).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

import cellbench.data.readers.common as common
from cellbench.data.readers import read_tracks
from cellbench.errors import CellbenchError

CORPUS = Path(__file__).resolve().parent / "data" / "bad_inputs"
CASES = json.loads((CORPUS / "cases.json").read_text())


@pytest.mark.parametrize("name", list(CASES))
def test_corpus_input_loads_or_gives_one_clear_error(name):
    case = CASES[name]
    path = CORPUS / case["path"]
    if case["loads"] is not None:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            t = read_tracks(path, **case["kwargs"])
        assert t.n_rows == case["loads"]
        warned = [w for w in record if w.category is getattr(common, case["warns"] or "", None)]
        assert bool(warned) == bool(case["warns"]), [str(w.message) for w in record]
        for w in case["words"]:
            assert any(w in str(r.message) for r in warned), f"{w!r} not in {[str(r.message) for r in warned]}"
        if warned:
            assert path.name in str(warned[0].message) or str(path) in str(warned[0].message)
        return
    with pytest.raises(CellbenchError) as err:
        read_tracks(path, **case["kwargs"])
    msg = str(err.value)
    assert "\n" not in msg, msg
    assert path.name in msg or path.parent.name in msg, msg
    for w in case["words"]:
        assert w in msg, f"{w!r} not in: {msg}"


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["loads"] is None])
def test_corpus_errors_through_the_cli(name, monkeypatch, capsys):
    from cellbench.cli import main

    case = CASES[name]
    args = ["cellbench", "tracks", "info", str(CORPUS / case["path"])]
    if "pixel_um" in case["kwargs"]:
        args += ["--pixel-um", str(case["kwargs"]["pixel_um"])]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    assert exit_.value.code == 2, (out, err)
    assert "Traceback" not in out + err
    assert [line for line in err.splitlines() if line.startswith("error: ")] == [err.strip()], err
