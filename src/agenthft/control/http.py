"""The control plane over HTTP: JSON in and out, `Authorization: Bearer TOKEN`; a read-only
token gets 403 on every action. Runs on the agent's own event loop (aiohttp), never on the hot
path: each request reads a snapshot or calls one plane method (answered in place by a
`ControlPlane`, awaited from a `DeskPlane` over strategy processes).

`GET /v1/snapshots` is the typed read a desk of processes aggregates: each strategy's
`AgentSnapshot` (runtime/snapshot.py), msgspec JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from agenthft.control.plane import BasePlane, ControlError, Token, settle

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PLANE = web.AppKey("plane", BasePlane)
TOKEN = web.RequestKey("token", Token)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    plane = request.app[PLANE]
    header = request.headers.get("Authorization", "")
    token = plane.who(header[7:] if header.startswith("Bearer ") else None)
    if token is None:
        return _json({"error": "unauthorized", "message": "Authorization: Bearer TOKEN required"}, 401)
    request[TOKEN] = token
    try:
        return await handler(request)
    except PermissionError as e:
        return _json({"error": "forbidden", "message": str(e)}, 403)
    except ControlError as e:
        return _json({"error": "bad_request", "message": str(e)}, 400)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def make_app(plane: BasePlane) -> web.Application:
    app = web.Application(middlewares=[_auth], client_max_size=64 * 1024)
    app[PLANE] = plane

    def get(path: str, fn: Callable[[], Any]) -> None:
        async def handler(request: web.Request) -> web.Response:
            return _json(await settle(fn()))

        app.router.add_get(path, handler)

    def post(path: str, fn: Callable[[Token, dict[str, Any]], Any]) -> None:
        async def handler(request: web.Request) -> web.Response:
            token = request[TOKEN]
            return _json(await settle(fn(token, await _body(request))))

        app.router.add_post(path, handler)

    get("/v1/status", plane.status)
    get("/v1/positions", plane.positions)
    get("/v1/pnl", plane.pnl)
    get("/v1/orders", plane.open_orders)
    get("/v1/latency", plane.latency)
    get("/v1/risk/events", plane.risk_events)
    get("/v1/signals", plane.signal_alerts)
    get("/v1/audit", plane.audit)

    async def view(request: web.Request) -> web.Response:
        text = request.query.get("levels", "3")
        if not text.isdigit() or not 1 <= int(text) <= 20:
            raise ControlError("'levels' must be a whole number from 1 to 20")
        return _json(await settle(plane.view(int(text))))

    async def snapshots(request: web.Request) -> web.Response:
        body = msgspec.json.encode(await settle(plane.agent_snapshots()))
        return web.Response(body=body, content_type="application/json")

    app.router.add_get("/v1/view", view)
    app.router.add_get("/v1/snapshots", snapshots)
    post("/v1/risk/limits", lambda t, b: plane.set_limits(t, _obj(b, "limits"), _name(b, "venue"), _name(b)))
    post("/v1/kill", lambda t, b: plane.kill(t, str(b.get("reason", "")), _name(b)))
    post("/v1/resume", lambda t, b: plane.resume(t, _name(b)))
    post("/v1/strategy/stop", lambda t, b: plane.stop_strategy(t, _name(b), _flag(b, "cancel_orders", True)))
    post("/v1/strategy/params", lambda t, b: plane.set_params(t, _obj(b, "params"), _name(b)))
    get("/v1/strategies", plane.strategies)

    async def data(request: web.Request) -> web.Response:
        decode = request.query.get("decode", "true")
        if decode not in ("true", "false"):
            raise ControlError("'decode' must be true or false")
        return _json(
            {"data_dirs": [str(d) for d in plane.research.data_dirs], "sets": await plane.data(decode == "true")}
        )

    async def start(request: web.Request) -> web.Response:
        body = await _body(request)
        run = _name(body, "run")
        if run is None:
            return _json(await settle(plane.start_strategy(request[TOKEN], _name(body))))
        params = _obj(body, "params") if "params" in body else {}
        name = _name(body) or run
        return _json(await plane.deploy(request[TOKEN], name, run, params, _name(body, "venue"), _name(body, "key")))

    async def backtest(request: web.Request) -> web.Response:
        return _json(await plane.backtest(request[TOKEN], await _body(request)))

    app.router.add_get("/v1/data", data)
    app.router.add_post("/v1/strategy/start", start)
    app.router.add_post("/v1/backtest", backtest)
    return app


def _name(body: dict[str, Any], key: str = "strategy") -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ControlError(f"'{key}' must be a string (a name from /v1/status)")
    return value


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise ControlError(f"'{key}' must be true or false")
    return value


def _obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise ControlError(f"'{key}' must be a JSON object of field -> value")
    return value


async def serve(plane: BasePlane, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Start the HTTP control plane; returns the runner (to clean up) and its base URL."""
    runner = web.AppRunner(make_app(plane), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server: Any = site._server
    sockets = server.sockets if server is not None else []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, f"http://{host}:{bound}"
