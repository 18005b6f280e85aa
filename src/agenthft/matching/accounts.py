"""Accounts, balances, holds and positions: the venue's ledger, all integers.

Amounts of every asset (quote cash and spot base assets alike) are integer units of
10**-CASH_DECIMALS. A perp position keeps a signed size in lots and a signed `cost` (entry
notional in cash units, same sign as the size); closing part of it realizes
`closed value - proportional cost`, computed so that the cost parts always add back to
the whole. That gives exact conservation: over all accounts plus the fee account,
sum(cash - position cost) is constant, whatever the prices and rounding.
"""

from __future__ import annotations

from agenthft.matching.orders import Order
from agenthft.model import FEE_DECIMALS, Instrument, InstrumentKind, from_scaled, to_scaled
from agenthft.model.fixed import pow10

CASH_DECIMALS = 12
_FEE_DENOM = pow10(FEE_DECIMALS)


class MarketMath:
    """Integer conversion factors of one instrument into cash units."""

    __slots__ = ("hold_ppb", "im_ppb", "maker_ppb", "notional_mult", "qty_units", "taker_ppb")

    def __init__(self, inst: Instrument, initial_margin: str) -> None:
        g = inst.grid
        spare = CASH_DECIMALS - g.tick_decimals - g.lot_decimals
        if spare < 0:
            raise ValueError(
                f"{inst.market}: tick and lot need {g.tick_decimals + g.lot_decimals} decimals, "
                f"the ledger has {CASH_DECIMALS}"
            )
        #: cash units per (tick x lot)
        self.notional_mult = g.tick_units * g.lot_units * pow10(spare)
        #: base asset units per lot
        self.qty_units = g.lot_units * pow10(CASH_DECIMALS - g.lot_decimals)
        self.maker_ppb = inst.fee_ppb(maker=True)
        self.taker_ppb = inst.fee_ppb(maker=False)
        self.im_ppb = to_scaled(initial_margin, FEE_DECIMALS)
        #: held per unit of an open order's notional on top of it: the worst-case taker fee,
        #: plus the initial margin for perps (whose notional itself is not held)
        self.hold_ppb = max(0, self.taker_ppb) + (self.im_ppb if inst.kind is InstrumentKind.PERP else 0)

    def notional(self, price: int, qty: int) -> int:
        return price * qty * self.notional_mult


def fee(notional: int, ppb: int) -> int:
    """Fee on `notional` at `ppb` (1e-8) of it: charges round up, rebates round toward zero,
    so the venue never pays out a fraction it did not collect."""
    if ppb >= 0:
        return -(-notional * ppb // _FEE_DENOM)
    return -(notional * -ppb // _FEE_DENOM)


class Position:
    """A perp position: signed size (lots), signed entry cost (cash units), realized P&L."""

    __slots__ = ("cost", "open_buy", "open_sell", "realized", "size")

    def __init__(self) -> None:
        self.size = 0
        self.cost = 0
        self.realized = 0
        self.open_buy = 0  # lots resting or in flight on the buy side
        self.open_sell = 0

    def apply_fill(self, signed_qty: int, price: int, mult: int) -> int:
        """Apply a fill of signed_qty lots at price; returns the P&L it realized."""
        size = self.size
        if size == 0 or (size > 0) == (signed_qty > 0):
            self.size = size + signed_qty
            self.cost += signed_qty * price * mult
            return 0
        closing = min(abs(signed_qty), abs(size))
        sign = 1 if size > 0 else -1
        part = sign * (abs(self.cost) * closing // abs(size))
        realized = sign * closing * price * mult - part
        self.cost -= part
        self.size = size - sign * closing
        opening = abs(signed_qty) - closing
        if opening:
            self.size -= sign * opening
            self.cost -= sign * opening * price * mult
        if self.size == 0:
            self.cost = 0
        self.realized += realized
        return realized

    def avg_price(self, mult: int) -> float | None:
        """Average entry in ticks (display only)."""
        return self.cost / (self.size * mult) if self.size else None

    def unrealized(self, mark: int, mult: int) -> int:
        return self.size * mark * mult - self.cost


class Account:
    """Balances and holds per asset, perp positions per market, open orders by venue id."""

    __slots__ = ("balances", "holds", "id", "orders", "position_limit", "positions")

    def __init__(self, account_id: str, position_limit: int | None = None) -> None:
        self.id = account_id
        self.balances: dict[str, int] = {}
        self.holds: dict[str, int] = {}
        self.positions: dict[str, Position] = {}
        self.orders: dict[int, Order] = {}  # venue_order_id -> live order
        self.position_limit = position_limit  # lots per perp market; None = the engine default

    def available(self, asset: str) -> int:
        return self.balances.get(asset, 0) - self.holds.get(asset, 0)

    def credit(self, asset: str, units: int) -> None:
        self.balances[asset] = self.balances.get(asset, 0) + units

    def hold(self, asset: str, units: int) -> None:
        self.holds[asset] = self.holds.get(asset, 0) + units

    def position(self, market: str) -> Position:
        p = self.positions.get(market)
        if p is None:
            p = self.positions[market] = Position()
        return p


def cash_to_text(units: int) -> str:
    """Cash units as canonical decimal text (for the wire and reports)."""
    return from_scaled(units, CASH_DECIMALS)


def text_to_cash(text: str | int | float) -> int:
    return to_scaled(text, CASH_DECIMALS)


def is_perp(inst: Instrument) -> bool:
    return inst.kind is InstrumentKind.PERP
