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

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import msgspec

from agenthft.matching import Accepted, Amended, BookDelta, Cancelled, Fill, Rejected, Trade
from agenthft.model import OrderStatus, OrderType, Side


class RejectCode(StrEnum):
    """Why the venue refused a request. The value is the wire code; the docstring of each
    member (in `REJECT_DOCS`) is what the docs table says."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    UNKNOWN_MARKET = "unknown_market"
    MARKET_HALTED = "market_halted"
    BAD_PRICE = "bad_price"
    BAD_QTY = "bad_qty"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    UNKNOWN_ORDER = "unknown_order"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_UNFILLABLE = "fok_unfillable"
    REDUCE_ONLY = "reduce_only"
    MIN_NOTIONAL = "min_notional"
    PRICE_BAND = "price_band"
    NO_LIQUIDITY = "no_liquidity"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    POSITION_LIMIT = "position_limit"
    NO_CHANGE = "no_change"


REJECT_DOCS: dict[RejectCode, str] = {
    RejectCode.UNAUTHORIZED: "no valid key (or signature) on the request",
    RejectCode.FORBIDDEN: "the key lacks the scope (read / trade)",
    RejectCode.BAD_REQUEST: "malformed or missing field",
    RejectCode.RATE_LIMITED: "over the key's order or cancel rate (its tier)",
    RejectCode.UNKNOWN_MARKET: "no such market (or alias)",
    RejectCode.MARKET_HALTED: "the market is halted",
    RejectCode.BAD_PRICE: "price off the tick grid, not a number, or not positive",
    RejectCode.BAD_QTY: "quantity off the lot grid, not a number, not positive, or not above what has filled",
    RejectCode.DUPLICATE_ORDER_ID: "the account has a live order with this client order id (the original is untouched)",
    RejectCode.UNKNOWN_ORDER: "no open order with this id on this account",
    RejectCode.POST_ONLY_WOULD_CROSS: "a post-only order (or amend) would take liquidity",
    RejectCode.FOK_UNFILLABLE: "a fill-or-kill order cannot fill whole on arrival",
    RejectCode.REDUCE_ONLY: "a reduce-only order would not reduce the position (or exceeds it)",
    RejectCode.MIN_NOTIONAL: "price x quantity under the market's minimum notional (rules.min_notional)",
    RejectCode.PRICE_BAND: "a limit price beyond the band around the mark (rules.price_band_bps)",
    RejectCode.NO_LIQUIDITY: "a market order with nothing on the other side",
    RejectCode.INSUFFICIENT_BALANCE: "not enough available balance for the hold (margin, or the spot amount)",
    RejectCode.POSITION_LIMIT: "the position could exceed the account's limit (open orders count)",
    RejectCode.NO_CHANGE: "an amend to the price and quantity the order already has",
}


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


@dataclass(frozen=True, slots=True)
class Outcome:
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
    order: OrderInfo | None = field(default=None, compare=False)
    cancelled: int = 0  # lots this request took off the book (a cancel)

    def avg_ticks(self) -> float | None:
        return self.filled_value / self.filled if self.filled else None


@dataclass(frozen=True, slots=True)
class CancelAllOutcome:
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
