"""Small closed vocabularies shared by the venue and the agent. Values are the wire strings."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell: signed position change per lot filled."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    IOC = "ioc"
    POST_ONLY = "post_only"


class OrderStatus(StrEnum):
    PENDING_NEW = "pending_new"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


#: the statuses an order never leaves (a set: read on every order event; hashing a str enum is
#: its cached str hash, where `in (a, b, c)` runs the enum's `__eq__` up to three times)
TERMINAL = frozenset((OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED))


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class InstrumentKind(StrEnum):
    SPOT = "spot"
    PERP = "perp"
