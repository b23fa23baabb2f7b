"""A pure code move changes no result: outputs equal the table recorded before the restructure.

The table (``tests/data/identity.json``) was recorded by ``python -m tests.identity record`` on
the layout before issue 12 and holds the sha256 of every file that ``cellbench simulate`` writes
for every preset at seed 0, and every number of ``metrics.json`` for 1-epoch runs of every
model on a small preset and on BF-C2DL-HSC_01. The check is exact (bitwise), so it is tied to
the machine kind the table was recorded on (AMD EPYC, 2 cores, numpy/numba/torch as installed by
the README): a change of CPU or library version may legitimately move the last bits of the
learned runs; re-record the table there, from a commit known to be right, and say so.

Every value recorded must come out equal; sections added to ``metrics.json`` after the table was
recorded (for example the bootstrap ``intervals``) are allowed. A change that is meant to alter a
recorded result (a fixed bug) re-records the table in the same commit, with the reason in the
commit message.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.identity import HSC_01, MODELS, PRESETS, RUN_PRESET, TABLE, run_metrics, simulate_hashes

EXPECTED = json.loads(TABLE.read_text())


def recorded_part(got, expected):
    """``got`` restricted to the keys present in ``expected`` (recursively), for an equality check."""
    if isinstance(got, dict) and isinstance(expected, dict):
        return {k: recorded_part(got[k], v) if k in got else "<missing>" for k, v in expected.items()}
    return got
HEAVY_PRESETS = {"passive-wca", "passive-yukawa"}
"""Presets that take 10-30 s each to simulate: checked with ``pytest -m slow``."""


@pytest.fixture(scope="module")
def work():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@pytest.mark.parametrize("preset", [pytest.param(p, marks=pytest.mark.slow) if p in HEAVY_PRESETS else p
                                    for p in PRESETS])
def test_simulate_outputs_are_byte_identical(preset, work):
    assert simulate_hashes(preset, work) == EXPECTED["simulate"][preset]


@pytest.mark.parametrize("model", MODELS)
def test_run_metrics_on_a_small_preset_are_identical(model, work):
    expected = EXPECTED["run"][RUN_PRESET][model]
    assert recorded_part(run_metrics(model, RUN_PRESET, work), expected) == expected


@pytest.mark.realdata
@pytest.mark.parametrize("model", [m for m in MODELS if m != "oracle"])
def test_run_metrics_on_hsc_01_are_identical(model, work):
    if not HSC_01.is_file():
        pytest.skip(f"{HSC_01} is absent (real data are never committed)")
    key = HSC_01.stem
    expected = EXPECTED["run"][key][model]
    assert recorded_part(run_metrics(model, str(HSC_01), work), expected) == expected
