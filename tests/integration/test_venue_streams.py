"""Market-data fan-out under stress: slow consumers, injected delay, several venues."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import msgspec
import websockets

from agenthft.venue import Venue as VenueCore
from agenthft.venue import VenueServer
from agenthft.venue.config import Tier

from .conftest import Venue, config, order


async def test_slow_consumer_is_conflated_and_resynced_by_snapshot():
    cfg = msgspec.structs.replace(
        config(sndbuf_bytes=4096, high_water_bytes=16 * 1024),
        tiers={"default": Tier(orders_per_s=1e6, cancels_per_s=1e6)},
    )
    server = await VenueServer(cfg).start()
    try:
        async with aiohttp.ClientSession() as http:
            await _slow_consumer(Venue(server, http))
    finally:
        await server.stop()


async def _slow_consumer(venue: Venue) -> None:
    srv_venue = venue.server.venue
    key = (await venue.register("slow"))["api_key"]
    # small socket buffers on both ends, then the client stops reading: TCP backs up into the venue
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = venue.server.ws_url.removeprefix("ws://").split("/")[0].rsplit(":", 1)
    sock.connect((host, int(port)))
    slow = await venue.connect(key, sock=sock, max_queue=1, max_size=2**20)
    await slow.send({"type": "subscribe", "channel": "orderbook", "market": "BTC-PERP", "depth": 0})
    fast = await venue.connect((await venue.register("fast"))["api_key"])
    await fast.send({"type": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await fast.expect("book_snapshot")
    slow.ws.transport.pause_reading()  # stop reading entirely
    session = next(s for s in srv_venue.sessions if s.account == slow_account(srv_venue, key))
    for i in range(3000):  # each order is one book_update to both subscribers
        await fast.send({**order(f"s{i}", price=str(40000 + i % 2000), qty="0.001"), "order_id": f"s{i}"})
        if session.paused:
            break
        if i % 50 == 0:
            await asyncio.sleep(0)
    for _ in range(100):
        if session.paused and session.stale:
            break
        await fast.send(order(f"more{time.monotonic_ns()}", price="41999", qty="0.001"))
        await asyncio.sleep(0.01)
    assert session.paused and "BTC-PERP" in session.stale, "venue noticed the slow consumer"
    buffered = session.transport.buffered()
    await fast.send(order("after-pause", price="39000", qty="0.001"))
    await asyncio.sleep(0.05)
    assert session.transport.buffered() <= buffered, "nothing more queued for a paused book stream"
    await fast.alive()  # the fast client was never blocked
    slow.ws.transport.resume_reading()
    snapshots = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        msg = await slow.recv(2)
        if msg["type"] == "book_snapshot":
            snapshots.append(msg)
            if msg["seq"] > 0:
                break
    assert snapshots and snapshots[-1]["seq"] > 0, "a fresh snapshot follows the drain"
    _, book, _ = await venue.rest("GET", "/api/v1/book/BTC-PERP?depth=0", key)
    assert snapshots[-1]["bids"] == book["bids"] and snapshots[-1]["seq"] == book["seq"]


def slow_account(v: VenueCore, key: str) -> str:
    rec = v.keys.authenticate(key)
    assert rec is not None
    return rec.account_id


async def test_injected_delay_shows_in_round_trips():
    fast_srv = await VenueServer(config()).start()
    slow_srv = await VenueServer(config(delay_us=4000, jitter_us=1000)).start()
    try:
        rtts = {}
        for name, srv in (("fast", fast_srv), ("slow", slow_srv)):
            async with websockets.connect(srv.ws_url) as ws:
                best = float("inf")
                for i in range(5):
                    t0 = time.perf_counter()
                    await ws.send(f'{{"type":"ping","id":{i}}}')
                    await ws.recv()
                    best = min(best, time.perf_counter() - t0)
                rtts[name] = best
        assert rtts["slow"] >= 0.008, rtts  # 2 x 4 ms one-way, at least
        assert rtts["fast"] < 0.004, rtts
    finally:
        await fast_srv.stop()
        await slow_srv.stop()


async def test_two_venues_in_one_process_are_independent():
    a = await VenueServer(config(name="venue-a")).start()
    b = await VenueServer(config(name="venue-b")).start()
    try:
        async with aiohttp.ClientSession() as http:
            for srv, name in ((a, "venue-a"), (b, "venue-b")):
                async with http.get(srv.rest_url + "/health") as r:
                    assert (await r.json())["venue"] == name
            async with http.post(a.rest_url + "/api/v1/register", json={"agent_id": "x"}) as r:
                key = (await r.json())["api_key"]
            async with http.get(b.rest_url + "/api/v1/balance", headers={"Authorization": f"Bearer {key}"}) as r:
                assert r.status == 401, "keys belong to one venue"
    finally:
        await a.stop()
        await b.stop()
