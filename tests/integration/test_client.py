"""Client-side resilience: REST Retry-After backoff, and a book sequence gap triggering a
resubscribe that brings a fresh snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from agenthft.connectors.agenthft import AgenthftPort, RestClient
from agenthft.protocol import messages as pm
from agenthft.runtime import Runner
from agenthft.strategies import Strategy
from agenthft.venue import VenueServer

from .conftest import SMALL, config


async def test_rest_client_backs_off_on_429_and_succeeds():
    srv = await VenueServer(config()).start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(srv.rest_url + "/api/v1/register", json={"agent_id": "rc"}) as r,
        ):
            key = (await r.json())["api_key"]
        async with RestClient(srv.rest_url, key, max_retries=5) as rest:
            results = [await rest.balance() for _ in range(SMALL.rest_burst + 3)]
            assert len(results) == SMALL.rest_burst + 3 and rest.retries >= 1
    finally:
        await srv.stop()


class Watcher(Strategy):
    name = "watcher"
    markets = ("BTC-PERP",)


async def test_sequence_gap_resubscribes_and_resyncs(tmp_path: Path):
    srv = await VenueServer(config()).start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(srv.rest_url + "/api/v1/register", json={"agent_id": "gap"}) as r,
        ):
            key = (await r.json())["api_key"]
        runner = Runner(Watcher(), AgenthftPort(srv.ws_url, srv.rest_url, key))
        await runner.start()
        await asyncio.sleep(0.1)
        book = runner.books["BTC-PERP"]
        assert book.synced
        # a book_update that skips a seq, as if one was lost on the way
        assert isinstance(runner.port, AgenthftPort) and runner.port.codec is not None
        runner.port.codec.feed(pm.BookUpdate("BTC-PERP", book.seq + 2, [(59000.0, 1.0)], [], 0), 0)
        assert runner.resyncs == 1 and not book.synced and book.bid_qty(590000) == 0, "nothing applied"
        for _ in range(100):
            if book.synced:
                break
            await asyncio.sleep(0.02)
        assert book.synced, "a fresh snapshot arrived after the resubscribe"
        await runner.stop()
    finally:
        await srv.stop()
