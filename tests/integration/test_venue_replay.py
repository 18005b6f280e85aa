"""Recorded captures replayed into the live venue, seen by a real WebSocket client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
import websockets

from agenthft.market.cache import EventCache
from agenthft.market.sources import load_events
from agenthft.venue import VenueServer, load_config
from agenthft.venue.replaydriver import ReplayDriver


async def test_spot_and_usdm_replay_as_two_markets_and_end_at_the_recorded_books(data: Path, events_cache: Path):
    files = [data / "hftbacktest/spot/btcusdt_20240808.gz", data / "hftbacktest/usdm/btcusdt_20240808.gz"]
    cfg = load_config()
    rows = load_events(files, cache=EventCache(events_cache))
    cfg = msgspec.structs.replace(cfg, markets=list(rows.markets))
    srv = await VenueServer(cfg).start()
    driver = ReplayDriver(srv.venue, rows, speed=0)
    try:
        key, _, _ = srv.venue.register("watcher")
        async with websockets.connect(
            srv.ws_url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=2**24
        ) as ws:
            await ws.send(
                json.dumps(
                    {"type": "subscribe", "channel": "orderbook", "markets": ["BTCUSDT", "BTCUSDT-PERP"], "depth": 5}
                )
            )
            driver.start()
            updates: dict[str, int] = {}
            while True:  # read until the replay is done and the stream has gone quiet
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 1 if driver.done.is_set() else 10))
                except TimeoutError:
                    if driver.done.is_set():
                        break
                    continue
                if msg["type"] in ("book_update", "book_snapshot"):  # as fast as possible, a reader this
                    updates[msg["market"]] = updates.get(msg["market"], 0) + 1  # slow gets conflated
            await asyncio.wait_for(driver.done.wait(), 120)
        assert updates.get("BTCUSDT", 0) > 10 and updates.get("BTCUSDT-PERP", 0) > 1, updates
        rep = driver.replay
        for market, recorded in rep.books.items():
            bids, asks = srv.venue.engine.l2(market, 5)
            assert (bids, asks) == recorded.depth(5), f"{market} ends at the recorded book"
    finally:
        await driver.stop()
        await srv.stop()
