"""What a read of the latency telemetry costs the trading loop it runs on (a dashboard frame,
an MCP `latency` call): `Telemetry.snapshot()` (p50/p99/p99.9/max of each histogram in one
numpy pass) against the same four values read with hdrh's own `get_value_at_percentile`, the
baseline, in the same run on the same histograms. The histograms hold a desk-like mix: 5,000
round trips, lognormal around 1 ms with a tail to ~1 s. Each read is timed into an
HdrHistogram; prints JSON with p50/p99 per read and the ratio.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from agenthft.runtime.telemetry import NAMES, Telemetry
from bench._common import emit

PCTS = (50, 99, 99.9, 100)


def filled(seed: int = 7, n: int = 5_000) -> Telemetry:
    rng = random.Random(seed)
    t = Telemetry()
    for name in NAMES:
        for _ in range(n):
            t.record(name, int(rng.lognormvariate(13.8, 1.2)) + 1)  # ns; median ~1 ms
    return t


def hdrh_snapshot(t: Telemetry) -> dict[str, dict[str, float]]:
    return {
        name: {f"p{p}": h.get_value_at_percentile(p) / 1000 for p in PCTS}
        for name, h in t.h.items()
        if h.get_total_count()
    }


def timed(fn: Callable[[Telemetry], object], t: Telemetry, rounds: int) -> HdrHistogram:
    h = HdrHistogram(1, 10**10, 3)
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn(t)
        h.record_value(time.perf_counter_ns() - t0)
    return h


def main() -> None:
    t = filled()
    ours, base = t.snapshot(), hdrh_snapshot(t)
    for name in NAMES:  # the same values, or the comparison means nothing
        assert [ours[name][k] for k in ("p50_us", "p99_us", "p99.9_us", "max_us")] == [
            round(v, 2) for v in base[name].values()
        ], name
    timed(Telemetry.snapshot, t, 5)  # warm-up
    snap = timed(Telemetry.snapshot, t, 200)
    hd = timed(hdrh_snapshot, t, 20)

    def us(h: HdrHistogram) -> dict[str, float]:
        return {f"p{p}_us": round(h.get_value_at_percentile(p) / 1000, 1) for p in (50, 99)}

    emit(
        "telemetry",
        {
            "histograms": len(NAMES),
            "values_each": 5_000,
            "snapshot_numpy": us(snap),
            "baseline_hdrh_get_value_at_percentile": us(hd),
            "ratio_p50": round(snap.get_value_at_percentile(50) / hd.get_value_at_percentile(50), 4),
        },
    )


if __name__ == "__main__":
    main()
