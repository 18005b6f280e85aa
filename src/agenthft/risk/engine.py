"""Pre-trade risk: every control of the article's table, in code, with a reason for every no.

Pure: the runtime calls it with the time (ns), books and the OMS. `check(...)` returns None
(the order may go) or a `RiskEvent` saying which control denied it, with the measured value and
the limit. Controls that trip change the state (ACTIVE -> REDUCING -> HALTED) and tell the runtime
what to do (`pull`: cancel quotes on a market; `cancel_all`). Cancels always pass.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

import msgspec

from agenthft.book import L2Book
from agenthft.model import CASH_DECIMALS, ContractMath, Instrument, Side, to_scaled
from agenthft.oms import OrderManager


class RiskState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"  # only orders that reduce a position pass
    HALTED = "halted"  # nothing but cancels


class Reason(StrEnum):
    KILL_SWITCH_FAULTS = "kill_switch_faults"
    KILL_SWITCH_BENIGN = "kill_switch_benign"
    PNL_KILL = "pnl_kill"
    CIRCUIT_BREAKER = "circuit_breaker"
    POSITION_LIMIT = "position_limit"
    TOTAL_POSITION_LIMIT = "total_position_limit"
    DAILY_LOSS = "daily_loss"
    EXCHANGE_RATE_LIMIT = "exchange_rate_limit"
    MANUAL_OVERRIDE = "manual_override"
    STALE_DATA = "stale_data"
    CONNECTION_LOST = "connection_lost"
    RTT_LIMIT = "rtt_limit"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    PRICE_BAND = "price_band"
    MAX_OPEN_ORDERS = "max_open_orders"
    HALTED = "halted"
    REDUCE_ONLY = "reduce_only"
    MIN_NOTIONAL = "min_notional"
    STRATEGY_ERROR = "strategy_error"


class RiskConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Thresholds. Money in quote units (decimal strings: USD for an inverse BTCUSD contract,
    whose coin P&L is converted at the mark), times in ms. 0 or "0" turns a control off."""

    max_consecutive_faults: int = 5  # venue rejects that mean something is wrong (FAULT_CODES), in a row
    max_consecutive_benign: int = 100  # rejects that are a maker's or taker's daily bread (BENIGN_CODES), in a row
    pnl_kill: str = "0"  # halt when realized + unrealized P&L <= -pnl_kill
    reduce_at_loss: str = "0"  # go reduce-only when P&L <= -reduce_at_loss
    daily_loss_limit: str = "0"  # realized + unrealized (fees included) loss that halts and cancels all
    max_orders_per_s: int = 50  # circuit breaker: orders over this in any 1 s window are denied
    position_limit: str = "0"  # |net notional| per market after the order
    total_position_limit: str = "0"  # sum of |net notional| over markets after the order
    stale_ms: float = 50.0  # market data that arrives older than this (receive - venue time) blocks
    # new orders on its market and pulls its quotes, until fresh data arrives
    max_rtt_ms: float = 0.0  # ping RTT over this cancels everything and halts new orders until it recovers
    max_order_notional: str = "0"
    price_band_bps: int = 0  # limit price further than this from the mid is denied
    max_open_orders: int = 0


#: The money controls (amounts in the quote currency) and the conservative values the CLI turns
#: on when no risk file is given (`agenthft run|desk|backtest|sweep` without --risk): loose
#: enough for the shipped strategies' defaults on a BTC or ETH market, tight enough to stop a
#: runaway. `--risk FILE` replaces them; `--no-limits` turns them off and says so.
MONEY_CONTROLS = ("position_limit", "total_position_limit", "max_order_notional", "daily_loss_limit")
SAFE_LIMITS: dict[str, str] = {
    "position_limit": "10000",
    "total_position_limit": "50000",
    "max_order_notional": "5000",
    "daily_loss_limit": "1000",
}


def safe_defaults() -> RiskConfig:
    """RiskConfig's defaults with `SAFE_LIMITS` on."""
    return msgspec.structs.replace(RiskConfig(), **SAFE_LIMITS)


