"""Our Binance USD-M connector (connectors/binance_usdm) against the venue's Binance front on
loopback: the same agent core trading through Binance's wire protocol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from agenthft.connectors.binance_usdm import BinanceUsdmPort, endpoints
from agenthft.connectors.binance_usdm.signing import Signer
from agenthft.model import OrderType, Side
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.strategies import Strategy
from agenthft.strategies.base import Context

from .binance_env import running


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.02)):
        if cond():
            return True
        await asyncio.sleep(0.02)
    return cond()


class Idle(Strategy):
    markets = ("BTCUSDT",)

    def on_book(self, ctx: Context, market: str) -> None:
        pass


def port_for(env: Any, **kw: Any) -> BinanceUsdmPort:
    return BinanceUsdmPort(endpoints(f"binance-usdm@{env.base_url}"), env.api_key, Signer(secret=env.secret), **kw)


async def test_the_agent_reads_books_places_fills_and_cancels_through_binances_protocol(binance):
    env = binance
    env.liquidity(Side.SELL, "60010", "0.5")
    env.liquidity(Side.BUY, "59990", "0.5")
    runner = Runner(Idle(), port_for(env), risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        book = runner.books["BTCUSDT"]
        assert await until(lambda: book.best_bid() == 599_900 and book.best_ask() == 600_100), "the REST snapshot"
        env.liquidity(Side.BUY, "59995", "0.2")  # a diff on the stream
        assert await until(lambda: book.best_bid() == 599_950)
        # a post-only bid rests; an IOC buy takes the ask
        rest = runner.submit("BTCUSDT", Side.BUY, 10, 599_800, OrderType.POST_ONLY)
        take = runner.submit("BTCUSDT", Side.BUY, 5, 600_100, OrderType.IOC)
        assert rest is not None and take is not None
        assert await until(lambda: rest.status.value == "open" and take.status.value == "filled")
        # a post-only that would cross is rejected with our code
        cross = runner.submit("BTCUSDT", Side.BUY, 1, 600_100, OrderType.POST_ONLY)
        assert cross is not None
        assert await until(lambda: cross.status.value == "rejected")
        assert cross.reject_code == "post_only_would_cross"
        assert runner.cancel(rest.order_id)
        assert await until(lambda: rest.status.value == "cancelled")
        # the venue's own account agrees with the agent, fill for fill
        fills = {f.fill_id for f in (await runner.port.snapshot()).fills}
        assert fills == runner.oms.seen_fills and len(fills) == 1
        pos = runner.oms.positions["BTCUSDT"]
        assert pos.size == 5
    finally:
        await runner.stop(cancel_orders=True)


class Named(Idle):
    markets = ("BTC-PERP",)  # Binance lists it as BTCUSDT; the strategy keeps its own name


async def test_a_strategy_naming_a_market_by_its_alias_trades_it_under_that_name(binance):
    env = binance
    env.liquidity(Side.SELL, "60010", "0.5")
    runner = Runner(Named(), port_for(env), risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        assert "BTC-PERP" in runner.books and "BTC-PERP" in runner.instruments
        assert await until(lambda: runner.books["BTC-PERP"].best_ask() == 600_100)
        o = runner.submit("BTC-PERP", Side.BUY, 2, 600_100, OrderType.IOC)
        assert o is not None
        assert await until(lambda: o.status.value == "filled")
        assert runner.oms.positions["BTC-PERP"].size == 2
        snap = await runner.port.snapshot()
        assert {f.market for f in snap.fills} == {"BTC-PERP"}
    finally:
        await runner.stop(cancel_orders=True)


async def test_a_dropped_connection_reconnects_and_reconciles_what_happened_meanwhile(binance):
    env = binance
    env.liquidity(Side.SELL, "60010", "0.5")
    port = port_for(env)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        o = runner.submit("BTCUSDT", Side.BUY, 3, 599_000, OrderType.LIMIT)
        assert o is not None and await until(lambda: o.status.value == "open")
        port.drop()  # every connection cut; meanwhile someone sells into our bid
        env.liquidity(Side.SELL, "59900", "0.003", OrderType.IOC, by_other=True)
        assert await until(lambda: port.reconnects >= 1 and runner.reconcile_count >= 2, 15)
        assert await until(lambda: o.status.value == "filled", 10), "the fill missed while away, reconciled"
        venue_fills = {f.fill_id for f in (await port.snapshot()).fills}
        assert venue_fills == runner.oms.seen_fills
        assert not [a for a in runner.oms.anomalies if a.kind == "illegal_transition"]
    finally:
        await runner.stop(cancel_orders=True)


async def test_an_expired_listen_key_is_renewed_and_the_account_reconciled():
    async with running(listen_key_ttl_s=1.0) as env:
        port = port_for(env)
        runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
        try:
            env.liquidity(Side.SELL, "60010", "0.5")
            await runner.start()
            assert await until(lambda: port.expired_keys >= 1 and runner.reconcile_count >= 2, 10)
            o = runner.submit("BTCUSDT", Side.BUY, 1, 600_100, OrderType.IOC)
            assert o is not None and await until(lambda: o.status.value == "filled"), "events flow on the new key"
            assert {f.fill_id for f in (await port.snapshot()).fills} == runner.oms.seen_fills
        finally:
            await runner.stop(cancel_orders=True)


async def test_the_minimum_notional_is_read_from_exchange_info_and_denied_locally_and_a_small_close_goes_reduce_only():
    """An order under MIN_NOTIONAL never leaves (a venue reject would count toward the kill
    switch); closing part of a position under it goes reduceOnly, which Binance exempts."""
    import msgspec

    from .binance_env import ETH, PERP, config

    cfg = msgspec.structs.replace(config(), markets=[msgspec.structs.replace(PERP, min_notional="100"), ETH])
    async with running(cfg) as env:
        port = port_for(env)
        runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
        try:
            env.liquidity(Side.SELL, "60010", "0.5")
            env.liquidity(Side.BUY, "59990", "0.5")
            await runner.start()
            assert runner.instruments["BTCUSDT"].min_notional == "100", "from the MIN_NOTIONAL filter"
            assert await until(lambda: runner.books["BTCUSDT"].best_ask() == 600_100)
            assert runner.submit("BTCUSDT", Side.BUY, 1, 600_100, OrderType.IOC) is None  # 60 USD
            assert runner.risk.counts.get("min_notional") == 1 and runner.sent_orders == 0
            o = runner.submit("BTCUSDT", Side.BUY, 3, 600_100, OrderType.IOC)  # 180 USD
            assert o is not None and await until(lambda: o.status.value == "filled")
            close = runner.submit("BTCUSDT", Side.SELL, 1, 599_900, OrderType.IOC)  # 60 USD, reducing
            assert close is not None
            assert await until(lambda: close.status.value == "filled"), close.reject_code
            assert runner.oms.positions["BTCUSDT"].size == 2 and runner.risk.faults == 0
            assert {f.fill_id for f in (await port.snapshot()).fills} == runner.oms.seen_fills
        finally:
            await runner.stop(cancel_orders=True)


async def test_a_skewed_clock_is_resynchronised_once_not_a_loop_of_rejects(binance):
    env = binance
    env.liquidity(Side.SELL, "60010", "0.5")
    port = port_for(env)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        port.rest.offset_ms = -120_000  # our idea of the venue's clock is two minutes behind
        o = runner.submit("BTCUSDT", Side.BUY, 1, 600_100, OrderType.IOC)
        assert o is not None and await until(lambda: o.status.value == "filled"), "resent after the resync"
        assert abs(port.rest.offset_ms) < 5_000, "measured again"
        assert o.reject_code == ""
    finally:
        await runner.stop(cancel_orders=True)


async def test_a_429_storm_backs_the_agent_off_instead_of_hammering():
    from agenthft.venue.config import Tier

    from .binance_env import config

    async with running(config(Tier(orders_per_s=2, rest_per_min=600, abuse_per_s=1000))) as env:
        port = port_for(env)
        runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0), orders_per_s=1e6)
        await runner.start()
        try:
            from agenthft.connectors.port import OrderRequest

            for i in range(30):  # straight to the port: past the agent's own throttle
                port.place(OrderRequest(f"storm{i}", "BTCUSDT", Side.BUY, 1, 590_000 - i, OrderType.LIMIT))
            assert await until(lambda: runner.risk.backoff_until_ns > 0, 5), "told to back off"
            assert runner.risk.counts.get("exchange_rate_limit", 0) >= 1
            denied = runner.submit("BTCUSDT", Side.BUY, 1, 589_000, OrderType.LIMIT)
            assert denied is None, "the agent holds its orders during the backoff"
        finally:
            await runner.stop(cancel_orders=True)


async def test_a_new_session_learns_old_orders_client_ids_in_one_request_not_one_each(binance):
    """Reconciling an account with history: the fills of orders this session never saw get
    their client ids from one allOrders page, not a query per order (under load, N queries
    timed a soak's start out)."""
    env = binance
    env.liquidity(Side.SELL, "60010", "5")
    first = Runner(Idle(), port_for(env), risk=RiskConfig(stale_ms=0))
    await first.start()
    try:
        takes = [first.submit("BTCUSDT", Side.BUY, 1, 600_100, OrderType.IOC) for _ in range(6)]
        assert all(takes)
        assert await until(lambda: len(first.oms.seen_fills) == 6)
    finally:
        await first.stop()
    port = port_for(env)
    await port.instruments()
    queries = 0
    query = port.rest.query_order

    async def counted(symbol: str, order_id: int) -> dict[str, Any]:
        nonlocal queries
        queries += 1
        return await query(symbol, order_id)

    port.rest.query_order = counted  # type: ignore[method-assign]
    second = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
    await second.start()
    try:
        snap = await port.snapshot()
        assert {f.order_id for f in snap.fills} == {o.order_id for o in takes if o is not None}
        assert queries == 0
    finally:
        await second.stop()


async def test_reconciliation_reads_every_fill_of_a_session_longer_than_one_page(binance):
    """userTrades answers at most 1,000 trades: after the first snapshot the connector pages
    forward by `fromId` from where it started, so no fill of a long session is missed (pages of
    7 here: 3 fills before the session, then 20 during it)."""
    env = binance
    user = env.record
    for i in range(3):  # the account's earlier fills
        env.liquidity(Side.SELL, "60000", "0.001")
        assert env.venue.place(user, f"old{i}", "BTC-PERP", Side.BUY, "0.001", "60000", OrderType.IOC,
                               now_ns=time.time_ns()).filled  # fmt: skip
    port = port_for(env)
    await port.instruments()
    first = await port._trades_since("BTCUSDT", page=7)
    assert len(first) == 3, "the first read: the most recent page"
    for i in range(20):
        env.liquidity(Side.SELL, "60000", "0.001")
        assert env.venue.place(user, f"new{i}", "BTC-PERP", Side.BUY, "0.001", "60000", OrderType.IOC,
                               now_ns=time.time_ns()).filled  # fmt: skip
    every = await port._trades_since("BTCUSDT", page=7)
    ids = [int(t["id"]) for t in every]
    assert len(ids) == 23 and ids == sorted(set(ids)), "every fill since, once, in order, over 4 pages"
    status, last, _ = await env.request("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "limit": 5})
    assert status == 200 and [t["id"] for t in last] == ids[-5:], "without fromId: the most recent"
    status, page, _ = await env.request(
        "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "limit": 5, "fromId": ids[2]}
    )
    assert status == 200 and [t["id"] for t in page] == ids[2:7], "with fromId: the first from it on"
    await port.close()


async def test_user_trades_outlive_the_finished_orders_the_venue_keeps(binance):
    """A quoter finishes far more orders than it fills: userTrades comes from the venue's fill
    history (`fills_kept`), not from the finished orders it keeps (`orders_kept`, 5 here)."""
    import msgspec

    env = binance
    env.venue.settings = msgspec.structs.replace(env.venue.settings, orders_kept=5)
    for i in range(12):
        env.liquidity(Side.SELL, "60000", "0.001")
        assert env.venue.place(env.record, f"t{i}", "BTC-PERP", Side.BUY, "0.001", "60000", OrderType.IOC,
                               now_ns=time.time_ns()).filled  # fmt: skip
    assert len(env.venue.done_orders(env.account)) == 5
    status, trades, _ = await env.request("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert status == 200 and len(trades) == 12, trades
    assert len({t["orderId"] for t in trades}) == 12, "each with its own order's id"
    port = port_for(env)  # a new session: 7 of the orders behind these fills are gone from the venue
    await port.instruments()
    snap = await port.snapshot()
    await port.close()
    assert len(snap.fills) == 12, "reconciliation reads them all"
    gone = [f.order_id for f in snap.fills if f.order_id.startswith("binance-")]
    assert len(gone) == 7, "orders the venue no longer keeps: under the exchange's own id, not an error"
