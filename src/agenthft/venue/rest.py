"""The REST shell (aiohttp): accounts, keys, queries and REST order entry on top of `Venue`.

Every response carries X-RateLimit-Limit / -Remaining / -Reset (errors included: 401, malformed
HTTP, 5xx); over the limit the answer is 429 with Retry-After. Every error is JSON
`{"error": code, "message": text}`, and no error text echoes what the client sent in its
headers (aiohttp's own parser errors would: they are replaced, see `VenueRunner`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from agenthft.model import GridError, OrderStatus, OrderType, to_scaled
from agenthft.model.money import CASH_UNIT
from agenthft.protocol import rest as pr
from agenthft.ratelimit import TokenBucket
from agenthft.redact import redact
from agenthft.venue.core import AgentExists, MarketView, Venue
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
    "agent_exists": 409,
    "rate_limited": 429,
    "internal_error": 500,
}
log = logging.getLogger("agenthft.venue")
VENUE: web.AppKey[Venue] = web.AppKey("venue", Venue)
IP_BUCKETS: web.AppKey[dict[str, TokenBucket]] = web.AppKey("ip_buckets", dict)
REGISTER_BUCKETS: web.AppKey[dict[str, TokenBucket]] = web.AppKey("register_buckets", dict)
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
    except UnicodeDecodeError as e:
        raise ApiError("bad_request", f"invalid UTF-8 at byte {e.start}: JSON must be UTF-8") from None
    except RecursionError:
        raise ApiError("bad_request", "JSON nested too deeply") from None


def _ip_bucket(request: BaseRequest, buckets: dict[str, TokenBucket], per_min: float, burst: float) -> TokenBucket:
    ip = request.remote or "?"
    b = buckets.get(ip)
    if b is None:
        if len(buckets) > 100_000:  # bounded: forget idle sources rather than grow without end
            buckets.clear()
        b = buckets[ip] = TokenBucket(per_min / 60, burst, time.time_ns())
    return b


def _limit_headers(resp: web.StreamResponse, bucket: TokenBucket, now: int) -> web.StreamResponse:
    resp.headers["X-RateLimit-Limit"] = str(int(bucket.capacity))
    resp.headers["X-RateLimit-Remaining"] = str(bucket.remaining(now))
    resp.headers["X-RateLimit-Reset"] = str(bucket.reset_s(now))
    return resp


def _public_bucket(app: web.Application, request: BaseRequest) -> TokenBucket:
    tier = app[VENUE].config.tier("default")
    return _ip_bucket(request, app[IP_BUCKETS], tier.rest_per_min, tier.rest_burst)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    venue = request.app[VENUE]
    now = time.time_ns()
    public = (request.method, request.path) in PUBLIC
    bucket: TokenBucket
    if public:
        bucket = _public_bucket(request.app, request)
    else:
        auth = request.headers.get("Authorization", "")
        text = auth[7:] if auth.lower().startswith("bearer ") else request.headers.get("X-API-Key", "")
        key = venue.keys.authenticate(text) if text else None
        if key is None:  # unauthenticated requests spend the source's public budget
            bucket = _public_bucket(request.app, request)
            if not bucket.take(now):
                return _too_many(bucket, now)
            return _limit_headers(
                _json({"error": "unauthorized", "message": "missing or invalid API key"}, 401), bucket, now
            )
        request[KEY] = key
        bucket = venue.limits(key, now).rest

    if not bucket.take(now):
        return _too_many(bucket, now)
    try:
        return _limit_headers(await handler(request), bucket, now)
    except ApiError as e:
        body = {"error": e.code, "message": e.message, **e.extra}
        return _limit_headers(_json(body, STATUS.get(e.code, 400)), bucket, now)
    except web.HTTPException as e:
        code = "not_found" if e.status == 404 else "method_not_allowed" if e.status == 405 else "bad_request"
        return _limit_headers(_json({"error": code, "message": e.reason}, e.status), bucket, now)
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as e:  # a bug, never the client's data in the answer or the log
        log.error("REST %s %s failed: %s", request.method, request.path, redact(repr(e)))
        body = {"error": "internal_error", "message": f"the venue failed on this request: {type(e).__name__}"}
        return _limit_headers(_json(body, 500), bucket, now)


def _too_many(bucket: TokenBucket, now: int) -> web.StreamResponse:
    resp = _json({"error": "rate_limited", "message": f"over {bucket.per_second * 60:g} requests/min"}, 429)
    resp.headers["Retry-After"] = str(bucket.retry_after_s(now))
    return _limit_headers(resp, bucket, now)


class _Handler(RequestHandler):
    """aiohttp's connection handler with its error page replaced: for a request its parser
    refused (headers over 8 KiB, a bad request line ...) aiohttp answers text that quotes the
    offending bytes, an `Authorization` header included, and logs it with a traceback. Here the
    answer is a JSON error with the source's rate-limit headers, and the log line is redacted."""

    venue_app: web.Application

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        log.debug("REST request refused (%d): %s", status, redact(repr(exc)) if exc else "")
        if status >= 500:
            body = {"error": "internal_error", "message": "the venue failed on this request"}
        else:
            body = {"error": "bad_request", "message": "malformed HTTP request (a header or line too long, or invalid)"}
        resp = _json(body, status)
        resp.force_close()
        try:
            return _limit_headers(resp, _public_bucket(self.venue_app, request), time.time_ns())
        except Exception:
            return resp


