"""What one Dask worker does for one run: build the run config, run it, return a record.

Exceptions never escape: a failing run comes back as a ``status: failed`` record with its
error, so the rest of the sweep goes on. The sweep's plug-ins are imported first, so a worker
knows the models they register.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from pathlib import Path


def _run_config(spec: dict, data_paths: list[str]):
    """The :class:`~cellbench.runs.pipeline.RunConfig` of a spec dict (:meth:`RunSpec.to_dict`)."""
    from cellbench.data.readers.options import ReadOptions
    from cellbench.runs.pipeline import RunConfig
    from cellbench.train.build import nest_options

    return RunConfig(
        model=spec["model"], data=tuple(data_paths), split=spec["split"], test_seq=spec.get("test_seq"),
        seed=spec["seed"], model_options=nest_options(spec.get("model_options") or {}),
        train_fraction=spec.get("train_fraction", 1.0), train_on=spec.get("train_on", "real"),
        sim_source=spec.get("sim_source", RunConfig.sim_source), sim_seed=spec.get("sim_seed", 0),
        rollout=spec.get("rollout", True), horizons=tuple(spec.get("horizons", RunConfig.horizons)),
        filtered_oracle=spec.get("filtered_oracle", True), probes=spec.get("probes", True),
        pixel_um=spec.get("pixel_um"), read_options=ReadOptions(**spec["read_options"]) if spec.get("read_options") else None,
    )


def execute(spec: dict, data_paths: list[str], run_dir: str | None = None, plugins: tuple[str, ...] = (),
            one_thread: bool = True, device: str = "cpu") -> dict:
    """Run one spec on the sequences at ``data_paths``; return the record to store.

    plugins : modules or ``.py`` files (absolute paths) to import before the model is looked up
        (:func:`cellbench.models.plugins.load_plugins`). one_thread : a worker process runs one run
        at a time, so torch uses one thread (False: leave the caller's threads alone).
    device : where learned models train (:mod:`cellbench.train.device`); not part of the run's key.
    """
    t0 = time.perf_counter()
    if one_thread:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            import torch

            torch.set_num_threads(1)  # one run per worker process: no oversubscription
        except ImportError:
            pass
    try:
        from cellbench.models.plugins import load_plugins
        from cellbench.runs.pipeline import run

        load_plugins(plugins, "sweep plugins")

        cfg = _run_config(spec, data_paths)
        with tempfile.TemporaryDirectory() as tmp:
            # without a run folder to keep, only the metrics are made: no predictions, checkpoints, figures
            result = run(cfg, Path(run_dir) if run_dir else Path(tmp) / "run", device=device, files=bool(run_dir))
        return {"status": "done", "metrics": result.metrics, "elapsed_s": time.perf_counter() - t0,
                "timing": result.timing}
    except Exception as err:  # noqa: BLE001 - recorded, not swallowed: the record carries it
        return {
            "status": "failed",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
            "elapsed_s": time.perf_counter() - t0,
        }
