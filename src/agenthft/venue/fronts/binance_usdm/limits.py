"""Binance's rate limits over the venue's per-key tier: REQUEST_WEIGHT per minute and ORDERS
per 10 s and per minute, in fixed windows on the venue's clock (as Binance counts them), per
API key (per source address for requests without one). Over a limit: 429 with Retry-After;
more than the tier's `abuse_per_s` refusals in one minute: a 2-minute ban (418)."""

from __future__ import annotations

from agenthft.venue.config import Tier

MINUTE_NS = 60_000_000_000
TEN_S_NS = 10_000_000_000
BAN_NS = 120_000_000_000


def binance_limits(tier: Tier) -> tuple[int, int, int]:
    """(REQUEST_WEIGHT per minute, ORDERS per 10 s, ORDERS per minute) of a tier: the weight is
    `weight_per_min` (0: 20 x rest_per_min, 2400 for the default 120), orders the tier's
    orders_per_s over each window."""
    weight = tier.weight_per_min or int(20 * tier.rest_per_min)
    return weight, max(1, int(tier.orders_per_s * 10)), max(1, int(tier.orders_per_s * 60))


class Window:
    """A count in fixed windows of `interval_ns` (reset at each window's start)."""

    __slots__ = ("count", "interval_ns", "limit", "start")

    def __init__(self, limit: int, interval_ns: int) -> None:
        self.limit = limit
        self.interval_ns = interval_ns
        self.count = 0
        self.start = 0

    def used(self, now_ns: int) -> int:
        start = now_ns - now_ns % self.interval_ns
        if start != self.start:
            self.start, self.count = start, 0
        return self.count

    def add(self, n: int, now_ns: int) -> bool:
        """Count `n`; False (and not counted) if it would pass the limit."""
        if self.used(now_ns) + n > self.limit:
            return False
        self.count += n
        return True

    def retry_after_s(self, now_ns: int) -> int:
        return max(1, -(-(self.start + self.interval_ns - now_ns) // 1_000_000_000))


class Limits:
    """One key's (or one address's) windows, refusals and ban."""

    __slots__ = ("banned_until", "orders_1m", "orders_10s", "refusals", "strike_limit", "weight", "ws_weight")

    def __init__(self, tier: Tier) -> None:
        weight, o10, o60 = binance_limits(tier)
        self.weight = Window(weight, MINUTE_NS)
        self.ws_weight = Window(weight, MINUTE_NS)  # the WebSocket API's weight is counted apart
        self.orders_10s = Window(o10, TEN_S_NS)
        self.orders_1m = Window(o60, MINUTE_NS)
        self.refusals = Window(max(1, tier.abuse_per_s), MINUTE_NS)
        self.banned_until = 0
        self.strike_limit = tier.abuse_per_s

    def refused(self, now_ns: int) -> bool:
        """Count a 429; True when it turns into a ban."""
        if not self.refusals.add(1, now_ns):
            self.banned_until = now_ns + BAN_NS
            return True
        return False

    def ban_left_s(self, now_ns: int) -> int:
        return max(0, -(-(self.banned_until - now_ns) // 1_000_000_000))
