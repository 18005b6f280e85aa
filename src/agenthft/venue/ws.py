"""The WebSocket shell: picows (measured fastest: bench/ws_echo.py) in front of `Venue`.

Adds what a real remote venue has and loopback lacks: an optional one-way delay (fixed plus
uniform jitter) on every message in both directions, order preserved.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Callable

import picows

from agenthft.venue.core import CLOSE_POLICY, Session, Venue
from agenthft.venue.outbox import Outbox, ws_frame_header

READ_LIMIT = 1 << 20


class Delay:
    """FIFO-preserving delay: each item is released at max(previous release, now + d)."""

    def __init__(self, delay_us: float, jitter_us: float, seed: int | None = None) -> None:
        self.delay_s = delay_us / 1e6
        self.jitter_s = jitter_us / 1e6
        self._rng = random.Random(seed)
        self._last = 0.0  # one release clock for both directions: FIFO across the venue

    @property
    def active(self) -> bool:
        return self.delay_s > 0 or self.jitter_s > 0

    def engaged(self) -> bool:
        """True while a delay is set or delayed items are still pending (keeps FIFO when the
        delay is switched off mid-stream)."""
        # _last stays 0.0 until something is delayed: no clock read per send on an undelayed venue
        return self.active or (self._last > 0.0 and self._last > asyncio.get_running_loop().time())

    def schedule(self, fn: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(self._last, now + self.delay_s + self._rng.uniform(0, self.jitter_s))
        self._last = at
        loop.call_at(at, fn)


class PicowsTransport:
    """Session transport over a picows connection. While the venue's outbox is held, frames
    queue and go out in one write when it is released (`agenthft.venue.outbox`)."""

    __slots__ = ("_delay", "_outbox", "_pending", "_pending_bytes", "_tcp", "_ws")

    def __init__(self, ws: picows.WSTransport, delay: Delay, outbox: Outbox | None = None) -> None:
        self._ws = ws
        self._tcp = ws.underlying_transport
        self._delay = delay
        self._outbox = outbox
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def send(self, data: bytes) -> None:
        if self._delay.engaged():
            self._delay.schedule(lambda: self._send_now(data))
        elif self._outbox is not None and self._outbox.depth:
            self._queue(data)
        else:
            self._send_now(data)

    def send_at_once(self, data: bytes) -> None:
        """An order event: written now, behind the frames the outbox holds for this connection
        (one write with them), never at the release."""
        if self._pending:  # (never with a delay set: frames are then scheduled, not held)
            self._queue(data)
            self.flush()
        elif self._delay.engaged():
            self._delay.schedule(lambda: self._send_now(data))
        else:
            self._send_now(data)

    def _queue(self, data: bytes) -> None:
        if not self._pending:
            assert self._outbox is not None
            self._outbox.dirty.append(self)
        self._pending.append(data)
        self._pending_bytes += len(data)

    def flush(self) -> None:
        """The queued frames in one write (picows writes a lone one itself)."""
        if not self._pending:
            return
        frames, self._pending, self._pending_bytes = self._pending, [], 0
        if len(frames) == 1:
            self._send_now(frames[0])
        elif not (self._ws.is_disconnected or self._ws.is_close_frame_sent or self._tcp.is_closing()):
            # picows frames one message per write: the queued ones framed here (unmasked, as
            # a server's are), then one write; picows's own writes queue behind it in order
            self._tcp.write(b"".join([b for d in frames for b in (ws_frame_header(len(d)), d)]))

    def _send_now(self, data: bytes) -> None:
        # the peer may be gone before its disconnect callback ran: the socket is then already
        # closing, and each write to it would only be counted and logged by the transport
        if not self._ws.is_disconnected and not self._tcp.is_closing():
            self._ws.send(picows.WSMsgType.TEXT, data)

    def close(self, code: int, reason: str) -> None:
        self.flush()  # what was queued before the close goes first
        if not self._ws.is_close_frame_sent:
            self._ws.send_close(picows.WSCloseCode(code), reason.encode()[:120])
        self._ws.disconnect()

    def buffered(self) -> int:
        size: int = self._ws.underlying_transport.get_write_buffer_size()
        return size + self._pending_bytes


class VenueListener(picows.WSListener):
    """One connection: frames in (fragmented messages reassembled, up to the frame limit),
    Venue out. Nothing a client sends can raise out of here: picows would close with 1011."""

    def __init__(self, venue: Venue, key_text: str | None, delay: Delay) -> None:
        self.venue = venue
        self.key_text = key_text
        self.delay = delay
        self.session: Session | None = None
        self._parts: list[bytes] | None = None  # a fragmented message being reassembled
        self._parts_len = 0

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.venue.settings.sndbuf_bytes:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.venue.settings.sndbuf_bytes)
        hw = self.venue.settings.high_water_bytes
        transport.underlying_transport.set_write_buffer_limits(high=hw, low=hw // 4)
        key = self.venue.keys.authenticate(self.key_text) if self.key_text else None
        self.session = self.venue.open_session(PicowsTransport(transport, self.delay, self.venue.outbox), key)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        s = self.session
        if s is None:
            return
        try:
            self._frame(transport, frame, s)
        except Exception as e:  # never 1011: the venue answers and the connection stays
            self.venue.on_fault(s, e, time.time_ns())

    def _frame(self, transport: picows.WSTransport, frame: picows.WSFrame, s: Session) -> None:
        mt = frame.msg_type
        if mt == picows.WSMsgType.TEXT or mt == picows.WSMsgType.BINARY:
            data = frame.get_payload_as_bytes()
            if not frame.fin:  # first fragment
                self._parts, self._parts_len = [data], len(data)
                self._check_parts(s)
                return
            self._parts = None
        elif mt == picows.WSMsgType.CONTINUATION:
            if self._parts is None:
                self.venue.frame_error(s, "a continuation frame without a first fragment")
                return
            data = frame.get_payload_as_bytes()
            self._parts.append(data)
            self._parts_len += len(data)
            if not self._check_parts(s) or not frame.fin:
                return
            data, self._parts = b"".join(self._parts), None
        elif mt == picows.WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        else:
            return
        if self.delay.engaged():
            self.delay.schedule(lambda: self.venue.on_message(s, data, time.time_ns()))
        else:
            self.venue.on_message(s, data, time.time_ns())

    def _check_parts(self, s: Session) -> bool:
        """A reassembled message obeys the same size limit as a frame (error + close 1008)."""
        limit = self.venue.settings.max_frame_bytes
        if self._parts_len <= limit:
            return True
        self._parts = None
        self.venue.oversize(s, self._parts_len)
        return False

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if self.session is not None:
            self.venue.close_session(self.session, time.time_ns())

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session.paused = True

    def resume_writing(self) -> None:
        if self.session is not None:
            self.venue.on_drained(self.session, time.time_ns())


async def serve_ws(venue: Venue, host: str, port: int, delay: Delay) -> asyncio.base_events.Server:
    """Listen for `/trading`; a bad `Authorization: Bearer` header is refused with 401."""

    def factory(
        request: picows.WSUpgradeRequest,
    ) -> picows.WSListener | picows.WSUpgradeResponseWithListener | None:
        if request.path.split(b"?")[0] != b"/trading":
            return None
        auth = request.headers.get("authorization")
        key_text = None
        if auth:
            key_text = auth[7:] if auth.lower().startswith("bearer ") else auth
            if venue.keys.authenticate(key_text) is None:
                response = picows.WSUpgradeResponse.create_error_response(401, b"unauthorized: invalid API key")
                return picows.WSUpgradeResponseWithListener(response, None)
        return VenueListener(venue, key_text, delay)

    # Frames up to 1 MiB (at least 4x the protocol limit) are read so that the venue answers
    # "too large" with an error and close 1008 itself; picows closes anything larger with 1009
    # ("message too big", with the sizes in the reason) before reading it.
    server: asyncio.base_events.Server = await picows.ws_create_server(
        factory,
        host,
        port,
        max_frame_size=max(READ_LIMIT, 4 * venue.settings.max_frame_bytes),
        websocket_handshake_timeout=5,
        logger_name="agenthft.venue.ws",
    )
    return server


__all__ = ["CLOSE_POLICY", "Delay", "serve_ws"]
