"""`cellbench data fetch`: downloads from a local HTTP server (127.0.0.1 only), resume, checksums, safe zips.

A synthetic CTC training archive (two sequences of 16-bit label masks + man_track.txt, plus image
and SEG members that must not be extracted) is served by ``http.server`` in a thread; the
registry is pointed at it through ``CELLBENCH_DATA_REGISTRY``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.data.location import resolve_data_name
from cellbench.data.remote import FetchError, fetch_dataset, load_registry
from cellbench.data.remote.download import download, part_path
from cellbench.data.remote.extract import extract_tra
from cellbench.data.tracks import Tracks
from cellbench.errors import ConfigError
from tests.conftest import ctc_division, write_ctc

NAME = "TEST-CTC"
PIXEL_UM, FRAME_S = 0.5, 60.0


def ctc_zip(tmp_path: Path) -> bytes:
    """A CTC training archive: <NAME>/0{1,2}_GT/TRA (the division of tests/conftest.py), images and SEG."""
    masks, text = ctc_division()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for seq in ("01", "02"):
            folder = write_ctc(tmp_path / "src" / seq, masks, text)
            for f in sorted(folder.iterdir()):
                zf.write(f, f"{NAME}/{seq}_GT/TRA/{f.name}")
            zf.writestr(f"{NAME}/{seq}/t000.tif", b"raw image bytes")
            zf.writestr(f"{NAME}/{seq}_GT/SEG/man_seg000.tif", b"segmentation bytes")
    return buf.getvalue()


class Server:
    """Serves ``body`` at /<NAME>.zip; records every request's Range header.

    honour_range : answer ``Range: bytes=N-`` with 206 (else 200 and the whole file).
    drop : the first ``drop`` requests send half of their bytes, then close the connection.
    """

    def __init__(self, body: bytes, honour_range: bool = True, drop: int = 0):
        self.body, self.honour_range, self.drop = body, honour_range, drop
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1)) if rng and server.honour_range else 0
                if start >= len(server.body) and rng:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(server.body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                chunk = server.body[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.body) - 1}/{len(server.body)}")
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if len(server.ranges) <= server.drop:
                    self.wfile.write(chunk[: len(chunk) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{NAME}.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def write_registry(path: Path, url: str, sha256: str = "", size_bytes: int = 0) -> Path:
    path.write_text(
        f'[datasets.{NAME}]\nurl = "{url}"\nsha256 = "{sha256}"\nsize_bytes = {size_bytes}\npixel_um = {PIXEL_UM}\n'
        f'frame_interval_s = {FRAME_S}\nsequences = ["01", "02"]\ndescription = "synthetic CTC archive"\n'
    )
    return path


@pytest.fixture
def payload(tmp_path) -> bytes:
    return ctc_zip(tmp_path)


def serve(monkeypatch, tmp_path, server: Server, **registry) -> Path:
    """Point CELLBENCH_DATA_REGISTRY at ``server``; the data folder to fetch into."""
    monkeypatch.setenv("CELLBENCH_DATA_REGISTRY", str(write_registry(tmp_path / "registry.toml", server.url, **registry)))
    return tmp_path / "data"


def test_fetch_writes_parquet_in_um_and_trusts_first_use(monkeypatch, tmp_path, payload):
    with Server(payload) as server:
        dest = serve(monkeypatch, tmp_path, server)
        first = fetch_dataset(NAME, dest)
        assert first.checksum == "first-use" and "NOT verified" in first.warning
        assert first.sha256 == hashlib.sha256(payload).hexdigest()
        lock = json.loads((dest / "cellbench-data.lock.json").read_text())["datasets"][NAME]
        assert (lock["sha256"], lock["size_bytes"], lock["verified_against"]) == (first.sha256, len(payload), "first-use")
        assert [p.relative_to(dest).as_posix() for p in first.parquets] == [f"{NAME}/{NAME}_01.parquet",
                                                                           f"{NAME}/{NAME}_02.parquet"]
        t = Tracks.load(first.parquets[0])
        df = t.df.set_index(["track_id", "frame"])
        # conftest's division: cell 1 at (5 + t, 3) px in frames 0-1, cell 3 at (20 + t, 15) px; 0.5 um per pixel
        assert tuple(df.loc[(1, 1), ["x_um", "y_um"]]) == (6 * 0.5, 3 * 0.5)
        assert tuple(df.loc[(3, 3), ["x_um", "y_um"]]) == (23 * 0.5, 15 * 0.5)
        np.testing.assert_array_equal(t.df["t_s"], t.df["frame"] * FRAME_S)
        assert (t.meta.dataset, t.meta.pixel_um, t.meta.frame_interval_s) == (f"{NAME}_01", PIXEL_UM, FRAME_S)
        assert t.meta.extra["archive_sha256"] == first.sha256 and t.meta.extra["archive_url"] == server.url
        assert sorted(p.name for p in (dest / NAME).iterdir()) == [f"{NAME}_01.parquet", f"{NAME}_02.parquet"]

        again = fetch_dataset(NAME, dest, sequence="02")  # the archive is reused, verified against the lock
        assert again.checksum == "locked" and again.warning is None and len(server.ranges) == 1
    assert resolve_data_name(f"data:{NAME}_02", dest) == first.parquets[1].resolve()


def test_pinned_checksum_mismatch_leaves_no_file(monkeypatch, tmp_path, payload):
    corrupt = payload[:100] + bytes([payload[100] ^ 0xFF]) + payload[101:]
    with Server(corrupt) as server:
        dest = serve(monkeypatch, tmp_path, server, sha256=hashlib.sha256(payload).hexdigest())
        with pytest.raises(FetchError, match=r"sha256 of the download is .*\(the registry's sha256\)"):
            fetch_dataset(NAME, dest)
    assert sorted(p.name for p in dest.iterdir()) == []  # no archive, no .part, no lock, no parquet


def test_first_use_record_is_verified_later(monkeypatch, tmp_path, payload):
    with Server(payload) as server:
        dest = serve(monkeypatch, tmp_path, server)
        fetch_dataset(NAME, dest, sequence="01")
    (dest / f"{NAME}.zip").unlink()
    changed = payload[:100] + bytes([payload[100] ^ 0xFF]) + payload[101:]
    with Server(changed) as server:  # the archive changed upstream since it was recorded
        serve(monkeypatch, tmp_path, server)
        with pytest.raises(FetchError, match="recorded in the lock file"):
            fetch_dataset(NAME, dest, sequence="01")
    assert not (dest / f"{NAME}.zip").exists() and not part_path(dest / f"{NAME}.zip").exists()


def test_interrupted_download_resumes_with_range(monkeypatch, tmp_path, payload):
    final = tmp_path / "a.zip"
    with Server(payload, drop=1) as server:
        got = download(server.url, final, retries=2)
    assert server.ranges == [None, f"bytes={len(payload) // 2}-"] and got.resumed
    assert final.read_bytes() == payload and got.sha256 == hashlib.sha256(payload).hexdigest()


def test_interrupted_download_is_kept_for_the_next_run(monkeypatch, tmp_path, payload):
    with Server(payload, drop=1) as server:
        dest = serve(monkeypatch, tmp_path, server)
        with pytest.raises(FetchError, match="interrupted .* run the same command again to resume"):
            fetch_dataset(NAME, dest, retries=0)
        archive = dest / f"{NAME}.zip"
        assert not archive.exists() and part_path(archive).stat().st_size == len(payload) // 2
        result = fetch_dataset(NAME, dest, retries=0)
    assert server.ranges[-1] == f"bytes={len(payload) // 2}-"
    assert archive.read_bytes() == payload and result.sha256 == hashlib.sha256(payload).hexdigest()


def test_server_ignoring_range_restarts_from_zero(tmp_path, payload):
    final = tmp_path / "a.zip"
    part_path(final).write_bytes(b"x" * 100)  # a stale prefix that is not the file's
    with Server(payload, honour_range=False) as server:
        got = download(server.url, final, sha256=hashlib.sha256(payload).hexdigest())
    assert server.ranges == ["bytes=100-"] and not got.resumed
    assert final.read_bytes() == payload and not part_path(final).exists()


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "TEST-CTC/01_GT/TRA/../../../evil.txt"])
def test_unsafe_archive_is_refused(tmp_path, payload, member):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(payload)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(member, b"outside")
    with pytest.raises(FetchError, match="absolute path or '..'"):
        extract_tra(archive, "01", tmp_path / "out" / "tra")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_only_tracking_ground_truth_is_extracted(tmp_path, payload):
    archive = tmp_path / "a.zip"
    archive.write_bytes(payload)
    folder = extract_tra(archive, "02", tmp_path / "tra")
    assert sorted(p.name for p in folder.iterdir()) == ["man_track.txt"] + [f"man_track{i:03d}.tif" for i in range(4)]
    with pytest.raises(FetchError, match="no 03_GT/TRA/man_track.txt .* 01, 02"):
        extract_tra(archive, "03", tmp_path / "tra3")


def test_registry_errors_name_file_and_key(tmp_path):
    bad = write_registry(tmp_path / "r.toml", "http://127.0.0.1/x.zip", sha256="abc")
    with pytest.raises(ConfigError, match=r"r.toml, \[datasets.TEST-CTC\]: 'sha256' = 'abc' must be"):
        load_registry(bad)
    with pytest.raises(ConfigError, match="no such dataset registry file"):
        load_registry(tmp_path / "missing.toml")


def test_builtin_registry_has_the_ctc_datasets_without_invented_checksums():
    reg = load_registry()
    assert {"BF-C2DL-HSC", "BF-C2DL-MuSC", "PhC-C2DL-PSC", "Fluo-N2DL-HeLa"} <= set(reg)
    hsc = reg["BF-C2DL-HSC"]
    assert (hsc.pixel_um, hsc.frame_interval_s) == (0.645, 300.0)  # ../shared/data/bf-c2dl-hsc/README.md
    assert hsc.url == "https://data.celltrackingchallenge.net/training-datasets/BF-C2DL-HSC.zip"
    assert all(d.sha256 == "" for d in reg.values())  # none published: trust on first use, never made up


def test_cli_fetch_and_list(monkeypatch, tmp_path, payload):
    runner = CliRunner()
    with Server(payload) as server:
        dest = serve(monkeypatch, tmp_path, server)
        out = runner.invoke(app, ["data", "fetch", NAME, "--dest", str(dest), "--sequence", "01"])
    assert out.exit_code == 0, out.output
    assert "warning:" in out.stderr and "NOT verified" in out.stderr
    assert f"data:{NAME}_01" in out.stdout and (dest / NAME / f"{NAME}_01.parquet").exists()
    listing = runner.invoke(app, ["data", "list", "--data-dir", str(dest)])
    assert listing.exit_code == 0 and "first-use (recorded)" in listing.stdout and "pinned" in listing.stdout
    bad = runner.invoke(app, ["data", "fetch", "NOPE", "--dest", str(dest)])
    assert bad.exit_code == 2 and "error: dataset 'NOPE' is not in the registry" in bad.stderr
    seq = runner.invoke(app, ["data", "fetch", NAME, "--dest", str(dest), "--sequence", "07"])
    assert seq.exit_code == 2 and "sequence '07': TEST-CTC has sequences 01, 02 (or 'all')" in seq.stderr
