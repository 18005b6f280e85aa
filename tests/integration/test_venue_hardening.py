"""The venue against a hostile client: each finding of the hardening review as a test.

Security (account takeover, revoked keys, secrets in logs), crash safety (a poison order and a
poison command-log record), input handling (numbers, ids, nesting, UTF-8, fragments, oversize),
REST errors, order history and bounded resources."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import websockets
from hdrh.histogram import HdrHistogram

from agenthft.venue import Venue as CoreVenue
from agenthft.venue import VenueServer

from .conftest import PERP, SPOT, Venue, WsClient, config, order


@pytest.fixture
async def roomy() -> Any:
    """A venue whose key tier does not get in the way of sending many messages."""
    import aiohttp

    from agenthft.venue.config import Sandbox, Tier, VenueConfig

    cfg = VenueConfig(
        markets=[PERP, SPOT],
        sandbox=Sandbox(funds={"USDC": "1000000", "ETH": "100"}),
        tiers={"default": Tier(orders_per_s=10_000, cancels_per_s=10_000, abuse_per_s=10_000)},
    )
    server = await VenueServer(cfg).start()
    async with aiohttp.ClientSession() as http:
        yield Venue(server, http)
    await server.stop()


async def trader(venue: Venue, name: str) -> tuple[WsClient, str]:
    key = (await venue.register(name))["api_key"]
    return await venue.connect(key), key


# --- security ---------------------------------------------------------------------------------


async def test_registering_an_existing_agent_id_gives_no_key_and_no_access(venue: Venue):
    a = await venue.register("victim")
    c = await venue.connect(a["api_key"])
    await c.send(order("v1", price="50000.0"))
    await c.expect("order_ack")
    status, body, _ = await venue.rest("POST", "/api/v1/register", json={"agent_id": "victim"})
    assert status == 409 and body["error"] == "agent_exists" and "api_key" not in body
    status, orders, _ = await venue.rest("GET", "/api/v1/orders", a["api_key"])
    assert [o["order_id"] for o in orders] == ["v1"], "the victim's order is untouched"


async def test_registration_is_rate_limited_per_source(venue: Venue):
    limit = int(venue.server.venue.settings.register_per_min)
    codes = [(await venue.rest("POST", "/api/v1/register", json={"agent_id": f"r{i}"}))[0] for i in range(limit + 3)]
    assert codes[:limit] == [200] * limit and codes[limit:] == [429] * 3


async def test_a_revoked_key_stops_trading_on_its_open_websocket_at_once(venue: Venue):
    reg = await venue.register("revoker")
    key, account = reg["api_key"], reg["account_id"]
    c = await venue.connect(key)
    await c.send(order("before", price="50000.0"))
    await c.expect("order_ack")
    status, _, _ = await venue.rest("DELETE", f"/api/v1/keys/{reg['key_id']}", key)
    assert status == 200
    with pytest.raises(websockets.ConnectionClosed) as e:
        for i in range(10):
            await c.send(order(f"after{i}", price="50000.0"))
            msg = await c.recv(1.0)
            assert msg["type"] != "order_ack", "a revoked key's order was accepted"
    assert e.value.rcvd is not None and e.value.rcvd.code == 1008 and "revoked" in e.value.rcvd.reason
    assert (await venue.rest("GET", "/api/v1/balance", key))[0] == 401
    engine = venue.server.venue.engine
    assert not [o for o in engine.open_orders(account) if o.order_id.startswith("after")]
    assert engine.order(account, "before") is None, "its cancel-on-disconnect applied"


async def test_a_huge_authorization_header_never_echoes_or_logs_the_secret(venue: Venue, caplog):
    key = (await venue.register("leaky"))["api_key"]
    secret = key.split("_", 2)[2]
    caplog.set_level(logging.DEBUG)
    host, port = venue.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /api/v1/balance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}{'x' * 9000}\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request") and b"X-RateLimit-Remaining" in head
    assert json.loads(body)["error"] == "bad_request"
    assert secret.encode() not in raw
    assert secret not in caplog.text


def test_redaction_masks_keys_and_bearer_tokens():
    from agenthft.redact import redact

    text = "Got more than 8190 bytes: b'Bearer ahk_0a1b2c_SeCrEt-Value_x' api_key=ahk_9f_other; Bearer sometoken"
    out = redact(text)
    assert "SeCrEt" not in out and "other" not in out and "sometoken" not in out
    assert "ahk_0a1b2c_***" in out


# --- crash safety -------------------------------------------------------------------------------

POISON = {
    "type": "order",
    "order_id": "poison",
    "market": "BTC-PERP",
    "side": "buy",
    "price": "1e2500",
    "qty": "1e2500",
}


async def test_the_poison_order_is_refused_at_the_edge_and_a_restart_works(tmp_path: Path):
    state = str(tmp_path / "venue.db")
    srv = await VenueServer(config(), state).start()
    async with websockets.connect(srv.ws_url) as ws:
        key, _, _ = srv.venue.register("p")
        await ws.send(json.dumps({"type": "auth", "api_key": key}))
        json.loads(await ws.recv())
        await ws.send(json.dumps(POISON))
        msg = json.loads(await ws.recv())
        assert msg["type"] == "order_reject" and msg["code"] in ("bad_qty", "bad_price") and "exponent" in msg["reason"]
    await srv.stop()
    restarted = CoreVenue(config(), state)
    assert restarted.replay_skipped == [] and restarted.agents == {"p": srv.venue.agents["p"]}


def test_a_command_log_record_that_cannot_be_applied_is_reported_and_the_rest_restored(tmp_path: Path):
    state = str(tmp_path / "venue.db")
    v = CoreVenue(config(), state)
    _, account, _ = v.register("p")
    v.engine.submit(account, "good", "BTC-PERP", *_side_qty_price())
    assert v.log is not None
    v.log.append("submit", account, "poison", "BTC-PERP", "sideways", 1, None, "limit", 0, 0)  # an old bug's row
    v.log.append("teleport", 1, 2)
    v.engine.submit(account, "after", "BTC-PERP", *_side_qty_price())
    v.log.close()
    restarted = CoreVenue(config(), state)
    assert len(restarted.replay_skipped) == 2 and "record" in restarted.replay_skipped[0]
    assert {o.order_id for o in restarted.engine.open_orders(account)} == {"good", "after"}


def _side_qty_price() -> tuple[Any, ...]:
    from agenthft.model import Side

    return (Side.BUY, 10, 500000)


# --- input handling (WebSocket) --------------------------------------------------------------


@pytest.mark.parametrize(
    "field_value",
    [
        ("qty", "1e1000000"),
        ("qty", "1e4300"),
        ("price", "1e5000"),
        ("display_qty", "1e4300"),
        ("qty", "1" * 5000),
        ("qty", "1e200000"),
        ("qty", "０.００１"),
        ("qty", "١"),
        ("qty", "1_0"),
        ("qty", " 0.001"),
        ("qty", "0.001\n"),
        ("price", "1_000.0"),
        ("price", "\u00a01000"),
        ("price", "1000.0 "),
        ("price", "１０００"),
        ("price", "NaN"),
        ("price", "Infinity"),
        ("qty", 1e308),
    ],
)
async def test_hostile_or_non_canonical_numbers_get_a_specific_reject(venue: Venue, field_value):
    field, value = field_value
    c, key = await trader(venue, "numbers")
    await c.send({**order("n1"), field: value})
    msg = await c.expect("order_reject")
    assert msg["code"] in ("bad_qty", "bad_price", "bad_request"), msg
    await c.alive()
    _, orders, _ = await venue.rest("GET", "/api/v1/orders", key)
    assert orders == [], "nothing half-applied"


async def test_an_order_id_with_a_trailing_newline_is_refused(venue: Venue):
    c, _ = await trader(venue, "ids")
    await c.send(order("p4\n"))
    msg = await c.expect("order_reject")
    assert msg["code"] == "bad_request" and "order_id" in msg["reason"]


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (b"[" * 1000 + b"]" * 1000, ""),
        ('{"type":"ping","id":"\xc3\x28"}'.encode("latin-1"), "UTF-8"),
        (b'{"type":"subscribe","channel":"orderbook"}', "market"),
        (b'{"type":"subscribe","channel":"trades","market":""}', "''"),
        (b'{"type":"unsubscribe","channel":"ticker"}', "market"),
    ],
)
async def test_frames_that_used_to_close_or_go_unanswered_get_an_error(venue: Venue, frame, needle):
    c, _ = await trader(venue, "frames")
    await c.ws.send(frame)  # bytes: a binary frame, as the venue reads both
    msg = await c.expect_any(("error", "order_reject"))
    assert needle in msg.get("message", ""), msg
    await c.alive()


async def test_an_oversize_frame_closes_1008_with_the_reason(venue: Venue):
    c, _ = await trader(venue, "big")
    await c.send(json.dumps({"type": "ping", "id": "x" * 300_000}))
    msg = await c.recv()
    assert msg["type"] == "error" and "limit" in msg["message"]
    with pytest.raises(websockets.ConnectionClosed) as e:
        await c.recv()
    assert e.value.rcvd is not None and e.value.rcvd.code == 1008 and "bytes" in e.value.rcvd.reason


async def test_a_fragmented_message_is_reassembled(venue: Venue):
    c, _ = await trader(venue, "fragments")
    text = json.dumps(order("frag1", price="50000.0"))
    await c.ws.send(iter([text[:20], text[20:50], text[50:]]))  # websockets sends an iterable as fragments
    ack = await c.expect("order_ack")
    assert ack["order_id"] == "frag1"


async def test_a_hostile_number_frame_does_not_stall_another_client(roomy: Venue):
    venue = roomy
    c, _ = await trader(venue, "hostile")
    other, _ = await trader(venue, "pinger")
    h = HdrHistogram(1, 10_000_000_000, 3)
    hostile = [{**order(f"h{i}"), "qty": "1e200000"} for i in range(50)]
    for i in range(200):
        if i % 4 == 0:
            await c.send(hostile[i // 4])
        t0 = time.perf_counter_ns()
        await other.send({"type": "ping", "id": i})
        await other.expect("pong", id=i)
        h.record_value(time.perf_counter_ns() - t0)
    assert len([m for m in await c.quiet(0.3) if m["type"] == "order_reject"]) == 50
    # stated bound: the bystander's ping p99 stays under 20 ms (it was 886 ms before the grammar)
    assert h.get_value_at_percentile(99) < 20_000_000, h.get_value_at_percentile(99)


# --- REST --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"qty_usd": "NaN"},
        {"qty_usd": "Infinity"},
        {"qty_usd": "1e999"},
        {"qty_usd": "abc"},
        {"qty_usd": ""},
        {"qty": "0.01", "price": "1e5000"},
        {"qty": "1e1000000"},
        {"qty": "０.０１"},
        {"qty": " 0.01"},
    ],
)
async def test_rest_orders_with_bad_numbers_are_4xx_json(venue: Venue, body):
    key = (await venue.register("rest-numbers"))["api_key"]
    base = {"market": "BTC-PERP", "side": "buy", "type": "limit", "price": "60000", "client_id": "r1"}
    status, err, headers = await venue.rest("POST", "/trading/orders", key, json={**base, **body})
    assert 400 <= status < 500 and err["error"] in ("bad_qty", "bad_price", "bad_request"), (status, err)
    assert "X-RateLimit-Remaining" in headers


async def test_invalid_utf8_in_a_rest_body_is_400_json(venue: Venue):
    async with venue.http.post(venue.url + "/api/v1/register", data=b'{"agent_id":"\xff"}') as r:
        assert r.status == 400 and (await r.json())["error"] == "bad_request"
        assert "X-RateLimit-Remaining" in r.headers


async def test_every_rest_error_carries_rate_limit_headers(venue: Venue):
    for method, path, key in (("GET", "/api/v1/balance", None), ("GET", "/nope", "ahk_x_y"), ("PUT", "/health", None)):
        async with venue.http.request(
            method, venue.url + path, headers={"Authorization": f"Bearer {key}"} if key else {}
        ) as r:
            assert r.status >= 400 and "X-RateLimit-Limit" in r.headers, (method, path, r.status)
            assert "error" in await r.json()


async def test_orders_completed_on_arrival_appear_in_the_history(venue: Venue):
    maker, _ = await trader(venue, "maker")
    taker, tkey = await trader(venue, "taker")
    await maker.send(order("m1", side="sell", price="60000.0", qty="0.02"))
    await maker.expect("order_ack")
    await taker.send(order("ioc-filled", price="60000.0", qty="0.01", order_type="ioc"))
    await taker.send(order("ioc-missed", price="59000.0", qty="0.01", order_type="ioc"))
    await taker.send(order("limit-filled", price="60000.0", qty="0.01"))
    for _ in range(3):
        await taker.expect_any(("cancel_ack", "fill"))
    await asyncio.sleep(0.1)
    _, orders, _ = await venue.rest("GET", "/api/v1/orders?status=all", tkey)
    by_id = {o["order_id"]: o["status"] for o in orders}
    assert by_id == {"ioc-filled": "filled", "ioc-missed": "cancelled", "limit-filled": "filled"}


# --- resources ------------------------------------------------------------------------------


CAP = 256 * 1024


async def slow_consumer(channel: str, updates: int) -> tuple[bool, int, int]:
    """A client subscribed to `channel` stops reading while two other accounts trade (the slow
    client's own resting orders are hit for the `orders` channel). Returns (whether the venue
    closed it, the largest send buffer seen, the last update index before it did)."""
    from agenthft.model import OrderType, Side

    srv = await VenueServer(config(max_buffer_bytes=CAP, high_water_bytes=CAP // 4, sndbuf_bytes=4096)).start()
    try:
        key, acc_slow, _ = srv.venue.register("slow", operator=True)
        _, acc_mm, _ = srv.venue.register("mm", operator=True)
        _, acc_tk, _ = srv.venue.register("tk", operator=True)
        port = int(srv.ws_url.split(":")[2].split("/")[0])
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # (close_timeout: the client does not read, so its closing handshake can only time out)
        async with websockets.connect(srv.ws_url, sock=sock, max_size=None, max_queue=1, close_timeout=0.2) as ws:
            await ws.send(json.dumps({"type": "auth", "api_key": key}))
            if channel != "orders":
                await ws.send(json.dumps({"type": "subscribe", "channels": [channel], "market": "BTC-PERP"}))
            await asyncio.sleep(0.1)
            session = next(s for s in srv.venue.sessions if s.account == acc_slow)
            worst, i = 0, 0
            engine = srv.venue.engine
            engine.submit(acc_mm, "far-bid", "BTC-PERP", Side.BUY, 1, 500000)  # a ticker needs both sides
            for i in range(updates):
                maker = acc_slow if channel == "orders" else acc_mm
                engine.submit(maker, f"a{i}", "BTC-PERP", Side.SELL, 1, 600000 + i % 50)
                engine.submit(acc_tk, f"b{i}", "BTC-PERP", Side.BUY, 1, 600000 + i % 50, OrderType.IOC)
                srv.venue._publish(time.time_ns())
                worst = max(worst, session.transport.buffered())
                if session.closed:
                    break
                if i % 200 == 0:
                    await asyncio.sleep(0)
            return session.closed, worst, i
    finally:
        await srv.stop()


@pytest.mark.parametrize("channel", ["trades", "orders"])
async def test_a_slow_consumer_of_trades_or_order_events_is_closed_at_the_cap(channel):
    closed, worst, _ = await slow_consumer(channel, 100_000)
    assert closed, "closed at the cap"
    assert worst <= CAP + 4096, worst


@pytest.mark.parametrize("channel", ["orderbook", "ticker"])
async def test_a_slow_consumer_of_books_or_tickers_is_conflated_and_bounded(channel):
    closed, worst, n = await slow_consumer(channel, 20_000)
    assert n == 19_999 and not closed, "conflated, not closed"
    assert worst <= CAP // 4 + 65536, worst


@pytest.mark.soak
@pytest.mark.parametrize("channel", ["orderbook", "ticker", "trades", "orders"])
async def test_soak_slow_consumer_every_channel_venue_memory_bounded(channel):
    import tracemalloc

    tracemalloc.start()
    closed, worst, n = await slow_consumer(channel, 300_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n{channel}: {n + 1} updates, closed={closed}, worst buffer {worst} B, peak traced {peak} B")
    assert worst <= CAP + 4096 and peak < 200 * 1024 * 1024


async def test_a_connection_remembers_only_its_live_orders(roomy: Venue):
    venue = roomy
    c, _ = await trader(venue, "many")
    for i in range(300):
        await c.send(order(f"o{i}", price="50000.0", order_type="ioc"))
    for _ in range(300):
        await c.expect("cancel_ack")
    await c.send(order("resting", price="50000.0"))
    await c.expect("order_ack")
    placed = [s.placed for s in venue.server.venue.sessions if s.account]
    assert {"resting"} in placed and all(len(p) <= 1 for p in placed), placed
