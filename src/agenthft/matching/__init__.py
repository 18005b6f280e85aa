"""The venue's core: L3 price-time priority matching with accounts, fees and positions."""

from agenthft.matching.accounts import CASH_DECIMALS, Account, Position, cash_to_text, fee, text_to_cash
from agenthft.matching.engine import STP, EngineConfig, MatchingEngine
from agenthft.matching.events import (
    Accepted,
    Amended,
    AmendRejected,
    AnyEvent,
    BookDelta,
    Cancelled,
    CancelRejected,
    Event,
    Fill,
    Rejected,
    Trade,
)
from agenthft.matching.orders import Order

__all__ = [
    "CASH_DECIMALS",
    "STP",
    "Accepted",
    "Account",
    "AmendRejected",
    "Amended",
    "AnyEvent",
    "BookDelta",
    "CancelRejected",
    "Cancelled",
    "EngineConfig",
    "Event",
    "Fill",
    "MatchingEngine",
    "Order",
    "Position",
    "Rejected",
    "Trade",
    "cash_to_text",
    "fee",
    "text_to_cash",
]
