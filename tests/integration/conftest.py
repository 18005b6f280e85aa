"""A real venue on loopback (port 0) and a small client built on `websockets` + aiohttp,
which share no code with the venue."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets

from agenthft.model import Instrument, InstrumentKind
from agenthft.venue import VenueConfig, VenueServer
from agenthft.venue.config import Sandbox, Tier, VenueSettings

PERP = Instrument(
    "BTC-PERP",
    "BTC",
    "USDC",
    InstrumentKind.PERP,
    tick_size="0.1",
    lot_size="0.001",
    maker_fee="-0.0001",
    taker_fee="0.0005",
    aliases=("BTCUSDT",),
)
SPOT = Instrument("ETH-USDC", "ETH", "USDC", InstrumentKind.SPOT, tick_size="0.01", lot_size="0.01", taker_fee="0.001")
SMALL = Tier(
    orders_per_s=20, cancels_per_s=20, connections=3, subscriptions=4, rest_per_min=600, rest_burst=40, abuse_per_s=15
)


def config(**venue: Any) -> VenueConfig:
    return VenueConfig(
        markets=[PERP, SPOT],
        venue=VenueSettings(**venue),
        sandbox=Sandbox(funds={"USDC": "1000000", "ETH": "100"}),
        tiers={"default": SMALL},
    )


class WsClient:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, msg: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))

    async def recv(self, timeout: float = 2.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))  # type: ignore[no-any-return]

    async def expect(self, type_: str, timeout: float = 2.0, **fields: Any) -> dict[str, Any]:
        """Read until a message of `type_` (with `fields`) arrives; other messages are skipped."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            msg = await self.recv(max(left, 0.001))
            if msg["type"] == type_ and all(msg.get(k) == v for k, v in fields.items()):
                return msg

    async def expect_any(self, types: tuple[str, ...], timeout: float = 2.0) -> dict[str, Any]:
        """The next message whose type is one of `types`."""
        while True:
            msg = await self.recv(timeout)
            if msg["type"] in types:
                return msg

    async def quiet(self, timeout: float = 0.2) -> list[dict[str, Any]]:
        """Everything that arrives within `timeout`."""
        out = []
        try:
            while True:
                out.append(await self.recv(timeout))
        except TimeoutError:
            return out

    async def alive(self) -> None:
        """The connection still answers."""
        await self.send({"type": "ping", "id": 77})
        await self.expect("pong", id=77)


class Venue:
    def __init__(self, server: VenueServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.url = server.rest_url

    async def register(self, agent: str) -> dict[str, Any]:
        async with self.http.post(self.url + "/api/v1/register", json={"agent_id": agent}) as r:
            assert r.status == 200
            return await r.json()  # type: ignore[no-any-return]

    async def rest(self, method: str, path: str, key: str | None = None, **kw: Any) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with self.http.request(method, self.url + path, headers=headers, **kw) as r:
            return r.status, await r.json(), r.headers

    async def connect(self, key: str | None = None, auth: str = "header", **kw: Any) -> WsClient:
        headers = {"Authorization": f"Bearer {key}"} if key and auth == "header" else {}
        ws = await websockets.connect(self.server.ws_url, additional_headers=headers, compression=None, **kw)
        c = WsClient(ws)
        if key and auth == "header":
            await c.expect("auth_ok")
        elif key:
            await c.send({"type": "auth", "api_key": key, "timestamp_ns": 0})
            await c.expect("auth_ok")
        return c


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    server = await VenueServer(config()).start()
    async with aiohttp.ClientSession() as http:
        yield Venue(server, http)
    await server.stop()


def order(oid: str, side: str = "buy", price: Any = "60000.0", qty: Any = "0.01", **kw: Any) -> dict[str, Any]:
    return {"type": "order", "order_id": oid, "market": "BTC-PERP", "side": side, "price": price, "qty": qty, **kw}


def run_cmd(ws_url: str, rest_url: str, key: str, *extra: str, strategy: str = "quoter") -> list[str]:
    """`agenthft run STRATEGY` against a venue, as a subprocess command line."""
    where = ["--venue", ws_url, "--rest", rest_url, "--key", key]
    return [sys.executable, "-m", "agenthft.cli", "run", strategy, *where, *extra]


@pytest.fixture
async def binance() -> AsyncIterator[Any]:
    """A venue with its Binance USD-M front on loopback (tests/integration/binance_env.py)."""
    from .binance_env import running

    async with running(listen_key_ttl_s=3600) as env:
        yield env


@pytest.fixture
async def hyperliquid() -> AsyncIterator[Any]:
    """A venue with its Hyperliquid front on loopback (tests/integration/hyperliquid_env.py)."""
    from .hyperliquid_env import start, stop

    env = await start()
    yield env
    await stop(env)
