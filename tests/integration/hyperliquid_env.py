"""A venue with its Hyperliquid front on loopback (port 0): markets on Hyperliquid's own grids
(BTC at 60000 moves by 1, ETH at 3000 by 0.1: 5 significant figures), a funded wallet with an
approved API (agent) wallet, and a second account that makes liquidity through the venue's
core."""

from __future__ import annotations

import time

from agenthft.model import Instrument, InstrumentKind, OrderType, Side
from agenthft.venue import VenueConfig, VenueServer
from agenthft.venue.config import OrderRules, Sandbox, Tier
from agenthft.venue.fronts.hyperliquid import HyperliquidFront
from agenthft.venue.outcome import Outcome

BTC = Instrument(
    "BTC-PERP",
    "BTC",
    "USDC",
    InstrumentKind.PERP,
    tick_size="1",
    lot_size="0.00001",
    maker_fee="0.00015",
    taker_fee="0.00045",
    aliases=("BTCUSDT",),
)
ETH = Instrument(
    "ETH-PERP", "ETH", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.0001", taker_fee="0.00045"
)
HYPE = Instrument("HYPE-USDC", "HYPE", "USDC", InstrumentKind.SPOT, tick_size="0.001", lot_size="0.01")
ROOMY = Tier(orders_per_s=500, cancels_per_s=500, rest_per_min=6000, rest_burst=6000, abuse_per_s=50)
#: the wallet of the official SDK's signing vectors: a known address in assertions
MASTER_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"


def config(tier: Tier = ROOMY) -> VenueConfig:
    return VenueConfig(
        markets=[BTC, ETH, HYPE],
        sandbox=Sandbox(funds={"USDC": "1000000", "HYPE": "1000"}),
        tiers={"default": tier},
        rules=OrderRules(min_notional="10"),
    )


class HyperliquidEnv:
    def __init__(self, server: VenueServer, front: HyperliquidFront) -> None:
        self.server = server
        self.front = front
        self.venue = server.venue
        _, self.account, self.record = self.venue.register("hl-user", operator=True)
        self.wallet = front.add_wallet(self.record, MASTER_KEY)
        self.address = self.wallet.address
        self.agent = front.approve_agent(self.address, "bot1")
        _, self.maker_account, self.maker = self.venue.register("liquidity", operator=True)
        _, _, self.other = self.venue.register("other-trader", operator=True)
        self._n = 0
        self.base_url = front.base_url

    def liquidity(
        self,
        side: Side,
        price: str,
        qty: str,
        order_type: OrderType = OrderType.LIMIT,
        by_other: bool = False,
        market: str = "BTC-PERP",
    ) -> Outcome:
        """An order of the liquidity account (or a third one), through the venue's one
        order-entry path."""
        self._n += 1
        key = self.other if by_other else self.maker
        out = self.venue.place(key, f"liq{self._n}", market, side, qty, price, order_type, now_ns=time.time_ns())
        assert out.ok, out
        return out

    def trade(self, price: str, qty: str) -> None:
        """A trade between the two other accounts at `price` (the liquidity account sells)."""
        self.liquidity(Side.SELL, price, qty)
        out = self.liquidity(Side.BUY, price, qty, by_other=True)
        assert out.filled, out


async def start(tier: Tier = ROOMY, **front_kw: object) -> HyperliquidEnv:
    server = await VenueServer(config(tier)).start()
    front = await HyperliquidFront(server.venue, **front_kw).start()  # type: ignore[arg-type]
    return HyperliquidEnv(server, front)


async def stop(env: HyperliquidEnv) -> None:
    await env.front.stop()
    await env.server.stop()
