"""cellbench: a simulation-augmented benchmark suite for learning collective cell dynamics.

The public names below load on first use, so ``import cellbench`` (and ``cellbench --help``)
does not pay for pandas, numba or torch until something needs them.
"""

from cellbench.errors import CellbenchError, ConfigError, TracksFormatError
from cellbench.version import __version__

_LAZY = {"Tracks": "cellbench.data.tracks", "TracksMeta": "cellbench.data.tracks"}

__all__ = ["Tracks", "TracksMeta", "CellbenchError", "ConfigError", "TracksFormatError", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cellbench' has no attribute {name!r}")
