"""Queue position of the agent's own resting orders, estimated from L2 deltas and trades.

At placement the quantity ahead is the level's visible quantity (everything already there is
ahead in price-time priority). Trades at the order's price eat the queue from the front, so they
reduce the quantity ahead first. A decrease of the level that no trade explains is a cancel
somewhere in the queue; where is unknown from L2, so a swappable `CancelModel` decides how much
of it was ahead (the choice and its bias, as in hftbacktest's queue models). A cancel of `c`
lots at the level removes from the quantity ahead:

- `pessimistic`: only what exceeds the quantity behind, `max(0, c - behind)`, leaves the queue
  ahead: fills later than reality, so fill rates are understated;
- `optimistic`: all of it, up to what is ahead, `min(ahead, c)`: fills earlier, so fill rates
  and edge are overstated;
- `proportional`: `c x ahead / (ahead + behind)`: neutral when cancels are spread evenly;
- `power2` / `power3`: `c x ahead^n / (ahead^n + behind^n)`, hftbacktest's power-law
  probabilistic model: cancels come mostly from the longer side of the order (traders near the
  front rarely give up their place); n = 1 is `proportional`.

Every model takes from ahead at least what the queue behind cannot supply (`c - behind`).

Increases of the level go behind the order. Pure: ints (lots), time as int ns.
"""

from __future__ import annotations

import math
from typing import Protocol

from agenthft.model import Side


class CancelModel(Protocol):
    name: str

    def ahead_removed(self, ahead: int, behind: int, cancelled: int) -> int: ...


class Pessimistic:
    name = "pessimistic"

    def ahead_removed(self, ahead: int, behind: int, cancelled: int) -> int:
        return min(ahead, max(0, cancelled - behind))


class Optimistic:
    name = "optimistic"

    def ahead_removed(self, ahead: int, behind: int, cancelled: int) -> int:
        return min(ahead, cancelled)


class PowerLaw:
    """A share `ahead^n / (ahead^n + behind^n)` of the cancel was ahead (integers, rounded down)."""

    def __init__(self, n: int = 1) -> None:
        self.n = n
        self.name = "proportional" if n == 1 else f"power{n}"

    def ahead_removed(self, ahead: int, behind: int, cancelled: int) -> int:
        a, b = ahead**self.n, behind**self.n
        share = cancelled * a // (a + b) if a + b else 0
        return min(ahead, max(share, cancelled - behind))


Proportional = PowerLaw

MODELS: dict[str, CancelModel] = {
    m.name: m for m in (Pessimistic(), Optimistic(), PowerLaw(1), PowerLaw(2), PowerLaw(3))
}


class _Mine:
    __slots__ = ("ahead", "expects_fill", "price", "qty", "side")

    def __init__(self, side: Side, price: int, qty: int, ahead: int) -> None:
        self.side, self.price, self.qty, self.ahead = side, price, qty, ahead
        self.expects_fill = False  # a trade at its price went past everything estimated ahead


class QueueEstimator:
    """The agent's resting orders on one market, with the quantity estimated ahead of each."""

    def __init__(self, model: CancelModel | str = "proportional", trade_rate_alpha: float = 0.05) -> None:
        self.model = MODELS[model] if isinstance(model, str) else model
        self.orders: dict[str, _Mine] = {}
        self._levels: dict[tuple[Side, int], int] = {}  # visible qty at levels holding our orders
        self._own_pending: dict[tuple[Side, int], int] = {}  # our qty not yet seen in a level change
        self._traded: dict[tuple[Side, int], int] = {}  # traded at our levels, not yet seen in a level change
        self._rate = 0.0  # traded lots per ns at our prices (EWMA over gaps between trades)
        self._last_trade_ns = 0
        self._alpha = trade_rate_alpha

    def place(self, order_id: str, side: Side, price: int, qty: int, visible_before: int) -> None:
        """Our order joined the back of the level, behind `visible_before` lots (what the book
        showed there just before our order's own level change)."""
        self.orders[order_id] = _Mine(side, price, qty, visible_before)
        key = (side, price)
        self._levels[key] = visible_before
        self._own_pending[key] = self._own_pending.get(key, 0) + qty

    def remove(self, order_id: str) -> None:
        """Cancelled or fully filled: no longer tracked."""
        o = self.orders.pop(order_id, None)
        if o is not None and not any(m.side is o.side and m.price == o.price for m in self.orders.values()):
            self._levels.pop((o.side, o.price), None)

    def on_fill(self, order_id: str, qty: int) -> None:
        o = self.orders.get(order_id)
        if o is not None:
            o.qty -= qty
            o.ahead = 0
            if o.qty <= 0:
                self.remove(order_id)

    def on_trade(self, price: int, qty: int, aggressor: Side, ts_ns: int) -> None:
        resting = Side.SELL if aggressor is Side.BUY else Side.BUY
        key = (resting, price)
        if key not in self._levels:
            return
        self._traded[key] = self._traded.get(key, 0) + qty
        for o in self.orders.values():
            if o.side is resting and o.price == price:
                if qty > o.ahead:
                    o.expects_fill = True
                o.ahead = max(0, o.ahead - qty)
        if self._last_trade_ns:
            gap = max(1, ts_ns - self._last_trade_ns)
            self._rate += self._alpha * (qty / gap - self._rate)
        self._last_trade_ns = ts_ns

    def on_level(self, side: Side, price: int, qty: int) -> None:
        key = (side, price)
        prev = self._levels.get(key)
        if prev is None:
            return
        traded = self._traded.pop(key, 0)
        own = self._own_pending.pop(key, 0)
        cancelled = prev + own - traded - qty  # what left the level beyond trades: cancels
        self._levels[key] = qty
        if cancelled <= 0:
            return  # growth (behind us) or exactly the trades
        mine = [o for o in self.orders.values() if o.side is side and o.price == price]
        ours = sum(o.qty for o in mine)
        for o in mine:
            behind = max(0, qty + cancelled - o.ahead - ours)
            o.ahead -= self.model.ahead_removed(o.ahead, behind, cancelled)

    def ahead(self, order_id: str) -> int | None:
        o = self.orders.get(order_id)
        return None if o is None else o.ahead

    def fill_probability(self, order_id: str, horizon_ns: int) -> float | None:
        """P(the volume traded at our price within `horizon_ns` exceeds the quantity ahead),
        with trade volume arriving as a Poisson flow at the recent rate (an EWMA)."""
        o = self.orders.get(order_id)
        if o is None:
            return None
        expected = self._rate * horizon_ns
        if o.ahead <= 0:
            return 1.0 if expected > 0 else 0.5
        # P(Poisson(expected / ahead) >= 1) in units of "one queue-ahead of volume"
        return 1.0 - math.exp(-expected / o.ahead)
