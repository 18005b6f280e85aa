"""The long tail: any exchange ccxt supports, behind the venue port (`--venue ccxt:EXCHANGE`,
`ccxt:EXCHANGE-testnet`, `ccxt:EXCHANGE@http://HOST:PORT`). The broad, slower tier: ccxt's own
rate limiter paces every call, order books arrive as whole books (diffed here into level
changes), and orders go over the exchange's WebSocket API where ccxt has it (`create_order_ws`),
else REST. Native connectors (agenthft, binance-usdm) are the fast tier. An optional extra:
`pip install 'agenthft[ccxt]'`.

Instruments come from `load_markets`, their grids from ccxt's precision in whatever mode the
exchange declares (tick size, decimal places or significant digits: `grid_of`); a market whose
precision cannot be a fixed grid (significant digits of a price) gets the finest grid its
current prices need, said in the notes. Credentials from the environment (`CCXT_API_KEY`,
`CCXT_SECRET`, `CCXT_WALLET_ADDRESS`, `CCXT_PRIVATE_KEY`) or an owner-only key file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from agenthft.connectors.credentials import from_env_or_file
from agenthft.connectors.fees import FeesElsewhere, fee_cash
from agenthft.connectors.port import (
    AccountSnapshot,
    Ack,
    AmendRequest,
    CancelRefused,
    Caps,
    Done,
    Filled,
    OrderEvent,
    OrderRequest,
    PortListener,
    Rejected,
    Throttle,
    VenueAuthError,
    VenueLimits,
    VenueUnreachable,
)
from agenthft.model import Instrument, InstrumentKind, Liquidity, OrderType, Side
from agenthft.oms import VenueFill, VenueOrder

log = logging.getLogger("agenthft.connectors")

ENV = {
    "apiKey": "CCXT_API_KEY",
    "secret": "CCXT_SECRET",
    "password": "CCXT_PASSWORD",
    "walletAddress": "CCXT_WALLET_ADDRESS",
    "privateKey": "CCXT_PRIVATE_KEY",
}
_TICK_SIZE, _DECIMAL_PLACES, _SIGNIFICANT_DIGITS = 4, 2, 3  # ccxt's precision modes


def grid_of(precision: Any, mode: int) -> str | None:
    """A ccxt precision value as a decimal step on our grid (None: not a fixed grid)."""
    if precision is None:
        return None
    if mode == _TICK_SIZE:
        return format(Decimal(str(precision)).normalize(), "f")
    if mode == _DECIMAL_PLACES:
        places = int(precision)
        return format(Decimal(1).scaleb(-places), "f") if places > 0 else "1"
    return None  # significant digits: depends on the price


def _sig_step(price: float, digits: int) -> str:
    """The step `digits` significant figures give at `price` (the finest the market needs now)."""
    exp = Decimal(str(price)).adjusted() - digits + 1
    return format(Decimal(1).scaleb(exp), "f")


def error_code(e: Exception, exchange_id: str = "") -> str:
    """agenthft's reject code for a ccxt exception (its class tells what the venue said; for
    Hyperliquid, which has no codes, the text it answered: protocol/hyperliquid/errors.py)."""
    import ccxt

    if exchange_id == "hyperliquid":
        said = _hyperliquid_error(str(e))
        if said is not None:
            from agenthft.protocol.hyperliquid.errors import reject_code

            return reject_code(said)

    table: list[tuple[type[Exception], str]] = [
        (ccxt.OrderImmediatelyFillable, "post_only_would_cross"),
        (ccxt.InsufficientFunds, "insufficient_balance"),
        (ccxt.OrderNotFound, "unknown_order"),
        (ccxt.RateLimitExceeded, "rate_limited"),
        (ccxt.DDoSProtection, "rate_limited"),
        (ccxt.AuthenticationError, "unauthorized"),
        (ccxt.PermissionDenied, "forbidden"),
        (ccxt.BadSymbol, "unknown_market"),
        (ccxt.InvalidOrder, "bad_request"),
        (ccxt.BadRequest, "bad_request"),
    ]
    for cls, code in table:
        if isinstance(e, cls):
            text = str(e)
            if code == "bad_request" and ("-5022" in text or "Post only" in text or "would immediately" in text):
                return "post_only_would_cross"
            if code in ("bad_request", "venue_error") and "-2019" in text:
                return "insufficient_balance"
            return code
    text = str(e)
    if "-5022" in text:
        return "post_only_would_cross"
    if "-2019" in text or "nsufficient" in text:
        return "insufficient_balance"
    if "-4164" in text:
        return "min_notional"
    return "venue_error"


def _hyperliquid_error(text: str) -> str | None:
    """The error Hyperliquid wrote in the answer ccxt quotes ("hyperliquid {json}"): a whole
    request's `response`, else the first order's `error`."""
    import json

    _, _, body = text.partition(" ")
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    if answer.get("status") == "err":
        return str(answer.get("response", ""))
    for s in ((answer.get("response") or {}).get("data") or {}).get("statuses") or []:
        if isinstance(s, dict) and "error" in s:
            return str(s["error"])
    return None


def _fill_id(symbol: str, trade_id: Any) -> int:
    tid = str(trade_id)
    n = int(tid) if tid.isdigit() else zlib.crc32(tid.encode())
    return ((zlib.crc32(symbol.encode()) & 0xFFFF) << 40) | (n & ((1 << 40) - 1))


def _min_cost(m: dict[str, Any]) -> str:
    """A market's least order value in its quote currency (ccxt's `limits.cost.min`; "0": none or
    an inverse market, whose contracts' face value ccxt does not express as a cost)."""
    least = ((m.get("limits") or {}).get("cost") or {}).get("min")
    if not least or m.get("inverse"):
        return "0"
    return _dec(least)