def money_limits(config: RiskConfig) -> dict[str, str]:
    """The money controls in force ("0": off)."""
    return {name: getattr(config, name) for name in MONEY_CONTROLS}


def all_money_off(config: RiskConfig) -> bool:
    return all(to_scaled(v, CASH_DECIMALS) == 0 for v in money_limits(config).values())


#: Venue reject codes that are normal in trading: a post-only quote the market moved onto, a
#: taker order that found nothing (IOC unfilled, no liquidity), a reduce-only order with nothing
#: to reduce. Counted apart from faults: a maker sees many of them and must not halt on them.
#: Connectors map their venue's equivalents to these codes.
BENIGN_CODES: dict[str, str] = {
    "post_only_would_cross": "a post-only order that would have taken: the market moved onto the quote",
    "no_liquidity": "a market order with nothing on the other side",
    "ioc_not_filled": "an IOC order that found nothing to trade (venues that reject rather than expire it)",
    "reduce_only": "a reduce-only order with no position to reduce",
    "fok_unfillable": "a fill-or-kill order that could not fill whole on arrival",
}
#: Reject codes that mean something is wrong (the agent's state, its sizing or its rate): a run of
#: them trips the kill switch. Any code not listed in either table counts as a fault.
FAULT_CODES: dict[str, str] = {
    "insufficient_balance": "not enough margin or funds for the order",
    "position_limit": "the venue's position limit",
    "rate_limited": "over the venue's rate limit (the agent also backs off)",
    "unknown_order": "a cancel of an order the venue does not know",
    "unknown_market": "a market the venue does not list",
    "bad_request": "a malformed message",
    "bad_price": "a price off the tick grid or out of range",
    "bad_qty": "a quantity off the lot grid or out of range",
    "duplicate_order_id": "an order id already live",
    "market_halted": "the market is halted",
    "forbidden": "the key lacks the scope",
    "unauthorized": "not authenticated",
}


def is_benign(code: str) -> bool:
    """A reject code that is normal in trading (`BENIGN_CODES`); every other code is a fault."""
    return code in BENIGN_CODES


_HALTED, _REDUCING = RiskState.HALTED, RiskState.REDUCING
_BUY, _SELL = Side.BUY, Side.SELL


class RiskEvent(msgspec.Struct, frozen=True):
    """A reason-coded decision: what tripped, the measured value, the limit, what was done."""

    ts_ns: int
    reason: Reason
    action: str  # deny | halt | reduce | pull | cancel_all | throttle | resume
    value: str
    limit: str
    market: str = ""

    def __str__(self) -> str:
        where = f" market={self.market}" if self.market else ""
        return f"{self.reason.upper()}:{where} value={self.value} limit={self.limit} action={self.action}"


def _cash(text: str) -> int:
    return to_scaled(text, CASH_DECIMALS)


def _fmt_cash(units: int) -> str:
    return f"{units / 10**CASH_DECIMALS:.2f}"


