"""The L2 exchange model: recorded depth stays an aggregate book, and only the agent's own
orders are simulated against it (as hftbacktest and NautilusTrader do for L2 data).

Per own resting order the model keeps `ahead`, the recorded quantity in front of it:
- placed: everything the recording shows at its price, plus our earlier orders there;
- a recorded trade at its price (by an aggressor on the other side) eats `ahead` first; what
  the trade has left over fills the order (partial fills); a trade *through* its price (a buy
  aggressor paying more than our ask) fills it whole;
- a recorded decrease of its level that the trades do not explain is a cancel somewhere in the
  queue, split by a swappable `CancelModel` (`signals.queue`: pessimistic, proportional,
  power-law as in hftbacktest; the same models the live agent's queue estimator uses);
- the recorded book moving through its price (best ask <= our bid) fills it at its price.
A marketable order takes the recorded levels at their prices up to its limit (taker); the
recorded book is not changed by it (no market impact: the recording does not know we traded).
A post-only order that would cross is rejected; an IOC's rest is cancelled.
Funding (a recorded `FUNDING` row, or a scheduled rate): the agent's position in this market,
which the model tracks from its own fills, pays or receives rate x notional at the mark.

Pure and synchronous: ints (ticks, lots, cash units), time as an int ns argument. Each call
returns the venue's answers as the port's order events (`connectors.port`: Ack, Rejected,
Filled, Done, CancelRefused, Funding), which the shell delivers after the response latency.
"""

from __future__ import annotations

from agenthft.book import L2Book
from agenthft.connectors.port import Ack, CancelRefused, Done, Filled, Funding, OrderEvent, Rejected
from agenthft.matching.accounts import MarketMath, fee
from agenthft.model import Instrument, Liquidity, OrderType, Side, mark_price
from agenthft.model.money import funding_payment
from agenthft.oms import VenueFill
from agenthft.signals.queue import MODELS, CancelModel


class SimOrder:
    __slots__ = ("ahead", "order_id", "price", "remaining", "side", "sign")

    def __init__(self, order_id: str, side: Side, price: int, remaining: int, ahead: int) -> None:
        self.order_id, self.side, self.price = order_id, side, price
        self.sign = 1 if side is Side.BUY else -1
        self.remaining, self.ahead = remaining, ahead


