"""What the Hyperliquid front's handlers (`exchange`, `info`, `ws`) read and change: the venue,
its coins, wallets, limits, leverage, the dead man's switches, fills and volume. The server
(`front.py`: sockets, the switch's clock task, the venue's observer) builds on it, so the
handlers depend on this file and never on the server (no import circle)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from agenthft.venue.core import Venue
from agenthft.venue.fronts.hyperliquid.coins import Coins
from agenthft.venue.fronts.hyperliquid.limits import Budget, IpLimits
from agenthft.venue.fronts.hyperliquid.wallets import Wallets
from agenthft.venue.keys import ApiKey

DAY_MS = 86_400_000


class Subscriptions(Protocol):
    """The socket hub as the handlers use it (`ws.Hub`)."""

    conns: set[Any]

    def subscribe(self, conn: Any, sub: Any, now_ns: int) -> None: ...

    def unsubscribe(self, conn: Any, sub: Any) -> None: ...

    def close(self, conn: Any) -> None: ...


class FrontState:
    """The front's state (`HyperliquidFront` documents the arguments)."""

    hub: Subscriptions

    def __init__(
        self,
        venue: Venue,
        *,
        mainnet: bool = False,
        clock: Callable[[], int] = time.time_ns,
        ip_weight_per_min: int = 1200,
        address_budget: int = 10_000,
        schedule_cancel_min_volume: str = "0",
        idle_s: float = 60.0,
    ) -> None:
        self.venue = venue
        self.mainnet = mainnet
        self.clock = clock
        self.coins = Coins(venue.config.markets)
        self.wallets = Wallets()
        self.ip_limits = IpLimits(ip_weight_per_min)
        self.budget = Budget(address_budget)
        self.schedule_min_volume = Decimal(schedule_cancel_min_volume)
        self.idle_s = idle_s
        im = Decimal(venue.config.engine.initial_margin)
        self.max_leverage = max(1, int(1 / im)) if im > 0 else 50
        self.leverage: dict[tuple[str, str], tuple[int, bool]] = {}  # (account, market) -> (leverage, cross)
        self.schedules: dict[str, tuple[int, ApiKey]] = {}  # account -> (due ms, key)
        self._triggers: dict[str, tuple[int, int]] = {}  # account -> (UTC day, triggers that day)
        self.scheduled_cancels: deque[int] = deque(maxlen=100_000)  # oids the switch cancelled
        self.fills: dict[str, deque[dict[str, Any]]] = {}
        self.volume: dict[str, tuple[int, int]] = {}  # market -> (lots, ticks x lots) traded
        self._wake: asyncio.Event | None = None

    def open_interest(self, market: str) -> int:
        return sum(
            max(0, a.positions[market].size) for a in self.venue.engine.accounts.values() if market in a.positions
        )

    # --- the dead man's switch ----------------------------------------------------------------------
    def triggers_today(self, account: str, now_ms: int) -> int:
        day, n = self._triggers.get(account, (0, 0))
        return n if day == now_ms // DAY_MS else 0

    def arm_schedule(self, record: ApiKey, time_ms: int) -> None:
        self.schedules[record.account_id] = (time_ms, record)
        if self._wake is not None:
            self._wake.set()
