"""A JSON-over-WebSocket connection for the real-venue connectors (picows, as the agenthft
session): TCP_NODELAY, no compression, text frames handed over with their receive time, pings
answered, and an `on_close` callback. Reconnection is the connector's business (what to
resubscribe and reconcile differs per venue)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

import picows

log = logging.getLogger("agenthft.connectors")

OnText = Callable[[bytes, int], None]


class _Listener(picows.WSListener):
    def __init__(self, conn: WsConn) -> None:
        self.conn = conn

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        t = frame.msg_type
        if t == picows.WSMsgType.TEXT:
            self.conn.on_text(frame.get_payload_as_bytes(), time.time_ns())
        elif t == picows.WSMsgType.CLOSE:
            self.conn.close_reason = f"closed by the venue: {frame.get_close_code()} {frame.get_close_message()!r}"

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self.conn._lost()


class WsConn:
    """One WebSocket connection to `url`; `on_text(payload, recv_ns)` for every text frame."""

    def __init__(self, url: str, on_text: OnText, on_close: Callable[[str], None] | None = None) -> None:
        self.url = url
        self.on_text = on_text
        self.on_close = on_close
        self.transport: picows.WSTransport | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()

    @property
    def open(self) -> bool:
        t = self.transport
        return t is not None and not t.is_disconnected

    async def connect(self, timeout_s: float = 5.0, headers: dict[str, str] | None = None) -> None:
        self.closed.clear()
        self.close_reason = ""
        transport, _ = await asyncio.wait_for(
            picows.ws_connect(
                lambda: _Listener(self),
                self.url,
                extra_headers=headers,
                websocket_handshake_timeout=timeout_s,
                max_frame_size=64 * 1024 * 1024,
            ),
            timeout_s,
        )
        self.transport = transport

    def send(self, data: bytes) -> bool:
        t = self.transport
        if t is None or t.is_disconnected:
            return False
        t.send(picows.WSMsgType.TEXT, data)
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()

    def _lost(self) -> None:
        self.transport = None
        self.closed.set()
        if self.on_close is not None:
            self.on_close(self.close_reason or "connection lost")
