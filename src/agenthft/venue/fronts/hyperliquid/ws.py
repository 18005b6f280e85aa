"""Hyperliquid's WebSocket (`/ws`) on the venue: `ping`, `subscribe` / `unsubscribe` and `post`
(an info request or a signed action, answered on the `post` channel with the request's `id`).

Market channels: `l2Book` (a whole book, 20 levels a side, after each change: pushed once per
turn of the event loop however many deltas the turn brought, as Hyperliquid pushes once per
block), `trades`, `bbo` (when the top changes), `allMids`, `activeAssetCtx`. User channels
(the master's address): `orderUpdates` (open, filled, canceled, scheduledCancel, ...; an IOC
that never rested gets no "open"), `userFills` (a snapshot first, `isSnapshot`), `userEvents`
(channel `user`: fills, and `nonUserCancel` for cancels the user did not ask for),
`clearinghouseState` (on subscribe, after each fill and every few seconds), `userFundings`
(a snapshot; the venue books no funding). The observer (`Hub`) hears every venue event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import WSMsgType, web

from agenthft.matching import Accepted, Amended, BookDelta, Cancelled, Fill, Trade
from agenthft.model import OrderType, Side
from agenthft.redact import redact
from agenthft.venue.fronts.hyperliquid import exchange, info
from agenthft.venue.fronts.hyperliquid.coins import Coin
from agenthft.venue.outcome import AccountEvent, MarketEvent, OrderInfo, TopOfBook

if TYPE_CHECKING:
    from agenthft.venue.fronts.hyperliquid.state import FrontState

log = logging.getLogger("agenthft.venue.hyperliquid")
_enc = msgspec.json.Encoder()
MAX_QUEUED = 20_000
MAX_SUBSCRIPTIONS = 1000
MAX_INFLIGHT_POSTS = 100
COIN_CHANNELS = ("l2Book", "trades", "bbo", "activeAssetCtx")
USER_CHANNELS = ("orderUpdates", "userFills", "userEvents", "clearinghouseState", "userFundings", "notification")
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class Conn:
    """One /ws connection: its subscriptions and an ordered send queue drained by a task."""

    def __init__(self, ws: web.WebSocketResponse, remote: str) -> None:
        self.ws = ws
        self.remote = remote
        self.subs: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, coin or user) -> as subscribed
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

    def channel(self, channel: str, data: Any) -> None:
        self.send(_enc.encode({"channel": channel, "data": data}))

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
                except (ConnectionError, RuntimeError):
                    self.closed = True
                    q.clear()
                    return

    async def stop(self) -> None:
        self.closed = True
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _key(sub: dict[str, Any]) -> tuple[str, str] | str:
    """(channel, coin | user | "") of a subscription, or why it is not one."""
    kind = sub.get("type")
    if kind in COIN_CHANNELS:
        coin = sub.get("coin")
        return (kind, coin) if isinstance(coin, str) else f"missing coin in {kind} subscription"
    if kind in USER_CHANNELS:
        user = sub.get("user")
        return (kind, user.lower()) if isinstance(user, str) else f"missing user in {kind} subscription"
    if kind == "allMids":
        return (kind, "")
    if kind in ("candle", "webData2", "webData3", "activeAssetData", "spotState", "twapStates", "openOrders"):
        return (kind, json.dumps(sub, sort_keys=True))  # accepted; nothing is pushed on them
    return f"Invalid subscription type {kind!r}"


class Hub:
    """The front's observer of the venue: routes its events to subscribers, keeps each
    account's fills and the front's shadow positions (for a fill's startPosition and
    closedPnl)."""

    def __init__(self, front: FrontState, record_fill: Callable[[Coin, Fill, OrderInfo], dict[str, Any]]) -> None:
        self.front = front
        self.record_fill = record_fill  # the server's: a fill in Hyperliquid's shape, kept
        self.conns: set[Conn] = set()
        self.subs: dict[tuple[str, str], set[Conn]] = {}
        self._dirty: set[str] = set()  # coins whose book changed this turn
        self._flush_due = False
        self._traders: dict[int, str] = {}  # venue order id -> account, of this command's fills

    # --- subscriptions ------------------------------------------------------------------------------
    def subscribe(self, conn: Conn, sub: Any, now_ns: int) -> None:
        if not isinstance(sub, dict):
            conn.channel("error", "Error parsing JSON into valid websocket request: subscription")
            return
        key = _key(sub)
        if isinstance(key, str):
            conn.channel("error", key)
            return
        if key in conn.subs:
            conn.channel("error", f"Already subscribed: {json.dumps(sub)}")
            return
        if len(conn.subs) >= MAX_SUBSCRIPTIONS:
            conn.channel("error", f"Cannot subscribe to more than {MAX_SUBSCRIPTIONS} channels")
            return
        conn.subs[key] = sub
        self.subs.setdefault(key, set()).add(conn)
        conn.channel("subscriptionResponse", {"method": "subscribe", "subscription": sub})
        self._first(conn, key, now_ns)

    def unsubscribe(self, conn: Conn, sub: Any) -> None:
        key = _key(sub) if isinstance(sub, dict) else "?"
        if isinstance(key, str) or key not in conn.subs:
            conn.channel("error", f"Already unsubscribed: {json.dumps(sub)}")
            return
        del conn.subs[key]
        self._drop(conn, key)
        conn.channel("subscriptionResponse", {"method": "unsubscribe", "subscription": sub})

    def _drop(self, conn: Conn, key: tuple[str, str]) -> None:
        s = self.subs.get(key)
        if s is not None:
            s.discard(conn)
            if not s:
                del self.subs[key]

    def close(self, conn: Conn) -> None:
        for key in list(conn.subs):
            self._drop(conn, key)
        conn.subs.clear()
        self.conns.discard(conn)

    def _account(self, user: str) -> str | None:
        rec = self.front.wallets.users.get(user)
        return rec.account_id if rec is not None else None

    def _first(self, conn: Conn, key: tuple[str, str], now_ns: int) -> None:
        """What a subscription gets at once: the state it follows."""
        kind, what = key
        f = self.front
        coin = f.coins.by_name.get(what) if kind in COIN_CHANNELS else None
        if kind == "l2Book" and coin is not None:
            conn.channel("l2Book", info.l2_book(f, coin, now_ns))
        elif kind == "bbo" and coin is not None:
            conn.channel("bbo", self._bbo(coin.market, now_ns))
        elif kind == "activeAssetCtx" and coin is not None:
            ctx = info.spot_ctx(f, coin) if coin.spot else info.asset_ctx(f, coin)
            conn.channel("activeSpotAssetCtx" if coin.spot else "activeAssetCtx", {"coin": coin.name, "ctx": ctx})
        elif kind == "allMids":
            conn.channel("allMids", {"mids": info.all_mids(f)})
        elif kind == "userFills":
            fills = info.user_fills(f, self._account(what))
            conn.channel("userFills", {"isSnapshot": True, "user": conn.subs[key]["user"], "fills": fills})
        elif kind == "userFundings":
            conn.channel("userFundings", {"isSnapshot": True, "user": conn.subs[key]["user"], "fundings": []})
        elif kind == "clearinghouseState":
            conn.channel("clearinghouseState", self._state(what, now_ns))

    def _state(self, user: str, now_ns: int) -> dict[str, Any]:
        sub_user = user
        return {
            "dex": "",
            "user": sub_user,
            "clearinghouseState": info.clearinghouse(self.front, self._account(user), now_ns),
        }

    def push_states(self, now_ns: int) -> None:
        """Re-push every clearinghouseState subscription (Hyperliquid does every few seconds)."""
        for (kind, user), conns in list(self.subs.items()):
            if kind == "clearinghouseState" and conns:
                payload = _enc.encode({"channel": "clearinghouseState", "data": self._state(user, now_ns)})
                for c in list(conns):
                    c.send(payload)

    def _emit(self, key: tuple[str, str], channel: str, data: Any) -> None:
        conns = self.subs.get(key)
        if not conns:
            return
        payload = _enc.encode({"channel": channel, "data": data})
        for c in list(conns):
            c.send(payload)

    # --- market events ------------------------------------------------------------------------------
    def on_market(self, ev: MarketEvent) -> None:
        coin = self.front.coins.by_market.get(ev.market)
        if coin is None:
            return
        t = type(ev)
        if t is BookDelta:
            if ("l2Book", coin.name) in self.subs:
                self._dirty.add(coin.name)
                self._schedule_flush()
        elif t is Trade:
            assert isinstance(ev, Trade)
            if ("trades", coin.name) in self.subs:
                users = [self._address(ev.maker_order), self._address(ev.taker_order)]
                buyer, seller = (users[1], users[0]) if ev.side is Side.BUY else (users[0], users[1])
                trade = {
                    "coin": coin.name,
                    "side": "B" if ev.side is Side.BUY else "A",
                    "px": coin.px(ev.price),
                    "sz": coin.sz(ev.qty),
                    "hash": "0x" + f"{ev.trade_id:064x}",
                    "time": ev.ts_ns // 1_000_000,
                    "tid": ev.trade_id,
                    "users": [buyer, seller],
                }
                self._emit(("trades", coin.name), "trades", [trade])
        elif t is TopOfBook:
            assert isinstance(ev, TopOfBook)
            if ("bbo", coin.name) in self.subs:
                self._emit(("bbo", coin.name), "bbo", self._bbo(coin.market, ev.ts_ns))
            if ("allMids", "") in self.subs:
                self._emit(("allMids", ""), "allMids", {"mids": info.all_mids(self.front)})

    def _address(self, oid: int) -> str:
        account = self._traders.get(oid)
        return self.front.wallets.address_of.get(account, ZERO_ADDRESS) if account else ZERO_ADDRESS

    def _bbo(self, market: str, now_ns: int) -> dict[str, Any]:
        coin = self.front.coins.by_market[market]
        lv = info.levels(self.front, coin, 1)
        return {
            "coin": coin.name,
            "time": now_ns // 1_000_000,
            "bbo": [lv[0][0] if lv[0] else None, lv[1][0] if lv[1] else None],
        }

    def _schedule_flush(self) -> None:
        if self._flush_due:
            return
        self._flush_due = True
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # no loop (a test driving the venue directly): now
            self.flush()

    def flush(self) -> None:
        """One l2Book per changed coin: the book as it is now (deltas of one turn coalesced)."""
        self._flush_due = False
        dirty, self._dirty = self._dirty, set()
        now = time.time_ns()
        for name in sorted(dirty):
            coin = self.front.coins.by_name[name]
            self._emit(("l2Book", name), "l2Book", info.l2_book(self.front, coin, now))

    # --- account events -----------------------------------------------------------------------------
    def on_account(self, ev: AccountEvent, order: OrderInfo | None) -> None:
        f = self.front
        t = type(ev)
        if t is Fill:
            assert isinstance(ev, Fill)
            self._traders[ev.venue_order_id] = ev.account
            if len(self._traders) > 10_000:
                self._traders.clear()
        if order is None or order.market not in f.coins.by_market:
            return
        coin = f.coins.by_market[order.market]
        if t is Fill:
            assert isinstance(ev, Fill)
            rec = self.record_fill(coin, ev, order)
            user = f.wallets.address_of.get(ev.account)
            if user is None:
                return
            u = user.lower()
            self._emit(("userFills", u), "userFills", {"user": self._subscribed_user("userFills", u), "fills": [rec]})
            self._emit(("userEvents", u), "user", {"fills": [rec]})
            if not ev.remaining:
                self._order_update(u, order, "filled", ev.ts_ns)
            if ("clearinghouseState", u) in self.subs:
                self._emit(("clearinghouseState", u), "clearinghouseState", self._state(u, ev.ts_ns))
            return
        user = f.wallets.address_of.get(order.account)
        if user is None:
            return
        u = user.lower()
        if t is Accepted:
            if order.order_type is not OrderType.IOC:  # an IOC never rests: no "open"
                self._order_update(u, order, "open", ev.ts_ns)
        elif t is Cancelled:
            assert isinstance(ev, Cancelled)
            status = info.status_of(f, order)
            self._order_update(u, order, status, ev.ts_ns)
            if status in ("scheduledCancel", "selfTradeCanceled", "reduceOnlyCanceled", "marginCanceled"):
                self._emit(("userEvents", u), "user", {"nonUserCancel": [{"coin": coin.name, "oid": order.oid}]})
        elif t is Amended:
            self._order_update(u, order, "open", ev.ts_ns)

    def _subscribed_user(self, channel: str, u: str) -> str:
        for c in self.subs.get((channel, u), ()):
            return str(c.subs[(channel, u)]["user"])
        return u

    def _order_update(self, u: str, order: OrderInfo, status: str, ts_ns: int) -> None:
        if ("orderUpdates", u) not in self.subs:
            return
        rec = info.order_record(self.front, order, frontend=False)
        self._emit(
            ("orderUpdates", u),
            "orderUpdates",
            [{"order": rec, "status": status, "statusTimestamp": ts_ns // 1_000_000}],
        )


async def serve_ws(front: FrontState, request: web.Request) -> web.WebSocketResponse:
    """One /ws connection: ping, subscribe, unsubscribe, post. The server closes a connection
    it has sent nothing to for `idle_s` (Hyperliquid: 60 s); clients ping."""
    ws = web.WebSocketResponse(heartbeat=None, max_msg_size=front.venue.settings.max_frame_bytes)
    await ws.prepare(request)
    conn = Conn(ws, request.remote or "?")
    hub = front.hub
    hub.conns.add(conn)
    try:
        while True:
            try:
                msg = await ws.receive(timeout=front.idle_s)
            except TimeoutError:
                await ws.close(code=1000, message=b"idle")
                break
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            try:
                await _on_message(front, conn, msg.data)
            except Exception as e:  # a bug: answered, the connection stays
                log.error("hyperliquid ws message failed: %s", redact(repr(e)))
                conn.channel("error", f"the venue failed on this message: {type(e).__name__}")
    finally:
        hub.close(conn)
        await conn.stop()
    return ws


async def _on_message(front: FrontState, conn: Conn, raw: str | bytes) -> None:
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        conn.channel("error", f"Error parsing JSON into valid websocket request: {str(raw)[:100]}")
        return
    if not isinstance(msg, dict):
        conn.channel("error", "Error parsing JSON into valid websocket request: expected an object")
        return
    method = msg.get("method")
    now = front.clock()
    if method == "ping":
        conn.send(b'{"channel":"pong"}')
    elif method == "subscribe":
        front.hub.subscribe(conn, msg.get("subscription"), now)
    elif method == "unsubscribe":
        front.hub.unsubscribe(conn, msg.get("subscription"))
    elif method == "post":
        conn.channel("post", await _post(front, conn, msg))
    else:
        conn.channel("error", f"Error parsing JSON into valid websocket request: unknown method {method!r}")


async def _post(front: FrontState, conn: Conn, msg: dict[str, Any]) -> dict[str, Any]:
    """A request over the socket: the same answer as over HTTP, with the request's id."""
    rid = msg.get("id")
    req = msg.get("request")
    if not isinstance(req, dict) or req.get("type") not in ("info", "action"):
        return {
            "id": rid,
            "response": {"type": "error", "payload": "Invalid post request: request.type is info or action"},
        }
    payload = req.get("payload")
    now = front.clock()
    kind = req["type"]
    itype = payload.get("type") if isinstance(payload, dict) else None
    w = exchange.ip_weight(payload) if kind == "action" else info.weight(itype)
    if not front.ip_limits.add(conn.remote, w, now):
        return {"id": rid, "response": {"type": "error", "payload": "429 Too Many Requests"}}
    try:
        if kind == "action":
            return {"id": rid, "response": {"type": "action", "payload": exchange.handle(front, payload, now)}}
        answer = info.handle(front, payload, now)
        return {"id": rid, "response": {"type": "info", "payload": {"type": itype, "data": answer}}}
    except exchange.Undeserializable as e:
        return {"id": rid, "response": {"type": "error", "payload": f"Failed to deserialize the JSON body: {e}"}}
