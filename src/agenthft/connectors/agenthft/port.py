"""The agenthft connector: our venue's protocol (WebSocket for orders and market data, REST for
reference data and the account) behind the venue port. `agenthft venue` serves it; so does any
venue that speaks docs/protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

import aiohttp
import msgspec
import picows

from agenthft.connectors.agenthft.codec import Codec, cancel_all_message, cancel_message, order_message
from agenthft.connectors.agenthft.rest import RestClient, RestError
from agenthft.connectors.agenthft.session import SessionConfig, WsSession
from agenthft.connectors.port import (
    AccountSnapshot,
    AmendRequest,
    Caps,
    OrderRequest,
    PortListener,
    VenueAuthError,
    VenueLimits,
    VenueUnreachable,
)
from agenthft.model import Instrument, InstrumentKind, Side
from agenthft.model.money import cash
from agenthft.oms import VenueFill, VenueOrder
from agenthft.protocol import messages as pm


def instrument_from_rest(m: dict[str, Any]) -> Instrument:
    """REST /markets numbers -> an Instrument (repr of a float is its shortest exact text)."""
    return Instrument(
        m["market"],
        m["base"],
        m["quote"],
        InstrumentKind(m["kind"]),
        tick_size=repr(m["tick_size"]),
        lot_size=repr(m["lot_size"]),
        maker_fee=repr(m["maker_fee"]),
        taker_fee=repr(m["taker_fee"]),
        aliases=tuple(m.get("aliases", ())),
        contract_size=str(m.get("contract_size", "1")),
        inverse=bool(m.get("inverse", False)),
        settle=str(m.get("settle", "")) if m.get("inverse") else "",
        min_notional=str(m.get("min_notional", "0")),
    )


def on_this_host(url: str) -> bool:
    """A loopback address (127.0.0.0/8, ::1, localhost): the venue shares this host's clock."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AgenthftPort:
    """A venue speaking agenthft's protocol at `ws_url` (orders, market data) and `rest_url`."""

    name = "agenthft"
    caps = Caps(cancel_on_disconnect="the venue cancels a connection's orders when it closes")

    def __init__(self, ws_url: str, rest_url: str, api_key: str, session: dict[str, Any] | None = None) -> None:
        self.url = ws_url
        self.ws_url, self.rest_url, self.api_key = ws_url, rest_url, api_key
        if on_this_host(ws_url):  # the venue's ack time is then on our clock: the RTT is split there
            self.caps = msgspec.structs.replace(self.caps, venue_clock_ns=True)
        self.session_opts = session or {}
        self.rest = RestClient(rest_url, api_key)
        self.session: WsSession | None = None
        self.codec: Codec | None = None
        self.instruments_by_name: dict[str, Instrument] = {}
        self._task: asyncio.Task[None] | None = None
        self._listener: PortListener | None = None

    # --- state --------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.session is not None and self.session.connected.is_set()

    @property
    def reconnects(self) -> int:
        return self.session.reconnects if self.session is not None else 0

    @property
    def rtt_ns(self) -> int:
        return self.session.rtt_ns if self.session is not None else 0

    # --- reference data -------------------------------------------------------------------------
    async def instruments(self) -> list[Instrument]:
        markets = await self._rest(self.rest.markets())
        out = [instrument_from_rest(m) for m in markets]
        self.instruments_by_name = {i.market: i for i in out}
        return out

    async def limits(self) -> VenueLimits:
        raw = await self._rest(self.rest.limits())
        return VenueLimits(
            float(raw.get("orders_per_s") or 0),
            float(raw.get("cancels_per_s") or 0),
            float(raw.get("rest_per_min") or 0),
            raw,
        )

    async def _rest(self, call: Any) -> Any:
        """A REST call, its failures as the port's errors (a refused key, nothing there)."""
        try:
            return await call
        except RestError as e:
            if e.status == 401:
                raise VenueAuthError(f"the venue refused the API key (401): {e}") from None
            raise VenueUnreachable(f"the venue's REST API at {self.rest_url} answered {e}") from None
        except aiohttp.ContentTypeError:
            raise VenueUnreachable(f"{self.rest_url} is not an agenthft REST API") from None
        except (aiohttp.ClientConnectorError, ConnectionRefusedError, OSError) as e:
            raise VenueUnreachable(f"cannot reach the REST API at {self.rest_url}: {e}") from None
        except (aiohttp.ClientResponseError, msgspec.DecodeError, ValueError, KeyError, TypeError) as e:
            raise VenueUnreachable(f"{self.rest_url} did not answer like an agenthft REST API ({e})") from None

    # --- streams --------------------------------------------------------------------------------
    async def connect(self, listener: PortListener, markets: Sequence[str]) -> None:
        self._listener = listener
        self.codec = Codec(listener, self.instruments_by_name)
        cfg = SessionConfig(self.ws_url, self.api_key, markets=tuple(markets), **self.session_opts)
        self.session = WsSession(cfg, self)
        try:
            await self.session.connect_once()  # a wrong URL or key fails here
        except PermissionError as e:
            raise VenueAuthError(f"the venue refused the API key on the WebSocket: {e}") from None
        except (OSError, TimeoutError, picows.WSError) as e:
            raise VenueUnreachable(
                f"no WebSocket session at {self.ws_url} ({type(e).__name__}: {str(e) or 'timed out'}); "
                "an agenthft venue's endpoint is ws://HOST:PORT/trading"
            ) from None
        self._task = asyncio.create_task(self.session.run(connected=True))

    # WsSession's handler
    def on_connected(self, session: WsSession) -> None:
        if self._listener is not None:
            self._listener.on_connected(session.reconnects)

    def on_disconnected(self, session: WsSession, reason: str) -> None:
        if self._listener is not None:
            self._listener.on_disconnected(reason)

    def on_message(self, msg: pm.ServerMessage, recv_ns: int) -> None:
        if type(msg) is pm.Pong:
            if self._listener is not None and self.session is not None:
                self._listener.on_rtt(self.session.rtt_ns, recv_ns)
            return
        if self.codec is not None:
            self.codec.feed(msg, recv_ns)

    def resubscribe(self, market: str) -> None:
        if self.session is not None:
            self.session.resubscribe(market)

    # --- orders ----------------------------------------------------------------------------------
    def place(self, req: OrderRequest) -> bool:
        s, codec = self.session, self.codec
        if s is None or codec is None:
            return False
        inst = self.instruments_by_name[req.market]
        if not s.send_msg(order_message(req, inst)):
            return False
        codec.markets[req.order_id] = req.market
        return True

    def cancel(self, order_id: str, market: str) -> bool:
        return self.session is not None and self.session.send_msg(cancel_message(order_id))

    def cancel_all(self, market: str | None = None) -> bool:
        return self.session is not None and self.session.send_msg(cancel_all_message(market))

    def amend(self, req: AmendRequest) -> bool:
        return False  # the protocol has no amend (caps.amend is False): cancel and place again

    # --- the account -----------------------------------------------------------------------------
    async def snapshot(self) -> AccountSnapshot:
        """Open orders and fills read by the venue at one instant (`GET /api/v1/state`; a venue
        with only the shared protocol is read in two requests: `consistent` is then False), then
        positions and balances."""
        state = await self.rest.state()
        orders = []
        for r in state["open_orders"]:
            inst = self.instruments_by_name[r["market"]]
            orders.append(
                VenueOrder(
                    r["order_id"],
                    r["venue_order_id"],
                    r["market"],
                    Side(r["side"]),
                    inst.price_to_ticks(r["price"]),
                    inst.qty_to_lots(r["qty"]),
                    inst.qty_to_lots(r["filled_qty"]),
                )
            )
        fills = [self.venue_fill(f) for f in state["fills"]]
        positions: dict[str, int] = {}
        balances: dict[str, int] = {}
        with contextlib.suppress(RestError):
            for p in (await self.rest.positions()).get("positions", []):
                held = self.instruments_by_name.get(p["market"])
                if held is not None:
                    positions[p["market"]] = held.qty_to_lots(p["size"])
            for asset, b in (await self.rest.balance()).get("balances", {}).items():
                balances[asset] = cash(b["total"])
        return AccountSnapshot(orders, fills, positions, balances, bool(state.get("consistent", True)))

    def venue_fill(self, f: dict[str, Any]) -> VenueFill:
        return Codec.fill_of(msgspec.convert(f, pm.FillMsg), self.instruments_by_name)

    async def ping(self) -> int:
        """`GET /health` on the REST keep-alive connection."""
        t0 = time.perf_counter_ns()
        await self._rest(self.rest.request("GET", "/health"))
        return time.perf_counter_ns() - t0

    # --- lifecycle --------------------------------------------------------------------------------
    async def close(self) -> None:
        if self.session is not None:
            self.session.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)
        await self.rest.close()

    def drop(self) -> None:
        if self.session is not None:
            self.session.drop()
