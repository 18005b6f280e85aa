"""The Binance USDⓈ-M front: the venue's core behind Binance's wire protocol on one aiohttp
port (REST, WebSocket API, market and user streams), with its keys, limits and timers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from aiohttp import web

from agenthft.venue.core import Venue
from agenthft.venue.fronts.binance_usdm.errors import FrontError
from agenthft.venue.fronts.binance_usdm.keys import BinanceKey, BinanceKeys
from agenthft.venue.fronts.binance_usdm.limits import Limits
from agenthft.venue.fronts.binance_usdm.rest import handle
from agenthft.venue.fronts.binance_usdm.streams import StreamHub, serve_stream
from agenthft.venue.fronts.binance_usdm.translate import Symbol, usdm_symbols
from agenthft.venue.fronts.binance_usdm.wsapi import serve_ws_api
from agenthft.venue.keys import ApiKey
from agenthft.venue.rest import IP_BUCKETS, VENUE, VenueRunner

FRONT: web.AppKey[BinanceFront] = web.AppKey("binance_front")
LISTEN_KEY_TTL_S = 3600.0


class BinanceFront:
    """`BinanceFront(venue).start(host, port)`: `base_url` (REST), `ws_api_url`, `stream_url`.

    `listen_key_ttl_s`: a listenKey's validity (Binance: 60 minutes; shorter in tests).
    `clock`: the venue's clock in ns for requests (their time checks, rate-limit windows and
    orders' times); the wall clock, or a fixed one in tests."""

    def __init__(
        self, venue: Venue, listen_key_ttl_s: float = LISTEN_KEY_TTL_S, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.keys = BinanceKeys()
        self.symbols: dict[str, Symbol] = usdm_symbols(venue.config.markets)  # by venue market
        self.by_name = {s.name: s for s in self.symbols.values()}
        self.listen_key_ttl_ns = int(listen_key_ttl_s * 1e9)
        self.hub = StreamHub(self)
        self._limits: dict[str, Limits] = {}
        self.countdowns: dict[tuple[str, str], tuple[int, BinanceKey]] = {}  # (account, market) -> (due, key)
        self.position_time: dict[tuple[str, str], int] = {}  # (account, market) -> ms of the last change
        self.started_ms = time.time_ns() // 1_000_000
        self.base_url = self.ws_api_url = self.stream_url = ""
        self._wake: asyncio.Event | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._runner: VenueRunner | None = None
        venue.add_observer(self.hub)

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

    def fire(self, now_ns: int) -> int | None:
        """Run what is due (countdowns, listenKey expiries); the next due time or None."""
        nxt = self.hub.expire(now_ns)
        for k, (due, key) in list(self.countdowns.items()):
            if due <= now_ns:
                del self.countdowns[k]
                self.venue.cancel_all(key.record, k[1], now_ns=now_ns)
            elif nxt is None or due < nxt:
                nxt = due
        return nxt

    async def _clock(self) -> None:
        assert self._wake is not None
        last_mark_1s = last_mark_3s = 0
        while True:
            now = time.time_ns()
            nxt = self.fire(now)
            if self.hub.wants_marks():
                if now - last_mark_1s >= 1_000_000_000:
                    self.hub.mark_prices(now, 1)
                    last_mark_1s = now
                if now - last_mark_3s >= 3_000_000_000:
                    self.hub.mark_prices(now, 3)
                    last_mark_3s = now
                nxt = min(nxt, last_mark_1s + 1_000_000_000) if nxt is not None else last_mark_1s + 1_000_000_000
            self._wake.clear()
            timeout = None if nxt is None else max(0.001, (nxt - time.time_ns()) / 1e9)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(timeout, 1.0) if timeout is not None else 1.0)

    # --- serving -------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.venue.settings.max_frame_bytes)
        app[FRONT] = self
        app[VENUE] = self.venue  # the hardened connection handler's error pages (venue/rest.py)
        app[IP_BUCKETS] = {}
        r = app.router

        async def ws_api(request: web.Request) -> web.StreamResponse:
            return await serve_ws_api(self, request)

        async def stream(request: web.Request) -> web.StreamResponse:
            return await serve_stream(self, request)

        r.add_get("/ws-fapi/v1", ws_api)
        for root in ("", "/public", "/market", "/private"):
            r.add_get(f"{root}/ws", stream)
            r.add_get(root + "/ws/{tail:.*}", stream)
            r.add_get(f"{root}/stream", stream)
        r.add_route("*", "/fapi/{tail:.*}", handle)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> BinanceFront:
        self._wake = asyncio.Event()
        self._runner = VenueRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{bound}"
        self.ws_api_url = f"ws://{host}:{bound}/ws-fapi/v1"
        self.stream_url = f"ws://{host}:{bound}"
        self._clock_task = asyncio.create_task(self._clock())
        return self

    async def stop(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
        for conn in list(self.hub.conns):
            await conn.ws.close(code=1001, message=b"venue shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
        self.venue.remove_observer(self.hub)
