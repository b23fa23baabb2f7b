"""Tiny inputs that declare huge sizes: refused (or read) within a 2 GB address-space limit.

Each case runs the real command line in a child process whose address space is capped with
``resource.setrlimit(RLIMIT_AS, (2 GB, 2 GB))``. Before issue 13 these inputs asked for 1.7 GB
to 7.28 TiB (a dense ``np.arange`` over a frame span read from the file, a label TIFF decoded
before its size was checked) and ended in a ``MemoryError`` traceback. Now a bad one ends in
exit code 2 with one ``error:`` line naming the file, and sparse frame numbers (a valid table)
run in memory proportional to the rows.

The child runs single-threaded BLAS / Numba and Arrow's system allocator, so that the limit
measures what the code allocates, not what thread pools and arenas reserve (Arrow's default
pool alone reserves about 1 GB of address space it never touches).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from tests.conftest import ctc_division, write_ctc

LIMIT_BYTES = 2 * 2**30
_CHILD = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({0}, {0})); "
    "from cellbench.cli import main; sys.argv = ['cellbench', *sys.argv[1:]]; main()"
)
_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system"}


def cli_limited(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``cellbench ARGS`` in a child process limited to :data:`LIMIT_BYTES` of address space."""
    env = {**os.environ, **_ENV, "CELLBENCH_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", _CHILD.format(LIMIT_BYTES), *args], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path)


def assert_one_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2, one ``error:`` line on stderr holding every one of ``words``, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for w in words:
        assert w in errors[0], f"{w!r} not in: {errors[0]}"
    return errors[0]


# -- Cell Tracking Challenge: a frame span and mask sizes read from the files --------------------

def _ctc(tmp_path: Path, text: str | None = None) -> Path:
    masks, default_text = ctc_division()
    return write_ctc(tmp_path / "01_GT" / "TRA", masks, text or default_text)


@pytest.mark.parametrize("end", [10**8, 10**12])
def test_track_file_ending_at_a_huge_frame_is_refused_by_its_line(tmp_path, end):
    folder = _ctc(tmp_path, f"1 0 1 0\n2 2 3 1\n3 2 {end} 1\n")
    assert (folder / "man_track.txt").stat().st_size < 40  # a 30-byte file used to ask for 7.28 TiB
    proc = cli_limited(tmp_path, "tracks", "info", str(folder), "--pixel-um", "1")
    assert_one_error(proc, "man_track.txt, line 3", f"frame {end}", "masks cover frames 0 to 3")


def test_run_on_a_huge_frame_span_exits_2(tmp_path):
    folder = _ctc(tmp_path, "1 0 1 0\n2 2 3 1\n3 2 1000000000000 1\n")
    proc = cli_limited(tmp_path, "run", "--model", "zero", "--data", str(folder), "--pixel-um", "1",
                       "--out", str(tmp_path / "run"))
    assert_one_error(proc, "man_track.txt, line 3")


def _compressed_zero_tiff(path: Path, n: int) -> None:
    """An n x n uint16 zlib TIFF of zeros: 1.9 MB on disk for n = 30000, 1.7 GiB decoded."""
    tile = zlib.compress(np.zeros((1024, 1024), np.uint16).tobytes())
    with tifffile.TiffWriter(path) as tw:
        tw.write(iter([tile] * (-(-n // 1024)) ** 2), shape=(n, n), dtype=np.uint16, tile=(1024, 1024),
                 compression="zlib")


def _forged_tiff(path: Path, n: int) -> None:
    """A 20 x 30 mask whose tags are rewritten to declare n x n pixels (n = 100000: 18.6 GiB)."""
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(n)
        tif.pages[0].tags["ImageLength"].overwrite(n)


def test_compressed_mask_of_another_shape_is_refused_before_decoding(tmp_path):
    folder = _ctc(tmp_path)
    _compressed_zero_tiff(folder / "man_track002.tif", 30000)
    assert (folder / "man_track002.tif").stat().st_size < 3_000_000
    proc = cli_limited(tmp_path, "tracks", "info", str(folder), "--pixel-um", "1")
    assert_one_error(proc, "man_track002.tif, frame 2", "(30000, 30000)", "(20, 30)")


@pytest.mark.parametrize("kind", ["compressed", "forged"])
def test_first_mask_larger_than_the_cap_is_refused_from_its_tags(tmp_path, kind):
    folder = _ctc(tmp_path)
    if kind == "compressed":
        _compressed_zero_tiff(folder / "man_track000.tif", 30000)
        words = ("30000 x 30000",)
    else:
        _forged_tiff(folder / "man_track000.tif", 100000)
        words = ("100000 x 100000", "18.6 GiB")
    proc = cli_limited(tmp_path, "tracks", "info", str(folder), "--pixel-um", "1")
    msg = assert_one_error(proc, "man_track000.tif, frame 0", *words, "at most 67,108,864 pixels")
    assert "StripByteCounts" not in proc.stderr, "tifffile's own log lines are held back"
    assert msg


def test_mask_decoded_shape_is_still_checked_after_the_tags(tmp_path):
    """A mask within the cap reads as before (the tag check costs nothing on valid data)."""
    folder = _ctc(tmp_path)
    proc = cli_limited(tmp_path, "tracks", "info", str(folder), "--pixel-um", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rows (spots)" in proc.stdout


# -- parquet with sparse frame numbers: valid, and read in memory proportional to the rows -------

def _sparse_parquet(tmp_path: Path, last_frame: int) -> Path:
    """12 cells in 40 frames; the last 10 frames shifted to ``last_frame - 9 .. last_frame``."""
    rng = np.random.default_rng(0)
    frame = np.repeat(np.arange(40), 12)
    tid = np.tile(np.arange(12), 40)
    df = pd.DataFrame({"track_id": tid, "frame": np.where(frame >= 30, frame - 39 + last_frame, frame),
                       "x_um": 20.0 * (tid % 4) + 0.1 * frame + rng.normal(0, 1, len(tid)),
                       "y_um": 20.0 * (tid // 4) + rng.normal(0, 1, len(tid))})
    path = tmp_path / f"sparse_{last_frame}.parquet"
    df.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("args", [("tracks", "info"), ("run", "--model", "zero", "--data"),
                                  ("run", "--model", "ar", "--data")], ids=["info", "zero", "ar"])
def test_sparse_frames_up_to_1e12_run_the_references(tmp_path, args):
    path = _sparse_parquet(tmp_path, 10**12)
    out = () if args[0] == "tracks" else ("--out", str(tmp_path / "run"))
    proc = cli_limited(tmp_path, *args, str(path), *out)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("last_frame", [10**8, 10**12])
def test_sparse_frames_train_physattn_within_the_limit(tmp_path, last_frame):
    """``splits.frames_of`` used to build a dense arange over the training block: 534 MiB at 10**8, 5 TiB at 10**12."""
    path = _sparse_parquet(tmp_path, last_frame)
    proc = cli_limited(tmp_path, "run", "--model", "physattn", "--epochs", "1", "--data", str(path),
                       "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_frame_beyond_2_53_is_refused(tmp_path):
    df = pd.DataFrame({"track_id": [1, 1], "frame": [0, 2**62], "x_um": [0.0, 1.0], "y_um": [0.0, 0.0]})
    path = tmp_path / "far.parquet"
    df.to_parquet(path, index=False)
    proc = cli_limited(tmp_path, "tracks", "info", str(path))
    assert_one_error(proc, "far.parquet, row 2", "'frame'", "2**53")
