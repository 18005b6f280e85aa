"""A deliberately naive matcher: the oracle for the engine's price-time priority.

Resting orders live in one list; each match scans it for the best price, then the lowest
priority stamp (a stamp is taken on resting and again on every iceberg refill).
"""

from __future__ import annotations

from dataclasses import dataclass

from agenthft.model import OrderType, Side


@dataclass
class RefOrder:
    order_id: str
    account: str
    side: Side
    price: int
    remaining: int
    peak: int
    display: int = 0
    stamp: int = 0


class ReferenceMatcher:
    def __init__(self, band_bps: int) -> None:
        self.resting: list[RefOrder] = []
        self.band_bps = band_bps
        self._stamp = 0

    def _next(self) -> int:
        self._stamp += 1
        return self._stamp

    def best(self, side: Side) -> int | None:
        prices = [o.price for o in self.resting if o.side is side]
        if not prices:
            return None
        return max(prices) if side is Side.BUY else min(prices)

    def submit(
        self, order_id: str, account: str, side: Side, price: int | None, qty: int, kind: OrderType, peak: int
    ) -> tuple[str, list[tuple[str, str, int, int]]]:
        """Returns (outcome, fills as (maker id, taker id, price, qty))."""
        opp = side.opposite
        best = self.best(opp)
        if kind is OrderType.MARKET:
            if best is None:
                return "no_liquidity", []
            band = best * self.band_bps // 10_000
            price = best + band if side is Side.BUY else max(1, best - band)
        assert price is not None
        if kind is OrderType.POST_ONLY and best is not None and (price >= best if side is Side.BUY else price <= best):
            return "post_only_would_cross", []
        fills: list[tuple[str, str, int, int]] = []
        remaining = qty
        while remaining:
            crossing = [
                o
                for o in self.resting
                if o.side is opp and (o.price <= price if side is Side.BUY else o.price >= price)
            ]
            if not crossing:
                break
            sign = 1 if opp is Side.SELL else -1
            m = min(crossing, key=lambda o: (sign * o.price, o.stamp))
            if m.account == account:  # self-trade prevention: cancel the resting order
                self.resting.remove(m)
                continue
            q = min(remaining, m.display)
            fills.append((m.order_id, order_id, m.price, q))
            remaining -= q
            m.remaining -= q
            m.display -= q
            if m.display == 0:
                if m.remaining:
                    m.display = min(m.peak, m.remaining)
                    m.stamp = self._next()
                else:
                    self.resting.remove(m)
        if remaining and kind in (OrderType.LIMIT, OrderType.POST_ONLY):
            display = min(peak, remaining) if peak else remaining
            self.resting.append(RefOrder(order_id, account, side, price, remaining, peak, display, self._next()))
        return "accepted", fills

    def amend(
        self, order_id: str, account: str, price: int, remaining: int, post_only: bool
    ) -> tuple[str, list[tuple[str, str, int, int]]]:
        """A smaller order at the same price keeps its place; anything else is the same order
        cancelled and sent again (back of the queue, trading first if it crosses)."""
        r = next((o for o in self.resting if o.order_id == order_id and o.account == account), None)
        assert r is not None
        if price <= 0:
            return "bad_price", []
        if price == r.price and remaining == r.remaining:
            return "no_change", []
        if post_only:
            best = self.best(r.side.opposite)
            if best is not None and (price >= best if r.side is Side.BUY else price <= best):
                return "post_only_would_cross", []
        if price == r.price and remaining < r.remaining:
            r.remaining = remaining
            r.display = min(r.display, remaining)
            if r.display == 0:
                r.display = min(r.peak, remaining)
                r.stamp = self._next()
            return "amended", []
        self.resting.remove(r)
        kind = OrderType.POST_ONLY if post_only else OrderType.LIMIT
        _, fills = self.submit(order_id, account, r.side, price, remaining, kind, r.peak)
        return "amended", fills

    def cancel(self, order_id: str, account: str) -> bool:
        for o in self.resting:
            if o.order_id == order_id and o.account == account:
                self.resting.remove(o)
                return True
        return False

    def l2(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        agg: dict[tuple[Side, int], int] = {}
        for o in self.resting:
            agg[(o.side, o.price)] = agg.get((o.side, o.price), 0) + o.display
        bids = sorted(((p, q) for (s, p), q in agg.items() if s is Side.BUY), reverse=True)
        asks = sorted((p, q) for (s, p), q in agg.items() if s is Side.SELL)
        return bids, asks
