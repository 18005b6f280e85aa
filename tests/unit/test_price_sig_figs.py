"""A venue that takes only prices of so many significant figures (Hyperliquid: 5, or a whole
number) as an instrument field: what is valid, and the rounding the agent applies (passive)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenthft.model import Instrument, InstrumentKind

BTC = Instrument("BTC", "BTC", "USDC", InstrumentKind.PERP, "0.1", "0.00001", price_sig_figs=5)
PLAIN = Instrument("X", "X", "USDC", InstrumentKind.PERP, "0.1", "0.001")


def test_valid_prices():
    assert BTC.price_ok(600_000)  # 60000.0: whole
    assert BTC.price_ok(600_010)  # 60001.0: whole, 5 figures
    assert not BTC.price_ok(600_005)  # 60000.5: 6 figures
    assert BTC.price_ok(99_995)  # 9999.5: 5 figures
    assert BTC.price_ok(1_234_560)  # 123456: whole numbers always pass
    assert PLAIN.price_ok(600_005) and PLAIN.round_price(600_005, "down") == 600_005


def test_rounding_directions():
    assert BTC.round_price(600_005, "down") == 600_000
    assert BTC.round_price(600_005, "up") == 600_010
    assert BTC.round_price(600_004) == 600_000 and BTC.round_price(600_005) == 600_010


def test_a_sig_fig_rule_needs_a_power_of_ten_tick():
    with pytest.raises(ValueError, match="power-of-ten"):
        Instrument("Y", "Y", "USDC", InstrumentKind.PERP, "0.5", "1", price_sig_figs=5)


@given(st.integers(1, 10**12))
def test_rounded_prices_are_valid_passive_and_nearest(ticks: int):
    down, up = BTC.round_price(ticks, "down"), BTC.round_price(ticks, "up")
    assert BTC.price_ok(down) and BTC.price_ok(up)
    assert down <= ticks <= up
    if BTC.price_ok(ticks):
        assert down == up == ticks
    else:  # nothing valid strictly between them
        assert not any(BTC.price_ok(t) for t in range(down + 1, min(up, down + 2000)))
