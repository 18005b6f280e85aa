"""An inverse position's coin sums to zero across the two sides of every fill, whatever the
fills' sizes: a fill that closes one side and opens the rest is valued once, like the
counterparty's (two roundings of an inverse notional can differ by one unit from one)."""

from __future__ import annotations

from agenthft.matching.accounts import Position
from agenthft.model import ContractMath, Instrument, InstrumentKind

INVERSE = Instrument(
    "BTCUSD_PERP", "BTC", "USD", InstrumentKind.PERP, tick_size="0.1", lot_size="1",
    contract_size="100", inverse=True,
)  # fmt: skip


def test_a_flip_through_zero_conserves_the_coin():
    math = ContractMath(INVERSE)
    checked = 0
    for p1 in range(900, 1000, 7):
        for p2 in range(901, 1000, 11):
            for held in (1, 2, 3):
                for sold in (held + 1, held + 2, held + 5):
                    a, b, c = Position(), Position(), Position()
                    a.apply_fill(held, p1, math)  # a buys from b
                    b.apply_fill(-held, p1, math)
                    realized = a.apply_fill(-sold, p2, math)  # a sells through zero to c, in one fill
                    c.apply_fill(sold, p2, math)
                    # the coin: what was realized, less what stays in the positions' cost, sums to 0
                    assert realized - a.cost - b.cost - c.cost == 0, (p1, p2, held, sold)
                    checked += 1
    assert checked > 300
