"""Instruments: the tick/lot grid of a market and the edge conversions onto it."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from agenthft.model.enums import InstrumentKind
from agenthft.model.fixed import GridError, Number, decimals_of, from_scaled, round_sig, sig_price_ok, to_scaled
from agenthft.model.units import FEE_DECIMALS


class Instrument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One tradable market.

    `tick_size` and `lot_size` are decimal strings so the grid is exact. Prices inside
    agenthft are `int` ticks and quantities `int` lots of this instrument. `maker_fee` /
    `taker_fee` are fractions of notional as decimal strings; a negative maker fee is a rebate.
    `aliases` are other venues' names for the same thing ("BTCUSDT" for "BTC-PERP").

    Contracts (`model.money`): one lot is `lot_size` contracts. `contract_size` is what one
    contract is: for a linear contract the base amount (or price multiplier) it carries (OKX's
    BTC-USDT-SWAP: 0.01 BTC; spot: 1); for an `inverse` one the quote value it is worth
    (Binance COIN-M BTCUSD_PERP: 100 USD, the others 10 USD), whose P&L, fees and margin are
    in the base coin. `settle` is the settlement currency ("" = the quote for linear, the base
    for inverse).

    `price_sig_figs` (0 = none): a venue that takes a price only when it is whole or has at most
    this many significant figures (Hyperliquid: 5), on a power-of-ten tick; the agent rounds an
    order's price to one it takes on the passive side (`Runner.submit`).

    `min_notional` ("0" = none): the venue's smallest order value in the quote currency (price x
    quantity x contract size; an inverse contract's face value), Binance's MIN_NOTIONAL filter,
    Hyperliquid's 10 USD. The agent's risk engine denies a smaller order before sending it, or
    sends it reduce-only where it closes a position and the venue exempts those
    (`risk.RiskEngine.check`).
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
    contract_size: str = "1"
    inverse: bool = False
    settle: str = ""
    price_sig_figs: int = 0
    min_notional: str = "0"

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size", "contract_size"):
            step = Decimal(getattr(self, name))
            if not step.is_finite() or step <= 0:
                raise ValueError(f"{self.market}: {name} must be a positive decimal, got {step}")
        for name in ("maker_fee", "taker_fee"):
            fee = Decimal(getattr(self, name))
            if not fee.is_finite() or abs(fee) >= 1:
                raise ValueError(f"{self.market}: {name} must be a fraction in (-1, 1), got {fee}")
        least = Decimal(self.min_notional)
        if not least.is_finite() or least < 0:
            raise ValueError(f"{self.market}: min_notional must be a decimal >= 0, got {self.min_notional}")
        if self.price_sig_figs < 0 or (self.price_sig_figs and self.grid.tick_units != 1):
            raise ValueError(f"{self.market}: price_sig_figs needs a power-of-ten tick size, got {self.tick_size}")
        if self.kind is InstrumentKind.SPOT and (self.inverse or Decimal(self.contract_size) != 1):
            raise ValueError(f"{self.market}: a spot market has no contract size and is never inverse")

    @property
    def settle_asset(self) -> str:
        """The currency P&L, fees, margin and funding are paid in."""
        return self.settle or (self.base if self.inverse else self.quote)

    @property
    def contract_text(self) -> str:
        """What one lot is, for notes and reports ("inverse, 100 USD per contract, settled in BTC")."""
        if self.inverse:
            return f"inverse, {self.contract_size} {self.quote} per contract, settled in {self.settle_asset}"
        if Decimal(self.contract_size) != 1:
            return f"linear, {self.contract_size} {self.base} per contract, settled in {self.settle_asset}"
        return f"linear, settled in {self.settle_asset}"

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

    def price_ok(self, ticks: int) -> bool:
        """Whether the venue takes a price of `ticks`: every positive one on the grid, and where
        the venue limits significant figures (`price_sig_figs`, Hyperliquid: 5), a whole number
        or one within them."""
        if not self.price_sig_figs:
            return ticks > 0
        return sig_price_ok(ticks, self.grid.tick_decimals, self.price_sig_figs)

    def round_price(self, ticks: int, direction: str = "nearest") -> int:
        """The valid price (`price_ok`) nearest to `ticks` going "down", "up" or "nearest"."""
        if not self.price_sig_figs:
            return ticks
        return round_sig(ticks, self.grid.tick_decimals, self.price_sig_figs, direction)

    def fee_ppb(self, maker: bool) -> int:
        """Fee rate in units of 1e-8 of notional (negative = rebate)."""
        return to_scaled(self.maker_fee if maker else self.taker_fee, FEE_DECIMALS)

    def base_qty(self, lots: int, price: int = 0) -> Decimal:
        """The base-asset exposure of `lots` (signed): lots x lot x contract size for linear;
        for inverse the face value at `price` ticks (0 when no price is known)."""
        qty = Decimal(self.lots_to_qty(lots)) * Decimal(self.contract_size)
        if not self.inverse:
            return qty
        return qty / (price * Decimal(self.tick_size)) if price else Decimal(0)

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
