"""Token buckets: the venue enforces per-key limits with them and the agent mirrors those limits
with the same class so it does not draw rate-limit rejects. Pure: time comes in as int ns."""

from __future__ import annotations

import math


class TokenBucket:
    """`capacity` tokens, refilled at `per_second`. `take` spends one if it can."""

    __slots__ = ("capacity", "last_ns", "per_ns", "per_second", "tokens")

    def __init__(self, per_second: float, capacity: float | None = None, now_ns: int = 0) -> None:
        self.per_second = per_second
        self.per_ns = per_second / 1e9
        self.capacity = capacity if capacity is not None else per_second
        self.tokens = self.capacity
        self.last_ns = now_ns

    def _refill(self, now_ns: int) -> None:
        if now_ns > self.last_ns:
            self.tokens = min(self.capacity, self.tokens + (now_ns - self.last_ns) * self.per_ns)
            self.last_ns = now_ns

    def take(self, now_ns: int, n: float = 1.0) -> bool:
        self._refill(now_ns)
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def remaining(self, now_ns: int) -> int:
        self._refill(now_ns)
        return int(self.tokens)

    def retry_after_s(self, now_ns: int, n: float = 1.0) -> int:
        """Whole seconds until `n` tokens are available (at least 1 when short)."""
        self._refill(now_ns)
        short = n - self.tokens
        return 0 if short <= 0 else max(1, math.ceil(short / self.per_second))

    def reset_s(self, now_ns: int) -> int:
        """Seconds until the bucket is full again."""
        self._refill(now_ns)
        return math.ceil((self.capacity - self.tokens) / self.per_second) if self.per_second else 0
