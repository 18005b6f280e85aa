"""Keeps the journal bounded under a flood of denied orders.

A strategy that keeps trying while risk says no (halted, stale data, throttled) would write a
row per attempt: 72k rows in 10 s were seen. State changes are still journaled one by one; a
repeated denial is written in full only the first time its (reason, market) appears in an
interval, and the rest become one count row per interval. Pure: time comes in as int ns.
"""

from __future__ import annotations

from agenthft.risk import RiskEvent

#: Actions that decide one order and change nothing: these are aggregated.
REPEATABLE = frozenset({"deny", "throttle"})


class DenialAggregator:
    """First occurrence per (reason, market) per interval in full; the rest counted."""

    __slots__ = ("_start_ns", "counts", "interval_ns", "suppressed")

    def __init__(self, interval_ns: int = 1_000_000_000) -> None:
        self.interval_ns = interval_ns
        self._start_ns = 0
        self.counts: dict[tuple[str, str], int] = {}  # occurrences this interval, first included
        self.suppressed = 0  # events counted instead of written, over the whole run

    def offer(self, ev: RiskEvent) -> bool:
        """True if `ev` should be written in full now."""
        if ev.action not in REPEATABLE:
            return True
        if not self.counts:
            self._start_ns = ev.ts_ns
        key = (ev.reason.value, ev.market)
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        if n:
            self.suppressed += 1
        return n == 0

    def due(self, now_ns: int, force: bool = False) -> dict[str, object] | None:
        """The count row for the interval that has ended (or everything, with `force`), else None.
        Only (reason, market) pairs that were suppressed at least once appear in it."""
        if not self.counts or (not force and now_ns - self._start_ns < self.interval_ns):
            return None
        counts = {f"{r}:{m}" if m else r: n for (r, m), n in self.counts.items() if n > 1}
        row: dict[str, object] | None = (
            {"from_ns": self._start_ns, "to_ns": now_ns, "counts": counts} if counts else None
        )
        self.counts = {}
        return row
