"""Hyperliquid's two rate limits, on the venue's clock.

- **Per IP**: request weight per minute (Hyperliquid: 1200), shared by `/info`, `/exchange` and
  WebSocket posts. `exchange` weighs 1 + floor(batch / 40); `info` 2 (l2Book, allMids,
  clearinghouseState, orderStatus, spotClearinghouseState, exchangeStatus), 60 (userRole) or
  20, plus 1 per 20 items answered for the history requests. Over: HTTP 429.
- **Per address** (the master account; actions only): 1 request per 1 USDC of notional traded
  since the account began, plus an initial buffer (Hyperliquid: 10000). A batch of n counts n;
  cancels may go to min(limit + 100000, 2 x limit). Once over, one request every 10 s still
  passes. Over: `Too many cumulative requests sent (...)` for the whole request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agenthft.venue.fronts.binance_usdm.limits import MINUTE_NS, Window

OVER_LIMIT_EVERY_NS = 10_000_000_000


class IpLimits:
    def __init__(self, weight_per_min: int) -> None:
        self.limit = weight_per_min
        self._windows: dict[str, Window] = {}

    def add(self, ip: str, weight: int, now_ns: int) -> bool:
        """Count `weight` for `ip`; False (a 429) when it would pass the limit."""
        w = self._windows.get(ip)
        if w is None:
            if len(self._windows) > 100_000:
                self._windows.clear()
            w = self._windows[ip] = Window(self.limit, MINUTE_NS)
        return w.add(weight, now_ns)

    def used(self, ip: str, now_ns: int) -> int:
        w = self._windows.get(ip)
        return w.used(now_ns) if w is not None else 0


class Budget:
    """Each account's cumulative request budget and the notional it traded (quote currency)."""

    def __init__(self, initial: int = 10_000) -> None:
        self.initial = initial
        self.used: dict[str, int] = {}
        self._volume: dict[str, Decimal] = {}
        self._last_over: dict[str, int] = {}

    def add_volume(self, account: str, notional: Decimal) -> None:
        self._volume[account] = self._volume.get(account, Decimal(0)) + notional

    def volume(self, account: str) -> Decimal:
        return self._volume.get(account, Decimal(0))

    def cap(self, account: str) -> int:
        return self.initial + int(self.volume(account))

    def spend(self, account: str, n: int, cancel: bool, now_ns: int) -> str | None:
        """Count `n` requests of `account`; the refusal text when over its budget."""
        used, cap = self.used.get(account, 0), self.cap(account)
        limit = min(cap + 100_000, 2 * cap) if cancel else cap
        if used + n > limit:
            last = self._last_over.get(account)
            if last is not None and now_ns - last < OVER_LIMIT_EVERY_NS:
                vol = f"{self.volume(account):.2f}"
                return (
                    f"Too many cumulative requests sent ({used + n} > {limit}) for cumulative volume traded "
                    f"${vol}. Place taker orders to free up 1 request per USDC traded."
                )
            self._last_over[account] = now_ns  # one request every 10 s still passes
        self.used[account] = used + n
        return None

    def report(self, account: str) -> dict[str, Any]:
        """`userRateLimit`."""
        used, cap = self.used.get(account, 0), self.cap(account)
        return {
            "cumVlm": f"{self.volume(account):f}",
            "nRequestsUsed": used,
            "nRequestsCap": cap,
            "nRequestsSurplus": 0,
        }
