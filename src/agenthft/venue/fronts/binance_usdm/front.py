"""The Binance USDⓈ-M front: the venue's core behind Binance's wire protocol on one aiohttp
port (REST, WebSocket API, market and user streams), with its keys, limits and timers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from aiohttp import web

from agenthft.venue.core import Venue
from agenthft.venue.fronts.binance_usdm.rest import handle
from agenthft.venue.fronts.binance_usdm.state import FRONT, LISTEN_KEY_TTL_S, FrontState
from agenthft.venue.fronts.binance_usdm.streams import StreamHub, serve_stream
from agenthft.venue.fronts.binance_usdm.wsapi import serve_ws_api
from agenthft.venue.rest import IP_BUCKETS, VENUE, VenueRunner


class BinanceFront(FrontState):
    """`BinanceFront(venue).start(host, port)`: `base_url` (REST), `ws_api_url`, `stream_url`
    (the state and its rules: `state.FrontState`)."""

    def __init__(
        self, venue: Venue, listen_key_ttl_s: float = LISTEN_KEY_TTL_S, clock: Callable[[], int] = time.time_ns
    ) -> None:
        super().__init__(venue, listen_key_ttl_s, clock)
        self.hub: StreamHub = StreamHub(self)
        self._clock_task: asyncio.Task[None] | None = None
        self._runner: VenueRunner | None = None
        venue.add_observer(self.hub)

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
