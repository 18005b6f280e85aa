"""The venue's matching engine: L3 price-time priority books, order types, accounts.

Pure and synchronous: inputs are method calls with a `ts_ns`, outputs are events appended to
`engine.events` (drain them with `drain()`). The same inputs give the same events, byte for
byte. Prices are ticks, quantities lots, money integer units of 10**-CASH_DECIMALS.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import msgspec

from agenthft.matching.accounts import Account, MarketMath, fee, is_perp
from agenthft.matching.events import (
    Accepted,
    Amended,
    AmendRejected,
    BookDelta,
    Cancelled,
    CancelRejected,
    Event,
    Fill,
    Rejected,
    Trade,
)
from agenthft.matching.orders import BookSide, Level, Order
from agenthft.model import Instrument, Liquidity, OrderType, Side

# Module-level aliases: on Python 3.11 `OrderType.IOC` costs ~50 ns a lookup, an alias ~5 ns.
BUY, SELL = Side.BUY, Side.SELL
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
LIMIT, MARKET, IOC, POST_ONLY = OrderType.LIMIT, OrderType.MARKET, OrderType.IOC, OrderType.POST_ONLY


class STP(StrEnum):
    """Self-trade prevention: what happens when an order would trade with its own account."""

    CANCEL_RESTING = "cancel_resting"
    CANCEL_TAKER = "cancel_taker"
    CANCEL_BOTH = "cancel_both"


class EngineConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`market_band_bps`: a market order never trades further than this from the best opposite
    price when it arrives. `position_limit`: max |position| in lots per perp market per account
    (0 = none; open orders count as if filled). `initial_margin`: fraction of a perp order's
    notional held as margin while it is open."""

    stp: STP = STP.CANCEL_RESTING
    market_band_bps: int = 500
    initial_margin: str = "0.1"
    position_limit: int = 0
    fee_account: str = "venue"


class Market:
    __slots__ = ("asks", "base", "bids", "book_seq", "halted", "inst", "math", "perp", "quote", "settle")

    def __init__(self, inst: Instrument, initial_margin: str) -> None:
        self.inst = inst
        self.math = MarketMath(inst, initial_margin)
        self.bids = BookSide(BUY)
        self.asks = BookSide(SELL)
        self.halted = False
        self.book_seq = 0
        self.perp = is_perp(inst)
        self.base = inst.base
        self.quote = inst.quote
        self.settle = inst.settle_asset  # perp margin, P&L and fees (the base coin for inverse)


class _Reject(Exception):
    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason


