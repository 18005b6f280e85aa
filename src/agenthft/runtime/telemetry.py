"""Latency telemetry: HdrHistograms of ack RTT, fill latency, tick-to-trade and GC pauses."""

from __future__ import annotations

import gc
import time
from collections import Counter
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

NAMES = ("ack_rtt", "fill_latency", "tick_to_trade", "gc_pause", "ping_rtt")
#: the ack RTT split at the venue's receive timestamp, kept only where that timestamp is on our
#: clock in nanoseconds (a venue on this host: `Caps.venue_clock_ns`): the wait to reach the
#: venue (our write, the kernel, the venue's queue) and the way back (the venue's work, the
#: kernel, our own queue). Made on demand: each histogram is ~0.4 MB.
SPLIT = ("ack_to_venue", "ack_from_venue")


class Telemetry:
    """Nanosecond histograms (1 ns .. 60 s, 3 significant digits). `gc_pause` is fed by
    `gc.callbacks` once `watch_gc()` is called."""

    def __init__(self) -> None:
        self._h = {name: HdrHistogram(1, 60_000_000_000, 3) for name in NAMES}
        self._gc_start = 0
        self.gc_collections = 0

    @property
    def h(self) -> dict[str, HdrHistogram]:
        """The histograms, with everything recorded so far."""
        return self._h

    def record(self, name: str, ns: int) -> None:
        self._h[name].record_value(max(1, ns))

    def add(self, *names: str) -> None:
        """Histograms beyond `NAMES` (`SPLIT`), from now on."""
        for name in names:
            self._h.setdefault(name, HdrHistogram(1, 60_000_000_000, 3))

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
        out: dict[str, dict[str, float]] = {}
        for name, h in self.h.items():
            n = h.get_total_count()
            out[name] = {"count": n}
            if n:
                values = percentiles(h, (50, 99, 99.9, 100))
                for p, key in ((50, "p50_us"), (99, "p99_us"), (99.9, "p99.9_us"), (100, "max_us")):
                    out[name][key] = round(values[p] / 1000, 2)
        return out


class BatchedTelemetry(Telemetry):
    """Values kept in lists and put into the histograms when they are read (or every 64k): for a
    backtest, whose simulated latencies repeat (a constant model gives one value), each distinct
    value is recorded once with its count. hdrh's `record_value` is pure Python (~1.5 us); live,
    where every value differs, `Telemetry` records at once so no read pays for a backlog."""

    FLUSH_AT = 65_536

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[str, list[int]] = {name: [] for name in NAMES}

    @property
    def h(self) -> dict[str, HdrHistogram]:
        self.flush()
        return self._h

    def add(self, *names: str) -> None:
        super().add(*names)
        for name in names:
            self._pending.setdefault(name, [])

    def record(self, name: str, ns: int) -> None:
        values = self._pending[name]
        values.append(ns if ns > 1 else 1)
        if len(values) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        for name, values in self._pending.items():
            if values:
                h = self._h[name]
                for value, count in Counter(values).items():
                    h.record_value(value, count)
                values.clear()


def percentiles(h: HdrHistogram, pcts: tuple[float, ...]) -> dict[float, int]:
    """`h.get_value_at_percentile(p)` for each p, the same values, in one numpy pass over the
    counts: hdrh walks them in Python (~2-20 ms per percentile on a 60 s range, a stall of the
    loop a dashboard or a control-plane read shares with the strategies)."""
    cum = np.cumsum(np.frombuffer(h.counts, dtype=np.uint64, count=h.counts_len), dtype=np.int64)
    total = int(cum[-1])
    out = {}
    for p in pcts:
        target = max(int(min(p, 100.0) * total / 100 + 0.5), 1)
        value = h.get_value_from_index(int(np.searchsorted(cum, target)))
        out[p] = h.get_highest_equivalent_value(value) if p else h.get_lowest_equivalent_value(value)
    return out