class RiskEngine:
    def __init__(self, config: RiskConfig, instruments: list[Instrument] | None = None) -> None:
        self.config = config
        self.state = RiskState.ACTIVE
        # bounded under any flood: recent events, counts per reason, and every state change
        self.events: deque[RiskEvent] = deque(maxlen=1000)
        self.counts: dict[str, int] = {}
        self.trips: deque[RiskEvent] = deque(maxlen=1000)  # events that changed the state
        self.first_trip: RiskEvent | None = None
        self.stale: set[str] = set()  # markets in a stale-data episode
        self.consecutive_faults = 0
        self.consecutive_benign = 0
        self.faults = 0  # venue rejects that mean something is wrong, in total
        self.benign = 0  # venue rejects that are normal in trading, in total
        self.reject_codes: dict[str, int] = {}  # every venue reject, by code
        self.data_lag_ns: dict[str, int] = {}  # per market: receive time - venue time of the latest data
        self.connected = True
        self.rtt_ns = 0
        self.backoff_until_ns = 0
        self._sent: deque[int] = deque()
        self._math: dict[str, ContractMath] = {}
        #: whether the port can send an order reduce-only (`Caps.reduce_only`): venues exempt those
        #: from their minimum notional, so an order under it that closes a position goes so
        self.venue_reduce_only = False
        #: set by `check` when the order it passed must go reduce-only (under the minimum, reducing)
        self.send_reduce_only = False
        for inst in instruments or []:
            self.add_instrument(inst)
        self._venue_cap = 0  # the circuit breaker's ceiling from the venue's limits (0: none)
        self._derive(config)
        self.pull: set[str] = set()  # markets whose quotes the runtime should cancel now
        self.cancel_all_requested = False

    def _derive(self, c: RiskConfig) -> None:
        """Integer thresholds from the config (at start, and when the limits change live)."""
        self.config = c
        self._pnl_kill, self._reduce_at = _cash(c.pnl_kill), _cash(c.reduce_at_loss)
        self._daily = _cash(c.daily_loss_limit)
        #: a P&L limit is set: without one the runtime does not work out P&L on every mark move
        self.watches_pnl = bool(self._pnl_kill or self._reduce_at or self._daily)
        self._pos_limit, self._total_limit = _cash(c.position_limit), _cash(c.total_position_limit)
        self._max_notional = _cash(c.max_order_notional)
        self.max_orders_per_s = c.max_orders_per_s  # the circuit breaker (capped by the venue's limit)
        self._max_rtt_ns = int(c.max_rtt_ms * 1e6)
        self._stale_ns = int(c.stale_ms * 1e6)
        self._max_open = c.max_open_orders
        self._band_bps = c.price_band_bps
        self._needs_ref = bool(self._max_notional or c.price_band_bps or self._pos_limit or self._total_limit)
        cap = self._venue_cap
        if cap and (not self.max_orders_per_s or self.max_orders_per_s > cap):
            self.max_orders_per_s = cap

    def reconfigure(self, changes: dict[str, object]) -> RiskConfig:
        """New limits, effective for the next check: validated as a whole (unknown fields and
        wrong types are errors naming the field; nothing changes on an error), the venue's rate
        ceiling kept. Returns the config in force."""
        merged = msgspec.structs.asdict(self.config) | dict(changes)
        new = msgspec.convert(merged, RiskConfig, strict=False)
        for name in ("pnl_kill", "reduce_at_loss", "daily_loss_limit", "position_limit", "total_position_limit",
                     "max_order_notional"):  # fmt: skip
            try:
                _cash(getattr(new, name))  # a malformed amount fails here, before anything changes
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
        self._derive(new)
        return new

    def add_instrument(self, inst: Instrument) -> None:
        self._math[inst.market] = ContractMath(inst)

    # --- state changes -----------------------------------------------------------------------
    def _emit(self, ev: RiskEvent) -> RiskEvent:
        self.events.append(ev)
        self.counts[ev.reason.value] = self.counts.get(ev.reason.value, 0) + 1
        return ev

    def _trip(self, state: RiskState, ev: RiskEvent) -> RiskEvent:
        order = [RiskState.ACTIVE, RiskState.REDUCING, RiskState.HALTED]
        if order.index(state) > order.index(self.state):
            self.state = state
            self.trips.append(ev)
            if self.first_trip is None:
                self.first_trip = ev
        if ev.action in ("halt", "cancel_all"):
            self.cancel_all_requested = True
        return self._emit(ev)

    def cap_order_rate(self, venue_orders_per_s: float) -> int:
        """Keep the circuit breaker under the venue's per-key order limit (at most 80 % of it),
        so the agent throttles itself before the venue rejects; returns the breaker in force."""
        cap = max(1, int(venue_orders_per_s * 0.8))
        self._venue_cap = cap
        if not self.max_orders_per_s or self.max_orders_per_s > cap:
            self.max_orders_per_s = cap
        return self.max_orders_per_s

    def manual_override(self, now_ns: int, source: str = "operator") -> RiskEvent:
        """Cancel every open order and halt (CLI, SIGUSR1, a flag file, the control plane)."""
        return self._trip(RiskState.HALTED, RiskEvent(now_ns, Reason.MANUAL_OVERRIDE, "cancel_all", source, "-"))

    def on_strategy_error(self, now_ns: int, what: str) -> RiskEvent:
        """The strategy's code raised (`what`: the hook and the exception): its state is unknown,
        so it stops trading until an operator resumes it (cancel every open order and halt)."""
        return self._trip(RiskState.HALTED, RiskEvent(now_ns, Reason.STRATEGY_ERROR, "cancel_all", what[:200], "-"))

    def resume(self, now_ns: int) -> RiskEvent:
        """Back to ACTIVE (an operator's decision after a halt)."""
        self.state = RiskState.ACTIVE
        self.consecutive_faults = self.consecutive_benign = 0
        ev = RiskEvent(now_ns, Reason.MANUAL_OVERRIDE, "resume", "-", "-")
        self.trips.append(ev)
        return self._emit(ev)

    # --- inputs ---------------------------------------------------------------------------------
    def on_ack(self, now_ns: int) -> None:
        self.consecutive_faults = self.consecutive_benign = 0

    def on_reject(self, code: str, now_ns: int) -> RiskEvent | None:
        """Count a venue reject as a fault or as benign (`is_benign`), each kind in a row and in
        total; N faults in a row trip the kill switch, and so do M benign ones in a row (a maker
        whose every quote is refused has lost sight of the market). An ack resets both runs.
        `rate_limited` is a fault and also backs off: nothing is sent for 1 s."""
        self.reject_codes[code] = self.reject_codes.get(code, 0) + 1
        if is_benign(code):
            self.benign += 1
            self.consecutive_benign += 1
            n, limit, reason = self.consecutive_benign, self.config.max_consecutive_benign, Reason.KILL_SWITCH_BENIGN
        else:
            self.faults += 1
            self.consecutive_faults += 1
            n, limit, reason = self.consecutive_faults, self.config.max_consecutive_faults, Reason.KILL_SWITCH_FAULTS
        if code == "rate_limited":
            self.backoff_until_ns = max(self.backoff_until_ns, now_ns + 1_000_000_000)
        if limit and n >= limit and self.state is not RiskState.HALTED:
            return self._trip(RiskState.HALTED, RiskEvent(now_ns, reason, "halt", f"{n} (last {code})", str(limit)))
        if code == "rate_limited":
            return self._emit(RiskEvent(now_ns, Reason.EXCHANGE_RATE_LIMIT, "throttle", code, "retry after 1 s"))
        return None

    def reject_summary(self) -> dict[str, object]:
        """The venue's rejects so far: faults and benign ones in total, and by code."""
        return {"faults": self.faults, "benign": self.benign, "by_code": dict(sorted(self.reject_codes.items()))}

    def on_retry_after(self, seconds: float, now_ns: int) -> None:
        self.backoff_until_ns = max(self.backoff_until_ns, now_ns + int(seconds * 1e9))
        self._emit(RiskEvent(now_ns, Reason.EXCHANGE_RATE_LIMIT, "throttle", "429", f"retry after {seconds:g} s"))

    def on_pnl(self, realized: int, unrealized: int, now_ns: int) -> RiskEvent | None:
        """P&L in cash units (fees included in `realized` by the caller). May trip."""
        pnl = realized + unrealized
        if self._daily and pnl <= -self._daily and self.state is not RiskState.HALTED:
            return self._trip(
                RiskState.HALTED,
                RiskEvent(now_ns, Reason.DAILY_LOSS, "cancel_all", _fmt_cash(-pnl), _fmt_cash(self._daily)),
            )
        if self._pnl_kill and pnl <= -self._pnl_kill and self.state is not RiskState.HALTED:
            return self._trip(
                RiskState.HALTED, RiskEvent(now_ns, Reason.PNL_KILL, "halt", _fmt_cash(-pnl), _fmt_cash(self._pnl_kill))
            )
        if self._reduce_at and pnl <= -self._reduce_at and self.state is RiskState.ACTIVE:
            return self._trip(
                RiskState.REDUCING,
                RiskEvent(now_ns, Reason.PNL_KILL, "reduce", _fmt_cash(-pnl), _fmt_cash(self._reduce_at)),
            )
        return None

    def on_market_data(self, market: str, data_ts_ns: int, recv_ns: int) -> RiskEvent | None:
        """Latest book message of `market`: stamped `data_ts_ns` by the venue, received at
        `recv_ns`. A quiet book is not stale; a feed running behind is. A stale episode starts
        when the lag passes `stale_ms` (quotes pulled once, new orders denied) and ends when it
        is back under half of it (hysteresis: a lag hovering at the threshold is one episode)."""
        lag = self.data_lag_ns[market] = recv_ns - data_ts_ns
        limit = self._stale_ns
        if not limit:
            return None
        if market in self.stale:
            if lag < limit / 2:
                self.stale.discard(market)
            return None
        if lag > limit:
            self.stale.add(market)
            self.pull.add(market)
            return self._emit(
                RiskEvent(
                    recv_ns, Reason.STALE_DATA, "pull", f"{lag / 1e6:.1f}ms", f"{self.config.stale_ms:g}ms", market
                )
            )
        return None

    def on_connection(self, up: bool, now_ns: int) -> RiskEvent | None:
        self.connected = up
        if not up:
            self.cancel_all_requested = True
            return self._emit(RiskEvent(now_ns, Reason.CONNECTION_LOST, "cancel_all", "down", "up"))
        return None

    def on_rtt(self, rtt_ns: int, now_ns: int) -> RiskEvent | None:
        self.rtt_ns = rtt_ns
        limit = self.config.max_rtt_ms
        if limit and rtt_ns > limit * 1e6:
            self.cancel_all_requested = True
            return self._emit(
                RiskEvent(now_ns, Reason.RTT_LIMIT, "cancel_all", f"{rtt_ns / 1e6:.3f}ms", f"{limit:g}ms")
            )
        return None

    def stale_markets(self, now_ns: int) -> list[str]:
        """Markets in a stale-data episode."""
        return sorted(self.stale)

    # --- the pre-trade check -----------------------------------------------------------------------
    def check(
        self, market: str, side: Side, qty: int, price: int | None, now_ns: int, book: L2Book | None, oms: OrderManager
    ) -> RiskEvent | None:
        """None if the order may go; else the event saying why not (also recorded).

        On the hot path (every order): thresholds are precomputed integers, enum members are
        module aliases, and the mid and the open-order sums are computed only for the controls
        that are on."""
        state = self.state
        if state is _HALTED:
            return self._emit(RiskEvent(now_ns, Reason.HALTED, "deny", state, "active", market))
        if not self.connected:
            return self._emit(RiskEvent(now_ns, Reason.CONNECTION_LOST, "deny", "down", "up", market))
        if now_ns < self.backoff_until_ns:
            left = f"{(self.backoff_until_ns - now_ns) / 1e6:.0f}ms left"
            return self._emit(RiskEvent(now_ns, Reason.EXCHANGE_RATE_LIMIT, "deny", left, "0", market))
        max_rtt = self._max_rtt_ns
        if max_rtt and self.rtt_ns > max_rtt:
            c = self.config
            value = f"{self.rtt_ns / 1e6:.3f}ms"
            return self._emit(RiskEvent(now_ns, Reason.RTT_LIMIT, "deny", value, f"{c.max_rtt_ms:g}ms", market))
        if self._stale_ns and (market in self.stale or market not in self.data_lag_ns):
            lag = self.data_lag_ns.get(market)
            age = "no data" if lag is None else f"{lag / 1e6:.1f}ms"
            return self._emit(RiskEvent(now_ns, Reason.STALE_DATA, "deny", age, f"{self.config.stale_ms:g}ms", market))
        pos = oms.positions.get(market)
        size = pos.size if pos is not None else 0
        reducing = (size >= qty) if side is _SELL else (-size >= qty)
        if state is _REDUCING and not reducing:
            return self._emit(RiskEvent(now_ns, Reason.REDUCE_ONLY, "deny", f"position {size}", "reduce only", market))
        rate = self.max_orders_per_s
        if rate:
            w = self._sent
            cutoff = now_ns - 1_000_000_000
            while w and w[0] <= cutoff:
                w.popleft()
            if len(w) >= rate:
                return self._emit(
                    RiskEvent(now_ns, Reason.CIRCUIT_BREAKER, "throttle", str(len(w) + 1), f"{rate}/s", market)
                )
        max_open = self._max_open
        if max_open and len(oms.live) >= max_open:
            return self._emit(
                RiskEvent(now_ns, Reason.MAX_OPEN_ORDERS, "deny", str(len(oms.live) + 1), str(max_open), market)
            )
        self.send_reduce_only = False
        math = self._math.get(market)
        if math is not None and math.min_quote:
            ev = self._min_notional(market, math, qty, price, now_ns, book, reducing)
            if ev is not None:
                return ev
        if self._needs_ref:
            ev = self._notional_checks(market, side, qty, price, now_ns, book, oms, size, reducing)
            if ev is not None:
                return ev
        self._sent.append(now_ns)
        return None

    def _min_notional(
        self,
        market: str,
        math: ContractMath,
        qty: int,
        price: int | None,
        now_ns: int,
        book: L2Book | None,
        reducing: bool,
    ) -> RiskEvent | None:
        """The venue's minimum order value, checked here so that it is a local denial (not a venue
        reject, which counts toward the kill switch). An order under it that closes (part of) a
        position goes reduce-only where the port can send that: venues exempt those."""
        mid = book.mid() if price is None and book is not None else None
        ref = price if price is not None else (None if mid is None else round(mid))
        if ref is None:
            return None  # a market order with no book: the venue judges it at its mark
        least = math.min_quote
        notional = math.quote_notional(ref, qty)
        if notional >= least:
            return None
        if reducing and self.venue_reduce_only:
            self.send_reduce_only = True
            return None
        return self._emit(RiskEvent(now_ns, Reason.MIN_NOTIONAL, "deny", _fmt_cash(notional), _fmt_cash(least), market))

    def _notional_checks(
        self,
        market: str,
        side: Side,
        qty: int,
        price: int | None,
        now_ns: int,
        book: L2Book | None,
        oms: OrderManager,
        size: int,
        reducing: bool,
    ) -> RiskEvent | None:
        """The controls that need a reference price: notional, price band, position limits."""
        band = self._band_bps
        mid = book.mid() if book is not None and (price is None or band) else None
        ref = price if price is not None else (None if mid is None else round(mid))
        if ref is None:
            return None
        notional_of = self._math[market].quote_notional
        if self._max_notional:
            notional = notional_of(ref, qty)
            if notional > self._max_notional:
                return self._emit(
                    RiskEvent(
                        now_ns,
                        Reason.MAX_ORDER_NOTIONAL,
                        "deny",
                        _fmt_cash(notional),
                        _fmt_cash(self._max_notional),
                        market,
                    )
                )
        if band and price is not None and mid is not None:
            off = abs(price - mid) * 10_000
            if off > band * mid:
                return self._emit(
                    RiskEvent(now_ns, Reason.PRICE_BAND, "deny", f"{off / mid:.1f}bps", f"{band}bps", market)
                )
        if not reducing and (self._pos_limit or self._total_limit):
            open_same = qty
            for o in oms.live.values():
                if o.side is side and o.market == market:
                    open_same += o.qty - o.filled
            after = notional_of(ref, abs(size + open_same if side is _BUY else size - open_same))
            if self._pos_limit and after > self._pos_limit:
                return self._emit(
                    RiskEvent(
                        now_ns, Reason.POSITION_LIMIT, "deny", _fmt_cash(after), _fmt_cash(self._pos_limit), market
                    )
                )
            if self._total_limit:
                total = after
                for m, p in oms.positions.items():
                    if m != market:
                        total += p.exposure()
                if total > self._total_limit:
                    return self._emit(
                        RiskEvent(
                            now_ns,
                            Reason.TOTAL_POSITION_LIMIT,
                            "deny",
                            _fmt_cash(total),
                            _fmt_cash(self._total_limit),
                            market,
                        )
                    )
        return None


