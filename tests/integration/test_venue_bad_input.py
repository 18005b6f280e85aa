"""Bad input: a specific error each time, the connection and other clients carry on, and
nothing is half-applied."""

from __future__ import annotations

from typing import Any

import pytest
import websockets

from .conftest import SMALL, Venue, WsClient, order


async def trader(venue: Venue, name: str) -> tuple[WsClient, str]:
    key = (await venue.register(name))["api_key"]
    return await venue.connect(key), key


async def assert_nothing_rests(venue: Venue, key: str) -> None:
    status, orders, _ = await venue.rest("GET", "/api/v1/orders", key)
    assert status == 200 and orders == []


@pytest.mark.parametrize(
    ("frame", "kind", "code", "needle"),
    [
        ("{not json", "error", "bad_request", "malformed"),
        ("[1, 2]", "error", "bad_request", "Expected `object`"),
        ('{"type": "teleport"}', "error", "bad_request", "Invalid value 'teleport'"),
        ('{"market": "BTC-PERP"}', "error", "bad_request", "missing required field `type`"),
        (order("w1", qty=[1]), "order_reject", "bad_request", "$.qty"),
        (order("w2", side="up"), "order_reject", "bad_request", "$.side"),
        ({k: v for k, v in order("w3").items() if k != "market"}, "order_reject", "bad_request", "`market`"),
        ({**order("w4"), "leverage": 100}, "order_reject", "bad_request", "unknown field `leverage`"),
        (order("bad id!"), "order_reject", "bad_request", "$.order_id"),
        (order("p1", price="60000.05"), "order_reject", "bad_price", "tick"),
        (order("p2", price="abc"), "order_reject", "bad_price", "abc"),
        (order("q1", qty="0.0005"), "order_reject", "bad_qty", "lot"),
        (order("q2", qty=0), "order_reject", "bad_qty", "positive"),
        (order("q3", qty="-0.01"), "order_reject", "bad_qty", "positive"),
        (order("z1", price=-5), "order_reject", "bad_price", "positive"),
        ({**order("m1"), "market": "DOGE-PERP"}, "order_reject", "unknown_market", "DOGE-PERP"),
        ({"type": "subscribe", "channel": "gossip", "market": "BTC-PERP"}, "error", "bad_request", "gossip"),
        ({"type": "subscribe", "channel": "orderbook", "market": "NOPE"}, "error", "unknown_market", "NOPE"),
        (
            {"type": "subscribe", "channel": "orderbook", "market": "BTC-PERP", "depth": -1},
            "error",
            "bad_request",
            "depth",
        ),
    ],
)
async def test_bad_message_gets_a_specific_error_and_the_connection_survives(venue: Venue, frame, kind, code, needle):
    c, key = await trader(venue, "bad")
    other, _ = await trader(venue, "bystander")
    await c.send(frame)
    msg = await c.expect(kind)
    assert msg["code"] == code, msg
    assert needle in (msg.get("message") or msg.get("reason") or ""), msg
    await c.alive()
    await other.alive()
    await assert_nothing_rests(venue, key)


async def test_cancel_with_a_non_string_id_is_a_bad_request(venue: Venue):
    c, _ = await trader(venue, "badcancel")
    await c.send({"type": "cancel", "order_id": 5})
    msg = await c.recv()
    assert (msg["type"], msg["code"]) == ("error", "bad_request") and "$.order_id" in msg["message"]


async def test_duplicate_live_order_id_is_rejected_and_the_first_order_stands(venue: Venue):
    c, key = await trader(venue, "dup")
    await c.send(order("same", price="59000"))
    await c.expect("order_ack", order_id="same")
    await c.send(order("same", price="59001"))
    assert (await c.expect("order_reject", order_id="same"))["code"] == "duplicate_order_id"
    _, orders, _ = await venue.rest("GET", "/api/v1/orders", key)
    assert [(o["order_id"], o["price"]) for o in orders] == [("same", 59000.0)]


async def test_post_only_that_would_cross_is_rejected(venue: Venue):
    a, _ = await trader(venue, "po-maker")
    b, key = await trader(venue, "po")
    await a.send(order("ask", "sell", "60000"))
    await a.expect("order_ack")
    await b.send(order("po1", "buy", "60000", order_type="post_only"))
    assert (await b.expect("order_reject", order_id="po1"))["code"] == "post_only_would_cross"
    await assert_nothing_rests(venue, key)


async def test_oversize_frame_closes_with_1008_and_others_carry_on(venue: Venue):
    c, _ = await trader(venue, "big")
    other, _ = await trader(venue, "small")
    await c.send(order("x", client_note=None) | {"pad": "x" * 70_000})
    with pytest.raises(websockets.ConnectionClosed) as e:
        for _ in range(5):
            await c.recv()
    assert e.value.rcvd is not None and e.value.rcvd.code == 1008
    await other.alive()


async def test_order_flood_is_rate_limited_then_orders_pass_again(venue: Venue):
    c, _ = await trader(venue, "flood")
    n = int(SMALL.orders_per_s) + 5
    for i in range(n):
        await c.send(order(f"f{i}", price=str(50000 + i)))
    replies: list[dict[str, Any]] = [await c.expect_any(("order_ack", "order_reject")) for _ in range(n)]
    codes = [r.get("code", "ok") for r in replies]
    assert codes.count("rate_limited") >= 5 and codes.count("ok") <= SMALL.orders_per_s
    assert "orders/s" in next(r["reason"] for r in replies if r.get("code") == "rate_limited")
    await c.alive()


async def test_cancel_flood_is_rate_limited(venue: Venue):
    c, _ = await trader(venue, "cflood")
    n = int(SMALL.cancels_per_s) + 5
    for i in range(n):
        await c.send({"type": "cancel", "order_id": f"none{i}"})
    codes = [(await c.expect("cancel_reject"))["code"] for _ in range(n)]
    assert codes.count("rate_limited") >= 5 and set(codes) == {"rate_limited", "unknown_order"}


async def test_repeated_rate_limit_breaches_close_the_connection_1008(venue: Venue):
    c, _ = await trader(venue, "abuser")
    other, _ = await trader(venue, "fine")
    with pytest.raises(websockets.ConnectionClosed) as e:
        for i in range(int(SMALL.orders_per_s) + SMALL.abuse_per_s + 10):
            await c.send(order(f"a{i}", price=str(50000 + i)))
        for _ in range(200):
            await c.recv()
    assert e.value.rcvd is not None and e.value.rcvd.code == 1008
    await other.alive()


async def test_connections_per_key_are_limited(venue: Venue):
    key = (await venue.register("many"))["api_key"]
    conns = [await venue.connect(key) for _ in range(SMALL.connections)]
    extra = await venue.connect()
    await extra.send({"type": "auth", "api_key": key})
    assert (await extra.recv())["code"] == "rate_limited"
    await conns[0].ws.close()
    import asyncio

    await asyncio.sleep(0.05)
    await venue.connect(key)  # a slot is free again


async def test_subscriptions_per_connection_are_limited(venue: Venue):
    c, _ = await trader(venue, "subber")
    await c.send({"type": "subscribe", "channels": ["orderbook", "ticker", "trades"], "markets": ["BTC-PERP"]})
    await c.expect("subscribed", channel="trades")
    await c.send({"type": "subscribe", "channels": ["orderbook", "ticker"], "markets": ["ETH-USDC"]})
    err = await c.expect("error")
    assert err["code"] == "rate_limited" and str(SMALL.subscriptions) in err["message"]
    await c.alive()
