"""cellbench: a simulation-augmented benchmark suite for learning collective cell dynamics."""

from cellbench.version import __version__
from cellbench.errors import CellbenchError, ConfigError, TracksFormatError  # noqa: E402
from cellbench.data.tracks import Tracks, TracksMeta  # noqa: E402

__all__ = ["Tracks", "TracksMeta", "CellbenchError", "ConfigError", "TracksFormatError", "__version__"]
