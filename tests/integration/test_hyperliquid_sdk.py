"""Hyperliquid's official Python SDK (hyperliquid-python-sdk 0.24.0), which nobody here wrote,
against the venue's Hyperliquid front on loopback: `Info` and `Exchange` with `base_url` pointed
at it. Every call must succeed and agree with the venue's own state (the Venue object).

The SDK is synchronous (requests, websocket-client): its calls run in a thread so the venue
keeps serving on this loop. It signs as testnet against any URL but mainnet's: the front
recovers either network's signature."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import eth_account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from agenthft.model import OrderStatus, Side

from .hyperliquid_env import HyperliquidEnv

GTC: Any = {"limit": {"tif": "Gtc"}}
ALO: Any = {"limit": {"tif": "Alo"}}
IOC: Any = {"limit": {"tif": "Ioc"}}


def exchange(env: HyperliquidEnv, key: str | None = None, master: str | None = None) -> Exchange:
    wallet = eth_account.Account.from_key(key or env.wallet.private_key)
    return Exchange(wallet, env.base_url, account_address=master)


async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def status(r: dict[str, Any], i: int = 0) -> Any:
    assert r["status"] == "ok", r
    return r["response"]["data"]["statuses"][i]


async def test_sdk_info_reads_the_venues_markets_book_and_mids(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    env.liquidity(Side.BUY, "59990", "0.25")
    env.liquidity(Side.BUY, "59990", "0.25")
    info = await call(Info, env.base_url, True)
    assert info.coin_to_asset == {"BTC": 0, "ETH": 1, "HYPE/USDC": 10000}
    assert info.asset_to_sz_decimals == {0: 5, 1: 4, 10000: 2}
    meta = await call(info.meta)
    universe = [(u["name"], u["szDecimals"], u["maxLeverage"]) for u in meta["universe"]]
    assert universe == [("BTC", 5, 10), ("ETH", 4, 10)]
    book = await call(info.l2_snapshot, "BTC")
    assert book["levels"] == [[{"px": "59990", "sz": "0.5", "n": 2}], [{"px": "60010", "sz": "0.5", "n": 1}]]
    assert (await call(info.all_mids)) == {"BTC": "60000"}
    ctxs = await call(info.meta_and_asset_ctxs)
    assert ctxs[1][0]["impactPxs"] == ["59990", "60010"] and ctxs[1][0]["midPx"] == "60000"
    spot = await call(info.spot_meta_and_asset_ctxs)
    assert spot[0]["universe"] == [{"name": "HYPE/USDC", "tokens": [1, 0], "index": 0, "isCanonical": True}]


async def test_sdk_exchange_places_modifies_cancels_and_queries_agreeing_with_the_venue(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    v = env.venue
    env.liquidity(Side.SELL, "60010", "0.5")
    env.liquidity(Side.BUY, "59990", "0.5")
    ex = await call(exchange, env)
    info = ex.info
    calls = 0
    cloid = Cloid.from_str("0x00000000000000000000000000000007")
    r = await call(ex.order, "BTC", True, 0.01, 59000, GTC, cloid=cloid)
    calls += 1
    oid = status(r)["resting"]["oid"]
    venue_order = v.find_order(env.account, cloid.to_raw())
    assert venue_order is not None and venue_order.oid == oid and (venue_order.price, venue_order.qty) == (59000, 1000)
    opened = await call(info.open_orders, env.address)
    calls += 1
    assert [(o["oid"], o["limitPx"], o["sz"], o["side"], o["cloid"]) for o in opened] == [
        (oid, "59000", "0.01", "B", cloid.to_raw())
    ]
    r = await call(ex.modify_order, oid, "BTC", True, 0.02, 59001, GTC)
    calls += 1
    assert status(r) == {"resting": {"oid": oid, "cloid": cloid.to_raw()}}, "the venue amends in place: same oid"
    assert (venue_order.price, venue_order.qty) == (59001, 2000)
    q = await call(info.query_order_by_cloid, env.address, cloid)
    calls += 1
    assert q["order"]["status"] == "open" and q["order"]["order"]["limitPx"] == "59001"
    r = await call(ex.cancel_by_cloid, "BTC", cloid)
    calls += 1
    assert status(r) == "success" and venue_order.status is OrderStatus.CANCELLED
    q = await call(info.query_order_by_oid, env.address, oid)
    calls += 1
    assert q["order"]["status"] == "canceled"
    # a market order is an aggressive IOC at the mid +- 5 %
    r = await call(ex.market_open, "BTC", True, 0.03)
    calls += 1
    filled = status(r)["filled"]
    assert (filled["totalSz"], filled["avgPx"]) == ("0.03", "60010")
    assert v.engine.accounts[env.account].positions["BTC-PERP"].size == 3000
    fills = await call(info.user_fills, env.address)
    calls += 1
    venue_fills = [f for i in v.done_orders(env.account) for f in i.fills]
    assert [f["tid"] for f in fills] == [f.trade_id for f in venue_fills]
    assert [(f["px"], f["sz"], f["side"], f["dir"], f["crossed"]) for f in fills] == [
        ("60010", "0.03", "B", "Open Long", True)
    ]
    state = await call(info.user_state, env.address)
    calls += 1
    pos = state["assetPositions"][0]["position"]
    assert (pos["coin"], pos["szi"], pos["entryPx"]) == ("BTC", "0.03", "60010")
    assert float(state["marginSummary"]["accountValue"]) == v.balances(env.account)["USDC"]["total"]
    # two at once, cancelled by oid together
    r = await call(
        ex.bulk_orders,
        [
            {"coin": "BTC", "is_buy": False, "sz": 0.001, "limit_px": 61000, "order_type": GTC, "reduce_only": False},
            {"coin": "ETH", "is_buy": True, "sz": 0.01, "limit_px": 2500.5, "order_type": ALO, "reduce_only": False},
        ],
    )
    calls += 1
    oids = [status(r, i)["resting"]["oid"] for i in range(2)]
    assert sorted(i.oid for i in v.open_order_infos(env.account)) == sorted(oids)
    r = await call(ex.bulk_cancel, [{"coin": "BTC", "oid": oids[0]}, {"coin": "ETH", "oid": oids[1]}])
    calls += 1
    assert r["response"]["data"]["statuses"] == ["success", "success"] and v.open_order_infos(env.account) == []
    # close the position: reduce-only IOC at the slippage price
    r = await call(ex.market_close, "BTC")
    calls += 1
    assert status(r)["filled"]["totalSz"] == "0.03"
    assert v.engine.accounts[env.account].positions["BTC-PERP"].size == 0
    closing = (await call(info.user_fills, env.address))[0]
    calls += 1
    assert (closing["dir"], closing["startPosition"], closing["closedPnl"]) == ("Close Long", "0.03", "-0.6")
    assert calls == 13


async def test_sdk_sees_hyperliquids_refusals(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    env.liquidity(Side.BUY, "59990", "0.5")
    ex = await call(exchange, env)

    async def error(*args: Any, **kw: Any) -> str:
        r = await call(ex.order, *args, **kw)
        return str(status(r)["error"])

    assert await error("BTC", True, 0.001, 60010, ALO) == (
        "Post only order would have immediately matched, bbo was 59990@60010."
    )
    nothing = "Order could not immediately match against any resting orders."
    assert await error("BTC", True, 0.001, 50000, IOC) == nothing
    assert await error("BTC", True, 0.001, 59000.5, GTC) == "Order has invalid price."  # 6 significant figures
    assert await error("ETH", True, 0.01, 2500.05, GTC) == "Order has invalid price."  # 2 decimals past ETH's 0.1
    assert await error("BTC", True, 0.0001, 59000, GTC) == "Order must have minimum value of $10."
    assert await error("BTC", False, 0.001, 61000, GTC, reduce_only=True) == (
        "Reduce only order would increase position."
    )
    assert await error("BTC", True, 200, 59000, GTC) == "Insufficient margin to place order."
    r = await call(ex.cancel, "BTC", 999_999)
    assert status(r) == {"error": "Order was never placed, already canceled, or filled."}
    assert (await call(ex.info.query_order_by_oid, env.address, 999_999)) == {"status": "unknownOid"}
    assert env.venue.open_order_infos(env.account) == []


async def test_sdk_approves_an_agent_that_trades_for_its_master_but_cannot_withdraw(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    ex = await call(exchange, env)
    r, agent_key = await call(ex.approve_agent, "desk")
    assert r == {"status": "ok", "response": {"type": "default"}}
    agent_address = eth_account.Account.from_key(agent_key).address
    assert (await call(ex.info.user_role, agent_address)) == {"role": "agent", "data": {"user": env.address.lower()}}
    assert {a["name"] for a in await call(ex.info.extra_agents, env.address)} == {"bot1", "desk"}
    agent = await call(exchange, env, agent_key, env.address)
    r = await call(agent.order, "BTC", True, 0.002, 60010, IOC)
    assert status(r)["filled"]["totalSz"] == "0.002"
    assert env.venue.engine.accounts[env.account].positions["BTC-PERP"].size == 200, "the master's account"
    assert (await call(agent.info.user_fills, agent_address)) == [], "an agent's address holds nothing"
    r = await call(agent.usd_transfer, 1.0, "0x5e9ee1089755c3435139848e47e6635505d5a13a")
    assert r["status"] == "err" and r["response"].startswith("Must deposit before performing actions. User: ")
    stranger = await call(exchange, env, "0x" + "11" * 32)
    r = await call(stranger.order, "BTC", True, 0.002, 60010, IOC)
    assert r["status"] == "err" and "User or API Wallet" in r["response"] and "does not exist" in r["response"]
    r = await call(stranger.approve_agent)
    assert r[0]["status"] == "err", "only a funded user approves agents"


async def test_sdk_schedule_cancel_fires_and_leverage_shows_in_the_state(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    ex = await call(exchange, env)
    status(await call(ex.order, "BTC", True, 0.01, 59000, GTC))
    now = int(time.time() * 1000)
    too_soon = await call(ex.schedule_cancel, now + 1000)
    assert too_soon["status"] == "err" and "at least 5 seconds" in too_soon["response"]
    assert (await call(ex.schedule_cancel, now + 6000))["status"] == "ok"
    env.front.fire((now + 6001) * 1_000_000)  # the venue's clock past the switch
    assert env.venue.open_order_infos(env.account) == []
    infos = env.venue.done_orders(env.account)
    q = await call(ex.info.query_order_by_oid, env.address, infos[-1].oid)
    assert q["order"]["status"] == "scheduledCancel"
    assert (await call(ex.update_leverage, 5, "BTC"))["status"] == "ok"
    assert (await call(ex.update_leverage, 50, "BTC"))["status"] == "err", "over maxLeverage"
    status(await call(ex.order, "BTC", True, 0.001, 60010, GTC))
    env.liquidity(Side.SELL, "60010", "0.001")
    state = await call(ex.info.user_state, env.address)
    assert state["assetPositions"][0]["position"]["leverage"] == {"type": "cross", "value": 5}
    limits = await call(ex.info.user_rate_limit, env.address)
    assert limits["nRequestsUsed"] == 6 and limits["nRequestsCap"] == 10_000 + int(float(limits["cumVlm"]))


async def test_sdk_spot_order_and_balances(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    env.liquidity(Side.SELL, "25.5", "10", market="HYPE-USDC")
    ex = await call(exchange, env)
    r = await call(ex.order, "HYPE/USDC", True, 2.0, 25.5, IOC)
    assert status(r)["filled"] == {"totalSz": "2", "avgPx": "25.5", "oid": status(r)["filled"]["oid"]}
    bal = {b["coin"]: b["total"] for b in (await call(ex.info.spot_user_state, env.address))["balances"]}
    assert bal["HYPE"] == "1002" and float(bal["USDC"]) == env.venue.balances(env.account)["USDC"]["total"]
    fills = await call(ex.info.user_fills, env.address)
    assert (fills[0]["coin"], fills[0]["dir"]) == ("HYPE/USDC", "Buy")


async def test_sdk_websocket_streams_books_trades_orders_and_fills(hyperliquid: HyperliquidEnv):
    env = hyperliquid
    env.liquidity(Side.SELL, "60010", "0.5")
    info = await call(Info, env.base_url, False)
    got: dict[str, list[Any]] = {"l2Book": [], "trades": [], "orderUpdates": [], "userFills": [], "bbo": [], "user": []}
    lock = threading.Lock()

    def keep(msg: Any) -> None:
        with lock:
            got[msg["channel"]].append(msg["data"])

    try:
        for sub in (
            {"type": "l2Book", "coin": "BTC"},
            {"type": "trades", "coin": "BTC"},
            {"type": "bbo", "coin": "BTC"},
            {"type": "orderUpdates", "user": env.address},
            {"type": "userFills", "user": env.address},
            {"type": "userEvents", "user": env.address},
        ):
            await call(info.subscribe, sub, keep)
        await until(lambda: bool(got["l2Book"]) and bool(got["userFills"]) and bool(got["bbo"]))
        assert got["l2Book"][0]["levels"][1] == [{"px": "60010", "sz": "0.5", "n": 1}]
        assert got["userFills"][0] == {"isSnapshot": True, "user": env.address, "fills": []}
        ex = await call(exchange, env)
        rest = status(await call(ex.order, "BTC", True, 0.01, 59000, GTC))["resting"]["oid"]
        take = status(await call(ex.order, "BTC", True, 0.02, 60010, IOC))["filled"]["oid"]
        await until(lambda: len(got["userFills"]) >= 2 and len(got["orderUpdates"]) >= 2 and len(got["trades"]) >= 1)
        assert [(u[0]["order"]["oid"], u[0]["status"]) for u in got["orderUpdates"]] == [
            (rest, "open"),
            (take, "filled"),
        ], "an IOC never rests: no open"
        fill = got["userFills"][1]["fills"][0]
        venue_fill = env.venue.find_order(env.account, None, take).fills[0]  # type: ignore[union-attr]
        assert (fill["tid"], fill["oid"], fill["px"], fill["sz"]) == (venue_fill.trade_id, take, "60010", "0.02")
        assert got["trades"][0][0]["users"][0] == env.address, "the buyer"
        await until(lambda: any(b["levels"][0] and b["levels"][0][0]["px"] == "59000" for b in got["l2Book"]))
        assert got["user"] and got["user"][0]["fills"][0]["tid"] == venue_fill.trade_id
    finally:
        await call(info.disconnect_websocket)
