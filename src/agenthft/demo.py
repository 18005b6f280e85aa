"""`agenthft demo`: the most complete end-to-end run available.

1. Rebuild books from every real capture and verify them against each capture's own oracle.
2. Start the embedded venue, let a maker and a taker trade over WebSocket, and report the
   round trips (HdrHistogram), fills with fees and rebates, and the positions REST reports.
3. Run the agent runtime (Runner + the quoter strategy, journal, telemetry) on that venue
   while a taker trades against it, drop its socket once, and show that it reconnects,
   reconciles, and agrees with the venue fill for fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import picows
from hdrh.histogram import HdrHistogram

from agenthft.children import dies_with_parent
from agenthft.venue import VenueServer, load_config


class _Client(picows.WSListener):
    """A minimal protocol client for the demo (the agent runtime's session arrives with its issue)."""

    def __init__(self) -> None:
        self.transport: picows.WSTransport | None = None
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.seen: list[dict[str, Any]] = []

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != picows.WSMsgType.TEXT:
            return
        msg = msgspec.json.decode(frame.get_payload_as_bytes())
        self.seen.append(msg)
        t = msg["type"]
        if t in ("order_reject", "cancel_reject", "error"):  # answers too: fail the waiter loudly
            for waiter in self.waiters.values():
                if not waiter.done():
                    waiter.set_exception(RuntimeError(f"venue said {msg}"))
            self.waiters.clear()
            return
        fut = self.waiters.pop(t, None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    async def ask(self, msg: dict[str, Any], reply: str) -> tuple[dict[str, Any], int]:
        assert self.transport is not None
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[reply] = fut
        t0 = time.perf_counter_ns()
        self.transport.send(picows.WSMsgType.TEXT, msgspec.json.encode(msg))
        got = await asyncio.wait_for(fut, 5)
        return got, time.perf_counter_ns() - t0


async def _connect(url: str, key: str) -> _Client:
    _, client = await picows.ws_connect(_Client, url, extra_headers={"Authorization": f"Bearer {key}"})
    assert isinstance(client, _Client)
    for _ in range(200):
        if any(m["type"] == "auth_ok" for m in client.seen):
            return client
        await asyncio.sleep(0.005)
    raise RuntimeError("no auth_ok from the venue")


async def venue_session(n: int = 2000) -> dict[str, Any]:
    """Trade on the embedded venue; returns what was measured."""
    config = load_config()
    # The demo's agents use the packaged "hft" tier, as the article advises a dedicated HFT key.
    config = msgspec.structs.replace(config, sandbox=msgspec.structs.replace(config.sandbox, tier="hft"))
    server = await VenueServer(config).start()
    try:
        async with aiohttp.ClientSession() as http:
            keys = []
            for agent in ("demo-maker", "demo-taker"):
                async with http.post(server.rest_url + "/api/v1/register", json={"agent_id": agent}) as r:
                    keys.append((await r.json())["api_key"])
            maker, taker = await _connect(server.ws_url, keys[0]), await _connect(server.ws_url, keys[1])
            ack, fill = HdrHistogram(1, 10**10, 3), HdrHistogram(1, 10**10, 3)
            for i in range(n):
                order = {
                    "type": "order",
                    "order_id": f"q{i}",
                    "market": "BTC-PERP",
                    "side": "buy",
                    "price": "59000.0",
                    "qty": "0.01",
                    "order_type": "post_only",
                }
                _, ns = await maker.ask(order, "order_ack")
                ack.record_value(ns)
                await maker.ask({"type": "cancel", "order_id": f"q{i}"}, "cancel_ack")
            fills = []
            for i in range(20):
                await maker.ask(
                    {
                        "type": "order",
                        "order_id": f"ask{i}",
                        "market": "BTC-PERP",
                        "side": "sell",
                        "price": f"{60000 + i}.0",
                        "qty": "0.01",
                    },
                    "order_ack",
                )
                msg, ns = await taker.ask(
                    {
                        "type": "order",
                        "order_id": f"take{i}",
                        "market": "BTC-PERP",
                        "side": "buy",
                        "price": f"{60000 + i}.0",
                        "qty": "0.01",
                        "order_type": "ioc",
                    },
                    "fill",
                )
                fill.record_value(ns)
                fills.append(msg)
            headers = {"Authorization": f"Bearer {keys[1]}"}
            async with http.get(server.rest_url + "/api/v1/positions", headers=headers) as r:
                positions = (await r.json())["positions"]
        maker_fees = sum(m["fee"] for m in maker.seen if m["type"] == "fill")
        return {
            "ws_url": server.ws_url,
            "orders": n,
            "ack_us": {p: ack.get_value_at_percentile(p) / 1000 for p in (50, 99, 99.9)},
            "fill_us": {p: fill.get_value_at_percentile(p) / 1000 for p in (50, 99)},
            "fills": len(fills),
            "taker_fees": sum(f["fee"] for f in fills),
            "maker_rebates": maker_fees,
            "positions": positions,
        }
    finally:
        await server.stop()


async def agent_session(rounds: int = 10) -> dict[str, Any]:
    """The agent runtime quoting on the embedded venue, with a taker and one socket drop."""
    from agenthft.connectors.agenthft import AgenthftPort
    from agenthft.runtime import Journal, Runner
    from agenthft.strategies import Quoter

    config = load_config()
    config = msgspec.structs.replace(config, sandbox=msgspec.structs.replace(config.sandbox, tier="hft"))
    server = await VenueServer(config).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            journal = Path(tmp) / "agent.sqlite"
            async with aiohttp.ClientSession() as http:
                keys = []
                for agent in ("demo-agent", "demo-taker"):
                    async with http.post(server.rest_url + "/api/v1/register", json={"agent_id": agent}) as r:
                        keys.append((await r.json())["api_key"])
                runner = Runner(
                    Quoter("BTC-PERP", "0.01", 3, "60000"),
                    AgenthftPort(server.ws_url, server.rest_url, keys[0], session={"backoff_initial_s": 0.05}),
                    journal_path=journal,
                )
                await runner.start()
                taker = {"Authorization": f"Bearer {keys[1]}"}
                for i in range(rounds):
                    body = {
                        "market": "BTC-PERP",
                        "side": "sell" if i % 3 else "buy",
                        "type": "market",
                        "qty": 0.01,  # a whole quote: the agent re-quotes (a reaction, timed)
                        "client_id": f"tk{i}",
                    }
                    async with http.post(server.rest_url + "/trading/orders", json=body, headers=taker) as r:
                        await r.read()
                    if i == rounds // 2:
                        runner.port.drop()  # a network fault mid-session
                        for _ in range(100):
                            if runner.port.connected and len(runner.reconciles) > 1:
                                break
                            await asyncio.sleep(0.02)
                    await asyncio.sleep(0.03)
                await asyncio.sleep(0.2)
                summary = runner.summary()
                assert runner.journal is not None
                runner.journal.flush()
                headers = {"Authorization": f"Bearer {keys[0]}"}
                async with http.get(server.rest_url + "/api/v1/fills", headers=headers) as r:
                    venue_fills = {f["fill_id"] for f in await r.json()}
                journal_fills = Counter(f.fill_id for f in Journal.fills(journal))
                await runner.stop(cancel_orders=True)
        return {
            "summary": summary,
            "venue_fills": len(venue_fills),
            "journal_matches_venue": set(journal_fills) == venue_fills and all(n == 1 for n in journal_fills.values()),
        }
    finally:
        await server.stop()


DESK: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    # name: (shipped strategy, parameters, the venues it trades on); the same as a desk file's
    # [[strategies]] (runtime/desk.py), with keys registered on the demo's venues
    "market-maker": ("market-maker", {"market": "BTC-PERP"}, ("agenthft",)),
    "latency-arb": ("latency-arb", {"leader": "BTC-USDC", "follower": "BTC-PERP"}, ("agenthft",)),
    "nbbo-arb": ("nbbo-arb", {"markets": ["agenthft:BTC-PERP", "venue-b:BTCUSDT"]}, ("agenthft", "venue-b")),
    "bbo-quoter": ("bbo-quoter", {"market": "BTCUSDT"}, ("venue-b",)),
    "quoter": ("quoter", {"market": "BTC-USDC", "qty": "0.001", "half_spread": 20}, ("agenthft",)),
}


async def desk_session(seconds: float, out: Path) -> dict[str, Any]:
    """The agent's seat: every shipped strategy live at once on two embedded venues quoting one
    simulated underlying (`desk` scenario: spot leader, lagging perp with manipulators, the perp
    on a second venue), each strategy its own account; the dashboard on the terminal (plain lines
    when not a TTY); the control plane over MCP, driven halfway by the SDK's own client (reads
    status, changes the market maker's parameters); Ctrl-C or the end stops every strategy with
    cancel-all; then each strategy's results and HTML report."""
    import signal

    from agenthft.backtest.results import DeskRecording
    from agenthft.control import ControlPlane, Token, mcp_server
    from agenthft.control.dashboard import show
    from agenthft.progress import Progress
    from agenthft.runtime.desk import (
        DeskSpec,
        DeskStrategy,
        DeskVenue,
        build_desk,
        check,
        start_desk,
    )

    # the venues and their market in their own process (as a remote venue would be): the
    # agents' loop here gets a core of its own
    venue_proc, venues = await spawn_venues("--config", "default", "--config", "venue-b", "--sim", "desk")
    agents: dict[str, Any] = {}
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ctrl_c = asyncio.Event()  # Ctrl-C at any moment of the session, its wrap-up included

    def on_ctrl_c() -> None:
        ctrl_c.set()
        stop.set()

    # given back at the very end: the loop's removal puts Python's default back, and the MCP door
    # (uvicorn) the handler it found when it started
    sigint = signal.getsignal(signal.SIGINT)
    loop.add_signal_handler(signal.SIGINT, on_ctrl_c)
    mcp: Any = None
    try:
        strategies = []
        async with aiohttp.ClientSession() as http:
            for name, (kind, params, names) in DESK.items():
                keys = {}
                for v in names:  # each strategy its own account on each venue
                    async with http.post(venues[v][1] + "/api/v1/register", json={"agent_id": f"demo-{name}"}) as r:
                        keys[v] = (await r.json())["api_key"]
                strategies.append(DeskStrategy(name, kind, keys, params, {"BTC": "0.05"} if len(names) > 1 else {}))
        spec = DeskSpec({v: DeskVenue(ws, rest) for v, (ws, rest) in venues.items()}, strategies)
        check(spec)
        agents = build_desk(spec)
        await start_desk(agents)
        recording = DeskRecording(agents)
        token = Token("demo-supervisor")
        plane = ControlPlane(agents, {"demo-token": token})
        mcp, mcp_url = await mcp_server.serve_http(plane)
        dash = asyncio.create_task(show(plane, stop))  # its own process on a terminal
        end = loop.time() + seconds
        supervised: dict[str, Any] = {}
        halfway = asyncio.create_task(_supervise(mcp_url, "demo-token", supervised, loop.time() + seconds / 2))
        while loop.time() < end and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)
            recording.tick()
        stop.set()
        await dash
        with Progress("agenthft demo", "stopping the desk: cancel-all, then each strategy's results and report"):
            # a supervisor's call under way is let finish (a loaded machine makes it late), not past Ctrl-C
            waiter = asyncio.ensure_future(ctrl_c.wait())
            await asyncio.wait({halfway, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            halfway.cancel()
            waiter.cancel()
            await asyncio.gather(halfway, waiter, return_exceptions=True)
            await asyncio.gather(*(a.quiesce(cancel_orders=True) for a in agents.values()))
            files = recording.write(out, "live: desk", "agenthft demo: the desk, every strategy live")
        for _ in range(2):  # the loop reads a Ctrl-C that came during the (blocking) writing, then runs on_ctrl_c
            await asyncio.sleep(0)
        index = files.pop("index")[0]
        return {
            "interrupted": ctrl_c.is_set(),
            "status": plane.status(),
            "pnl": plane.pnl(),
            "fills": {name: _fills(a) for name, a in agents.items()},
            "open_orders": len(plane.open_orders()),
            "signals": plane.signal_total,
            "audit": plane.audit(),
            "mcp": {"url": mcp_url} | supervised,
            "files": files,
            "index": index,
        }
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if mcp is not None:
            await mcp_server.stop_http(mcp)
        for agent in agents.values():
            await agent.stop()
        with contextlib.suppress(ProcessLookupError):
            venue_proc.terminate()
        await venue_proc.wait()
        signal.signal(signal.SIGINT, sigint)


async def spawn_venues(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, tuple[str, str]]]:
    """`agenthft venue ARGS` in a child process; returns it and, per venue name, its (WebSocket
    URL, REST URL), read from what it prints."""
    import sys

    # its own session: a Ctrl-C on the terminal stops the agents (which then cancel everything on
    # this venue), never the venue under them; and it ends with this process however that ends
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agenthft.cli", "venue", *args,
        stdout=asyncio.subprocess.PIPE, start_new_session=True, preexec_fn=dies_with_parent(),
    )  # fmt: skip
    assert proc.stdout is not None
    venues: dict[str, tuple[str, str]] = {}
    name, ws = "", ""
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            if not line:
                raise RuntimeError(f"the venue process ended before serving (exit {await proc.wait()})")
            word = line.split()
            if line.startswith("venue "):
                name = word[1].rstrip(":")
            elif word[:1] == ["websocket"]:
                ws = word[-1]
            elif word[:1] == ["rest"]:
                venues[name] = (ws, word[-1])
            elif word[:1] == ["simulation"] and len(venues) == args.count("--config"):
                return proc, venues
    except BaseException:
        proc.kill()
        await proc.wait()
        raise


