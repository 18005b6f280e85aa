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
from agenthft.model import Instrument, InstrumentKind
from agenthft.model.fixed import to_scaled
from agenthft.model.money import CASH_DECIMALS, FEE_DECIMALS, ContractMath, cash, cash_text, fee

__all__ = ["CASH_DECIMALS", "Account", "MarketMath", "Position", "cash_to_text", "fee", "is_perp", "text_to_cash"]


class MarketMath(ContractMath):
    """An instrument's money (`model.money.ContractMath`: linear or inverse, in its settlement
    asset) plus the venue's fee and margin rates in integer parts per 1e-8."""

    __slots__ = ("hold_ppb", "im_ppb", "maker_ppb", "taker_ppb")

    def __init__(self, inst: Instrument, initial_margin: str) -> None:
        super().__init__(inst)
        self.maker_ppb = inst.fee_ppb(maker=True)
        self.taker_ppb = inst.fee_ppb(maker=False)
        self.im_ppb = to_scaled(initial_margin, FEE_DECIMALS)
        #: held per unit of an open order's notional on top of it: the worst-case taker fee,
        #: plus the initial margin for perps (whose notional itself is not held)
        self.hold_ppb = max(0, self.taker_ppb) + (self.im_ppb if inst.kind is InstrumentKind.PERP else 0)


class Position:
    """A perp position: signed size (lots), signed entry cost (cash units), realized P&L."""

    __slots__ = ("cost", "open_buy", "open_sell", "realized", "size")

    def __init__(self) -> None:
        self.size = 0
        self.cost = 0
        self.realized = 0
        self.open_buy = 0  # lots resting or in flight on the buy side
        self.open_sell = 0

    def apply_fill(self, signed_qty: int, price: int, math: ContractMath) -> int:
        """Apply a fill of signed_qty lots at price; returns the P&L it realized (settlement units)."""
        size = self.size
        if size == 0 or (size > 0) == (signed_qty > 0):
            self.size = size + signed_qty
            self.cost += math.value(price, signed_qty)
            return 0
        closing = min(abs(signed_qty), abs(size))
        sign = 1 if size > 0 else -1
        # the share of cost that leaves with the closed lots (exact in total over all closes)
        part = self.cost * closing // abs(size) if self.cost >= 0 else -(-self.cost * closing // abs(size))
        closed = math.value(price, -sign * closing)  # this fill's closing lots (the position's exit: -closed)
        realized = -closed - part
        self.cost -= part
        self.size = size - sign * closing
        opening = abs(signed_qty) - closing
        if opening:
            self.size -= sign * opening
            # the rest of the fill's one value, not a second rounding of it: the counterparty
            # books the whole fill at once, and the coin must sum to zero (inverse rounds)
            self.cost += math.value(price, signed_qty) - closed
        if self.size == 0:
            self.cost = 0
        self.realized += realized
        return realized

    def avg_price(self, math: ContractMath) -> float | None:
        """Average entry in ticks (display only)."""
        return math.avg_price(self.cost, self.size)

    def unrealized(self, mark: int, math: ContractMath) -> int:
        return math.value(mark, self.size) - self.cost


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
    return cash_text(units)


def text_to_cash(text: str | int | float) -> int:
    return cash(text)


def is_perp(inst: Instrument) -> bool:
    return inst.kind is InstrumentKind.PERP
