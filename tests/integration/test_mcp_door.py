"""The MCP door, with the SDK's own client against a real agent on the embedded venue: a wrong or
missing token is refused at connect (HTTP 401, no session); a read-only token sees only the read
tools and is refused an action; no traceback anywhere. Over stdio, the token given at start.
(`agent` is test_control_plane's fixture: a quoter trading on the embedded venue.)
Then the agent's first hour: research (strategies, data, a backtest on a shared capture, with
progress) and deploy (start the researched strategy on the venue, stop it)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.control import ControlPlane, Token, mcp_server
from agenthft.control.research import Research
from agenthft.runtime import Runner
from agenthft.venue import VenueServer, load_config

from . import test_control_plane
from .test_control_plane import FULL, RO, text, wait_for
from .test_control_plane import data as payload

agent = test_control_plane.agent  # its fixture: a quoter trading on the embedded venue

READS = {
    "status",
    "positions",
    "pnl",
    "open_orders",
    "latency",
    "risk_events",
    "signal_alerts",
    "audit",
    "list_strategies",
    "list_data",
}


@pytest.fixture
async def seat(agent: Any, tmp_path: Path) -> AsyncIterator[tuple[VenueServer, Runner, ControlPlane, str]]:
    """The quoter of test_control_plane's `agent` on the embedded venue's calm market, under a
    plane whose data folder is `tmp_path/data`, and its MCP URL."""
    srv, runner, _, _ = agent
    research = Research([tmp_path / "data"], tmp_path / "results")
    plane = ControlPlane(runner, {FULL: Token("supervisor"), RO: Token("watcher", read_only=True)}, research)
    server, url = await mcp_server.serve_http(plane)
    try:
        yield srv, runner, plane, url
    finally:
        await mcp_server.stop_http(server)
        await plane.close()


def mcp_errors(e: BaseException) -> list[MCPError]:
    """The MCPErrors inside what the SDK's client raised (it nests them in task groups)."""
    if isinstance(e, MCPError):
        return [e]
    if isinstance(e, BaseExceptionGroup):
        return [m for x in e.exceptions for m in mcp_errors(x)]
    return []


async def test_a_wrong_or_missing_token_is_refused_at_the_door(seat, capfd):
    _, runner, plane, url = seat
    for headers in ({"Authorization": "Bearer not-a-token"}, {}, {"Authorization": FULL}):
        http = httpx2.AsyncClient(headers=headers)
        with pytest.raises(ExceptionGroup) as refused:
            async with Client(streamable_http_client(url, http_client=http)) as c:
                await c.list_tools()
        (err,) = mcp_errors(refused.value)
        assert err.code == mcp_server.UNAUTHORIZED and err.error.message.startswith("unauthorized:"), err
    # the raw answer: 401 before any MCP session (no session id handed out)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    async with httpx2.AsyncClient() as raw:
        r = await raw.post(url, json=init, headers={"Accept": "application/json, text/event-stream"})
    assert r.status_code == 401 and "mcp-session-id" not in r.headers
    assert r.headers["www-authenticate"].startswith("Bearer") and r.json()["error"]["code"] == -32001
    assert runner.risk.state.value == "active" and plane.audit() == []
    out, err_text = capfd.readouterr()
    assert "Traceback" not in out + err_text, err_text


