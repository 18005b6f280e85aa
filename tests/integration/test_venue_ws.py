"""Every WebSocket message of the protocol against the real venue on loopback."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from .conftest import Venue, order


async def test_auth_by_header_and_by_first_message(venue: Venue):
    reg = await venue.register("alice")
    by_header = await venue.connect(reg["api_key"])
    by_message = await venue.connect(reg["api_key"], auth="message")
    await by_header.alive()
    await by_message.alive()


async def test_bad_key_in_auth_message_is_unauthorized_and_closed(venue: Venue):
    c = await venue.connect()
    await c.send({"type": "auth", "api_key": "ahk_nope_nope"})
    assert (await c.recv())["code"] == "unauthorized"
    with pytest.raises(websockets.ConnectionClosed) as e:
        await c.recv()
    assert e.value.rcvd is not None and e.value.rcvd.code == 1008


async def test_bad_key_in_handshake_header_gets_401(venue: Venue):
    with pytest.raises(websockets.InvalidStatus) as e:
        await venue.connect("ahk_0000_wrong")
    assert e.value.response.status_code == 401


async def test_only_auth_and_ping_before_authentication(venue: Venue):
    c = await venue.connect()
    await c.alive()
    await c.send(order("o1"))
    rej = await c.expect("order_reject")
    assert (rej["order_id"], rej["code"]) == ("o1", "unauthorized")
    await c.send({"type": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    assert (await c.expect("error"))["code"] == "unauthorized"
    await c.alive()


async def test_order_ack_book_update_fill_trade_and_ticker(venue: Venue):
    maker_key = (await venue.register("maker"))["api_key"]
    taker_key = (await venue.register("taker"))["api_key"]
    maker, taker = await venue.connect(maker_key), await venue.connect(taker_key)
    watcher = await venue.connect(taker_key)
    await watcher.send({"type": "subscribe", "channels": ["orderbook", "ticker", "trades"], "market": "BTC-PERP"})
    snap = await watcher.expect("book_snapshot")
    assert (snap["bids"], snap["asks"], snap["seq"]) == ([], [], 0)
    await maker.send(order("m1", "sell", 60000.5, "0.010"))
    ack = await maker.expect("order_ack", order_id="m1")
    assert ack["venue_order_id"] >= 1
    upd = await watcher.expect("book_update")
    assert (upd["seq"], upd["asks"]) == (1, [[60000.5, 0.01]])
    await maker.send(order("m0", "buy", 59000, "0.002"))  # no ticker until both sides have a price
    tick = await watcher.expect("ticker")
    assert (tick["ask"], tick["ask_qty"], tick["bid"], tick["bid_qty"]) == (60000.5, 0.01, 59000, 0.002)
    await taker.send(order("t1", "buy", "60001", 0.004, order_type="ioc"))
    taker_fill = await taker.expect("fill", order_id="t1")
    assert (taker_fill["fill_qty"], taker_fill["fill_price"], taker_fill["liquidity"]) == (0.004, 60000.5, "taker")
    assert taker_fill["fee"] == pytest.approx(60000.5 * 0.004 * 0.0005)
    maker_fill = await maker.expect("fill", order_id="m1")
    assert (maker_fill["remaining_qty"], maker_fill["liquidity"]) == (0.006, "maker")
    assert maker_fill["fee"] < 0, "maker rebate"
    trade = await watcher.expect("trade")
    assert (trade["price"], trade["qty"], trade["side"]) == (60000.5, 0.004, "buy")
    upd2 = await watcher.expect("book_update")
    assert (upd2["seq"], upd2["asks"]) == (3, [[60000.5, 0.006]])


async def test_market_symbol_aliases_are_accepted(venue: Venue):
    c = await venue.connect((await venue.register("alias"))["api_key"])
    await c.send({**order("a1"), "market": "BTCUSDT"})
    await c.expect("order_ack", order_id="a1")


async def test_a_subscription_by_alias_streams_under_that_name(venue: Venue):
    """A client that calls the perp BTCUSDT gets its snapshot, updates, tickers and trades as
    BTCUSDT; another subscribed by its own name still sees BTC-PERP."""
    key = (await venue.register("by-alias"))["api_key"]
    alias, own = await venue.connect(key), await venue.connect(key)
    await alias.send({"type": "subscribe", "channels": ["orderbook", "ticker", "trades"], "markets": ["BTCUSDT"]})
    assert (await alias.expect("book_snapshot"))["market"] == "BTCUSDT"
    assert (await alias.expect("subscribed", channel="trades"))["market"] == "BTCUSDT"
    await own.send({"type": "subscribe", "channels": ["orderbook", "ticker", "trades"], "markets": ["BTC-PERP"]})
    await own.expect("book_snapshot", market="BTC-PERP")
    await alias.send(order("s1", "sell", 60001, "0.01"))
    await alias.send(order("b1", "buy", 59999, "0.01"))
    taker = await venue.connect((await venue.register("alias-taker"))["api_key"])
    await taker.send(order("t1", "buy", 60001, "0.002", order_type="ioc"))
    for c, name in ((alias, "BTCUSDT"), (own, "BTC-PERP")):
        got = {t: await c.expect(t) for t in ("book_update", "ticker", "trade")}
        assert {m["market"] for m in got.values()} == {name}, got
    # subscribing again under the canonical name keeps the name in use: one stream, one name
    await alias.send({"type": "subscribe", "channel": "ticker", "market": "BTC-PERP"})
    assert (await alias.expect("subscribed"))["market"] == "BTCUSDT"
    await alias.send({"type": "unsubscribe", "channels": ["orderbook", "ticker", "trades"], "market": "BTC-PERP"})
    assert (await alias.expect("unsubscribed"))["market"] == "BTCUSDT"
    assert not venue.server.venue.views["BTC-PERP"].names, "forgotten once nothing is subscribed"


async def test_a_subscribe_naming_an_unknown_market_still_subscribes_the_known_ones(venue: Venue):
    c = await venue.connect((await venue.register("partly"))["api_key"])
    await c.send({"type": "subscribe", "channels": ["ticker", "orderbook"], "markets": ["NOPE-SPOT", "BTC-PERP"]})
    err = await c.expect("error")
    assert err["code"] == "unknown_market" and "'NOPE-SPOT'" in err["message"] and "subscribed" in err["message"]
    acks = [await c.expect("subscribed") for _ in range(2)]
    assert {(a["channel"], a["market"]) for a in acks} == {("ticker", "BTC-PERP"), ("orderbook", "BTC-PERP")}
    await c.expect("book_snapshot", market="BTC-PERP")
    await c.send({"type": "subscribe", "channel": "ticker", "market": "NOPE"})
    assert "nothing done" in (await c.expect("error", code="unknown_market"))["message"]
    await c.alive()


async def test_a_ticker_always_has_both_sides(venue: Venue):
    """No ticker while a side is empty (a client adds bid and ask); the first comes with both."""
    c = await venue.connect((await venue.register("ticks"))["api_key"])
    await c.send({"type": "subscribe", "channel": "ticker", "market": "ETH-USDC"})
    await c.expect("subscribed")
    await c.send({**order("e1", "sell", "3000.5", "1"), "market": "ETH-USDC"})
    await c.expect("order_ack", order_id="e1")
    assert [m["type"] for m in await c.quiet()] == [], "one side only: no ticker"
    await c.send({**order("e2", "buy", "2999.5", "2"), "market": "ETH-USDC"})
    tick = await c.expect("ticker")
    assert (tick["bid"], tick["bid_qty"], tick["ask"], tick["ask_qty"]) == (2999.5, 2, 3000.5, 1)
    assert (tick["bid"] + tick["ask"]) / 2 == 3000.0
    await c.send({"type": "cancel", "order_id": "e1"})
    await c.expect("cancel_ack", order_id="e1")
    assert [m["type"] for m in await c.quiet()] == [], "a side emptied: no ticker"


async def test_an_auth_message_after_header_auth_is_answered_again(venue: Venue):
    """The article's client authenticates by header and then by message: the same key gets
    auth_ok again; another valid key is refused and the connection keeps its first key."""
    key = (await venue.register("twice"))["api_key"]
    other = (await venue.register("other"))["api_key"]
    c = await venue.connect(key)
    await c.send({"type": "auth", "api_key": key, "timestamp_ns": 0})
    assert (await c.expect("auth_ok"))["key_id"] == key.split("_")[1]
    await c.send({"type": "auth", "api_key": other, "timestamp_ns": 0})
    assert (await c.expect("error"))["message"] == "already authenticated with another key"
    await c.alive()


async def test_iceberg_shows_only_display_qty(venue: Venue):
    c = await venue.connect((await venue.register("ice"))["api_key"])
    await c.send({"type": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await c.expect("book_snapshot")
    await c.send(order("i1", "buy", "59000", "1.000", display_qty="0.1"))
    upd = await c.expect("book_update")
    assert upd["bids"] == [[59000.0, 0.1]]


async def test_cancel_cancel_reject_and_cancel_all(venue: Venue):
    c = await venue.connect((await venue.register("canceller"))["api_key"])
    for i, px in enumerate(("59000", "59001", "59002")):
        await c.send(order(f"c{i}", price=px))
        await c.expect("order_ack", order_id=f"c{i}")
    await c.send({"type": "cancel", "order_id": "c0"})
    ack = await c.expect("cancel_ack", order_id="c0")
    assert ack["remaining_qty"] == 0.01
    await c.send({"type": "cancel", "order_id": "c0"})
    assert (await c.expect("cancel_reject", order_id="c0"))["code"] == "unknown_order"
    await c.send({"type": "cancel_all", "market": "BTC-PERP"})
    got = {(await c.expect("cancel_ack"))["order_id"] for _ in range(2)}
    assert got == {"c1", "c2"}


async def test_cancel_of_another_accounts_order_is_rejected_and_harmless(venue: Venue):
    a = await venue.connect((await venue.register("owner"))["api_key"])
    b = await venue.connect((await venue.register("intruder"))["api_key"])
    await a.send(order("mine", price="59500"))
    await a.expect("order_ack", order_id="mine")
    await b.send({"type": "cancel", "order_id": "mine"})
    assert (await b.expect("cancel_reject", order_id="mine"))["code"] == "unknown_order"
    assert [m for m in await a.quiet() if m["type"] == "cancel_ack"] == []


async def test_unsubscribe_stops_the_stream(venue: Venue):
    c = await venue.connect((await venue.register("sub"))["api_key"])
    await c.send({"type": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await c.expect("book_snapshot")
    await c.send({"type": "unsubscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await c.expect("unsubscribed")
    await c.send(order("u1", price="58000"))
    msgs = await c.quiet()
    assert [m["type"] for m in msgs] == ["order_ack"]


async def test_orders_channel_can_be_turned_off(venue: Venue):
    c = await venue.connect((await venue.register("quiet"))["api_key"])
    await c.send({"type": "unsubscribe", "channel": "orders"})
    await c.expect("unsubscribed")
    await c.send(order("q1", price="58000"))
    assert await c.quiet() == []


async def test_read_only_key_cannot_trade(venue: Venue):
    reg = await venue.register("reader")
    status, key, _ = await venue.rest("POST", "/api/v1/keys", reg["api_key"], json={"scopes": ["read"]})
    assert status == 200
    c = await venue.connect(key["api_key"])
    await c.send(order("r1"))
    assert (await c.expect("order_reject"))["code"] == "forbidden"


async def test_cancel_on_disconnect_cancels_the_sessions_orders(venue: Venue):
    reg = await venue.register("deadman")
    c = await venue.connect(reg["api_key"])
    await c.send(order("d1", price="59000"))
    await c.expect("order_ack", order_id="d1")
    await c.ws.close()
    for _ in range(50):
        _, orders, _ = await venue.rest("GET", "/api/v1/orders?status=all", reg["api_key"])
        if orders and orders[0]["status"] == "cancelled":
            break
        await asyncio.sleep(0.02)
    assert [(o["order_id"], o["status"]) for o in orders] == [("d1", "cancelled")]


async def test_key_without_cancel_on_disconnect_keeps_its_orders(venue: Venue):
    reg = await venue.register("keeper")
    _, key, _ = await venue.rest("POST", "/api/v1/keys", reg["api_key"], json={"cancel_on_disconnect": False})
    c = await venue.connect(key["api_key"])
    await c.send(order("k1", price="59000"))
    await c.expect("order_ack", order_id="k1")
    await c.ws.close()
    await asyncio.sleep(0.1)
    _, orders, _ = await venue.rest("GET", "/api/v1/orders", reg["api_key"])
    assert [o["order_id"] for o in orders] == ["k1"]


async def test_ping_pong_carries_the_venue_time(venue: Venue):
    c = await venue.connect((await venue.register("pinger"))["api_key"])
    await c.send({"type": "ping", "id": "abc"})
    pong = await c.expect("pong")
    assert pong["id"] == "abc" and pong["ts_ns"] > 1_600_000_000 * 10**9
