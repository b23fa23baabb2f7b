"""The local Dask workers of a sweep: one thread per math library, and glibc's adaptive malloc left on
(Dask's MALLOC_TRIM_THRESHOLD_ made training 2.5x slower, cellbench.sweep.runner.local_worker_environ)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("dask.distributed")


PROBE = """
import json, os
from cellbench.sweep.runner import _client

def environ():
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}

if __name__ == "__main__":
    client = _client(None, 1)
    try:
        (env,) = client.run(environ).values()
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    print(json.dumps(env))
"""


def test_local_workers_keep_adaptive_malloc_and_one_thread_per_library(tmp_path):
    """As `cellbench sweep` starts them: from a fresh process whose environment does not set the
    variable. (A process that already holds it, e.g. one that started another Dask cluster, which
    writes Dask's defaults into its parent's environment, passes it on to the workers it spawns.)"""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    worker = json.loads(out.stdout.strip().splitlines()[-1])
    assert worker["MALLOC_TRIM_THRESHOLD_"] is None
    assert worker["OMP_NUM_THREADS"] == "1" and worker["MKL_NUM_THREADS"] == "1"


def test_the_environ_drops_only_the_trim_threshold():
    import dask
    import distributed  # noqa: F401 - registers the distributed config

    from cellbench.sweep.runner import local_worker_environ

    default = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    kept = local_worker_environ()
    assert "MALLOC_TRIM_THRESHOLD_" not in kept
    assert kept == {k: v for k, v in default.items() if k != "MALLOC_TRIM_THRESHOLD_"}
