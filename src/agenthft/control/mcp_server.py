"""The control plane as an MCP server, on the official `mcp` SDK: the same plane
methods as tools (async: they run on the agent's loop thread, never in the SDK's worker
threads, because the agent's state and sockets belong to that thread).

The door:
- streamable HTTP (in the agent's process and loop): every request carries
  `Authorization: Bearer TOKEN`; a missing or unknown token is refused with HTTP 401 before any
  MCP session exists (`require_token`), with a JSON-RPC error the SDK's client raises as one line;
- stdio (the client launched the agent): the token was given at start (`agenthft run
  --mcp-stdio` takes it from `AGENTHFT_TOKEN`; see cli/run.py), and a wrong one never starts;
- a read-only token is shown only the read tools (`tools/list` leaves the actions out) and an
  action called anyway is refused with a one-line error, audited (`_Door`);
- no traceback reaches a client: anticipated failures are one-line tool errors, and anything
  else is logged on one line and answered `internal error: TYPE`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ListToolsResult, TextContent
from pydantic import Field

from agenthft.control.plane import BasePlane, ControlError, Token, settle
from agenthft.control.research import ResearchError
from agenthft.redact import redact
from agenthft.strategies.loader import StrategyError

log = logging.getLogger("agenthft.control")

#: The tools that act (a read-only token never sees them); every other tool reads.
ACTIONS = frozenset({"set_limits", "kill", "resume", "stop_strategy", "start_strategy", "set_params", "run_backtest"})
UNAUTHORIZED = -32001  # JSON-RPC server error: no or unknown bearer token

INSTRUCTIONS = """agenthft runs high-frequency trading strategies for you in a fast loop with risk
controls in code; `status` names them (one or a desk of several, each on one or more venues).
Read with status, positions, pnl, open_orders, latency, risk_events, signal_alerts, audit.
Research, then deploy: list_strategies (each strategy's typed parameters), list_data (recorded
data to backtest on: each set's id and markets), run_backtest (on data or a simulated scenario;
a list of values for a parameter is a sweep; progress is reported; each run's summary and the
path of its HTML report), start_strategy with `run` (a new strategy on the venue, next to the
running ones), stop_strategy. Act with set_limits (risk thresholds, effective at once), kill
(cancel everything and halt), resume (only after a halt, only by asking), set_params. Actions
take an optional `strategy` (kill, resume, set_limits: all when left out; the others need it
when several run). Every action is audited with your token's name; a read-only token sees only
the read tools."""

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_OPTIONS = (
    "recorded data only: queue (L2 queue model), fees ('MAKER,TAKER'), instrument, funding ('RATE@HOURS'), ts_unit"
)


def _one_line(fn: F) -> F:
    """A tool whose failures reach the client as one line: anticipated ones with their message,
    anything else as `internal error: TYPE` (the detail logged here on one line, redacted)."""

    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except (ControlError, PermissionError, ResearchError, StrategyError) as e:
            raise ToolError(str(e)) from None
        except Exception as e:
            log.error("MCP tool %s failed: %s", fn.__name__, redact(repr(e)))
            raise ToolError(f"internal error: {type(e).__name__} (logged by the agent)") from None

    return tool  # type: ignore[return-value]


async def _dict(answer: Any) -> dict[str, Any]:
    out: dict[str, Any] = await settle(answer)
    return out


async def _list(answer: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = await settle(answer)
    return out


def _token(plane: BasePlane, request: Any, stdio_token: Token | None) -> Token | None:
    if request is None:  # stdio: no request, the token given at start
        return stdio_token
    header = request.headers.get("authorization", "")
    return plane.who(header[7:] if header.startswith("Bearer ") else None)


class _Door:
    """The SDK's server middleware: a read-only token's `tools/list` has no actions, and an
    action it calls anyway is refused (audited) before the tool runs."""

    def __init__(self, plane: BasePlane, stdio_token: Token | None) -> None:
        self.plane, self.stdio_token = plane, stdio_token

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = _token(self.plane, ctx.request, self.stdio_token)
        if token is None:  # the HTTP door refused it already; stdio always has its token
            raise MCPError(UNAUTHORIZED, "unauthorized: Authorization: Bearer TOKEN required")
        if not token.read_only:
            return await call_next(ctx)
        if ctx.method == "tools/call":
            name = (ctx.params or {}).get("name")
            if name in ACTIONS:
                text = self.plane.refuse(token, str(name))
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        result = await call_next(ctx)
        if ctx.method == "tools/list":  # the handler's result, as a model or already serialized
            if isinstance(result, ListToolsResult):
                result.tools = [t for t in result.tools if t.name not in ACTIONS]
            elif isinstance(result, dict) and isinstance(result.get("tools"), list):
                result["tools"] = [t for t in result["tools"] if t.get("name") not in ACTIONS]
        return result


def make_server(plane: BasePlane, stdio_token: Token | None = None) -> MCPServer[Any]:
    # WARNING: the SDK configures the root logger at this level; INFO would log every request
    mcp: MCPServer[Any] = MCPServer(
        "agenthft", instructions=INSTRUCTIONS, log_level="WARNING", middleware=[_Door(plane, stdio_token)]
    )

    def who(ctx: Context) -> Token:
        token = _token(plane, ctx.request_context.request, stdio_token)
        if token is None:
            raise PermissionError("unauthorized: Authorization: Bearer TOKEN required")
        return token

    def progress(ctx: Context) -> Callable[[float, float, str], Awaitable[None]]:
        async def report(done: float, total: float, message: str) -> None:
            await ctx.report_progress(done, total, message)

        return report

    # --- reads ------------------------------------------------------------------------------------
    @mcp.tool(description="per strategy: running, parameters, and per venue connection, risk state and limits")
    @_one_line
    async def status(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return await _dict(plane.status())

    @mcp.tool(description="per strategy: net positions by VENUE:MARKET, decimals")
    @_one_line
    async def positions(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return await _dict(plane.positions())

    @mcp.tool(description="realized, unrealized, fees and P&L after fees: per strategy and venue, and total")
    @_one_line
    async def pnl(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return await _dict(plane.pnl())

    @mcp.tool(description="the agent's open orders")
    @_one_line
    async def open_orders(ctx: Context) -> list[dict[str, Any]]:
        who(ctx)
        return await _list(plane.open_orders())

    @mcp.tool(description="latency percentiles (tick-to-trade, ack RTT, fill latency, ping) from the telemetry")
    @_one_line
    async def latency(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return await _dict(plane.latency())

    @mcp.tool(description="risk events: counts by reason, the venue's rejects (faults, benign) and the latest events")
    @_one_line
    async def risk_events(ctx: Context, limit: int = 50) -> dict[str, Any]:
        who(ctx)
        return await _dict(plane.risk_events(limit))

    @mcp.tool(description="microstructure alerts (spoof, absorption, iceberg, cancel cascade)")
    @_one_line
    async def signal_alerts(ctx: Context, limit: int = 50) -> list[dict[str, Any]]:
        who(ctx)
        return await _list(plane.signal_alerts(limit))

    @mcp.tool(description="the audit trail of control actions")
    @_one_line
    async def audit(ctx: Context, limit: int = 50) -> list[dict[str, Any]]:
        who(ctx)
        return await _list(plane.audit(limit))

    @mcp.tool(
        description="the strategies you can backtest and start: name, what it does, its typed parameters "
        "(name, type, default, description); and the venues a new strategy can start on"
    )
    @_one_line
    async def list_strategies(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return await _dict(plane.strategies())

    @mcp.tool(
        description="recorded data you can backtest on, found by content under the data folders: shared "
        "captures, recordings and the columnar cache; each set's id (run_backtest's `data`), format, files, "
        "markets (names and aliases to use as a strategy's market), rows and seconds. A set decoded for the "
        "first time takes seconds (progress is reported); decode=false lists without decoding"
    )
    @_one_line
    async def list_data(ctx: Context, decode: bool = True) -> dict[str, Any]:
        who(ctx)
        sets = await plane.data(decode, progress(ctx))
        return {"data_dirs": [str(d) for d in plane.research.data_dirs], "sets": sets}

    # --- actions ----------------------------------------------------------------------------------
    @mcp.tool(
        description="set risk limits, e.g. {'max_order_notional': '100'}; validated, effective at once; "
        "every strategy and venue unless named"
    )
    @_one_line
    async def set_limits(
        ctx: Context, limits: dict[str, Any], strategy: str | None = None, venue: str | None = None
    ) -> dict[str, Any]:
        return await _dict(plane.set_limits(who(ctx), limits, venue, strategy))

    @mcp.tool(description="kill switch: cancel every order on every venue and halt (all strategies unless named)")
    @_one_line
    async def kill(ctx: Context, reason: str = "", strategy: str | None = None) -> dict[str, Any]:
        return await _dict(plane.kill(who(ctx), reason, strategy))

    @mcp.tool(description="resume trading after a halt (explicit; never automatic; all unless named)")
    @_one_line
    async def resume(ctx: Context, strategy: str | None = None) -> dict[str, Any]:
        return await _dict(plane.resume(who(ctx), strategy))

    @mcp.tool(description="stop a strategy (and cancel its orders unless cancel_orders is false)")
    @_one_line
    async def stop_strategy(ctx: Context, strategy: str | None = None, cancel_orders: bool = True) -> dict[str, Any]:
        return await _dict(plane.stop_strategy(who(ctx), strategy, cancel_orders))

    @mcp.tool(
        description="start a strategy: without `run`, a stopped one again (by name); with `run`, a new one "
        "named `strategy` running `run` (a name from list_strategies) with `params` on a venue (list_strategies' "
        "venues; the only one by default), its own sandbox account, the venue's risk limits in force"
    )
    @_one_line
    async def start_strategy(
        ctx: Context,
        strategy: Annotated[str | None, Field(description="the strategy's name (status); a new one's name")] = None,
        run: Annotated[str | None, Field(description="start a new strategy of this kind (list_strategies)")] = None,
        params: Annotated[dict[str, Any] | None, Field(description="the new strategy's parameters")] = None,
        venue: Annotated[str | None, Field(description="the venue to start it on (list_strategies)")] = None,
        key: Annotated[str | None, Field(description="an API key for a venue that registers no accounts")] = None,
    ) -> dict[str, Any]:
        token = who(ctx)
        if run is None:
            return await _dict(plane.start_strategy(token, strategy))
        return await plane.deploy(token, strategy or run, run, params, venue, key)

    @mcp.tool(description="set a strategy's parameters, e.g. {'half_spread': 3}; validated; orders re-placed")
    @_one_line
    async def set_params(ctx: Context, params: dict[str, Any], strategy: str | None = None) -> dict[str, Any]:
        return await _dict(plane.set_params(who(ctx), params, strategy))

    @mcp.tool(
        description="backtest a strategy in a worker process (the live loop keeps trading), with progress "
        "notifications; returns each run's summary (P&L after fees, orders, fills, rejects, positions ...), "
        "`report` (the path of its HTML report) and its results folder. On recorded data (`data`: an id from "
        "list_data) or a simulated `scenario`; a list of values for a parameter makes a sweep (<= 50 runs)"
    )
    @_one_line
    async def run_backtest(
        ctx: Context,
        strategy: Annotated[
            str | None, Field(description="a name from list_strategies (default: the running one)")
        ] = None,
        params: Annotated[
            dict[str, Any] | None, Field(description="parameters by name; a list of values for one is a sweep")
        ] = None,
        data: Annotated[
            str | list[str] | None, Field(description="recorded data: a set's id from list_data (or its files)")
        ] = None,
        scenario: Annotated[
            str | None, Field(description="instead of data, a simulated market: calm, lead-lag, crash ...")
        ] = None,
        seconds: Annotated[float, Field(description="simulated seconds (scenario only)")] = 10.0,
        seed: Annotated[int, Field(description="the scenario's and the latency model's seed")] = 1,
        latency: Annotated[
            str, Field(description="colocated | metal | vps | vps-remote | serverless, or FEED_US,ORDER_US,RESP_US")
        ] = "colocated",
        options: Annotated[dict[str, Any] | None, Field(description=_OPTIONS)] = None,
        risk: Annotated[dict[str, Any] | None, Field(description="risk limits (set_limits' fields)")] = None,
    ) -> dict[str, Any]:
        given = {"strategy": strategy, "params": params, "data": data, "scenario": scenario, "options": options}
        spec: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        spec |= {"seed": seed, "latency": latency} | ({"risk": risk} if risk is not None else {})
        if data is None:
            spec["seconds"] = seconds
        return await plane.backtest(who(ctx), spec, progress(ctx))

    return mcp


def require_token(app: Any, plane: BasePlane) -> Any:
    """The streamable HTTP app behind the door: a request without a known bearer token gets 401
    (and a JSON-RPC error the SDK's client raises with this message) and never reaches MCP."""
    message = "unauthorized: a known token is required (Authorization: Bearer TOKEN)"
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": UNAUTHORIZED, "message": message}}).encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
            if plane.who(header[7:] if header.startswith("Bearer ") else None) is None:
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="agenthft"'),
                ]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


async def serve_http(plane: BasePlane, host: str = "127.0.0.1", port: int = 0) -> tuple[Any, str]:
    """Streamable HTTP on the running loop (uvicorn); returns (server, URL of the /mcp endpoint)."""
    import socket

    import uvicorn

    app = require_token(make_server(plane).streamable_http_app(), plane)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # a client that keeps its connection open must not hold the agent's exit: 1 s grace, then closed
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    server._agenthft_task = task  # type: ignore[attr-defined]
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, f"http://{host}:{sock.getsockname()[1]}/mcp"


async def stop_http(server: Any) -> None:
    server.should_exit = True
    task = getattr(server, "_agenthft_task", None)
    if task is not None:
        await asyncio.wait_for(task, 10)


async def serve_stdio(plane: BasePlane, token: Token) -> None:
    """MCP on stdin/stdout for the process that launched the agent, as `token` (given at start)."""
    await make_server(plane, stdio_token=token).run_stdio_async()
