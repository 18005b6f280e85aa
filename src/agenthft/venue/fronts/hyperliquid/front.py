"""The Hyperliquid front: the venue's core behind Hyperliquid's wire protocol on one aiohttp
port (`POST /info`, `POST /exchange`, the WebSocket `/ws`), with its wallets, API wallets,
nonces, rate limits and the dead man's switch (`scheduleCancel`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from agenthft import redact
from agenthft.matching import Fill
from agenthft.matching.accounts import Position
from agenthft.model import Liquidity, Side
from agenthft.protocol.hyperliquid import signing
from agenthft.venue.core import Venue
from agenthft.venue.fronts.hyperliquid import exchange, info
from agenthft.venue.fronts.hyperliquid.coins import Coin
from agenthft.venue.fronts.hyperliquid.state import DAY_MS, FrontState
from agenthft.venue.fronts.hyperliquid.ws import Hub, serve_ws
from agenthft.venue.keys import ApiKey
from agenthft.venue.outcome import OrderInfo
from agenthft.venue.rest import IP_BUCKETS, VENUE, VenueRunner

FRONT: web.AppKey[HyperliquidFront] = web.AppKey("hyperliquid_front")
FILLS_KEPT = 10_000  # per account (Hyperliquid keeps the most recent 10000)
DESERIALIZE = "Failed to deserialize the JSON body into the target type"


class HyperliquidFront(FrontState):
    """`HyperliquidFront(venue).start(host, port)`: `base_url` (`/info`, `/exchange`) and
    `ws_url` (`/ws`) on one port.

    `mainnet`: which network's signatures are tried first (both are accepted: the SDK signs as
    testnet against any URL but mainnet's, ccxt as mainnet unless in sandbox mode).
    `ip_weight_per_min` and `address_budget`: Hyperliquid's IP weight per minute (1200) and the
    initial per-address request buffer (10000). `schedule_cancel_min_volume`: the notional an
    account must have traded before it may set a dead man's switch (Hyperliquid asks for
    volume; the local venue asks for none unless told). `state_every_s`: clearinghouseState
    re-push period. `idle_s`: a connection silent towards the server this long is closed
    (Hyperliquid: 60 s). `clock`: the venue's clock in ns."""

    def __init__(
        self,
        venue: Venue,
        *,
        mainnet: bool = False,
        clock: Callable[[], int] = time.time_ns,
        ip_weight_per_min: int = 1200,
        address_budget: int = 10_000,
        schedule_cancel_min_volume: str = "0",
        state_every_s: float = 4.0,
        idle_s: float = 60.0,
    ) -> None:
        super().__init__(
            venue,
            mainnet=mainnet,
            clock=clock,
            ip_weight_per_min=ip_weight_per_min,
            address_budget=address_budget,
            schedule_cancel_min_volume=schedule_cancel_min_volume,
            idle_s=idle_s,
        )
        self.state_every_s = state_every_s
        self._firing: set[int] = set()
        self._shadow: dict[tuple[str, str], Position] = {}
        for acct in venue.engine.accounts.values():  # positions before the front: where fills start
            for market, pos in acct.positions.items():
                p = self._shadow[(acct.id, market)] = Position()
                p.size, p.cost, p.realized = pos.size, pos.cost, pos.realized
        self.hub: Hub = Hub(self, self.record_fill)
        self.base_url = self.ws_url = ""
        self._clock_task: asyncio.Task[None] | None = None
        self._runner: VenueRunner | None = None
        venue.add_observer(self.hub)

    # --- wallets ----------------------------------------------------------------------------------
    def add_wallet(self, record: ApiKey, private_key: str | None = None) -> signing.Wallet:
        """A wallet (a new random key unless given) trading for `record`'s account."""
        wallet = signing.Wallet(private_key) if private_key else signing.Wallet.create()
        redact.add_secret(wallet.private_key)  # masked in any log line from now on
        self.wallets.add_user(wallet.address, record)
        return wallet

    def approve_agent(self, master: str, name: str = "", agent: signing.Wallet | None = None) -> signing.Wallet:
        """An API wallet for `master` (a new random key unless given), as `approveAgent` would."""
        agent = agent or signing.Wallet.create()
        redact.add_secret(agent.private_key)
        problem = self.wallets.approve(master, agent.address, name, self.clock() // 1_000_000)
        if problem is not None:
            raise ValueError(problem)
        return agent

    def coin(self, market: str) -> Coin:
        return self.coins.by_market[market]

    # --- what the hub tells the front ---------------------------------------------------------------
    def record_fill(self, coin: Coin, ev: Fill, order: OrderInfo) -> dict[str, Any]:
        """Keep a fill in Hyperliquid's shape (its position before it and the P&L it closed
        from the front's shadow of the account's position), count its notional."""
        pos = self._shadow.get((ev.account, ev.market))
        if pos is None:
            pos = self._shadow[(ev.account, ev.market)] = Position()
        start = pos.size
        signed = ev.qty if ev.side is Side.BUY else -ev.qty
        closed = pos.apply_fill(signed, ev.price, self.venue.engine.markets[ev.market].math) if not coin.spot else 0
        if coin.spot:
            pos.size += signed
        rec = info.fill_record(
            self,
            coin,
            order,
            ev.order_id,
            ev.venue_order_id,
            ev.side,
            ev.price,
            ev.qty,
            ev.fee,
            ev.liquidity is Liquidity.TAKER,
            ev.trade_id,
            ev.ts_ns,
            start,
            closed,
        )
        q = self.fills.get(ev.account)
        if q is None:
            q = self.fills[ev.account] = deque(maxlen=FILLS_KEPT)
        q.append(rec)
        notional = Decimal(ev.price * ev.qty) * Decimal(coin.inst.tick_size) * Decimal(coin.inst.lot_size)
        self.budget.add_volume(ev.account, notional)
        if ev.liquidity is Liquidity.TAKER:
            lots, value = self.volume.get(ev.market, (0, 0))
            self.volume[ev.market] = (lots + ev.qty, value + ev.price * ev.qty)
        return rec

    # --- the dead man's switch ----------------------------------------------------------------------
    def fire(self, now_ns: int) -> int | None:
        """Cancel every open order of each account whose switch is due; the next due time (ns)."""
        now_ms = now_ns // 1_000_000
        nxt = None
        for account, (due, record) in list(self.schedules.items()):
            if due <= now_ms:
                del self.schedules[account]
                self._triggers[account] = (now_ms // DAY_MS, self.triggers_today(account, now_ms) + 1)
                for o in self.venue.open_order_infos(account):
                    self.scheduled_cancels.append(o.oid)
                self.venue.cancel_all(record, now_ns=now_ns)
            elif nxt is None or due * 1_000_000 < nxt:
                nxt = due * 1_000_000
        return nxt

    async def _clock(self) -> None:
        assert self._wake is not None
        last_state = 0
        while True:
            now = self.clock()
            nxt = self.fire(now)
            if now - last_state >= self.state_every_s * 1e9:
                self.hub.push_states(now)
                last_state = now
            due = last_state + int(self.state_every_s * 1e9)
            nxt = due if nxt is None else min(nxt, due)
            self._wake.clear()
            timeout = max(0.001, (nxt - self.clock()) / 1e9)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(timeout, 1.0))

    # --- serving ----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=max(self.venue.settings.max_frame_bytes, 1 << 20))
        app[FRONT] = self
        app[VENUE] = self.venue
        app[IP_BUCKETS] = {}

        async def info_route(request: web.Request) -> web.StreamResponse:
            return await self._http(request, "info")

        async def exchange_route(request: web.Request) -> web.StreamResponse:
            return await self._http(request, "exchange")

        async def ws_route(request: web.Request) -> web.StreamResponse:
            return await serve_ws(self, request)

        app.router.add_post("/info", info_route)
        app.router.add_post("/exchange", exchange_route)
        app.router.add_get("/ws", ws_route)
        return app

    async def _http(self, request: web.Request, which: str) -> web.StreamResponse:
        now = self.clock()
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=422, text=DESERIALIZE)
        kind = body.get("type") if isinstance(body, dict) else None
        weight = exchange.ip_weight(body) if which == "exchange" else info.weight(kind)
        ip = request.remote or "?"
        if not self.ip_limits.add(ip, weight, now):
            return web.Response(status=429, body=b"null", content_type="application/json")
        try:
            answer = exchange.handle(self, body, now) if which == "exchange" else info.handle(self, body, now)
        except exchange.Undeserializable:
            return web.Response(status=422, text=DESERIALIZE)
        if which == "info":
            extra = info.weight(kind, answer) - weight
            if extra > 0:
                self.ip_limits.add(ip, extra, now)
        return web.Response(body=json.dumps(answer, separators=(",", ":")), content_type="application/json")

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> HyperliquidFront:
        self._wake = asyncio.Event()
        self._runner = VenueRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{bound}"
        self.ws_url = f"ws://{host}:{bound}/ws"
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
