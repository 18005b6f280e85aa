"""Instruments: the tick/lot grid of a market and the edge conversions onto it."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from agenthft.model.enums import InstrumentKind
from agenthft.model.fixed import GridError, Number, decimals_of, from_scaled, to_scaled

#: Fees are held in integer parts per 10**FEE_DECIMALS (1e-8), so 0.0002 -> 20_000.
FEE_DECIMALS = 8


class Instrument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One tradable market.

    `tick_size` and `lot_size` are decimal strings so the grid is exact. Prices inside
    agenthft are `int` ticks and quantities `int` lots of this instrument. `maker_fee` /
    `taker_fee` are fractions of notional as decimal strings; a negative maker fee is a rebate.
    `aliases` are other venues' names for the same thing ("BTCUSDT" for "BTC-PERP").
    `contract_size` is the quote value of one lot for inverse contracts, else empty.
    """

    market: str
    base: str
    quote: str
    kind: InstrumentKind
    tick_size: str
    lot_size: str
    maker_fee: str = "0"
    taker_fee: str = "0"
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size"):
            step = Decimal(getattr(self, name))
            if not step.is_finite() or step <= 0:
                raise ValueError(f"{self.market}: {name} must be a positive decimal, got {step}")
        for name in ("maker_fee", "taker_fee"):
            fee = Decimal(getattr(self, name))
            if not fee.is_finite() or abs(fee) >= 1:
                raise ValueError(f"{self.market}: {name} must be a fraction in (-1, 1), got {fee}")

    # Derived grid constants, computed once per instance (frozen structs cannot cache attrs,
    # so they live in a side table keyed by the instance).
    @property
    def grid(self) -> Grid:
        g = _GRIDS.get(self)
        if g is None:
            g = _GRIDS[self] = Grid(self.tick_size, self.lot_size)
        return g

    def price_to_ticks(self, price: Number) -> int:
        """Exact price -> ticks, or GridError("bad_price") if off the tick grid."""
        return self.grid.price_to_ticks(price)

    def qty_to_lots(self, qty: Number) -> int:
        """Exact quantity -> lots, or GridError("bad_qty") if off the lot grid."""
        return self.grid.qty_to_lots(qty)

    def ticks_to_price(self, ticks: int) -> str:
        return self.grid.ticks_to_price(ticks)

    def lots_to_qty(self, lots: int) -> str:
        return self.grid.lots_to_qty(lots)

    def ticks_to_float(self, ticks: int) -> float:
        """For display and JSON numbers only; never for decisions."""
        return float(self.grid.ticks_to_price(ticks))

    def lots_to_float(self, lots: int) -> float:
        return float(self.grid.lots_to_qty(lots))

    def fee_ppb(self, maker: bool) -> int:
        """Fee rate in units of 1e-8 of notional (negative = rebate)."""
        return to_scaled(self.maker_fee if maker else self.taker_fee, FEE_DECIMALS)

    def matches(self, symbol: str) -> bool:
        return symbol == self.market or symbol in self.aliases


#: Prices and quantities beyond this many ticks / lots are refused at the edge: every integer
#: inside stays within a signed 64-bit integer (the command log is JSON: int64 at most).
MAX_UNITS = 10**18


class Grid:
    """Integer scale factors of an instrument's tick and lot grids."""

    __slots__ = ("lot_decimals", "lot_units", "tick_decimals", "tick_units")

    def __init__(self, tick_size: str, lot_size: str) -> None:
        self.tick_decimals = decimals_of(tick_size)
        self.tick_units = to_scaled(tick_size, self.tick_decimals)
        self.lot_decimals = decimals_of(lot_size)
        self.lot_units = to_scaled(lot_size, self.lot_decimals)

    def price_to_ticks(self, price: Number) -> int:
        try:
            units = to_scaled(price, self.tick_decimals)
        except GridError as e:
            raise GridError("bad_price", f"price {price!r} is off the tick grid: {e}") from None
        ticks, rem = divmod(units, self.tick_units)
        if rem:
            raise GridError("bad_price", f"price {price!r} is not a multiple of the tick size")
        if not -MAX_UNITS <= ticks <= MAX_UNITS:
            raise GridError("bad_price", f"price {price!r} is out of range (at most {MAX_UNITS:.0e} ticks)")
        return ticks

    def qty_to_lots(self, qty: Number) -> int:
        try:
            units = to_scaled(qty, self.lot_decimals)
        except GridError as e:
            raise GridError("bad_qty", f"quantity {qty!r} is off the lot grid: {e}") from None
        lots, rem = divmod(units, self.lot_units)
        if rem:
            raise GridError("bad_qty", f"quantity {qty!r} is not a multiple of the lot size")
        if not -MAX_UNITS <= lots <= MAX_UNITS:
            raise GridError("bad_qty", f"quantity {qty!r} is out of range (at most {MAX_UNITS:.0e} lots)")
        return lots

    def ticks_to_price(self, ticks: int) -> str:
        return from_scaled(ticks * self.tick_units, self.tick_decimals)

    def lots_to_qty(self, lots: int) -> str:
        return from_scaled(lots * self.lot_units, self.lot_decimals)


_GRIDS: dict[Instrument, Grid] = {}


def find_instrument(instruments: list[Instrument], symbol: str) -> Instrument | None:
    """The instrument named `symbol` directly or by alias (cross-venue mapping)."""
    for inst in instruments:
        if inst.matches(symbol):
            return inst
    return None
