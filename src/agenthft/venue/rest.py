"""The REST shell (aiohttp): accounts, keys, queries and REST order entry on top of `Venue`.

Every response carries X-RateLimit-Limit / -Remaining / -Reset; over the limit the answer is
429 with Retry-After. Errors are `{"error": code, "message": text}`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from agenthft.matching import Fill, Rejected
from agenthft.model import GridError, OrderType
from agenthft.protocol import rest as pr
from agenthft.ratelimit import TokenBucket
from agenthft.venue.core import Venue
from agenthft.venue.keys import ApiKey

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = {("GET", "/health"), ("POST", "/api/v1/register")}
STATUS = {
    "bad_request": 400,
    "bad_price": 400,
    "bad_qty": 400,
    "unauthorized": 401,
    "insufficient_balance": 402,
    "forbidden": 403,
    "position_limit": 403,
    "unknown_market": 404,
    "unknown_order": 404,
    "not_found": 404,
    "duplicate_order_id": 409,
    "rate_limited": 429,
}
VENUE: web.AppKey[Venue] = web.AppKey("venue", Venue)
IP_BUCKETS: web.AppKey[dict[str, TokenBucket]] = web.AppKey("ip_buckets", dict)
KEY: web.RequestKey[ApiKey] = web.RequestKey("key", ApiKey)


class ApiError(Exception):
    def __init__(self, code: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(obj), status=status, content_type="application/json")


def _key(request: web.Request) -> ApiKey:
    return request[KEY]


def _need(request: web.Request, scope: str) -> ApiKey:
    key = _key(request)
    if not key.can(scope):
        raise ApiError("forbidden", f"this key lacks the {scope!r} scope")
    return key


async def _body(request: web.Request, typ: type[Any]) -> Any:
    raw = await request.read()
    if len(raw) > request.app[VENUE].settings.max_frame_bytes:
        raise ApiError("bad_request", f"body over {request.app[VENUE].settings.max_frame_bytes} bytes")
    try:
        return msgspec.json.decode(raw or b"{}", type=typ)
    except msgspec.DecodeError as e:
        raise ApiError("bad_request", str(e)) from None


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    venue = request.app[VENUE]
    now = time.time_ns()
    public = (request.method, request.path) in PUBLIC
    bucket: TokenBucket
    if public:
        ip = request.remote or "?"
        buckets = request.app[IP_BUCKETS]
        tier = venue.config.tier("default")
        bucket = buckets.get(ip) or buckets.setdefault(ip, TokenBucket(tier.rest_per_min / 60, tier.rest_burst, now))
    else:
        auth = request.headers.get("Authorization", "")
        text = auth[7:] if auth.lower().startswith("bearer ") else request.headers.get("X-API-Key", "")
        key = venue.keys.authenticate(text) if text else None
        if key is None:
            return _json({"error": "unauthorized", "message": "missing or invalid API key"}, 401)
        request[KEY] = key
        bucket = venue.limits(key, now).rest

    def headers(resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers["X-RateLimit-Limit"] = str(int(bucket.capacity))
        resp.headers["X-RateLimit-Remaining"] = str(bucket.remaining(now))
        resp.headers["X-RateLimit-Reset"] = str(bucket.reset_s(now))
        return resp

    if not bucket.take(now):
        resp = _json({"error": "rate_limited", "message": f"over {bucket.per_second * 60:g} requests/min"}, 429)
        resp.headers["Retry-After"] = str(bucket.retry_after_s(now))
        return headers(resp)
    try:
        return headers(await handler(request))
    except ApiError as e:
        return headers(_json({"error": e.code, "message": e.message, **e.extra}, STATUS.get(e.code, 400)))
    except web.HTTPException as e:
        return headers(
            _json({"error": "not_found" if e.status == 404 else "bad_request", "message": e.reason}, e.status)
        )


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok", "venue": request.app[VENUE].settings.name, "ts_ns": time.time_ns()})


async def register(request: web.Request) -> web.Response:
    body: pr.Register = await _body(request, pr.Register)
    text, account, key = request.app[VENUE].register(body.agent_id, time.time_ns())
    return _json(pr.Registered(text, account, body.agent_id, key.key_id))


def _key_info(k: ApiKey) -> pr.KeyInfo:
    return pr.KeyInfo(k.key_id, list(k.scopes), k.label, k.tier, k.cancel_on_disconnect, k.created_ns)


async def create_key(request: web.Request) -> web.Response:
    key = _need(request, "trade")
    body: pr.NewKey = await _body(request, pr.NewKey)
    try:
        text, rec = request.app[VENUE].keys.create(
            key.account_id,
            tuple(body.scopes),
            key.tier,
            body.label,
            body.cancel_on_disconnect,
            time.time_ns(),
        )
    except ValueError as e:
        raise ApiError("bad_request", str(e)) from None
    request.app[VENUE].log_key(rec)
    info = _key_info(rec)
    return _json(pr.NewKeyResult(**msgspec.structs.asdict(info), api_key=text))


async def list_keys(request: web.Request) -> web.Response:
    key = _need(request, "read")
    return _json([_key_info(k) for k in request.app[VENUE].keys.of_account(key.account_id)])


async def delete_key(request: web.Request) -> web.Response:
    key = _need(request, "trade")
    if not request.app[VENUE].delete_key(key.account_id, request.match_info["key_id"]):
        raise ApiError("not_found", "no such key on this account")
    return _json({"deleted": request.match_info["key_id"]})


async def markets(request: web.Request) -> web.Response:
    _need(request, "read")
    return _json(request.app[VENUE].markets())


async def book(request: web.Request) -> web.Response:
    _need(request, "read")
    venue = request.app[VENUE]
    view = venue.market(request.match_info["market"])
    if view is None:
        raise ApiError("unknown_market", f"no market {request.match_info['market']!r}")
    try:
        depth = int(request.query.get("depth", "20"))
    except ValueError:
        raise ApiError("bad_request", "depth must be an integer") from None
    if not 0 <= depth <= 1000:
        raise ApiError("bad_request", "depth must be 0..1000 (0 = all)")
    return _json(venue.book(view, depth, time.time_ns()))


async def balance(request: web.Request) -> web.Response:
    key = _need(request, "read")
    return _json({"account_id": key.account_id, "balances": request.app[VENUE].balances(key.account_id)})


async def positions(request: web.Request) -> web.Response:
    key = _need(request, "read")
    return _json({"account_id": key.account_id, "positions": request.app[VENUE].positions(key.account_id)})


async def orders(request: web.Request) -> web.Response:
    key = _need(request, "read")
    venue = request.app[VENUE]
    status = request.query.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise ApiError("bad_request", "status must be open, closed or all")
    out = [] if status == "closed" else venue.open_orders(key.account_id)
    if status != "open":
        out += venue.finished_orders(key.account_id)
    return _json(out)


async def fills(request: web.Request) -> web.Response:
    key = _need(request, "read")
    try:
        since = int(request.query.get("since_ns", "0"))
    except ValueError:
        raise ApiError("bad_request", "since_ns must be an integer") from None
    return _json(request.app[VENUE].fills(key.account_id, since))


async def account_state(request: web.Request) -> web.Response:
    """Open orders and fills at one instant: what a client reconciles against."""
    key = _need(request, "read")
    try:
        since = int(request.query.get("since_ns", "0"))
    except ValueError:
        raise ApiError("bad_request", "since_ns must be an integer") from None
    return _json({**request.app[VENUE].account_state(key.account_id, since), "ts_ns": time.time_ns()})


async def limits(request: web.Request) -> web.Response:
    key = _need(request, "read")
    return _json(request.app[VENUE].key_limits(key))


async def rest_order(request: web.Request) -> web.Response:
    key = _need(request, "trade")
    venue = request.app[VENUE]
    now = time.time_ns()
    body: pr.RestOrder = await _body(request, pr.RestOrder)
    if not venue.limits(key, now).orders.take(now):
        raise ApiError("rate_limited", "over the order rate for this key")
    view = venue.market(body.market)
    if view is None:
        raise ApiError("unknown_market", f"no market {body.market!r}")
    try:
        otype = OrderType(body.type)
    except ValueError:
        raise ApiError("bad_request", "type must be limit, market, ioc or post_only") from None
    grid = view.inst.grid
    engine = venue.engine
    m = engine.markets[view.name]
    try:
        price = None if otype is OrderType.MARKET or body.price is None else grid.price_to_ticks(body.price)
        if body.qty is not None:
            qty = grid.qty_to_lots(body.qty)
        elif body.qty_usd is not None:
            ref = price or (m.asks.best_price() if body.side.value == "buy" else m.bids.best_price())
            if ref is None:
                raise ApiError("bad_request", "qty_usd needs a price or liquidity to size against")
            qty = int(float(body.qty_usd) / (ref * view.tick_f * view.lot_f))
        else:
            raise ApiError("bad_request", "give qty or qty_usd")
    except GridError as e:
        raise ApiError(e.code, str(e)) from None
    o = engine.submit(key.account_id, body.client_id, view.name, body.side, qty, price, otype, 0, now)
    mine = [
        e
        for e in engine.events
        if getattr(e, "order_id", None) == body.client_id and getattr(e, "account", None) == key.account_id
    ]
    rejected = next((e for e in mine if isinstance(e, Rejected)), None)
    my_fills = [e for e in mine if isinstance(e, Fill)]
    venue._publish(now)
    if rejected is not None or o is None:
        code, reason = (rejected.code, rejected.reason) if rejected else ("bad_request", "rejected")
        raise ApiError(code, reason, {"status": "rejected", "order_id": body.client_id})
    filled = sum(f.qty for f in my_fills)
    avg = sum(f.price * f.qty for f in my_fills) / filled if filled else None
    status = "filled" if o.filled == o.qty else "cancelled" if o.cancelled else "open"
    return _json(
        pr.RestOrderResult(
            status,
            body.client_id,
            o.oid,
            view.qty(filled),
            None if avg is None else round(avg * view.tick_f, view.tick_dec + 4),
            view.qty(o.remaining),
            sum(f.fee for f in my_fills) / 1e12,
        )
    )


async def rest_cancel(request: web.Request) -> web.Response:
    key = _need(request, "trade")
    venue = request.app[VENUE]
    now = time.time_ns()
    if not venue.limits(key, now).cancels.take(now):
        raise ApiError("rate_limited", "over the cancel rate for this key")
    client_id = request.match_info["client_id"]
    o = venue.engine.order(key.account_id, client_id)
    if o is None:
        venue.engine.cancel(key.account_id, client_id, now)  # emits the cancel_reject to WS sessions too
        venue._publish(now)
        raise ApiError("unknown_order", f"no open order {client_id!r}")
    remaining = o.remaining
    venue.engine.cancel(key.account_id, client_id, now)
    venue._publish(now)
    return _json({"status": "cancelled", "order_id": client_id, "remaining_qty": venue.views[o.market].qty(remaining)})


def build_app(venue: Venue) -> web.Application:
    app = web.Application(middlewares=[middleware], client_max_size=venue.settings.max_frame_bytes)
    app[VENUE] = venue
    app[IP_BUCKETS] = {}
    r = app.router
    r.add_get("/health", health)
    r.add_post("/api/v1/register", register)
    r.add_post("/api/v1/keys", create_key)
    r.add_get("/api/v1/keys", list_keys)
    r.add_delete("/api/v1/keys/{key_id}", delete_key)
    r.add_get("/api/v1/markets", markets)
    r.add_get("/api/v1/book/{market}", book)
    r.add_get("/api/v1/balance", balance)
    r.add_get("/api/v1/positions", positions)
    r.add_get("/api/v1/orders", orders)
    r.add_get("/api/v1/fills", fills)
    r.add_get("/api/v1/state", account_state)
    r.add_get("/api/v1/limits", limits)
    r.add_post("/trading/orders", rest_order)
    r.add_delete("/trading/orders/{client_id}", rest_cancel)
    return app
