"""The article's infrastructure table ("Co-location strategies: bare metal vs VPS vs serverless"),
written down once: `backtest.latency` draws its presets from it and `agenthft probe` places a
measured latency in it."""

from __future__ import annotations

from typing import NamedTuple


class Tier(NamedTuple):
    key: str  # the latency preset's name
    name: str
    low_ms: float  # the article's typical latency range
    high_ms: float
    jitter_ms: float  # the article's jitter, as a number (its upper bound; serverless: half its range)
    jitter: str  # ... as the article writes it
    viable: str  # the strategies the article calls viable there


TIERS: tuple[Tier, ...] = (
    Tier("colocated", "co-located bare metal (same DC)", 0.1, 0.5, 0.1, "<0.1 ms",
         "latency arbitrage, cross-venue NBBO arbitrage, market making"),
    Tier("metal", "bare metal (same region)", 0.5, 2.0, 0.5, "<0.5 ms",
         "market making, cross-venue arbitrage of multi-ms divergences"),
    Tier("vps", "premium VPS (same region)", 2.0, 10.0, 2.0, "1-3 ms",
         "strategies at the 5-50 ms scale (slower market making)"),
    Tier("vps-remote", "standard VPS (cross-region)", 20.0, 80.0, 10.0, "5-15 ms", "statistical arbitrage only"),
    Tier("serverless", "serverless / cloud functions", 50.0, 500.0, 225.0, "unpredictable",
         "none for HFT: administrative tasks only"),
)  # fmt: skip


def classify(one_way_ms: float) -> Tier:
    """The first tier whose range reaches `one_way_ms` (the last one takes everything slower)."""
    for tier in TIERS[:-1]:
        if one_way_ms <= tier.high_ms:
            return tier
    return TIERS[-1]
