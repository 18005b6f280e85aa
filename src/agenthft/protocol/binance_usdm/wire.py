"""Binance USDⓈ-M wire shapes as msgspec Structs, shared by the venue's Binance front (which
parses requests with them and encodes its answers and events with them) and the Binance
connector (which decodes the same shapes). Field names are the wire's; prices and quantities
are decimal strings, ids and times integers, flags booleans, as Binance sends them.

Request params arrive as strings (query or form) or JSON values (the WebSocket API): decode
them with `params(...)`, which converts "123" to 123 and "true" to True where a field wants it.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

Dec = str | int | float  # a decimal as the clients send it (the SDK: str(float); JSON: a number)
ClientOrderId = Annotated[str, msgspec.Meta(pattern=r"^[.A-Z:/a-z0-9_-]{1,36}\Z")]
Levels = list[tuple[str, str]]

T = TypeVar("T")


def params(raw: dict[str, Any], typ: type[T]) -> T:
    """Request params (strings or JSON values) as `typ`; msgspec.ValidationError names the field."""
    return msgspec.convert(raw, typ, strict=False)


# --- requests ----------------------------------------------------------------------------------
class _Params(msgspec.Struct, frozen=True):
    """Unknown params are accepted (Binance ignores some, clients send extras: ccxt's postOnly)."""


class NewOrder(_Params, frozen=True):
    symbol: str
    side: str
    type: str
    quantity: Dec | None = None
    price: Dec | None = None
    timeInForce: str | None = None
    newClientOrderId: str | None = None
    reduceOnly: bool = False
    newOrderRespType: str = "ACK"
    positionSide: str = "BOTH"
    closePosition: bool = False
    stopPrice: Dec | None = None
    priceMatch: str = "NONE"
    selfTradePreventionMode: str = "NONE"


class OrderRef(_Params, frozen=True):
    symbol: str
    orderId: int | None = None
    origClientOrderId: str | None = None


class ModifyOrder(_Params, frozen=True):
    symbol: str
    side: str
    quantity: Dec
    price: Dec
    orderId: int | None = None
    origClientOrderId: str | None = None


class SymbolParam(_Params, frozen=True):
    symbol: str


class OptionalSymbol(_Params, frozen=True):
    symbol: str | None = None


class Depth(_Params, frozen=True):
    symbol: str
    limit: int = 500


class UserTrades(_Params, frozen=True):
    symbol: str
    orderId: int | None = None
    startTime: int | None = None
    endTime: int | None = None
    fromId: int | None = None
    limit: int = 500


class Countdown(_Params, frozen=True):
    symbol: str
    countdownTime: int


class WsRequest(msgspec.Struct, frozen=True):
    """One WebSocket API request frame. `id` is echoed exactly (its JSON type too)."""

    method: str
    id: str | int | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class StreamControl(msgspec.Struct, frozen=True):
    """SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS on a market or user stream connection."""

    method: str
    params: list[Any] = msgspec.field(default_factory=list)
    id: str | int | None = None


# --- answers -----------------------------------------------------------------------------------
class Order(msgspec.Struct, omit_defaults=True, kw_only=True):
    """An order as REST and the WebSocket API answer it (new, cancel, modify, query). `time` is
    in queries only, `cumQty` in order-entry answers only: None leaves them out."""

    orderId: int
    symbol: str
    status: str
    clientOrderId: str
    price: str
    avgPrice: str
    origQty: str
    executedQty: str
    cumQuote: str
    timeInForce: str
    type: str
    reduceOnly: bool
    closePosition: bool
    side: str
    positionSide: str
    stopPrice: str
    workingType: str
    priceProtect: bool
    origType: str
    priceMatch: str
    selfTradePreventionMode: str
    goodTillDate: int
    updateTime: int
    cumQty: str | None = None
    time: int | None = None


class DepthSnapshot(msgspec.Struct):
    lastUpdateId: int
    E: int
    T: int
    bids: Levels
    asks: Levels


class DepthUpdate(msgspec.Struct, tag="depthUpdate", tag_field="e"):
    """A diff (or partial, top-N) depth event: `U`..`u` the update ids it covers, `pu` the
    previous event's `u`; quantities are absolute ("0" removes the level)."""

    E: int
    T: int
    s: str
    U: int
    u: int
    pu: int
    b: Levels
    a: Levels


class BookTicker(msgspec.Struct, tag="bookTicker", tag_field="e"):
    u: int
    E: int
    T: int
    s: str
    b: str
    B: str
    a: str
    A: str


class TradeEvent(msgspec.Struct, tag="trade", tag_field="e"):
    """`m`: the buyer was the maker (the taker sold)."""

    E: int
    T: int
    s: str
    t: int
    p: str
    q: str
    X: str
    m: bool


class AggTrade(msgspec.Struct, tag="aggTrade", tag_field="e"):
    E: int
    s: str
    a: int
    p: str
    q: str
    nq: str
    f: int
    l: int  # noqa: E741  (the wire's name)
    T: int
    m: bool


class MarkPrice(msgspec.Struct, tag="markPriceUpdate", tag_field="e"):
    E: int
    s: str
    p: str
    ap: str
    i: str
    P: str
    r: str
    T: int


class OrderUpdate(msgspec.Struct):
    """ORDER_TRADE_UPDATE.o: every field Binance documents that applies to a linear perpetual."""

    s: str
    c: str
    S: str
    o: str
    f: str
    q: str
    p: str
    ap: str
    sp: str
    x: str
    X: str
    i: int
    l: str  # noqa: E741
    z: str
    L: str
    T: int
    t: int
    b: str
    a: str
    m: bool
    R: bool
    wt: str
    ot: str
    ps: str
    cp: bool
    rp: str
    pP: bool
    si: int
    ss: int
    V: str
    pm: str
    gtd: int
    er: str
    N: str | None = None
    n: str | None = None


class OrderTradeUpdate(msgspec.Struct, tag="ORDER_TRADE_UPDATE", tag_field="e"):
    E: int
    T: int
    o: OrderUpdate


class BalanceUpdate(msgspec.Struct):
    a: str
    wb: str
    cw: str
    bc: str


class PositionUpdate(msgspec.Struct):
    s: str
    pa: str
    ep: str
    bep: str
    cr: str
    up: str
    mt: str
    iw: str
    ps: str


class AccountUpdateData(msgspec.Struct):
    m: str
    B: list[BalanceUpdate]
    P: list[PositionUpdate]


class AccountUpdate(msgspec.Struct, tag="ACCOUNT_UPDATE", tag_field="e"):
    E: int
    T: int
    a: AccountUpdateData


class ListenKeyExpired(msgspec.Struct, tag="listenKeyExpired", tag_field="e"):
    E: int
    listenKey: str


class Combined(msgspec.Struct):
    """A combined-stream frame (`/stream?streams=`): the stream's name and its event."""

    stream: str
    data: Any


UserEvent = OrderTradeUpdate | AccountUpdate | ListenKeyExpired
MarketStreamEvent = DepthUpdate | BookTicker | TradeEvent | AggTrade | MarkPrice
