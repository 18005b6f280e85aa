"""What the Binance front knows and keeps between requests (keys, symbols, rate-limit windows,
countdown timers, the listenKeys' hub), apart from how it serves them (`front.py`): the
endpoint modules (`ops`, `rest`, `wsapi`, `streams`) take this, so none of them imports the
server that imports them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from agenthft.venue.core import Venue
from agenthft.venue.fronts.binance_usdm.errors import FrontError
from agenthft.venue.fronts.binance_usdm.keys import BinanceKey, BinanceKeys
from agenthft.venue.fronts.binance_usdm.limits import Limits
from agenthft.venue.fronts.binance_usdm.translate import Symbol, usdm_symbols
from agenthft.venue.keys import ApiKey

LISTEN_KEY_TTL_S = 3600.0


class ListenKey:
    __slots__ = ("account", "api_key", "expired", "expires_ns", "key")

    def __init__(self, key: str, api_key: str, account: str, expires_ns: int) -> None:
        self.key = key
        self.api_key = api_key
        self.account = account
        self.expires_ns = expires_ns
        self.expired = False


class Hub(Protocol):
    """The stream hub as the REST and WebSocket API endpoints use it (`streams.StreamHub`)."""

    conns: set[Any]

    def start_listen(self, api_key: str, account: str, now_ns: int) -> ListenKey: ...

    def keepalive(self, api_key: str, now_ns: int) -> ListenKey | None: ...

    def close_listen(self, api_key: str) -> None: ...


class FrontState:
    """The front's state and the rules over it; `front.BinanceFront` adds the serving.

    `listen_key_ttl_s`: a listenKey's validity (Binance: 60 minutes; shorter in tests).
    `clock`: the venue's clock in ns for requests (their time checks, rate-limit windows and
    orders' times); the wall clock, or a fixed one in tests."""

    hub: Hub

    def __init__(
        self, venue: Venue, listen_key_ttl_s: float = LISTEN_KEY_TTL_S, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.keys = BinanceKeys()
        self.symbols: dict[str, Symbol] = usdm_symbols(venue.config.markets)  # by venue market
        self.by_name = {s.name: s for s in self.symbols.values()}
        self.listen_key_ttl_ns = int(listen_key_ttl_s * 1e9)
        self._limits: dict[str, Limits] = {}
        self.countdowns: dict[tuple[str, str], tuple[int, BinanceKey]] = {}  # (account, market) -> (due, key)
        self.position_time: dict[tuple[str, str], int] = {}  # (account, market) -> ms of the last change
        self.started_ms = time.time_ns() // 1_000_000
        self.base_url = self.ws_api_url = self.stream_url = ""
        self._wake: asyncio.Event | None = None

    # --- keys and state ------------------------------------------------------------------------
    def add_hmac_key(self, record: ApiKey, api_key: str | None = None, secret: str | None = None) -> BinanceKey:
        """An HMAC key for `record`'s account (and its scopes, tier and limits)."""
        return self.keys.add_hmac(record, api_key, secret)

    def add_ed25519_key(self, record: ApiKey, public_pem: str | bytes, api_key: str | None = None) -> BinanceKey:
        from agenthft.protocol.binance_usdm.signing import load_ed25519_public

        return self.keys.add_ed25519(record, load_ed25519_public(public_pem), api_key)

    def symbol(self, name: str) -> Symbol:
        sym = self.by_name.get(name)
        if sym is None:
            raise FrontError(-1121)
        return sym

    def limits_for(self, key: BinanceKey | None, remote: str) -> Limits:
        """A key's windows (its tier), else the source address's (the default tier)."""
        ident = f"k:{key.record.key_id}" if key is not None else f"ip:{remote}"
        lim = self._limits.get(ident)
        if lim is None:
            if len(self._limits) > 100_000:  # bounded: forget idle sources rather than grow without end
                self._limits.clear()
            tier = self.venue.config.tier(key.record.tier if key is not None else "default")
            lim = self._limits[ident] = Limits(tier)
        return lim

    def arm_countdown(self, key: BinanceKey, market: str, ms: int, now_ns: int) -> None:
        """countdownCancelAll: cancel the account's open orders on `market` when `ms` elapse
        on the venue's clock without another call (0 stops the timer)."""
        k = (key.account, market)
        if ms == 0:
            self.countdowns.pop(k, None)
        else:
            self.countdowns[k] = (now_ns + ms * 1_000_000, key)
        self.wake()

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()


FRONT: web.AppKey[FrontState] = web.AppKey("binance_front")
