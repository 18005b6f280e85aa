"""L3 (order-by-order) rows aggregated to L2 level rows: the form the L2 exchange model, the
venue replay and the strategies' book replica read. ADD / CANCEL / MODIFY / CLEAR change the
book; FILL rows are information (a venue that reports fills also sends the book change as a
cancel, as Databento's MBO does); TRADE, LEVEL and FUNDING rows (of L2 sources merged in) pass
through. A message keeps its rows together: its trades first, then the level changes it made."""

from __future__ import annotations

from agenthft.market.events import ADD, CANCEL, CLEAR, COLUMNS, F_LAST, FILL, LEVEL, MODIFY, Events, Meta


class L3Book:
    """Orders by id and the quantity at each (side, price) they make."""

    def __init__(self) -> None:
        self.orders: dict[int, tuple[int, int, int]] = {}  # id -> (side, price, size)
        self.levels: dict[tuple[int, int], int] = {}
        self.unknown = 0  # cancels / modifies of orders we never saw (placed before the data began)

    def _level(self, side: int, price: int, delta: int) -> int:
        key = (side, price)
        q = self.levels.get(key, 0) + delta
        if q > 0:
            self.levels[key] = q
        else:
            self.levels.pop(key, None)
            q = 0
        return q

    def clear(self) -> None:
        self.orders.clear()
        self.levels.clear()

    def apply(self, kind: int, side: int, price: int, size: int, order_id: int) -> list[tuple[int, int, int]]:
        """The (side, price, new level qty) this row changed."""
        if kind == ADD:
            self.orders[order_id] = (side, price, size)
            return [(side, price, self._level(side, price, size))]
        o = self.orders.get(order_id)
        if o is None:
            self.unknown += 1
            return []
        s, p, q = o
        if kind == CANCEL:
            take = min(size, q) if size else q
            left = q - take
            if left:
                self.orders[order_id] = (s, p, left)
            else:
                del self.orders[order_id]
            return [(s, p, self._level(s, p, -take))]
        if kind == MODIFY:
            self.orders[order_id] = (side or s, price, size)
            out = [(s, p, self._level(s, p, -q))]
            out.append((side or s, price, self._level(side or s, price, size)))
            return out
        return []


def to_l2(ev: Events) -> Events:
    """The same data with L3 rows replaced by the LEVEL rows they imply (message by message)."""
    c = ev.columns
    if not any(k in (ADD, CANCEL, MODIFY, FILL) for k in c["kind"]):
        return ev
    out = Events(Meta(ev.meta.source, ev.meta.files, ev.meta.markets, ev.meta.notes, ev.meta.counts))
    books: dict[int, L3Book] = {}
    pending: dict[tuple[int, int, int], int] = {}  # (market, side, price) -> qty, this message
    for i, kind in enumerate(c["kind"]):
        m = c["market"][i]
        book = books.setdefault(m, L3Book())
        row = [c[name][i] for name in COLUMNS]
        if kind == CLEAR:
            book.clear()
            pending.clear()
            out.add(*row)
        elif kind in (ADD, CANCEL, MODIFY):
            for side, price, qty in book.apply(kind, c["side"][i], c["price"][i], c["qty"][i], c["order_id"][i]):
                pending[(m, side, price)] = qty
        elif kind != FILL:
            out.add(*row)  # TRADE, LEVEL, FUNDING: as they are
        if c["flags"][i] & F_LAST:
            for (pm, side, price), qty in pending.items():
                out.add(c["ts_local"][i], c["ts_exch"][i], pm, LEVEL, side, price, qty, 0, c["seq"][i], 0)
            pending.clear()
            out.end_message()
    unknown = sum(b.unknown for b in books.values())
    if unknown:
        out.meta.notes.append(f"{unknown:,} L3 changes to orders placed before the data began were skipped")
    return out
