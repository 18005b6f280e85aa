"""The agent's positions and P&L: average-cost, integer money (1e-12 quote units).

Written independently of the venue's ledger on purpose: tests compare the two.
"""

from __future__ import annotations


class PositionBook:
    """One market: signed size (lots), signed cost of the open size, realized P&L, fees paid
    (negative = rebates received)."""

    __slots__ = ("cost", "fees", "mult", "realized", "size", "volume")

    def __init__(self, notional_mult: int) -> None:
        self.mult = notional_mult  # cash units per tick x lot
        self.size = 0
        self.cost = 0
        self.realized = 0
        self.fees = 0
        self.volume = 0  # lots traded

    def fill(self, signed_qty: int, price: int, fee: int) -> int:
        """Apply a fill; returns the P&L it realized (before fees)."""
        self.fees += fee
        self.volume += abs(signed_qty)
        value = price * self.mult
        if self.size == 0 or (self.size > 0) == (signed_qty > 0):
            self.size += signed_qty
            self.cost += signed_qty * value
            return 0
        closing = min(abs(signed_qty), abs(self.size))
        # the share of cost that leaves with the closed lots, exact in total over all closes
        share = self.cost * closing // abs(self.size) if self.size > 0 else -((-self.cost) * closing // abs(self.size))
        direction = 1 if self.size > 0 else -1
        pnl = direction * closing * value - share
        self.cost -= share
        self.size -= direction * closing
        rest = abs(signed_qty) - closing
        if rest:
            self.size -= direction * rest
            self.cost -= direction * rest * value
        if self.size == 0:
            self.cost = 0
        self.realized += pnl
        return pnl

    def unrealized(self, mark: int) -> int:
        return self.size * mark * self.mult - self.cost

    def avg_price(self) -> float | None:
        """Average entry in ticks (display only)."""
        return self.cost / (self.size * self.mult) if self.size else None
