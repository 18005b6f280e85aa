"""The token bucket both the venue and the agent use: a take spends a token only when the bucket,
refilled at its rate since the last look, holds one; never more than its capacity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agenthft.ratelimit import TokenBucket


def test_a_burst_then_the_rate():
    b = TokenBucket(10, 3, now_ns=0)
    assert [b.take(0) for _ in range(4)] == [True, True, True, False], "the capacity, then none"
    assert not b.take(99_999_999) and b.take(100_000_000), "one token per 100 ms at 10/s"
    assert b.remaining(10_000_000_000) == 3, "refilled to the capacity, not past it"
    assert b.retry_after_s(10_000_000_000, 4) == 1


@given(st.lists(st.tuples(st.integers(0, 2_000_000_000), st.sampled_from([0.5, 1.0, 2.0])), max_size=60))
def test_takes_match_the_refill_then_spend_model(steps: list[tuple[int, float]]):
    b = TokenBucket(5, 4, now_ns=0)
    tokens, last, now = 4.0, 0, 0
    for gap, n in steps:
        now += gap
        if now > last:
            tokens, last = min(4.0, tokens + (now - last) * (5 / 1e9)), now
        ok = tokens >= n
        if ok:
            tokens -= n
        assert b.take(now, n) is ok
        assert 0 <= b.tokens <= 4 and abs(b.tokens - tokens) < 1e-9
