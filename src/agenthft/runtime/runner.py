"""The agent's event loop: venue messages in, strategy decisions out, everything journaled.

Data flow (DESIGN.md): socket -> decode (msgspec) -> book replica / OMS -> strategy -> (risk)
-> encode -> socket. `recv_ns` is stamped on arrival; tick-to-trade is the time from it to the
order written on the socket, recorded per order in an HdrHistogram.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from agenthft.book import L2Book, Level, OutOfSync, SequenceGap
from agenthft.client import RestClient, SessionConfig, WsSession
from agenthft.model import Instrument, InstrumentKind, OrderStatus, OrderType, Side, mark_price
from agenthft.model.money import cash, cash_float
from agenthft.oms import ClientOrder, OrderManager, ReconcileReport, VenueFill, VenueOrder
from agenthft.oms.manager import CANCEL_RETRY_NS
from agenthft.protocol import messages as pm
from agenthft.ratelimit import TokenBucket
from agenthft.risk import RiskConfig, RiskEngine, RiskEvent, RiskState
from agenthft.runtime.denials import DenialAggregator
from agenthft.runtime.gcpolicy import GcPolicy
from agenthft.runtime.journal import Journal, NewOrderRecord
from agenthft.runtime.telemetry import Telemetry
from agenthft.signals import MarketSignals, SignalConfig
from agenthft.strategies.base import Strategy


def instrument_from_rest(m: dict[str, Any]) -> Instrument:
    """REST /markets numbers -> an Instrument (repr of a float is its shortest exact text)."""
    return Instrument(
        m["market"],
        m["base"],
        m["quote"],
        InstrumentKind(m["kind"]),
        tick_size=repr(m["tick_size"]),
        lot_size=repr(m["lot_size"]),
        maker_fee=repr(m["maker_fee"]),
        taker_fee=repr(m["taker_fee"]),
        aliases=tuple(m.get("aliases", ())),
    )


class Runner:
    """Runs one strategy against one venue. Also the strategy's `Context`."""

    def __init__(
        self,
        strategy: Strategy,
        ws_url: str,
        rest_url: str,
        api_key: str,
        journal_path: str | Path | None = None,
        gc_policy: GcPolicy | None = None,
        cpu: int | None = None,
        orders_per_s: float | None = None,
        session: dict[str, Any] | None = None,
        risk: RiskConfig | None = None,
        cancel_retry_ms: float = CANCEL_RETRY_NS / 1e6,
        halt_file: str | Path | None = None,
        cancels_per_s: float | None = None,
        signal_config: SignalConfig | None = None,
        clock: Callable[[], int] | None = None,
        order_prefix: str = "g",
    ) -> None:
        """`orders_per_s` / `cancels_per_s`: the client's throttles; None takes the key's limits
        from the venue (`GET /api/v1/limits`), and the circuit breaker is kept under them.
        `order_prefix`: client order ids start with it (one per venue when several share a strategy)."""
        self.strategy = strategy
        self.ws_url, self.rest_url, self.api_key = ws_url, rest_url, api_key
        self.journal_path = journal_path
        self.gc_policy = gc_policy or GcPolicy()
        self.cpu = cpu
        self.orders_per_s = orders_per_s
        self.clock: Callable[[], int] = clock or time.time_ns  # a backtest passes its simulated clock
        now = self.clock()
        self.bucket = TokenBucket(orders_per_s or 100.0, orders_per_s or 100.0, now)
        self.cancels_per_s = cancels_per_s
        self.cancel_bucket = TokenBucket(cancels_per_s or 200.0, cancels_per_s or 200.0, now)
        self.venue_limits: dict[str, Any] = {}
        self.cancel_retry_ns = int(cancel_retry_ms * 1e6)
        self.halt_file = Path(halt_file) if halt_file else None
        self.session_opts = session or {}
        self.telemetry = Telemetry()
        self.risk = RiskEngine(risk or RiskConfig())
        self.denied: deque[RiskEvent] = deque(maxlen=256)  # the latest denials (all are counted in risk)
        self.denials = DenialAggregator()
        self.throttled = 0  # orders and cancels held back by the client's own rate limits
        self.sent_orders = self.sent_cancels = 0  # sent to the venue (rates for the dashboard)
        self.started = False  # strategy hooks run only after on_start
        self.books: dict[str, L2Book] = {}
        self.instruments: dict[str, Instrument] = {}
        self.last_trade: dict[str, int] = {}  # ticks, per market (the mark, as the venue's)
        self.signals: dict[str, MarketSignals] = {}  # fed only for strategies that use them
        self.signal_config = signal_config or SignalConfig()
        self.oms = OrderManager([], prefix=order_prefix, now_ns=now)  # markets added in start()
        self.journal: Journal | None = None
        self.session: WsSession | None = None
        self.rest: RestClient | None = None
        self.now_ns = now
        self.connected_ns = 0  # when the current connection came up
        self._recv_ns = 0
        self._sent_ns: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._reconciling: asyncio.Task[ReconcileReport] | None = None
        self.reconciles: deque[ReconcileReport] = deque(maxlen=100)
        self.reconcile_count = 0
        self.resyncs = 0
        self.halted = ""
        self._last_trip: RiskEvent | None = None
        self.on_event: Callable[[str, Any], None] | None = None

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect (REST, then the WebSocket), reconcile, then start the strategy. On any failure
        everything opened so far is closed before the exception propagates."""
        try:
            await self._start(timeout_s)
        except BaseException:
            if self.session is not None:
                self.session.stop()
            if self.rest is not None:
                await self.rest.close()
            if self.journal is not None:
                self.journal.close()
                self.journal = None
            raise

    async def _start(self, timeout_s: float) -> None:
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})
        self.rest = RestClient(self.rest_url, self.api_key)
        markets, limits = await asyncio.wait_for(asyncio.gather(self.rest.markets(), self.rest.limits()), timeout_s)
        self._apply_limits(limits)
        wanted = self._add_markets([instrument_from_rest(m) for m in markets])
        if self.journal_path is not None:
            Journal.replay(self.journal_path, self.oms)
            self.journal = Journal(self.journal_path)
            # what the journal's ticks and lots mean (the report rebuilt from it reads this)
            self.journal.record("instruments", "", self.clock(), list(self.instruments.values()))
        self._check_halt_file()  # a halt file present at start: not one order leaves
        cfg = SessionConfig(self.ws_url, self.api_key, markets=tuple(wanted), **self.session_opts)
        self.session = WsSession(cfg, self)
        await asyncio.wait_for(self.session.connect_once(), timeout_s)  # a wrong URL or key fails here
        self._task = asyncio.create_task(self.session.run(connected=True))
        await self.reconcile()
        self.gc_policy.after_warmup(time.time_ns())  # (wall clock: GC is about real time) not a pause
        self.telemetry.watch_gc()
        self.now_ns = self.clock()
        self.started = True
        if self.halt_file is not None:
            self._watcher = asyncio.create_task(self._watch_halt_file())
        self.strategy.on_start(self)

    def attach(self, instruments: list[Instrument], session: Any, limits: dict[str, Any] | None = None) -> None:
        """Start without a network: the shell (a backtest) provides the instruments, a session
        with `send_msg` and `connected`, and the key's limits; then the strategy starts."""
        self._apply_limits(limits or {})
        self._add_markets(instruments)
        self.session = session
        self.connected_ns = self.now_ns = self.clock()
        self.started = True
        self.strategy.on_start(self)

    def _add_markets(self, instruments: list[Instrument]) -> tuple[str, ...]:
        """The venue's instruments into the OMS and risk; a book (and signals, if the strategy
        uses them) per market the strategy trades. Returns those markets."""
        self.instruments = {i.market: i for i in instruments}
        for inst in instruments:
            self.oms.add_instrument(inst)
            self.risk.add_instrument(inst)
        wanted = self.strategy.markets or tuple(self.instruments)
        unknown = [m for m in wanted if m not in self.instruments]
        if unknown:
            raise ValueError(f"unknown market(s) {unknown}; this venue lists {sorted(self.instruments)}")
        for m in wanted:
            self.books[m] = L2Book(m)
            if self.strategy.uses_signals:
                self.signals[m] = MarketSignals(m, self.books[m], self.signal_config)
        return wanted

    def _apply_limits(self, limits: dict[str, Any]) -> None:
        """Size the client's throttles from the key's venue limits: circuit breaker (80 %) <
        client order bucket <= venue limit, and the same venue limit for cancels."""
        self.venue_limits = limits
        now = self.clock()
        venue_orders = float(limits.get("orders_per_s") or 0)
        if venue_orders:
            rate = min(self.orders_per_s or venue_orders, venue_orders)
            self.bucket = TokenBucket(rate, rate, now)
            self.risk.cap_order_rate(rate)
        venue_cancels = float(limits.get("cancels_per_s") or 0)
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
        if cancel_orders and self.session is not None and self.session.connected.is_set() and self.oms.live:
            self.cancel_all()
            deadline = time.monotonic() + timeout_s
            while self.oms.live and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return not self.oms.live

    async def stop(self, cancel_orders: bool = False) -> None:
        self.started = False
        if self._watcher is not None:
            self._watcher.cancel()
        if cancel_orders and self.session is not None:
            self.cancel_all()
            await asyncio.sleep(0.05)
        if self.session is not None:
            self.session.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)
        self._flush_denials(self.clock(), force=True)
        if self.journal is not None:
            self.journal.flush()
            self.journal.close()
        if self.rest is not None:
            await self.rest.close()
        self.telemetry.unwatch_gc()
        self.gc_policy.restore()

    # --- reconciliation -----------------------------------------------------------------------
    async def reconcile(self) -> ReconcileReport:
        """Make the OMS agree with one venue snapshot (open orders and fills read at the same
        instant, `GET /api/v1/state`); orphans are cancelled. Orders sent on the current
        connection and not yet acknowledged are left to their ack: the snapshot may predate them."""
        assert self.rest is not None
        since = self.connected_ns
        state = await self.rest.state()
        now = self.clock()
        vo = []
        for r in state["open_orders"]:
            inst = self.instruments[r["market"]]
            vo.append(
                VenueOrder(
                    r["order_id"],
                    r["venue_order_id"],
                    r["market"],
                    Side(r["side"]),
                    inst.price_to_ticks(r["price"]),
                    inst.qty_to_lots(r["qty"]),
                    inst.qty_to_lots(r["filled_qty"]),
                )
            )
        vf = [self._venue_fill(f) for f in state["fills"]]
        before = {oid: o.status for oid, o in self.oms.live.items()}
        known_orders = set(self.oms.orders)
        known_fills = set(self.oms.seen_fills)
        rep = self.oms.reconcile(vo, vf, now, in_flight_since_ns=since or None)
        j = self.journal
        if j is not None:
            for f in vf:
                if f.fill_id not in known_fills and f.fill_id in self.oms.seen_fills:
                    j.record("fill", f.order_id, now, f)
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

    def _venue_fill(self, f: dict[str, Any] | pm.FillMsg) -> VenueFill:
        """A venue fill (WebSocket message, or the same fields from REST /fills) on the grid."""
        msg = f if isinstance(f, pm.FillMsg) else msgspec.convert(f, pm.FillMsg)
        inst = self.instruments[msg.market]
        return VenueFill(
            msg.order_id,
            msg.fill_id,
            msg.market,
            msg.side,
            inst.qty_to_lots(msg.fill_qty),
            inst.price_to_ticks(msg.fill_price),
            cash(msg.fee),
            msg.ts_ns,
        )

    # --- Handler (from the session) -----------------------------------------------------------
    def on_connected(self, session: WsSession) -> None:
        now = self.clock()
        self.connected_ns = now
        self.risk.on_connection(True, now)
        if self.rest is not None and session.reconnects:
            self._reconciling = asyncio.create_task(self.reconcile())
            self._reconciling.add_done_callback(self._reconcile_done)
        self._event("connected", session.reconnects)

    def _reconcile_done(self, task: asyncio.Task[ReconcileReport]) -> None:
        if not task.cancelled() and task.exception() is not None:  # retried on the next reconnect
            self._event("reconcile_failed", repr(task.exception()))

    def on_disconnected(self, session: WsSession, reason: str) -> None:
        self._risk_event(self.risk.on_connection(False, self.clock()))
        self.risk.cancel_all_requested = False  # nothing can be sent now; the venue's cancel-on-disconnect acts
        for book in self.books.values():
            book.synced = False
        self._event("disconnected", reason)

    def on_message(self, msg: pm.ServerMessage, recv_ns: int) -> None:
        self._recv_ns = recv_ns  # tick-to-trade counts orders sent while handling this message
        self.now_ns = recv_ns
        try:
            self._handle(msg, recv_ns)
            self._enforce(recv_ns)
        finally:
            self._recv_ns = 0

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
        if self.session is not None and self.oms.live:
            self.cancel_all()

    def resume(self, source: str = "operator") -> None:
        """Back to ACTIVE after a halt: an explicit operator decision, never automatic."""
        self._risk_event(self.risk.resume(self.clock()))
        self._event("resume", source)

    def _handle(self, msg: pm.ServerMessage, recv_ns: int) -> None:
        oms = self.oms
        t = type(msg)
        j = self.journal
        if t is pm.BookUpdate or t is pm.BookSnapshot:
            assert isinstance(msg, (pm.BookUpdate, pm.BookSnapshot))
            inst = self.instruments.get(msg.market)
            if inst is None or msg.market not in self.books:
                return
            pt, ql = inst.grid.price_to_ticks, inst.grid.qty_to_lots
            bids = [(pt(p), ql(q)) for p, q in msg.bids]
            asks = [(pt(p), ql(q)) for p, q in msg.asks]
            self._on_levels(msg.market, bids, asks, msg.seq, msg.ts_ns, recv_ns, t is pm.BookSnapshot)
        elif t is pm.FillMsg:
            assert isinstance(msg, pm.FillMsg)
            fill = self._venue_fill(msg)
            known = oms.orders.get(msg.order_id)
            was_live = known is not None and known.live
            if oms.on_fill(fill, recv_ns):  # every venue fill counts, late ones included
                if j is not None:
                    j.record("fill", msg.order_id, recv_ns, fill)
                # venue's fill time -> our receive time (same host: one clock; remote: clock offset too)
                self.telemetry.record("fill_latency", recv_ns - msg.ts_ns)
                o = oms.orders[msg.order_id]
                self._check_pnl(recv_ns)
                if self.started:
                    self.strategy.on_fill(self, o, fill)
                if was_live and not o.live:
                    self._done(o)
        elif t is pm.OrderAck:
            assert isinstance(msg, pm.OrderAck)
            self.risk.on_ack(recv_ns)
            if oms.on_ack(msg.order_id, msg.venue_order_id, recv_ns) and j is not None:
                j.record("ack", msg.order_id, recv_ns, msg.venue_order_id)
            sent = self._sent_ns.get(msg.order_id)
            if sent:
                self.telemetry.record("ack_rtt", recv_ns - sent)
        elif t is pm.CancelAck:
            assert isinstance(msg, pm.CancelAck)
            if oms.on_cancel_ack(msg.order_id, recv_ns):
                if j is not None:
                    j.record("cancel_ack", msg.order_id, recv_ns)
                self._done(oms.orders[msg.order_id])
        elif t is pm.OrderReject:
            assert isinstance(msg, pm.OrderReject)
            self._risk_event(self.risk.on_reject(msg.code, recv_ns))
            if oms.on_reject(msg.order_id, msg.code, recv_ns):
                if j is not None:
                    j.record("reject", msg.order_id, recv_ns, msg.code)
                self._event("reject", msg)
                self._done(oms.orders[msg.order_id])
        elif t is pm.CancelReject:
            assert isinstance(msg, pm.CancelReject)
            if oms.on_cancel_reject(msg.order_id, msg.code, recv_ns) and j is not None:
                j.record("cancel_reject", msg.order_id, recv_ns, msg.code)
        elif t is pm.FundingMsg:
            assert isinstance(msg, pm.FundingMsg)
            if msg.market in self.instruments:
                amount = cash(msg.amount)
                oms.on_funding(msg.market, amount)
                if j is not None:
                    j.record("funding", "", recv_ns, msg)
                self._event("funding", msg)
                self._check_pnl(recv_ns)
        elif t is pm.TradeMsg:
            assert isinstance(msg, pm.TradeMsg)
            tinst = self.instruments.get(msg.market)
            if tinst is not None:
                self._on_trade(
                    msg.market, tinst.price_to_ticks(msg.price), tinst.qty_to_lots(msg.qty), msg.side, msg.ts_ns
                )
        elif t is pm.Pong and self.session is not None:
            self.telemetry.record("ping_rtt", self.session.rtt_ns)
            self._risk_event(self.risk.on_rtt(self.session.rtt_ns, recv_ns))
        self.gc_policy.busy(recv_ns)

    # --- market data on the grid (the wire path above, and shells that hold ints already) ---------
    def on_levels(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None:
        """A book snapshot or update already in ticks and lots (a data backtest feeds these)."""
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
                if self.session is not None:
                    self.session.resubscribe(market)
                return
            except OutOfSync:
                return
        if sig is not None:
            for price, qty in bids:
                sig.on_level(Side.BUY, price, qty, ts_ns)
            for price, qty in asks:
                sig.on_level(Side.SELL, price, qty, ts_ns)
        if self.started:
            self.strategy.on_book(self, market)
            if sig is not None and sig.events:
                for event in sig.drain():
                    self.strategy.on_signal(self, event)
                    self._event("signal", event)
        pos = self.oms.positions.get(market)
        if pos is not None and pos.size:  # its mark moved: unrealized P&L feeds the loss limits
            self._check_pnl(recv_ns)  # (after the reaction; a flat market's mark moves no P&L)

    def _on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int) -> None:
        self.last_trade[market] = price
        tsig = self.signals.get(market)
        if tsig is not None:
            tsig.on_trade(price, lots, side, ts_ns)
        if self.started:
            self.strategy.on_trade(self, market, price, lots, side)

    def marks(self) -> dict[str, int]:
        """Mark prices in ticks, by the convention the venue uses (`model.mark_price`)."""
        out = {}
        for m, b in self.books.items():
            mark = mark_price(self.last_trade.get(m), b.best_bid(), b.best_ask())
            if mark is not None:
                out[m] = mark
        return out

    def _check_pnl(self, now_ns: int) -> None:
        closed, open_ = self.oms.pnl_quote(self.marks())
        self._risk_event(self.risk.on_pnl(closed, open_, now_ns))

    def _done(self, o: ClientOrder) -> None:
        self._sent_ns.pop(o.order_id, None)
        if self.started:
            self.strategy.on_order_done(self, o)

    def _event(self, kind: str, payload: Any) -> None:
        if self.on_event is not None:
            self.on_event(kind, payload)

    # --- Context (for the strategy) -----------------------------------------------------------
    def submit(
        self, market: str, side: Side, qty: int, price: int | None, order_type: OrderType = OrderType.LIMIT
    ) -> ClientOrder | None:
        """Create, journal and send an order; None if it could not be sent now."""
        oms, session = self.oms, self.session
        assert session is not None
        if self.halted or not session.connected.is_set():
            return None
        now = self.clock()
        denied = self.risk.check(market, side, qty, price, now, self.books.get(market), oms)
        if denied is not None:
            self.denied.append(denied)
            self._risk_event(denied)
            return None
        if not self.bucket.take(now):
            self.throttled += 1
            self._event("throttled", market)
            return None
        o = oms.new_order(market, side, qty, price, order_type, now)
        g = self.instruments[market].grid
        msg: dict[str, object] = {
            "type": "order",
            "order_id": o.order_id,
            "market": market,
            "side": side.value,
            "qty": g.lots_to_qty(qty),
            "order_type": order_type.value,
        }
        if price is not None:
            msg["price"] = g.ticks_to_price(price)
        session.send_msg(msg)
        self.sent_orders += 1
        sent = self.clock()
        # journaled after the write: nothing is answered before this returns (one thread), and
        # the queue put is no more durable before the write than after it
        if self.journal is not None:
            self.journal.record("new", o.order_id, now, NewOrderRecord(market, side, qty, price, order_type))
        self._sent_ns[o.order_id] = sent
        if self._recv_ns:
            self.telemetry.record("tick_to_trade", sent - self._recv_ns)
        return o

    def cancel(self, order_id: str) -> bool:
        """Send a cancel unless one is already in flight for this order (retried only after
        `cancel_retry_ms` unanswered) or the client's cancel budget is spent; True if sent."""
        oms, session = self.oms, self.session
        assert session is not None
        o = oms.orders.get(order_id)
        if o is None or not o.live or not session.connected.is_set():
            return False
        now = self.clock()
        if oms.cancel_in_flight(o, now, self.cancel_retry_ns):
            return False  # nothing to send, nothing to spend
        if not self.cancel_bucket.take(now):
            self.throttled += 1
            return False
        if not oms.request_cancel(order_id, now, self.cancel_retry_ns):
            return False
        if self.journal is not None:
            self.journal.record("cancel_request", order_id, now)
        self.sent_cancels += 1
        return session.send_msg({"type": "cancel", "order_id": order_id})

    def cancel_all(self, market: str | None = None) -> None:
        """One `cancel_all` message (never rate limited at the venue: it is the safety valve)."""
        assert self.session is not None
        now = self.clock()
        for o in self.oms.open_orders(market):
            if self.oms.request_cancel(o.order_id, now, 0) and self.journal is not None:
                self.journal.record("cancel_request", o.order_id, now)
        msg: dict[str, object] = {"type": "cancel_all"}
        if market:
            msg["market"] = market
        self.session.send_msg(msg)

    # --- reports ---------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run in numbers. Quantities are decimals on the market's grid (lots beside them);
        money in quote units; unrealized P&L at the venue's mark convention (last trade, else mid)."""
        marks = self.marks()
        pnl = self.oms.pnl(marks)
        risk = self.risk
        positions, lots = {}, {}
        for m, p in self.oms.positions.items():
            positions[m] = self.instruments[m].lots_to_qty(p.size) if m in self.instruments else str(p.size)
            lots[m] = p.size
        anomalies: dict[str, int] = {}
        for a in self.oms.anomalies:
            anomalies[a.kind] = anomalies.get(a.kind, 0) + 1
        return {
            "strategy": self.strategy.name,
            "open_orders": sorted(o.order_id for o in self.oms.live.values()),
            "fill_ids": sorted(self.oms.seen_fills),
            "positions": positions,
            "positions_lots": lots,
            "marks": {m: self.instruments[m].ticks_to_price(t) for m, t in marks.items() if m in self.instruments},
            "currency": pnl.currency,
            "realized": cash_float(pnl.realized),
            "unrealized": cash_float(pnl.unrealized),
            "fees": cash_float(pnl.fees),
            "funding": cash_float(pnl.funding),
            "pnl_by_currency": {c: p.as_dict() for c, p in self.oms.pnl_by_currency(marks).items()},
            "anomaly_counts": anomalies,
            "anomalies": [msgspec.to_builtins(a) for a in self.oms.anomalies[-20:]],
            "reconciles": [msgspec.to_builtins(r) for r in self.reconciles],
            "reconcile_count": self.reconcile_count,
            "resyncs": self.resyncs,
            "risk_state": risk.state.value,
            "first_trip": None if risk.first_trip is None else str(risk.first_trip),
            "risk_trips": [str(e) for e in list(risk.trips)[-20:]],
            "risk_counts": dict(sorted(risk.counts.items())),
            "rejects": risk.reject_summary(),
            "risk_events": [str(e) for e in list(risk.events)[-20:]],
            "throttled": self.throttled,
            "limits": {
                "venue_orders_per_s": self.venue_limits.get("orders_per_s"),
                "client_orders_per_s": self.bucket.per_second,
                "circuit_breaker_per_s": risk.max_orders_per_s,
                "venue_cancels_per_s": self.venue_limits.get("cancels_per_s"),
            },
            "reconnects": self.session.reconnects if self.session else 0,
            "telemetry": self.telemetry.snapshot(),
        }
