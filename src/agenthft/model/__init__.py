"""Value types: instruments with exact tick/lot grids, sides, order types and statuses."""

from agenthft.model.enums import InstrumentKind, Liquidity, OrderStatus, OrderType, Side
from agenthft.model.fixed import GridError, from_scaled, to_scaled
from agenthft.model.instrument import Grid, Instrument, find_instrument
from agenthft.model.mark import mark_price
from agenthft.model.money import CASH_DECIMALS, CASH_UNIT, FEE_DECIMALS, ContractMath

__all__ = [
    "CASH_DECIMALS",
    "CASH_UNIT",
    "FEE_DECIMALS",
    "ContractMath",
    "Grid",
    "GridError",
    "Instrument",
    "InstrumentKind",
    "Liquidity",
    "OrderStatus",
    "OrderType",
    "Side",
    "find_instrument",
    "from_scaled",
    "mark_price",
    "to_scaled",
]
