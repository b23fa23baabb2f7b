"""Damaged result files are caught by name; a sweep reruns them; the leaderboard refuses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cellbench.sweep.store import ResultStore, check_record

RECORD = {"status": "done", "metrics": {"test": {"r2": 0.123}}, "spec": {"model": "zero", "seed": 0}}


@pytest.fixture
def store(tmp_path):
    s = ResultStore(tmp_path / "res")
    s.write("a" * 24, RECORD)
    return s


def _damage(store: ResultStore, name: str, text: str) -> Path:
    path = store.root / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_written_record_reads_back_whole(store):
    (record,) = store.records()
    assert record["metrics"] == RECORD["metrics"] and store.status("a" * 24) == "done"
    assert store.damaged() == {}


@pytest.mark.parametrize("text,problem", [
    ("", "not valid JSON"),
    ('{"key": "b", "status": "do', "not valid JSON"),
    ("[]", "holds a JSON list"),
    ('{"key": "bbbbbbbbbbbbbbbbbbbbbbbb", "status": "done"}', "no checksum"),
])
def test_truncated_empty_or_foreign_files_are_named(store, text, problem):
    path = _damage(store, "b" * 24, text)
    damaged = store.damaged()
    assert list(damaged) == [path] and problem in damaged[path]
    assert store.status("b" * 24) is None  # counts as no result: the sweep reruns it
    assert len(store.records()) == 1


def test_a_tampered_number_is_caught(store):
    path = store.path("a" * 24)
    path.write_text(path.read_text().replace("0.123", "0.923"))
    record, problem = check_record(path)
    assert record is None and "checksum mismatch" in problem
    assert store.status("a" * 24) is None


def test_a_record_copied_under_another_key_is_foreign(store):
    path = store.root / ("c" * 24 + ".json")
    path.write_bytes(store.path("a" * 24).read_bytes())
    assert "does not match the file name" in store.damaged()[path]


def test_done_without_metrics_is_damaged(store):
    store.write("d" * 24, {"status": "done", "spec": {}})
    assert "without metrics" in store.damaged()[store.path("d" * 24)]


def _leaderboard(res: Path, out: Path, *extra: str):
    cmd = [sys.executable, "-m", "cellbench.cli", "leaderboard", str(res), "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_leaderboard_refuses_damaged_files_by_name(store, tmp_path):
    bad = _damage(store, "e" * 24, "[]")
    proc = _leaderboard(store.root, tmp_path / "boards")
    assert proc.returncode == 2, proc.stderr
    assert str(bad) in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "boards").exists()  # nothing written
    store.path("a" * 24).unlink()  # the toy record is not a full run record: leave only the damaged file
    proc = _leaderboard(store.root, tmp_path / "boards", "--skip-damaged")
    assert str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_undefined_metrics_are_written_as_null_and_listed(store):
    store.write("f" * 24, {"status": "done", "metrics": {"test": {"r2": float("nan"), "rmse": 1.0}}, "spec": {}})
    text = store.path("f" * 24).read_text()
    assert "NaN" not in text  # bare NaN is not JSON
    (record,) = [r for r in store.records() if r["key"] == "f" * 24]
    assert record["metrics"]["test"]["r2"] is None and record["null_means_undefined"] == ["metrics.test.r2"]
