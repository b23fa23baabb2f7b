"""Shared fixtures: the location of the real BF-C2DL-HSC data, skipped cleanly when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA_DIR = REPO.parent / "shared" / "data" / "bf-c2dl-hsc"


@pytest.fixture
def real_data_dir() -> Path:
    """``../shared/data/bf-c2dl-hsc/`` (next to the repository); skips the test when absent."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real data folder {REAL_DATA_DIR} is absent (BF-C2DL-HSC spots CSVs are not in the repo)")
    return REAL_DATA_DIR
