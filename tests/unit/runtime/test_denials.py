"""The journal's denial aggregation: first occurrence in full, then counts per interval."""

from agenthft.risk import Reason, RiskEvent
from agenthft.runtime.denials import DenialAggregator

S = 1_000_000_000


def deny(t: int, reason: Reason = Reason.HALTED, market: str = "P", action: str = "deny") -> RiskEvent:
    return RiskEvent(t, reason, action, "v", "l", market)


def test_first_occurrence_per_reason_and_market_is_written_the_rest_counted():
    agg = DenialAggregator(interval_ns=S)
    assert agg.offer(deny(0))
    assert not agg.offer(deny(1))
    assert agg.offer(deny(2, market="Q")), "another market is another key"
    assert agg.offer(deny(3, Reason.STALE_DATA))
    for t in range(4, 1000):
        agg.offer(deny(t))
    assert agg.due(S - 1) is None, "the interval has not ended"
    row = agg.due(S)
    assert row == {"from_ns": 0, "to_ns": S, "counts": {"halted:P": 998}}
    assert agg.suppressed == 997
    assert agg.offer(deny(S + 1)), "a new interval writes the first again"


def test_state_changes_are_never_aggregated():
    agg = DenialAggregator()
    assert all(agg.offer(deny(t, action="halt")) for t in range(10))
    assert all(agg.offer(deny(t, action="pull")) for t in range(10))
    assert agg.due(10**12) is None


def test_force_flushes_a_partial_interval():
    agg = DenialAggregator(interval_ns=S)
    for t in range(3):
        agg.offer(deny(t, Reason.CIRCUIT_BREAKER, action="throttle"))
    assert agg.due(5, force=True) == {"from_ns": 0, "to_ns": 5, "counts": {"circuit_breaker:P": 3}}
