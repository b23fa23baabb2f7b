"""Simulation sizes are estimated before anything is allocated; preset files are type-checked strictly.

Each bad request ends with exit code 2 and one ``error:`` line naming the option or the file
and key; run in a subprocess under a 2 GB address-space limit, so an allocation sized by the
request (the failure mode these tests guard against) would crash instead of passing.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from cellbench.errors import ConfigError
from cellbench.sim import PRESETS
from cellbench.sim.budget import LIMITS, check_size, estimate_size
from cellbench.sim.config import SimConfig

LIMIT_AS = 2 * 2**30
PRELUDE = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({0}, {0})); "
           "from cellbench.cli import main; sys.argv = ['cellbench'] + sys.argv[1:]; main()").format(LIMIT_AS)


def _simulate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", PRELUDE, "simulate", "--out", str(tmp_path / "out"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _assert_clean_refusal(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr, proc.stderr[-2000:]
    for w in words:
        assert w in proc.stderr, (w, proc.stderr[-2000:])


@pytest.mark.parametrize("sets,words", [
    (["n_cells=1000000000", "box_um=1e9"], ["particle-steps", "GiB", "--allow-large"]),
    (["n_frames=1000000000"], ["particle-steps", "--allow-large"]),
    (["box_um=1e300"], ["box_um", "at most"]),
    (["dt_s=1e-300"], ["dt_s", ">= 1e-06 s"]),
])
def test_oversized_or_degenerate_requests_are_refused_before_allocating(tmp_path, sets, words):
    args = [a for s in sets for a in ("--set", s)]
    _assert_clean_refusal(_simulate(tmp_path, "--preset", "default", *args), *words)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("line,words", [
    ("n_cells = true", ["n_cells", "must be an integer"]),
    ("record_every = true", ["record_every", "must be an integer"]),
    ('fov_um = "0,0,10,10"', ["fov_um", "4 numbers"]),
    ('dt_s = "0.1"', ["dt_s", "must be a number"]),
])
def test_preset_files_with_wrong_types_name_the_file_and_key(tmp_path, line, words):
    path = tmp_path / "bad.toml"
    path.write_text(f'boundary = "periodic"\nbox_um = 100.0\n{line}\n', encoding="utf-8")
    _assert_clean_refusal(_simulate(tmp_path, "--preset", str(path)), str(path), *words)


def test_a_preset_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('description = "cells of 5 \u00b5m"\n'.encode("latin-1"))
    _assert_clean_refusal(_simulate(tmp_path, "--preset", str(path)), str(path), "UTF-8")


def test_every_preset_fits_the_limits():
    for name, cfg in PRESETS.items():
        est = check_size(cfg)
        assert est.particle_steps <= LIMITS["particle_steps"], name


def test_allow_large_lifts_the_limit_and_the_estimate_scales():
    cfg = dataclasses.replace(PRESETS["default"], n_frames=10**8)
    with pytest.raises(ConfigError, match="allow-large"):
        check_size(cfg)
    assert check_size(cfg, allow_large=True).particle_steps > LIMITS["particle_steps"]
    small = estimate_size(PRESETS["default"])
    big = estimate_size(dataclasses.replace(PRESETS["default"], n_frames=2 * PRESETS["default"].n_frames))
    assert big.particle_steps > small.particle_steps  # more frames cost more steps


def test_a_bool_is_not_an_integer():
    with pytest.raises(ConfigError, match="record_every"):
        SimConfig(record_every=True)
