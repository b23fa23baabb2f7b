"""Remote sweeps: TLS options checked before connecting, a real TLS cluster on 127.0.0.1 admits only
certificates of its own CA, and a worker killed mid-sweep loses no run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cellbench.errors import ConfigError
from cellbench.sweep import ResultStore, load_sweep
from cellbench.sweep.runner import run_sweep
from cellbench.sweep.security import sweep_security
from tests.helpers import random_walk_tracks
from tests.test_sweep import _sweep_file

distributed = pytest.importorskip("distributed")


# -- option checks (no network) ------------------------------------------------------------------
def test_tls_address_without_certificates_names_the_missing_options():
    with pytest.raises(ConfigError, match="missing --tls-ca-file, --tls-cert, --tls-key"):
        sweep_security("tls://10.0.0.1:8786")


def test_tls_with_only_a_ca_file_names_the_rest(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="missing --tls-cert, --tls-key"):
        sweep_security("tls://10.0.0.1:8786", tls_ca_file=ca)


def test_a_missing_certificate_file_is_named(tmp_path):
    files = {k: tmp_path / f"{k}.pem" for k in ("ca", "cert")}
    for p in files.values():
        p.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match=r"--tls-key .*nope\.pem: no such file"):
        sweep_security("tls://10.0.0.1:8786", files["ca"], files["cert"], tmp_path / "nope.pem")


def test_tls_options_with_a_tcp_address_are_refused(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="apply to tls:// scheduler addresses only"):
        sweep_security("tcp://10.0.0.1:8786", tls_ca_file=ca)
    with pytest.raises(ConfigError, match="no --scheduler"):
        sweep_security(None, tls_ca_file=ca)
    assert sweep_security("tcp://10.0.0.1:8786") is None and sweep_security(None) is None


# -- a real TLS cluster ----------------------------------------------------------------------------
def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(folder: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)


def _make_cert(folder: Path, ca: str, name: str) -> None:
    ext = folder / f"{name}.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", cwd=folder)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-days", "1", "-extfile", ext.name, "-out", f"{name}.pem", cwd=folder)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make test certificates")
    folder = tmp_path_factory.mktemp("certs")
    _make_ca(folder, "ca")
    _make_ca(folder, "other-ca")
    for name in ("node", "client"):
        _make_cert(folder, "ca", name)
    _make_cert(folder, "other-ca", "intruder")
    return folder


def _tls_cluster(certs: Path, n_workers: int = 1):
    from distributed import LocalCluster
    from distributed.security import Security

    sec = Security(tls_ca_file=str(certs / "ca.pem"), tls_scheduler_cert=str(certs / "node.pem"),
                   tls_scheduler_key=str(certs / "node.key"), tls_worker_cert=str(certs / "node.pem"),
                   tls_worker_key=str(certs / "node.key"), tls_client_cert=str(certs / "node.pem"),
                   tls_client_key=str(certs / "node.key"), require_encryption=True)
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, protocol="tls://",
                        host="127.0.0.1", security=sec, dashboard_address=None)


def test_tls_sweep_runs_and_a_foreign_certificate_is_refused(tmp_path, certs):
    random_walk_tracks(n_tracks=10, n_frames=60, seed=3).save(tmp_path / "walk.parquet")
    cfg = load_sweep(_sweep_file(tmp_path, ["zero"], [0, 1], ["walk.parquet"]))
    with _tls_cluster(certs) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1")
        good = sweep_security(address, certs / "ca.pem", certs / "client.pem", certs / "client.key")
        summary = run_sweep(cfg, tmp_path / "res", scheduler=address, security=good)
        assert (summary.done, summary.failed) == (2, 0)
        assert len(ResultStore(tmp_path / "res").records()) == 2

        bad = sweep_security(address, certs / "ca.pem", certs / "intruder.pem", certs / "intruder.key")
        cfg2 = load_sweep(_sweep_file(tmp_path, ["mean"], [0], ["walk.parquet"]))
        with pytest.raises(ConfigError, match="cannot connect"):
            run_sweep(cfg2, tmp_path / "res2", scheduler=address, security=bad, connect_timeout_s=5)
        assert not list((tmp_path / "res2").glob("*.json"))  # nothing ran for the intruder


# -- a worker killed mid-sweep ---------------------------------------------------------------------
def test_a_worker_killed_with_sigkill_loses_no_run(tmp_path):
    from distributed import Client, LocalCluster

    random_walk_tracks(n_tracks=40, n_frames=200, seed=1).save(tmp_path / "walk.parquet")
    n_runs = 8
    cfg = load_sweep(_sweep_file(tmp_path, ["ar"], list(range(n_runs)), ["walk.parquet"],
                                 "rollout = false\nprobes = false\n"))  # one-step runs: the kill is what is tested
    res = tmp_path / "res"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one_worker_after_the_first_result():
            deadline = time.time() + 120
            while time.time() < deadline and not list(res.glob("*.json")):
                time.sleep(0.05)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

        killer = threading.Thread(target=kill_one_worker_after_the_first_result)
        killer.start()
        summary = run_sweep(cfg, res, scheduler=cluster.scheduler_address)
        killer.join()
    assert killed, "the worker was never killed: the test did not exercise anything"
    assert (summary.done, summary.failed) == (n_runs, 0), summary.errors
    store = ResultStore(res)
    assert store.damaged() == {} and len(store.records()) == n_runs
