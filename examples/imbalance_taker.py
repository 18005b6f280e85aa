"""An example strategy: take the side the book leans to, then get flat again.

When the best bid's quantity outweighs the best ask's by `threshold` (or the reverse), buy (or
sell) `qty` with an IOC at the touch; at most one order per `cooldown_ms`; never beyond
`max_position`; when the lean fades, trade back towards flat. Run it with

    agenthft run examples/imbalance_taker.py:ImbalanceTaker --venue ... --rest ... --key ... \\
        --param qty=0.001 --param threshold=0.6

Everything is in the venue's units inside: prices in ticks, quantities in lots, time in ns.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from agenthft.model import OrderType, Side
from agenthft.strategies import Context, Strategy


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    market: Annotated[str, msgspec.Meta(description="market to trade")] = "BTC-PERP"
    qty: Annotated[str, msgspec.Meta(description="order size, decimal")] = "0.001"
    threshold: Annotated[float, msgspec.Meta(gt=0, lt=1, description="top-of-book imbalance that triggers")] = 0.6
    max_position: Annotated[str, msgspec.Meta(description="largest position either way, decimal")] = "0.005"
    cooldown_ms: Annotated[float, msgspec.Meta(ge=0, description="at least this long between orders")] = 200.0


class ImbalanceTaker(Strategy):
    """Takes the side the top of the book leans to; flattens when the lean fades."""

    name = "imbalance-taker"
    Params = Params

    def __init__(self, market: str, qty: str, threshold: float, max_position: str, cooldown_ms: float) -> None:
        self.markets = (market,)
        self.market, self.threshold, self.cooldown_ns = market, threshold, int(cooldown_ms * 1e6)
        self._decimals = (qty, max_position)
        self.lots = self.max_lots = 0
        self.next_ns = 0
        self.orders = 0

    def on_start(self, ctx: Context) -> None:
        inst = ctx.instruments[self.market]  # decimals -> lots once, on the market's own grid
        self.lots, self.max_lots = (inst.qty_to_lots(x) for x in self._decimals)

    def on_book(self, ctx: Context, market: str) -> None:
        if ctx.now_ns < self.next_ns:
            return
        book = ctx.books[market]
        lean = book.imbalance(1)  # (bid qty - ask qty) / (bid qty + ask qty) at the touch, or None
        bid, ask = book.best_bid(), book.best_ask()
        if lean is None or bid is None or ask is None:
            return
        pos = ctx.oms.positions.get(market)
        size = pos.size if pos else 0
        qty = self.lots
        if lean > self.threshold and size + self.lots <= self.max_lots:
            side, price = Side.BUY, ask
        elif lean < -self.threshold and size - self.lots >= -self.max_lots:
            side, price = Side.SELL, bid
        elif abs(lean) < self.threshold / 2 and size:  # the lean faded: back towards flat
            side, price = (Side.SELL, bid) if size > 0 else (Side.BUY, ask)
            qty = min(self.lots, abs(size))
        else:
            return
        if ctx.submit(market, side, qty, price, OrderType.IOC) is not None:  # None: risk said no
            self.orders += 1
        self.next_ns = ctx.now_ns + self.cooldown_ns
