"""A minimal two-sided quoter: one bid and one ask around the mid (or a reference price on
an empty book), re-quoted when the target moves. Enough to drive the runtime's whole loop:
submits, acks, fills, cancels, reconciliation."""

from __future__ import annotations

from agenthft.model import OrderType, Side
from agenthft.oms import ClientOrder
from agenthft.strategies.base import Context, Strategy


class Quoter(Strategy):
    name = "quoter"

    def __init__(self, market: str, qty: str, half_spread: int, ref_price: str, max_position: str = "0") -> None:
        """`qty`, `ref_price`, `max_position` are decimals (converted on the market's grid at
        start); `half_spread` is in ticks."""
        self.markets = (market,)
        self.market = market
        self._params = (qty, ref_price, max_position)
        self.half_spread = half_spread
        self.qty = self.ref_price = self.max_position = 0
        self.quotes: dict[Side, ClientOrder | None] = {Side.BUY: None, Side.SELL: None}

    def _targets(self, ctx: Context) -> tuple[int, int]:
        book = ctx.books.get(self.market)
        ours = {o.price for o in self.quotes.values() if o is not None and o.live}
        bid, ask = (book.best_bid(), book.best_ask()) if book else (None, None)
        # while the book is empty or only our own quotes, hold the reference price
        mid2 = 2 * self.ref_price if bid is None or ask is None or bid in ours or ask in ours else bid + ask
        return (mid2 // 2) - self.half_spread, (mid2 + 1) // 2 + self.half_spread

    def on_start(self, ctx: Context) -> None:
        inst = ctx.instruments[self.market]
        qty, ref, maxpos = self._params
        self.qty, self.ref_price, self.max_position = (
            inst.qty_to_lots(qty),
            inst.price_to_ticks(ref),
            inst.qty_to_lots(maxpos),
        )
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
