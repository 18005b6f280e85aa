"""A fill's fee in the instrument's settlement asset, whatever currency the venue charged it in.

Venues charge fees in more than one currency: the settlement asset (USDT on a USDT-margined
perp), the asset a spot buy received (Binance spot without BNB), the quote of an inverse
contract, or a third coin at a discount (BNB on Binance). The P&L is kept in the settlement
asset, so each is either valued exactly there or set aside:
- the settlement asset: as is;
- the base asset of a linear market: at the fill's price; the quote of an inverse one: divided
  by it (rounded up to the cash unit: a cost is never understated);
- anything else (BNB): no price for it here. It counts 0 in the P&L and is kept by currency in
  `FeesElsewhere` (logged once per currency, shown in the run's summary as
  `fees_not_in_pnl`), never added as a number of the wrong unit. A reconciliation used to add
  such a fee's amount as if it were in the settlement asset (ccxt), while the stream dropped it.
"""

from __future__ import annotations

import logging
from decimal import ROUND_CEILING, Decimal
from typing import Any

from agenthft.model import Instrument
from agenthft.model.money import cash
from agenthft.model.units import CASH_DECIMALS

log = logging.getLogger("agenthft.fees")
_UNIT = Decimal(1).scaleb(-CASH_DECIMALS)


class FeesElsewhere:
    """Fees paid in currencies the P&L cannot value, by currency (exact decimals)."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.by_currency: dict[str, Decimal] = {}
        self.fills = 0

    def add(self, currency: str, cost: Decimal) -> None:
        if currency not in self.by_currency:
            log.warning(
                "%s charges fees in %s: not in the P&L (no %s price here), kept in the summary's fees_not_in_pnl",
                self.venue, currency, currency,
            )  # fmt: skip
        self.by_currency[currency] = self.by_currency.get(currency, Decimal(0)) + cost
        self.fills += 1

    def as_dict(self) -> dict[str, str]:
        return {c: format(v.normalize(), "f") for c, v in sorted(self.by_currency.items())}


def fee_cash(cost: Any, currency: Any, inst: Instrument, price: Any, elsewhere: FeesElsewhere | None = None) -> int:
    """The fee `cost` charged in `currency` ("" or None: the settlement asset) on a fill at
    `price`, in cash units of `inst`'s settlement asset; 0 (and set aside) when it cannot be
    valued there."""
    c = Decimal(str(cost or 0))
    if not c:
        return 0
    cur = str(currency or inst.settle_asset)
    if cur == inst.settle_asset:
        value = c
    elif cur == inst.base and not inst.inverse:
        value = c * Decimal(str(price))
    elif cur == inst.quote and inst.inverse and Decimal(str(price)):
        value = c / Decimal(str(price))
    else:
        if elsewhere is not None:
            elsewhere.add(cur, c)
        return 0
    return cash(format(value.quantize(_UNIT, rounding=ROUND_CEILING), "f"))