async def test_a_read_only_token_sees_only_read_tools_and_is_refused_actions(seat, capfd):
    _, runner, plane, url = seat
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {RO}"})
    async with Client(streamable_http_client(url, http_client=http)) as watcher:
        assert {t.name for t in (await watcher.list_tools()).tools} == READS
        assert "after_fees" in payload(await watcher.call_tool("pnl", {}))["total"]
        for action, args in (("kill", {}), ("set_limits", {"limits": {"max_open_orders": 1}}), ("run_backtest", {})):
            refused = await watcher.call_tool(action, args)  # not listed, called anyway
            assert refused.is_error
            assert text(refused) == f"token 'watcher' is read-only: {action} refused (it may read)"
    assert runner.risk.state.value == "active" and runner.risk.config.max_open_orders == 0
    assert [(a["who"], a["action"], a["args"]["action"]) for a in plane.audit()] == [
        ("watcher", "denied", "kill"),
        ("watcher", "denied", "set_limits"),
        ("watcher", "denied", "run_backtest"),
    ]
    full = httpx2.AsyncClient(headers={"Authorization": f"Bearer {FULL}"})
    async with Client(streamable_http_client(url, http_client=full)) as sup:
        tools = {t.name for t in (await sup.list_tools()).tools}
        assert tools == READS | mcp_server.ACTIONS
        bad = await sup.call_tool("set_params", {"params": {"half_spread": -1}})
        assert bad.is_error and len(text(bad).splitlines()) == 1 and "half_spread" in text(bad)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, err


async def test_over_stdio_the_token_is_given_at_start(tmp_path: Path):
    """`agenthft run ... --mcp-stdio --token S,ro` launched by the SDK's stdio client: a wrong
    AGENTHFT_TOKEN never starts (one line on the client's stderr); the read-only one gets a
    read-only seat. No traceback on the client's stderr either way."""
    srv = await VenueServer(load_config()).start()
    try:
        key, _, _ = srv.venue.register("stdio-supervised")
        args = ["-m", "agenthft.cli", "run", "quoter", "--venue", srv.ws_url, "--rest", srv.rest_url, "--key", key]
        args += ["--mcp-stdio", "--quiet", "--duration", "30", "--token", f"{RO},ro", "--token", FULL]
        env = {"PYTHONPATH": os.pathsep.join(sys.path)}

        async def seat(token: str | None, errlog: Any) -> set[str]:
            params = StdioServerParameters(
                command=sys.executable, args=args, env=env | ({"AGENTHFT_TOKEN": token} if token else {})
            )
            async with Client(stdio_client(params, errlog=errlog)) as c:
                tools = {t.name for t in (await c.list_tools()).tools}
                refused = await c.call_tool("kill", {})
                assert refused.is_error and "read-only" in text(refused)
                return tools

        for token, why in (("wrong", "AGENTHFT_TOKEN is not one of"), (None, "set AGENTHFT_TOKEN")):
            log = tmp_path / f"refused-{token}.txt"
            with open(log, "w") as errlog, pytest.raises(ExceptionGroup) as refused:
                await seat(token, errlog)
            assert [e.error.message for e in mcp_errors(refused.value)] == ["Connection closed"], "never served"
            said = log.read_text()
            assert why in said and len(said.strip().splitlines()) == 1 and "Traceback" not in said, said
        log = tmp_path / "read-only.txt"
        with open(log, "w") as errlog:
            assert await seat(RO, errlog) == READS
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        await srv.stop()