class CcxtPort:
    name = "ccxt"

    def __init__(self, exchange_id: str, base_url: str | None = None, testnet: bool = False,
                 key_file: str | None = None, options: dict[str, Any] | None = None) -> None:  # fmt: skip
        try:
            import ccxt.pro as ccxtpro
        except ImportError:
            raise VenueUnreachable("--venue ccxt:... needs ccxt: pip install 'agenthft[ccxt]'") from None
        cls = getattr(ccxtpro, exchange_id, None)
        if cls is None:
            raise VenueUnreachable(f"ccxt has no exchange {exchange_id!r} with WebSocket support (ccxt.pro)")
        creds = {k: v.reveal() for k, v in from_env_or_file(ENV, key_file).items()}
        config: dict[str, Any] = {"enableRateLimit": True, "options": {"fetchCurrencies": False, **(options or {})}}
        self.exchange: Any = cls({**config, **creds})
        self.has_keys = bool(creds)
        if testnet:
            self.exchange.set_sandbox_mode(True)
        if base_url:
            point_at(self.exchange.urls, base_url.rstrip("/"))
        self.url = base_url or f"ccxt:{exchange_id}"
        self.exchange_id = exchange_id
        self.fees_elsewhere = FeesElsewhere(f"ccxt:{exchange_id}")  # fees in a coin the P&L cannot value
        self.caps = Caps(
            amend=bool(self.exchange.has.get("editOrder")),
            reduce_only=True,
            cancel_on_disconnect="",  # ccxt has no unified dead man's switch
        )
        self.instruments_by_name: dict[str, Instrument] = {}
        self.symbol_of: dict[str, str] = {}  # our market name -> ccxt unified symbol
        self.market_of: dict[str, str] = {}  # ccxt unified symbol -> our market name
        self.notes: list[str] = []
        self.listener: PortListener | None = None
        self._books: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        self._seq: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._connected = False
        self._reconnects = 0
        self._rtt_ns = 0
        self._exchange_id_of: dict[str, str] = {}  # client order id -> the exchange's order id
        self._ours: dict[str, str] = {}  # the client order id as the exchange carries it -> ours
        self._acked: set[str] = set()
        self._done: set[str] = set()
        self._pending_cancels: set[str] = set()

    # --- state ---------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def reconnects(self) -> int:
        return self._reconnects

    @property
    def rtt_ns(self) -> int:
        return self._rtt_ns

    # --- reference data ----------------------------------------------------------------------------
    async def instruments(self) -> list[Instrument]:
        import ccxt

        try:
            markets = await self.exchange.load_markets()
        except ccxt.AuthenticationError as e:
            raise VenueAuthError(f"{self.exchange_id} refused the credentials: {e}") from None
        except (ccxt.NetworkError, ccxt.ExchangeError, OSError) as e:
            raise VenueUnreachable(f"ccxt {self.exchange_id} at {self.url}: {type(e).__name__}: {e}") from None
        mode = int(self.exchange.precisionMode)
        out = []
        for sym, m in markets.items():
            if not m.get("active", True) or m.get("type") not in ("swap", "spot", "future"):
                continue
            tick = grid_of(m["precision"].get("price"), mode)
            lot = grid_of(m["precision"].get("amount"), mode)
            if lot is None and mode == _SIGNIFICANT_DIGITS:
                lot = grid_of(m["precision"].get("amount"), _DECIMAL_PLACES)
            if tick is None:
                price = (m.get("info") or {}).get("markPx") or m.get("limits", {}).get("price", {}).get("min")
                if not price:
                    continue
                tick = _sig_step(float(price), int(m["precision"]["price"]))
                self.notes.append(f"{sym}: tick {tick} for {m['precision']['price']} significant digits at {price}")
            if lot is None:
                continue
            name = str(m["id"])
            inverse = bool(m.get("inverse"))
            kind = InstrumentKind.SPOT if m.get("spot") else InstrumentKind.PERP
            out.append(
                Instrument(
                    name,
                    str(m["base"]),
                    str(m["quote"]),
                    kind,
                    tick_size=tick,
                    lot_size=lot,
                    maker_fee=_fee(m.get("maker")),
                    taker_fee=_fee(m.get("taker")),
                    aliases=tuple(dict.fromkeys(a for a in (sym, f"{m['base']}-PERP" if kind is InstrumentKind.PERP
                                                            else f"{m['base']}-{m['quote']}") if a != name)),
                    contract_size=_dec(m.get("contractSize") or 1) if kind is InstrumentKind.PERP else "1",
                    inverse=inverse and kind is InstrumentKind.PERP,
                    settle=str(m.get("settle") or "") if inverse else "",
                    min_notional=_min_cost(m),
                )
            )  # fmt: skip
            self.symbol_of[name] = sym
            self.market_of[sym] = name
        self.instruments_by_name = {i.market: i for i in out}
        return out

    async def limits(self) -> VenueLimits:
        per_s = 1000.0 / float(self.exchange.rateLimit or 1000)
        return VenueLimits(per_s, per_s, per_s * 60, {"ccxt_rateLimit_ms": self.exchange.rateLimit})

    # --- streams ------------------------------------------------------------------------------------
    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self.listener = listener
        self._markets = tuple(markets)
        first = [self.exchange.watch_order_book(self.symbol_of[m]) for m in markets]
        try:
            books = await asyncio.wait_for(asyncio.gather(*first), 15)
        except Exception as e:
            raise VenueUnreachable(f"ccxt {self.exchange_id}: no order book stream ({type(e).__name__}: {e})") from None
        for m, book in zip(markets, books, strict=True):
            self._on_book(m, book, snapshot=True)
            self._spawn(self._watch_book(m))
            if self.exchange.has.get("watchTrades"):
                self._spawn(self._watch_trades(m))
        if self.has_keys:
            if self.exchange.has.get("watchOrders"):
                self._spawn(self._watch_orders())
            if self.exchange.has.get("watchMyTrades"):
                self._spawn(self._watch_my_trades())
        self._connected = True
        listener.on_connected(0)

    def _on_book(self, market: str, book: Any, snapshot: bool = False) -> None:
        inst = self.instruments_by_name[market]
        g = inst.grid
        bids = {g.price_to_ticks(_dec(p)): g.qty_to_lots(_dec(q)) for p, q, *_ in book["bids"]}
        asks = {g.price_to_ticks(_dec(p)): g.qty_to_lots(_dec(q)) for p, q, *_ in book["asks"]}
        ob, oa = self._books.get(market, ({}, {}))
        if not snapshot and market in self._books:
            d_bids = [(p, 0) for p in ob.keys() - bids.keys()] + [(p, q) for p, q in bids.items() if ob.get(p) != q]
            d_asks = [(p, 0) for p in oa.keys() - asks.keys()] + [(p, q) for p, q in asks.items() if oa.get(p) != q]
        self._books[market] = (bids, asks)
        ts = int(book.get("timestamp") or 0) * 1_000_000 or time.time_ns()
        lst = self.listener
        if lst is None:
            return
        if snapshot or market not in self._seq:
            self._seq[market] = 1
            lst.on_book(market, sorted(bids.items(), reverse=True), sorted(asks.items()), 1, ts, time.time_ns(), True)
        elif d_bids or d_asks:
            self._seq[market] += 1
            lst.on_book(market, d_bids, d_asks, self._seq[market], ts, time.time_ns(), False)

    async def _watch_book(self, market: str) -> None:
        sym = self.symbol_of[market]
        while not self._closing:
            try:
                book = await self.exchange.watch_order_book(sym)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # ccxt reconnects its sockets itself; a gap shows as a new book
                self._lost(f"{market} book: {type(e).__name__}: {e}")
                await asyncio.sleep(1.0)
                continue
            self._on_book(market, book)

    async def _watch_trades(self, market: str) -> None:
        sym, inst = self.symbol_of[market], self.instruments_by_name[market]
        g = inst.grid
        while not self._closing:
            try:
                trades = await self.exchange.watch_trades(sym)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._lost(f"{market} trades: {type(e).__name__}: {e}")
                await asyncio.sleep(1.0)
                continue
            lst = self.listener
            for t in trades:
                if lst is not None:
                    side = Side.BUY if t.get("side") == "buy" else Side.SELL
                    lst.on_trade(market, g.price_to_ticks(_dec(t["price"])), g.qty_to_lots(_dec(t["amount"])), side,
                                 int(t.get("timestamp") or 0) * 1_000_000, time.time_ns())  # fmt: skip
            with contextlib.suppress(AttributeError, KeyError):
                self.exchange.trades[sym].clear()  # ccxt caches what it returned; we consumed it

    async def _watch_orders(self) -> None:
        while not self._closing:
            try:
                orders = await self.exchange.watch_orders()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._lost(f"orders: {type(e).__name__}: {e}")
                await asyncio.sleep(1.0)
                continue
            for o in orders:
                self._on_order(o)

    async def _watch_my_trades(self) -> None:
        while not self._closing:
            try:
                trades = await self.exchange.watch_my_trades()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._lost(f"my trades: {type(e).__name__}: {e}")
                await asyncio.sleep(1.0)
                continue
            for t in trades:
                self._on_my_trade(t)

    def _lost(self, why: str) -> None:
        log.info("ccxt %s: %s", self.exchange_id, why)

    # --- the account's events ------------------------------------------------------------------------
    def _wire_id(self, order_id: str) -> str:
        """Our client order id as the exchange takes it: Hyperliquid's must be a 16-byte cloid
        (connectors/hyperliquid: packed, and back), others take ours as it is."""
        if self.exchange_id != "hyperliquid":
            return order_id
        from agenthft.connectors.hyperliquid.translate import cloid_of

        cloid = cloid_of(order_id)
        self._ours[cloid] = order_id
        return cloid

    def _client_id(self, o: dict[str, Any]) -> str:
        cid = o.get("clientOrderId")
        if cid:
            cid = str(cid)
            if cid in self._ours:
                return self._ours[cid]
            if self.exchange_id == "hyperliquid":
                from agenthft.connectors.hyperliquid.translate import order_id_of

                return order_id_of(cid) or cid
            return cid
        eid = str(o.get("id", ""))
        for c, e in self._exchange_id_of.items():
            if e == eid:
                return c
        return eid

    def _on_order(self, o: dict[str, Any]) -> None:
        lst = self.listener
        market = self.market_of.get(str(o.get("symbol", "")))
        if lst is None or market is None:
            return
        cid = self._client_id(o)
        if o.get("id"):
            self._exchange_id_of[cid] = str(o["id"])
        now = time.time_ns()
        if cid not in self._acked and o.get("id"):
            self._acked.add(cid)
            lst.on_order_event(Ack(cid, _int_id(o["id"]), int(o.get("timestamp") or 0) * 1_000_000), now)
            if cid in self._pending_cancels:
                self._pending_cancels.discard(cid)
                self.cancel(cid, market)
        status = o.get("status")
        if status in ("canceled", "expired", "rejected") and cid not in self._done:
            self._done.add(cid)
            inst = self.instruments_by_name[market]
            left = inst.qty_to_lots(_dec(o["remaining"])) if o.get("remaining") is not None else -1
            lst.on_order_event(Done(cid, "cancelled" if status == "canceled" else status, left, now), now)

    def _on_my_trade(self, t: dict[str, Any]) -> None:
        lst = self.listener
        market = self.market_of.get(str(t.get("symbol", "")))
        if lst is None or market is None:
            return
        inst = self.instruments_by_name[market]
        g = inst.grid
        cid = self._client_id({"id": t.get("order"), "clientOrderId": _trade_client_id(t)})
        fee = t.get("fee") or {}
        paid = fee_cash(fee.get("cost"), fee.get("currency"), inst, t["price"], self.fees_elsewhere)
        fill = VenueFill(
            cid,
            _fill_id(market, t.get("id")),
            market,
            Side.BUY if t.get("side") == "buy" else Side.SELL,
            g.qty_to_lots(_dec(t["amount"])),
            g.price_to_ticks(_dec(t["price"])),
            paid,
            int(t.get("timestamp") or 0) * 1_000_000,
        )
        maker = t.get("takerOrMaker") == "maker"
        lst.on_order_event(Filled(fill, Liquidity.MAKER if maker else Liquidity.TAKER, -1), time.time_ns())

    # --- orders --------------------------------------------------------------------------------------
    def place(self, req: OrderRequest) -> bool:
        self._spawn(self._place(req))
        return True

    async def _place(self, req: OrderRequest) -> None:
        inst = self.instruments_by_name[req.market]
        g = inst.grid
        params: dict[str, Any] = {"clientOrderId": self._wire_id(req.order_id)}
        if req.order_type is OrderType.POST_ONLY:
            params["postOnly"] = True
        elif req.order_type is OrderType.IOC:
            params["timeInForce"] = "IOC"
        if req.reduce_only:
            params["reduceOnly"] = True
        kind = "market" if req.order_type is OrderType.MARKET or req.price is None else "limit"
        sym = self.symbol_of[req.market]
        price = None
        if req.price is not None:
            text = g.ticks_to_price(req.price)
            price = float(text)
            sent = self.exchange.price_to_precision(sym, price)
            if not _same(sent, text):  # ccxt would round it (Hyperliquid's: to 5 figures): refused instead
                why = f"price {text} is not one {self.exchange_id} takes (ccxt would send {sent})"
                self._order_error(req.order_id, None, placing=True, code="bad_price", reason=why)
                return
        args = (sym, kind, req.side.value, float(g.lots_to_qty(req.qty)), price, params)
        create = self.exchange.create_order_ws if self.exchange.has.get("createOrderWs") else self.exchange.create_order
        t0 = time.perf_counter_ns()
        try:
            o = await create(*args)
        except Exception as e:
            self._order_error(req.order_id, e, placing=True)
            return
        self._rtt_ns = time.perf_counter_ns() - t0
        o.setdefault("clientOrderId", req.order_id)
        o["symbol"] = o.get("symbol") or self.symbol_of[req.market]
        self._on_order(o)

    def _order_error(self, order_id: str, e: Exception | None, placing: bool, code: str = "", reason: str = "") -> None:
        lst = self.listener
        if lst is None:
            return
        if e is not None:
            code, reason = error_code(e, self.exchange_id), f"{type(e).__name__}: {e}"
        now = time.time_ns()
        if code == "rate_limited":
            lst.on_order_event(Throttle(1.0, f"{self.exchange_id}: {reason[:100]}"), now)
        ev: OrderEvent = Rejected(order_id, code, reason, now) if placing else CancelRefused(order_id, code, reason)
        lst.on_order_event(ev, now)

    def cancel(self, order_id: str, market: str) -> bool:
        if order_id not in self._exchange_id_of:  # not acknowledged yet: cancel when it is
            self._pending_cancels.add(order_id)
            return True
        self._spawn(self._cancel(order_id, market))
        return True

    async def _cancel(self, order_id: str, market: str) -> None:
        eid = self._exchange_id_of[order_id]
        cancel = self.exchange.cancel_order_ws if self.exchange.has.get("cancelOrderWs") else self.exchange.cancel_order
        try:
            o = await cancel(eid, self.symbol_of[market])
        except Exception as e:
            self._order_error(order_id, e, placing=False)
            return
        if isinstance(o, dict):
            o.setdefault("clientOrderId", order_id)
            o["symbol"] = o.get("symbol") or self.symbol_of[market]
            if not o.get("status"):  # the call succeeded: cancelled (ccxt may leave the status None)
                o["status"] = "canceled"
            self._on_order(o)

    def cancel_all(self, market: str | None = None) -> bool:
        for m in [market] if market else list(getattr(self, "_markets", ())):
            self._spawn(self._cancel_all(m))
        return True

    async def _cancel_all(self, market: str) -> None:
        sym = self.symbol_of[market]
        try:
            if self.exchange.has.get("cancelAllOrders"):
                await self.exchange.cancel_all_orders(sym)
                return
            # no cancel-all (Hyperliquid): what is open, cancelled in one batch where it can
            ids = [str(o["id"]) for o in await self.exchange.fetch_open_orders(sym)]
            if ids and self.exchange.has.get("cancelOrders"):
                await self.exchange.cancel_orders(ids, sym)
            else:
                for i in ids:
                    await self.exchange.cancel_order(i, sym)
        except Exception as e:
            log.warning("ccxt %s cancel-all %s: %s", self.exchange_id, market, e)

    def amend(self, req: AmendRequest) -> bool:
        return False  # the unified edit_order differs too much between exchanges to promise one thing

    def resubscribe(self, market: str) -> None:
        self._books.pop(market, None)  # the next book is sent whole

    # --- the account ----------------------------------------------------------------------------------
    async def snapshot(self) -> AccountSnapshot:
        if not self.has_keys:
            return AccountSnapshot([], [], consistent=False)
        orders, fills = [], []
        for m in getattr(self, "_markets", ()):
            sym, inst = self.symbol_of[m], self.instruments_by_name[m]
            g = inst.grid
            for o in await self.exchange.fetch_open_orders(sym):
                cid = self._client_id(o)
                self._exchange_id_of[cid] = str(o["id"])
                orders.append(
                    VenueOrder(cid, _int_id(o["id"]), m, Side.BUY if o["side"] == "buy" else Side.SELL,
                               g.price_to_ticks(_dec(o["price"])), g.qty_to_lots(_dec(o["amount"])),
                               g.qty_to_lots(_dec(o.get("filled") or 0)))
                )  # fmt: skip
            for t in await self.exchange.fetch_my_trades(sym):
                cid = self._client_id({"id": t.get("order"), "clientOrderId": _trade_client_id(t)})
                fee = t.get("fee") or {}
                paid = fee_cash(fee.get("cost"), fee.get("currency"), inst, t["price"], self.fees_elsewhere)
                fills.append(
                    VenueFill(cid, _fill_id(m, t.get("id")), m, Side.BUY if t["side"] == "buy" else Side.SELL,
                              g.qty_to_lots(_dec(t["amount"])), g.price_to_ticks(_dec(t["price"])),
                              paid, int(t.get("timestamp") or 0) * 1_000_000)
                )  # fmt: skip
        return AccountSnapshot(orders, fills, consistent=False)

    async def ping(self) -> int:
        """The exchange's server time over REST (ccxt's `fetch_time`), through ccxt's rate limiter."""
        t0 = time.perf_counter_ns()
        await self.exchange.fetch_time()
        return time.perf_counter_ns() - t0

    # --- lifecycle --------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        self._closing = True
        self._connected = False
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.exchange.close()

    def drop(self) -> None:
        pass  # ccxt owns its sockets and reconnects them itself


