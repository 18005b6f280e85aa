"""The supervising agent's seat: the MCP server driven with the SDK's own client, and the HTTP
API, against a real agent trading on the embedded venue (loopback, real sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.control import ControlPlane, Token, mcp_server
from agenthft.control import http as control_http
from agenthft.control.plane import ControlError
from agenthft.market.sim.scenario import load_scenario
from agenthft.runtime import Runner
from agenthft.strategies import Quoter
from agenthft.venue import VenueServer, load_config
from agenthft.venue.simdriver import SimDriver

FULL, RO = "secret-full", "secret-ro"


@pytest.fixture
async def agent() -> AsyncIterator[tuple[VenueServer, Runner, ControlPlane, str]]:
    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("calm"))
    driver.start()
    key, _, _ = srv.venue.register("supervised")
    runner = Runner(
        Quoter("BTC-PERP", "0.01", 2, "60000", min_requote_ms=20), AgenthftPort(srv.ws_url, srv.rest_url, key)
    )
    await runner.start()
    plane = ControlPlane(runner, {FULL: Token("supervisor"), RO: Token("watcher", read_only=True)})
    try:
        yield srv, runner, plane, key
    finally:
        await runner.stop(cancel_orders=True)
        await driver.stop()
        await srv.stop()


def data(result: Any) -> Any:
    """A tool result's JSON payload."""
    if getattr(result, "structured_content", None) is not None:
        sc = result.structured_content
        return sc.get("result", sc) if isinstance(sc, dict) and set(sc) == {"result"} else sc
    return json.loads(result.content[0].text)


def text(result: Any) -> str:
    """A tool result's one text block (an error's message)."""
    (block,) = result.content
    assert isinstance(block, TextContent), block
    return block.text


async def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check() if asyncio.iscoroutinefunction(check) else check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def test_mcp_client_reads_tightens_a_limit_kills_and_resumes(agent):
    srv, runner, plane, key = agent
    server, url = await mcp_server.serve_http(plane)
    try:
        ro = httpx2.AsyncClient(headers={"Authorization": f"Bearer {RO}"})
        async with Client(streamable_http_client(url, http_client=ro)) as watcher:
            status = data(await watcher.call_tool("status", {}))
            quoter = status["strategies"]["quoter"]
            assert quoter["running"] and quoter["venues"]["venue"]["risk_state"] == "active"
            refused = await watcher.call_tool("kill", {"reason": "not mine to pull"})
            assert refused.is_error and "read-only" in text(refused)
            assert runner.risk.state.value == "active"
        full = httpx2.AsyncClient(headers={"Authorization": f"Bearer {FULL}"})
        async with Client(streamable_http_client(url, http_client=full)) as sup:
            tools = {t.name for t in (await sup.list_tools()).tools}
            assert {"status", "set_limits", "kill", "resume", "run_backtest", "latency"} <= tools
            assert await wait_for(lambda: len(runner.oms.live) > 0), "the quoter is quoting"
            bad = await sup.call_tool("set_limits", {"limits": {"max_order_notional": "a lot"}})
            assert bad.is_error and "max_order_notional" in text(bad)
            assert runner.risk.config.max_order_notional == "0"
            ok = data(await sup.call_tool("set_limits", {"limits": {"max_order_notional": "100"}}))
            assert ok["quoter"]["venue"]["max_order_notional"] == "100"
            # the quoter's next order (0.01 BTC at ~60,000 = 600 USDC) is over it: denied, with the reason
            denied = await wait_for(lambda: runner.risk.counts.get("max_order_notional", 0) > 0, 10)
            assert denied, runner.risk.counts
            events = data(await sup.call_tool("risk_events", {}))
            assert any("MAX_ORDER_NOTIONAL" in e for e in events["quoter"]["venue"]["recent"])
            await sup.call_tool("set_limits", {"limits": {"max_order_notional": "0"}})
            halted = data(await sup.call_tool("kill", {"reason": "test"}))
            assert halted["strategies"]["quoter"]["venues"]["venue"]["risk_state"] == "halted"

            async def venue_open() -> list[Any]:
                async with aiohttp.ClientSession() as s:
                    r = await s.get(f"{srv.rest_url}/api/v1/orders", headers={"Authorization": f"Bearer {key}"})
                    return list(await r.json())

            assert await wait_for(lambda: runner.risk.state.value == "halted")
            await asyncio.sleep(0.5)
            assert await venue_open() == [], "the venue shows no open orders for the account"
            await asyncio.sleep(0.5)
            assert runner.risk.state.value == "halted", "a halt stays until resumed"
            data(await sup.call_tool("resume", {}))
            assert runner.risk.state.value == "active"
            trail = data(await sup.call_tool("audit", {}))
            assert [a["action"] for a in trail][-4:] == ["set_limits", "set_limits", "kill", "resume"]
            assert {a["who"] for a in trail} >= {"supervisor", "watcher"}
    finally:
        await mcp_server.stop_http(server)