class _Server(web.Server):
    def __init__(self, app: web.Application, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._venue_app = app

    def __call__(self) -> RequestHandler:
        handler = _Handler(self, loop=self._loop, **self._kwargs)
        handler.venue_app = self._venue_app
        return handler


class VenueRunner(web.AppRunner):
    """An AppRunner whose connections use `_Handler` (no request bytes in error pages)."""

    async def _make_server(self) -> web.Server:
        app = self.app
        loop = asyncio.get_running_loop()
        app._set_loop(loop)
        app.on_startup.freeze()
        await app.startup()
        app.freeze()
        kwargs = dict(self._kwargs)
        kwargs.setdefault("access_log_class", AccessLogger)
        return _Server(app, app._handle, request_factory=app._make_request, loop=loop, **kwargs)


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok", "venue": request.app[VENUE].settings.name, "ts_ns": time.time_ns()})


async def register(request: web.Request) -> web.Response:
    """A new agent's account and first key. No credentials are needed, so an existing agent id
    is refused (409) and each source may register only `register_per_min` times a minute."""
    venue = request.app[VENUE]
    now = time.time_ns()
    per_min = venue.settings.register_per_min
    if not _ip_bucket(request, request.app[REGISTER_BUCKETS], per_min, per_min).take(now):
        raise ApiError("rate_limited", f"over {per_min:g} registrations per minute from this address")
    body: pr.Register = await _body(request, pr.Register)
    try:
        text, account, key = venue.register(body.agent_id, now)
    except AgentExists as e:
        raise ApiError("agent_exists", str(e)) from None
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


def _since_ns(request: web.Request) -> int:
    try:
        return int(request.query.get("since_ns", "0"))
    except ValueError:
        raise ApiError("bad_request", "since_ns must be an integer") from None


async def fills(request: web.Request) -> web.Response:
    key = _need(request, "read")
    return _json(request.app[VENUE].fills(key.account_id, _since_ns(request)))


async def account_state(request: web.Request) -> web.Response:
    """Open orders and fills at one instant: what a client reconciles against."""
    key = _need(request, "read")
    return _json({**request.app[VENUE].account_state(key.account_id, _since_ns(request)), "ts_ns": time.time_ns()})


async def limits(request: web.Request) -> web.Response:
    key = _need(request, "read")
    return _json(request.app[VENUE].key_limits(key))


async def rest_order(request: web.Request) -> web.Response:
    key = _need(request, "trade")
    venue = request.app[VENUE]
    now = time.time_ns()
    body: pr.RestOrder = await _body(request, pr.RestOrder)
    try:
        otype = OrderType(body.type)
    except ValueError:
        raise ApiError("bad_request", "type must be limit, market, ioc or post_only") from None
    qty: Any = body.qty
    if body.qty is None and body.qty_usd is not None:  # sized here, then the one order-entry path
        view = venue.market(body.market)
        if view is None:
            raise ApiError("unknown_market", f"no market {body.market!r}")
        qty = _usd_lots(venue, view, body, otype)
    elif body.qty is None:
        raise ApiError("bad_request", "give qty or qty_usd")
    out = venue.place(key, body.client_id, body.market, body.side, qty, body.price, otype, now_ns=now)
    if not out.ok:
        raise ApiError(out.code, out.reason, {"status": "rejected", "order_id": body.client_id})
    view = venue.views[out.market]
    avg = out.avg_ticks()
    status = (
        "filled" if out.status is OrderStatus.FILLED else "cancelled" if out.status is OrderStatus.CANCELLED else "open"
    )
    return _json(
        pr.RestOrderResult(
            status,
            body.client_id,
            out.venue_order_id,
            view.qty(out.filled),
            None if avg is None else round(avg * view.tick_f, view.tick_dec + 4),
            view.qty(out.remaining),
            out.fees / float(CASH_UNIT),
        )
    )


def _usd_lots(venue: Venue, view: MarketView, body: pr.RestOrder, otype: OrderType) -> str:
    """`qty_usd` as a quantity on the lot grid (rounded down), sized against the limit price or
    the best opposite price."""
    grid = view.inst.grid
    m = venue.engine.markets[view.name]
    try:
        price = None if otype is OrderType.MARKET or body.price is None else grid.price_to_ticks(body.price)
        ref = price or (m.asks.best_price() if body.side.value == "buy" else m.bids.best_price())
        if ref is None:
            raise ApiError("bad_request", "qty_usd needs a price or liquidity to size against")
        usd = to_scaled(body.qty_usd, 8)  # type: ignore[arg-type]  # the edge grammar: no NaN, infinities or 1e999
    except GridError as e:
        raise ApiError(e.code if e.code != "bad_number" else "bad_qty", str(e)) from None
    if usd <= 0:
        raise ApiError("bad_qty", f"qty_usd must be positive, got {body.qty_usd!r}")
    # lots = usd / (ref ticks x tick x lot), in integers: tick x lot = units / 10**decimals
    unit = ref * grid.tick_units * grid.lot_units
    return grid.lots_to_qty(usd * 10 ** (grid.tick_decimals + grid.lot_decimals) // (unit * 10**8))


async def rest_cancel(request: web.Request) -> web.Response:
    key = _need(request, "trade")
    venue = request.app[VENUE]
    client_id = request.match_info["client_id"]
    out = venue.cancel(key, client_id, now_ns=time.time_ns())
    if not out.ok:
        if out.code == "unknown_order":
            raise ApiError("unknown_order", f"no open order {client_id!r}")
        raise ApiError(out.code, out.reason)
    view = venue.views[out.market]
    return _json({"status": "cancelled", "order_id": client_id, "remaining_qty": view.qty(out.cancelled)})


def build_app(venue: Venue) -> web.Application:
    app = web.Application(middlewares=[middleware], client_max_size=venue.settings.max_frame_bytes)
    app[VENUE] = venue
    app[IP_BUCKETS] = {}
    app[REGISTER_BUCKETS] = {}
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
