"""cellbench: a simulation-augmented benchmark suite for learning collective cell dynamics.

The public names below load on first use, so ``import cellbench`` (and ``cellbench --help``)
does not pay for pandas, numba or torch until something needs them.

Python API
----------
``read_tracks(path, pixel_um=None, ...) -> Tracks``
    Any supported tracks file or folder (TrackMate CSV/XML, Cell Tracking Challenge, parquet).
``simulate(preset_or_config, seed, overrides=None) -> SimResult``
    A simulator preset (``"default"``, see ``cellbench simulate --list``) or a ``SimConfig``;
    ``.tracks`` holds the observed Tracks and ``.truth`` the simulator's truth beside them.
``run(RunConfig(model=..., data=(...)), out_dir=None) -> RunResult``
    One scored run, exactly as ``cellbench run`` does it; ``.metrics`` is ``metrics.json``.
``compare(CompareConfig(data=(...), models=(...), seeds=3), out=None) -> CompareResult``
    Several models over several training seeds beside the references, with paired differences
    and whether the physics prior helps, as ``cellbench compare`` does it.
``register(name, summary, kind="fitted")``
    Decorator that adds a model class to the registry (``kind="fitted"``: ``fit(data, seed)`` and
    ``predict(data)``; ``kind="learned"``: a ``GraphTemporalNet`` trained by the one loop).
``load_plugins([module or path.py, ...])``
    Imports plug-in modules that register models, as ``--plugin`` does.

``examples/api_quickstart.py`` runs each of them on a small simulation; ``examples/custom_model.py``
is a registered model of one's own.
"""

from cellbench.errors import CellbenchError, ConfigError, TracksFormatError
from cellbench.version import __version__

_LAZY = {
    "Tracks": "cellbench.data.tracks",
    "TracksMeta": "cellbench.data.tracks",
    "read_tracks": "cellbench.data.readers",
    "simulate": "cellbench.sim",
    "SimConfig": "cellbench.sim",
    "run": "cellbench.runs.pipeline",
    "RunConfig": "cellbench.runs.pipeline",
    "compare": "cellbench.leaderboard.compare_table",
    "CompareConfig": "cellbench.runs.compare",
    "register": "cellbench.models.registry",
    "load_plugins": "cellbench.models.plugins",
}
"""Public name -> the module that defines it, imported on first use."""

__all__ = ["Tracks", "TracksMeta", "read_tracks", "simulate", "SimConfig", "run", "RunConfig", "compare",
           "CompareConfig", "register", "load_plugins", "CellbenchError", "ConfigError", "TracksFormatError",
           "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cellbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
