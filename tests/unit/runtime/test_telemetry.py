"""The telemetry's one-pass percentiles equal HdrHistogram's own, value for value."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from agenthft.runtime.telemetry import Telemetry, percentiles

PCTS = (0, 1, 50, 90, 99, 99.9, 99.99, 100)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 60_000_000_000), min_size=1, max_size=300))
def test_percentiles_equal_hdrh(values: list[int]) -> None:
    h = HdrHistogram(1, 60_000_000_000, 3)
    for v in values:
        h.record_value(v)
    assert percentiles(h, PCTS) == {p: h.get_value_at_percentile(p) for p in PCTS}


def test_snapshot_in_microseconds() -> None:
    t = Telemetry()
    for ns in (1_000, 2_000, 3_000, 250_000):
        t.record("ack_rtt", ns)
    snap = t.snapshot()
    assert snap["ack_rtt"]["count"] == 4 and snap["fill_latency"] == {"count": 0}
    h = t.h["ack_rtt"]
    assert snap["ack_rtt"]["p50_us"] == round(h.get_value_at_percentile(50) / 1000, 2) == 2.0
    assert snap["ack_rtt"]["max_us"] == round(h.get_max_value() / 1000, 2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("ack_rtt", "fill_latency", "tick_to_trade")), st.integers(-5, 10**9))))
def test_batched_telemetry_reads_what_recording_each_value_reads(values: list[tuple[str, int]]) -> None:
    """The backtests' telemetry (values counted, put in when read) answers as the live one."""
    from agenthft.runtime.telemetry import BatchedTelemetry

    live, batched = Telemetry(), BatchedTelemetry()
    batched.FLUSH_AT = 7  # the flush on size too, not only on read
    for name, ns in values:
        live.record(name, ns)
        batched.record(name, ns)
    assert batched.snapshot() == live.snapshot()
    for name in ("ack_rtt", "fill_latency", "tick_to_trade"):
        a, b = live.h[name], batched.h[name]
        assert (a.get_total_count(), a.get_min_value(), a.get_max_value()) == (
            b.get_total_count(),
            b.get_min_value(),
            b.get_max_value(),
        )
