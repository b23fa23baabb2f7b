"""The local Dask workers of a sweep: one thread per math library, and glibc's adaptive malloc left on
(Dask's MALLOC_TRIM_THRESHOLD_ made training 2.5x slower, cellbench.sweep.runner.local_worker_environ)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("dask.distributed")


def _environ():
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def test_local_workers_keep_adaptive_malloc_and_one_thread_per_library():
    from cellbench.sweep.runner import _client

    client = _client(None, 1)
    try:
        (env,) = client.run(_environ).values()
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert env["MALLOC_TRIM_THRESHOLD_"] is None
    assert env["OMP_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"


def test_the_environ_drops_only_the_trim_threshold():
    import dask
    import distributed  # noqa: F401 - registers the distributed config

    from cellbench.sweep.runner import local_worker_environ

    default = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    kept = local_worker_environ()
    assert "MALLOC_TRIM_THRESHOLD_" not in kept
    assert kept == {k: v for k, v in default.items() if k != "MALLOC_TRIM_THRESHOLD_"}
