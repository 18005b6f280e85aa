"""The venue's outbox (write coalescing) on a real connection: frames queued while it is held
reach a client that is not ours (`websockets`) intact, in order, with every length encoding of
RFC 6455, in one write; a close sends what was queued first."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from agenthft.venue import VenueServer, load_config
from agenthft.venue.core import Session
from agenthft.venue.outbox import ws_frame_header

SIZES = [1, 125, 126, 300, 65_535, 65_536, 70_000]  # 7-bit, 16-bit and 64-bit lengths


def payloads() -> list[bytes]:
    return [(b'{"n":%d,"pad":"' % i).ljust(n - 2, b"x") + b'"}' if n > 20 else b"%d" % i for i, n in enumerate(SIZES)]


async def connected(srv: VenueServer) -> tuple[websockets.ClientConnection, Session]:
    key, _, _ = srv.venue.register("outbox")
    ws = await websockets.connect(srv.ws_url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=None)
    assert '"auth_ok"' in await asyncio.wait_for(ws.recv(), 5)
    (session,) = [s for s in srv.venue.sessions if s.account]
    return ws, session


def test_frame_headers_follow_rfc_6455():
    assert ws_frame_header(0) == b"\x81\x00"
    assert ws_frame_header(125) == b"\x81\x7d"
    assert ws_frame_header(126) == b"\x81\x7e\x00\x7e"
    assert ws_frame_header(65_535) == b"\x81\x7e\xff\xff"
    assert ws_frame_header(65_536) == b"\x81\x7f" + (65_536).to_bytes(8, "big")


async def test_held_frames_arrive_intact_and_in_order_when_released():
    srv = await VenueServer(load_config()).start()
    try:
        ws, s = await connected(srv)
        outbox = srv.venue.outbox
        sent = payloads()
        before = s.transport.buffered()
        outbox.hold()
        outbox.hold()  # nested: only the outermost release writes
        for p in sent:
            s.send(p)
        assert s.transport.buffered() == before + sum(map(len, sent)), "queued bytes count as buffered"
        assert outbox.dirty == [s.transport]
        outbox.release()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.2)  # still held
        outbox.release()
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in sent]
        assert [g.encode() if isinstance(g, str) else g for g in got] == sent
        assert outbox.depth == 0 and not outbox.dirty
        s.send(b'{"after":1}')  # not held: written at once
        assert await asyncio.wait_for(ws.recv(), 5) == '{"after":1}'
        await ws.close()
    finally:
        await srv.stop()


async def test_a_close_while_held_sends_the_queued_frames_first():
    srv = await VenueServer(load_config()).start()
    try:
        ws, s = await connected(srv)
        outbox = srv.venue.outbox
        outbox.hold()
        s.send(b'{"last":"words"}')
        srv.venue._close(s, "closed while held")
        outbox.release()  # nothing left to write for it
        assert await asyncio.wait_for(ws.recv(), 5) == '{"last":"words"}'
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1008
        assert e.value.rcvd.reason == "closed while held"
    finally:
        await srv.stop()


async def test_an_order_event_goes_out_at_once_behind_what_was_queued_for_its_connection():
    """While the outbox holds market data, an order event for the account is written at once,
    with the connection's queued frames ahead of it (wire order kept), not at the release."""
    srv = await VenueServer(load_config()).start()
    try:
        ws, s = await connected(srv)
        outbox = srv.venue.outbox
        outbox.hold()
        srv.venue._to_account(s.account, b'{"type":"order_ack","n":0}')  # nothing queued: written as is
        assert await asyncio.wait_for(ws.recv(), 5) == '{"type":"order_ack","n":0}'
        s.send(b'{"type":"book_update","n":1}')
        srv.venue._to_account(s.account, b'{"type":"order_ack","n":2}')
        assert not outbox.dirty or not s.transport.buffered(), "nothing left queued for it"
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(2)]
        assert got == ['{"type":"book_update","n":1}', '{"type":"order_ack","n":2}'], "before the release"
        s.send(b'{"type":"ticker","n":3}')
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.2)  # market data waits for the release
        outbox.release()
        assert await asyncio.wait_for(ws.recv(), 5) == '{"type":"ticker","n":3}'
        await ws.close()
    finally:
        await srv.stop()


async def test_an_order_is_acked_then_its_book_update_follows_and_reaches_every_subscriber():
    """Through the real order path (publish holds the outbox): the owner reads its ack, then the
    book update its order made; a second subscriber reads the same update."""
    srv = await VenueServer(load_config()).start()
    try:
        ws, _ = await connected(srv)
        key2, _, _ = srv.venue.register("watcher")
        watcher = await websockets.connect(srv.ws_url, additional_headers={"Authorization": f"Bearer {key2}"})
        assert '"auth_ok"' in await asyncio.wait_for(watcher.recv(), 5)
        sub = '{"type":"subscribe","channels":["orderbook"],"market":"BTC-PERP"}'
        for c in (ws, watcher):
            await c.send(sub)
            replies = [json.loads(await asyncio.wait_for(c.recv(), 5))["type"] for _ in range(2)]
            assert replies == ["subscribed", "book_snapshot"], replies
        await ws.send('{"type":"order","order_id":"b1","market":"BTC-PERP","side":"buy","price":"59000","qty":"0.01"}')
        mine = [json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] for _ in range(2)]
        assert mine == ["order_ack", "book_update"], mine
        theirs = json.loads(await asyncio.wait_for(watcher.recv(), 5))
        assert theirs["type"] == "book_update" and theirs["bids"] == [[59000.0, 0.01]]
        await ws.close()
        await watcher.close()
    finally:
        await srv.stop()
