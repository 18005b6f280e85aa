"""The agent's event loop: venue events in, strategy decisions out, everything journaled.

Data flow (docs/architecture.md): venue -> connector (`connectors.port.VenuePort`: decode onto the grid) ->
book replica / OMS -> strategy -> risk -> port.place() -> venue. The runner is the port's
`PortListener`; it never knows which venue is behind the port. `recv_ns` is stamped on arrival;
tick-to-trade is the time from it to the order handed to the port, recorded per order in an
HdrHistogram. Observers (the results recorder, the control plane, the CLI) subscribe to
`observers` and see what was sent, what came back and every runtime event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from agenthft.book import L2Book, Level, OutOfSync, SequenceGap
from agenthft.connectors.port import (
    Ack,
    Amended,
    AmendRequest,
    CancelAllRequest,
    CancelRefused,
    CancelRequest,
    Done,
    Filled,
    Funding,
    OrderEvent,
    OrderRequest,
    Rejected,
    Request,
    Throttle,
    VenueLimits,
    VenuePort,
)
from agenthft.connectors.rename import RenamedPort, renames
from agenthft.model import Instrument, Liquidity, OrderStatus, OrderType, Side, mark_price
from agenthft.model.money import cash_float
from agenthft.oms import ClientOrder, OrderManager, Pnl, ReconcileReport, VenueFill
from agenthft.oms.manager import CANCEL_RETRY_NS
from agenthft.oms.positions import Part, combine
from agenthft.ratelimit import TokenBucket
from agenthft.risk import RiskConfig, RiskEngine, RiskEvent, RiskState
from agenthft.risk.engine import money_limits
from agenthft.runtime.denials import DenialAggregator
from agenthft.runtime.gcpolicy import GcPolicy
from agenthft.runtime.journal import Journal, NewOrderRecord
from agenthft.runtime.snapshot import MarketState, Rates, RunnerSnapshot
from agenthft.runtime.telemetry import SPLIT, Telemetry
from agenthft.signals import MarketSignals, SignalConfig
from agenthft.strategies.base import Strategy

log = logging.getLogger("agenthft.runner")

#: At the end of a run: rounds of (cancel and wait, one venue snapshot) until a snapshot leaves
#: nothing live (an order placed while the cancel-all passed it, one the venue still fills).
QUIESCE_ROUNDS = 3


def _fees_elsewhere(port: object) -> dict[str, str]:
    """The port's fees in currencies the P&L cannot value (`connectors.fees`); ports whose venue
    charges only the settlement asset keep none."""
    kept = getattr(port, "fees_elsewhere", None)
    return kept.as_dict() if kept is not None else {}


class Observer:
    """A tap on a runner (the results recorder, the control plane, the CLI): override what you
    need. Called on the trading loop: keep it cheap."""

    def on_sent(self, runner: Runner, req: Request, t_ns: int) -> None:
        """A request handed to the port."""

    def on_received(self, runner: Runner, ev: OrderEvent, recv_ns: int) -> None:
        """An order event from the venue, after the core applied it."""

    def on_event(self, runner: Runner, kind: str, payload: Any) -> None:
        """A runtime event: risk, trip, resume, reject, signal, throttled, funding,
        connected, disconnected, reconcile_failed."""


class Runner:
    """Runs one strategy against one venue. Also the strategy's `Context`."""

    def __init__(
        self,
        strategy: Strategy,
        port: VenuePort,
        journal_path: str | Path | None = None,
        gc_policy: GcPolicy | None = None,
        cpu: int | None = None,
        orders_per_s: float | None = None,
        risk: RiskConfig | None = None,
        cancel_retry_ms: float = CANCEL_RETRY_NS / 1e6,
        halt_file: str | Path | None = None,
        cancels_per_s: float | None = None,
        signal_config: SignalConfig | None = None,
        clock: Callable[[], int] | None = None,
        order_prefix: str = "g",
        book_factory: Callable[[str], L2Book] = L2Book,
    ) -> None:
        """`port`: the venue (`connectors`). `orders_per_s` / `cancels_per_s`: the client's
        throttles; None takes the key's limits from the venue (`port.limits()`), and the circuit
        breaker is kept under them. `order_prefix`: client order ids start with it (one per
        venue when several share a strategy). `book_factory`: the class of the book replicas (the
        compiled backtest passes the compiled book, which its loop updates in C)."""
        self.strategy = strategy
        self.book_factory = book_factory
        self.port = port
        self.journal_path = journal_path
        self.gc_policy = gc_policy or GcPolicy()
        self.cpu = cpu
        self.orders_per_s = orders_per_s
        self.clock: Callable[[], int] = clock or time.time_ns  # a backtest passes its simulated clock
        now = self.clock()
        self.bucket = TokenBucket(orders_per_s or 100.0, orders_per_s or 100.0, now)
        self.cancels_per_s = cancels_per_s
        self.cancel_bucket = TokenBucket(cancels_per_s or 200.0, cancels_per_s or 200.0, now)
        self.venue_limits = VenueLimits()
        self.cancel_retry_ns = int(cancel_retry_ms * 1e6)
        self.halt_file = Path(halt_file) if halt_file else None
        self.telemetry = Telemetry()
        self.risk = RiskEngine(risk or RiskConfig())
        self.denied: deque[RiskEvent] = deque(maxlen=256)  # the latest denials (all are counted in risk)
        self.denials = DenialAggregator()
        self.throttled = 0  # orders and cancels held back by the client's own rate limits
        self.refused = 0  # submit / cancel / amend calls that sent nothing (a strategy may retry them)
        #: exceptions the strategy's hooks raised (each halts it: `strategy_failed`); a backtest
        #: sets `raise_strategy_errors` and stops with the traceback instead
        self.strategy_errors = 0
        self.raise_strategy_errors = False
        self._last_strategy_error: BaseException | None = None
        #: the ack RTT split at the venue's receive time (a venue on our clock: `Caps.venue_clock_ns`)
        self._split_acks = port.caps.venue_clock_ns
        if self._split_acks:
            self.telemetry.add(*SPLIT)
        self.prices_rounded = 0  # order prices moved to the venue's significant-figures rule (submit)
        self.sent_orders = self.sent_cancels = 0  # sent to the venue (rates for the dashboard)
        self.started = False  # strategy hooks run only after on_start
        self.book_views = 0  # on_book calls the strategy got (a backtest that saw none says so)
        self.books: dict[str, L2Book] = {}
        self.instruments: dict[str, Instrument] = {}
        self.last_trade: dict[str, int] = {}  # ticks, per market (the mark, as the venue's)
        self.signals: dict[str, MarketSignals] = {}  # fed only for strategies that use them
        self.signal_config = signal_config or SignalConfig()
        self.oms = OrderManager([], prefix=order_prefix, now_ns=now)  # markets added in start()
        self.journal: Journal | None = None
        self.now_ns = now
        self.connected_ns = 0  # when the current connection came up
        self._recv_ns = 0
        self._sent_ns: dict[str, int] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._reconciling: asyncio.Task[ReconcileReport] | None = None
        self.reconciles: deque[ReconcileReport] = deque(maxlen=100)
        self.reconcile_count = 0
        self.resyncs = 0
        self.halted = ""
        self._last_trip: RiskEvent | None = None
        self.observers: list[Observer] = []
        self._live = False  # started against a venue (reconnects reconcile); a backtest attaches
        # the account as it was when this session started (earlier sessions' fills, positions)
        self._start_fills: set[int] = set()
        self._at_start: dict[str, tuple[int, int, int, int]] = {}  # market -> realized, fees, funding, size
        self._start_unrealized: dict[str, int] = {}  # carried positions, at their first mark
        self._carried: set[str] = set()  # carried positions not yet marked

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        """Read the venue's instruments and limits, connect its streams, reconcile, then start
        the strategy. On any failure everything opened so far is closed before the exception
        propagates (`connectors.port`: VenueAuthError, VenueUnreachable)."""
        try:
            await self._start(timeout_s)
        except BaseException:
            await self.port.close()
            if self.journal is not None:
                self.journal.close()
                self.journal = None
            raise

    async def _start(self, timeout_s: float) -> None:
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})
        port = self.port
        instruments = await asyncio.wait_for(port.instruments(), timeout_s)
        names = renames(instruments, self.strategy.markets)
        if names:  # the strategy names markets by aliases ("BTC-PERP" for Binance's "BTCUSDT")
            port = self.port = RenamedPort(port, names)
            instruments = await asyncio.wait_for(port.instruments(), timeout_s)
        self._apply_limits(await asyncio.wait_for(port.limits(), timeout_s))
        wanted = self._add_markets(instruments)
        if self.journal_path is not None:
            Journal.replay(self.journal_path, self.oms)
            self.journal = Journal(self.journal_path)
            # what the journal's ticks and lots mean (the report rebuilt from it reads this)
            self.journal.record("instruments", "", self.clock(), list(self.instruments.values()))
        self._check_halt_file()  # a halt file present at start: not one order leaves
        await asyncio.wait_for(port.connect(self, wanted), timeout_s)  # a wrong URL or key fails here
        self._live = True
        await self.reconcile()
        self._mark_session_start()  # what the account held before: not this session's P&L
        self.gc_policy.after_warmup(time.time_ns())  # (wall clock: GC is about real time) not a pause
        self.telemetry.watch_gc()
        self.now_ns = self.clock()
        self.started = True
        if self.halt_file is not None:
            self._watcher = asyncio.create_task(self._watch_halt_file())
        self.strategy.on_start(self)

    def attach(self, instruments: list[Instrument], limits: VenueLimits | None = None) -> None:
        """Start without a network or an event loop: the shell (a backtest) gives the port's
        instruments and limits and delivers the port's events itself; then the strategy starts."""
        self._apply_limits(limits or VenueLimits())
        self._add_markets(instruments)
        self._mark_session_start()
        self.connected_ns = self.now_ns = self.clock()
        self.started = True
        self.strategy.on_start(self)

    def _add_markets(self, instruments: list[Instrument]) -> tuple[str, ...]:
        """The venue's instruments into the OMS and risk; a book (and signals, if the strategy
        uses them) per market the strategy trades. Returns those markets."""
        self.instruments = {i.market: i for i in instruments}
        self.risk.venue_reduce_only = self.port.caps.reduce_only
        for inst in instruments:
            self.oms.add_instrument(inst)
            self.risk.add_instrument(inst)
        wanted = self.strategy.markets or tuple(self.instruments)
        unknown = [m for m in wanted if m not in self.instruments]
        if unknown:
            raise ValueError(f"unknown market(s) {unknown}; this venue lists {sorted(self.instruments)}")
        for m in wanted:
            self.books[m] = self.book_factory(m)
            if self.strategy.uses_signals:
                self.signals[m] = MarketSignals(m, self.books[m], self.signal_config)
        return wanted

    def _apply_limits(self, limits: VenueLimits) -> None:
        """Size the client's throttles from the key's venue limits: circuit breaker (80 %) <
        client order bucket <= venue limit, and the same venue limit for cancels."""
        self.venue_limits = limits
        now = self.clock()
        venue_orders = limits.orders_per_s
        if venue_orders:
            rate = min(self.orders_per_s or venue_orders, venue_orders)
            self.bucket = TokenBucket(rate, rate, now)
            self.risk.cap_order_rate(rate)
        venue_cancels = limits.cancels_per_s
        if venue_cancels:
            rate = min(self.cancels_per_s or venue_cancels, venue_cancels)
            self.cancel_bucket = TokenBucket(rate, rate, now)

    def _check_halt_file(self) -> None:
        if self.halt_file is not None and self.halt_file.exists() and self.risk.state is not RiskState.HALTED:
            self.manual_override(f"flag file {self.halt_file}")

    async def _watch_halt_file(self) -> None:
        while True:
            self._check_halt_file()
            await asyncio.sleep(0.1)

    async def quiesce(self, cancel_orders: bool = True, timeout_s: float = 2.0) -> bool:
        """End of a run: the strategy stops deciding; with `cancel_orders`, cancel everything and
        wait (up to `timeout_s`) until the venue has answered for every order, so that a summary
        taken next is final. True if nothing is left live."""
        self.started = False
        if self._watcher is not None:
            self._watcher.cancel()
        if cancel_orders and self.port.connected and self.oms.live:
            for _ in range(QUIESCE_ROUNDS):
                await self._cancel_and_wait(timeout_s)
                if not self._live:
                    break
                # a fill that raced the cancels can still be on its way (a venue's order and
                # trade streams are not one ordered stream everywhere; a cancel's answer can
                # close an order before its last fill arrives): a snapshot after every round,
                # so the last word is the venue's (a REST connector behind a client-side rate
                # limiter takes seconds for it)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.reconcile(), max(timeout_s, 10.0))
                if not (self.oms.live and self.port.connected):  # nothing left that can still fill
                    break
        return not self.oms.live

    async def _cancel_and_wait(self, timeout_s: float) -> None:
        """A cancel-all, then until every order is answered (or `timeout_s`) each order still
        live is cancelled on its own: one acknowledged after the cancel-all passed it on the
        wire (a cancel in flight is not resent)."""
        self.cancel_all()
        deadline = time.monotonic() + timeout_s
        while self.oms.live and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            for oid in list(self.oms.live):
                self.cancel(oid)

    async def stop(self, cancel_orders: bool = False) -> None:
        """Close the session; `quiesce` first (with `cancel_orders`: cancel-all, the answers,
        the last snapshot)."""
        await self.quiesce(cancel_orders)
        if self._reconciling is not None:  # (a retry waiting for its turn)
            self._reconciling.cancel()
        await self.port.close()
        self._flush_denials(self.clock(), force=True)
        if self.journal is not None:
            self.journal.flush()
            self.journal.close()
        self.telemetry.unwatch_gc()
        self.gc_policy.restore()

    # --- reconciliation -----------------------------------------------------------------------
    async def reconcile(self) -> ReconcileReport:
        """Make the OMS agree with one venue snapshot (`port.snapshot()`: open orders and fills
        read at the same instant where the venue allows it); orphans are cancelled. Orders sent
        on the current connection and not yet acknowledged are left to their ack: the snapshot
        may predate them."""
        since = self.connected_ns
        snap = await self.port.snapshot()
        now = self.clock()
        vo = [o for o in snap.open_orders if o.market in self.instruments]
        vf = [f for f in snap.fills if f.market in self.instruments]
        before = {oid: o.status for oid, o in self.oms.live.items()}
        known_orders = set(self.oms.orders)
        known_fills = set(self.oms.seen_fills)
        rep = self.oms.reconcile(vo, vf, now, in_flight_since_ns=since or None)
        j = self.journal
        for f in vf:
            if f.fill_id not in known_fills and f.fill_id in self.oms.seen_fills:
                if j is not None:
                    j.record("fill", f.order_id, now, f)
                self._tell_reconciled(f, before, now)
        if j is not None:
            for oid, o in self.oms.orders.items():
                if oid not in known_orders:
                    j.record("new", oid, now, NewOrderRecord(o.market, o.side, o.qty, o.price, o.order_type))
                    j.record("ack", oid, now, o.venue_order_id or 0)
                elif oid in before and before[oid] != o.status and o.status is OrderStatus.CANCELLED:
                    j.record("cancel_ack", oid, now)
        for oid in rep.orphans_adopted:  # an open order nobody here decided on: take it off the book
            self.cancel(oid)
        self.reconciles.append(rep)
        self.reconcile_count += 1
        for oid in before:
            o = self.oms.orders[oid]
            if not o.live:  # closed by the snapshot: the strategy hears of it like of any end
                self._done(o)
        return rep

    def _tell_reconciled(self, f: VenueFill, before: dict[str, OrderStatus], now: int) -> None:
        """Observers (the results recorder) hear of a fill learned from a snapshot as of one
        received: maker if its order had been resting at the venue (acknowledged before the
        snapshot), else taker (the snapshot does not say)."""
        if not self.observers:
            return
        o = self.oms.orders.get(f.order_id)
        resting = before.get(f.order_id) in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)
        remaining = max(0, o.qty - o.filled) if o is not None else 0
        ev = Filled(f, Liquidity.MAKER if resting else Liquidity.TAKER, remaining)
        for obs in self.observers:
            obs.on_received(self, ev, now)

    # --- PortListener (the venue's side, from the port) -----------------------------------------
    def on_connected(self, reconnects: int) -> None:
        now = self.clock()
        self.connected_ns = now
        self.risk.on_connection(True, now)
        if reconnects and self._live:
            self._reconcile_soon(0.0)
        self._event("connected", reconnects)

    def _reconcile_soon(self, delay_s: float) -> None:
        """Reconcile (after `delay_s`) on this connection; a failure is retried while it lasts."""

        async def later() -> ReconcileReport:
            await asyncio.sleep(delay_s)
            return await self.reconcile()

        self._reconciling = asyncio.create_task(later())
        self._reconciling.add_done_callback(lambda task: self._reconcile_done(task, delay_s))

    def _reconcile_done(self, task: asyncio.Task[ReconcileReport], delay_s: float) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self._event("reconcile_failed", repr(task.exception()))
        # the socket is back but the snapshot failed (a restarted venue's REST not listening
        # yet, a timeout): again on this connection, backing off, not only at the next reconnect
        if self._live and self.port.connected:
            self._reconcile_soon(min(max(2 * delay_s, 0.1), 5.0))

    def on_disconnected(self, reason: str) -> None:
        self._risk_event(self.risk.on_connection(False, self.clock()))
        self.risk.cancel_all_requested = False  # nothing can be sent now; the venue's cancel-on-disconnect acts
        for book in self.books.values():
            book.synced = False
        self._event("disconnected", reason)

    def on_order_event(self, ev: OrderEvent, recv_ns: int) -> None:
        """An answer from the venue about our orders or account (`connectors.port.OrderEvent`)."""
        self._recv_ns = recv_ns  # tick-to-trade counts orders sent while handling this event
        self.now_ns = recv_ns
        try:
            self._order_event(ev, recv_ns)
            for obs in self.observers:
                obs.on_received(self, ev, recv_ns)
            self._enforce(recv_ns)
        finally:
            self._recv_ns = 0
        self.gc_policy.busy(recv_ns)

    def on_rtt(self, rtt_ns: int, recv_ns: int) -> None:
        """A ping round trip measured by the port."""
        self.telemetry.record("ping_rtt", rtt_ns)
        self._risk_event(self.risk.on_rtt(rtt_ns, recv_ns))
        self._enforce(recv_ns)

    def _enforce(self, now_ns: int) -> None:
        """Act on what risk asked for: cancel everything (once per trip), or pull the quotes of
        markets that just went stale (once per episode; the cancels are idempotent)."""
        risk = self.risk
        if risk.cancel_all_requested:
            risk.cancel_all_requested = False
            if self.oms.live:
                self.cancel_all()
        if risk.pull:
            for market in sorted(risk.pull):
                for o in self.oms.open_orders(market):
                    self.cancel(o.order_id)
            risk.pull.clear()
        if self.denials.counts:
            self._flush_denials(now_ns)

    def _flush_denials(self, now_ns: int, force: bool = False) -> None:
        row = self.denials.due(now_ns, force)
        if row is not None and self.journal is not None:
            self.journal.record("risk_counts", "", now_ns, row)

    def _risk_event(self, ev: RiskEvent | None) -> None:
        if ev is None:
            return
        if self.journal is not None and self.denials.offer(ev):
            self.journal.record("risk", "", ev.ts_ns, ev)
        trips = self.risk.trips
        if trips and trips[-1] is ev and self._last_trip is not ev:
            self._last_trip = ev
            self._event("trip", ev)  # a state change: the CLI prints it when it happens
        self._event("risk", ev)

    def manual_override(self, source: str = "operator") -> None:
        """Cancel every open order and halt (SIGUSR1, a flag file, the CLI, the control plane)."""
        self._risk_event(self.risk.manual_override(self.clock(), source))
        self.risk.cancel_all_requested = False
        if self.oms.live:
            self.cancel_all()

    def resume(self, source: str = "operator") -> None:
        """Back to ACTIVE after a halt: an explicit operator decision, never automatic."""
        self._risk_event(self.risk.resume(self.clock()))
        self._event("resume", source)

    def _order_event(self, ev: OrderEvent, recv_ns: int) -> None:
        oms = self.oms
        t = type(ev)
        j = self.journal
        if t is Filled:
            assert isinstance(ev, Filled)
            fill = ev.fill
            known = oms.orders.get(fill.order_id)
            was_live = known is not None and known.live
            if fill.market in self.instruments and oms.on_fill(fill, recv_ns):  # every venue fill counts, late too
                if j is not None:
                    j.record("fill", fill.order_id, recv_ns, fill)
                # venue's fill time -> our receive time (same host: one clock; remote: clock offset too)
                self.telemetry.record("fill_latency", recv_ns - fill.ts_ns)
                o = oms.orders[fill.order_id]
                self._check_pnl(recv_ns)
                if self.started:
                    try:
                        self.strategy.on_fill(self, o, fill)
                    except Exception as e:
                        self.strategy_failed("on_fill", e)
                if was_live and not o.live:
                    self._done(o)
        elif t is Ack:
            assert isinstance(ev, Ack)
            self.risk.on_ack(recv_ns)
            if oms.on_ack(ev.order_id, ev.venue_order_id, recv_ns) and j is not None:
                j.record("ack", ev.order_id, recv_ns, ev.venue_order_id)
            sent = self._sent_ns.get(ev.order_id)
            if sent:
                self.telemetry.record("ack_rtt", recv_ns - sent)
                if self._split_acks and ev.ts_ns:
                    self.telemetry.record("ack_to_venue", ev.ts_ns - sent)
                    self.telemetry.record("ack_from_venue", recv_ns - ev.ts_ns)
        elif t is Done:
            assert isinstance(ev, Done)
            if oms.on_cancel_ack(ev.order_id, recv_ns):
                if j is not None:
                    j.record("cancel_ack", ev.order_id, recv_ns)
                self._done(oms.orders[ev.order_id])
        elif t is Rejected:
            assert isinstance(ev, Rejected)
            self._risk_event(self.risk.on_reject(ev.code, recv_ns))
            if oms.on_reject(ev.order_id, ev.code, recv_ns):
                if j is not None:
                    j.record("reject", ev.order_id, recv_ns, ev.code)
                self._event("reject", ev)
                self._done(oms.orders[ev.order_id])
        elif t is CancelRefused:
            assert isinstance(ev, CancelRefused)
            if oms.on_cancel_reject(ev.order_id, ev.code, recv_ns) and j is not None:
                j.record("cancel_reject", ev.order_id, recv_ns, ev.code)
        elif t is Amended:
            assert isinstance(ev, Amended)
            amended = oms.orders.get(ev.order_id)
            if amended is not None and amended.live:  # changed in place: its ids and fills stay
                amended.qty, amended.price = ev.qty, ev.price
                if j is not None:
                    j.record("amended", ev.order_id, recv_ns, ev)
        elif t is Throttle:
            assert isinstance(ev, Throttle)
            if ev.ban:
                self.manual_override(f"the venue banned this client ({ev.reason}) for {ev.seconds:g} s")
            else:
                self.risk.on_retry_after(ev.seconds, recv_ns)
            self._event("throttle", ev)
        elif t is Funding:
            assert isinstance(ev, Funding)
            if ev.market in self.instruments:
                oms.on_funding(ev.market, ev.amount)
                if j is not None:
                    j.record("funding", "", recv_ns, ev)
                self._event("funding", ev)
                self._check_pnl(recv_ns)

    # --- market data on the grid (PortListener) -------------------------------------------------
    def on_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None:
        """A book snapshot or update in ticks and lots (absolute quantities; 0 removes a level)."""
        self._recv_ns = self.now_ns = recv_ns
        try:
            if market in self.books:
                self._on_levels(market, bids, asks, seq, ts_ns, recv_ns, snapshot)
            self.gc_policy.busy(recv_ns)
            self._enforce(recv_ns)
        finally:
            self._recv_ns = 0

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None:
        """A public trade already in ticks and lots."""
        self._recv_ns = self.now_ns = recv_ns
        try:
            if market in self.instruments:
                self._on_trade(market, price, lots, side, ts_ns)
            self._enforce(recv_ns)
        finally:
            self._recv_ns = 0

    def _on_levels(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None:
        book = self.books[market]
        ev = self.risk.on_market_data(market, ts_ns, recv_ns)
        if ev is not None:
            self._risk_event(ev)
        sig = self.signals.get(market)
        if snapshot:
            book.load_snapshot(bids, asks, seq)
            if sig is not None:
                sig.reset()
                sig = None  # a snapshot is a state, not a change to read patterns from
        else:
            if seq <= book.seq and book.synced:
                return  # already in the snapshot
            try:
                book.apply(bids, asks, seq)
            except SequenceGap:  # ask for a fresh snapshot; updates are refused until it comes
                self.resyncs += 1
                self.port.resubscribe(market)
                return
            except OutOfSync:
                return
        if self._carried and market in self._carried:
            self._first_mark(market)
        if sig is not None:
            for price, qty in bids:
                sig.on_level(Side.BUY, price, qty, ts_ns)
            for price, qty in asks:
                sig.on_level(Side.SELL, price, qty, ts_ns)
        if self.started:
            self.book_views += 1
            try:
                self.strategy.on_book(self, market)
                if sig is not None and sig.events:
                    for event in sig.drain():
                        self.strategy.on_signal(self, event)
                        self._event("signal", event)
            except Exception as e:
                self.strategy_failed("on_book", e)
        pos = self.oms.positions.get(market)
        if pos is not None and pos.size:  # its mark moved: unrealized P&L feeds the loss limits
            self._check_pnl(recv_ns)  # (after the reaction; a flat market's mark moves no P&L)

    def _on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int) -> None:
        self.last_trade[market] = price
        if self._carried and market in self._carried:
            self._first_mark(market)
        tsig = self.signals.get(market)
        if tsig is not None:
            tsig.on_trade(price, lots, side, ts_ns)
        if self.started:
            try:
                self.strategy.on_trade(self, market, price, lots, side)
            except Exception as e:
                self.strategy_failed("on_trade", e)

    def _mark_session_start(self) -> None:
        self._start_fills = set(self.oms.seen_fills)
        self._at_start = {m: (p.realized, p.fees, p.funding, p.size) for m, p in self.oms.positions.items()}
        self._start_unrealized = {}
        self._carried = {m for m, s in self._at_start.items() if s[3]}

    def _first_mark(self, market: str) -> None:
        """A position carried into this session is valued from its first mark on (session P&L)."""
        b = self.books.get(market)
        mark = mark_price(self.last_trade.get(market), *((b.best_bid(), b.best_ask()) if b else (None, None)))
        if mark is not None:
            self._start_unrealized[market] = self.oms.position(market).unrealized(mark)
            self._carried.discard(market)

    def session_pnl(self, marks: dict[str, int] | None = None) -> Pnl:
        """This session's P&L: the account's change since `start` (fills, fees and funding since
        then; a carried position marked from its first mark in this session), in the same currency
        as `oms.pnl` (`total_pnl`)."""
        return combine(self.session_parts(marks), self.quote_currency())

    def session_parts(self, marks: dict[str, int] | None = None) -> list[Part]:
        """Each market's `session_pnl` part (a MultiRunner adds up its legs')."""
        marks = self.marks() if marks is None else marks
        parts: list[Part] = []
        for m, p in self.oms.positions.items():
            r0, f0, fu0, size0 = self._at_start.get(m, (0, 0, 0, 0))
            mark = marks.get(m)
            now = p.unrealized_at(mark)
            base = self._start_unrealized.get(m, now if size0 else 0)
            pnl = Pnl(p.currency, p.realized - r0, now - base, p.fees - f0, p.funding - fu0)
            parts.append((pnl, p.math, p.quote, mark or p.last_price))
        return parts

    def quote_currency(self) -> str:
        """The currency several settlement currencies are added up in: the first market's quote."""
        return next(iter(self.instruments.values())).quote if self.instruments else "USD"

    def session_fills(self) -> int:
        return len(self.oms.seen_fills - self._start_fills)

    def marks(self) -> dict[str, int]:
        """Mark prices in ticks, by the convention the venue uses (`model.mark_price`)."""
        out = {}
        last = self.last_trade
        for m, b in self.books.items():
            mark = last.get(m)  # the last trade when there is one: the book is not read then
            if mark is None:
                mark = mark_price(None, b.best_bid(), b.best_ask())
            if mark is not None:
                out[m] = mark
        return out

    def _check_pnl(self, now_ns: int) -> None:
        if not self.risk.watches_pnl:  # no P&L limit: nothing to check (a backtest: 4 % of its time)
            return
        closed, open_ = self.oms.pnl_quote(self.marks())
        self._risk_event(self.risk.on_pnl(closed, open_, now_ns))

    def _done(self, o: ClientOrder) -> None:
        self._sent_ns.pop(o.order_id, None)
        if self.started:
            try:
                self.strategy.on_order_done(self, o)
            except Exception as e:
                self.strategy_failed("on_order_done", e)

    def strategy_failed(self, hook: str, e: BaseException) -> None:
        """A strategy hook raised. Live, that is the strategy's error, not the venue's: the rest
        of the venue's message is still applied (books, orders, positions stay right), the error
        is counted and logged with its traceback, and the strategy is halted as a risk event
        (cancel everything) until an operator resumes it, since its state is unknown. Before
        this, a connector caught it as a message it did not understand (Hyperliquid: the
        message's other events dropped) or it closed the socket. Counted once per exception
        (a multi-venue strategy's error reaches every leg). A backtest (`raise_strategy_errors`)
        re-raises it instead: called from the hook's `except`, a bare `raise` is that exception."""
        if self.raise_strategy_errors:
            raise
        if e is self._last_strategy_error:
            return
        self._last_strategy_error = e
        self.strategy_errors += 1
        if self.strategy_errors <= 3 or self.strategy_errors % 1000 == 0:  # not a log line per book
            log.error("strategy %s: %s raised (%d so far)", self.strategy.name, hook, self.strategy_errors, exc_info=e)
        self._event("strategy_error", f"{hook}: {e!r}")
        if self.risk.state is not RiskState.HALTED:
            self._risk_event(self.risk.on_strategy_error(self.clock(), f"{hook}: {type(e).__name__}: {e}"))

    def _event(self, kind: str, payload: Any) -> None:
        for obs in self.observers:
            obs.on_event(self, kind, payload)

    # --- Context (for the strategy) -----------------------------------------------------------
    def submit(
        self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT
    ) -> ClientOrder | None:
        """Create, journal and send an order; None if it could not be sent now."""
        oms, port = self.oms, self.port
        if self.halted or not port.connected:
            self.refused += 1
            return None
        now = self.clock()
        price = self._venue_price(market, side, price)
        denied = self.risk.check(market, side, qty, price, now, self.books.get(market), oms)
        if denied is not None:
            self.refused += 1
            self.denied.append(denied)
            self._risk_event(denied)
            return None
        if not self.bucket.take(now):
            self.refused += 1
            self.throttled += 1
            self._event("throttled", market)
            return None
        o = oms.new_order(market, side, qty, price, order_type, now)
        req = OrderRequest(o.order_id, market, side, qty, price, order_type, self.risk.send_reduce_only)
        port.place(req)
        self.sent_orders += 1
        sent = self.clock()
        for obs in self.observers:
            obs.on_sent(self, req, now)
        # journaled after the write: nothing is answered before this returns (one thread), and
        # the queue put is no more durable before the write than after it
        if self.journal is not None:
            self.journal.record("new", o.order_id, now, NewOrderRecord(market, side, qty, price, order_type))
        self._sent_ns[o.order_id] = sent
        if self._recv_ns:
            self.telemetry.record("tick_to_trade", sent - self._recv_ns)
        return o

    def _venue_price(self, market: str, side: Side, price: int | None) -> int | None:
        """`price`, or where the venue takes only prices of so many significant figures
        (Hyperliquid) and this one has more, the nearest it takes on the passive side: never
        more aggressive than asked (counted in `prices_rounded`)."""
        if price is None or price <= 0:
            return price
        inst = self.instruments.get(market)
        if inst is None or not inst.price_sig_figs or inst.price_ok(price):
            return price
        self.prices_rounded += 1
        return inst.round_price(price, "down" if side is Side.BUY else "up")

    def cancel(self, order_id: str) -> bool:
        """Send a cancel unless one is already in flight for this order (retried only after
        `cancel_retry_ms` unanswered) or the client's cancel budget is spent; True if sent."""
        oms, port = self.oms, self.port
        o = oms.orders.get(order_id)
        if o is None or not o.live or not port.connected:
            self.refused += 1
            return False
        now = self.clock()
        if oms.cancel_in_flight(o, now, self.cancel_retry_ns):
            self.refused += 1
            return False  # nothing to send, nothing to spend
        if not self.cancel_bucket.take(now):
            self.refused += 1
            self.throttled += 1
            return False
        if not oms.request_cancel(order_id, now, self.cancel_retry_ns):
            self.refused += 1
            return False
        if self.journal is not None:
            self.journal.record("cancel_request", order_id, now)
        self.sent_cancels += 1
        sent = port.cancel(order_id, o.market)
        for obs in self.observers:
            obs.on_sent(self, CancelRequest(order_id, o.market), now)
        return sent

    def cancel_all(self, market: str | None = None) -> None:
        """One cancel-all request (never rate limited by us: it is the safety valve)."""
        now = self.clock()
        for o in self.oms.open_orders(market):
            if self.oms.request_cancel(o.order_id, now, 0) and self.journal is not None:
                self.journal.record("cancel_request", o.order_id, now)
        self.port.cancel_all(market)
        for obs in self.observers:
            obs.on_sent(self, CancelAllRequest(market), now)

    def amend(self, order_id: str, qty: int | None = None, price: int | None = None) -> bool:
        """Change a live order's price and/or quantity where the venue can (`port.caps.amend`);
        False when it cannot (cancel and place again) or the order is not live."""
        o = self.oms.orders.get(order_id)
        if o is None or not o.live or not self.port.caps.amend or not self.port.connected:
            self.refused += 1
            return False
        price = self._venue_price(o.market, o.side, price)
        req = AmendRequest(order_id, o.market, qty, price)
        sent = self.port.amend(req)
        for obs in self.observers:
            obs.on_sent(self, req, self.clock())
        return sent

    # --- reports ---------------------------------------------------------------------------
    def snapshot(self, marks: dict[str, int] | None = None) -> RunnerSnapshot:
        """The agent's state at this instant, typed (runtime/snapshot.py): what the summary, the
        control plane and the results recorder report."""
        marks = self.marks() if marks is None else marks
        markets = {}
        for m in self.books:
            inst = self.instruments[m]
            p = self.oms.positions.get(m)
            lots = p.size if p is not None else 0
            mark = marks.get(m)
            markets[m] = MarketState(
                inst.lots_to_qty(lots),
                lots,
                None if mark is None else inst.ticks_to_price(mark),
                None if mark is None else inst.ticks_to_float(mark),
            )
        positions = {
            m: self.instruments[m].lots_to_qty(p.size)
            for m, p in self.oms.positions.items()
            if p.size and m in self.instruments
        }
        risk = self.risk
        return RunnerSnapshot(
            self.strategy.name,
            self.port.name,
            self.port.url,
            self.port.connected,
            self.port.reconnects,
            self.started,
            markets,
            positions,
            self.session_pnl(marks),
            self.oms.pnl(marks),
            self.session_fills(),
            len(self.oms.seen_fills),
            tuple(sorted(o.order_id for o in self.oms.live.values())),
            Rates(
                self.sent_orders,
                self.sent_cancels,
                self.venue_limits.orders_per_s or None,
                self.venue_limits.cancels_per_s or None,
                self.bucket.per_second,
                risk.max_orders_per_s,
            ),
            risk.state.value,
            None if risk.first_trip is None else str(risk.first_trip),
            dict(sorted(risk.counts.items())),
            risk.faults,
            risk.benign,
            risk.config,
            self.venue_limits,
        )

    def summary(self) -> dict[str, Any]:
        """The run in numbers: the snapshot, with the details a post-mortem wants (fill ids,
        anomalies, reconciliations, risk history, telemetry). Quantities are decimals on the
        market's grid (lots beside them); money in the settlement currency; unrealized P&L at
        the venue's mark convention (last trade, else mid)."""
        marks = self.marks()
        s = self.snapshot(marks)
        risk = self.risk
        anomalies: dict[str, int] = {}
        for a in self.oms.anomalies:
            anomalies[a.kind] = anomalies.get(a.kind, 0) + 1
        return {
            "strategy": s.strategy,
            "open_orders": list(s.open_orders),
            "fill_ids": sorted(self.oms.seen_fills),
            "positions": {m: self.instruments[m].lots_to_qty(p.size) if m in self.instruments else str(p.size)
                          for m, p in self.oms.positions.items()},
            "positions_lots": {m: p.size for m, p in self.oms.positions.items()},
            "marks": {m: self.instruments[m].ticks_to_price(t) for m, t in marks.items() if m in self.instruments},
            # this session's P&L (fills, fees and funding since it started; a carried position
            # from its first mark); the account's totals, earlier sessions included, beside it
            **{k: v for k, v in s.session.as_dict().items() if k not in ("net", "note")},
            "pnl_after_fees": cash_float(s.session.net),
            "pnl_note": s.session.note,
            "fills": s.fills,
            "prices_rounded": self.prices_rounded,
            "account": {
                **s.account.as_dict(),
                "fills": s.fills_total,
                "by_currency": {c: p.as_dict() for c, p in self.oms.pnl_by_currency(marks).items()},
                "what": "the account's totals, earlier sessions included",
            },
            "anomaly_counts": anomalies,
            "anomalies": [msgspec.to_builtins(a) for a in self.oms.anomalies[-20:]],
            "reconciles": [msgspec.to_builtins(r) for r in self.reconciles],
            "reconcile_count": self.reconcile_count,
            "resyncs": self.resyncs,
            "strategy_errors": self.strategy_errors,
            # fees the venue charged in a coin the P&L cannot value (BNB): by currency, not in the P&L
            "fees_not_in_pnl": _fees_elsewhere(self.port),
            "risk_state": s.risk_state,
            "risk_limits": money_limits(risk.config),
            "first_trip": s.first_trip,
            "risk_trips": [str(e) for e in list(risk.trips)[-20:]],
            "risk_counts": s.risk_counts,
            "rejects": risk.reject_summary(),
            "risk_events": [str(e) for e in list(risk.events)[-20:]],
            "throttled": self.throttled,
            "limits": {
                "venue_orders_per_s": s.rates.venue_orders_per_s,
                "client_orders_per_s": s.rates.client_orders_per_s,
                "circuit_breaker_per_s": s.rates.circuit_breaker_per_s,
                "venue_cancels_per_s": s.rates.venue_cancels_per_s,
            },
            "reconnects": s.reconnects,
            "venue": {"name": s.venue, "url": s.url},
            "telemetry": self.telemetry.snapshot(),
        }  # fmt: skip
