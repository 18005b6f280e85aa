"""A venue with its Binance USD-M front on loopback (port 0), a funded account with an HMAC key
(and the RFC 8032 Ed25519 test key), a second account that makes liquidity through the
venue's core, and a raw signed-request client (aiohttp + protocol/binance_usdm/signing)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yarl

from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.protocol.binance_usdm.signing import ed25519_sign, hmac_sign
from agenthft.venue import VenueConfig, VenueServer
from agenthft.venue.config import OrderRules, Sandbox, Tier
from agenthft.venue.fronts.binance_usdm import BinanceFront
from agenthft.venue.outcome import Outcome

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
# a coarse grid with no Binance-style alias: "ETHPERP" on the front, tick 0.05, step 0.02
ETH = Instrument("ETH-PERP", "ETH", "USDC", InstrumentKind.PERP, tick_size="0.05", lot_size="0.02")
ED_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
"""
ED_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
-----END PUBLIC KEY-----
"""
ROOMY = Tier(orders_per_s=500, cancels_per_s=500, rest_per_min=6000, rest_burst=6000, abuse_per_s=50)


def config(tier: Tier = ROOMY) -> VenueConfig:
    return VenueConfig(
        markets=[PERP, ETH],
        sandbox=Sandbox(funds={"USDC": "1000000"}),
        tiers={"default": tier},
        rules=OrderRules(min_notional="5", price_band_bps=500),
    )


@contextlib.asynccontextmanager
async def running(cfg: VenueConfig | None = None, **front_kw: Any) -> AsyncIterator[BinanceEnv]:
    """The venue (`cfg`, default `config()`) with its Binance front (`front_kw`) on loopback, and
    the env over them; all stopped on leaving, whatever happened inside."""
    server = await VenueServer(cfg or config()).start()
    try:
        front = await BinanceFront(server.venue, **front_kw).start()
        try:
            async with aiohttp.ClientSession() as http:
                yield BinanceEnv(server, front, http)
        finally:
            await front.stop()
    finally:
        await server.stop()


class BinanceEnv:
    def __init__(self, server: VenueServer, front: BinanceFront, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.front = front
        self.venue = server.venue
        self.http = http
        _, self.account, self.record = self.venue.register("binance-user", operator=True)
        self.key = front.add_hmac_key(self.record)
        self.ed = front.add_ed25519_key(self.record, ED_PUBLIC_PEM)
        _, self.maker_account, self.maker = self.venue.register("liquidity", operator=True)
        self.maker_key = front.add_hmac_key(self.maker)
        _, _, self.other = self.venue.register("other-trader", operator=True)
        self._n = 0
        self.base_url = front.base_url

    @property
    def api_key(self) -> str:
        return self.key.api_key

    @property
    def secret(self) -> str:
        assert self.key.secret is not None
        return self.key.secret

    def liquidity(
        self, side: Side, price: str, qty: str, order_type: OrderType = OrderType.LIMIT, by_other: bool = False
    ) -> Outcome:
        """An order of the liquidity account (or a third one), through the venue's one
        order-entry path."""
        self._n += 1
        key = self.other if by_other else self.maker
        out = self.venue.place(key, f"liq{self._n}", "BTC-PERP", side, qty, price, order_type, now_ns=time.time_ns())
        assert out.ok, out
        return out

    def trade(self, price: str, qty: str) -> None:
        """A trade between the two other accounts at `price` (the liquidity account sells)."""
        self.liquidity(Side.SELL, price, qty)
        out = self.liquidity(Side.BUY, price, qty, by_other=True)
        assert out.filled, out

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = True,
        api_key: str | None = "",
        where: str = "query",
        ed25519: bool = False,
        sign_over: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, Any, Any]:
        """A raw Binance request: params in the query or the form body, signed (HMAC, or
        Ed25519 with the test key) over what is sent; returns (status, JSON, headers)."""
        p = dict(params or {})
        if signed:
            p.setdefault("timestamp", timestamp if timestamp is not None else int(time.time() * 1000))
        text = urlencode(p)
        if signed:
            payload = text if sign_over is None else sign_over
            sig = ed25519_sign(ED_PEM, payload) if ed25519 else hmac_sign(self.secret, payload)
            text += "&" + urlencode({"signature": sig})
        headers = {}
        key = (self.ed.api_key if ed25519 else self.api_key) if api_key == "" else api_key
        if key is not None:
            headers["X-MBX-APIKEY"] = key
        url = self.base_url + path
        if where == "query":
            kw: dict[str, Any] = {}
            url += "?" + text if text else ""
        else:
            kw = {"data": text, "headers": {**headers, "Content-Type": "application/x-www-form-urlencoded"}}
        # encoded=True: the bytes signed are the bytes sent (yarl would normalise %21 to !)
        target = yarl.URL(url, encoded=True)
        async with self.http.request(method, target, headers=kw.pop("headers", headers), **kw) as r:
            return r.status, await r.json(content_type=None), r.headers
