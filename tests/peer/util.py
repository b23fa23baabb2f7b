"""Helpers shared by the peer cross-checks (plain functions; the fixtures are in conftest.py)."""

from __future__ import annotations

import importlib.metadata

import numpy as np


def frames_of(sim) -> list[np.ndarray]:
    """(n_cells, 2) positions of every frame of a SimResult, in um, frame order."""
    from cellbench.prior.automatic import positions_by_frame

    return positions_by_frame(sim.tracks)


def crop(frame_um: np.ndarray, fov_um: tuple[float, float, float, float]) -> np.ndarray:
    """The cells of one frame inside the field of view (x_min, y_min, x_max, y_max), um."""
    x0, y0, x1, y1 = fov_um
    x, y = frame_um[:, 0], frame_um[:, 1]
    return frame_um[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)]


def peer_version(dist: str) -> str:
    """The installed version of a distribution ('?' when absent), for the printed results."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"
