"""The article's own code against `agenthft venue --sim lead-lag` in a child process, as the
article writes it (reflowed; only the URLs, the key and websockets' renamed header argument
changed; each file says so at its top):

- its agent (`article_agent.py`) subscribes `ticker` for BTC-SPOT and BTC-PERP, takes mids from
  tickers, sends its REST market orders sized in USD, and gets fills;
- its order manager (`article_oms.py`) authenticates by header and by message, subscribes the
  book, places limit orders over WebSocket and follows their acks and fills."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from . import article_agent, article_oms


@pytest.fixture
async def lead_lag() -> AsyncIterator[tuple[str, str]]:
    """`agenthft venue --sim lead-lag` on free ports: (WebSocket URL, REST URL) from what it prints."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agenthft.cli", "venue", "--sim", "lead-lag", stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    try:
        while "simulation" not in urls:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, f"the venue ended before serving (exit {await proc.wait()})"
            word = line.split()
            if word and word[0] in ("websocket", "rest", "simulation"):
                urls[word[0]] = word[-1]
        yield urls["websocket"], urls["rest"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


async def test_the_articles_agent_trades_on_the_embedded_venue_as_written(lead_lag, capsys):
    ws_url, rest_url = lead_lag
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{rest_url}/api/v1/register", json={"agent_id": "purple-flea-article"}) as r:
            key = (await r.json())["api_key"]
        article_agent.PF_WS_URL, article_agent.PF_REST_URL = ws_url, rest_url  # the URLs: the venue's
        agent = article_agent.LatencyArbitrageAgent(api_key=key, primary_market="BTC-SPOT", secondary_market="BTC-PERP")
        run = asyncio.create_task(agent.run())

        async def venue_fills() -> list[dict[str, object]]:
            async with http.get(f"{rest_url}/api/v1/fills", headers={"Authorization": f"Bearer {key}"}) as r:
                return list(await r.json())

        # the simulated spot jumps about once a second and the perp's makers follow 10 ms late: the
        # agent sees the gap on BTC-SPOT's tickers and takes the perp. Until it has 3 fills, at most
        # 30 s of market (it usually needs a few seconds)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        fills: list[dict[str, object]] = []
        while (agent._arb_count < 3 or len(fills) < 3) and loop.time() < deadline and not run.done():
            await asyncio.sleep(0.2)
            fills = await venue_fills()
        assert not run.done(), f"the agent stopped: {run.exception() if run.done() else ''}"
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        out = capsys.readouterr().out
        assert agent._primary_mid is not None and agent._secondary_mid is not None, "it read both markets' tickers"
        assert agent._arb_count >= 3, out
        assert out.count("Arb #") == agent._arb_count and "Order error" not in out, out
        assert len(fills) >= agent._arb_count and {f["market"] for f in fills} == {"BTC-PERP"}
        assert all(str(f["order_id"]).startswith("arb_") and f["liquidity"] == "taker" for f in fills)


async def test_the_articles_order_manager_places_and_fills_orders_as_written(lead_lag):
    ws_url, rest_url = lead_lag
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{rest_url}/api/v1/register", json={"agent_id": "purple-flea-oms"}) as r,
    ):
        key = (await r.json())["api_key"]
    oms = article_oms.HFTOrderManager(key, ws_url)
    await oms.connect()
    await oms.subscribe_book("BTC-PERP")
    run = asyncio.create_task(oms.run())
    loop = asyncio.get_running_loop()

    async def until(check, timeout: float = 10.0) -> None:
        deadline = loop.time() + timeout
        while not check():
            assert loop.time() < deadline and not run.done(), "timed out"
            await asyncio.sleep(0.02)

    try:
        book = oms.books["BTC-PERP"]
        await until(lambda: book.mid_price is not None)  # its replica, from book_update levels
        resting = await oms.submit_order("BTC-PERP", article_oms.OrderSide.BUY, 50000.0, 0.01)
        await until(lambda: resting.status is article_oms.OrderStatus.OPEN)
        assert oms.avg_latency_us > 0
        taking = await oms.submit_order("BTC-PERP", article_oms.OrderSide.BUY, 70000.0, 0.002)
        await until(lambda: taking.status is article_oms.OrderStatus.FILLED)
        assert taking.filled_qty >= 0.002 and not oms._kill_switch
        await oms.cancel_order(resting.order_id)
    finally:
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        assert oms._ws is not None
        await oms._ws.close()
