"""What the venue's one order-entry path answers, and what it tells its observers.

`Venue.place / cancel / cancel_all / amend` (venue/core.py) each return a typed outcome: the
request was accepted, or refused with a code of `RejectCode` and a reason, plus the order's
state right after (status, filled and remaining lots, average price, its fills). Every front
(our WebSocket and REST, Binance USD-M's REST and WebSocket API) calls these and only
translates. Observers (`VenueObserver`) get the venue's own events as they happen, with ints
on the instrument's grid: account events (the engine's `Accepted`, `Fill`, `Cancelled`,
`Rejected`, `Amended` with the order's `OrderInfo`) and market events (`BookDelta` with the
book sequence, `Trade`, `TopOfBook`), so a front that speaks another protocol never parses
ours.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from agenthft.matching import Accepted, Amended, BookDelta, Cancelled, Fill, Rejected, Trade
from agenthft.model import OrderStatus, OrderType, Side
from agenthft.model.rejects import REJECT_DOCS, RejectCode

__all__ = [
    "REJECT_DOCS",
    "AccountEvent",
    "CancelAllOutcome",
    "MarketEvent",
    "OrderInfo",
    "Outcome",
    "RejectCode",
    "TopOfBook",
    "VenueObserver",
]


class OrderInfo:
    """One order as the venue knows it, kept after it completes (`orders_kept` per account):
    what fronts answer queries from. Prices are ticks, quantities lots, `filled_value` the sum
    of price x qty over its fills (ticks x lots: the average price is filled_value / filled),
    `fees` cash units (negative: a rebate). `reason` is why it ended: "filled", or the cancel
    reason (`cancelled`, `cancel_all`, `ioc`, `market`, `self_trade`, `fok`, ...)."""

    __slots__ = (
        "account",
        "cancelled",
        "fees",
        "filled",
        "filled_value",
        "fills",
        "fok",
        "market",
        "oid",
        "order_id",
        "order_type",
        "price",
        "qty",
        "reason",
        "reduce_only",
        "remaining",
        "side",
        "status",
        "ts_ns",
        "updated_ns",
    )

    def __init__(self, ev: Accepted, fok: bool = False, reduce_only: bool = False) -> None:
        self.account = ev.account
        self.order_id = ev.order_id
        self.oid = ev.venue_order_id
        self.market = ev.market
        self.side: Side = ev.side
        self.order_type: OrderType = ev.order_type
        self.price = ev.price
        self.qty = ev.qty
        self.remaining = ev.qty
        self.filled = 0
        self.cancelled = 0
        self.filled_value = 0
        self.fees = 0
        self.fills: list[Fill] = []
        self.fok = fok
        self.reduce_only = reduce_only
        self.status = OrderStatus.OPEN
        self.reason = ""
        self.ts_ns = ev.ts_ns
        self.updated_ns = ev.ts_ns

    @property
    def done(self) -> bool:
        return self.status.is_terminal

    @property
    def expired(self) -> bool:
        """Ended by the venue's rules rather than a cancel request (the rest of an IOC, FOK or
        market order, a self-trade): Binance's EXPIRED."""
        return self.status is OrderStatus.CANCELLED and self.reason in ("ioc", "market", "self_trade", "fok")

    def avg_ticks(self) -> float | None:
        """Average fill price in ticks (display only; exact: filled_value / filled)."""
        return self.filled_value / self.filled if self.filled else None

    def __repr__(self) -> str:
        return f"OrderInfo({self.order_id} #{self.oid} {self.market} {self.status} {self.filled}/{self.qty})"


class Outcome(msgspec.Struct, frozen=True):
    """What `place`, `cancel` or `amend` did. `ok` False: refused with `code` (a `RejectCode`
    value) and `reason`, nothing changed. `published`: the request reached the engine and its
    events went out to the account's sessions and the observers (a front that speaks our
    protocol answers a refusal that did not itself). `order` is the order right after (None
    when it never existed); its counters keep changing after, the fields here do not. Prices
    are ticks, quantities lots, `filled_value` ticks x lots, `fees` cash units."""

    ok: bool
    order_id: str
    code: str = ""
    reason: str = ""
    published: bool = False
    venue_order_id: int = 0
    market: str = ""
    status: OrderStatus = OrderStatus.REJECTED
    filled: int = 0
    remaining: int = 0
    filled_value: int = 0
    fees: int = 0
    fills: tuple[Fill, ...] = ()
    order: OrderInfo | None = None
    cancelled: int = 0  # lots this request took off the book (a cancel)

    def avg_ticks(self) -> float | None:
        return self.filled_value / self.filled if self.filled else None


class CancelAllOutcome(msgspec.Struct, frozen=True):
    """What `cancel_all` did: `cancelled` lists the orders it cancelled (oldest first)."""

    ok: bool
    market: str | None
    cancelled: tuple[OrderInfo, ...] = ()
    code: str = ""
    reason: str = ""


class TopOfBook(msgspec.Struct, frozen=True, gc=False):
    """The best bid and ask of a market when they changed (price ticks, visible lots; None: an
    empty side), with the book sequence of the delta that changed them."""

    ts_ns: int
    market: str
    book_seq: int
    bid: int | None
    bid_qty: int
    ask: int | None
    ask_qty: int


AccountEvent = Accepted | Fill | Cancelled | Rejected | Amended
MarketEvent = BookDelta | Trade | TopOfBook


class VenueObserver(Protocol):
    """A front that is told everything the venue does, in order, as ints. Both calls run
    inside the command that caused them: no awaits, no exceptions (the venue logs and drops
    an observer's exception)."""

    def on_account(self, ev: AccountEvent, order: OrderInfo | None) -> None:
        """An event of one account's order. `order` is the venue's live record of it, as it
        is right after this event (read it now: it keeps changing); None for a `Rejected`
        order, which never existed."""

    def on_market(self, ev: MarketEvent) -> None:
        """A book delta, a trade, or a change of the top of book."""
