"""Money of linear and inverse contracts, checked against hand computations."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenthft.model import CASH_UNIT, ContractMath, Instrument, InstrumentKind, Side
from agenthft.model.money import cash_float, fee, funding_payment
from agenthft.oms import OrderManager, VenueFill

COINM = Instrument(
    "BTCUSD_PERP", "BTC", "USD", InstrumentKind.PERP, "0.1", "1", "-0.0001", "0.0005", contract_size="100", inverse=True
)
ETH_COINM = Instrument("ETHUSD_PERP", "ETH", "USD", InstrumentKind.PERP, "0.01", "1", contract_size="10", inverse=True)
LINEAR = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.1", "0.001", "0.0002", "0.0005")
CONTRACTS = Instrument("BTC-USDT-SWAP", "BTC", "USDT", InstrumentKind.PERP, "0.1", "1", contract_size="0.01")


def test_an_inverse_contract_is_worth_its_face_value_in_the_coin():
    m = ContractMath(COINM)
    # 1 contract of 100 USD at 60,000 USD/BTC = 0.001666666666 BTC (rounded toward zero)
    assert m.notional(600_000, 1) == 1_666_666_666
    assert m.settle == "BTC" and COINM.settle_asset == "BTC"
    assert m.quote_notional(600_000, 3) == 300 * CASH_UNIT  # face value, whatever the price
    eth = ContractMath(ETH_COINM)
    assert eth.notional(250_000, 2) == 8_000_000_000  # 2 x 10 USD / 2,500 = 0.008 ETH


def test_inverse_pnl_is_contracts_times_size_times_the_difference_of_reciprocals():
    m = ContractMath(COINM)
    entry, exit_ = 600_000, 660_000  # 60,000 -> 66,000
    long_pnl = m.value(exit_, 10) - m.value(entry, 10)
    expected = Decimal(10 * 100) * (1 / Decimal(60_000) - 1 / Decimal(66_000))  # in BTC
    assert abs(Decimal(long_pnl) / CASH_UNIT - expected) < Decimal("1e-11")
    assert m.value(entry, -10) == -m.value(entry, 10)  # a short is the mirror image


def test_linear_math_is_price_times_size_times_the_contract():
    assert ContractMath(LINEAR).notional(600_000, 5) == 300 * CASH_UNIT  # 0.005 BTC x 60,000
    # OKX-style linear swap: one contract is 0.01 BTC
    assert ContractMath(CONTRACTS).notional(600_000, 2) == 1_200 * CASH_UNIT
    assert CONTRACTS.base_qty(2) == Decimal("0.02")


def test_spot_cannot_be_inverse_or_carry_a_contract_size():
    with pytest.raises(ValueError, match="spot"):
        Instrument("X", "BTC", "USD", InstrumentKind.SPOT, "0.1", "1", inverse=True)


def test_fees_of_an_inverse_contract_are_charged_in_the_coin():
    m = ContractMath(COINM)
    # taker 5 bp on 100 USD at 60,000: 0.05 USD = 0.000000833333 BTC (charges round up)
    assert fee(m.notional(600_000, 1), COINM.fee_ppb(maker=False)) == 833_334
    # maker rebate 1 bp: 0.01 USD = 0.000000166666 BTC (rebates round toward zero)
    assert fee(m.notional(600_000, 1), COINM.fee_ppb(maker=True)) == -166_666


def test_the_oms_books_an_inverse_round_trip_in_the_coin():
    oms = OrderManager([COINM])
    buy = oms.new_order(COINM.market, Side.BUY, 10, 600_000)
    oms.on_fill(VenueFill(buy.order_id, 1, COINM.market, Side.BUY, 10, 600_000, 100, 1), 1)
    sell = oms.new_order(COINM.market, Side.SELL, 10, 660_000)
    oms.on_fill(VenueFill(sell.order_id, 2, COINM.market, Side.SELL, 10, 660_000, 100, 2), 2)
    pnl = oms.pnl({})
    assert pnl.currency == "BTC"
    assert pnl.realized / CASH_UNIT == pytest.approx(1000 * (1 / 60_000 - 1 / 66_000), abs=1e-11)
    assert cash_float(pnl.realized) == 0.00151515  # shown to the satoshi
    assert pnl.fees == 200
    # the loss limits see the same P&L in USD at the mark
    closed, _ = oms.pnl_quote({COINM.market: 660_000})
    assert closed / CASH_UNIT == pytest.approx((1000 * (1 / 60_000 - 1 / 66_000) - 200e-12) * 66_000, rel=1e-9)


def test_mixed_settlement_currencies_are_added_in_the_quote_and_say_so():
    oms = OrderManager([LINEAR, COINM])
    a = oms.new_order(COINM.market, Side.BUY, 1, 600_000)
    oms.on_fill(VenueFill(a.order_id, 1, COINM.market, Side.BUY, 1, 600_000, 0, 1), 1)
    b = oms.new_order(LINEAR.market, Side.BUY, 1, 600_000)
    oms.on_fill(VenueFill(b.order_id, 2, LINEAR.market, Side.BUY, 1, 600_000, 0, 2), 2)
    pnl = oms.pnl({COINM.market: 660_000, LINEAR.market: 660_000})
    assert pnl.currency == "USDT" and "BTC" in pnl.note and "USD" in pnl.note
    by = oms.pnl_by_currency({COINM.market: 660_000, LINEAR.market: 660_000})
    assert set(by) == {"BTC", "USDT"}
    assert cash_float(by["USDT"].unrealized) == pytest.approx(6.0)  # 0.001 BTC x 6,000


def test_funding_longs_pay_a_positive_rate_and_shorts_receive_it():
    notional = 60_000 * CASH_UNIT
    rate = 100_000_000  # 0.0001 in 1e-12
    assert funding_payment(notional, 5, rate) == 6 * CASH_UNIT
    assert funding_payment(notional, -5, rate) == -6 * CASH_UNIT
    assert funding_payment(notional, -5, -rate) == 6 * CASH_UNIT
    assert funding_payment(notional, 0, rate) == 0


@given(st.integers(1, 10**9), st.integers(1, 10**6), st.integers(1, 10**6))
def test_inverse_values_mirror_and_round_toward_zero(price, lots, other):
    m = ContractMath(COINM)
    assert m.value(price, lots) == -m.value(price, -lots)
    exact = Decimal(lots * 100) / (Decimal(price) / 10) * CASH_UNIT
    assert 0 <= exact - m.notional(price, lots) < 1