class MatchingEngine:
    """Price-time priority matching for many markets and accounts."""

    def __init__(self, instruments: Iterable[Instrument] = (), config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._stp = list(STP).index(self.config.stp)  # 0 cancel resting, 1 cancel taker, 2 both
        self.markets: dict[str, Market] = {}
        self.accounts: dict[str, Account] = {}
        self.events: list[Event] = []
        self.seq = 0
        self._next_oid = 1
        self._next_trade = 1
        self._live: dict[tuple[str, str], Order] = {}
        self._by_oid: dict[int, Order] = {}
        self._touched_bids: list[int] = []  # prices whose visible qty this command changed
        self._touched_asks: list[int] = []
        for inst in instruments:
            self.add_market(inst)
        self.account(self.config.fee_account)

    # --- setup -------------------------------------------------------------------------
    def add_market(self, inst: Instrument) -> None:
        if inst.market in self.markets:
            raise ValueError(f"market {inst.market} already exists")
        self.markets[inst.market] = Market(inst, self.config.initial_margin)

    def account(self, account_id: str) -> Account:
        acct = self.accounts.get(account_id)
        if acct is None:
            acct = self.accounts[account_id] = Account(account_id)
        return acct

    def deposit(self, account_id: str, asset: str, units: int) -> None:
        """Fund an account (sandbox). Negative amounts withdraw what is available."""
        acct = self.account(account_id)
        if units < 0 and acct.available(asset) < -units:
            raise ValueError(f"{account_id}: cannot withdraw {-units} {asset}, {acct.available(asset)} available")
        acct.credit(asset, units)

    def halt(self, market: str, halted: bool = True) -> None:
        self.markets[market].halted = halted

    def drain(self) -> list[Event]:
        out, self.events = self.events, []
        return out

    # --- queries -----------------------------------------------------------------------
    def order(self, account: str, order_id: str) -> Order | None:
        return self._live.get((account, order_id))

    def order_by_id(self, venue_order_id: int) -> Order | None:
        return self._by_oid.get(venue_order_id)

    def open_orders(self, account: str, market: str | None = None) -> list[Order]:
        acct = self.accounts.get(account)
        if acct is None:
            return []
        return [o for o in acct.orders.values() if market is None or o.market == market]

    def l2(self, market: str, depth: int | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Visible levels, best first: (bids, asks)."""
        m = self.markets[market]
        return m.bids.depth(depth), m.asks.depth(depth)

    def queue_position(self, venue_order_id: int) -> tuple[int, int]:
        """(orders, visible lots) ahead of a resting order at its price: its true queue position."""
        o = self._by_oid[venue_order_id]
        m = self.markets[o.market]
        level = (m.bids if o.side is BUY else m.asks).levels[o.price]
        return level.ahead_of(o)

    # --- commands ----------------------------------------------------------------------
    def submit(
        self,
        account: str,
        order_id: str,
        market: str,
        side: Side,
        qty: int,
        price: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        display_qty: int = 0,
        ts_ns: int = 0,
    ) -> Order | None:
        """Validate, accept and match an order; returns it, or None if rejected."""
        key = (account, order_id)
        try:
            m, price = self._validate(key, market, side, qty, price, order_type, display_qty)
            acct = self.accounts.get(account) or self.account(account)
            asset, hold = self._hold(m, side, price, qty)
            available = acct.balances.get(asset, 0) - acct.holds.get(asset, 0)
            if available < hold:
                raise _Reject("insufficient_balance", f"needs {hold} {asset} units, {available} available")
        except _Reject as r:
            self.seq += 1
            self.events.append(Rejected(self.seq, ts_ns, account, order_id, market, r.code, r.reason))
            return None
        oid = self._next_oid
        self._next_oid = oid + 1
        o = Order(oid, account, order_id, market, side, price, qty, order_type, display_qty, ts_ns, qty)
        o.hold = hold
        holds = acct.holds
        holds[asset] = holds.get(asset, 0) + hold
        if m.perp:
            pos = acct.positions.get(market) or acct.position(market)
            if side is BUY:
                pos.open_buy += qty
            else:
                pos.open_sell += qty
        self._live[key] = o
        self._by_oid[oid] = o
        acct.orders[oid] = o
        seq = self.seq = self.seq + 1
        self.events.append(
            Accepted(seq, ts_ns, account, order_id, oid, market, side, price, qty, order_type, display_qty)
        )
        if side is BUY:
            k = m.asks.keys
            crosses = bool(k) and price >= -k[-1]
        else:
            k = m.bids.keys
            crosses = bool(k) and price <= k[-1]
        stp_stop = self._match(m, o, ts_ns) if crosses else False
        if o.remaining:
            if stp_stop:
                self._cancel(m, o, "self_trade", ts_ns)
            elif order_type is IOC or order_type is MARKET:
                self._cancel(m, o, "ioc" if order_type is IOC else "market", ts_ns)
            else:
                self._rest(m, o)
        self._emit_delta(m, ts_ns)
        return o

    def cancel(self, account: str, order_id: str, ts_ns: int = 0) -> bool:
        o = self._live.get((account, order_id))
        if o is None:
            self.seq += 1
            self.events.append(
                CancelRejected(self.seq, ts_ns, account, order_id, "unknown_order", "no open order with this id")
            )
            return False
        m = self.markets[o.market]
        self._cancel(m, o, "cancelled", ts_ns)
        self._emit_delta(m, ts_ns)
        return True

    def cancel_all(self, account: str, market: str | None = None, ts_ns: int = 0) -> int:
        """Cancel every open order of `account` (in one market or all); returns how many."""
        orders = sorted(self.open_orders(account, market), key=lambda o: o.oid)
        touched: dict[str, Market] = {}
        for o in orders:
            m = touched[o.market] = self.markets[o.market]
            self._cancel(m, o, "cancel_all", ts_ns)
            self._emit_delta(m, ts_ns)
        return len(orders)

    def reduce(self, account: str, order_id: str, by: int, ts_ns: int = 0) -> bool:
        """Cancel `by` lots of an open order in place, keeping its queue priority."""
        o = self._live.get((account, order_id))
        if o is None or by <= 0:
            self.seq += 1
            code, why = ("unknown_order", "no open order with this id") if o is None else ("bad_qty", "by <= 0")
            self.events.append(CancelRejected(self.seq, ts_ns, account, order_id, code, why))
            return False
        m = self.markets[o.market]
        if by >= o.remaining:
            self._cancel(m, o, "cancelled", ts_ns)
        else:
            self._shrink(m, o, by, ts_ns, False)
        self._emit_delta(m, ts_ns)
        return True

    def _shrink(self, m: Market, o: Order, by: int, ts_ns: int, amend: bool) -> None:
        """Take `by` (< remaining) lots off a resting order in place, keeping its priority:
        cancelled lots (`reduce`), or a smaller order (`amend`: its quantity shrinks)."""
        side = m.bids if o.side is BUY else m.asks
        level = side.levels[o.price]
        o.remaining -= by
        if amend:
            o.qty -= by
        else:
            o.cancelled += by
        shown = min(o.display, o.remaining)
        level.visible -= o.display - shown
        o.display = shown
        if o.display == 0:  # only reserve was left showing nothing: refill at the back
            self._refill(level, o)
        self._release(m, o, by)
        (self._touched_bids if o.side is BUY else self._touched_asks).append(o.price)
        self.seq += 1
        price, qty = (o.price, o.qty) if amend else (0, 0)
        self.events.append(
            Amended(self.seq, ts_ns, o.account, o.order_id, o.oid, o.market, by, o.remaining, price, qty)
        )

    def amend(
        self, account: str, order_id: str, price: int | None = None, qty: int | None = None, ts_ns: int = 0
    ) -> bool:
        """Change an open order's price and/or total quantity (`qty`, lots, filled part
        included), keeping its order ids. A smaller quantity at the same price keeps the
        order's queue priority (as `reduce`); any other change sends it to the back of the
        queue at its (new) price, and a new price that crosses trades first, as a taker. A
        post-only order that would cross, a larger order without margin, a quantity at or
        under what has filled, and a change to nothing are refused (`AmendRejected`), the
        order untouched. Returns True if the order changed."""
        o = self._live.get((account, order_id))
        try:
            if o is None:
                raise _Reject("unknown_order", "no open order with this id")
            new_price = o.price if price is None else price
            new_qty = o.qty if qty is None else qty
            if type(new_price) is not int or new_price <= 0:
                raise _Reject("bad_price", f"price must be a positive number of ticks, got {new_price!r}")
            done = o.qty - o.remaining  # filled plus cancelled (by `reduce`)
            if type(new_qty) is not int or new_qty <= done:
                raise _Reject("bad_qty", f"quantity must be more than the {done} lots already done, got {new_qty!r}")
            if new_price == o.price and new_qty == o.qty:
                raise _Reject("no_change", "the order already has this price and quantity")
            m = self.markets[o.market]
            if m.halted:
                raise _Reject("market_halted", f"{o.market} is halted")
            if o.order_type is POST_ONLY:
                best = (m.asks if o.side is BUY else m.bids).best_price()
                if best is not None and (new_price >= best if o.side is BUY else new_price <= best):
                    raise _Reject("post_only_would_cross", f"post-only {o.side.value} at {new_price} would take {best}")
            remaining = new_qty - done
            extra = remaining - o.remaining
            acct = self.accounts[account]
            asset, hold = self._hold(m, o.side, new_price, remaining)
            if hold > o.hold and acct.available(asset) < hold - o.hold:
                raise _Reject("insufficient_balance", f"needs {hold - o.hold} more {asset} units")
            if m.perp and extra > 0:
                limit = self.config.position_limit if acct.position_limit is None else acct.position_limit
                pos = acct.position(o.market)
                worst = pos.size + pos.open_buy + extra if o.side is BUY else pos.open_sell - pos.size + extra
                if limit and worst > limit:
                    raise _Reject("position_limit", f"position could reach {worst} lots, limit {limit}")
        except _Reject as r:
            self.seq += 1
            self.events.append(AmendRejected(self.seq, ts_ns, account, order_id, r.code, r.reason))
            return False
        if new_price == o.price and extra < 0:  # smaller at the same price: in place
            self._shrink(m, o, -extra, ts_ns, True)
            self._emit_delta(m, ts_ns)
            return True
        side = m.bids if o.side is BUY else m.asks
        lv = side.levels[o.price]
        lv.pull(o)
        (self._touched_bids if o.side is BUY else self._touched_asks).append(o.price)
        if not lv.live:
            side.remove(o.price)
        o.display = 0
        held = acct.positions.get(o.market) if m.perp else None
        if held is not None:
            if o.side is BUY:
                held.open_buy += extra
            else:
                held.open_sell += extra
        acct.holds[asset] = acct.holds.get(asset, 0) + hold - o.hold
        o.hold = hold
        o.price, o.qty, o.remaining = new_price, new_qty, remaining
        self.seq += 1
        self.events.append(
            Amended(self.seq, ts_ns, account, order_id, o.oid, o.market, -extra, remaining, new_price, new_qty, False)
        )
        opp = m.asks if o.side is BUY else m.bids
        best = opp.best_price()
        crosses = best is not None and (new_price >= best if o.side is BUY else new_price <= best)
        if crosses and self._match(m, o, ts_ns) and o.remaining:
            self._cancel(m, o, "self_trade", ts_ns)
        elif o.remaining:
            self._rest(m, o)
        self._emit_delta(m, ts_ns)
        return True

    def fillable(self, account: str, market: str, side: Side, price: int | None, qty: int) -> int:
        """How many of `qty` lots an order of `account` would fill on arrival at `price`
        (None: any price), as the matcher would fill them (icebergs' reserve included; a
        self-trade that stops the taker stops the count). For fill-or-kill."""
        m = self.markets[market]
        opp = m.asks if side is BUY else m.bids
        got = 0
        for k in reversed(opp.keys):
            p = k * opp.sign
            if price is not None and (p > price if side is BUY else p < price):
                break
            for r in opp.levels[p].queue:
                if not r.alive:
                    continue
                if r.account == account:
                    if self._stp != 0:
                        return got
                    continue
                got += r.remaining
                if got >= qty:
                    return qty
        return got

    # --- internals ---------------------------------------------------------------------
    def _validate(
        self,
        key: tuple[str, str],
        market: str,
        side: Side,
        qty: int,
        price: int | None,
        order_type: OrderType,
        display_qty: int,
    ) -> tuple[Market, int]:
        m = self.markets.get(market)
        if m is None:
            raise _Reject("unknown_market", f"no market {market!r}")
        if m.halted:
            raise _Reject("market_halted", f"{market} is halted")
        if key in self._live:
            raise _Reject("duplicate_order_id", f"order {key[1]!r} is already open")
        if type(qty) is not int or qty <= 0:
            raise _Reject("bad_qty", f"quantity must be a positive number of lots, got {qty!r}")
        opp = m.asks if side is BUY else m.bids
        best = opp.best_price()
        if order_type is MARKET:
            if best is None:
                raise _Reject("no_liquidity", f"no {('asks' if side is BUY else 'bids')} to trade with")
            band = best * self.config.market_band_bps // 10_000
            price = best + band if side is BUY else max(1, best - band)
        elif type(price) is not int or price <= 0:
            raise _Reject("bad_price", f"price must be a positive number of ticks, got {price!r}")
        if display_qty:
            if order_type is not LIMIT and order_type is not POST_ONLY:
                raise _Reject("bad_request", "display_qty (iceberg) needs a limit or post_only order")
            if not 0 < display_qty < qty:
                raise _Reject("bad_qty", f"display_qty must be between 0 and qty ({qty}), got {display_qty}")
        if order_type is POST_ONLY and best is not None and (price >= best if side is BUY else price <= best):
            raise _Reject("post_only_would_cross", f"post-only {side.value} at {price} would take {best}")
        if m.perp:
            acct = self.accounts.get(key[0])
            limit = self.config.position_limit
            if acct is not None and acct.position_limit is not None:
                limit = acct.position_limit
            pos = acct.positions.get(market) if acct is not None else None
            if limit and pos is not None:
                worst = pos.size + pos.open_buy + qty if side is BUY else pos.open_sell - pos.size + qty
            else:
                worst = qty
            if limit and worst > limit:
                raise _Reject("position_limit", f"position could reach {worst} lots, limit {limit}")
        return m, price

    def _hold(self, m: Market, side: Side, price: int, qty: int) -> tuple[str, int]:
        """(asset, units) to hold for `qty` open lots at `price`: quote for spot buys, the
        settlement asset for perp margin,
        margin (plus the worst-case taker fee), base for spot sells."""
        math = m.math
        if not m.perp:
            if side is SELL:
                return m.base, qty * math.base_mult
            n = price * qty * math.mult
            return m.quote, n + fee(n, math.hold_ppb)
        return m.settle, fee(math.notional(price, qty), math.hold_ppb)

    def _release(self, m: Market, o: Order, lots: int) -> None:
        """Recompute the order's hold for its new remaining quantity; for perps also drop
        `lots` from the open-order exposure."""
        asset, new = self._hold(m, o.side, o.price, o.remaining)
        acct = self.accounts[o.account]
        acct.holds[asset] -= o.hold - new
        o.hold = new
        if m.perp:
            pos = acct.position(o.market)
            if o.side is BUY:
                pos.open_buy -= lots
            else:
                pos.open_sell -= lots

    def _match(self, m: Market, t: Order, ts_ns: int) -> bool:
        """Trade `t` against the opposite side; True if self-trade prevention stopped it."""
        opp = m.asks if t.side is BUY else m.bids
        keys, levels, sign = opp.keys, opp.levels, opp.sign
        touched = self._touched_asks if t.side is BUY else self._touched_bids
        limit = t.price
        buy = t.side is BUY
        stp = self._stp
        while t.remaining and keys:
            price = keys[-1] * sign
            if price > limit if buy else price < limit:
                break
            lv = levels[price]
            q = lv.queue
            touched.append(price)
            while t.remaining and lv.live:
                r = q[0]
                if not r.alive:
                    q.popleft()
                    lv.dead -= 1
                    continue
                if r.account == t.account:
                    if stp != 1:
                        self._cancel(m, r, "self_trade", ts_ns)
                    if stp != 0:
                        if not lv.live and levels.get(price) is lv:
                            opp.remove(price)
                        return True
                    continue
                qty = t.remaining if t.remaining < r.display else r.display
                self._trade(m, r, t, price, qty, ts_ns)
                r.display -= qty
                lv.visible -= qty
                if r.display == 0:
                    q.popleft()
                    if r.remaining:
                        self._refill(lv, r)
                    else:
                        r.alive = False
                        lv.live -= 1
                        self._done(r)
            if not lv.live and levels.get(price) is lv:
                opp.remove(price)
        return False

    def _refill(self, lv: Level, o: Order) -> None:
        """Iceberg: show the next slice from the reserve, at the back of the queue."""
        o.display = o.peak if o.peak < o.remaining else o.remaining
        lv.visible += o.display
        lv.queue.append(o)

    def _trade(self, m: Market, r: Order, t: Order, price: int, qty: int, ts_ns: int) -> None:
        math = m.math
        value = math.notional(price, qty)
        fm = fee(value, math.maker_ppb)
        ft = fee(value, math.taker_ppb)
        r.remaining -= qty
        r.filled += qty
        t.remaining -= qty
        t.filled += qty
        self._settle(m, r, price, qty, value, fm)
        self._settle(m, t, price, qty, value, ft)
        self.accounts[self.config.fee_account].credit(m.settle if m.perp else m.quote, fm + ft)
        tid = self._next_trade
        self._next_trade += 1
        ev = self.events
        s = self.seq
        mk = m.inst.market
        ev.append(
            Fill(
                s + 1,
                ts_ns,
                r.account,
                r.order_id,
                r.oid,
                mk,
                r.side,
                price,
                qty,
                fm,
                MAKER,
                r.remaining,
                tid,
            )
        )
        ev.append(
            Fill(
                s + 2,
                ts_ns,
                t.account,
                t.order_id,
                t.oid,
                mk,
                t.side,
                price,
                qty,
                ft,
                TAKER,
                t.remaining,
                tid,
            )
        )
        ev.append(Trade(s + 3, ts_ns, mk, price, qty, t.side, tid, r.oid, t.oid))
        self.seq = s + 3
        if not t.remaining:
            self._done(t)

    def _settle(self, m: Market, o: Order, price: int, qty: int, value: int, fee_units: int) -> None:
        acct = self.accounts[o.account]
        self._release(m, o, qty)
        bal = acct.balances
        quote = m.quote
        if m.perp:
            settle = m.settle
            realized = acct.position(o.market).apply_fill(qty if o.side is BUY else -qty, price, m.math)
            bal[settle] = bal.get(settle, 0) + realized - fee_units
        elif o.side is BUY:
            bal[quote] = bal.get(quote, 0) - value - fee_units
            bal[m.base] = bal.get(m.base, 0) + qty * m.math.base_mult
        else:
            bal[m.base] = bal.get(m.base, 0) - qty * m.math.base_mult
            bal[quote] = bal.get(quote, 0) + value - fee_units

    def _rest(self, m: Market, o: Order) -> None:
        """Put the rest of `o` in the book: an iceberg shows its peak, others everything."""
        book = m.bids if o.side is BUY else m.asks
        o.display = o.peak if o.peak and o.peak < o.remaining else o.remaining
        (book.levels.get(o.price) or book.level_for(o.price)).push(o)
        (self._touched_bids if o.side is BUY else self._touched_asks).append(o.price)

    def _cancel(self, m: Market, o: Order, reason: str, ts_ns: int) -> None:
        if o.display:  # resting (a taker in flight shows nothing)
            side = m.bids if o.side is BUY else m.asks
            lv = side.levels[o.price]
            lv.kill(o)
            (self._touched_bids if o.side is BUY else self._touched_asks).append(o.price)
            if not lv.live:
                side.remove(o.price)
        o.alive = False
        qty = o.remaining
        o.cancelled += qty
        o.remaining = 0
        o.display = 0
        self._release(m, o, qty)
        self._done(o)
        self.seq += 1
        self.events.append(Cancelled(self.seq, ts_ns, o.account, o.order_id, o.oid, o.market, qty, reason))

    def _done(self, o: Order) -> None:
        self._live.pop((o.account, o.order_id), None)
        self._by_oid.pop(o.oid, None)
        self.accounts[o.account].orders.pop(o.oid, None)

    def _emit_delta(self, m: Market, ts_ns: int) -> None:
        tb, ta = self._touched_bids, self._touched_asks
        if not tb and not ta:
            return
        # plain loops: a comprehension is a function call on Python 3.11 (~0.4 us here)
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        if tb:
            levels = m.bids.levels
            for p in sorted(set(tb), reverse=True) if len(tb) > 1 else tb:
                lv = levels.get(p)
                bids.append((p, lv.visible if lv is not None else 0))
            tb.clear()
        if ta:
            levels = m.asks.levels
            for p in sorted(set(ta)) if len(ta) > 1 else ta:
                lv = levels.get(p)
                asks.append((p, lv.visible if lv is not None else 0))
            ta.clear()
        m.book_seq += 1
        self.seq += 1
        self.events.append(BookDelta(self.seq, ts_ns, m.inst.market, m.book_seq, bids, asks))
