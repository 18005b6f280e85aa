"""Risk controls against the real venue on loopback, checked from the venue's side: a control
trips at its threshold and not before, and once tripped no new order reaches the venue."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.model import OrderType, Side
from agenthft.risk import Reason, RiskConfig, RiskState
from agenthft.runtime import Runner
from agenthft.strategies import Quoter, Strategy
from agenthft.venue import VenueServer

from .conftest import Venue, config, run_cmd
from .test_runtime import get, register, settle


class Idle(Strategy):
    name = "idle"
    markets = ("BTC-PERP",)


def count_venue_orders(srv: VenueServer) -> Counter[str]:
    """Instrument the real venue: how many orders each account got to the engine."""
    seen: Counter[str] = Counter()
    engine = srv.venue.engine
    submit = engine.submit

    def counting(account: str, *a: Any, **kw: Any) -> Any:
        seen[account] += 1
        return submit(account, *a, **kw)

    engine.submit = counting  # type: ignore[method-assign]
    return seen


async def agent(
    srv: VenueServer, http: aiohttp.ClientSession, strategy: Strategy, **risk: Any
) -> tuple[Runner, str, str]:
    key = await register(http, srv, "agent")
    runner = Runner(
        strategy, AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(**{"stale_ms": 1000, **risk})
    )
    await runner.start()
    account = srv.venue.keys.authenticate(key).account_id  # type: ignore[union-attr]
    return runner, key, account


async def test_kill_switch_trips_on_the_nth_consecutive_fault_not_on_benign_rejects(venue: Venue):
    """Post-only quotes the venue refuses because they would cross are a maker's daily bread:
    counted as benign, no halt. Orders the account cannot pay for are faults: the third in a
    row halts, and nothing more reaches the venue."""
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, _, account = await agent(srv, http, Idle(), max_consecutive_faults=3, max_consecutive_benign=10)
    other = await register(http, srv, "maker")
    async with http.post(
        srv.rest_url + "/trading/orders",
        headers={"Authorization": f"Bearer {other}"},
        json={"market": "BTC-PERP", "side": "sell", "qty": 1, "price": 60000, "client_id": "ask"},
    ) as r:
        assert r.status == 200

    async def rejected(n: int) -> bool:
        return runner.risk.faults + runner.risk.benign >= n

    await settle(lambda: _true("BTC-PERP" in runner.risk.data_lag_ns))
    for i in range(6):  # post-only buys at the ask: the venue rejects each (would cross)
        assert runner.submit("BTC-PERP", Side.BUY, 1, 600000, OrderType.POST_ONLY) is not None
        await settle(lambda i=i: rejected(i + 1))
    assert runner.risk.state is RiskState.ACTIVE, "benign rejects do not halt under their own threshold"
    assert (runner.risk.faults, runner.risk.benign) == (0, 6)
    for i in range(6):  # 1,000 BTC at 59,000: far more margin than the sandbox account holds
        sent = runner.submit("BTC-PERP", Side.BUY, 1_000_000, 590000)
        if i < 3:
            assert sent is not None
            await settle(lambda i=i: rejected(7 + i))
        if i == 1:
            assert runner.risk.state is RiskState.ACTIVE, "not before the threshold"
    assert runner.risk.state is RiskState.HALTED
    assert [e.reason for e in runner.risk.events if e.action == "halt"] == [Reason.KILL_SWITCH_FAULTS]
    assert seen[account] == 9, "6 post-only + 3 oversized; the 4th to 6th never reached the venue"
    summary = runner.summary()["rejects"]
    assert summary == {
        "faults": 3,
        "benign": 6,
        "by_code": {"insufficient_balance": 3, "post_only_would_cross": 6},
    }
    await runner.stop()


async def test_manual_override_leaves_zero_open_orders_on_the_venue(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, key, account = await agent(srv, http, Quoter("BTC-PERP", "0.005", 3, "60000"))
    await settle(lambda: _nonempty(http, srv, key))
    runner.manual_override("test")
    await settle(lambda: _empty(http, srv, key))
    before = seen[account]
    assert runner.submit("BTC-PERP", Side.BUY, 1, 500000) is None
    await asyncio.sleep(0.1)
    assert seen[account] == before and runner.risk.state is RiskState.HALTED
    await runner.stop()


async def _nonempty(http, srv, key) -> bool:
    return bool(await get(http, srv, key, "/api/v1/orders"))


async def _empty(http, srv, key) -> bool:
    return not await get(http, srv, key, "/api/v1/orders")


async def test_position_limit_denies_increasing_orders_at_the_limit(venue: Venue):
    srv, http = venue.server, venue.http
    # quotes of 0.005 BTC at ~60,000 (300 USDC); limit 500 USDC of net notional per market
    runner, key, _ = await agent(srv, http, Quoter("BTC-PERP", "0.005", 3, "60000"), position_limit="500")
    assert not runner.denied, "the first quotes (300 USDC) fit under the limit"
    taker = await register(http, srv, "taker")
    body = {"market": "BTC-PERP", "side": "sell", "type": "market", "qty": 0.005, "client_id": "t1"}
    async with http.post(
        srv.rest_url + "/trading/orders", json=body, headers={"Authorization": f"Bearer {taker}"}
    ) as r:
        assert (await r.json())["filled_qty"] == 0.005
    await asyncio.sleep(0.2)  # long 0.005: a new bid would make it 0.010 (~600 USDC)
    denied = [e for e in runner.denied if e.reason is Reason.POSITION_LIMIT]
    assert denied and 590 < float(denied[0].value) <= 600 and denied[0].limit == "500.00"
    venue_open = await get(http, srv, key, "/api/v1/orders")
    assert [o["side"] for o in venue_open] == ["sell"], "only the reducing side stays quoted"
    await runner.stop()


async def test_sigusr1_and_halt_file_override_a_running_agent(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    for how in ("signal", "file"):
        key = await register(http, srv, f"agent-{how}")
        flag = tmp_path / f"halt-{how}"
        cmd = run_cmd(
            srv.ws_url, srv.rest_url, key, "--param", "qty=0.005", "--duration", "20", "--halt-file", str(flag)
        )
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        await settle(lambda key=key: _nonempty(http, srv, key), 20)
        if how == "signal":
            os.kill(proc.pid, signal.SIGUSR1)
        else:
            flag.write_text("halt")
        await settle(lambda key=key: _empty(http, srv, key), 10)
        await asyncio.sleep(0.3)
        assert await _empty(http, srv, key), "it stays halted: no new quotes"
        proc.terminate()
        await proc.wait()


async def _post(http, srv, key, **body) -> dict[str, Any]:
    async with http.post(srv.rest_url + "/trading/orders", json=body, headers={"Authorization": f"Bearer {key}"}) as r:
        return await r.json()  # type: ignore[no-any-return]


async def test_circuit_breaker_throttles_at_the_rate_and_not_before(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, _, account = await agent(srv, http, Idle(), max_orders_per_s=5)
    sent = [runner.submit("BTC-PERP", Side.BUY, 1, 500000 + i) for i in range(8)]
    assert [o is not None for o in sent] == [True] * 5 + [False] * 3
    assert {e.reason for e in runner.denied} == {Reason.CIRCUIT_BREAKER}
    assert all(e.action == "throttle" for e in runner.denied)
    await asyncio.sleep(0.1)
    assert seen[account] == 5
    await runner.stop()


async def test_venue_rate_limit_makes_the_agent_back_off_instead_of_hammering():
    srv = await VenueServer(config()).start()  # the venue's tier: 20 orders/s per key
    seen = count_venue_orders(srv)
    try:
        async with aiohttp.ClientSession() as http:
            runner, _, account = await agent(srv, http, Idle(), max_orders_per_s=1000, max_consecutive_faults=0)
            assert runner.risk.max_orders_per_s == 16, "by default the breaker sits under the venue's 20/s"
            runner.bucket.capacity = runner.bucket.tokens = 1000  # the client bucket would have prevented it
            runner.risk.max_orders_per_s = 1000  # and so would the breaker
            for i in range(25):
                runner.submit("BTC-PERP", Side.BUY, 1, 500000 + i)
            await asyncio.sleep(0.2)
            assert any(e.reason is Reason.EXCHANGE_RATE_LIMIT and e.action == "throttle" for e in runner.risk.events)
            arrived = seen[account]
            assert runner.submit("BTC-PERP", Side.BUY, 1, 400000) is None
            assert runner.denied[-1].reason is Reason.EXCHANGE_RATE_LIMIT
            await asyncio.sleep(0.1)
            assert seen[account] == arrived, "nothing reaches the venue during the backoff"
            await runner.stop()
    finally:
        await srv.stop()


async def test_stale_data_from_a_lagging_feed_pulls_quotes_and_blocks_orders(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, key, account = await agent(srv, http, Quoter("BTC-PERP", "0.005", 3, "60000"), stale_ms=50)
    await settle(lambda: _nonempty(http, srv, key))
    srv.delay.delay_s = 0.08  # the venue's feed now arrives 80 ms late
    other = await register(http, srv, "mover")
    await _post(http, srv, other, market="BTC-PERP", side="buy", type="limit", qty=0.001, price=59000, client_id="m1")
    await settle(lambda: _true(any(e.reason is Reason.STALE_DATA for e in runner.risk.events)), 5)
    await settle(lambda: _empty(http, srv, key), 5)  # quotes pulled
    arrived = seen[account]
    assert runner.submit("BTC-PERP", Side.BUY, 1, 500000) is None
    assert runner.denied[-1].reason is Reason.STALE_DATA and float(runner.denied[-1].value[:-2]) > 50
    srv.delay.delay_s = 0.0
    await asyncio.sleep(0.2)
    assert seen[account] == arrived
    await runner.stop()


async def _true(v: bool) -> bool:
    return v


async def test_fat_finger_notional_and_price_band_never_reach_the_venue(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, _, account = await agent(srv, http, Idle(), max_order_notional="1000", price_band_bps=100)
    other = await register(http, srv, "mm")
    for side, px in (("buy", 59990), ("sell", 60010)):
        await _post(
            http,
            srv,
            other,
            market="BTC-PERP",
            side=side,
            type="limit",
            qty=0.01,
            price=px,
            client_id=f"mm{side}",
        )
    await settle(lambda: _true(runner.books["BTC-PERP"].mid() is not None))
    assert runner.submit("BTC-PERP", Side.BUY, 16, 599000) is not None  # 0.016 x 59,900 = 958 USDC
    assert runner.submit("BTC-PERP", Side.BUY, 20, 599000) is None  # 1,198 USDC > 1,000
    assert runner.denied[-1].reason is Reason.MAX_ORDER_NOTIONAL
    assert runner.submit("BTC-PERP", Side.BUY, 1, 593000) is None  # 116 bps under the mid
    assert runner.denied[-1].reason is Reason.PRICE_BAND
    await asyncio.sleep(0.1)
    assert seen[account] == 1
    await runner.stop()


async def test_daily_loss_limit_halts_and_cancels_everything_on_the_venue(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, key, account = await agent(srv, http, Idle(), daily_loss_limit="10")
    mm = await register(http, srv, "mm")
    await _post(http, srv, mm, market="BTC-PERP", side="sell", type="limit", qty=0.01, price=60000, client_id="ask1")
    await _post(http, srv, mm, market="BTC-PERP", side="sell", type="limit", qty=0.01, price=60100, client_id="ask2")
    await _post(http, srv, mm, market="BTC-PERP", side="buy", type="limit", qty=0.01, price=50000, client_id="bid")
    await settle(lambda: _true(runner.books["BTC-PERP"].best_ask() is not None))
    runner.submit("BTC-PERP", Side.BUY, 1, 450000)  # a resting bid that the halt must cancel
    runner.submit("BTC-PERP", Side.BUY, 10, 600000, OrderType.IOC)  # buys at 60,000; mid falls to 55,050
    await settle(lambda: _true(runner.risk.state is RiskState.HALTED), 5)
    ev = next(e for e in runner.risk.events if e.reason is Reason.DAILY_LOSS)
    assert float(ev.value) > 10 and ev.limit == "10.00" and ev.action == "cancel_all"
    await settle(lambda: _empty(http, srv, key), 5)
    arrived = seen[account]
    assert runner.submit("BTC-PERP", Side.BUY, 1, 450000) is None
    await asyncio.sleep(0.1)
    assert seen[account] == arrived
    await runner.stop()


async def test_a_daily_loss_limit_set_live_is_watched_from_the_next_mark_move(venue: Venue):
    """With no P&L limit the runtime does not work P&L out on every mark move; a limit set while
    running (the control plane's set_limits) trips on the next move."""
    srv, http = venue.server, venue.http
    runner, _, _ = await agent(srv, http, Idle())
    assert not runner.risk.watches_pnl
    mm = await register(http, srv, "mm")
    await _post(http, srv, mm, market="BTC-PERP", side="sell", type="limit", qty=0.01, price=60000, client_id="ask1")
    await _post(http, srv, mm, market="BTC-PERP", side="buy", type="limit", qty=0.01, price=50000, client_id="bid1")
    await settle(lambda: _true(runner.books["BTC-PERP"].best_ask() is not None))
    runner.submit("BTC-PERP", Side.BUY, 10, 600000, OrderType.IOC)  # long 0.01 at 60,000
    await settle(lambda: _true(runner.oms.position("BTC-PERP").size == 10), 5)
    runner.risk.reconfigure({"daily_loss_limit": "10"})
    assert runner.risk.state is RiskState.ACTIVE
    taker = await register(http, srv, "taker")
    await _post(http, srv, taker, market="BTC-PERP", side="sell", type="limit", qty=0.01, price=50000, client_id="s1")
    await settle(lambda: _true(runner.risk.state is RiskState.HALTED), 5)  # traded at 50,000: -100 USDC
    assert any(e.reason is Reason.DAILY_LOSS for e in runner.risk.events)
    await runner.stop()


async def test_rtt_over_threshold_and_connection_loss_cancel_and_block(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    key = await register(http, srv, "agent")
    runner = Runner(
        Quoter("BTC-PERP", "0.005", 3, "60000"),
        # pings every 0.1 s; reconnects only after 2 s: it stays down while we look
        AgenthftPort(srv.ws_url, srv.rest_url, key, session={"ping_interval_s": 0.1, "backoff_initial_s": 2.0}),
        risk=RiskConfig(stale_ms=1000, max_rtt_ms=5),
    )
    await runner.start()
    account = srv.venue.keys.authenticate(key).account_id  # type: ignore[union-attr]
    await settle(lambda: _nonempty(http, srv, key))
    srv.delay.delay_s = 0.01  # 20 ms RTT
    await settle(lambda: _true(any(e.reason is Reason.RTT_LIMIT for e in runner.risk.events)), 5)
    await settle(lambda: _empty(http, srv, key), 5)
    assert runner.submit("BTC-PERP", Side.BUY, 1, 500000) is None
    assert runner.denied[-1].reason is Reason.RTT_LIMIT
    srv.delay.delay_s = 0.0
    arrived = seen[account]
    runner.port.drop()
    await settle(lambda: _true(any(e.reason is Reason.CONNECTION_LOST for e in runner.risk.events)), 5)
    assert runner.submit("BTC-PERP", Side.BUY, 1, 500000) is None  # not connected: nothing sent
    assert seen[account] == arrived
    await runner.stop()


async def test_max_open_orders_stops_at_the_limit(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, _, account = await agent(srv, http, Idle(), max_open_orders=3)
    sent = [runner.submit("BTC-PERP", Side.BUY, 1, 500000 + i) for i in range(4)]
    assert [o is not None for o in sent] == [True, True, True, False]
    assert runner.denied[-1].reason is Reason.MAX_OPEN_ORDERS and runner.denied[-1].limit == "3"
    await asyncio.sleep(0.1)
    assert seen[account] == 3
    await runner.stop()


async def test_loss_threshold_goes_reduce_only_then_only_reducing_orders_reach_the_venue(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    runner, _, account = await agent(srv, http, Idle(), reduce_at_loss="2", pnl_kill="1000")
    mm = await register(http, srv, "mm")
    for side, px, cid in (("sell", 60000, "ask"), ("buy", 59150, "bid"), ("sell", 59200, "ask2")):
        await _post(http, srv, mm, market="BTC-PERP", side=side, type="limit", qty=0.01, price=px, client_id=cid)
    await settle(lambda: _true(runner.books["BTC-PERP"].best_bid() is not None))
    runner.submit("BTC-PERP", Side.BUY, 10, 592000, OrderType.IOC)  # long 0.01 at 59,200
    await settle(lambda: _true(bool(runner.oms.positions)), 5)
    assert runner.risk.state is RiskState.ACTIVE, "marked at the last trade, 59,200: only fees, under 2"
    async with http.delete(srv.rest_url + "/trading/orders/bid", headers={"Authorization": f"Bearer {mm}"}):
        pass
    await _post(http, srv, mm, market="BTC-PERP", side="buy", type="limit", qty=0.01, price=58000, client_id="bid2")
    taker = await register(http, srv, "taker")  # a trade at 58,000 moves the mark (last trade): -12 USDC
    await _post(http, srv, taker, market="BTC-PERP", side="sell", type="ioc", qty=0.001, price=58000, client_id="t")
    await settle(lambda: _true(runner.risk.state is RiskState.REDUCING), 5)
    ev = next(e for e in runner.risk.events if e.action == "reduce")
    assert ev.reason is Reason.PNL_KILL and float(ev.value) > 2 and ev.limit == "2.00"
    arrived = seen[account]
    assert runner.submit("BTC-PERP", Side.BUY, 1, 500000) is None
    assert runner.denied[-1].reason is Reason.REDUCE_ONLY
    assert runner.submit("BTC-PERP", Side.SELL, 5, 620000) is not None  # reducing: passes
    await asyncio.sleep(0.1)
    assert seen[account] == arrived + 1
    await runner.stop()


async def test_total_position_limit_counts_every_market(venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    key = await register(http, srv, "agent")

    class Both(Strategy):
        name = "both"
        markets = ("BTC-PERP", "ETH-USDC")

    runner = Runner(
        Both(), AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(stale_ms=1000, total_position_limit="500")
    )
    await runner.start()
    account = srv.venue.keys.authenticate(key).account_id  # type: ignore[union-attr]
    mm = await register(http, srv, "mm")
    await _post(http, srv, mm, market="BTC-PERP", side="sell", type="limit", qty=0.005, price=60000, client_id="ask")
    await settle(lambda: _true(runner.books["BTC-PERP"].best_ask() is not None))
    assert runner.submit("BTC-PERP", Side.BUY, 5, 600000, OrderType.IOC) is not None  # 300 USDC long
    await settle(lambda: _true(bool(runner.oms.positions)), 5)
    assert runner.submit("ETH-USDC", Side.BUY, 6, 300000) is not None  # 0.06 ETH x 3,000 = 180: 480 total
    assert runner.submit("ETH-USDC", Side.BUY, 2, 300000) is None  # 240 with the open order: 540 > 500
    ev = runner.denied[-1]
    assert ev.reason is Reason.TOTAL_POSITION_LIMIT and ev.limit == "500.00" and float(ev.value) > 500
    await asyncio.sleep(0.1)
    assert seen[account] == 2
    await runner.stop()
