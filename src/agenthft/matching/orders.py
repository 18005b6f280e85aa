"""Resting orders, price levels (FIFO queues) and one side of an L3 book.

Cancel is O(1): the order is marked dead and the level's visible total and live count are
adjusted; dead entries are dropped when they reach the front of the queue, and a level whose
queue holds many more dead than live entries is compacted, so memory stays bounded.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

from agenthft.model import OrderType, Side


class Order:
    """An order known to the engine. Quantities in lots, price in ticks.

    `remaining` counts everything still open (an iceberg's reserve included); `display` is the
    part showing in the book now. Always: filled + remaining + cancelled == qty.
    """

    __slots__ = (
        "account",
        "alive",
        "cancelled",
        "display",
        "filled",
        "hold",
        "market",
        "oid",
        "order_id",
        "order_type",
        "peak",
        "price",
        "qty",
        "remaining",
        "side",
        "ts_ns",
    )

    def __init__(
        self,
        oid: int,
        account: str,
        order_id: str,
        market: str,
        side: Side,
        price: int,
        qty: int,
        order_type: OrderType,
        peak: int,
        ts_ns: int,
        remaining: int,
    ) -> None:
        self.oid = oid
        self.account = account
        self.order_id = order_id
        self.market = market
        self.side = side
        self.price = price
        self.qty = qty
        self.order_type = order_type
        self.peak = peak  # iceberg display size; 0 = fully displayed
        self.ts_ns = ts_ns
        self.remaining = remaining
        self.display = 0
        self.filled = 0
        self.cancelled = 0
        self.hold = 0  # units held on the account for this order's remaining quantity
        self.alive = True


class Level:
    """One price: a FIFO queue of orders and the visible total of the live ones."""

    __slots__ = ("dead", "live", "price", "queue", "visible")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[Order] = deque()
        self.visible = 0
        self.live = 0
        self.dead = 0

    def push(self, order: Order) -> None:
        self.queue.append(order)
        self.visible += order.display
        self.live += 1

    def kill(self, order: Order) -> None:
        """Remove a live order from this level (lazily from the queue)."""
        order.alive = False
        self.visible -= order.display
        self.live -= 1
        self.dead += 1
        if self.dead > 2 * self.live + 16:  # compact in place: the matcher may hold the deque
            q = self.queue
            alive = [o for o in q if o.alive]
            q.clear()
            q.extend(alive)
            self.dead = 0

    def pull(self, order: Order) -> None:
        """Take a live order out of this queue now (an amend that loses priority re-queues the
        same object, so it cannot be left behind as a dead entry)."""
        self.queue.remove(order)
        self.visible -= order.display
        self.live -= 1

    def ahead_of(self, order: Order) -> tuple[int, int]:
        """(orders, visible lots) ahead of `order` in this queue."""
        n = qty = 0
        for o in self.queue:
            if o is order:
                break
            if o.alive:
                n += 1
                qty += o.display
        return n, qty


class BookSide:
    """Levels of one side: dict price -> Level plus keys sorted so the best is last
    (bids keep the price, asks the negated price)."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, side: Side) -> None:
        self.sign = side.sign
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []

    def best(self) -> Level | None:
        k = self.keys
        return self.levels[k[-1] * self.sign] if k else None

    def best_price(self) -> int | None:
        k = self.keys
        return k[-1] * self.sign if k else None

    def level_for(self, price: int) -> Level:
        lv = self.levels.get(price)
        if lv is None:
            lv = self.levels[price] = Level(price)
            insort(self.keys, price * self.sign)
        return lv

    def remove(self, price: int) -> None:
        del self.levels[price]
        k = self.keys
        key = price * self.sign
        if k[-1] == key:
            k.pop()
        else:
            del k[bisect_left(k, key)]

    def depth(self, n: int | None = None) -> list[tuple[int, int]]:
        """Best-first (price, visible qty)."""
        keys = self.keys if n is None else self.keys[-n:] if n > 0 else []
        s, lv = self.sign, self.levels
        return [(k * s, lv[k * s].visible) for k in reversed(keys)]
