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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from agenthft.book import L2Book, OutOfSync, SequenceGap
from agenthft.client import RestClient, SessionConfig, WsSession
from agenthft.matching.accounts import CASH_DECIMALS
from agenthft.model import Instrument, InstrumentKind, OrderStatus, OrderType, Side, to_scaled
from agenthft.oms import ClientOrder, OrderManager, ReconcileReport, VenueFill, VenueOrder
from agenthft.protocol import messages as pm
from agenthft.ratelimit import TokenBucket
from agenthft.risk import RiskConfig, RiskEngine, RiskEvent
from agenthft.runtime.gcpolicy import GcPolicy
from agenthft.runtime.journal import Journal, NewOrderRecord
from agenthft.runtime.telemetry import Telemetry
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
        orders_per_s: float = 100.0,
        session: dict[str, Any] | None = None,
        risk: RiskConfig | None = None,
    ) -> None:
        self.strategy = strategy
        self.ws_url, self.rest_url, self.api_key = ws_url, rest_url, api_key
        self.journal_path = journal_path
        self.gc_policy = gc_policy or GcPolicy()
        self.cpu = cpu
        self.bucket = TokenBucket(orders_per_s, orders_per_s, time.time_ns())
        self.session_opts = session or {}
        self.telemetry = Telemetry()
        self.risk = RiskEngine(risk or RiskConfig())
        self.denied: list[RiskEvent] = []
        self.started = False  # strategy hooks run only after on_start
        self.books: dict[str, L2Book] = {}
        self.instruments: dict[str, Instrument] = {}
        self.oms = OrderManager([], prefix="g", now_ns=time.time_ns())  # markets added in start()
        self.journal: Journal | None = None
        self.session: WsSession | None = None
        self.rest: RestClient | None = None
        self.now_ns = time.time_ns()
        self._recv_ns = 0
        self._sent_ns: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._reconciling: asyncio.Task[ReconcileReport] | None = None
        self.reconciles: list[ReconcileReport] = []
        self.resyncs = 0
        self.halted = ""
        self.on_event: Callable[[str, Any], None] | None = None

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})
        self.rest = RestClient(self.rest_url, self.api_key)
        markets = await asyncio.wait_for(self.rest.markets(), timeout_s)
        self.instruments = {m["market"]: instrument_from_rest(m) for m in markets}
        for inst in self.instruments.values():
            self.oms.add_instrument(inst)
            self.risk.add_instrument(inst)
        if self.journal_path is not None:
            Journal.replay(self.journal_path, self.oms)
            self.journal = Journal(self.journal_path)
        wanted = self.strategy.markets or tuple(self.instruments)
        for m in wanted:
            self.books[m] = L2Book(m)
        cfg = SessionConfig(self.ws_url, self.api_key, markets=tuple(wanted), **self.session_opts)
        self.session = WsSession(cfg, self)
        self._task = asyncio.create_task(self.session.run())
        await asyncio.wait_for(self.session.connected.wait(), timeout_s)
        await self.reconcile()
        self.gc_policy.after_warmup(time.time_ns())  # its deliberate full collection is not a pause
        self.telemetry.watch_gc()
        self.now_ns = time.time_ns()
        self.started = True
        self.strategy.on_start(self)

    async def stop(self, cancel_orders: bool = False) -> None:
        if cancel_orders and self.session is not None:
            self.cancel_all()
            await asyncio.sleep(0.05)
        if self.session is not None:
            self.session.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)
        if self.journal is not None:
            self.journal.flush()
            self.journal.close()
        if self.rest is not None:
            await self.rest.close()
        self.telemetry.unwatch_gc()
        self.gc_policy.restore()

    # --- reconciliation -----------------------------------------------------------------------
    async def reconcile(self) -> ReconcileReport:
        """Fetch open orders and fills from REST and make the OMS agree; orphans are cancelled."""
        assert self.rest is not None
        open_orders, fills = await asyncio.gather(self.rest.open_orders(), self.rest.fills())
        now = time.time_ns()
        vo = []
        for r in open_orders:
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
        vf = [self._venue_fill(f) for f in fills]
        before = {oid: o.status for oid, o in self.oms.orders.items()}
        known_fills = set(self.oms.seen_fills)
        rep = self.oms.reconcile(vo, vf, now)
        j = self.journal
        if j is not None:
            for f in vf:
                if f.fill_id not in known_fills and f.fill_id in self.oms.seen_fills:
                    j.record("fill", f.order_id, now, f)
            for oid, o in self.oms.orders.items():
                if oid not in before:
                    j.record("new", oid, now, NewOrderRecord(o.market, o.side, o.qty, o.price, o.order_type))
                    j.record("ack", oid, now, o.venue_order_id or 0)
                elif before[oid] != o.status and o.status is OrderStatus.CANCELLED:
                    j.record("cancel_ack", oid, now)
        for oid in rep.orphans_adopted:  # an open order nobody here decided on: take it off the book
            self.cancel(oid)
        self.reconciles.append(rep)
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
            to_scaled(msg.fee, CASH_DECIMALS),
            msg.ts_ns,
        )

    # --- Handler (from the session) -----------------------------------------------------------
    def on_connected(self, session: WsSession) -> None:
        self.risk.on_connection(True, time.time_ns())
        if self.rest is not None and session.reconnects:
            self._reconciling = asyncio.create_task(self.reconcile())

    def on_disconnected(self, session: WsSession, reason: str) -> None:
        self._risk_event(self.risk.on_connection(False, time.time_ns()))
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
        """Act on what risk asked for: cancel everything, or pull quotes on stale markets."""
        risk = self.risk
        if risk.cancel_all_requested:
            risk.cancel_all_requested = False
            if self.oms.live:
                self.cancel_all()
        stale = set(risk.stale_markets(now_ns)) | risk.pull
        risk.pull.clear()
        for market in stale:
            for o in self.oms.open_orders(market):
                self.cancel(o.order_id)

    def _risk_event(self, ev: RiskEvent | None) -> None:
        if ev is None:
            return
        if self.journal is not None:
            self.journal.record("risk", "", ev.ts_ns, ev)
        self._event("risk", ev)

    def manual_override(self, source: str = "operator") -> None:
        """Cancel every open order and halt (SIGUSR1, a flag file, the CLI, the control plane)."""
        self._risk_event(self.risk.manual_override(time.time_ns(), source))
        self.risk.cancel_all_requested = False
        self.cancel_all()

    def _handle(self, msg: pm.ServerMessage, recv_ns: int) -> None:
        oms = self.oms
        t = type(msg)
        j = self.journal
        if t is pm.BookUpdate or t is pm.BookSnapshot:
            assert isinstance(msg, (pm.BookUpdate, pm.BookSnapshot))
            book = self.books.get(msg.market)
            if book is None:
                return
            inst = self.instruments[msg.market]
            pt, ql = inst.grid.price_to_ticks, inst.grid.qty_to_lots
            bids = [(pt(p), ql(q)) for p, q in msg.bids]
            asks = [(pt(p), ql(q)) for p, q in msg.asks]
            self.risk.on_market_data(msg.market, msg.ts_ns, recv_ns)
            if t is pm.BookSnapshot:
                book.load_snapshot(bids, asks, msg.seq)
            else:
                if msg.seq <= book.seq and book.synced:
                    return  # already in the snapshot
                try:
                    book.apply(bids, asks, msg.seq)
                except SequenceGap:  # ask for a fresh snapshot; updates are refused until it comes
                    self.resyncs += 1
                    if self.session is not None:
                        self.session.resubscribe(msg.market)
                    return
                except OutOfSync:
                    return
            if self.started:
                self.strategy.on_book(self, msg.market)
            if self.oms.positions:  # marks moved: unrealized P&L feeds the loss limits (after the reaction)
                self._check_pnl(recv_ns)
        elif t is pm.FillMsg:
            assert isinstance(msg, pm.FillMsg)
            fill = self._venue_fill(msg)
            if oms.on_fill(fill, recv_ns):
                if j is not None:
                    j.record("fill", msg.order_id, recv_ns, fill)
                # venue's fill time -> our receive time (same host: one clock; remote: clock offset too)
                self.telemetry.record("fill_latency", recv_ns - msg.ts_ns)
                o = oms.orders[msg.order_id]
                self._check_pnl(recv_ns)
                if self.started:
                    self.strategy.on_fill(self, o, fill)
                if not o.live:
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
        elif t is pm.TradeMsg:
            assert isinstance(msg, pm.TradeMsg)
            inst = self.instruments[msg.market]
            self.strategy.on_trade(
                self, msg.market, inst.price_to_ticks(msg.price), inst.qty_to_lots(msg.qty), msg.side
            )
        elif t is pm.Pong and self.session is not None:
            self.telemetry.record("ping_rtt", self.session.rtt_ns)
            self._risk_event(self.risk.on_rtt(self.session.rtt_ns, recv_ns))
        self.gc_policy.busy(recv_ns)

    def _check_pnl(self, now_ns: int) -> None:
        marks = {}
        for m, b in self.books.items():
            mid = b.mid()
            if mid is not None:
                marks[m] = round(mid)
        realized, unrealized, fees = self.oms.pnl(marks)
        self._risk_event(self.risk.on_pnl(realized - fees, unrealized, now_ns))

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
        now = time.time_ns()
        denied = self.risk.check(market, side, qty, price, now, self.books.get(market), oms)
        if denied is not None:
            self.denied.append(denied)
            self._risk_event(denied)
            return None
        if not self.bucket.take(now):
            self._event("throttled", market)
            return None
        inst = self.instruments[market]
        o = oms.new_order(market, side, qty, price, order_type, now)
        if self.journal is not None:
            self.journal.record("new", o.order_id, now, NewOrderRecord(market, side, qty, price, order_type))
        g = inst.grid
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
        sent = time.time_ns()
        self._sent_ns[o.order_id] = sent
        if self._recv_ns:
            self.telemetry.record("tick_to_trade", sent - self._recv_ns)
        return o

    def cancel(self, order_id: str) -> bool:
        oms, session = self.oms, self.session
        assert session is not None
        if not oms.request_cancel(order_id, time.time_ns()):
            return False
        if self.journal is not None:
            self.journal.record("cancel_request", order_id, time.time_ns())
        return session.send_msg({"type": "cancel", "order_id": order_id})

    def cancel_all(self, market: str | None = None) -> None:
        assert self.session is not None
        for o in self.oms.open_orders(market):
            self.oms.request_cancel(o.order_id, time.time_ns())
        msg: dict[str, object] = {"type": "cancel_all"}
        if market:
            msg["market"] = market
        self.session.send_msg(msg)

    # --- reports ---------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        marks = {m: b.best_bid() for m, b in self.books.items() if b.best_bid() is not None}
        realized, unrealized, fees = self.oms.pnl({m: p for m, p in marks.items() if p is not None})
        return {
            "strategy": self.strategy.name,
            "open_orders": sorted(o.order_id for o in self.oms.live.values()),
            "fill_ids": sorted(self.oms.seen_fills),
            "positions": {m: p.size for m, p in self.oms.positions.items()},
            "realized": realized / 10**CASH_DECIMALS,
            "unrealized": unrealized / 10**CASH_DECIMALS,
            "fees": fees / 10**CASH_DECIMALS,
            "anomalies": [msgspec.to_builtins(a) for a in self.oms.anomalies[-20:]],
            "reconciles": [msgspec.to_builtins(r) for r in self.reconciles],
            "resyncs": self.resyncs,
            "risk_state": self.risk.state.value,
            "risk_events": [str(e) for e in self.risk.events[-20:]],
            "reconnects": self.session.reconnects if self.session else 0,
            "telemetry": self.telemetry.snapshot(),
        }
