"""ccxt 4.5.90's `binanceusdm` (async REST and ccxt.pro), which nobody here wrote, against the
venue's Binance front on loopback: markets, books, orders over REST and the WebSocket API,
positions, balances and the user's fills streamed. Every call must succeed and agree with the
venue's own state. At a loopback URL ccxt maps only its generic error table (notes §8.3):
-2019, -2022, -4164 arrive as plain ExchangeError, so those are checked by their code text."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from agenthft.model import OrderStatus, Side

from .binance_env import ED_PEM, BinanceEnv

S = "BTC/USDC:USDC"  # BTCUSDT on the front: the venue settles BTC-PERP in USDC


def exchange(env: BinanceEnv, ed25519: bool = False) -> Any:
    auth = {"apiKey": env.ed.api_key, "secret": ED_PEM} if ed25519 else {"apiKey": env.api_key, "secret": env.secret}
    ex = ccxtpro.binanceusdm({**auth, "options": {"fetchCurrencies": False}})
    for k, v in list(ex.urls["api"].items()):
        if isinstance(v, str):
            ex.urls["api"][k] = re.sub(r"^https://[^/]+", env.base_url, v)
    ex.urls["api"]["ws"]["linear"] = env.front.stream_url + "/ws"
    ex.urls["api"]["ws"]["ws-api"]["linear"] = env.front.ws_api_url
    return ex


@pytest.fixture
async def ex(binance: BinanceEnv) -> AsyncIterator[Any]:
    e = exchange(binance)
    yield e
    await e.close()


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_ccxt_rest_markets_book_orders_positions_balance(binance: BinanceEnv, ex: Any):
    binance.liquidity(Side.SELL, "60000", "0.05")
    binance.liquidity(Side.BUY, "59990", "0.05")
    calls = 0
    markets = await ex.load_markets()
    calls += 1
    m = markets[S]
    assert (m["id"], m["precision"]["price"], m["precision"]["amount"], m["limits"]["cost"]["min"]) == (
        "BTCUSDT",
        0.1,
        0.001,
        5.0,
    )
    book = await ex.fetch_order_book(S, 5)
    calls += 1
    assert (book["bids"], book["asks"]) == ([[59990.0, 0.05]], [[60000.0, 0.05]])
    assert book["nonce"] == binance.venue.engine.markets["BTC-PERP"].book_seq
    o = await ex.create_order(S, "limit", "buy", 0.01, 59000, {"postOnly": True, "clientOrderId": "ccxt-1"})
    calls += 1
    info = binance.venue.find_order(binance.account, "ccxt-1")
    assert info is not None and o["id"] == str(info.oid) and o["postOnly"] and o["status"] == "open"
    assert (await ex.fetch_order(o["id"], S))["status"] == "open"
    assert [x["id"] for x in await ex.fetch_open_orders(S)] == [o["id"]]
    edited = await ex.edit_order(o["id"], S, "limit", "buy", 0.02, 59001)
    calls += 3
    assert (edited["id"], edited["price"], edited["amount"]) == (o["id"], 59001.0, 0.02)
    assert (info.price, info.qty) == (590010, 20)
    cancelled = await ex.cancel_order(o["id"], S)
    calls += 1
    assert cancelled["status"] == "canceled" and info.status is OrderStatus.CANCELLED
    t = await ex.create_order(S, "market", "buy", 0.03)
    calls += 1
    assert (t["status"], t["filled"], t["average"]) == ("closed", 0.03, 60000.0)
    trades = await ex.fetch_my_trades(S)
    calls += 1
    assert [(x["price"], x["amount"], x["side"], x["takerOrMaker"]) for x in trades] == [
        (60000.0, 0.03, "buy", "taker")
    ]
    positions = await ex.fetch_positions()
    calls += 1
    assert [(p["symbol"], p["contracts"], p["side"], p["entryPrice"]) for p in positions] == [
        (S, 0.03, "long", 60000.0)
    ]
    assert binance.venue.engine.accounts[binance.account].positions["BTC-PERP"].size == 30
    bal = await ex.fetch_balance()
    calls += 1
    assert bal["USDC"]["total"] == pytest.approx(binance.venue.balances(binance.account)["USDC"]["total"])
    for i in range(2):
        await ex.create_order(S, "limit", "sell", 0.01, 61000 + i)
    await ex.cancel_all_orders(S)
    calls += 3
    assert binance.venue.open_order_infos(binance.account) == []
    r = await ex.fapiPrivatePostCountdownCancelAll({"symbol": "BTCUSDT", "countdownTime": 120000})
    assert r == {"symbol": "BTCUSDT", "countdownTime": "120000"}
    assert abs(await ex.fetch_time() - time.time() * 1000) < 60_000
    calls += 2
    assert calls == 16


async def test_ccxt_errors_by_class_or_code_text(binance: BinanceEnv, ex: Any):
    binance.liquidity(Side.SELL, "60000", "0.05")
    await ex.load_markets()
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        await ex.cancel_order("999999", S)
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        await ex.fetch_order("999999", S)
    with pytest.raises(ccxt.InvalidOrder, match="-5022"):
        await ex.create_order(S, "limit", "buy", 0.01, 60000, {"postOnly": True})
    with pytest.raises(ccxt.InvalidOrder, match="-5021"):
        await ex.create_order(S, "limit", "buy", 1, 60000, {"timeInForce": "FOK"})
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        await ex.create_order(S, "limit", "sell", 0.01, 61000, {"reduceOnly": True})
    with pytest.raises(ccxt.ExchangeError, match="-4164"):
        await ex.create_order(S, "limit", "buy", 0.001, 3000)
    with pytest.raises(ccxt.ExchangeError, match="-2019"):
        await ex.create_order(S, "limit", "buy", 200, 59000)
    bad = exchange(binance)
    bad.secret = "not-the-secret"
    try:
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await bad.fetch_balance()
    finally:
        await bad.close()
    assert binance.venue.open_order_infos(binance.account) == []


async def test_ccxt_signs_with_ed25519(binance: BinanceEnv):
    ed = exchange(binance, ed25519=True)
    try:
        await ed.load_markets()
        o = await ed.create_order(S, "limit", "buy", 0.01, 59000, {"clientOrderId": "ccxt-ed"})
        assert o["status"] == "open" and binance.venue.find_order(binance.account, "ccxt-ed") is not None
        o2 = await ed.create_order_ws(S, "limit", "buy", 0.01, 58000, {"clientOrderId": "ccxt-ed-ws"})
        assert o2["status"] == "open" and binance.venue.find_order(binance.account, "ccxt-ed-ws") is not None
    finally:
        await ed.close()


async def test_ccxt_pro_websocket_api_orders(binance: BinanceEnv, ex: Any):
    await ex.load_markets()
    o = await ex.create_order_ws(S, "limit", "buy", 0.01, 59000, {"postOnly": True})
    info = binance.venue.find_order(binance.account, venue_order_id=int(o["id"]))
    assert info is not None and o["status"] == "open" and o["postOnly"]
    e = await ex.edit_order_ws(o["id"], S, "limit", "buy", 0.01, 59002)
    assert e["price"] == 59002.0 and info.price == 590020
    assert (await ex.fetch_order_ws(o["id"], S))["status"] == "open"
    c = await ex.cancel_order_ws(o["id"], S)
    assert c["status"] == "canceled" and info.status is OrderStatus.CANCELLED
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order_ws(o["id"], S)


async def test_ccxt_pro_watches_book_trades_orders_and_my_trades(binance: BinanceEnv, ex: Any):
    binance.liquidity(Side.SELL, "60000", "0.05")
    binance.liquidity(Side.BUY, "59990", "0.05")
    await ex.load_markets()
    ob = await ex.watch_order_book(S)
    assert ob["bids"][0] == [59990.0, 0.05] and ob["nonce"] == binance.venue.engine.markets["BTC-PERP"].book_seq
    binance.liquidity(Side.SELL, "60010", "0.01")
    ob = await ex.watch_order_book(S)
    assert ob["asks"][:2] == [[60000.0, 0.05], [60010.0, 0.01]]
    assert ob["nonce"] == binance.venue.engine.markets["BTC-PERP"].book_seq, "the diff chain applied on the snapshot"

    trades_task = asyncio.ensure_future(ex.watch_trades(S))
    await until(lambda: "btcusdt@trade" in binance.front.hub.subs)
    binance.trade("60000", "0.01")
    trades = await trades_task
    assert (trades[-1]["price"], trades[-1]["amount"], trades[-1]["side"]) == (60000.0, 0.01, "buy")

    orders_task = asyncio.ensure_future(ex.watch_orders(S))
    mine_task = asyncio.ensure_future(ex.watch_my_trades(S))
    await until(lambda: bool(binance.front.hub.by_api_key.get(binance.api_key)) and any(
        lk.key in binance.front.hub.subs for lk in binance.front.hub.listen.values()
    ))  # fmt: skip
    o = await ex.create_order(S, "market", "buy", 0.02)
    orders, mine = await asyncio.gather(orders_task, mine_task)
    assert orders[-1]["id"] == o["id"] and orders[-1]["symbol"] == S
    assert mine[-1]["order"] == o["id"] and mine[-1]["price"] == 60000.0 and mine[-1]["amount"] == 0.02
    fills = binance.venue.find_order(binance.account, venue_order_id=int(o["id"])).fills  # type: ignore[union-attr]
    assert str(fills[0].trade_id) == mine[-1]["id"]
