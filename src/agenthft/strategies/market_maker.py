"""Market making: post-only quotes around the microprice, skewed by inventory, earning the
spread and the maker rebate, defended by the microstructure detectors.

- Fair value: the microprice of the book *without our own quotes* (the touch's prices weighted by
  the opposite sizes); while a spoof is flagged it falls back to the mid: the spoofed side's size
  is fake, and the microprice would lean the way the spoofer wants (`fade_spoofs`).
- Quotes: `half_spread` ticks either side of fair, shifted against the inventory by up to
  `skew_ticks` at `max_position` (long: both quotes lower, so the ask fills first); at the cap the
  side that would add is not quoted; never crossing the others' best (post-only).
- Queue position is worth keeping: a resting quote moves only when its target has moved by
  `requote_ticks` or more, at most once per `min_requote_ms` per side.
- Cancel cascade (liquidity leaving one side fast): pull both quotes for `pause_ms`
  (`pull_on_cascade`). Stale data is the risk engine's: it pulls every quote of a stale market.
- Adverse selection is measured as it trades: each fill's markout, the mid `markout_ms` later
  against the fill price, in ticks (negative: the market moved against the fill).
"""

from __future__ import annotations

import math
from typing import Annotated

import msgspec

from agenthft.model import OrderStatus, OrderType, Side
from agenthft.oms import ClientOrder, VenueFill
from agenthft.signals import SignalEvent
from agenthft.strategies.base import Context, Strategy
from agenthft.strategies.quoter import external_best


class MarketMakerParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    market: Annotated[str, msgspec.Meta(description="market to make (the venue's name or an alias)")] = "BTC-PERP"
    qty: Annotated[str, msgspec.Meta(description="quote size, decimal")] = "0.01"
    half_spread: Annotated[int, msgspec.Meta(ge=1, description="ticks from fair to each quote")] = 2
    skew_ticks: Annotated[int, msgspec.Meta(ge=0, description="quote shift at max_position, ticks")] = 4
    max_position: Annotated[str, msgspec.Meta(description="inventory cap either way, decimal")] = "0.05"
    requote_ticks: Annotated[int, msgspec.Meta(ge=1, description="move a quote only this far or more")] = 2
    min_requote_ms: Annotated[float, msgspec.Meta(ge=0, description="least time between moves of a side")] = 50.0
    fade_spoofs: Annotated[bool, msgspec.Meta(description="on a spoof, fair = mid (ignore the sizes)")] = True
    fade_ms: Annotated[float, msgspec.Meta(ge=0, description="how long a spoof is faded")] = 500.0
    pull_on_cascade: Annotated[bool, msgspec.Meta(description="on a cancel cascade, pull both quotes")] = True
    pause_ms: Annotated[float, msgspec.Meta(ge=0, description="how long quotes stay pulled")] = 300.0
    markout_ms: Annotated[float, msgspec.Meta(gt=0, description="horizon of the adverse-selection markout")] = 1000.0


