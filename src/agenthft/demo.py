"""`agenthft demo`: the most complete end-to-end run available.

1. Rebuild books from every real capture and verify them against each capture's own oracle.
2. Start the embedded venue, let a maker and a taker trade over WebSocket, and report the
   round trips (HdrHistogram), fills with fees and rebates, and the positions REST reports.
"""

from __future__ import annotations

import asyncio
import time
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
