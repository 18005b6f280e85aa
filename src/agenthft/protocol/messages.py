"""The trading protocol's WebSocket messages as msgspec Structs (docs/protocol.md).

Decoding validates: a wrong type, a missing or unknown field, an order id outside
`[A-Za-z0-9_-]{1,64}` all fail with msgspec's specific message. Prices and quantities arrive
as JSON numbers or decimal strings and are converted to ticks and lots at the edge by the
market's grid; the venue answers with numbers.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from agenthft.model import Liquidity, OrderType, Side

Num = int | float | str
# \Z, not $: "$" also matches before a trailing newline ("p4\n" would pass)
OrderId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+\Z")]
Levels = list[tuple[float, float]]

CHANNELS = ("orderbook", "ticker", "trades", "orders")


class _In(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, frozen=True):
    pass


class Auth(_In, tag="auth", frozen=True):
    api_key: str
    timestamp_ns: int = 0


class Subscribe(_In, tag="subscribe", frozen=True):
    channel: str | None = None
    market: str | None = None
    channels: list[str] | None = None
    markets: list[str] | None = None
    depth: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 20


class Unsubscribe(_In, tag="unsubscribe", frozen=True):
    channel: str | None = None
    market: str | None = None
    channels: list[str] | None = None
    markets: list[str] | None = None


class NewOrder(_In, tag="order", frozen=True):
    order_id: OrderId
    market: str
    side: Side
    qty: Num
    price: Num | None = None
    order_type: OrderType = OrderType.LIMIT
    display_qty: Num | None = None
    submit_ns: int | None = None


class Cancel(_In, tag="cancel", frozen=True):
    order_id: OrderId


class CancelAll(_In, tag="cancel_all", frozen=True):
    market: str | None = None


class Ping(_In, tag="ping", frozen=True):
    id: int | str = 0


ClientMessage = Auth | Subscribe | Unsubscribe | NewOrder | Cancel | CancelAll | Ping


class _Out(msgspec.Struct, tag_field="type", gc=False):
    pass


class AuthOk(_Out, tag="auth_ok", gc=False):
    account_id: str
    key_id: str


class Subscribed(_Out, tag="subscribed", gc=False):
    channel: str
    market: str


class Unsubscribed(_Out, tag="unsubscribed", gc=False):
    channel: str
    market: str


class BookSnapshot(_Out, tag="book_snapshot", gc=False):
    market: str
    seq: int
    bids: Levels
    asks: Levels
    ts_ns: int


class BookUpdate(_Out, tag="book_update", gc=False):
    market: str
    seq: int
    bids: Levels
    asks: Levels
    ts_ns: int


class Ticker(_Out, tag="ticker", gc=False):
    """The top of the book; sent only while both sides have a price."""

    market: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    ts_ns: int


class TradeMsg(_Out, tag="trade", gc=False):
    market: str
    price: float
    qty: float
    side: Side
    trade_id: int
    ts_ns: int


class OrderAck(_Out, tag="order_ack", gc=False):
    order_id: str
    venue_order_id: int
    ts_ns: int


class OrderReject(_Out, tag="order_reject", gc=False):
    order_id: str
    code: str
    reason: str
    ts_ns: int


class FillMsg(_Out, tag="fill", gc=False):
    order_id: str
    fill_id: int
    fill_qty: float
    fill_price: float
    fee: float
    liquidity: Liquidity
    remaining_qty: float
    market: str
    side: Side
    ts_ns: int


class FundingMsg(_Out, tag="funding", gc=False):
    """A funding payment on a perp position: `amount` paid in `currency` (negative: received),
    `position_qty` signed, `rate` the fraction of the notional at `mark_price`."""

    market: str
    rate: float
    mark_price: float
    position_qty: float
    amount: float
    currency: str
    ts_ns: int


class CancelAck(_Out, tag="cancel_ack", gc=False):
    order_id: str
    remaining_qty: float
    reason: str
    ts_ns: int


class CancelReject(_Out, tag="cancel_reject", gc=False):
    order_id: str
    code: str
    reason: str


class CancelAllAck(_Out, tag="cancel_all_ack", gc=False):
    """After the cancel_acks of a `cancel_all`: how many orders it cancelled (0 is an answer too)."""

    market: str | None
    cancelled: int
    ts_ns: int


class Error(_Out, tag="error", gc=False):
    code: str
    message: str
    ref: str | None = None


class Pong(_Out, tag="pong", gc=False):
    id: int | str
    ts_ns: int


ServerMessage = (
    AuthOk
    | Subscribed
    | Unsubscribed
    | BookSnapshot
    | BookUpdate
    | Ticker
    | TradeMsg
    | OrderAck
    | OrderReject
    | FillMsg
    | FundingMsg
    | CancelAck
    | CancelReject
    | CancelAllAck
    | Error
    | Pong
)

client_decoder = msgspec.json.Decoder(ClientMessage)
server_decoder = msgspec.json.Decoder(ServerMessage)
encoder = msgspec.json.Encoder()


def peek(raw: bytes) -> tuple[str | None, str | None]:
    """(type, order_id) of a message that failed validation, if it is a JSON object with
    those fields, so the reject can name the order the client sent."""
    try:
        obj = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return None, None
    if not isinstance(obj, dict):
        return None, None
    t, oid = obj.get("type"), obj.get("order_id")
    return (t if isinstance(t, str) else None), (oid if isinstance(oid, str) else None)
