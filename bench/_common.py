"""Shared helpers for the benchmark scripts: JSON output, best-of-N timing, data paths."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(os.environ.get("AGENTHFT_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))


def best_of(n: int, fn: Callable[[], int]) -> tuple[float, int]:
    """Run `fn` (returns an op count) n times; best wall time in seconds and the count."""
    best = float("inf")
    count = 0
    for _ in range(n):
        t0 = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t0)
    return best, count


def emit(name: str, results: dict[str, Any]) -> None:
    """Print one JSON document: the benchmark, the machine, the results."""
    doc = {
        "bench": name,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        **results,
    }
    print(json.dumps(doc, indent=2))
