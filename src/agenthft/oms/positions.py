"""The agent's positions and P&L: average-cost, integer money (1e-12 of the settlement asset).

Written independently of the venue's ledger on purpose: tests compare the two. Both value
positions through `model.money.ContractMath`, so linear and inverse contracts follow the same
code: P&L = value(exit) - value(entry), in the instrument's settlement asset.
"""

from __future__ import annotations

import msgspec

from agenthft.model.money import STABLE, ContractMath, cash_float


class PositionBook:
    """One market: signed size (lots), signed cost of the open size (`ContractMath.value`),
    realized P&L, fees paid (negative = rebates received) and funding paid (negative =
    received), all in the market's settlement asset."""

    __slots__ = ("cost", "fees", "funding", "last_price", "math", "quote", "realized", "size", "volume")

    def __init__(self, math: ContractMath, quote: str = "") -> None:
        self.math = math
        self.quote = quote or math.settle  # the instrument's quote currency
        self.last_price = 0  # ticks of the latest fill (converts an inverse P&L when there is no mark)
        self.size = 0
        self.cost = 0
        self.realized = 0
        self.fees = 0
        self.funding = 0
        self.volume = 0  # lots traded

    @property
    def currency(self) -> str:
        return self.math.settle

    def fill(self, signed_qty: int, price: int, fee: int) -> int:
        """Apply a fill; returns the P&L it realized (before fees)."""
        self.fees += fee
        self.volume += abs(signed_qty)
        self.last_price = price
        value = self.math.value
        if self.size == 0 or (self.size > 0) == (signed_qty > 0):
            self.size += signed_qty
            self.cost += value(price, signed_qty)
            return 0
        closing = min(abs(signed_qty), abs(self.size))
        # the share of cost that leaves with the closed lots, exact in total over all closes
        share = self.cost * closing // abs(self.size) if self.cost >= 0 else -((-self.cost) * closing // abs(self.size))
        direction = 1 if self.size > 0 else -1
        pnl = value(price, direction * closing) - share
        self.cost -= share
        self.size -= direction * closing
        rest = abs(signed_qty) - closing
        if rest:
            self.size -= direction * rest
            self.cost += value(price, -direction * rest)
        if self.size == 0:
            self.cost = 0
        self.realized += pnl
        return pnl

    def unrealized(self, mark: int) -> int:
        return self.math.value(mark, self.size) - self.cost

    def unrealized_at(self, mark: int | None) -> int:
        """`unrealized(mark)`, 0 when flat or without a mark."""
        return self.unrealized(mark) if self.size and mark is not None else 0

    def pay_funding(self, amount: int) -> None:
        """A funding payment the venue booked (cash units; negative: received)."""
        self.funding += amount

    def exposure(self) -> int:
        """|notional| of the open size in quote units at entry (for the total-position limit):
        the entry cost for linear, the contracts' face value for inverse."""
        if self.math.inverse:
            return abs(self.size) * self.math.quote_mult
        return abs(self.cost)

    def avg_price(self) -> float | None:
        """Average entry in ticks (display only)."""
        return self.math.avg_price(self.cost, self.size)


class Pnl(msgspec.Struct, frozen=True):
    """P&L of a run in integer cash units of `currency`: realized (before fees), unrealized at
    the marks, fees paid (negative: rebates) and funding paid (negative: received)."""

    currency: str
    realized: int = 0
    unrealized: int = 0
    fees: int = 0
    funding: int = 0
    note: str = ""  # how several settlement currencies were added up, when they were

    @property
    def net(self) -> int:
        return self.realized - self.fees - self.funding + self.unrealized

    def add(self, other: Pnl) -> Pnl:
        return Pnl(
            self.currency,
            self.realized + other.realized,
            self.unrealized + other.unrealized,
            self.fees + other.fees,
            self.funding + other.funding,
            self.note,
        )

    def as_dict(self) -> dict[str, float | str]:
        """JSON numbers rounded to the display precision (`model.money.cash_float`)."""
        out: dict[str, float | str] = {
            "currency": self.currency,
            "realized": cash_float(self.realized),
            "unrealized": cash_float(self.unrealized),
            "fees": cash_float(self.fees),
            "funding": cash_float(self.funding),
            "net": cash_float(self.net),
        }
        if self.note:
            out["note"] = self.note
        return out


def position_pnl(p: PositionBook, mark: int | None) -> Pnl:
    """One market's P&L in its settlement asset."""
    return Pnl(p.currency, p.realized, p.unrealized_at(mark), p.fees, p.funding)


#: One market's part of a total: its P&L in its settlement asset, its contract math, its quote
#: currency, and the price (ticks) that converts an inverse market's coin to that quote.
Part = tuple[Pnl, ContractMath, str, int]


def converted(part: Part) -> Pnl:
    """A market's P&L in its quote currency: an inverse market's coin amounts at the part's price
    (the mark, or the last fill's price when there is no mark); linear ones as they are."""
    pnl, math, quote, price = part
    if not math.inverse:
        return pnl
    if not price:
        return Pnl(quote)
    q = math.to_quote
    return Pnl(quote, q(pnl.realized, price), q(pnl.unrealized, price), q(pnl.fees, price), q(pnl.funding, price))


def in_quote(p: PositionBook, mark: int | None) -> Pnl:
    """One market's P&L in its quote currency (`converted`)."""
    return converted((position_pnl(p, mark), p.math, p.quote, mark or p.last_price))


def combine(parts: list[Part], quote: str) -> Pnl:
    """Several markets' P&L as one figure: in their common settlement asset when there is one;
    else in `quote`, inverse markets converted at their price and the stablecoins (`STABLE`)
    counted 1:1 (said in `note`); a currency that cannot be converted is left out and named."""
    if len(parts) == 1 and not parts[0][0].note:  # one market (a backtest samples this thousands of times)
        return parts[0][0]
    currencies = {pnl.currency for pnl, *_ in parts}
    if len(currencies) <= 1:
        total = Pnl(next(iter(currencies), quote))
        for pnl, *_ in parts:
            total = total.add(pnl)
        return total
    total = Pnl(quote)
    changed: set[str] = set()
    left_out: set[str] = set()
    for part in parts:
        c = converted(part)
        if c.currency == quote or (c.currency in STABLE and quote in STABLE):
            total = total.add(c)
            if c.currency != quote:
                changed.add(c.currency)
            if part[1].inverse:
                changed.add(part[0].currency)
        else:
            left_out.add(c.currency)
    notes = []
    if changed:
        notes.append(f"in {quote}: {', '.join(sorted(changed))} converted (inverse at the mark, stablecoins 1:1)")
    if left_out:
        notes.append(f"left out (no rate to {quote}): {', '.join(sorted(left_out))}")
    return msgspec.structs.replace(total, note="; ".join(notes))


def total_pnl(positions: dict[str, PositionBook], marks: dict[str, int], quote: str) -> Pnl:
    """Every market's P&L as one figure (`combine`), unrealized at `marks`."""
    return combine(
        [(position_pnl(p, marks.get(m)), p.math, p.quote, marks.get(m) or p.last_price) for m, p in positions.items()],
        quote,
    )


def by_currency(parts: list[Part]) -> dict[str, Pnl]:
    """The parts added up per settlement currency, each in its own units (nothing converted)."""
    out: dict[str, Pnl] = {}
    for pnl, *_ in parts:
        out[pnl.currency] = out[pnl.currency].add(pnl) if pnl.currency in out else pnl
    return dict(sorted(out.items()))
