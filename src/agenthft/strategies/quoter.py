"""A minimal two-sided quoter: one bid and one ask around the mid (or a reference price on
an empty book), re-quoted when the target moves. Enough to drive the runtime's whole loop:
submits, acks, fills, cancels, reconciliation."""

from __future__ import annotations

from agenthft.model import OrderType, Side
from agenthft.oms import ClientOrder
from agenthft.strategies.base import Context, Strategy


class Quoter(Strategy):
    name = "quoter"

    def __init__(self, market: str, qty: int, half_spread: int, ref_price: int, max_position: int = 0) -> None:
        self.markets = (market,)
        self.market = market
        self.qty = qty
        self.half_spread = half_spread
        self.ref_price = ref_price
        self.max_position = max_position  # lots; 0 = no own limit (risk still applies)
        self.quotes: dict[Side, ClientOrder | None] = {Side.BUY: None, Side.SELL: None}

    def _targets(self, ctx: Context) -> tuple[int, int]:
        book = ctx.books.get(self.market)
        ours = {o.price for o in self.quotes.values() if o is not None and o.live}
        bid, ask = (book.best_bid(), book.best_ask()) if book else (None, None)
        if bid is None or ask is None or bid in ours or ask in ours:
            mid2 = 2 * self.ref_price  # our own quotes are the book: hold the reference
        else:
            mid2 = bid + ask
        return (mid2 // 2) - self.half_spread, (mid2 + 1) // 2 + self.half_spread

    def on_start(self, ctx: Context) -> None:
        self.on_book(ctx, self.market)

    def on_book(self, ctx: Context, market: str) -> None:
        if market != self.market:
            return
        bid, ask = self._targets(ctx)
        pos = ctx.oms.positions.get(self.market)
        size = pos.size if pos else 0
        for side, price in ((Side.BUY, bid), (Side.SELL, ask)):
            current = self.quotes[side]
            if current is not None and current.live:
                if current.price == price:
                    continue
                ctx.cancel(current.order_id)
            if self.max_position and side.sign * size >= self.max_position:
                self.quotes[side] = None
                continue
            self.quotes[side] = ctx.submit(market, side, self.qty, price, OrderType.POST_ONLY)

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        if any(q is order for q in self.quotes.values()):
            self.on_book(ctx, self.market)
