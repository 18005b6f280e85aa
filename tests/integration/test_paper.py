"""Paper trading: a venue's live public data, orders filled here by the L2 model (no orders
reach the venue)."""

from __future__ import annotations

import asyncio

import pytest

from agenthft.connectors.agenthft import AgenthftPort, RestClient
from agenthft.connectors.paper import PaperPort
from agenthft.connectors.simulated.latency import parse
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.strategies import Quoter
from tests.integration.test_cli_user import RunningVenue


@pytest.fixture(scope="module")
def calm():
    v = RunningVenue("--sim", "calm")
    yield v
    v.stop()


async def test_a_quoter_on_paper_fills_locally_and_sends_nothing_to_the_venue(calm: RunningVenue):
    port = PaperPort(AgenthftPort(calm.ws, calm.rest, calm.key), parse("colocated"))
    runner = Runner(Quoter("BTC-PERP", "0.001", 1, "60000", min_requote_ms=50), port, risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        for _ in range(300):  # up to 30 s of a calm market: the quoter sits at the touch
            if len(runner.oms.seen_fills) >= 3:
                break
            await asyncio.sleep(0.1)
        assert len(runner.oms.seen_fills) >= 3, "paper fills from the live trades"
        assert port.orders_in == runner.sent_orders > 0
        # the fills are the model's, and the agent agrees with them one to one; the model's open
        # orders are the agent's live ones. Both once nothing is in flight: a fill, an order or a
        # cancel inside the paper latency is made there and not yet seen here, or the reverse. So
        # the strategy stops deciding first (a quoter in a live market always has something in
        # flight: under load the polling below never met a quiet instant)
        await runner.quiesce(cancel_orders=True)
        for _ in range(100):
            snap = await port.snapshot()
            same_orders = {o.order_id for o in snap.open_orders} == set(runner.oms.live)
            if same_orders and {f.fill_id for f in port.fills} == runner.oms.seen_fills:
                break
            await asyncio.sleep(0.02)
        assert {f.fill_id for f in port.fills} == runner.oms.seen_fills
        assert {o.order_id for o in snap.open_orders} == set(runner.oms.live)
    finally:
        await runner.quiesce(cancel_orders=True)
        await runner.stop()
    async with RestClient(calm.rest, calm.key) as rest:
        assert await rest.fills() == [] and await rest.open_orders() == [], "nothing reached the venue"