#: Binance USD-M's and Hyperliquid's protocols served by one venue process over one simulated BTC
DIALECTS = ("--sim", "cross-venue", "--config", "venue-b", "--dialect", "binance-usdm",
            "--config", "hyperliquid", "--dialect", "hyperliquid")  # fmt: skip


async def real_venues_session(seconds: float) -> dict[str, Any]:
    """Two real venues' protocols on loopback (`agenthft venue` with the Binance USD-M and the
    Hyperliquid dialects over one simulated underlying), and `agenthft run nbbo-arb` across them
    through the native connectors, each its own process as a user runs them; returns the run's
    summary (or `error`)."""
    import json
    import os
    import re
    import signal
    import sys

    venue = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agenthft.cli", "venue", *DIALECTS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True, preexec_fn=dies_with_parent(),
    )  # fmt: skip
    assert venue.stdout is not None
    env: dict[str, str] = {}
    try:
        sims = 0
        while sims < 2:
            line = (await asyncio.wait_for(venue.stdout.readline(), 30)).decode().strip()
            if not line:
                return {"error": f"the dialect venues ended before serving (exit {await venue.wait()})"}
            sims += line.startswith("simulation")
            m = re.match(r"export (\w+)=(\S+)$", line)
            if m:
                env[m.group(1)] = m.group(2)
        cmd = [sys.executable, "-m", "agenthft.cli", "run", "nbbo-arb", "--quiet", "--cancel-on-exit"]
        cmd += [
            f"--leg=bn=binance-usdm@{env['BINANCE_BASE_URL']}",
            f"--leg=hl=hyperliquid@{env['HYPERLIQUID_BASE_URL']}",
        ]
        cmd += ["--param", "markets=bn:BTCUSDT,hl:BTC-PERP", "--param", "fee_multiple=0.5", "--max-net", "BTC=0.05"]
        agent = await asyncio.create_subprocess_exec(
            *cmd, "--duration", f"{seconds:g}", env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=dies_with_parent(),
        )  # fmt: skip
        try:
            out, err = await agent.communicate()
        finally:  # a Ctrl-C here: the agent is told too (it cancels everything), then the venue goes
            if agent.returncode is None:
                agent.send_signal(signal.SIGINT)
                await agent.wait()
        if not out.strip():
            return {"error": (err.decode().strip().splitlines() or ["no summary"])[-1]}
        summary: dict[str, Any] = json.loads(out)
        return summary
    finally:
        with contextlib.suppress(ProcessLookupError):
            venue.terminate()
        await venue.wait()


def _fills(agent: Any) -> int:
    from agenthft.runtime.multi import sessions

    return sum(len(r.oms.seen_fills) for r in sessions(agent).values())


async def _supervise(url: str, token: str, out: dict[str, Any], at: float) -> None:
    """What a supervising LLM agent does over MCP, with the SDK's own client: read the desk's
    status and P&L, then widen the market maker's spread (validated, audited, in force at once)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as sup:
        status = _payload(await sup.call_tool("status", {}))
        pnl = _payload(await sup.call_tool("pnl", {}))
        params = _payload(await sup.call_tool("set_params", {"strategy": "market-maker", "params": {"half_spread": 3}}))
        out |= {
            "strategies_seen": sorted(status["strategies"]),
            "pnl_at_halfway": pnl["total"]["after_fees"],
            "new_params": params,
        }


def _payload(result: Any) -> Any:
    sc = getattr(result, "structured_content", None)
    if sc is not None:
        return sc.get("result", sc) if isinstance(sc, dict) and set(sc) == {"result"} else sc
    return msgspec.json.decode(result.content[0].text)
