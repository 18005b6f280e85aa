# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The L2 exchange model (`l2exchange.L2Exchange`, the reference) compiled: the same rules, the
same answers, the same order of events, on the compiled book. The per-row paths (a recorded
level, a trade, the book moving through our orders) run in C; what happens a few thousand
times a run (orders, cancels, fills, funding) is the reference's code, line for line.
"""

from libc.stdlib cimport free, realloc

from agenthft.book._cbook cimport CL2Book, ladder_best

from agenthft.connectors.port import Ack, CancelRefused, Done, Filled, Funding, Rejected
from agenthft.matching.accounts import MarketMath, fee
from agenthft.model import Liquidity, OrderType, Side, mark_price
from agenthft.model.money import funding_payment
from agenthft.oms import VenueFill
from agenthft.signals.queue import MODELS

_BUY = Side.BUY
_POST_ONLY, _MARKET, _IOC = OrderType.POST_ONLY, OrderType.MARKET, OrderType.IOC
_MAKER, _TAKER = Liquidity.MAKER, Liquidity.TAKER


cdef class COrder:
    def __init__(self, str order_id, side, long long price, long long remaining, long long ahead):
        self.order_id, self.side, self.price = order_id, side, price
        self.sign = 1 if side is _BUY else -1
        self.remaining, self.ahead = remaining, ahead


cdef inline long long _key(int sign, long long price) noexcept:
    return price * 2 + (1 if sign > 0 else 0)


cdef class CL2Exchange:
    """One market: the recorded book and the agent's orders on it (the interface of `L2Exchange`)."""

    def __init__(self, inst, queue="proportional"):
        self.inst = inst
        self.market = inst.market
        self.book = CL2Book(inst.market)
        self.queue = MODELS[queue] if isinstance(queue, str) else queue
        self.math = MarketMath(inst, "0")
        self.orders = {}
        self._at = {}
        self._traded = {}
        self._fill_id = 0
        self._vid = 0
        self.position = 0
        self._has_trade = False

    def __dealloc__(self):
        free(self._keys)

    @property
    def last_trade(self):
        return self._last_trade if self._has_trade else None

    # --- the recording ----------------------------------------------------------------------
    def clear(self):
        self.book.clear()

    def level(self, int sign, long long price, long long qty):
        self.level_c(sign, price, qty)

    cdef int level_c(self, int sign, long long price, long long qty) except -1:
        cdef long long prev = self.book.set_level_c(sign, price, qty)
        cdef long long k, traded, before, cancelled, behind
        cdef Py_ssize_t i
        cdef COrder o
        if not self._nkeys:
            return 0
        k = _key(sign, price)
        for i in range(self._nkeys):
            if self._keys[i] == k:
                break
        else:
            return 0
        mine = self._at.get((sign, price))
        if not mine:
            return 0
        traded = self._traded.pop((sign, price), 0)
        before = max(0, prev - traded)
        cancelled = before - qty
        model = self.queue
        for o in mine:
            if cancelled > 0:
                behind = max(0, before - o.ahead)
                o.ahead -= <long long> model.ahead_removed(o.ahead, behind, cancelled)
            if o.ahead > qty:
                o.ahead = qty
        return 0

    def trade(self, int aggressor, long long price, long long qty, long long ts_ns, list out):
        self.trade_c(aggressor, price, qty, ts_ns, out)

    cdef int trade_c(self, int aggressor, long long price, long long qty, long long ts_ns, list out) except -1:
        cdef int resting
        cdef long long take
        cdef COrder o
        self._last_trade = price
        self._has_trade = True
        if not self.orders:
            return 0
        resting = -aggressor
        if resting == 0:
            return 0
        key = (resting, price)
        self._traded[key] = self._traded.get(key, 0) + qty
        for o in self.orders.values():  # most trades touch none of our orders: look before copying
            if o.sign == resting and (price - o.price) * resting <= 0:
                break
        else:
            return 0
        for o in list(self.orders.values()):
            if o.sign != resting:
                continue
            if (price - o.price) * resting < 0:
                self._fill(o, o.price, o.remaining, True, ts_ns, out)
            elif o.price == price:
                o.ahead -= qty
                if o.ahead < 0:
                    take = min(o.remaining, -o.ahead)
                    o.ahead = 0
                    self._fill(o, price, take, True, ts_ns, out)
        return 0

    def crossed_through(self, long long ts_ns, list out):
        self.crossed_c(ts_ns, out)

    cdef int crossed_c(self, long long ts_ns, list out) except -1:
        cdef COrder o
        cdef bint has_bid = self.book.b.n > 0, has_ask = self.book.a.n > 0, any_ = False
        cdef long long bid = ladder_best(&self.book.b) if has_bid else 0
        cdef long long ask = -ladder_best(&self.book.a) if has_ask else 0
        if not self.orders:
            return 0
        for o in self.orders.values():
            if (o.sign > 0 and has_ask and ask <= o.price) or (o.sign < 0 and has_bid and bid >= o.price):
                any_ = True
                break
        if not any_:
            return 0
        for o in list(self.orders.values()):
            if (o.sign > 0 and has_ask and ask <= o.price) or (o.sign < 0 and has_bid and bid >= o.price):
                self._fill(o, o.price, o.remaining, True, ts_ns, out)
        return 0

    # --- the agent's orders -------------------------------------------------------------------
    def submit(self, str order_id, side, long long qty, price, order_type, long long ts_ns):
        cdef COrder o, m
        out = []
        if order_id in self.orders:
            out.append(Rejected(order_id, "duplicate_order_id", "an open order has this id", ts_ns))
            return out
        if qty <= 0 or (price is None and order_type is not _MARKET):
            out.append(Rejected(order_id, "bad_request", "qty must be > 0; price needed but market", ts_ns))
            return out
        book = self.book
        sign = 1 if side is _BUY else -1
        best = book.best_ask() if sign > 0 else book.best_bid()
        marketable = best is not None and (price is None or (price - best) * sign >= 0)
        if order_type is _POST_ONLY and marketable:
            out.append(Rejected(order_id, "post_only_would_cross", f"post-only {side.value} would take", ts_ns))
            return out
        if order_type is _MARKET and best is None:
            out.append(Rejected(order_id, "no_liquidity", "the book is empty on that side", ts_ns))
            return out
        self._vid += 1
        out.append(Ack(order_id, self._vid, ts_ns))
        o = COrder(order_id, side, price if price is not None else 0, qty, 0)
        if marketable:
            levels = book.asks() if sign > 0 else book.bids()
            for lp, lq in levels:
                if o.remaining <= 0 or (price is not None and (price - lp) * sign < 0):
                    break
                self._fill(o, lp, min(o.remaining, lq), False, ts_ns, out, False)
        if o.remaining <= 0:
            return out
        if order_type in (_IOC, _MARKET) or price is None:
            out.append(Done(order_id, order_type.value, o.remaining, ts_ns))
            return out
        mine = self._at.get((sign, price))
        if mine is None:
            mine = self._at[(sign, price)] = []
            self._add_key(_key(sign, price))
        o.ahead = book.qty_at(side, price) + sum(m.remaining for m in mine)
        mine.append(o)
        self.orders[order_id] = o
        return out

    def cancel(self, str order_id, long long ts_ns):
        cdef COrder o, m
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

    def cancel_all(self, long long ts_ns):
        out = []
        for oid in list(self.orders):
            out += self.cancel(oid, ts_ns)
        return out

    # --- funding -------------------------------------------------------------------------------
    def mark(self):
        return mark_price(self.last_trade, self.book.best_bid(), self.book.best_ask())

    def funding(self, rate, mark, ts_ns, list out):
        pos = self.position
        if not pos or not rate:
            return 0
        price = mark or self.mark()
        if not price:
            return 0
        amount = funding_payment(self.math.notional(price, abs(pos)), pos, rate)
        out.append(Funding(self.market, amount, rate, price, pos, self.inst.settle_asset, ts_ns))
        return amount

    # --- fills ---------------------------------------------------------------------------------
    cdef int _add_key(self, long long k) except -1:
        if self._nkeys == self._capkeys:
            cap = self._capkeys * 2 if self._capkeys else 8
            keys = <long long *> realloc(self._keys, cap * sizeof(long long))
            if keys == NULL:
                raise MemoryError()
            self._keys = keys
            self._capkeys = cap
        self._keys[self._nkeys] = k
        self._nkeys += 1
        return 0

    cdef void _drop_key(self, long long k) noexcept:
        cdef Py_ssize_t i
        for i in range(self._nkeys):
            if self._keys[i] == k:
                self._keys[i] = self._keys[self._nkeys - 1]
                self._nkeys -= 1
                return

    cdef _remove(self, COrder o):
        cdef COrder m
        self.orders.pop(o.order_id, None)
        key = (o.sign, o.price)
        mine = self._at.get(key)
        if mine is not None:
            mine[:] = [m for m in mine if m is not o]
            if not mine:
                del self._at[key]
                self._drop_key(_key(o.sign, o.price))
                self._traded.pop(key, None)

    cdef _fill(self, COrder o, long long price, long long qty, bint maker, long long ts_ns, list out,
               bint resting=True):
        if qty <= 0:
            return
        m = self.math
        f = fee(m.notional(price, qty), m.maker_ppb if maker else m.taker_ppb)
        o.remaining -= qty
        self.position += o.sign * qty
        self._fill_id += 1
        fill = VenueFill(o.order_id, self._fill_id, self.market, o.side, qty, price, f, ts_ns)
        out.append(Filled(fill, _MAKER if maker else _TAKER, o.remaining))
        if resting and o.remaining <= 0:
            self._remove(o)
