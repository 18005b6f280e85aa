"""Our ccxt connector (`--venue ccxt:binanceusdm@URL`) running a shipped strategy against the
venue's Binance front on loopback, a simulated market moving underneath: the long tail's port
drives the same agent core, and the agent's fills are the venue's, fill for fill."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agenthft.connectors.ccxt_port import CcxtPort
from agenthft.market.sim.scenario import load_scenario
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.strategies.bbo_quoter import BboQuoter
from agenthft.venue.simdriver import SimDriver

from .test_binance_connector import until


async def test_a_shipped_strategy_through_ccxt_binanceusdm_fills_what_the_venue_fills(
    binance: Any, monkeypatch: pytest.MonkeyPatch
):
    env = binance
    monkeypatch.setenv("CCXT_API_KEY", env.api_key)
    monkeypatch.setenv("CCXT_SECRET", env.secret)
    driver = SimDriver(env.venue, load_scenario("calm"))
    driver.start()
    port = CcxtPort("binanceusdm", base_url=env.base_url)
    runner = Runner(BboQuoter("BTCUSDT", "0.002"), port, risk=RiskConfig(stale_ms=0))
    try:
        await runner.start()
        assert runner.instruments["BTCUSDT"].tick_size == "0.1"  # ccxt's precision mapped to our grid
        await until(lambda: len(runner.oms.seen_fills) >= 3, timeout=30)
    finally:
        await runner.stop(cancel_orders=True)
        await driver.stop()
    await asyncio.sleep(0.2)
    infos = env.venue.done_orders(env.account) + env.venue.open_order_infos(env.account, "BTC-PERP")
    venue = [(i, f) for i in infos for f in i.fills]  # the venue's own record of the account
    assert venue, "the quoter traded on the venue"
    ours = {f & ((1 << 40) - 1) for f in runner.oms.seen_fills}  # Binance's trade id, under our market's prefix
    assert ours == {f.trade_id for _, f in venue}, "the agent's fills are the venue's, by id"
    assert {i.order_id for i, _ in venue} <= set(runner.oms.orders), "under our client order ids"
    assert not [a for a in runner.oms.anomalies if a.kind == "illegal_transition"]
    pos = runner.oms.positions["BTCUSDT"].size
    signed = sum(f.qty if f.side.value == "buy" else -f.qty for _, f in venue)
    assert pos == signed, "the position is the venue's"
    fees = runner.oms.positions["BTCUSDT"].fees
    assert fees == sum(f.fee for _, f in venue), "fees as the venue charged them (a maker rebate is negative)"
