"""Sweeps: a grid of runs, executed as Dask tasks, each result stored once under its own hash."""

from cellbench.sweep.spec import RunSpec, SweepConfig, load_sweep
from cellbench.sweep.store import ResultStore

__all__ = ["RunSpec", "SweepConfig", "load_sweep", "ResultStore"]
