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
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import picows
from hdrh.histogram import HdrHistogram

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
                    server.ws_url,
                    server.rest_url,
                    keys[0],
                    journal_path=journal,
                    session={"backoff_initial_s": 0.05},
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
                        assert runner.session is not None
                        runner.session.drop()  # a network fault mid-session
                        for _ in range(100):
                            if runner.session.connected.is_set() and len(runner.reconciles) > 1:
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


async def supervised_session(seconds: float, out: Path, console: Any = None) -> dict[str, Any]:
    """The agent's seat: the market maker live on the embedded venue with the simulated
    manipulated market, the dashboard on the terminal (plain lines when not a TTY), the control
    plane's view of it, then the run's results and HTML report."""
    from agenthft.backtest.results import LiveRecording
    from agenthft.control import ControlPlane
    from agenthft.market.sim.scenario import load_scenario
    from agenthft.runtime import Runner
    from agenthft.runtime.dashboard import Dashboard
    from agenthft.strategies.market_maker import MarketMaker
    from agenthft.venue.simdriver import SimDriver

    server = await VenueServer(load_config()).start()
    driver = SimDriver(server.venue, load_scenario("manipulated"))
    driver.start()
    runner: Runner | None = None
    try:
        key, _, _ = server.venue.register("demo-supervised")
        runner = Runner(MarketMaker("BTC-PERP", "0.01", 2, 4, "0.05"), server.ws_url, server.rest_url, key)
        await runner.start()
        recording = LiveRecording(runner)
        plane = ControlPlane(runner)
        stop = asyncio.Event()
        dash = asyncio.create_task(Dashboard(plane).run(stop, console))
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await asyncio.sleep(0.1)
            recording.tick()
        stop.set()
        await dash
        await runner.quiesce(cancel_orders=True)
        files = recording.write(out, f"live:{server.ws_url} (manipulated)")
        return {"summary": runner.summary(), "status": plane.status(), "pnl": plane.pnl(), "files": files}
    finally:
        await driver.stop()  # the market first: nothing is published to a socket being closed
        if runner is not None:
            await runner.stop()
        await server.stop()
