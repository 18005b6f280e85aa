"""What the matching engine says: one tagged msgspec Struct per event kind.

Every event carries the engine's sequence number `seq` (+1 per event, across markets) and
the `ts_ns` of the input that caused it, so the same inputs give the same bytes. Prices are
ticks, quantities lots, cash amounts (fees) integer units of 10**-CASH_DECIMALS quote.
Events hold no reference cycles, so the garbage collector does not track them (`gc=False`):
scanning millions of them cost the engine a third of its time.
"""

from __future__ import annotations

import msgspec

from agenthft.model import Liquidity, OrderType, Side


class Event(msgspec.Struct, tag_field="event", frozen=True, gc=False):
    seq: int
    ts_ns: int


class Accepted(Event, tag="accepted", frozen=True, gc=False):
    account: str
    order_id: str
    venue_order_id: int
    market: str
    side: Side
    price: int
    qty: int
    order_type: OrderType
    display_qty: int = 0


class Rejected(Event, tag="rejected", frozen=True, gc=False):
    account: str
    order_id: str
    market: str
    code: str
    reason: str


class Fill(Event, tag="fill", frozen=True, gc=False):
    """One side of a trade. `fee` is negative for a rebate."""

    account: str
    order_id: str
    venue_order_id: int
    market: str
    side: Side
    price: int
    qty: int
    fee: int
    liquidity: Liquidity
    remaining: int
    trade_id: int


class Cancelled(Event, tag="cancelled", frozen=True, gc=False):
    """`qty` is what was cancelled (the order's remaining quantity, reserve included)."""

    account: str
    order_id: str
    venue_order_id: int
    market: str
    qty: int
    reason: str


class CancelRejected(Event, tag="cancel_rejected", frozen=True, gc=False):
    account: str
    order_id: str
    code: str
    reason: str


class Amended(Event, tag="amended", frozen=True, gc=False):
    """An open order changed, keeping its ids. `qty` is the lots taken off its remaining
    quantity (negative when the amend added lots), `remaining` what is left open. `price` and
    `order_qty` are its price and total quantity after the change (0: unchanged, from
    `reduce`); `kept_priority` is False when it went to the back of the queue (any change but a
    smaller quantity at the same price)."""

    account: str
    order_id: str
    venue_order_id: int
    market: str
    qty: int
    remaining: int
    price: int = 0
    order_qty: int = 0
    kept_priority: bool = True


class AmendRejected(Event, tag="amend_rejected", frozen=True, gc=False):
    """An amend that changed nothing (unknown order, bad price or quantity, would cross as
    post-only, no margin for the larger order, no change)."""

    account: str
    order_id: str
    code: str
    reason: str


class Trade(Event, tag="trade", frozen=True, gc=False):
    market: str
    price: int
    qty: int
    side: Side  # the aggressor's side
    trade_id: int
    maker_order: int
    taker_order: int


class BookDelta(Event, tag="book", frozen=True, gc=False):
    """Changed L2 levels of one market with their new *visible* total (0 removes).
    `book_seq` is +1 per delta per market: the server's `book_update.seq`."""

    market: str
    book_seq: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


AnyEvent = Accepted | Rejected | Fill | Cancelled | CancelRejected | Amended | AmendRejected | Trade | BookDelta
