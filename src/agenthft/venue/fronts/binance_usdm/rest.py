"""Binance USDⓈ-M REST under /fapi/v1, /fapi/v2, /fapi/v3 on the venue's core.

Params: query and form body merged (the query wins). SIGNED endpoints: `X-MBX-APIKEY`, the
timestamp / recvWindow rule and the signature over raw query + raw body; USER_STREAM ones the
key only. Every answer carries `X-MBX-USED-WEIGHT-1M`, order entry `X-MBX-ORDER-COUNT-10S` and
`-1M`; errors are `{"code": -N, "msg": ...}` with Binance's HTTP status (401 for key errors,
429 / 418 with Retry-After for limits).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from agenthft.redact import redact
from agenthft.venue.fronts.binance_usdm import ops
from agenthft.venue.fronts.binance_usdm.errors import FrontError
from agenthft.venue.fronts.binance_usdm.keys import BinanceKey, verify_rest
from agenthft.venue.fronts.binance_usdm.limits import Limits
from agenthft.venue.fronts.binance_usdm.state import FRONT, FrontState

log = logging.getLogger("agenthft.venue.binance")
NONE, USER_STREAM, SIGNED = 0, 1, 2
_enc = msgspec.json.Encoder()
Fn = Callable[[FrontState, "BinanceKey | None", dict[str, Any], int], Any]


class Endpoint(NamedTuple):
    security: int
    weight: Callable[[dict[str, Any]], int]
    fn: Fn
    orders: bool = False


def w(n: int) -> Callable[[dict[str, Any]], int]:
    return lambda _p: n


def _k(key: BinanceKey | None) -> BinanceKey:
    assert key is not None
    return key


def _listen_start(f: FrontState, k: BinanceKey | None, p: dict[str, Any], now: int) -> Any:
    return {"listenKey": f.hub.start_listen(_k(k).api_key, _k(k).account, now).key}


def _listen_keepalive(f: FrontState, k: BinanceKey | None, p: dict[str, Any], now: int) -> Any:
    lk = f.hub.keepalive(_k(k).api_key, now)
    if lk is None:
        raise FrontError(-1125)
    return {"listenKey": lk.key}


def _listen_close(f: FrontState, k: BinanceKey | None, p: dict[str, Any], now: int) -> Any:
    f.hub.close_listen(_k(k).api_key)
    return {}


ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/fapi/v1/ping"): Endpoint(NONE, w(1), lambda f, k, p, now: {}),
    ("GET", "/fapi/v1/time"): Endpoint(NONE, w(1), lambda f, k, p, now: {"serverTime": now // 1_000_000}),
    ("GET", "/fapi/v1/exchangeInfo"): Endpoint(NONE, w(1), lambda f, k, p, now: ops.exchange_info(f, now)),
    ("GET", "/fapi/v1/depth"): Endpoint(NONE, ops.depth_weight, lambda f, k, p, now: ops.depth(f, p, now)),
    ("GET", "/fapi/v1/ticker/bookTicker"): Endpoint(
        NONE, lambda p: 2 if p.get("symbol") else 5, lambda f, k, p, now: ops.book_ticker(f, p, now)
    ),
    ("POST", "/fapi/v1/order"): Endpoint(SIGNED, w(0), lambda f, k, p, now: ops.new_order(f, _k(k), p, now), True),
    ("PUT", "/fapi/v1/order"): Endpoint(SIGNED, w(1), lambda f, k, p, now: ops.modify_order(f, _k(k), p, now), True),
    ("DELETE", "/fapi/v1/order"): Endpoint(SIGNED, w(1), lambda f, k, p, now: ops.cancel_order(f, _k(k), p, now)),
    ("GET", "/fapi/v1/order"): Endpoint(SIGNED, w(1), lambda f, k, p, now: ops.query_order(f, _k(k), p)),
    ("GET", "/fapi/v1/openOrder"): Endpoint(SIGNED, w(1), lambda f, k, p, now: ops.query_order(f, _k(k), p, True)),
    ("GET", "/fapi/v1/openOrders"): Endpoint(
        SIGNED, lambda p: 1 if p.get("symbol") else 40, lambda f, k, p, now: ops.open_orders(f, _k(k), p)
    ),
    ("GET", "/fapi/v1/allOrders"): Endpoint(SIGNED, w(5), lambda f, k, p, now: ops.all_orders(f, _k(k), p)),
    ("DELETE", "/fapi/v1/allOpenOrders"): Endpoint(SIGNED, w(1), lambda f, k, p, now: ops.cancel_all(f, _k(k), p, now)),
    ("POST", "/fapi/v1/countdownCancelAll"): Endpoint(
        SIGNED, w(10), lambda f, k, p, now: ops.countdown(f, _k(k), p, now)
    ),
    ("GET", "/fapi/v1/userTrades"): Endpoint(SIGNED, w(5), lambda f, k, p, now: ops.user_trades(f, _k(k), p)),
    ("GET", "/fapi/v1/leverageBracket"): Endpoint(SIGNED, w(1), lambda f, k, p, now: ops.leverage_bracket(f, p)),
    ("GET", "/fapi/v2/positionRisk"): Endpoint(
        SIGNED, w(5), lambda f, k, p, now: ops.position_risk(f, _k(k), p, 2, now)
    ),
    ("GET", "/fapi/v3/positionRisk"): Endpoint(
        SIGNED, w(5), lambda f, k, p, now: ops.position_risk(f, _k(k), p, 3, now)
    ),
    ("GET", "/fapi/v2/balance"): Endpoint(SIGNED, w(5), lambda f, k, p, now: ops.balance(f, _k(k), now)),
    ("GET", "/fapi/v3/balance"): Endpoint(SIGNED, w(5), lambda f, k, p, now: ops.balance(f, _k(k), now)),
    ("GET", "/fapi/v2/account"): Endpoint(SIGNED, w(5), lambda f, k, p, now: ops.account(f, _k(k), 2, now)),
    ("GET", "/fapi/v3/account"): Endpoint(SIGNED, w(5), lambda f, k, p, now: ops.account(f, _k(k), 3, now)),
    ("POST", "/fapi/v1/listenKey"): Endpoint(USER_STREAM, w(1), _listen_start),
    ("PUT", "/fapi/v1/listenKey"): Endpoint(USER_STREAM, w(1), _listen_keepalive),
    ("DELETE", "/fapi/v1/listenKey"): Endpoint(USER_STREAM, w(1), _listen_close),
}


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=_enc.encode(obj), status=status, content_type="application/json")


def _params(raw_query: str, raw_body: str) -> dict[str, Any]:
    """Query and form body merged; a key in both: the query's value."""
    out: dict[str, Any] = dict(parse_qsl(raw_body, keep_blank_values=True))
    out.update(parse_qsl(raw_query, keep_blank_values=True))
    return out


