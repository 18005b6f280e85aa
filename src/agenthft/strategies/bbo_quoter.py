"""A post-only bid `ticks` under the best bid and an ask `ticks` over the best ask, each
cancelled and replaced as soon as its best moves.

The reference strategy of the backtest benchmark (bench/backtest.py): the same rules are
written for NautilusTrader and hftbacktest there, so engines are compared on equal work:
- per side one working order; its price is the best -/+ `ticks`;
- an order with a request in flight (placed and not yet acknowledged, or cancelled and not yet
  answered) is left alone until the answer comes;
- an open order at another price is cancelled and a new one placed at once; a side with no open
  order (none yet, filled, cancelled, rejected) gets one;
- these rules run when the book changes and when one of its orders fills or ends (not on a clock).
It reads the best prices only (`interest`), so a data path may wake it only when one moves (or
its orders change). It chases the touch on every change (a cancel and a new order per move),
which makes it a load test of the order path rather than a profitable quoter (see `quoter` for
one that rests).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from agenthft.model import OrderStatus, OrderType, Side
from agenthft.oms import ClientOrder, VenueFill
from agenthft.strategies.base import Context, Interest, Strategy

_IN_FLIGHT = (OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL)


class BboQuoterParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    market: Annotated[str, msgspec.Meta(description="market to quote (the venue's name or an alias)")] = "BTC-PERP"
    qty: Annotated[str, msgspec.Meta(description="quote size, decimal (on the market's lot grid)")] = "0.001"
    ticks: Annotated[int, msgspec.Meta(ge=0, description="ticks outside the best bid / best ask")] = 1


class BboQuoter(Strategy):
    name = "bbo-quoter"
    Params = BboQuoterParams
    interest = Interest(depth=1, sizes=False)  # the best bid and ask prices, nothing else

    def __init__(self, market: str, qty: str = "0.001", ticks: int = 1) -> None:
        if ticks < 0:
            raise ValueError("ticks must be >= 0")
        self.market = market
        self.markets = (market,)
        self._qty_text, self.ticks = qty, ticks
        self.qty = 0
        self.quotes: dict[Side, ClientOrder | None] = {Side.BUY: None, Side.SELL: None}
        self.replaced = 0

    def on_start(self, ctx: Context) -> None:
        self.qty = ctx.instruments[self.market].qty_to_lots(self._qty_text)
        if self.qty <= 0:
            raise ValueError(f"qty {self._qty_text!r} is below one lot of {self.market}")

    def on_book(self, ctx: Context, market: str) -> None:
        if market != self.market:
            return
        book = ctx.books[market]
        bid, ask = book.best_bid(), book.best_ask()
        for side, best in ((Side.BUY, bid), (Side.SELL, ask)):
            if best is None:
                continue
            price = best - self.ticks if side is Side.BUY else best + self.ticks
            o = self.quotes[side]
            if o is not None and o.live:
                if o.status in _IN_FLIGHT or o.price == price:
                    continue  # its answer first (hftbacktest cannot cancel an order it has no ack for)
                if not ctx.cancel(o.order_id):
                    continue  # throttled: replace once a cancel goes out
                self.replaced += 1
            self.quotes[side] = ctx.submit(market, side, self.qty, price, OrderType.POST_ONLY)

    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        # a side may be empty now: the same rules at once. A fill that completed the order is
        # followed at once by `on_order_done`, which runs them on the same state: once is enough
        if order.status is not OrderStatus.FILLED:
            self.on_book(ctx, order.market)

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        self.on_book(ctx, order.market)
