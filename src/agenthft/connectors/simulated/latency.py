"""Latency models: how long a venue event takes to reach the agent, an order to reach the venue,
and the venue's answer to come back. One small interface, seeded, swappable.

Presets are the article's infrastructure tiers (its table "Co-location strategies"): the typical
one-way latency is the middle of the article's range and the jitter its stated spread, drawn
uniformly. The article's figures are round trips as an operator meets them; here each leg gets
the tier's typical value (a co-located agent sees the market 0.3 ms late and its order lands
0.3 ms later). Bias: uniform jitter has no tail; for tails, feed the runtime's measured RTTs as
an `Empirical` model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

from agenthft.tiers import TIERS

US = 1_000


class LatencyModel(Protocol):
    """Each call draws one delay in ns."""

    def feed_ns(self) -> int: ...  # venue event -> the agent sees it

    def order_ns(self) -> int: ...  # agent sends -> the venue receives

    def response_ns(self) -> int: ...  # venue answers (ack, fill, cancel) -> the agent sees it


class Constant:
    def __init__(self, feed_us: float, order_us: float, response_us: float) -> None:
        self.f, self.o, self.r = int(feed_us * US), int(order_us * US), int(response_us * US)

    def feed_ns(self) -> int:
        return self.f

    def order_ns(self) -> int:
        return self.o

    def response_ns(self) -> int:
        return self.r

    def __repr__(self) -> str:
        return f"Constant(feed={self.f / US:g}us, order={self.o / US:g}us, response={self.r / US:g}us)"


class Jittered:
    """Typical one-way latency plus uniform jitter in [0, jitter], seeded (deterministic)."""

    def __init__(self, typical_us: float, jitter_us: float, seed: int = 7) -> None:
        self.base, self.jitter = int(typical_us * US), int(jitter_us * US)
        self.rng = random.Random(seed)

    def _draw(self) -> int:
        return self.base + (self.rng.randint(0, self.jitter) if self.jitter else 0)

    def feed_ns(self) -> int:
        return self._draw()

    def order_ns(self) -> int:
        return self._draw()

    def response_ns(self) -> int:
        return self._draw()

    def __repr__(self) -> str:
        return f"Jittered({self.base / US:g}us + U(0, {self.jitter / US:g}us))"


class Empirical:
    """One-way delays resampled from measured round trips (halved), e.g. the runtime's ping RTTs."""

    def __init__(self, rtts_ns: Sequence[int], seed: int = 7) -> None:
        if not rtts_ns:
            raise ValueError("an empirical latency model needs at least one measured RTT")
        self.samples = [max(1, r // 2) for r in rtts_ns]
        self.rng = random.Random(seed)

    def _draw(self) -> int:
        return self.samples[self.rng.randrange(len(self.samples))]

    feed_ns = order_ns = response_ns = _draw

    def __repr__(self) -> str:
        return f"Empirical({len(self.samples)} samples)"


#: The article's tiers (`agenthft.tiers`): (typical one-way latency = the middle of its range,
#: jitter), microseconds.
PRESETS: dict[str, tuple[float, float]] = {
    t.key: ((t.low_ms + t.high_ms) / 2 * 1000, t.jitter_ms * 1000) for t in TIERS
}


def parse(spec: str, seed: int = 7) -> LatencyModel:
    """A preset name, or FEED_US,ORDER_US,RESPONSE_US (constant)."""
    if spec in PRESETS:
        typical, jitter = PRESETS[spec]
        return Jittered(typical, jitter, seed)
    parts = spec.split(",")
    if len(parts) == 3:
        try:
            f, o, r = (float(x) for x in parts)
        except ValueError:
            pass
        else:
            if min(f, o, r) >= 0:
                return Constant(f, o, r)
    raise ValueError(f"latency {spec!r}: one of {', '.join(PRESETS)} or FEED_US,ORDER_US,RESPONSE_US")
