"""A two-sided post-only quoter: the example strategy that drives the runtime's whole loop.

It quotes one bid and one ask `half_spread` ticks around the mid of the book *without its own
orders* (its quotes at the touch must not move its own target), keeps them resting, and moves
one only when its target has moved by `requote_ticks` or more, at most once per
`min_requote_ms` per side; after a denial or a reject it also waits that long. A filled quote is
replaced at once. So its order rate is bounded by design (2 sides x 1000 / min_requote_ms
replacements per second, 40/s at the default 50 ms, plus one per fill), under the default 50/s
circuit breaker and the venue's 100/s, and it keeps its queue position while the market flickers.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from agenthft.book import L2Book
from agenthft.model import OrderStatus, OrderType, Side
from agenthft.oms import ClientOrder
from agenthft.strategies.base import Context, Strategy

_LOOK = 8  # levels searched for the best price not made of our own quantity


def external_best(book: L2Book, side: Side, own: dict[int, int]) -> int | None:
    """Best price on `side` with quantity beyond our own `own` (price -> lots) at it."""
    levels = book.bids(_LOOK) if side is Side.BUY else book.asks(_LOOK)
    for price, qty in levels:
        if qty > own.get(price, 0):
            return price
    return None


class QuoterParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    market: Annotated[str, msgspec.Meta(description="market to quote (the venue's name or an alias)")] = "BTC-PERP"
    qty: Annotated[str, msgspec.Meta(description="quote size, decimal (on the market's lot grid)")] = "0.01"
    half_spread: Annotated[int, msgspec.Meta(ge=0, description="ticks from the mid to each quote")] = 5
    ref_price: Annotated[str, msgspec.Meta(description="price to quote around while a side is empty")] = "60000"
    max_position: Annotated[str, msgspec.Meta(description="stop quoting the side past this position; 0: off")] = "0"
    requote_ticks: Annotated[
        int, msgspec.Meta(ge=0, description="move a quote when its target moved this far; 0: half_spread")
    ] = 0
    min_requote_ms: Annotated[
        float, msgspec.Meta(ge=0, description="at most one replacement per side per this; also after a reject")
    ] = 50.0


class Quoter(Strategy):
    name = "quoter"
    Params = QuoterParams

    def __init__(
        self,
        market: str,
        qty: str,
        half_spread: int,
        ref_price: str,
        max_position: str = "0",
        requote_ticks: int = 0,
        min_requote_ms: float = 50.0,
    ) -> None:
        """`qty`, `ref_price`, `max_position` are decimals (converted on the market's grid at
        start); `half_spread` and `requote_ticks` are ticks (0: requote at `half_spread` ticks,
        at least 1); `min_requote_ms` spaces the replacements of one side."""
        if half_spread < 0 or requote_ticks < 0 or min_requote_ms < 0:
            raise ValueError("half_spread, requote_ticks and min_requote_ms must be >= 0")
        self.markets = (market,)
        self.market = market
        self._params = (qty, ref_price, max_position)
        self.half_spread = half_spread
        self.requote_ticks = requote_ticks or max(1, half_spread)
        self.min_requote_ns = int(min_requote_ms * 1e6)
        self.qty = self.ref_price = self.max_position = 0
        self.quotes: dict[Side, ClientOrder | None] = {Side.BUY: None, Side.SELL: None}
        self._next_ns = {Side.BUY: 0, Side.SELL: 0}  # earliest next placement per side
        self.requotes = 0

    def _own(self, side: Side) -> dict[int, int]:
        o = self.quotes[side]
        return {o.price: o.qty - o.filled} if o is not None and o.live and o.price is not None else {}

    def targets(self, book: L2Book | None) -> tuple[int, int]:
        """(bid, ask) in ticks: around the mid of the others' best prices (the reference price
        while a side is empty), never crossing the others' opposite best (post-only)."""
        bid = external_best(book, Side.BUY, self._own(Side.BUY)) if book else None
        ask = external_best(book, Side.SELL, self._own(Side.SELL)) if book else None
        mid2 = bid + ask if bid is not None and ask is not None else 2 * self.ref_price
        want_bid, want_ask = mid2 // 2 - self.half_spread, (mid2 + 1) // 2 + self.half_spread
        if ask is not None:
            want_bid = min(want_bid, ask - 1)
        if bid is not None:
            want_ask = max(want_ask, bid + 1)
        return want_bid, max(want_ask, want_bid + 1)  # never against our own bid

    def on_start(self, ctx: Context) -> None:
        inst = ctx.instruments[self.market]
        qty, ref, maxpos = self._params
        self.qty, self.ref_price, self.max_position = (
            inst.qty_to_lots(qty),
            inst.price_to_ticks(ref),
            inst.qty_to_lots(maxpos),
        )
        if self.qty <= 0:
            raise ValueError(f"qty {qty!r} is below one lot of {self.market}")
        self.on_book(ctx, self.market)

    def on_book(self, ctx: Context, market: str) -> None:
        if market != self.market:
            return
        bid, ask = self.targets(ctx.books.get(self.market))
        pos = ctx.oms.positions.get(self.market)
        size = pos.size if pos else 0
        now = ctx.now_ns
        for side, price in ((Side.BUY, bid), (Side.SELL, ask)):
            capped = bool(self.max_position) and side.sign * size >= self.max_position
            current = self.quotes[side]
            live = current is not None and current.live
            if live and current is not None:
                if current.status is OrderStatus.PENDING_CANCEL:
                    continue  # its replacement goes out when the cancel is answered
                if not capped and current.price is not None and abs(current.price - price) < self.requote_ticks:
                    continue  # close enough: keep the queue position
            if capped and not live:
                self.quotes[side] = None
                continue
            if now < self._next_ns[side]:
                continue  # spaced: a replacement, a denial or a reject was recent
            if live and current is not None:
                if not ctx.cancel(current.order_id):
                    continue  # throttled: try again on a later update
                self.requotes += 1
                self._next_ns[side] = now + self.min_requote_ns
            if capped:
                self.quotes[side] = None
                continue
            o = self.quotes[side] = ctx.submit(market, side, self.qty, price, OrderType.POST_ONLY)
            if o is None:  # denied by risk or throttled: do not ask again on every update
                self._next_ns[side] = now + self.min_requote_ns

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        """A quote ended: filled -> replace it at once; rejected -> after `min_requote_ms`."""
        if any(q is order for q in self.quotes.values()):
            if order.status is OrderStatus.REJECTED:
                self._next_ns[order.side] = ctx.now_ns + self.min_requote_ns
            self.on_book(ctx, self.market)
