"""The control plane as an MCP server, on the official `mcp` SDK: the same `ControlPlane`
methods as tools (async: they run on the agent's loop thread, never in the SDK's worker
threads, because the agent's state and sockets belong to that thread), over streamable HTTP (in
the agent's process and loop, `Authorization: Bearer TOKEN` on every request; a read-only
token's actions are refused) or over stdio (the client launched the agent: the process owner
acts as the `stdio` token)."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from agenthft.control.plane import ControlError, ControlPlane, Token

INSTRUCTIONS = """agenthft runs high-frequency trading strategies for you in a fast loop with risk
controls in code; `status` names them (one or a desk of several, each on one or more venues).
Read with status, positions, pnl, open_orders, latency, risk_events, signal_alerts, audit. Act
with set_limits (risk thresholds, effective at once), kill (cancel everything and halt), resume
(only after a halt, only by asking), stop_strategy / start_strategy, set_params, run_backtest.
Actions take an optional `strategy` (kill, resume, set_limits: all when left out; the others need
it when several run). Every action is audited with your token's name."""


def make_server(plane: ControlPlane, stdio_token: Token | None = None) -> MCPServer[Any]:
    # WARNING: the SDK configures the root logger at this level; INFO would log every request
    mcp: MCPServer[Any] = MCPServer("agenthft", instructions=INSTRUCTIONS, log_level="WARNING")

    def who(ctx: Context) -> Token:
        request = ctx.request_context.request
        if request is None:
            if stdio_token is None:
                raise PermissionError("no token")
            return stdio_token
        header = request.headers.get("authorization", "")
        token = plane.who(header[7:] if header.startswith("Bearer ") else None)
        if token is None:
            raise PermissionError("unauthorized: Authorization: Bearer TOKEN")
        return token

    def act(fn: Any, *args: Any) -> dict[str, Any]:
        try:
            out: dict[str, Any] = fn(*args)
            return out
        except (ControlError, PermissionError) as e:
            return {"error": str(e)}

    @mcp.tool(description="per strategy: running, parameters, and per venue connection, risk state and limits")
    async def status(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return plane.status()

    @mcp.tool(description="per strategy: net positions by VENUE:MARKET, decimals")
    async def positions(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return plane.positions()

    @mcp.tool(description="realized, unrealized, fees and P&L after fees: per strategy and venue, and total")
    async def pnl(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return plane.pnl()

    @mcp.tool(description="the agent's open orders")
    async def open_orders(ctx: Context) -> list[dict[str, Any]]:
        who(ctx)
        return plane.open_orders()

    @mcp.tool(description="latency percentiles (tick-to-trade, ack RTT, fill latency, ping) from the telemetry")
    async def latency(ctx: Context) -> dict[str, Any]:
        who(ctx)
        return plane.latency()

    @mcp.tool(description="risk events: counts by reason and the latest ones")
    async def risk_events(ctx: Context, limit: int = 50) -> dict[str, Any]:
        who(ctx)
        return plane.risk_events(limit)

    @mcp.tool(description="microstructure alerts (spoof, absorption, iceberg, cancel cascade)")
    async def signal_alerts(ctx: Context, limit: int = 50) -> list[dict[str, Any]]:
        who(ctx)
        return plane.signal_alerts(limit)

    @mcp.tool(description="the audit trail of control actions")
    async def audit(ctx: Context, limit: int = 50) -> list[dict[str, Any]]:
        who(ctx)
        return plane.audit(limit)

    @mcp.tool(
        description="set risk limits, e.g. {'max_order_notional': '100'}; validated, effective at once; "
        "every strategy and venue unless named"
    )
    async def set_limits(
        ctx: Context, limits: dict[str, Any], strategy: str | None = None, venue: str | None = None
    ) -> dict[str, Any]:
        return act(lambda: plane.set_limits(who(ctx), limits, venue, strategy))

    @mcp.tool(description="kill switch: cancel every order on every venue and halt (all strategies unless named)")
    async def kill(ctx: Context, reason: str = "", strategy: str | None = None) -> dict[str, Any]:
        return act(lambda: plane.kill(who(ctx), reason, strategy))

    @mcp.tool(description="resume trading after a halt (explicit; never automatic; all unless named)")
    async def resume(ctx: Context, strategy: str | None = None) -> dict[str, Any]:
        return act(lambda: plane.resume(who(ctx), strategy))

    @mcp.tool(description="stop a strategy (and cancel its orders unless cancel_orders is false)")
    async def stop_strategy(ctx: Context, strategy: str | None = None, cancel_orders: bool = True) -> dict[str, Any]:
        return act(lambda: plane.stop_strategy(who(ctx), strategy, cancel_orders))

    @mcp.tool(description="start a stopped strategy again")
    async def start_strategy(ctx: Context, strategy: str | None = None) -> dict[str, Any]:
        return act(lambda: plane.start_strategy(who(ctx), strategy))

    @mcp.tool(description="set a strategy's parameters, e.g. {'half_spread': 3}; validated; orders re-placed")
    async def set_params(ctx: Context, params: dict[str, Any], strategy: str | None = None) -> dict[str, Any]:
        return act(lambda: plane.set_params(who(ctx), params, strategy))

    @mcp.tool(description="run a backtest: {strategy, params, scenario|data, seconds, latency, seed}")
    async def run_backtest(ctx: Context, spec: dict[str, Any]) -> dict[str, Any]:
        try:
            return await plane.run_backtest_async(who(ctx), spec)
        except (ControlError, PermissionError, ValueError) as e:
            return {"error": str(e)}

    return mcp


async def serve_http(plane: ControlPlane, host: str = "127.0.0.1", port: int = 0) -> tuple[Any, str]:
    """Streamable HTTP on the running loop (uvicorn); returns (server, URL of the /mcp endpoint)."""
    import socket

    import uvicorn

    app = make_server(plane).streamable_http_app()
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


async def serve_stdio(plane: ControlPlane, token: Token) -> None:
    await make_server(plane, stdio_token=token).run_stdio_async()
