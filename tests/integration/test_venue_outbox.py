"""The venue's outbox (write coalescing) on a real connection: frames queued while it is held
reach a client that is not ours (`websockets`) intact, in order, with every length encoding of
RFC 6455, in one write; a close sends what was queued first."""

from __future__ import annotations

import asyncio

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
