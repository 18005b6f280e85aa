"""Hyperliquid's price and size rules as integer grids.

Hyperliquid publishes no tick size. A price is valid when it has **at most 5 significant
figures** and **at most `MAX_DECIMALS - szDecimals` decimals** (6 for perps, 8 for spot); an
integer price is always valid, whatever its number of figures. A size has at most `szDecimals`
decimals. So the effective tick depends on the price's magnitude: ETH (szDecimals 4) moves by
0.1 at 3500, by 0.01 below 1000.

How agenthft expresses that on its fixed grids (the connector's instruments):
- the **lot** is `10^-szDecimals`: every size on it is valid;
- the **tick** is `10^-(MAX_DECIMALS - szDecimals)`, the finest step any price may take. Every
  price on it satisfies the decimals rule; the significant-figures rule is then a condition on
  the integer tick count (`price_ok`): at most 5 digits once its trailing zeros are dropped,
  or a whole number of units. Nothing is rounded silently: the connector refuses a price that
  fails it with `bad_price` before sending, and `round_price` gives a strategy the nearest
  valid price in the direction it asks for.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from agenthft.model.fixed import from_scaled, round_sig, sig_price_ok

PERP_MAX_DECIMALS = 6
SPOT_MAX_DECIMALS = 8
MAX_SIG_FIGS = 5
#: the least value of an order in the quote currency (the venue's "Order must have minimum value
#: of $10."); our venue exempts reduce-only orders, as Binance does (unverified on Hyperliquid)
MIN_ORDER_VALUE = "10"


def price_decimals(sz_decimals: int, spot: bool = False) -> int:
    """How many decimals a price may have (the tick's exponent)."""
    return max(0, (SPOT_MAX_DECIMALS if spot else PERP_MAX_DECIMALS) - sz_decimals)


def tick_size(sz_decimals: int, spot: bool = False) -> str:
    """The finest price step, as decimal text (`10^-(6|8 - szDecimals)`)."""
    return from_scaled(1, price_decimals(sz_decimals, spot))


def lot_size(sz_decimals: int) -> str:
    return from_scaled(1, sz_decimals)


def price_ok(ticks: int, decimals: int) -> bool:
    """Whether a price of `ticks` ticks of `10^-decimals` is one Hyperliquid accepts: positive,
    and a whole number or at most 5 significant figures."""
    return sig_price_ok(ticks, decimals, MAX_SIG_FIGS)


def round_price(ticks: int, decimals: int, direction: str = "nearest") -> int:
    """The valid price nearest to `ticks` going `direction` ("down", "up" or "nearest"; a tie
    goes up): a whole number of units, or 5 significant figures. A bid rounds down and an ask
    up to stay at least as passive as asked."""
    return round_sig(ticks, decimals, MAX_SIG_FIGS, direction)


def price_text_ok(text: str, sz_decimals: int, spot: bool = False) -> bool:
    """The server's check of a wire price: a positive decimal, whole, or within the decimals
    and significant-figures rules."""
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return False
    if not d.is_finite() or d <= 0:
        return False
    if d == d.to_integral_value():
        return True
    _, digits, exp = d.normalize().as_tuple()
    assert isinstance(exp, int)
    return -exp <= price_decimals(sz_decimals, spot) and len(digits) <= MAX_SIG_FIGS


def size_decimals_ok(text: str, sz_decimals: int) -> bool:
    """A wire size with at most `szDecimals` decimals (its sign and zero are checked apart)."""
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return False
    if not d.is_finite():
        return False
    exp = d.normalize().as_tuple().exponent
    assert isinstance(exp, int)
    return -exp <= sz_decimals


def sz_decimals_of(lot_size_text: str) -> int:
    """szDecimals for a lot: the decimals needed to write it (a lot that is no power of ten is
    finer than what the sizes may say: they are refused off the lot by the venue)."""
    exp = Decimal(lot_size_text).normalize().as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)
