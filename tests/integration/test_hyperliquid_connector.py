"""Our Hyperliquid connector (connectors/hyperliquid) against the venue's Hyperliquid front on
loopback: the same agent core trading through Hyperliquid's wire protocol, signing with an
approved API wallet. BTC's grid on the connector: tick 0.1 (10^-(6 - szDecimals 5)), lot
0.00001; at 60000 only whole prices are valid (5 significant figures)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from agenthft.connectors.hyperliquid import HyperliquidPort, endpoints, price_ok, round_price
from agenthft.connectors.port import OrderRequest, VenueAuthError
from agenthft.model import OrderType, Side
from agenthft.protocol.hyperliquid.signing import Wallet
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.strategies import Strategy
from agenthft.strategies.base import Context
from agenthft.venue.config import Tier

from .hyperliquid_env import ROOMY, HyperliquidEnv, start, stop


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


class Idle(Strategy):
    markets = ("BTC",)

    def on_book(self, ctx: Context, market: str) -> None:
        pass


def port_for(env: HyperliquidEnv, wallet: Wallet | None = None, **kw: Any) -> HyperliquidPort:
    return HyperliquidPort(endpoints(f"hyperliquid@{env.base_url}"), wallet or env.agent, env.address, **kw)


def venue_fill_ids(env: HyperliquidEnv) -> set[int]:
    infos = env.venue.done_orders(env.account) + env.venue.open_order_infos(env.account)
    return {f.trade_id for i in infos for f in i.fills}


async def test_the_agent_reads_books_places_fills_amends_and_cancels_through_hyperliquids_protocol(hyperliquid):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    env.liquidity(Side.BUY, "59990", "0.5")
    port = port_for(env)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        inst = runner.instruments["BTC"]
        assert (inst.tick_size, inst.lot_size, port.max_leverage["BTC"]) == ("0.1", "0.00001", 10)
        book = runner.books["BTC"]
        assert await until(lambda: book.best_bid() == 599_900 and book.best_ask() == 600_100), "the first l2Book"
        env.liquidity(Side.BUY, "59995", "0.2")  # a change: the next book, diffed
        assert await until(lambda: book.best_bid() == 599_950)
        # a post-only bid rests; an IOC buy takes the ask
        rest = runner.submit("BTC", Side.BUY, 1000, 598_000, OrderType.POST_ONLY)
        take = runner.submit("BTC", Side.BUY, 500, 600_100, OrderType.IOC)
        assert rest is not None and take is not None
        assert await until(lambda: rest.status.value == "open" and take.status.value == "filled")
        venue_rest = env.venue.find_order(env.account, None, rest.venue_order_id)
        assert venue_rest is not None and venue_rest.order_id.startswith("0x8"), "our id, packed in the cloid"
        # a post-only that would cross, and an IOC that finds nothing: Hyperliquid's refusals, our codes
        cross = runner.submit("BTC", Side.BUY, 100, 600_100, OrderType.POST_ONLY)
        nothing = runner.submit("BTC", Side.BUY, 100, 500_000, OrderType.IOC)
        assert cross is not None and nothing is not None
        assert await until(lambda: all(o.status.value == "rejected" for o in (cross, nothing)))
        assert (cross.reject_code, nothing.reject_code) == ("post_only_would_cross", "ioc_not_filled")
        # under Hyperliquid's 10 USD minimum (5.90): denied by the agent, never sent to be refused
        assert inst.min_notional == "10"
        assert runner.submit("BTC", Side.BUY, 10, 590_000, OrderType.LIMIT) is None
        assert runner.risk.counts.get("min_notional") == 1
        # a price Hyperliquid refuses (6 significant figures) is never sent as is: the instrument
        # carries the rule and the agent rounds a bid down (never more aggressive than asked)
        assert inst.price_sig_figs == 5 and not price_ok(inst, 598_005)
        off = runner.submit("BTC", Side.BUY, 1000, 598_005, OrderType.POST_ONLY)
        assert off is not None and off.price == 598_000 and runner.prices_rounded == 1
        assert await until(lambda: off.status.value == "open"), off.status
        assert round_price(inst, 598_005, "down") == 598_000 and round_price(inst, 598_005, "up") == 598_010
        assert runner.cancel(off.order_id)
        # an amend keeps the order (batchModify), then a cancel
        assert runner.amend(rest.order_id, qty=2000, price=598_010)
        assert await until(lambda: (venue_rest.price, venue_rest.qty) == (59801, 2000))
        assert await until(lambda: (rest.qty, rest.price) == (2000, 598_010))
        assert runner.cancel(rest.order_id)
        assert await until(lambda: rest.status.value == "cancelled")
        # the venue's own account agrees with the agent, fill for fill
        snap = await runner.port.snapshot()
        assert {f.fill_id for f in snap.fills} == runner.oms.seen_fills == venue_fill_ids(env)
        assert len(runner.oms.seen_fills) == 1
        assert runner.oms.positions["BTC"].size == 500 and snap.positions == {"BTC": 500}
        assert not [a for a in runner.oms.anomalies if a.kind == "illegal_transition"]
    finally:
        await runner.stop(cancel_orders=True)


class Named(Idle):
    markets = ("BTC-PERP",)  # Hyperliquid names it BTC; the strategy keeps its own name


async def test_a_strategy_naming_a_market_by_its_alias_trades_it_under_that_name(hyperliquid):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    runner = Runner(Named(), port_for(env), risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        assert "BTC-PERP" in runner.books and "BTC-PERP" in runner.instruments
        assert await until(lambda: runner.books["BTC-PERP"].best_ask() == 600_100)
        o = runner.submit("BTC-PERP", Side.BUY, 200, 600_100, OrderType.IOC)
        assert o is not None
        assert await until(lambda: o.status.value == "filled")
        snap = await runner.port.snapshot()
        assert {f.market for f in snap.fills} == {"BTC-PERP"} and snap.positions == {"BTC-PERP": 200}
    finally:
        await runner.stop(cancel_orders=True)


async def test_a_dropped_connection_reconnects_and_reconciles_what_happened_meanwhile(hyperliquid):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    port = port_for(env)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        o = runner.submit("BTC", Side.BUY, 300, 590_000, OrderType.LIMIT)
        assert o is not None and await until(lambda: o.status.value == "open")
        port.drop()  # the socket cut; meanwhile someone sells into our bid
        env.liquidity(Side.SELL, "59000", "0.003", OrderType.IOC, by_other=True)
        assert await until(lambda: port.reconnects >= 1 and runner.reconcile_count >= 2, 15)
        assert await until(lambda: o.status.value == "filled", 10), "the fill missed while away, reconciled"
        assert {f.fill_id for f in (await port.snapshot()).fills} == runner.oms.seen_fills == venue_fill_ids(env)
        assert not [a for a in runner.oms.anomalies if a.kind == "illegal_transition"]
        book = runner.books["BTC"]
        env.liquidity(Side.SELL, "60005", "0.1")
        assert await until(lambda: book.best_ask() == 600_050), "books flow on the new socket"
    finally:
        await runner.stop(cancel_orders=True)


async def test_the_dead_mans_switch_is_renewed_and_cancels_when_the_agent_vanishes(hyperliquid):
    env = hyperliquid
    port = port_for(env, countdown_s=6.0, heartbeat_s=0.2)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        o = runner.submit("BTC", Side.BUY, 300, 590_000, OrderType.LIMIT)
        assert o is not None and await until(lambda: o.status.value == "open")
        assert await until(lambda: port.heartbeats >= 2), "renewed"
        due, _ = env.front.schedules[env.account]
        assert due > time.time() * 1000 + 5000
        for t in list(port._tasks):  # the agent freezes: no more renewals
            t.cancel()
        env.front.fire((due + 1) * 1_000_000)  # the venue's clock past the last renewal
        assert await until(lambda: o.status.value == "cancelled"), "told by orderUpdates: scheduledCancel"
        assert env.venue.open_order_infos(env.account) == []
    finally:
        await runner.stop()


async def test_an_unapproved_key_is_refused_at_connect_and_the_masters_own_key_trades(hyperliquid):
    env = hyperliquid
    stranger = Runner(Idle(), port_for(env, Wallet.create()), risk=RiskConfig(stale_ms=0))
    with pytest.raises(VenueAuthError, match="not an API wallet approved"):
        await stranger.start()
    env.liquidity(Side.SELL, "60010", "0.5")
    own = Runner(Idle(), port_for(env, env.wallet, ws_post=False), risk=RiskConfig(stale_ms=0))
    await own.start()
    try:  # the account's own key, orders over REST /exchange
        o = own.submit("BTC", Side.BUY, 200, 600_100, OrderType.IOC)
        assert o is not None and await until(lambda: o.status.value == "filled")
        assert own.oms.seen_fills == venue_fill_ids(env)
    finally:
        await own.stop(cancel_orders=True)


async def test_the_address_budget_running_out_backs_the_agent_off():
    env = await start(Tier(orders_per_s=500, cancels_per_s=500, rest_per_min=6000, abuse_per_s=1000), address_budget=20)
    port = port_for(env, countdown_s=0)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0), orders_per_s=1e6)
    try:
        env.liquidity(Side.SELL, "60010", "0.5")
        await runner.start()
        for i in range(30):  # straight to the port: past the agent's own throttle
            port.place(OrderRequest(f"storm{i}", "BTC", Side.BUY, 200, 500_000 - 10 * i, OrderType.LIMIT))
        assert await until(lambda: runner.risk.backoff_until_ns > 0, 5), "told to back off"
        assert runner.risk.counts.get("exchange_rate_limit", 0) >= 1
        assert runner.submit("BTC", Side.BUY, 200, 490_000, OrderType.LIMIT) is None, "holding its orders"
    finally:
        await runner.stop()
        await stop(env)


async def test_over_the_ip_weight_a_429_backs_the_agent_off():
    env = await start(ROOMY, ip_weight_per_min=220)  # start-up and reconciliation weigh 184
    port = port_for(env, countdown_s=0)
    runner = Runner(Idle(), port, risk=RiskConfig(stale_ms=0), orders_per_s=1e6)
    try:
        await runner.start()
        for i in range(60):
            port.place(OrderRequest(f"w{i}", "BTC", Side.BUY, 200, 500_000 - 10 * i, OrderType.LIMIT))
        assert await until(lambda: runner.risk.backoff_until_ns > 0, 5)
        assert runner.risk.counts.get("exchange_rate_limit", 0) >= 1
        assert len(env.venue.open_order_infos(env.account)) < 60, "the posts past the weight were refused"
    finally:
        await runner.stop()
        await stop(env)


class Spot(Idle):
    markets = ("HYPE-USDC",)  # Hyperliquid's HYPE/USDC pair, by its alias


async def test_a_spot_pair_trades_by_its_alias_on_spots_grid(hyperliquid):
    env = hyperliquid
    env.liquidity(Side.SELL, "25.5", "10", market="HYPE-USDC")
    runner = Runner(Spot(), port_for(env), risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        inst = runner.instruments["HYPE-USDC"]
        assert (inst.kind.value, inst.tick_size, inst.lot_size) == ("spot", "0.000001", "0.01")  # 8 - szDecimals 2
        assert await until(lambda: runner.books["HYPE-USDC"].best_ask() == 25_500_000)
        o = runner.submit("HYPE-USDC", Side.BUY, 200, 25_500_000, OrderType.IOC)
        assert o is not None and await until(lambda: o.status.value == "filled")
        snap = await runner.port.snapshot()
        assert {f.fill_id for f in snap.fills} == runner.oms.seen_fills == venue_fill_ids(env)
        assert snap.balances["HYPE"] == 1002 * 10**12, "the spot balance, in cash units"
    finally:
        await runner.stop(cancel_orders=True)


class Faulty(Strategy):
    """Rests a bid, then its code raises at every book whose best bid is 59995 or better (a
    strategy bug)."""

    markets = ("BTC",)

    def __init__(self) -> None:
        self.books = 0
        self.raised = 0
        self.bid: Any = None

    def on_book(self, ctx: Context, market: str) -> None:
        self.books += 1
        best = ctx.books["BTC"].best_bid()
        if best is not None and best >= 599_950:
            self.raised += 1
            raise ValueError("a strategy bug")
        if self.bid is None:
            self.bid = ctx.submit("BTC", Side.BUY, 1000, 598_000, OrderType.POST_ONLY)


async def test_a_strategy_that_raises_is_halted_as_its_own_error_and_its_orders_cancelled(hyperliquid):
    """The port used to catch a strategy's ValueError as a Hyperliquid message it did not
    understand: logged as the venue's, the message's other events dropped, the strategy left
    trading. Now the runner owns it: counted, the strategy halted (a strategy_error risk event)
    and its resting bid cancelled at the venue, while the books keep being applied."""
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    env.liquidity(Side.BUY, "59990", "0.5")
    strategy = Faulty()
    runner = Runner(strategy, port_for(env), risk=RiskConfig(stale_ms=0))
    await runner.start()
    try:
        env.liquidity(Side.BUY, "59994", "0.2")  # a book after the start: the strategy bids
        assert await until(lambda: strategy.bid is not None and strategy.bid.status.value == "open")
        assert runner.strategy_errors == 0
        env.liquidity(Side.BUY, "59995", "0.2")  # the next book: the strategy raises
        assert await until(lambda: runner.strategy_errors >= 1)
        assert runner.risk.state.value == "halted"
        assert runner.risk.trips[-1].reason == "strategy_error" and "ValueError" in runner.risk.trips[-1].value
        assert await until(lambda: not env.venue.open_order_infos(env.account)), "its bid cancelled at the venue"
        book = runner.books["BTC"]
        env.liquidity(Side.BUY, "59998", "0.1")
        assert await until(lambda: book.best_bid() == 599_980), "the books are still applied"
        assert strategy.raised >= 2 and runner.strategy_errors == strategy.raised, "each raise counted once"
        assert runner.port.connected
        assert runner.summary()["strategy_errors"] == runner.strategy_errors
        assert runner.submit("BTC", Side.BUY, 1000, 598_000, OrderType.POST_ONLY) is None, "halted: nothing new"
    finally:
        await runner.stop()