async def test_the_first_hour_research_then_deploy_over_mcp(seat, data: Path, tmp_path: Path):
    """List the strategies and the data, backtest the quoter on a shared capture (progress
    notified), read its summary and report; then start it on the embedded venue and stop it."""
    srv, _runner, plane, url = seat
    folder = tmp_path / "data" / "binance-usdm"
    folder.mkdir(parents=True)
    (folder / "btcusdt_20240808.gz").symlink_to(data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz")
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {FULL}"}, timeout=120)
    async with Client(streamable_http_client(url, http_client=http)) as ai:
        catalog = data_of(await ai.call_tool("list_strategies", {}))
        quoter = next(s for s in catalog["strategies"] if s["name"] == "quoter")
        params = {p["name"]: p for p in quoter["params"]}
        assert params["half_spread"]["type"] == "int" and params["market"]["default"] == "'BTC-PERP'"
        assert catalog["venues"] == ["venue"]
        listed = data_of(await ai.call_tool("list_data", {}))
        (capture,) = [s for s in listed["sets"] if s["kind"] != "cached"]  # the cache may hold others
        assert (capture["kind"], capture["format"], capture["backtestable"]) == ("capture", "binance", True)
        (market,) = capture["markets"]
        assert "BTC-PERP" in market["aliases"] and capture["rows"] > 400_000 and capture["seconds"] > 60

        notes: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            notes.append((progress, total, message))

        spec = {"strategy": "quoter", "params": {"market": "BTC-PERP", "half_spread": 3}, "data": capture["id"]}
        result = await ai.call_tool("run_backtest", spec, progress_callback=on_progress)
        assert not result.is_error, result.content
        (run,) = data_of(result)["runs"]
        summary = run["summary"]
        assert summary["orders"] > 100 and summary["fills"] > 10 and summary["strategy"] == "quoter"
        assert summary["rejects"]["faults"] == 0 and "pnl_after_fees" in summary
        assert Path(run["report"]).name == "report.html" and Path(run["report"]).is_file()
        assert json.loads((Path(run["report"]).parent / "summary.json").read_text())["fills"] == summary["fills"]
        assert len(notes) >= 3 and notes[-1][0] == 100 and all(t == 100 for _, t, _ in notes)
        assert [p for p, _, _ in notes] == sorted(p for p, _, _ in notes), "progress only goes forward"

        started = data_of(await ai.call_tool("start_strategy", {"strategy": "researched", "run": "quoter",
                                                                     "params": {"market": "BTC-PERP",
                                                                                "half_spread": 3}}))  # fmt: skip
        assert started["strategies"]["researched"]["running"]
        deployed = plane.deployed["researched"]
        assert isinstance(deployed.port, AgenthftPort) and isinstance(_runner.port, AgenthftPort)
        assert deployed.port.api_key != _runner.port.api_key, "its own sandbox account"
        account = srv.venue.keys.authenticate(deployed.port.api_key).account_id
        assert await wait_for(lambda: len(srv.venue.open_orders(account)) == 2, 10), "it quotes on the venue"
        stopped = data_of(await ai.call_tool("stop_strategy", {"strategy": "researched"}))
        assert not stopped["strategies"]["researched"]["running"]
        assert await wait_for(lambda: srv.venue.open_orders(account) == [], 10), "its quotes pulled"
        trail = [(a["action"], a["outcome"].split(" ")[0]) for a in data_of(await ai.call_tool("audit", {}))]
        assert trail == [("backtest", "1"), ("deploy", "running"), ("stop_strategy", "stopped")]


def data_of(result: Any) -> Any:
    assert not result.is_error, result.content
    return payload(result)


async def test_the_http_door_serves_the_same_research(seat, tmp_path: Path):
    from aiohttp import ClientSession

    from agenthft.control import http as control_http

    _, _, plane, _ = seat
    site, base = await control_http.serve(plane)
    ro, full = {"Authorization": f"Bearer {RO}"}, {"Authorization": f"Bearer {FULL}"}
    try:
        async with ClientSession() as s:
            r = await s.get(f"{base}/v1/strategies", headers=ro)
            assert r.status == 200 and "market-maker" in {x["name"] for x in (await r.json())["strategies"]}
            r = await s.get(f"{base}/v1/data", headers=ro, params={"decode": "false"})
            assert r.status == 200 and (await r.json())["data_dirs"] == [str(tmp_path / "data")]
            spec = {"strategy": "latency-arb", "scenario": "lead-lag", "seconds": 2}
            r = await s.post(f"{base}/v1/backtest", headers=ro, json=spec)
            assert r.status == 403
            r = await s.post(f"{base}/v1/backtest", headers=full, json=spec | {"latency": "quick"})
            assert r.status == 400 and "latency 'quick'" in (await r.json())["message"]
            r = await s.post(f"{base}/v1/backtest", headers=full, json=spec)
            (run,) = (await r.json())["runs"]
            assert r.status == 200 and run["summary"]["scenario"] == "lead-lag" and Path(run["report"]).is_file()
            r = await s.post(f"{base}/v1/strategy/start", headers=full, json={"run": "nope"})
            assert r.status == 400 and "unknown strategy 'nope'" in (await r.json())["message"]
    finally:
        await site.cleanup()