class L2Exchange:
    """One market: the recorded book and the agent's orders on it."""

    def __init__(self, inst: Instrument, queue: CancelModel | str = "proportional") -> None:
        self.inst = inst
        self.market = inst.market
        self.book = L2Book(inst.market)
        self.queue = MODELS[queue] if isinstance(queue, str) else queue
        self.math = MarketMath(inst, "0")
        self.orders: dict[str, SimOrder] = {}
        self._at: dict[tuple[int, int], list[SimOrder]] = {}  # (sign, price) -> our orders, oldest first
        self._traded: dict[tuple[int, int], int] = {}  # recorded trades at our levels since the last depth row
        self._fill_id = 0
        self._vid = 0
        self.position = 0  # the agent's lots in this market (from the fills made here)
        self.last_trade: int | None = None  # ticks of the latest recorded trade (the mark)

    # --- the recording --------------------------------------------------------------------
    def clear(self) -> None:
        self.book.clear()

    def level(self, sign: int, price: int, qty: int) -> None:
        """A recorded level: the new absolute quantity at (side, price)."""
        book = self.book
        if sign > 0:
            prev = book.bid_qty(price)
            book.set_bid(price, qty)
        else:
            prev = book.ask_qty(price)
            book.set_ask(price, qty)
        mine = self._at.get((sign, price)) if self._at else None
        if not mine:
            return
        traded = self._traded.pop((sign, price), 0)
        before = max(0, prev - traded)  # the level once the trades already counted are gone
        cancelled = before - qty
        model = self.queue
        for o in mine:
            if cancelled > 0:
                behind = max(0, before - o.ahead)
                o.ahead -= model.ahead_removed(o.ahead, behind, cancelled)
            if o.ahead > qty:
                o.ahead = qty

    def trade(self, aggressor: int, price: int, qty: int, ts_ns: int, out: list[OrderEvent]) -> None:
        """A recorded trade: fills of our orders on the resting side at or through its price."""
        self.last_trade = price
        if not self.orders:
            return
        resting = -aggressor
        if resting == 0:
            return
        key = (resting, price)
        self._traded[key] = self._traded.get(key, 0) + qty
        for o in list(self.orders.values()):
            if o.sign != resting:
                continue
            # through: the aggressor paid more than our ask (or sold below our bid)
            if (price - o.price) * resting < 0:
                self._fill(o, o.price, o.remaining, True, ts_ns, out)
            elif o.price == price:
                o.ahead -= qty
                if o.ahead < 0:
                    take = min(o.remaining, -o.ahead)
                    o.ahead = 0
                    self._fill(o, price, take, True, ts_ns, out)

    def crossed_through(self, ts_ns: int, out: list[OrderEvent]) -> None:
        """After a recorded message: our orders the recorded book has moved through are filled."""
        if not self.orders:
            return
        bid, ask = self.book.best_bid(), self.book.best_ask()
        for o in list(self.orders.values()):
            if (o.sign > 0 and ask is not None and ask <= o.price) or (
                o.sign < 0 and bid is not None and bid >= o.price
            ):
                self._fill(o, o.price, o.remaining, True, ts_ns, out)

    # --- the agent's orders ---------------------------------------------------------------------
    def submit(
        self, order_id: str, side: Side, qty: int, price: int | None, order_type: OrderType, ts_ns: int
    ) -> list[OrderEvent]:
        out: list[OrderEvent] = []
        if order_id in self.orders:
            out.append(Rejected(order_id, "duplicate_order_id", "an open order has this id", ts_ns))
            return out
        if qty <= 0 or (price is None and order_type is not OrderType.MARKET):
            out.append(Rejected(order_id, "bad_request", "qty must be > 0; price needed but market", ts_ns))
            return out
        book = self.book
        sign = 1 if side is Side.BUY else -1
        best = book.best_ask() if sign > 0 else book.best_bid()
        marketable = best is not None and (price is None or (price - best) * sign >= 0)
        if order_type is OrderType.POST_ONLY and marketable:
            out.append(Rejected(order_id, "post_only_would_cross", f"post-only {side.value} would take", ts_ns))
            return out
        if order_type is OrderType.MARKET and best is None:
            out.append(Rejected(order_id, "no_liquidity", "the book is empty on that side", ts_ns))
            return out
        self._vid += 1
        out.append(Ack(order_id, self._vid, ts_ns))
        o = SimOrder(order_id, side, price if price is not None else 0, qty, 0)
        if marketable:
            levels = book.asks() if sign > 0 else book.bids()
            for lp, lq in levels:
                if o.remaining <= 0 or (price is not None and (price - lp) * sign < 0):
                    break
                self._fill(o, lp, min(o.remaining, lq), False, ts_ns, out, resting=False)
        if o.remaining <= 0:
            return out
        if order_type in (OrderType.IOC, OrderType.MARKET) or price is None:
            out.append(Done(order_id, order_type.value, o.remaining, ts_ns))
            return out
        mine = self._at.setdefault((sign, price), [])
        o.ahead = book.qty_at(side, price) + sum(m.remaining for m in mine)
        mine.append(o)
        self.orders[order_id] = o
        return out

    def cancel(self, order_id: str, ts_ns: int) -> list[OrderEvent]:
        o = self.orders.get(order_id)
        if o is None:
            return [CancelRefused(order_id, "unknown_order", "no open order with this id")]
        mine = self._at.get((o.sign, o.price), [])
        behind = False
        for m in mine:  # our own orders queued behind it move up by what it leaves
            if behind:
                m.ahead = max(0, m.ahead - o.remaining)
            behind = behind or m is o
        self._remove(o)
        return [Done(order_id, "cancelled", o.remaining, ts_ns)]

    def cancel_all(self, ts_ns: int) -> list[OrderEvent]:
        out: list[OrderEvent] = []
        for oid in list(self.orders):
            out += self.cancel(oid, ts_ns)
        return out

    # --- funding ----------------------------------------------------------------------------------
    def mark(self) -> int | None:
        """The mark price in ticks (`model.mark_price`: last trade, else the mid)."""
        return mark_price(self.last_trade, self.book.best_bid(), self.book.best_ask())

    def funding(self, rate: int, mark: int, ts_ns: int, out: list[OrderEvent]) -> int:
        """A funding time: the agent's position pays `rate` (1e-12; negative: receives) of its
        notional at `mark` ticks (0: this model's own mark). Returns the amount (cash units)."""
        pos = self.position
        if not pos or not rate:
            return 0
        price = mark or self.mark()
        if not price:
            return 0
        amount = funding_payment(self.math.notional(price, abs(pos)), pos, rate)
        out.append(Funding(self.market, amount, rate, price, pos, self.inst.settle_asset, ts_ns))
        return amount

    # --- fills ------------------------------------------------------------------------------------
    def _remove(self, o: SimOrder) -> None:
        self.orders.pop(o.order_id, None)
        key = (o.sign, o.price)
        mine = self._at.get(key)
        if mine is not None:
            mine[:] = [m for m in mine if m is not o]
            if not mine:
                del self._at[key]
                self._traded.pop(key, None)

    def _fill(
        self,
        o: SimOrder,
        price: int,
        qty: int,
        maker: bool,
        ts_ns: int,
        out: list[OrderEvent],
        resting: bool = True,
    ) -> None:
        if qty <= 0:
            return
        m = self.math
        f = fee(m.notional(price, qty), m.maker_ppb if maker else m.taker_ppb)
        o.remaining -= qty
        self.position += o.sign * qty
        self._fill_id += 1
        fill = VenueFill(o.order_id, self._fill_id, self.market, o.side, qty, price, f, ts_ns)
        out.append(Filled(fill, Liquidity.MAKER if maker else Liquidity.TAKER, o.remaining))
        if resting and o.remaining <= 0:
            self._remove(o)
