"""cellbench: a simulation-augmented benchmark suite for learning collective cell dynamics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cellbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from cellbench.errors import CellbenchError, ConfigError, TracksFormatError  # noqa: E402
from cellbench.data.tracks import Tracks, TracksMeta  # noqa: E402

__all__ = ["Tracks", "TracksMeta", "CellbenchError", "ConfigError", "TracksFormatError", "__version__"]
