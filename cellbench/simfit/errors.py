"""The error raised when a tracks table cannot be fitted, and how errors name the file."""

from __future__ import annotations

from cellbench.errors import CellbenchError
from cellbench.data.tracks import Tracks


class FitError(CellbenchError):
    """A tracks table cannot be fitted (too short, too few cells, no frame interval); names the file."""


def where(tracks: Tracks) -> str:
    """The file a table came from (or its dataset name), for error messages."""
    return tracks.meta.source_path or tracks.meta.dataset
