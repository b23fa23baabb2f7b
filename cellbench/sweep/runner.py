"""Run a sweep on Dask distributed: a LocalCluster by default, or an existing scheduler; or, with
``local=True``, in this process one run after another (``cellbench compare``).

Data are prepared once on the client (simulated presets generated into the cache; every
dataset hashed) and workers read them by path. Each finished run is written to the store as
soon as it completes, so killing the sweep loses only the runs in flight. The sweep's plug-ins
travel with every task and are imported by the worker before its run.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from cellbench.errors import ConfigError
from cellbench.io import sha256_file
from cellbench.sweep.spec import SweepConfig
from cellbench.sweep.store import ResultStore, code_version, run_key
from cellbench.sweep.task import execute


@dataclass
class SweepSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # "path: what is wrong", for files rerun or left alone
    keys: list[str] = field(default_factory=list)  # the result key of every run of the sweep, in spec order


def prepare_dataset(dataset: str, sim_seed: int = 0) -> tuple[str, str]:
    """(what workers pass to ``--data``, sha256 of the data) for a sweep dataset entry.

    A preset is simulated here once with seed ``sim_seed`` (cached) so that workers on this
    machine read the cache instead of simulating; workers elsewhere regenerate the identical
    bytes from the same seed (``RunConfig.sim_seed``). A tracks file ignores ``sim_seed``.
    """
    if dataset.startswith("preset:"):
        import cellbench.sim

        from cellbench.sim.variants import is_variant_of_preset

        name = dataset.removeprefix("preset:")
        if not is_variant_of_preset(name):
            raise ConfigError(f"dataset {dataset!r}: unknown preset; presets are {sorted(cellbench.sim.PRESETS)}")
        folder = Path(cellbench.sim.cached_dataset(name, seed=sim_seed))
        return name, sha256_file(folder / "tracks.parquet")
    path = Path(dataset)
    if path.is_dir():
        return str(path), ""
    return str(path), sha256_file(path)


def _sim_seed_of(dataset: str, spec) -> int:
    """The seed that decides the data of one dataset entry of ``spec``: its sim seed for a preset, else 0."""
    return spec.sim_seed if dataset.startswith("preset:") else 0


def _client(scheduler: str | None, n_workers: int | None, security=None, timeout_s: float = 20.0):
    try:
        from dask.distributed import Client, LocalCluster
    except ModuleNotFoundError as err:
        raise ConfigError("cellbench sweep needs Dask distributed: pip install 'cellbench[dist]'") from err

    if scheduler:
        try:
            return Client(scheduler, security=security, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as err:
            hint = (" (with tls://, check that --tls-cert was signed by the scheduler's CA)"
                    if scheduler.startswith("tls://") else "")
            raise ConfigError(f"--scheduler {scheduler}: cannot connect ({type(err).__name__}: {err}){hint}") from err
    import dask

    n = n_workers or max(1, os.cpu_count() or 1)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": local_worker_environ()}):
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            env={"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
    return Client(cluster)


def local_worker_environ() -> dict:
    """The environment Dask sets before it starts a local worker process, without ``MALLOC_TRIM_THRESHOLD_``.

    Dask's default sets ``MALLOC_TRIM_THRESHOLD_=65536`` so that workers hand freed memory back to
    the system. Setting it also switches off glibc's adaptive mmap threshold, so every tensor above
    128 KiB is mapped and unmapped afresh: a training epoch of physattn on ``default[n_frames=100]``
    took 2.5x as long with it (5.2 s against 2.0 s for 8 epochs, one process; 4.1-4.8 s against
    2.3-2.6 s in Dask workers; measured 2026-12-04, AMD EPYC, 2 cores). The rest of Dask's
    defaults (one thread per math library) is kept.
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return env


def run_sweep(
    cfg: SweepConfig,
    results: Path,
    scheduler: str | None = None,
    n_workers: int | None = None,
    security=None,
    progress=None,
    retry_failed: bool = True,
    connect_timeout_s: float = 20.0,
    local: bool = False,
    device: str = "cpu",
) -> SweepSummary:
    """Execute every run of ``cfg`` whose result is not in ``results`` yet.

    Parameters
    ----------
    progress : optional callable ``(n_total, n_done_already) -> advance()`` factory for a progress bar.
    local : run in this process, one run after another (no Dask); otherwise on ``scheduler`` or a
        LocalCluster of ``n_workers`` processes.
    device : where learned models train (``'auto'``, ``'cpu'``, ``'cuda'``); not part of a run's key.
    """
    store = ResultStore(results)
    version = code_version()
    # one entry per (dataset entry, sim seed); a tracks file has the same data whatever the sim seed
    data = {(d, q): prepare_dataset(d, q) for d, q in sorted({(d, _sim_seed_of(d, s)) for s in cfg.specs for d in s.dataset})}

    def paths(spec):
        return [data[d, _sim_seed_of(d, spec)][0] for d in spec.dataset]

    def sha(spec):
        return "+".join(data[d, _sim_seed_of(d, spec)][1] for d in spec.dataset)

    summary = SweepSummary(damaged=[f"{p}: {why}" for p, why in store.damaged().items()])
    todo = []
    for spec in cfg.specs:
        spec_d = spec.to_dict()
        key = run_key(spec_d, sha(spec), version)
        summary.keys.append(key)
        status = store.status(key)
        if status == "done" or (status == "failed" and not retry_failed):
            summary.skipped += 1
            continue
        todo.append((key, spec, spec_d))
    advance = progress(len(cfg.specs), summary.skipped) if progress else (lambda: None)

    def finish(key: str, spec, spec_d: dict, record: dict) -> None:
        record.update(
            spec=spec_d, label=spec.label, data_path=paths(spec), data_sha256=sha(spec),
            code_version=version, finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        store.write(key, record)
        if record["status"] == "done":
            summary.done += 1
        else:
            summary.failed += 1
            sim = f" sim seed {spec.sim_seed}" if spec.sim_seed else ""
            summary.errors.append(f"{spec.label} on {' + '.join(spec.dataset)}{sim} seed {spec.seed}: {record['error']}")
        advance()

    if local:
        for key, spec, spec_d in todo:
            finish(key, spec, spec_d, execute(spec_d, paths(spec), plugins=cfg.plugins, one_thread=False,
                                                  device=device))
        return summary
    if not todo:
        return summary
    client = _client(scheduler, n_workers, security, connect_timeout_s)
    from dask.distributed import as_completed

    try:
        futures = {}
        for key, spec, spec_d in todo:
            fut = client.submit(execute, spec_d, paths(spec), plugins=cfg.plugins, device=device,
                                key=f"cellbench-run-{key}", pure=False)
            futures[fut] = (key, spec, spec_d)
        for fut in as_completed(futures):
            try:
                record = fut.result()
            except Exception as err:  # noqa: BLE001 - e.g. KilledWorker: recorded as a failure
                record = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
            finish(*futures[fut], record)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    return summary
