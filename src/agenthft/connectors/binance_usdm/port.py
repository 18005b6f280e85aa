"""The Binance USD-M futures connector behind the venue port.

- Instruments and limits from `exchangeInfo` (tick, lot, contract, `rateLimits`).
- Market data: `market.BinanceMarketData` (diff depth + REST snapshot, trades).
- Orders over Binance's WebSocket API (`order.place`, `order.cancel`, `order.modify`, each
  request signed: HMAC-SHA256 or Ed25519); cancel-all over REST (per symbol). Post-only is GTX,
  IOC is IOC; our client order id is `newClientOrderId`.
- The account's events from the user data stream (a listenKey, kept alive, renewed on
  `listenKeyExpired`, then a reconciliation): `ORDER_TRADE_UPDATE`, `ACCOUNT_UPDATE`.
- Reconciliation from REST: `openOrders`, `userTrades`, `positionRisk`, `balance`.
- Limits: the WebSocket API's `rateLimits` and REST's weight headers are watched; above 80 % of
  a limit, or on a 429, the core is told to back off (`Throttle`); a 418 ban halts it.
- Cancel-on-disconnect: Binance's `countdownCancelAll` per traded symbol, renewed as a heartbeat
  (`countdown_s`, every `heartbeat_s`): if this process dies or loses the venue, Binance cancels.
- `dry_run`: nothing is sent; what would be sent is printed on stderr (market data still flows).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import picows

from agenthft.book import SequenceGap
from agenthft.connectors.binance_usdm import translate
from agenthft.connectors.binance_usdm.endpoints import Endpoints
from agenthft.connectors.binance_usdm.market import BinanceMarketData
from agenthft.connectors.binance_usdm.rest import Banned, BinanceError, BinanceRest, RateLimited, retry_limited
from agenthft.connectors.binance_usdm.signing import Signer, ws_payload
from agenthft.connectors.fees import FeesElsewhere
from agenthft.connectors.port import (
    AccountSnapshot,
    Ack,
    AmendRequest,
    CancelRefused,
    Caps,
    OrderEvent,
    OrderRequest,
    PortListener,
    Rejected,
    Throttle,
    VenueAuthError,
    VenueLimits,
    VenueUnreachable,
)
from agenthft.connectors.raw import RawCapture
from agenthft.connectors.ws import WsConn
from agenthft.model import Instrument, Side
from agenthft.model.money import cash
from agenthft.oms import VenueFill, VenueOrder

log = logging.getLogger("agenthft.connectors")

#: back off when a venue-reported count passes this share of its limit
USAGE_CEILING = 0.8


class BinanceUsdmPort:
    name = "binance-usdm"
    caps = Caps(
        amend=True,
        reduce_only=True,
        cancel_on_disconnect="Binance's countdownCancelAll per symbol, renewed as a heartbeat",
    )

    def __init__(
        self,
        endpoints: Endpoints,
        api_key: str = "",
        signer: Signer | None = None,
        *,
        dry_run: bool = False,
        countdown_s: float = 30.0,
        heartbeat_s: float = 10.0,
        keepalive_s: float = 1800.0,
        maker_fee: str = "0.0002",
        taker_fee: str = "0.0005",
    ) -> None:
        self.endpoints = endpoints
        self.url = endpoints.rest
        self.fees_elsewhere = FeesElsewhere("binance-usdm")  # fees paid in BNB: not in the P&L, shown beside it
        self.api_key = api_key
        self.signer = signer
        self.dry_run = dry_run
        self.countdown_s, self.heartbeat_s, self.keepalive_s = countdown_s, heartbeat_s, keepalive_s
        self.maker_fee, self.taker_fee = maker_fee, taker_fee
        self.rest = BinanceRest(endpoints.rest, api_key, signer, dry_run=dry_run)
        self.instruments_by_name: dict[str, Instrument] = {}
        self.filters: dict[str, dict[str, Any]] = {}
        self._limits = VenueLimits()
        self.listener: PortListener | None = None
        self.market: BinanceMarketData | None = None
        self.ws_api: WsConn | None = None
        self.user: WsConn | None = None
        self.listen_key = ""
        self._reconnects = 0
        self._rtt_ns = 0
        self._ids = itertools.count(1)
        self._pending: dict[
            int, tuple[str, str, str, dict[str, Any], int]
        ] = {}  # id -> method, oid, market, params, sent
        self._acked: set[str] = set()
        self._orders: dict[str, tuple[str, Side, int, int]] = {}  # client id -> market, side, qty, price
        self._client_of: dict[int, str] = {}  # Binance orderId -> client id
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._lost = asyncio.Event()
        self.usage: dict[str, int] = {}
        self.expired_keys = 0
        self.raw: RawCapture | None = None
        self._trades_from: dict[str, int] = {}  # symbol -> the first trade id reconciliation reads

    # --- state ----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        market_ok = self.market is not None and self.market.conn is not None and self.market.conn.open
        if self.dry_run or self.signer is None:
            return market_ok
        return market_ok and self.ws_api is not None and self.ws_api.open and self.user is not None and self.user.open

    @property
    def reconnects(self) -> int:
        return self._reconnects

    @property
    def rtt_ns(self) -> int:
        return self._rtt_ns

    # --- reference data ---------------------------------------------------------------------------
    async def instruments(self) -> list[Instrument]:
        try:
            info = await self.rest.exchange_info()
        except BinanceError as e:
            raise VenueUnreachable(f"Binance at {self.url} answered {e}") from None
        except (aiohttp.ClientError, OSError, TimeoutError, msgspec.DecodeError, ValueError) as e:
            raise VenueUnreachable(
                f"cannot read Binance's exchangeInfo at {self.url}: {str(e) or type(e).__name__}"
            ) from None
        out = translate.instruments(info, self.maker_fee, self.taker_fee)
        self.instruments_by_name = {i.market: i for i in out}
        self.filters = translate.filters_of(info)
        self._limits = translate.limits(info)
        return out

    async def limits(self) -> VenueLimits:
        return self._limits

    # --- connection -------------------------------------------------------------------------------
    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener = listener
        try:
            await self.rest.sync_time()
            self.market = BinanceMarketData(self.endpoints.streams, self.rest, self.instruments_by_name, self._on_lost)
            if self.raw is not None:  # recording: the frames as received, and bookTicker for replay's check
                self.market.raw, self.market.book_ticker = self.raw, True
            await self.market.connect(listener, markets)
            if self.signer is not None and not self.dry_run:
                await self._connect_account()
        except (BinanceError, VenueAuthError) as e:
            code = getattr(e, "code", 0)
            if code in (-2014, -2015, -1022) or isinstance(e, VenueAuthError):
                raise VenueAuthError(f"Binance refused the API key: {e}") from None
            raise VenueUnreachable(f"Binance at {self.url}: {e}") from None
        except (aiohttp.ClientError, OSError, TimeoutError, picows.WSError) as e:
            raise VenueUnreachable(f"cannot connect to Binance at {self.url}: {str(e) or type(e).__name__}") from None
        self._spawn(self._supervise())
        if self.signer is not None and not self.dry_run:
            self._spawn(self._keepalive())
            if self.countdown_s > 0:
                self._spawn(self._heartbeat())
        listener.on_connected(0)

    async def _connect_account(self) -> None:
        self.ws_api = WsConn(self.endpoints.ws_api, self._on_api, self._on_lost)
        await self.ws_api.connect()
        self.listen_key = await self.rest.listen_key()
        self.user = WsConn(self._user_url(), self._on_user, self._on_lost)
        await self.user.connect()

    def _user_url(self) -> str:
        return f"{self.endpoints.streams}/private/ws?listenKey={self.listen_key}"

    def _on_lost(self, reason: str) -> None:
        if self._closing or self.connected:
            return  # we are closing, or an old connection's goodbye after a reconnect
        if not self._lost.is_set() and self.listener is not None:
            self.listener.on_disconnected(reason)
        self._lost.set()

    async def _supervise(self) -> None:
        """Reconnect whatever dropped (with backoff), resync the books, tell the core (which
        reconciles)."""
        backoff = 0.05
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            await asyncio.sleep(backoff)
            try:
                self._drop_all()
                await asyncio.sleep(0)
                await self.rest.sync_time()
                assert self.market is not None and self.listener is not None
                await self.market.reconnect()
                if self.signer is not None and not self.dry_run:
                    await self._connect_account()
            except (BinanceError, SequenceGap, aiohttp.ClientError, OSError, TimeoutError, picows.WSError) as e:
                log.info("Binance reconnect failed: %s", e)
                backoff = min(5.0, backoff * 2)
                continue
            except Exception:  # the supervisor never dies: without it the agent is deaf for good
                log.exception("Binance reconnect failed unexpectedly; retrying")
                backoff = min(5.0, backoff * 2)
                continue
            backoff = 0.05
            self._lost.clear()
            self._reconnects += 1
            self.listener.on_connected(self._reconnects)

    def _drop_all(self) -> None:
        closing, self._closing = self._closing, True  # no on_lost while we close them ourselves
        for c in (self.ws_api, self.user, self.market.conn if self.market else None):
            if c is not None:
                with contextlib.suppress(Exception):
                    c.close()
        self._closing = closing

    def resubscribe(self, market: str) -> None:
        if self.market is not None:
            self.market.resync(market)

    # --- orders -----------------------------------------------------------------------------------
    def place(self, req: OrderRequest) -> bool:
        inst = self.instruments_by_name[req.market]
        params = translate.order_params(req, inst)
        self._orders[req.order_id] = (req.market, req.side, req.qty, req.price or 0)
        return self._call("order.place", req.order_id, req.market, params)

    def cancel(self, order_id: str, market: str) -> bool:
        return self._call("order.cancel", order_id, market, {"symbol": market, "origClientOrderId": order_id})

    def amend(self, req: AmendRequest) -> bool:
        known = self._orders.get(req.order_id)
        if known is None:
            return False
        _, side, qty, price = known
        params = translate.amend_params(req, self.instruments_by_name[req.market], side, qty, price)
        return self._call("order.modify", req.order_id, req.market, params)

    def cancel_all(self, market: str | None = None) -> bool:
        """Binance cancels all per symbol (REST): every traded market when `market` is None."""
        markets = [market] if market else list(self.market.markets if self.market else ())
        if self.dry_run:
            for m in markets:
                print(f"dry-run: DELETE /fapi/v1/allOpenOrders symbol={m}", file=sys.stderr)
            return True
        for m in markets:
            self._spawn(self._cancel_all(m))
        return True

    async def _cancel_all(self, market: str) -> None:
        try:
            await retry_limited(lambda: self.rest.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": market}, True))
        except BinanceError as e:
            self._throttle_or_log(e, f"cancel-all {market}")

    def _call(self, method: str, order_id: str, market: str, params: dict[str, Any], retried: bool = False) -> bool:
        """One signed WebSocket API request; its answer comes back in `_on_api`."""
        if self.dry_run:
            print(f"dry-run: {method} {json.dumps(params, sort_keys=True)}", file=sys.stderr)
            return True
        conn, signer = self.ws_api, self.signer
        if conn is None or not conn.open or signer is None:
            return False
        rid = next(self._ids)
        signed = {**params, "apiKey": self.api_key, "timestamp": self.rest.now_ms()}
        signed["signature"] = signer.sign(ws_payload(signed))
        self._pending[rid] = (method, order_id, market, params, time.perf_counter_ns())
        if retried:
            self._pending[rid] = (method + "!", order_id, market, params, self._pending[rid][4])
        return conn.send(msgspec.json.encode({"id": rid, "method": method, "params": signed}))

    def _on_api(self, data: bytes, recv_ns: int) -> None:
        try:
            msg = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if not isinstance(msg, dict):
            return
        rid = msg.get("id")
        pending = self._pending.pop(rid, None) if isinstance(rid, int) else None
        self._watch_usage(msg.get("rateLimits") or [], recv_ns)
        if pending is None:
            return
        method, oid, market, params, sent = pending
        self._rtt_ns = time.perf_counter_ns() - sent
        lst = self.listener
        if lst is None:
            return
        status = msg.get("status", 200)
        if status == 200:
            result = msg.get("result") or {}
            if method.startswith("order.place") and oid not in self._acked and "orderId" in result:
                self._acked.add(oid)
                self._client_of[int(result["orderId"])] = oid
                lst.on_order_event(
                    Ack(oid, int(result["orderId"]), int(result.get("updateTime", 0)) * 1_000_000), recv_ns
                )
            return
        err = msg.get("error") or {}
        code, text = int(err.get("code", 0)), str(err.get("msg", ""))
        if code == -1021 and not method.endswith("!"):  # our clock drifted: measure it, send once more
            self._spawn(self._resend_after_sync(method, oid, market, params))
            return
        if status in (418, 429) or code == -1003:
            lst.on_order_event(Throttle(1.0, f"Binance {code}: {text}", ban=status == 418), recv_ns)
        reason = f"Binance {code}: {text}"
        ev: OrderEvent
        if method.startswith("order.place"):
            self._orders.pop(oid, None)
            ev = Rejected(oid, translate.reject_code(code), reason, time.time_ns())
        else:
            ev = CancelRefused(oid, translate.reject_code(code), reason)
        lst.on_order_event(ev, recv_ns)

    async def _resend_after_sync(self, method: str, oid: str, market: str, params: dict[str, Any]) -> None:
        with contextlib.suppress(BinanceError, aiohttp.ClientError, OSError, TimeoutError):
            await self.rest.sync_time()
        self._call(method.rstrip("!"), oid, market, params, retried=True)

    def _watch_usage(self, rate_limits: list[dict[str, Any]], recv_ns: int) -> None:
        for r in rate_limits:
            key = f"{r.get('rateLimitType')}/{r.get('intervalNum')}{r.get('interval')}"
            count, limit = int(r.get("count", 0)), int(r.get("limit", 0))
            self.usage[key] = count
            if limit and count >= USAGE_CEILING * limit and self.listener is not None:
                self.listener.on_order_event(
                    Throttle(1.0, f"{key} at {count}/{limit} (over {USAGE_CEILING:.0%})"), recv_ns
                )

    # --- the user data stream -------------------------------------------------------------------------
    def _on_user(self, data: bytes, recv_ns: int) -> None:
        lst = self.listener
        if lst is None:
            return
        try:
            msg = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if not isinstance(msg, dict):
            return
        if "data" in msg and isinstance(msg["data"], dict):  # a combined-stream wrapper
            msg = msg["data"]
        kind = msg.get("e")
        if kind == "ORDER_TRADE_UPDATE":
            o = msg.get("o", {})
            inst = self.instruments_by_name.get(o.get("s", ""))
            if inst is None:
                return
            oid = str(o.get("c", ""))
            self._client_of[int(o.get("i", 0))] = oid
            for ev in translate.order_events(msg, inst, self.fees_elsewhere):
                if isinstance(ev, Ack):
                    if oid in self._acked:
                        continue  # the WebSocket API's answer acknowledged it already
                    self._acked.add(oid)
                lst.on_order_event(ev, recv_ns)
            if o.get("X") in ("FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED"):
                self._orders.pop(oid, None)
                self._acked.discard(oid)
        elif kind == "ACCOUNT_UPDATE":
            sym = msg.get("a", {}).get("S") or ""
            inst = self.instruments_by_name.get(sym)
            if inst is not None:
                funding = translate.funding_event(msg, inst)
                if funding is not None:
                    lst.on_order_event(funding, recv_ns)
        elif kind == "listenKeyExpired":
            self.expired_keys += 1
            self._spawn(self._renew_user_stream())

    async def _renew_user_stream(self) -> None:
        """A new listenKey and user connection; the core reconciles what it may have missed."""
        try:
            if self.user is not None:
                closing, self._closing = self._closing, True
                self.user.close()
                self._closing = closing
            self.listen_key = await self.rest.listen_key()
            self.user = WsConn(self._user_url(), self._on_user, self._on_lost)
            await self.user.connect()
        except (BinanceError, aiohttp.ClientError, OSError, TimeoutError, picows.WSError) as e:
            log.warning("renewing the user data stream failed: %s", e)
            self._on_lost(f"user data stream: {e}")
            return
        self._reconnects += 1
        if self.listener is not None:
            self.listener.on_connected(self._reconnects)  # -> reconciliation

    async def _keepalive(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.keepalive_s)
            try:
                await self.rest.keepalive_listen_key()
            except BinanceError as e:
                if e.code == -1125:  # expired meanwhile
                    await self._renew_user_stream()
                else:
                    self._throttle_or_log(e, "listenKey keepalive")
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                log.info("listenKey keepalive failed: %s", e)

    async def _heartbeat(self) -> None:
        """countdownCancelAll per traded symbol: renewed every `heartbeat_s`; if we vanish, Binance
        cancels our orders `countdown_s` after the last beat."""
        ms = int(self.countdown_s * 1000)
        while not self._closing:
            for m in self.market.markets if self.market else ():
                try:
                    await self.rest.countdown_cancel_all(m, ms)
                except BinanceError as e:
                    self._throttle_or_log(e, f"countdownCancelAll {m}")
                except (aiohttp.ClientError, OSError, TimeoutError) as e:
                    log.info("countdownCancelAll failed: %s", e)
            await asyncio.sleep(self.heartbeat_s)

    def _throttle_or_log(self, e: BinanceError, what: str) -> None:
        if isinstance(e, RateLimited) and self.listener is not None:
            why = f"{what}: Binance {e.code} {e.msg} (HTTP {e.status})"
            self.listener.on_order_event(Throttle(e.retry_after, why, ban=isinstance(e, Banned)), time.time_ns())
        else:
            log.warning("%s failed: %s", what, e)

    # --- the account --------------------------------------------------------------------------------
    async def _trades_since(self, market: str, page: int = 1000) -> list[dict[str, Any]]:
        """The account's trades of `market`: at the first snapshot the most recent page (what
        the session starts from), then every trade from that page's first on, page by page
        (`fromId`), so that a session with more fills than one page still sees each of them."""
        since = self._trades_from.get(market)
        if since is None:
            trades: list[dict[str, Any]] = await retry_limited(lambda: self.rest.user_trades(market, page))
            self._trades_from[market] = min((int(t["id"]) for t in trades), default=0)
            return trades
        out: list[dict[str, Any]] = []
        while True:
            got = await retry_limited(lambda since=since: self.rest.user_trades(market, page, since))
            out += got
            if len(got) < page:
                return out
            since = int(got[-1]["id"]) + 1

    async def snapshot(self) -> AccountSnapshot:
        """Open orders, fills (the most recent 1,000 per symbol at the first snapshot, and
        every one since then after), positions and balances, read in several requests
        (`consistent` is False: orders may change between them)."""
        if self.signer is None or self.dry_run:
            return AccountSnapshot([], [], consistent=False)
        markets = list(self.market.markets) if self.market else list(self.instruments_by_name)
        orders: list[VenueOrder] = []
        fills: list[VenueFill] = []
        for m in markets:
            inst = self.instruments_by_name[m]
            for o in await retry_limited(lambda m=m: self.rest.open_orders(m)):
                self._client_of[int(o["orderId"])] = str(o["clientOrderId"])
                orders.append(translate.venue_order(o, inst))
            trades = await self._trades_since(m)
            unknown = sorted({int(t["orderId"]) for t in trades} - self._client_of.keys())
            if unknown:  # orders this session never saw: their client ids, in one request (not one each)
                first = unknown[0]
                for o in await retry_limited(lambda m=m, first=first: self.rest.all_orders(m, first)):
                    self._client_of[int(o["orderId"])] = str(o["clientOrderId"])
            for t in trades:
                oid = int(t["orderId"])
                client = self._client_of.get(oid)
                if client is None:  # beyond allOrders' page: ask for this one
                    try:
                        q = await retry_limited(lambda m=m, oid=oid: self.rest.query_order(m, oid))
                        client = str(q["clientOrderId"])
                    except BinanceError as e:
                        if e.code != -2013:
                            raise
                        # an order the venue no longer keeps (Binance: older than 3 months, or
                        # cancelled with nothing filled; a local venue: past orders_kept): its
                        # fills stay the account's, under the exchange's own order id
                        client = f"binance-{oid}"
                    self._client_of[oid] = client
                fills.append(translate.venue_fill(t, inst, client, self.fees_elsewhere))
        positions: dict[str, int] = {}
        for p in await retry_limited(self.rest.position_risk):
            held = self.instruments_by_name.get(p.get("symbol", ""))
            if held is not None and p.get("positionAmt"):
                positions[held.market] = held.qty_to_lots(p["positionAmt"])
        balances = {b["asset"]: cash(b["balance"]) for b in await retry_limited(self.rest.balance) if "asset" in b}
        return AccountSnapshot(orders, fills, positions, balances, consistent=False)

    async def ping(self) -> int:
        """`GET /fapi/v1/time` (weight 1), public: no keys needed."""
        t0 = time.perf_counter_ns()
        try:
            await self.rest.request("GET", "/fapi/v1/time")
        except (aiohttp.ClientError, OSError) as e:
            raise VenueUnreachable(f"no answer from Binance at {self.url}: {e}") from None
        return time.perf_counter_ns() - t0

    # --- lifecycle ------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def record_raw(self, folder: Path) -> RawCapture:
        """Keep every public frame and snapshot body, as received, in hftbacktest's capture
        format (one file per market; `agenthft replay` checks them against bookTicker)."""
        self.raw = RawCapture(folder)
        return self.raw

    async def close(self) -> None:
        self._closing = True
        self._lost.set()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.market is not None:
            self.market.close()
        for c in (self.ws_api, self.user):
            if c is not None:
                c.close()
        await self.rest.close()
        if self.raw is not None:
            self.raw.close()

    def drop(self) -> None:
        """Cut every connection now (tests); the supervisor reconnects."""
        for c in (self.ws_api, self.user, self.market.conn if self.market else None):
            if c is not None:
                c.close()
