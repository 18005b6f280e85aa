"""The agent's WebSocket session (picows, the library the venue measured fastest).

Connects with TCP_NODELAY and optional SO_RCVBUF/SO_SNDBUF, no compression, authenticates with
a Bearer header, subscribes, measures ping RTT, and reconnects with exponential backoff and
jitter. Every await has a timeout. Messages are decoded into the protocol's typed Structs and
handed to a `Handler` with their receive time (ns); the session never interprets them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from typing import Protocol

import msgspec
import picows

from agenthft.protocol import messages as pm

log = logging.getLogger("agenthft.connectors")


class SessionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: str
    api_key: str
    markets: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("orderbook", "trades")
    depth: int = 0  # full book snapshots
    rcvbuf: int = 0
    sndbuf: int = 0
    connect_timeout_s: float = 5.0
    auth_timeout_s: float = 5.0
    ping_interval_s: float = 1.0
    ping_timeout_s: float = 5.0
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 5.0


class Handler(Protocol):
    def on_connected(self, session: WsSession) -> None: ...

    def on_message(self, msg: pm.ServerMessage, recv_ns: int) -> None: ...

    def on_disconnected(self, session: WsSession, reason: str) -> None: ...


class _Listener(picows.WSListener):
    def __init__(self, session: WsSession) -> None:
        self.session = session

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        sock = transport.underlying_transport.get_extra_info("socket")
        cfg = self.session.config
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if cfg.rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, cfg.rcvbuf)
            if cfg.sndbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, cfg.sndbuf)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type == picows.WSMsgType.TEXT:
            self.session._on_text(frame.get_payload_as_bytes(), time.time_ns())
        elif frame.msg_type == picows.WSMsgType.CLOSE:
            self.session.close_reason = f"closed by venue: {frame.get_close_code()} {frame.get_close_message()!r}"

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self.session._on_disconnected()


class WsSession:
    """One logical session that survives reconnects. `send` returns False while disconnected."""

    def __init__(self, config: SessionConfig, handler: Handler, seed: int | None = None) -> None:
        self.config = config
        self.handler = handler
        self.transport: picows.WSTransport | None = None
        self.connected = asyncio.Event()
        self.account_id = ""
        self.rtt_ns = 0
        self.reconnects = 0
        self.close_reason = ""
        self._decode = pm.server_decoder.decode
        self._encode = pm.encoder.encode
        self._auth: asyncio.Future[str] | None = None
        self._pings: dict[int, int] = {}
        self._ping_id = 0
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._rng = random.Random(seed)

    # --- sending ------------------------------------------------------------------------
    def send(self, data: bytes) -> bool:
        t = self.transport
        if t is None or not self.connected.is_set() or t.is_disconnected:
            return False
        t.send(picows.WSMsgType.TEXT, data)
        return True

    def send_msg(self, msg: msgspec.Struct | dict[str, object]) -> bool:
        return self.send(self._encode(msg))

    def resubscribe(self, market: str) -> None:
        """Ask for a fresh snapshot of one market's book (after a sequence gap)."""
        self.send_msg({"type": "unsubscribe", "channel": "orderbook", "market": market})
        self.send_msg({"type": "subscribe", "channel": "orderbook", "market": market, "depth": self.config.depth})

    # --- receiving ----------------------------------------------------------------------
    def _on_text(self, data: bytes, recv_ns: int) -> None:
        try:
            msg = self._decode(data)
        except msgspec.DecodeError as e:
            log.warning("undecodable message from venue: %s", e)
            return
        t = type(msg)
        if t is pm.AuthOk:
            assert isinstance(msg, pm.AuthOk)
            self.account_id = msg.account_id
            if self._auth is not None and not self._auth.done():
                self._auth.set_result(msg.account_id)
            return
        if t is pm.Pong:
            assert isinstance(msg, pm.Pong)
            sent = self._pings.pop(msg.id, None) if isinstance(msg.id, int) else None
            if sent is not None:
                self.rtt_ns = time.perf_counter_ns() - sent
        elif t is pm.Error and self._auth is not None and not self._auth.done():
            assert isinstance(msg, pm.Error)
            self._auth.set_exception(PermissionError(f"{msg.code}: {msg.message}"))
            return
        self.handler.on_message(msg, recv_ns)

    def _on_disconnected(self) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        self.transport = None
        self._lost.set()
        if was:
            self.handler.on_disconnected(self, self.close_reason or "connection lost")

    # --- lifecycle ----------------------------------------------------------------------
    async def connect_once(self) -> None:
        """Connect, authenticate and subscribe, or raise (timeouts included)."""
        cfg = self.config
        self._lost.clear()
        self.close_reason = ""
        loop = asyncio.get_running_loop()
        self._auth = loop.create_future()
        transport, _ = await asyncio.wait_for(
            picows.ws_connect(
                lambda: _Listener(self),
                cfg.url,
                extra_headers={"Authorization": f"Bearer {cfg.api_key}"},
                websocket_handshake_timeout=cfg.connect_timeout_s,
            ),
            cfg.connect_timeout_s,
        )
        self.transport = transport
        try:
            await asyncio.wait_for(self._auth, cfg.auth_timeout_s)
        except BaseException:
            transport.disconnect()
            raise
        self.connected.set()
        if cfg.markets:
            channels = [c for c in cfg.channels if c != "orders"]
            self.send_msg({"type": "subscribe", "channels": channels, "markets": list(cfg.markets), "depth": cfg.depth})
        self.handler.on_connected(self)

    async def run(self, connected: bool = False) -> None:
        """Stay connected until `stop()`: reconnect with exponential backoff and jitter.
        `connected`: the first connection was made by the caller (`connect_once`), so that
        its failure (a wrong URL, a refused key) surfaces at once instead of being retried."""
        backoff = self.config.backoff_initial_s
        pinger = asyncio.create_task(self._ping_loop())
        first = connected
        try:
            while not self._stop.is_set():
                try:
                    if first:
                        first = False
                    else:
                        await self.connect_once()
                    backoff = self.config.backoff_initial_s
                    stop = asyncio.create_task(self._stop.wait())
                    lost = asyncio.create_task(self._lost.wait())
                    await asyncio.wait({stop, lost}, return_when=asyncio.FIRST_COMPLETED)
                    stop.cancel()
                    lost.cancel()
                except PermissionError:
                    raise  # a bad key does not get better by retrying
                except (OSError, TimeoutError, picows.WSError) as e:
                    log.info("connect failed: %s", e)
                if self._stop.is_set():
                    break
                self.reconnects += 1
                delay = min(self.config.backoff_max_s, backoff) * (0.5 + self._rng.random())
                backoff = min(self.config.backoff_max_s, backoff * 2)
                await asyncio.sleep(delay)
        finally:
            pinger.cancel()
            if self.transport is not None:
                self.transport.disconnect()

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval_s)
            if not self.connected.is_set():
                continue
            self._ping_id += 1
            self._pings = {k: v for k, v in self._pings.items() if k > self._ping_id - 10}
            self._pings[self._ping_id] = time.perf_counter_ns()
            self.send_msg({"type": "ping", "id": self._ping_id})

    def stop(self) -> None:
        self._stop.set()
        if self.transport is not None:
            self.transport.disconnect()

    def drop(self) -> None:
        """Cut the connection now (fault injection and tests); `run` reconnects."""
        if self.transport is not None:
            self.transport.disconnect()