def limit_error(front: FrontState, lim: Limits, now: int, retry_after: int, code: int, *args: object) -> FrontError:
    """429 (-1003 / -1015) with Retry-After, or 418 when the refusals turn into a ban."""
    if lim.refused(now):
        return FrontError(-1003, lim.weight.limit, http=418, retry_after=lim.ban_left_s(now))
    return FrontError(code, *args, retry_after=retry_after)


async def handle(request: web.Request) -> web.StreamResponse:
    front = request.app[FRONT]
    now = front.clock()
    ep = ENDPOINTS.get((request.method, request.path))
    api_key = request.headers.get("X-MBX-APIKEY")
    known = front.keys.get(api_key)
    lim = front.limits_for(known, request.remote or "?")
    try:
        if lim.banned_until > now:
            raise FrontError(-1003, lim.weight.limit, http=418, retry_after=lim.ban_left_s(now))
        if ep is None:
            raise FrontError(-1000, http=404)
        raw_body = ""
        if request.can_read_body:
            body = await request.read()
            if len(body) > front.venue.settings.max_frame_bytes:
                raise FrontError(-1130, "body")
            raw_body = body.decode("utf-8", "replace")
        raw_query = request.rel_url.raw_query_string
        params = _params(raw_query, raw_body)
        if not lim.weight.add(ep.weight(params), now):
            raise limit_error(front, lim, now, lim.weight.retry_after_s(now), -1003, lim.weight.limit)
        key: BinanceKey | None = None
        if ep.security == SIGNED:
            key = verify_rest(front.keys, api_key, raw_query, raw_body, params, now // 1_000_000)
        elif ep.security == USER_STREAM:
            key = front.keys.require(api_key)
        if ep.orders:
            for win in (lim.orders_10s, lim.orders_1m):
                if not win.add(1, now):
                    raise limit_error(front, lim, now, win.retry_after_s(now), -1015, f"{win.limit} orders")
        resp = _json(ep.fn(front, key, params, now))
    except FrontError as e:
        resp = _json(e.body, e.http)
        if e.retry_after is not None:
            resp.headers["Retry-After"] = str(e.retry_after)
    except Exception as e:  # a bug: never the client's data in the answer
        log.error("binance REST %s %s failed: %s", request.method, request.path, redact(repr(e)))
        resp = _json(
            {"code": -1000, "msg": f"An unknown error occurred while processing the request ({type(e).__name__})."}, 500
        )
    resp.headers["X-MBX-USED-WEIGHT-1M"] = str(lim.weight.used(now))
    if ep is not None and ep.orders:
        resp.headers["X-MBX-ORDER-COUNT-10S"] = str(lim.orders_10s.used(now))
        resp.headers["X-MBX-ORDER-COUNT-1M"] = str(lim.orders_1m.used(now))
    return resp
