"""Shared fixtures: where the real captures live (../shared/data, or $AGENTHFT_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("AGENTHFT_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data() -> Path:
    if not (DATA / "README.md").exists():
        pytest.fail(f"real market data not found at {DATA}; set AGENTHFT_DATA")
    return DATA
