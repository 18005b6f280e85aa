"""Binance USDⓈ-M WebSocket API (/ws-fapi/v1): request/response trading on the same ops as
REST. Every request is signed (HMAC or Ed25519 over the sorted params, SDK- or ccxt-encoded)
unless the session logged on with an Ed25519 key (`session.logon`); `userDataStream.*` needs
the apiKey only. Answers echo `id` exactly and carry `rateLimits` unless `returnRateLimits`
is false; errors are `{"id", "status", "error": {"code", "msg"}}`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
from aiohttp import WSMsgType, web

from agenthft.protocol.binance_usdm import wire
from agenthft.redact import redact
from agenthft.venue.fronts.binance_usdm import ops
from agenthft.venue.fronts.binance_usdm.errors import FrontError
from agenthft.venue.fronts.binance_usdm.keys import BinanceKey, verify_ws
from agenthft.venue.fronts.binance_usdm.limits import Limits
from agenthft.venue.fronts.binance_usdm.rest import limit_error
from agenthft.venue.fronts.binance_usdm.state import FrontState
from agenthft.venue.fronts.binance_usdm.streams import Conn

log = logging.getLogger("agenthft.venue.binance")
_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(wire.WsRequest)
PUBLIC, KEY_ONLY, SIGNED, LOGON = 0, 1, 2, 3


class Method(NamedTuple):
    security: int
    weight: int
    fn: Callable[[FrontState, BinanceKey | None, dict[str, Any], int], Any]
    orders: bool = False


def _k(key: BinanceKey | None) -> BinanceKey:
    assert key is not None
    return key


def _start(f: FrontState, k: BinanceKey | None, p: dict[str, Any], now: int) -> Any:
    return {"listenKey": f.hub.start_listen(_k(k).api_key, _k(k).account, now).key}


def _ping(f: FrontState, k: BinanceKey | None, p: dict[str, Any], now: int) -> Any:
    lk = f.hub.keepalive(_k(k).api_key, now)
    if lk is None:
        raise FrontError(-1125)
    return {"listenKey": lk.key}


def _stop(f: FrontState, k: BinanceKey | None, p: dict[str, Any], now: int) -> Any:
    f.hub.close_listen(_k(k).api_key)
    return {}


METHODS: dict[str, Method] = {
    "order.place": Method(SIGNED, 0, lambda f, k, p, now: ops.new_order(f, _k(k), p, now), True),
    "order.modify": Method(SIGNED, 1, lambda f, k, p, now: ops.modify_order(f, _k(k), p, now), True),
    "order.cancel": Method(SIGNED, 1, lambda f, k, p, now: ops.cancel_order(f, _k(k), p, now)),
    "order.status": Method(SIGNED, 1, lambda f, k, p, now: ops.query_order(f, _k(k), p)),
    "account.position": Method(SIGNED, 5, lambda f, k, p, now: ops.position_risk(f, _k(k), p, 3, now)),
    "v2/account.position": Method(SIGNED, 5, lambda f, k, p, now: ops.position_risk(f, _k(k), p, 2, now)),
    "account.balance": Method(SIGNED, 5, lambda f, k, p, now: ops.balance(f, _k(k), now)),
    "v2/account.balance": Method(SIGNED, 5, lambda f, k, p, now: ops.balance(f, _k(k), now)),
    "account.status": Method(SIGNED, 5, lambda f, k, p, now: ops.account(f, _k(k), 3, now)),
    "v2/account.status": Method(SIGNED, 5, lambda f, k, p, now: ops.account(f, _k(k), 2, now)),
    "depth": Method(PUBLIC, 5, lambda f, k, p, now: ops.depth(f, p, now)),
    "ticker.book": Method(PUBLIC, 2, lambda f, k, p, now: ops.book_ticker(f, p, now)),
    "time": Method(PUBLIC, 1, lambda f, k, p, now: {"serverTime": now // 1_000_000}),
    "userDataStream.start": Method(KEY_ONLY, 1, _start),
    "userDataStream.ping": Method(KEY_ONLY, 1, _ping),
    "userDataStream.stop": Method(KEY_ONLY, 1, _stop),
    "session.logon": Method(LOGON, 2, lambda f, k, p, now: None),
    "session.status": Method(PUBLIC, 2, lambda f, k, p, now: None),
    "session.logout": Method(PUBLIC, 2, lambda f, k, p, now: None),
}


class WsApiSession:
    def __init__(self, front: FrontState, remote: str) -> None:
        self.front = front
        self.remote = remote
        self.key: BinanceKey | None = None  # after session.logon
        self.connected_ms = time.time_ns() // 1_000_000
        self.authorized_ms = 0

    def _limits(self, key: BinanceKey | None) -> Limits:
        return self.front.limits_for(key or self.key, self.remote)

    def rate_limits(self, lim: Limits, now: int) -> list[dict[str, Any]]:
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": lim.ws_weight.limit,
                "count": lim.ws_weight.used(now),
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": lim.orders_10s.limit,
                "count": lim.orders_10s.used(now),
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": lim.orders_1m.limit,
                "count": lim.orders_1m.used(now),
            },
        ]

    def handle(self, raw: str | bytes) -> bytes:
        now = self.front.clock()
        try:
            req = _dec.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:
            body = {"id": None, "status": 400, "error": {"code": -1102, "msg": f"Malformed request: {str(e)[:200]}"}}
            return _enc.encode(body)
        p = req.params
        show_limits = p.get("returnRateLimits") not in (False, "false")
        m = METHODS.get(req.method)
        key: BinanceKey | None = self.front.keys.get(p.get("apiKey") if isinstance(p.get("apiKey"), str) else None)
        lim = self._limits(key)
        try:
            if lim.banned_until > now:
                raise FrontError(-1003, lim.ws_weight.limit, http=418, retry_after=lim.ban_left_s(now))
            if m is None:
                raise FrontError(-1000, http=400)
            if not lim.ws_weight.add(m.weight, now):
                raise limit_error(self.front, lim, now, lim.ws_weight.retry_after_s(now), -1003, lim.ws_weight.limit)
            now_ms = now // 1_000_000
            if m.security == SIGNED:
                key = verify_ws(self.front.keys, p, now_ms, self.key)
            elif m.security == KEY_ONLY:
                key = (
                    self.key if self.key is not None and "apiKey" not in p else self.front.keys.require(p.get("apiKey"))
                )
            elif m.security == LOGON:
                key = verify_ws(self.front.keys, p, now_ms, None)
                if key.kind != "ED25519":
                    raise FrontError(-2015)
            if key is not None:
                lim = self._limits(key)
            if m.orders:
                for win in (lim.orders_10s, lim.orders_1m):
                    if not win.add(1, now):
                        raise limit_error(self.front, lim, now, win.retry_after_s(now), -1015, f"{win.limit} orders")
            if req.method.startswith("session."):
                result = self._session(req.method, key, now, show_limits)
            else:
                result = m.fn(self.front, key, p, now)
            out: dict[str, Any] = {"id": req.id, "status": 200, "result": result}
        except FrontError as e:
            out = {"id": req.id, "status": e.http, "error": e.body}
            if e.retry_after is not None:
                out["error"] = {**e.body, "data": {"retryAfter": now // 1_000_000 + 1000 * e.retry_after}}
        except Exception as e:  # a bug: answered, the connection stays
            log.error("binance WS API %s failed: %s", req.method, redact(repr(e)))
            out = {
                "id": req.id,
                "status": 500,
                "error": {"code": -1000, "msg": "An unknown error occurred while processing the request."},
            }
        if show_limits:
            out["rateLimits"] = self.rate_limits(lim, now)
        return _enc.encode(out)

    def _session(self, method: str, key: BinanceKey | None, now: int, show: bool) -> Any:
        if method == "session.logon":
            self.key = key
            self.authorized_ms = now // 1_000_000
        elif method == "session.logout":
            self.key = None
            self.authorized_ms = 0
        return {
            "apiKey": self.key.api_key if self.key is not None else None,
            "authorizedSince": self.authorized_ms or None,
            "connectedSince": self.connected_ms,
            "returnRateLimits": show,
            "serverTime": now // 1_000_000,
        }


async def serve_ws_api(front: FrontState, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=180.0, max_msg_size=front.venue.settings.max_frame_bytes)
    await ws.prepare(request)
    session = WsApiSession(front, request.remote or "?")
    out = Conn(ws, False)
    front.hub.conns.add(out)  # closed with the front
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                out.send(session.handle(msg.data))
    finally:
        front.hub.conns.discard(out)
        await out.stop()
    return ws
