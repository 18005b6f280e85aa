"""Latency telemetry: HdrHistograms of ack RTT, fill latency, tick-to-trade and GC pauses."""

from __future__ import annotations

import gc
import time
from typing import Any

from hdrh.histogram import HdrHistogram

NAMES = ("ack_rtt", "fill_latency", "tick_to_trade", "gc_pause", "ping_rtt")


class Telemetry:
    """Nanosecond histograms (1 ns .. 60 s, 3 significant digits). `gc_pause` is fed by
    `gc.callbacks` once `watch_gc()` is called."""

    def __init__(self) -> None:
        self.h = {name: HdrHistogram(1, 60_000_000_000, 3) for name in NAMES}
        self._gc_start = 0
        self.gc_collections = 0

    def record(self, name: str, ns: int) -> None:
        self.h[name].record_value(max(1, ns))

    def watch_gc(self) -> None:
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def unwatch_gc(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter_ns()
        elif self._gc_start:
            self.record("gc_pause", time.perf_counter_ns() - self._gc_start)
            self.gc_collections += 1
            self._gc_start = 0

    def snapshot(self) -> dict[str, dict[str, float]]:
        """Per histogram: count and p50/p99/p99.9/max in microseconds."""
        out = {}
        for name, h in self.h.items():
            n = h.get_total_count()
            out[name] = {"count": n} | (
                {f"p{p}_us": round(h.get_value_at_percentile(p) / 1000, 2) for p in (50, 99, 99.9)}
                | {"max_us": round(h.get_max_value() / 1000, 2)}
                if n
                else {}
            )
        return out
