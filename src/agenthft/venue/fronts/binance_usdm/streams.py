"""Market streams and user data streams: the venue's events (observers) as Binance stream
events, to raw (`/ws/...`) and combined (`/stream?streams=`) connections.

Market: `<symbol>@depth[@100ms|@250ms|@500ms|@0ms]` (diff depth: every book delta at once, U = u
= the book sequence, pu = the one before, so the chain matches REST depth's lastUpdateId),
`<symbol>@depth<5|10|20>[@...]` (the top levels after each change), `<symbol>@bookTicker` and
`!bookTicker` (when the top changes), `<symbol>@trade`, `<symbol>@aggTrade` (one per trade),
`<symbol>@markPrice[@1s]` and `!markPrice@arr[@1s]` (every 3 s, or 1 s). User: a listenKey's
ORDER_TRADE_UPDATE (NEW, TRADE, CANCELED, EXPIRED, AMENDMENT) and ACCOUNT_UPDATE (reason
ORDER, after each fill), then `listenKeyExpired` when the key expires, and silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from agenthft.matching import Accepted, Amended, BookDelta, Cancelled, Fill, Rejected, Trade
from agenthft.protocol.binance_usdm import wire
from agenthft.venue.fronts.binance_usdm import translate
from agenthft.venue.fronts.binance_usdm.state import FrontState, ListenKey
from agenthft.venue.fronts.binance_usdm.translate import Symbol, cash_text
from agenthft.venue.outcome import AccountEvent, MarketEvent, OrderInfo, TopOfBook

log = logging.getLogger("agenthft.venue.binance")
_enc = msgspec.json.Encoder()
_control = msgspec.json.Decoder(wire.StreamControl)
_NAME = re.compile(r"^[A-Za-z0-9@!_.\-]{1,200}\Z")
MAX_STREAMS = 1024  # per connection, as Binance
MAX_QUEUED = 20_000  # messages queued for one connection before it is closed (slow consumer)
DIFF_SUFFIXES = ("", "@100ms", "@250ms", "@500ms", "@0ms")
PARTIAL_LEVELS = (5, 10, 20)


class Conn:
    """One stream connection: its subscriptions and an ordered send queue drained by a task."""

    def __init__(self, ws: web.WebSocketResponse, combined: bool, events: set[str] | None = None) -> None:
        self.ws = ws
        self.combined = combined
        self.events = events  # user events this connection wants (None: all)
        self.names: dict[str, str] = {}  # normalised stream name -> as the client wrote it
        self._q: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.task = asyncio.get_running_loop().create_task(self._drain())

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if len(self._q) >= MAX_QUEUED:
            self.closed = True
            self._q.clear()
            asyncio.get_running_loop().create_task(self.ws.close(code=1008, message=b"slow consumer"))
            return
        self._q.append(data)
        self._ready.set()

    def event(self, name: str, payload: bytes) -> None:
        if self.combined:
            shown = self.names.get(name, name)
            self.send(b'{"stream":"' + shown.encode() + b'","data":' + payload + b"}")
        else:
            self.send(payload)

    async def _drain(self) -> None:
        q = self._q
        while True:
            await self._ready.wait()
            self._ready.clear()
            while q:
                data = q.popleft()
                if self.ws.closed:
                    q.clear()
                    return
                try:
                    await self.ws.send_str(data.decode())
                except (ConnectionError, RuntimeError):  # the peer is gone: its handler cleans up
                    self.closed = True
                    q.clear()
                    return

    async def stop(self) -> None:
        self.closed = True
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class StreamHub:
    """The Binance front's observer of the venue: routes events to stream subscribers."""

    def __init__(self, front: FrontState) -> None:
        self.front = front
        self.subs: dict[str, set[Conn]] = {}  # stream name (lower case; listenKeys as given) -> connections
        self.listen: dict[str, ListenKey] = {}  # listenKey -> its record
        self.by_api_key: dict[str, ListenKey] = {}  # one live listenKey per API key
        self.conns: set[Conn] = set()
        self._mark_due = 0

    # --- subscriptions ---------------------------------------------------------------------
    def subscribe(self, conn: Conn, names: Iterable[str]) -> str | None:
        """Add streams to a connection; an error text if a name is malformed or too many."""
        names = list(names)
        for n in names:
            if not isinstance(n, str) or not _NAME.match(n):
                return f"Invalid request: stream name {n!r}"
        if len(set(conn.names) | {self._norm(n) for n in names}) > MAX_STREAMS:
            return f"Invalid request: at most {MAX_STREAMS} streams per connection"
        for n in names:
            name = self._norm(n)
            conn.names[name] = n
            self.subs.setdefault(name, set()).add(conn)
        return None

    def unsubscribe(self, conn: Conn, names: Iterable[str]) -> None:
        for n in names:
            name = self._norm(str(n))
            conn.names.pop(name, None)
            subs = self.subs.get(name)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self.subs[name]

    def _norm(self, name: str) -> str:
        return name if name in self.listen else name.lower()

    def drop(self, conn: Conn) -> None:
        self.unsubscribe(conn, list(conn.names))
        self.conns.discard(conn)

    def control(self, conn: Conn, raw: str | bytes) -> bytes:
        """Answer a SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS frame (the id echoed exactly)."""
        try:
            msg = _control.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return _enc.encode({"error": {"code": 3, "msg": "Invalid JSON: expected a request object"}, "id": None})
        if msg.method == "SUBSCRIBE":
            err = self.subscribe(conn, msg.params)
            if err is not None:
                return _enc.encode({"error": {"code": 2, "msg": err}, "id": msg.id})
            return _enc.encode({"result": None, "id": msg.id})
        if msg.method == "UNSUBSCRIBE":
            self.unsubscribe(conn, msg.params)
            return _enc.encode({"result": None, "id": msg.id})
        if msg.method == "LIST_SUBSCRIPTIONS":
            return _enc.encode({"result": sorted(conn.names.values()), "id": msg.id})
        if msg.method in ("SET_PROPERTY", "GET_PROPERTY"):
            return _enc.encode({"result": conn.combined if msg.method == "GET_PROPERTY" else None, "id": msg.id})
        return _enc.encode(
            {"error": {"code": 1, "msg": f"Invalid request: unknown method {msg.method!r}"}, "id": msg.id}
        )

    def _emit(self, name: str, payload_struct: Any) -> None:
        subs = self.subs.get(name)
        if not subs:
            return
        payload = _enc.encode(payload_struct)
        for c in list(subs):
            c.event(name, payload)

    # --- market events ------------------------------------------------------------------------
    def on_market(self, ev: MarketEvent) -> None:
        if not self.subs:
            return
        sym = self.front.symbols.get(ev.market)
        if sym is None:
            return
        now_ms = time.time_ns() // 1_000_000
        low = sym.lower
        subs = self.subs
        if type(ev) is BookDelta:
            assert isinstance(ev, BookDelta)
            diff = [f"{low}@depth{s}" for s in DIFF_SUFFIXES]
            if any(n in subs for n in diff):
                payload = _enc.encode(translate.depth_update(ev, sym, now_ms))
                for n in diff:
                    for c in list(subs.get(n, ())):
                        c.event(n, payload)
            for levels in PARTIAL_LEVELS:
                names = [f"{low}@depth{levels}{s}" for s in DIFF_SUFFIXES]
                if any(n in subs for n in names):
                    bids, asks = self.front.venue.engine.l2(sym.market, levels)
                    t = ev.ts_ns // 1_000_000
                    part = wire.DepthUpdate(
                        now_ms,
                        t,
                        sym.name,
                        ev.book_seq,
                        ev.book_seq,
                        ev.book_seq - 1,
                        sym.levels(bids),
                        sym.levels(asks),
                    )
                    payload = _enc.encode(part)
                    for n in names:
                        for c in list(subs.get(n, ())):
                            c.event(n, payload)
        elif type(ev) is Trade:
            assert isinstance(ev, Trade)
            self._emit(f"{low}@trade", translate.trade(ev, sym, now_ms))
            self._emit(f"{low}@aggTrade".lower(), translate.agg_trade(ev, sym, now_ms))
        elif type(ev) is TopOfBook:
            assert isinstance(ev, TopOfBook)
            top = wire.BookTicker(
                ev.book_seq,
                now_ms,
                ev.ts_ns // 1_000_000,
                sym.name,
                sym.px(ev.bid) if ev.bid is not None else "0",
                sym.qty(ev.bid_qty),
                sym.px(ev.ask) if ev.ask is not None else "0",
                sym.qty(ev.ask_qty),
            )
            self._emit(f"{low}@bookticker", top)
            self._emit("!bookticker", top)

    def mark_prices(self, now_ns: int, every_s: int) -> None:
        """markPriceUpdate for each market with subscribers of the `every_s` cadence."""
        from agenthft.venue.fronts.binance_usdm.ops import mark

        suffix = "@1s" if every_s == 1 else ""
        now_ms = now_ns // 1_000_000
        hour_ms = 3_600_000
        arr: list[wire.MarkPrice] = []
        want_arr = f"!markprice@arr{suffix}" in self.subs
        for sym in self.front.symbols.values():
            name = f"{sym.lower}@markprice{suffix}"
            if name not in self.subs and not want_arr:
                continue
            mk = mark(self.front, sym.market)
            p = sym.px(mk) if mk is not None else "0"
            ev = wire.MarkPrice(now_ms, sym.name, p, p, p, p, "0.00000000", (now_ms // hour_ms + 1) * hour_ms)
            self._emit(name, ev)
            arr.append(ev)
        if want_arr and arr:
            self._emit(f"!markprice@arr{suffix}", arr)

    def wants_marks(self) -> bool:
        return any("markprice" in n for n in self.subs)

    # --- user data ---------------------------------------------------------------------------
    def start_listen(self, api_key: str, account: str, now_ns: int) -> ListenKey:
        """The API key's live listenKey, extended by the validity (or a new one)."""
        ttl = self.front.listen_key_ttl_ns
        lk = self.by_api_key.get(api_key)
        if lk is None or lk.expired:
            import secrets

            lk = ListenKey(secrets.token_urlsafe(48).replace("-", "a").replace("_", "b")[:64], api_key, account, 0)
            self.listen[lk.key] = lk
            self.by_api_key[api_key] = lk
        lk.expires_ns = now_ns + ttl
        self.front.wake()
        return lk

    def keepalive(self, api_key: str, now_ns: int) -> ListenKey | None:
        lk = self.by_api_key.get(api_key)
        if lk is None or lk.expired:
            return None
        lk.expires_ns = now_ns + self.front.listen_key_ttl_ns
        self.front.wake()
        return lk

    def close_listen(self, api_key: str) -> None:
        lk = self.by_api_key.pop(api_key, None)
        if lk is not None:
            lk.expired = True
            self.listen.pop(lk.key, None)
            self.subs.pop(lk.key, None)

    def expire(self, now_ns: int) -> int | None:
        """Expire due listenKeys (listenKeyExpired, then silence); the next expiry or None."""
        nxt = None
        for lk in list(self.listen.values()):
            if lk.expired:
                continue
            if lk.expires_ns <= now_ns:
                lk.expired = True
                self._emit(lk.key, wire.ListenKeyExpired(now_ns // 1_000_000, lk.key))
                for c in self.subs.pop(lk.key, set()):
                    c.names.pop(lk.key, None)
                self.listen.pop(lk.key, None)
            elif nxt is None or lk.expires_ns < nxt:
                nxt = lk.expires_ns
        return nxt

    def on_account(self, ev: AccountEvent, info: OrderInfo | None) -> None:
        if info is None or type(ev) is Rejected or not self.listen:
            return
        keys = [lk for lk in self.listen.values() if lk.account == ev.account and lk.key in self.subs]
        if not keys:
            return
        sym = self.front.symbols.get(info.market)
        if sym is None:
            return
        now_ms = time.time_ns() // 1_000_000
        if type(ev) in (Accepted, Fill, Cancelled, Amended):
            upd = _enc.encode(translate.order_update(ev, info, sym, now_ms))
            self._user(keys, "ORDER_TRADE_UPDATE", upd)
        if type(ev) is Fill:
            self._user(keys, "ACCOUNT_UPDATE", _enc.encode(self._account_update(ev.account, sym, ev.ts_ns, now_ms)))

    def _user(self, keys: list[ListenKey], event: str, payload: bytes) -> None:
        for lk in keys:
            for c in list(self.subs.get(lk.key, ())):
                if c.events is None or event in c.events:
                    c.event(lk.key, payload)

    def _account_update(self, account: str, sym: Symbol, ts_ns: int, now_ms: int) -> wire.AccountUpdate:
        from agenthft.venue.fronts.binance_usdm.ops import mark

        e = self.front.venue.engine
        acct = e.accounts[account]
        asset = sym.inst.settle_asset
        bal = acct.balances.get(asset, 0)
        pos = acct.position(sym.market)
        m = e.markets[sym.market]
        mk = mark(self.front, sym.market)
        avg = pos.avg_price(m.math) if pos.size else None
        entry = f"{avg * float(sym.inst.tick_size):.{sym.tick_dec + 4}f}" if avg else "0"
        upnl = pos.unrealized(mk, m.math) if mk is not None and pos.size else 0
        self.front.position_time[(account, sym.market)] = ts_ns // 1_000_000
        return wire.AccountUpdate(
            now_ms,
            ts_ns // 1_000_000,
            wire.AccountUpdateData(
                "ORDER",
                [wire.BalanceUpdate(asset, cash_text(bal), cash_text(bal), "0")],
                [
                    wire.PositionUpdate(
                        sym.name,
                        sym.qty(pos.size),
                        entry,
                        entry,
                        cash_text(pos.realized),
                        cash_text(upnl),
                        "cross",
                        "0",
                        "BOTH",
                    )
                ],
            ),
        )


async def serve_stream(front: FrontState, request: web.Request) -> web.WebSocketResponse:
    """A market or user stream connection: `/ws/<a>/<b>`, `/stream?streams=a/b`, the routed
    `/public|/market|/private` variants, `?listenKey=` (user data, `&events=` to filter)."""
    hub = front.hub
    assert isinstance(hub, StreamHub)  # the front's own hub (the state knows it by its protocol)
    path = request.path
    route = path.split("/")[1] if path.count("/") > 1 and path.split("/")[1] in ("public", "market", "private") else ""
    rest = path[len(route) + 1 :] if route else path
    combined = rest.startswith("/stream")
    ws = web.WebSocketResponse(heartbeat=180.0, max_msg_size=1 << 16)
    await ws.prepare(request)
    events = request.query.get("events")
    conn = Conn(ws, combined, set(events.split("/")) if events else None)
    hub.conns.add(conn)
    names: list[str] = []
    if combined:
        names = [n for n in request.query.get("streams", "").split("/") if n]
    elif rest.startswith("/ws/"):
        names = [n for n in rest[len("/ws/") :].split("/") if n]
        names = [n for n in names if not n.isdigit()]  # ccxt's /ws/<n> spreads load: a number is no stream
    lk = request.query.get("listenKey")
    if lk:
        names.append(lk)
    if names:
        err = hub.subscribe(conn, names)
        if err is not None:
            await ws.close(code=1008, message=err.encode()[:120])
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
                conn.send(hub.control(conn, msg.data))
    finally:
        hub.drop(conn)
        await conn.stop()
    return ws
