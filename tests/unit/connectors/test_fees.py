"""A fill's fee in the settlement asset whatever currency the venue charged it in
(`connectors.fees`), and the Binance connector's two fill paths (stream, REST) agreeing on it."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from agenthft.connectors.binance_usdm import translate
from agenthft.connectors.fees import FeesElsewhere, fee_cash
from agenthft.connectors.port import Filled
from agenthft.model import Instrument, InstrumentKind
from agenthft.model.money import CASH_UNIT

PERP = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.1", "0.001")
SPOT = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, "0.01", "0.00001")
INVERSE = Instrument("BTCUSD_PERP", "BTC", "USD", InstrumentKind.PERP, "0.1", "1", inverse=True, contract_size="100")


def test_the_settlement_asset_is_taken_as_is_and_none_means_it():
    assert fee_cash("0.06", "USDT", PERP, "60000") == 6 * CASH_UNIT // 100
    assert fee_cash("0.06", None, PERP, "60000") == fee_cash("0.06", "", PERP, "1") == 6 * CASH_UNIT // 100
    assert fee_cash("-0.01", "USDT", PERP, "60000") == -CASH_UNIT // 100  # a rebate
    assert fee_cash(None, "BNB", PERP, "60000") == fee_cash("0", "BNB", PERP, "60000") == 0


def test_a_fee_taken_in_the_bought_asset_is_valued_at_the_fill_price():
    """Binance spot takes a buy's fee from the BTC it bought: 0.00000100 BTC at 60,000.01."""
    assert fee_cash("0.00000100", "BTC", SPOT, "60000.01") == fee_cash("0.06000001", "USDT", SPOT, "1")


def test_an_inverse_contracts_quote_fee_is_divided_by_the_price_rounded_up():
    got = fee_cash("1", "USD", INVERSE, "60000")  # 1/60000 BTC = 0.0000166666...: a cost is never understated
    assert Decimal(got) / CASH_UNIT == Decimal("0.000016666667")


def test_a_fee_in_a_third_coin_counts_zero_and_is_kept_by_currency_logged_once(caplog: pytest.LogCaptureFixture):
    kept = FeesElsewhere("binance-usdm")
    with caplog.at_level(logging.WARNING, logger="agenthft.fees"):
        assert fee_cash("0.000123", "BNB", PERP, "60000", kept) == 0
        assert fee_cash("0.000077", "BNB", PERP, "60000", kept) == 0
    assert kept.as_dict() == {"BNB": "0.0002"} and kept.fills == 2
    assert len([r for r in caplog.records if "BNB" in r.getMessage()]) == 1
    assert fee_cash("0.5", "BNB", PERP, "60000") == 0  # nobody to tell: still never a wrong unit


def test_binances_stream_and_rest_fills_agree_on_each_kind_of_fee():
    for n, asset, want in (("0.06", "USDT", 6 * CASH_UNIT // 100), ("0.0002", "BNB", 0)):
        kept_ws, kept_rest = FeesElsewhere("ws"), FeesElsewhere("rest")
        o = {"s": "BTCUSDT", "c": "g1-7", "S": "BUY", "o": "LIMIT", "f": "GTX", "q": "0.012", "p": "60000.1",
             "x": "TRADE", "X": "FILLED", "i": 1, "l": "0.012", "z": "0.012", "L": "60000.1", "T": 1, "t": 77,
             "m": True, "n": n, "N": asset}  # fmt: skip
        (f,) = translate.order_events({"e": "ORDER_TRADE_UPDATE", "E": 1, "T": 1, "o": o}, PERP, kept_ws)
        t = {"symbol": "BTCUSDT", "id": 77, "orderId": 1, "side": "BUY", "price": "60000.1", "qty": "0.012",
             "commission": n, "commissionAsset": asset, "time": 1, "maker": True}  # fmt: skip
        rest = translate.venue_fill(t, PERP, "g1-7", kept_rest)
        assert isinstance(f, Filled) and f.fill.fee == rest.fee == want
        assert kept_ws.as_dict() == kept_rest.as_dict() == ({"BNB": "0.0002"} if asset == "BNB" else {})
