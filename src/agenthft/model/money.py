"""Money: integer cash units, and what lots at a price are worth for linear and inverse contracts.

Every amount of money inside agenthft (balances, fees, P&L, funding, risk limits) is an `int`
count of 10**-CASH_DECIMALS of one currency. Which currency is the instrument's settlement
asset (`Instrument.settle_asset`): the quote for spot and linear contracts, the base coin for
inverse ones (Binance COIN-M, BitMEX XBTUSD, OKX/Deribit inverse swaps).

`ContractMath` is the one place that turns (price ticks, lots) into cash:
- linear:  lots x lot_size x contract_size x price        (quote units)
- inverse: lots x lot_size x contract_size / price        (coin units; contract_size is the
  quote value of one contract, e.g. 100 USD), rounded toward zero to the cash unit.
`value(price, signed_lots)` is the signed value a position's cost basis is kept in, chosen so
that a position's P&L is always `value(exit) - value(entry)` for the same lots: for an inverse
long that is contracts x size x (1/entry - 1/exit). The venue's ledger, the agent's OMS, the
risk engine and the backtest's exchange model all call it, so they agree to the unit.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from agenthft.model.fixed import from_scaled, pow10, to_scaled
from agenthft.model.units import CASH_DECIMALS, DISPLAY_DECIMALS, FEE_DECIMALS, RATE_DECIMALS

if TYPE_CHECKING:
    from agenthft.model.instrument import Instrument

__all__ = [
    "CASH_DECIMALS",
    "CASH_UNIT",
    "DISPLAY_DECIMALS",
    "FEE_DECIMALS",
    "RATE_DECIMALS",
    "RATE_UNIT",
    "STABLE",
    "ContractMath",
    "cash",
    "cash_float",
    "cash_text",
    "fee",
    "funding_payment",
]

CASH_UNIT = pow10(CASH_DECIMALS)
_FEE_DENOM = pow10(FEE_DECIMALS)
RATE_UNIT = pow10(RATE_DECIMALS)
#: Currencies counted 1:1 as the reporting currency when a run settles in several of them
#: (stated in every summary that does so: USDT and USDC are not exactly USD).
STABLE = frozenset({"USD", "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USDE", "USDH"})


def fee(notional: int, ppb: int) -> int:
    """Fee on `notional` at `ppb` (1e-8) of it: charges round up, rebates round toward zero,
    so a venue never pays out a fraction it did not collect."""
    if ppb >= 0:
        return -(-notional * ppb // _FEE_DENOM)
    return -(notional * -ppb // _FEE_DENOM)


def funding_payment(notional: int, signed_lots: int, rate: int) -> int:
    """What a position pays at a funding time (negative: receives): longs pay a positive rate,
    shorts receive it. `notional` is the position's unsigned notional at the mark (cash units),
    `rate` in 1e-12. Payments round up, receipts toward zero (as fees)."""
    if not signed_lots or not rate:
        return 0
    signed = rate if signed_lots > 0 else -rate
    if signed >= 0:
        return -(-notional * signed // RATE_UNIT)
    return -(notional * -signed // RATE_UNIT)


def cash(text: str | int | float) -> int:
    """Decimal text (or a number read as its shortest decimal) -> cash units, exactly."""
    return to_scaled(text, CASH_DECIMALS)


def cash_text(units: int) -> str:
    """Cash units as canonical decimal text (exact; for the wire and the journal)."""
    return from_scaled(units, CASH_DECIMALS)


def cash_float(units: int, decimals: int = DISPLAY_DECIMALS) -> float:
    """Cash units as a JSON number rounded to `decimals` (display: -0.10709221, never
    -0.10709221000000001). Never used for a decision."""
    return round(units / CASH_UNIT, decimals)


class ContractMath:
    """Integer money of one instrument: notional, position value, fees, in its settlement asset."""

    __slots__ = ("base_mult", "den", "inverse", "min_quote", "mult", "num", "quote_mult", "settle")

    def __init__(self, inst: Instrument) -> None:
        tick, lot, size = Fraction(inst.tick_size), Fraction(inst.lot_size), Fraction(inst.contract_size)
        self.inverse = inst.inverse
        self.settle = inst.settle_asset
        #: the venue's smallest order value in quote cash units (`Instrument.min_notional`; 0: none)
        self.min_quote = to_scaled(inst.min_notional, CASH_DECIMALS)
        #: base-asset units (cash scale) per lot: what a spot fill moves, a linear contract's exposure
        self.base_mult = _exact(lot * size * CASH_UNIT, inst, "lot x contract size")
        if self.inverse:
            # coin units of `lots` at `ticks`: lots * num // (ticks * den)
            k = lot * size * CASH_UNIT / tick
            self.num, self.den = k.numerator, k.denominator
            self.mult = 0
            #: quote (e.g. USD) units per lot: an inverse contract's face value
            self.quote_mult = _exact(lot * size * CASH_UNIT, inst, "lot x contract size")
        else:
            self.num = self.den = 1
            #: settlement (quote) units per tick x lot
            self.mult = _exact(tick * lot * size * CASH_UNIT, inst, "tick x lot x contract size")
            self.quote_mult = self.mult

    def notional(self, price: int, lots: int) -> int:
        """Unsigned notional of `lots` (>= 0) at `price` ticks, in settlement cash units."""
        if self.inverse:
            return lots * self.num // (price * self.den) if price > 0 else 0
        return price * lots * self.mult

    def value(self, price: int, signed_lots: int) -> int:
        """Signed value of a position of `signed_lots` at `price`: P&L = value(exit) - value(entry)."""
        if self.inverse:
            v = self.notional(price, abs(signed_lots))
            return -v if signed_lots > 0 else v
        return signed_lots * price * self.mult

    def quote_notional(self, price: int, lots: int) -> int:
        """Unsigned notional in quote units (what limits in the quote currency compare with):
        price x size for linear, the contracts' face value for inverse."""
        if self.inverse:
            return lots * self.quote_mult
        return price * lots * self.mult

    def meets_min(self, price: int, lots: int) -> bool:
        """Whether an order of `lots` at `price` ticks is worth the venue's minimum notional."""
        return not self.min_quote or self.quote_notional(price, lots) >= self.min_quote

    def to_quote(self, units: int, price: int) -> int:
        """Settlement units -> quote units at `price` ticks (identity for linear): a coin P&L of
        an inverse market in the quote currency, for the loss limits."""
        if not self.inverse:
            return units
        # units coin * price quote/coin; price = ticks * tick and num/den = lot*size*CASH/tick
        # -> quote units = units * ticks * tick_size; tick_size = lot*size*CASH / (num/den)
        return units * price * self.quote_mult * self.den // self.num

    def avg_price(self, cost: int, size: int) -> float | None:
        """Average entry of a position in ticks (display only): cost / size for linear, the
        harmonic mean that an inverse cost implies."""
        if not size or not cost:
            return None
        if self.inverse:
            return abs(size) * self.num / (abs(cost) * self.den)
        return cost / (size * self.mult)


def _exact(f: Fraction, inst: Instrument, what: str) -> int:
    if f.denominator != 1:
        raise ValueError(
            f"{inst.market}: {what} ({float(f) / CASH_UNIT:g}) needs more than {CASH_DECIMALS} decimals of cash"
        )
    return int(f)
