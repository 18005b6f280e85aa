"""Shared fixtures: where the real captures live (../shared/data, or $AGENTHFT_DATA)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("AGENTHFT_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data() -> Path:
    if not (DATA / "README.md").exists():
        pytest.fail(f"real market data not found at {DATA}; set AGENTHFT_DATA")
    return DATA


@pytest.fixture(scope="session")
def events_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Parquet cache of decoded captures for the whole run, both xdist workers included (the
    cache's writes are atomic renames): tests that only need a capture's rows, not its decoding,
    read it from here instead of decoding it again (the USD-M capture is ~3 s each time)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "events-cache"
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(autouse=True)
def _sigint_as_it_was() -> Iterator[None]:
    """Tests that run a command in-process (`cli.main`) and end it interrupted leave Ctrl-C
    ignored, as a command ending does: the processes later tests start would inherit SIG_IGN,
    and an early SIGINT sent to them would be lost (seen: the instant-Ctrl-C test timed out)."""
    before = signal.getsignal(signal.SIGINT)
    yield
    if signal.getsignal(signal.SIGINT) is not before and before is not None:
        signal.signal(signal.SIGINT, before)