async def test_http_api_auth_read_only_and_actions(agent):
    _srv, runner, plane, _ = agent
    site, base = await control_http.serve(plane)
    try:
        async with aiohttp.ClientSession() as s:
            r = await s.get(f"{base}/v1/status")
            assert r.status == 401
            ro = {"Authorization": f"Bearer {RO}"}
            full = {"Authorization": f"Bearer {FULL}"}
            r = await s.get(f"{base}/v1/pnl", headers=ro)
            assert r.status == 200 and "total" in await r.json()
            r = await s.post(f"{base}/v1/kill", headers=ro, json={})
            assert r.status == 403
            r = await s.post(f"{base}/v1/risk/limits", headers=full, data=b"{not json")
            assert r.status == 400 and "JSON" in (await r.json())["message"]
            r = await s.post(f"{base}/v1/risk/limits", headers=full, json={"limits": {"nope": 1}})
            assert r.status == 400 and "nope" in (await r.json())["message"]
            r = await s.post(f"{base}/v1/strategy/params", headers=full, json={"params": {"half_spread": 4}})
            assert r.status == 200 and (await r.json())["half_spread"] == 4
            assert runner.strategy.half_spread == 4
            r = await s.post(f"{base}/v1/strategy/stop", headers=full, json={})
            assert r.status == 200 and not runner.started
            r = await s.post(f"{base}/v1/strategy/start", headers=full, json={})
            assert r.status == 200 and runner.started
            r = await s.post(f"{base}/v1/strategy/stop", headers=full, json={"strategy": "nope"})
            assert r.status == 400 and "no strategy 'nope'" in (await r.json())["message"] and runner.started
            r = await s.post(f"{base}/v1/strategy/stop", headers=full, json={"cancel_orders": "yes"})
            assert r.status == 400 and "true or false" in (await r.json())["message"] and runner.started
            r = await s.get(f"{base}/v1/view", headers=ro, params={"levels": "2"})
            view = await r.json()
            assert r.status == 200 and [row["strategy"] for row in view["rows"]] == ["quoter"]
            assert view["books"][0]["market"].endswith(":BTC-PERP") and len(view["books"][0]["bids"]) <= 2
            r = await s.get(f"{base}/v1/view", headers=ro, params={"levels": "many"})
            assert r.status == 400 and "levels" in (await r.json())["message"]
    finally:
        await site.cleanup()


async def test_agenthft_run_serves_both_doors_and_a_kill_ends_it_halted():
    """`agenthft run ... --control 0 --mcp 0`: the URLs on stderr, status over HTTP, the kill
    switch over MCP, and the run's exit code says it ended halted (3)."""
    import sys

    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("calm"))
    driver.start()
    key, _, _ = srv.venue.register("cli-supervised")
    cmd = [sys.executable, "-m", "agenthft.cli", "run", "quoter", "--venue", srv.ws_url, "--rest", srv.rest_url]
    cmd += ["--key", key, "--duration", "8", "--quiet", "--control", "0", "--mcp", "0", "--token", FULL]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        urls: dict[str, str] = {}
        while len(urls) < 2:
            line = (await asyncio.wait_for(proc.stderr.readline(), 20)).decode()
            assert line, "the run ended before serving"
            if "control plane" in line:
                urls["http"] = line.split()[-1]
            elif "MCP" in line:
                urls["mcp"] = line.split()[-1]
        async with aiohttp.ClientSession() as s:
            r = await s.get(urls["http"], headers={"Authorization": f"Bearer {FULL}"})
            assert r.status == 200 and set((await r.json())["strategies"]) == {"quoter"}
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {FULL}"})
        async with Client(streamable_http_client(urls["mcp"], http_client=client)) as sup:
            await sup.call_tool("kill", {"reason": "end of test"})
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        summary = json.loads(out)
        assert proc.returncode == 3 and summary["risk_state"] == "halted"
        assert "manual_override" in summary["first_trip"].lower()
        assert summary["open_orders"] == [] or summary["venue_open_orders"] == []
    finally:
        if proc.returncode is None:
            proc.kill()
        await driver.stop()
        await srv.stop()


async def test_one_plane_supervises_a_desk_of_strategies_by_name():
    """Two strategies, each its own account: reads are per strategy; an action that needs a
    strategy refuses to guess; kill and resume name one or take all."""
    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("calm"))
    driver.start()
    agents = {}
    try:
        for name, half in (("wide", 6), ("tight", 2)):
            key, _, _ = srv.venue.register(f"desk-{name}")
            agents[name] = Runner(
                Quoter("BTC-PERP", "0.01", half, "60000"), AgenthftPort(srv.ws_url, srv.rest_url, key)
            )
            await agents[name].start()
        plane = ControlPlane(agents, {FULL: Token("supervisor")})
        sup = Token("supervisor")
        assert set(plane.status()["strategies"]) == {"wide", "tight"}
        assert await wait_for(lambda: all(r.oms.live for r in agents.values()))
        with pytest.raises(ControlError, match="name one"):
            plane.set_params(sup, {"half_spread": 4})
        assert plane.set_params(sup, {"half_spread": 4}, "wide")["half_spread"] == 4
        spreads = {n: getattr(r.strategy, "half_spread", None) for n, r in agents.items()}
        assert spreads == {"wide": 4, "tight": 2}
        plane.kill(sup, "one only", "tight")
        states = {n: s["venues"]["venue"]["risk_state"] for n, s in plane.status()["strategies"].items()}
        assert states == {"wide": "active", "tight": "halted"}
        plane.set_limits(sup, {"position_limit": "50000"}, strategy="wide")
        assert agents["wide"].risk.config.position_limit == "50000" != agents["tight"].risk.config.position_limit
        plane.resume(sup)
        assert all(r.risk.state.value == "active" for r in agents.values())
        assert [a["args"].get("strategy") for a in plane.audit()] == [None, "wide", "tight", "wide", None]
    finally:
        for r in agents.values():
            await r.stop(cancel_orders=True)
        await driver.stop()
        await srv.stop()
