"""The order manager: client order ids, the lifecycle table, fills, positions, reconciliation.

Pure: every method takes the time as `now_ns`; nothing here does I/O. The runtime feeds it the
venue's messages (already on the tick/lot grid) and the journal replays them into it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

import msgspec

from agenthft.model import ContractMath, Instrument, OrderStatus, OrderType, Side
from agenthft.model.enums import TERMINAL
from agenthft.oms.orders import ClientOrder
from agenthft.oms.positions import Pnl, PositionBook, in_quote, position_pnl, total_pnl
from agenthft.oms.transitions import PC, OmsEvent, next_status

#: How long a cancel may go unanswered before `request_cancel` allows a retry.
CANCEL_RETRY_NS = 500_000_000


class Anomaly(msgspec.Struct, frozen=True):
    """Something the OMS refused or had to repair, for the journal and the supervisor."""

    kind: str  # illegal_transition | duplicate_fill | unknown_order | overfill | late_fill | reconcile
    order_id: str
    detail: str
    ts_ns: int


class VenueOrder(msgspec.Struct, frozen=True):
    """An open order as the venue reports it (REST /orders), on the grid."""

    order_id: str
    venue_order_id: int
    market: str
    side: Side
    price: int
    qty: int
    filled: int


class VenueFill(msgspec.Struct, frozen=True):
    """A fill as the venue reports it (WebSocket `fill` or REST /fills), on the grid."""

    order_id: str
    fill_id: int
    market: str
    side: Side
    qty: int
    price: int
    fee: int  # cash units, negative = rebate
    ts_ns: int


class ReconcileReport(msgspec.Struct):
    fills_synthesized: int = 0
    orders_closed: int = 0  # open locally, not open at the venue
    orders_opened: int = 0  # acknowledged by reconciliation
    orders_in_flight: int = 0  # unacknowledged, sent on the current connection: left to their ack
    orphans_adopted: list[str] = msgspec.field(default_factory=list)


class OrderManager:
    """All orders of one agent, by client order id."""

    def __init__(self, instruments: Iterable[Instrument], prefix: str = "a", now_ns: int = 0) -> None:
        self.instruments = {i.market: i for i in instruments}
        self._math = {m: ContractMath(i) for m, i in self.instruments.items()}
        self.orders: dict[str, ClientOrder] = {}
        self.live: dict[str, ClientOrder] = {}
        self.positions: dict[str, PositionBook] = {}
        self.anomalies: list[Anomaly] = []
        self._prefix = f"{prefix}{now_ns % 10**12:x}"
        self._ids = itertools.count(1)
        self.seen_fills: set[int] = set()
        self.keep_done = 100_000  # finished orders kept (a late fill for an older one is adopted)
        self._done: deque[str] = deque()

    def add_instrument(self, inst: Instrument) -> None:
        self.instruments[inst.market] = inst
        self._math[inst.market] = ContractMath(inst)

    # --- orders ----------------------------------------------------------------------------
    def next_order_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    def new_order(
        self,
        market: str,
        side: Side,
        qty: int,
        price: int | None,
        order_type: OrderType = OrderType.LIMIT,
        now_ns: int = 0,
        order_id: str | None = None,
    ) -> ClientOrder:
        """Create an order in PENDING_NEW (the caller sends it)."""
        if market not in self.instruments:
            raise KeyError(f"unknown market {market!r}")
        oid = order_id or self.next_order_id()
        if oid in self.orders:
            raise ValueError(f"order id {oid!r} already used")
        o = ClientOrder(oid, market, side, qty, price, order_type, now_ns)
        self.orders[oid] = o
        self.live[oid] = o
        return o

    def in_flight(self) -> int:
        """Orders sent and not yet acknowledged, plus cancels not yet answered."""
        return sum(1 for o in self.live.values() if o.status in (OrderStatus.PENDING_NEW, PC))

    def open_orders(self, market: str | None = None) -> list[ClientOrder]:
        return [o for o in self.live.values() if market is None or o.market == market]

    def position(self, market: str) -> PositionBook:
        p = self.positions.get(market)
        if p is None:
            p = self.positions[market] = PositionBook(self._math[market], self.instruments[market].quote)
        return p

    # --- venue events --------------------------------------------------------------------
    def _move(self, o: ClientOrder, event: OmsEvent, now_ns: int) -> bool:
        new = next_status(o.status, event)
        if new is None:
            self.anomalies.append(Anomaly("illegal_transition", o.order_id, f"{o.status} + {event}", now_ns))
            return False
        if o.status is PC and event is OmsEvent.CANCEL_REJECT:
            new = OrderStatus.PARTIALLY_FILLED if o.filled else OrderStatus.OPEN
        o.status = new
        if new in TERMINAL:
            if not o.done_ns:
                o.done_ns = now_ns
            if self.live.pop(o.order_id, None) is not None:
                self._done.append(o.order_id)
                if len(self._done) > self.keep_done:  # bounded memory over a long run
                    self.orders.pop(self._done.popleft(), None)
        return True

    def _order(self, order_id: str, now_ns: int) -> ClientOrder | None:
        o = self.orders.get(order_id)
        if o is None:
            self.anomalies.append(Anomaly("unknown_order", order_id, "event for an order this OMS never sent", now_ns))
        return o

    def on_ack(self, order_id: str, venue_order_id: int, now_ns: int) -> bool:
        o = self._order(order_id, now_ns)
        if o is None:
            return False
        o.venue_order_id = venue_order_id
        if not o.acked_ns:
            o.acked_ns = now_ns
        return self._move(o, OmsEvent.ACK, now_ns)

    def on_reject(self, order_id: str, code: str, now_ns: int) -> bool:
        o = self._order(order_id, now_ns)
        if o is None:
            return False
        o.reject_code = code
        if not self._move(o, OmsEvent.REJECT, now_ns):
            return False
        o.closed_by = o.closed_by or "reject"
        return True

    def on_fill(self, fill: VenueFill, now_ns: int, synthetic: bool = False) -> bool:
        """Apply a venue fill once (by fill_id). A fill is a fact: it always moves the position
        and P&L, even for an order this OMS had closed (reported as `late_fill` with the cause)
        or beyond the order's size (reported as `overfill`). Only a duplicate is refused."""
        if fill.fill_id in self.seen_fills:
            self.anomalies.append(Anomaly("duplicate_fill", fill.order_id, f"fill_id {fill.fill_id}", now_ns))
            return False
        o = self.orders.get(fill.order_id)
        if o is None:  # the venue knows an order we do not (e.g. lost before it was journaled)
            o = self.new_order(fill.market, fill.side, fill.qty, fill.price, OrderType.LIMIT, now_ns, fill.order_id)
            o.external = True
            self.anomalies.append(Anomaly("unknown_order", fill.order_id, "adopted from a fill", now_ns))
        after = o.filled + fill.qty
        grown = False
        if after > o.qty:
            if o.external:  # an adopted order learns its size from its fills
                o.qty, grown = after, True
            else:
                self.anomalies.append(
                    Anomaly("overfill", o.order_id, f"{o.filled}+{fill.qty} > {o.qty}: applied", now_ns)
                )
        if o.status in TERMINAL and o.status is not OrderStatus.FILLED:
            cause = o.closed_by or o.status.value
            self.anomalies.append(Anomaly("late_fill", o.order_id, f"fill {fill.fill_id} after {cause}", now_ns))
        event = OmsEvent.FILL if after >= o.qty else OmsEvent.PARTIAL_FILL
        if not (grown and o.status is OrderStatus.FILLED):
            self._move(o, event, now_ns)  # an illegal move is reported; the fill still counts
        if o.status is OrderStatus.FILLED and not o.closed_by:
            o.closed_by = "fill"
        self.seen_fills.add(fill.fill_id)
        o.fill_ids.add(fill.fill_id)
        o.filled += fill.qty
        o.cost += self._math[o.market].notional(fill.price, fill.qty)
        o.fees += fill.fee
        if synthetic:
            o.synthetic_fills += 1
        self.position(o.market).fill(fill.qty if o.side is Side.BUY else -fill.qty, fill.price, fill.fee)
        return True

    @staticmethod
    def cancel_in_flight(o: ClientOrder, now_ns: int, retry_ns: int = CANCEL_RETRY_NS) -> bool:
        """A cancel for `o` was sent less than `retry_ns` ago and is still unanswered."""
        return o.status is PC and now_ns - o.cancel_sent_ns < retry_ns

    def request_cancel(self, order_id: str, now_ns: int, retry_ns: int = CANCEL_RETRY_NS) -> bool:
        """True if a cancel should be sent now. One cancel in flight per order: a second request
        sends nothing until `retry_ns` has passed with no answer (then it is a retry)."""
        o = self.orders.get(order_id)
        if o is None or not o.live or self.cancel_in_flight(o, now_ns, retry_ns):
            return False
        if o.status is PC:
            o.cancel_retries += 1
        elif not self._move(o, OmsEvent.CANCEL_REQUEST, now_ns):
            return False
        o.cancel_sent_ns = now_ns
        return True

    def on_cancel_ack(self, order_id: str, now_ns: int) -> bool:
        o = self._order(order_id, now_ns)
        if o is None or not self._move(o, OmsEvent.CANCEL_ACK, now_ns):
            return False
        if not o.closed_by:
            o.closed_by = "cancel_ack"
        return True

    def on_cancel_reject(self, order_id: str, code: str, now_ns: int) -> bool:
        o = self._order(order_id, now_ns)
        return o is not None and self._move(o, OmsEvent.CANCEL_REJECT, now_ns)

    # --- P&L -------------------------------------------------------------------------------
    def pnl(self, marks: dict[str, int]) -> Pnl:
        """The P&L over all markets in cash units, unrealized at `marks`: in the markets' common
        settlement asset, or converted to the first market's quote (`oms.positions.total_pnl`)."""
        quote = next(iter(self.instruments.values())).quote if self.instruments else "USD"
        return total_pnl(self.positions, marks, quote)

    def pnl_by_currency(self, marks: dict[str, int]) -> dict[str, Pnl]:
        """P&L per settlement currency, each in its own units (nothing converted)."""
        out: dict[str, Pnl] = {}
        for m, p in self.positions.items():
            part = position_pnl(p, marks.get(m))
            out[part.currency] = out[part.currency].add(part) if part.currency in out else part
        return dict(sorted(out.items()))

    def pnl_quote(self, marks: dict[str, int]) -> tuple[int, int]:
        """(realized - fees - funding, unrealized) summed in the markets' quote currencies, for
        the loss limits (whose thresholds are quote amounts): inverse P&L at the mark."""
        closed = open_ = 0
        for m, p in self.positions.items():
            if not p.math.inverse:  # already in the quote (checked after every fill: no Pnl objects)
                closed += p.realized - p.fees - p.funding
                open_ += p.unrealized_at(marks.get(m))
                continue
            q = in_quote(p, marks.get(m))
            closed += q.realized - q.fees - q.funding
            open_ += q.unrealized
        return closed, open_

    def on_funding(self, market: str, amount: int) -> None:
        """A funding payment booked by the venue on `market` (cash units; negative: received)."""
        self.position(market).pay_funding(amount)

    # --- reconciliation --------------------------------------------------------------------
    def reconcile(
        self,
        venue_open: Iterable[VenueOrder],
        venue_fills: Iterable[VenueFill],
        now_ns: int,
        in_flight_since_ns: int | None = None,
    ) -> ReconcileReport:
        """Make local state agree with one consistent venue snapshot (open orders and fills read
        at the same instant) after a reconnect or restart.

        Fills the venue has and we lack are applied (flagged synthetic). A live local order the
        snapshot does not list as open is closed, except an order still unacknowledged that was
        sent at or after `in_flight_since_ns` (on the current connection), a cancel asked for it
        or not: the snapshot may predate its arrival, and its ack or reject is still to come.
        Open venue orders we never knew are adopted (and reported, so the caller can cancel them).
        """
        rep = ReconcileReport()
        for f in sorted(venue_fills, key=lambda f: f.fill_id):
            if f.fill_id not in self.seen_fills and self.on_fill(f, now_ns, synthetic=True):
                rep.fills_synthesized += 1
                self.anomalies.append(Anomaly("reconcile", f.order_id, f"synthesized fill {f.fill_id}", now_ns))
        open_at_venue = {v.order_id: v for v in venue_open}
        for o in list(self.live.values()):
            v = open_at_venue.get(o.order_id)
            if v is not None:
                if o.status is OrderStatus.PENDING_NEW:
                    self.on_ack(o.order_id, v.venue_order_id, now_ns)
                    rep.orders_opened += 1
                continue
            if (
                not o.acked_ns  # a cancel asked before its ack (PENDING_CANCEL) does not mean it arrived
                and o.status in (OrderStatus.PENDING_NEW, PC)
                and in_flight_since_ns is not None
                and o.created_ns >= in_flight_since_ns
            ):
                rep.orders_in_flight += 1
                continue
            self._move(o, OmsEvent.CANCEL_ACK, now_ns)  # gone from the venue: cancelled or never arrived
            o.closed_by = "reconcile"
            rep.orders_closed += 1
            self.anomalies.append(Anomaly("reconcile", o.order_id, "not open at the venue: closed", now_ns))
        for oid, v in open_at_venue.items():
            if oid not in self.orders:
                o = self.new_order(v.market, v.side, v.qty, v.price, OrderType.LIMIT, now_ns, oid)
                o.external = True
                o.filled = v.filled
                self.on_ack(oid, v.venue_order_id, now_ns)
                rep.orphans_adopted.append(oid)
        return rep