def point_at(urls: dict[str, Any], base: str) -> None:
    """Every URL of a ccxt exchange's `urls['api']` (and `urls['test']`) rewritten to `base`
    (http for REST, ws for WebSocket), keeping each path: one local venue serves them all."""
    ws_base = "ws" + base.removeprefix("http")

    def fix(v: Any) -> Any:
        if isinstance(v, str) and re.match(r"^(https?|wss?)://", v):
            rest = re.sub(r"^(https?|wss?)://[^/]+", "", v)
            return (ws_base if v.startswith("ws") else base) + rest
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    for key in ("api", "test"):
        if isinstance(urls.get(key), dict):
            urls[key] = fix(urls[key])


def _trade_client_id(t: dict[str, Any]) -> Any:
    """A fill's client order id where ccxt leaves it in `info` (Binance: c, Hyperliquid: cloid)."""
    info = t.get("info") or {}
    return t.get("clientOrderId") or info.get("c") or info.get("cloid")


def _same(a: Any, b: str) -> bool:
    return a is not None and Decimal(str(a)) == Decimal(b)


def _dec(v: Any) -> str:
    return format(Decimal(str(v)).normalize(), "f")


def _fee(v: Any) -> str:
    return _dec(v) if v is not None else "0"


def _int_id(v: Any) -> int:
    s = str(v)
    return int(s) if s.isdigit() else zlib.crc32(s.encode())


def open_ccxt(spec: str, key_file: str | None = None, **options: Any) -> CcxtPort:
    """`ccxt:EXCHANGE`, `ccxt:EXCHANGE-testnet` or `ccxt:EXCHANGE@http://HOST:PORT`."""
    body = spec.removeprefix("ccxt:")
    name, _, base = body.partition("@")
    testnet = name.endswith("-testnet")
    return CcxtPort(name.removesuffix("-testnet"), base or None, testnet, key_file, options.get("ccxt_options"))