class MarketMaker(Strategy):
    name = "market-maker"
    Params = MarketMakerParams
    uses_signals = True

    def __init__(
        self,
        market: str,
        qty: str = "0.01",
        half_spread: int = 2,
        skew_ticks: int = 4,
        max_position: str = "0.05",
        requote_ticks: int = 2,
        min_requote_ms: float = 50.0,
        fade_spoofs: bool = True,
        fade_ms: float = 500.0,
        pull_on_cascade: bool = True,
        pause_ms: float = 300.0,
        markout_ms: float = 1000.0,
    ) -> None:
        if half_spread < 1 or requote_ticks < 1 or skew_ticks < 0:
            raise ValueError("half_spread and requote_ticks must be >= 1, skew_ticks >= 0")
        self.market = market
        self.markets = (market,)
        self._text = (qty, max_position)
        self.half_spread, self.skew_ticks, self.requote_ticks = half_spread, skew_ticks, requote_ticks
        self.min_requote_ns = int(min_requote_ms * 1e6)
        self.fade_spoofs, self.fade_ns = fade_spoofs, int(fade_ms * 1e6)
        self.pull_on_cascade, self.pause_ns = pull_on_cascade, int(pause_ms * 1e6)
        self.markout_ns = int(markout_ms * 1e6)
        self.qty = self.max_lots = 0
        self.quotes: dict[Side, ClientOrder | None] = {Side.BUY: None, Side.SELL: None}
        self._next_ns = {Side.BUY: 0, Side.SELL: 0}
        self.spoof_until = self.paused_until = 0
        self.spoofs = self.cascades = 0
        self._pending: list[tuple[int, int, int]] = []  # (due ns, side sign, fill price ticks)
        self._recent: dict[int, None] = {}  # prices we quoted lately (the detectors see our own pulls)
        self.markouts: list[int] = []  # ticks per fill, positive = in our favour

    def on_start(self, ctx: Context) -> None:
        inst = ctx.instruments[self.market]
        self.qty, self.max_lots = inst.qty_to_lots(self._text[0]), inst.qty_to_lots(self._text[1])
        if self.qty <= 0:
            raise ValueError(f"qty {self._text[0]!r} is below one lot of {self.market}")

    @property
    def adverse_selection_ticks(self) -> float | None:
        """Mean markout per fill, ticks (negative: adverse)."""
        return sum(self.markouts) / len(self.markouts) if self.markouts else None

    # --- signals -----------------------------------------------------------------------------
    def on_signal(self, ctx: Context, event: SignalEvent) -> None:
        if event.market != self.market:
            return
        if event.kind == "spoof" and self.fade_spoofs:
            self.spoofs += 1
            self.spoof_until = ctx.now_ns + self.fade_ns
        elif event.kind == "cancel_cascade" and self.pull_on_cascade:
            if event.price in self._recent:
                return  # our own requotes pulling size: not the market leaving
            self.cascades += 1
            self.paused_until = ctx.now_ns + self.pause_ns
            self._pull(ctx)

    def _pull(self, ctx: Context) -> None:
        for side in (Side.BUY, Side.SELL):
            o = self.quotes[side]
            if o is not None and o.live and o.status is not OrderStatus.PENDING_CANCEL:
                ctx.cancel(o.order_id)

    # --- quoting ------------------------------------------------------------------------------
    def fair(self, ctx: Context) -> float | None:
        """Microprice of the others' touch (mid while a spoof is faded), in ticks."""
        book = ctx.books.get(self.market)
        if book is None:
            return None
        own = {s: self._own(s) for s in (Side.BUY, Side.SELL)}
        bid, ask = external_best(book, Side.BUY, own[Side.BUY]), external_best(book, Side.SELL, own[Side.SELL])
        if bid is None or ask is None:
            return None
        if ctx.now_ns < self.spoof_until:
            return (bid + ask) / 2
        bq = book.bid_qty(bid) - own[Side.BUY].get(bid, 0)
        aq = book.ask_qty(ask) - own[Side.SELL].get(ask, 0)
        return (bid * aq + ask * bq) / (aq + bq) if aq + bq > 0 else (bid + ask) / 2

    def _own(self, side: Side) -> dict[int, int]:
        o = self.quotes[side]
        return {o.price: o.qty - o.filled} if o is not None and o.live and o.price is not None else {}

    def targets(self, ctx: Context, fair: float) -> tuple[int | None, int | None]:
        pos = ctx.oms.positions.get(self.market)
        size = pos.size if pos else 0
        ratio = max(-1.0, min(1.0, size / self.max_lots)) if self.max_lots else 0.0
        skew = ratio * self.skew_ticks
        bid = math.floor(fair - self.half_spread - skew)
        ask = math.ceil(fair + self.half_spread - skew)
        book = ctx.books[self.market]
        ext_bid = external_best(book, Side.BUY, self._own(Side.BUY))
        ext_ask = external_best(book, Side.SELL, self._own(Side.SELL))
        if ext_ask is not None:
            bid = min(bid, ext_ask - 1)
        if ext_bid is not None:
            ask = max(ask, ext_bid + 1)
        # a side is quoted only if a fill there keeps the inventory within the cap
        return (None if size + self.qty > self.max_lots else bid), (None if size - self.qty < -self.max_lots else ask)

    def on_book(self, ctx: Context, market: str) -> None:
        if market != self.market:
            return
        now = ctx.now_ns
        self._markouts(ctx, now)
        if now < self.paused_until:
            self._pull(ctx)
            return
        fair = self.fair(ctx)
        if fair is None:
            return
        for side, price in zip((Side.BUY, Side.SELL), self.targets(ctx, fair), strict=True):
            current = self.quotes[side]
            live = current is not None and current.live
            if live and current is not None:
                if current.status is OrderStatus.PENDING_CANCEL:
                    continue
                if price is not None and current.price is not None and abs(current.price - price) < self.requote_ticks:
                    continue  # close enough: keep the queue position
            if now < self._next_ns[side]:
                continue
            if live and current is not None:
                if not ctx.cancel(current.order_id):
                    continue
                self._next_ns[side] = now + self.min_requote_ns
            if price is None:
                self.quotes[side] = None
                continue
            o = self.quotes[side] = ctx.submit(market, side, self.qty, price, OrderType.POST_ONLY)
            if o is None:
                self._next_ns[side] = now + self.min_requote_ns
            else:
                self._recent[price] = None
                if len(self._recent) > 16:
                    del self._recent[next(iter(self._recent))]

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        """A rejected quote (a post-only that met a book that moved): wait before that side again,
        so a racing book does not become a run of rejects (the kill switch counts them)."""
        if order.status is OrderStatus.REJECTED and order.market == self.market:
            self._next_ns[order.side] = ctx.now_ns + self.min_requote_ns

    def on_fill(self, ctx: Context, order: ClientOrder, fill: VenueFill) -> None:
        if fill.market == self.market:
            self._pending.append((ctx.now_ns + self.markout_ns, fill.side.sign, fill.price))

    def _markouts(self, ctx: Context, now: int) -> None:
        if not self._pending or self._pending[0][0] > now:
            return
        book = ctx.books[self.market]
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        mid2 = bid + ask
        while self._pending and self._pending[0][0] <= now:
            _, sign, price = self._pending.pop(0)
            self.markouts.append(round((mid2 / 2 - price) * sign))
