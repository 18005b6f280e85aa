"""ccxt 4.5.90's `hyperliquid` (async REST and ccxt.pro), which nobody here wrote, against the
venue's Hyperliquid front on loopback, with its default options: its builder-fee approval,
referrer and account-abstraction calls are answered as Hyperliquid answers them, and it signs
as mainnet whatever its URL (the front recovers either network). Markets, books, orders over
REST and the WebSocket `post`, modify, cancel, positions, balances, fills streamed. Every call
must succeed and agree with the venue's own state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from agenthft.connectors.ccxt_port import point_at
from agenthft.model import OrderStatus, Side

from .hyperliquid_env import HyperliquidEnv

S = "BTC/USDC:USDC"


def exchange(env: HyperliquidEnv, key: str | None = None, address: str | None = None) -> Any:
    ex = ccxtpro.hyperliquid({"walletAddress": address or env.address, "privateKey": key or env.wallet.private_key})
    point_at(ex.urls, env.base_url)
    return ex


@pytest.fixture
async def ex(hyperliquid: HyperliquidEnv) -> AsyncIterator[Any]:
    e = exchange(hyperliquid)
    yield e
    await e.close()


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_ccxt_rest_markets_book_orders_positions_balance(hyperliquid: HyperliquidEnv, ex: Any):
    env = hyperliquid
    v = env.venue
    env.liquidity(Side.SELL, "60010", "0.05")
    env.liquidity(Side.BUY, "59990", "0.05")
    calls = 0
    markets = await ex.load_markets()
    calls += 1
    m = markets[S]
    assert (m["id"], m["baseName"], m["precision"]["price"], m["precision"]["amount"]) == ("0", "BTC", 1.0, 0.00001)
    assert markets["HYPE/USDC"]["baseId"] == "10000"
    book = await ex.fetch_order_book(S)
    calls += 1
    assert (book["bids"], book["asks"]) == ([[59990.0, 0.05]], [[60010.0, 0.05]])
    cloid = "0x0000000000000000000000000000abcd"
    o = await ex.create_order(S, "limit", "buy", 0.01, 59000, {"postOnly": True, "clientOrderId": cloid})
    calls += 1
    info = v.find_order(env.account, cloid)
    assert info is not None and o["id"] == str(info.oid) and o["clientOrderId"] == cloid
    fetched = await ex.fetch_order(o["id"], S)
    calls += 1
    assert (fetched["status"], fetched["price"], fetched["amount"], fetched["postOnly"]) == ("open", 59000, 0.01, True)
    assert [x["id"] for x in await ex.fetch_open_orders(S)] == [o["id"]]
    calls += 1
    edited = await ex.edit_order(o["id"], S, "limit", "buy", 0.02, 59001, {"postOnly": True})
    calls += 1
    assert edited["id"] == o["id"] and (info.price, info.qty) == (59001, 2000)
    cancelled = await ex.cancel_order(o["id"], S)
    calls += 1
    assert cancelled["info"] == "success" and info.status is OrderStatus.CANCELLED
    assert (await ex.fetch_order(o["id"], S))["status"] == "canceled"
    calls += 1
    t = await ex.create_order(S, "market", "buy", 0.03, 60000)  # ccxt needs a price: its slippage bound
    calls += 1
    assert (t["filled"], t["average"]) == (0.03, 60010.0)  # ccxt leaves the status of a "filled" answer None
    trades = await ex.fetch_my_trades(S)
    calls += 1
    venue_fills = [f for i in v.done_orders(env.account) for f in i.fills]
    assert [(x["id"], x["price"], x["amount"], x["side"], x["takerOrMaker"]) for x in trades] == [
        (str(venue_fills[0].trade_id), 60010.0, 0.03, "buy", "taker")
    ]
    positions = await ex.fetch_positions([S])
    calls += 1
    assert [(p["symbol"], p["contracts"], p["side"], p["entryPrice"]) for p in positions] == [
        (S, 0.03, "long", 60010.0)
    ]
    assert v.engine.accounts[env.account].positions["BTC-PERP"].size == 3000
    bal = await ex.fetch_balance()
    calls += 1
    assert bal["USDC"]["total"] == pytest.approx(v.balances(env.account)["USDC"]["total"])
    for i in range(2):
        await ex.create_order(S, "limit", "sell", 0.001, 61000 + i)
    await ex.cancel_all_orders_after(60_000)  # the dead man's switch, a minute out
    calls += 3
    assert env.account in env.front.schedules
    ids = [x["id"] for x in await ex.fetch_open_orders(S)]
    await ex.cancel_orders(ids, S)
    calls += 2
    assert v.open_order_infos(env.account) == []
    await ex.set_leverage(3, S)
    calls += 1
    assert env.front.leverage[(env.account, "BTC-PERP")] == (3, True)
    calls += 1
    assert abs(await ex.fetch_time() - time.time() * 1000) < 60_000
    assert calls == 19


async def test_ccxt_errors_by_class(hyperliquid: HyperliquidEnv, ex: Any):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.05")
    await ex.load_markets()
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order("999999", S)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order("999999", S)
    with pytest.raises(ccxt.InvalidOrder, match="Post only order would have immediately matched"):
        await ex.create_order(S, "limit", "buy", 0.01, 60010, {"postOnly": True})
    with pytest.raises(ccxt.InvalidOrder, match="could not immediately match"):
        await ex.create_order(S, "limit", "buy", 0.01, 50000, {"timeInForce": "IOC"})
    with pytest.raises(ccxt.InvalidOrder, match="Reduce only"):
        await ex.create_order(S, "limit", "sell", 0.01, 61000, {"reduceOnly": True})
    with pytest.raises(ccxt.InvalidOrder, match=r"minimum value of \$10"):
        await ex.create_order(S, "limit", "buy", 0.0001, 59000)
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order(S, "limit", "buy", 200, 59000)
    stranger = exchange(env, "0x" + "22" * 32, "0x" + "33" * 20)
    try:
        await stranger.load_markets()
        with pytest.raises(ccxt.InvalidOrder, match="User or API Wallet"):
            await stranger.create_order(S, "limit", "buy", 0.01, 59000)
    finally:
        await stranger.close()
    assert env.venue.open_order_infos(env.account) == []


async def test_ccxt_trades_with_the_approved_agent_key(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.05")
    agent = exchange(env, env.agent.private_key, env.address)  # walletAddress: the master
    agent.options.update({"approvedBuilderFee": True, "builderFee": False, "refSet": True})
    try:
        await agent.load_markets()
        o = await agent.create_order(S, "limit", "buy", 0.01, 60010, {"timeInForce": "IOC"})
        assert o["filled"] == 0.01
        assert env.venue.engine.accounts[env.account].positions["BTC-PERP"].size == 1000
        assert len(await agent.fetch_my_trades(S)) == 1, "read with the master's address"
    finally:
        await agent.close()


async def test_ccxt_pro_posts_orders_on_the_socket_and_streams_book_orders_and_fills(
    hyperliquid: HyperliquidEnv, ex: Any
):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.05")
    env.liquidity(Side.BUY, "59990", "0.05")
    await ex.load_markets()
    book = await ex.watch_order_book(S)
    assert (book["bids"][0], book["asks"][0]) == ([59990.0, 0.05], [60010.0, 0.05])
    orders: list[Any] = []
    fills: list[Any] = []

    async def watch(fn: Callable[[], Any], into: list[Any]) -> None:
        while True:
            into.extend(await fn())

    tasks = [
        asyncio.create_task(watch(lambda: ex.watch_orders(S), orders)),
        asyncio.create_task(watch(lambda: ex.watch_my_trades(S), fills)),
    ]
    try:
        user = env.address.lower()
        await until(lambda: {("orderUpdates", user), ("userFills", user)} <= env.front.hub.subs.keys())
        rest = await ex.create_order_ws(S, "limit", "buy", 0.01, 59000)
        assert env.venue.find_order(env.account, None, int(rest["id"])) is not None
        edited = await ex.edit_order_ws(rest["id"], S, "limit", "buy", 0.01, 59500)
        assert edited["id"] == rest["id"]
        await ex.cancel_order_ws(rest["id"], S)
        take = await ex.create_order_ws(S, "limit", "buy", 0.02, 60010, {"timeInForce": "IOC"})
        assert take["filled"] == 0.02
        await until(lambda: len(fills) >= 1 and any(o["status"] == "canceled" for o in orders))
        venue_fill = env.venue.find_order(env.account, None, int(take["id"])).fills[0]  # type: ignore[union-attr]
        assert (fills[0]["id"], fills[0]["order"], fills[0]["price"]) == (
            str(venue_fill.trade_id),
            take["id"],
            60010.0,
        )
        book = await ex.watch_order_book(S)
        assert book["asks"][0] == [60010.0, 0.03]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