#: What each reason means, which config field sets its threshold, and what happens when it trips.
DOCS: dict[Reason, tuple[str, str, str]] = {
    Reason.KILL_SWITCH_FAULTS: (
        "max_consecutive_faults",
        "faulty venue rejects in a row (every code but the benign ones, below; an ack resets)",
        "halt + cancel all",
    ),
    Reason.KILL_SWITCH_BENIGN: (
        "max_consecutive_benign",
        "benign venue rejects in a row (post-only would cross, no liquidity ...; an ack resets)",
        "halt + cancel all",
    ),
    Reason.PNL_KILL: (
        "reduce_at_loss / pnl_kill",
        "realized - fees + unrealized P&L at or below -threshold",
        "reduce-only, then halt",
    ),
    Reason.CIRCUIT_BREAKER: (
        "max_orders_per_s",
        "orders in any 1 s window (capped at 80 % of the venue's per-key limit)",
        "deny with reason (throttle)",
    ),
    Reason.POSITION_LIMIT: (
        "position_limit",
        "|net notional| of the market after the order (open orders count)",
        "deny increasing orders; reducing pass",
    ),
    Reason.TOTAL_POSITION_LIMIT: (
        "total_position_limit",
        "sum of |net notional| over markets after the order",
        "deny increasing orders",
    ),
    Reason.DAILY_LOSS: ("daily_loss_limit", "realized - fees + unrealized loss", "halt + cancel all"),
    Reason.EXCHANGE_RATE_LIMIT: (
        "(venue)",
        "a rate_limited reject or a 429 Retry-After",
        "deny until the backoff ends",
    ),
    Reason.MANUAL_OVERRIDE: ("(operator)", "Runner.manual_override: API, SIGUSR1, --halt-file", "cancel all + halt"),
    Reason.STALE_DATA: (
        "stale_ms",
        "receive time - venue time of the market's latest book data, or none yet; the episode "
        "ends when it is back under half the threshold",
        "pull its quotes once per episode; deny on that market",
    ),
    Reason.CONNECTION_LOST: ("(session)", "the WebSocket dropped", "deny; the venue's cancel-on-disconnect acts"),
    Reason.RTT_LIMIT: ("max_rtt_ms", "ping round trip", "cancel all; deny until RTT recovers"),
    Reason.MAX_ORDER_NOTIONAL: ("max_order_notional", "price x qty of the order", "deny"),
    Reason.PRICE_BAND: ("price_band_bps", "distance of the limit price from the mid", "deny"),
    Reason.MAX_OPEN_ORDERS: ("max_open_orders", "live orders including this one", "deny"),
    Reason.HALTED: ("(state)", "any order while HALTED", "deny (cancels always pass)"),
    Reason.REDUCE_ONLY: ("(state)", "an increasing order while REDUCING", "deny"),
    Reason.MIN_NOTIONAL: (
        "(venue: Instrument.min_notional)",
        "price x qty of the order (market orders: at the mid)",
        "deny, unless it reduces a position and the port sends it reduce-only",
    ),
    Reason.STRATEGY_ERROR: (
        "(code)",
        "a strategy hook raised (its state is unknown); counted in `strategy_errors`",
        "cancel all + halt until resumed (a backtest stops with the traceback)",
    ),
}


def table_markdown() -> str:
    """docs/risk.md's table, from the enum and the config defaults."""
    defaults = msgspec.structs.asdict(RiskConfig())
    rows = ["| reason code | threshold (config field, default) | measured value | action |", "|---|---|---|---|"]
    for reason in Reason:
        field, measured, action = DOCS[reason]
        default = "; ".join(f"{f.strip()} = {defaults[f.strip()]!r}" for f in field.split("/") if f.strip() in defaults)
        rows.append(f"| `{reason.value}` | {default or field} | {measured} | {action} |")
    return "\n".join(rows)


def codes_markdown() -> str:
    """docs/risk.md's table of reject codes: which count as faults and which as benign."""
    rows = ["| reject code | counted as | meaning |", "|---|---|---|"]
    rows += [f"| `{code}` | benign | {why} |" for code, why in BENIGN_CODES.items()]
    rows += [f"| `{code}` | fault | {why} |" for code, why in FAULT_CODES.items()]
    rows.append("| any other code | fault | a code this table does not know is treated as a fault |")
    return "\n".join(rows)
