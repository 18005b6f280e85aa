"""Binance USD-M's wire format, as documented, in and out of the core's types (no network)."""

from __future__ import annotations

import pytest

from agenthft.connectors.binance_usdm import translate
from agenthft.connectors.binance_usdm.signing import Signer, hmac_sha256, load_ed25519, ws_payload
from agenthft.connectors.port import Ack, Done, Filled, Funding, OrderRequest
from agenthft.model import Instrument, InstrumentKind, Liquidity, OrderType, Side

#: Binance's documented HMAC example (USD-M "General Info": SIGNED endpoint examples)
DOC_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
DOC_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
DOC_PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
)

#: RFC 8032's first Ed25519 test key (deterministic signatures: anyone can check these)
RFC8032_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
"""

INFO = {
    "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
    ],
    "symbols": [
        {
            "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING",
            "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764", "tickSize": "0.10"},
                {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500"},
            ],
        },
        {"symbol": "OLDUSDT", "status": "SETTLING", "filters": []},
    ],
}  # fmt: skip


def test_binances_documented_hmac_example_is_reproduced_exactly():
    assert hmac_sha256(DOC_SECRET, DOC_PAYLOAD) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    # the mixed example: query string + body concatenated with no separator (the value a venue
    # computes for the real request; the docs' printed f9d0... includes a stray space)
    mixed = (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
        + "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
    )
    assert hmac_sha256(DOC_SECRET, mixed) == "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
    assert Signer(secret=DOC_SECRET).sign(DOC_PAYLOAD).startswith("3c661234")


def test_ed25519_signatures_are_the_rfc8032_keys_deterministic_ones():
    key = load_ed25519(RFC8032_PEM)
    signer = Signer(private_key=key)
    assert signer.kind == "ed25519" and "***" in repr(signer)
    sig = signer.sign(DOC_PAYLOAD)
    assert sig == "ATEuJPvzWUFs0d1x9FwudUJsSfMMWR+bkdrxtbOYgFkZj36Ol/vwKDGm9UWtKuq0mtnSTOQruQAwFvR128PaDg=="


def test_websocket_api_signs_the_sorted_parameters():
    params = {"symbol": "BTCUSDT", "apiKey": "k", "timestamp": 5, "signature": "x", "reduceOnly": True}
    assert ws_payload(params) == "apiKey=k&reduceOnly=true&symbol=BTCUSDT&timestamp=5"


def test_a_signer_needs_exactly_one_kind_of_key():
    with pytest.raises(ValueError):
        Signer()


def test_exchange_info_gives_the_grid_and_the_limits():
    (btc,) = translate.instruments(INFO)
    assert (btc.market, btc.tick_size, btc.lot_size, btc.kind) == ("BTCUSDT", "0.1", "0.001", InstrumentKind.PERP)
    assert btc.settle_asset == "USDT" and not btc.inverse and "BTC-PERP" in btc.aliases
    lim = translate.limits(INFO)
    assert lim.orders_per_s == 20.0 and lim.requests_per_min == 2400  # 1200/min is tighter than 300/10 s
    assert translate.filters_of(INFO)["BTCUSDT"]["min_notional"] == "100"
    assert btc.min_notional == "100", "MIN_NOTIONAL rides on the instrument: the agent's risk checks it"


BTC = Instrument("BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, "0.1", "0.001")


def test_our_orders_become_binances_parameters():
    p = translate.order_params(OrderRequest("g1-7", "BTCUSDT", Side.BUY, 12, 600_001, OrderType.POST_ONLY), BTC)
    assert p == {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.012", "newClientOrderId": "g1-7",
                 "type": "LIMIT", "price": "60000.1", "timeInForce": "GTX"}  # fmt: skip
    ioc = translate.order_params(OrderRequest("g1-8", "BTCUSDT", Side.SELL, 1, 600_000, OrderType.IOC, True), BTC)
    assert ioc["timeInForce"] == "IOC" and ioc["reduceOnly"] == "true"
    mkt = translate.order_params(OrderRequest("g1-9", "BTCUSDT", Side.SELL, 1, None, OrderType.MARKET), BTC)
    assert mkt["type"] == "MARKET" and "price" not in mkt


def update(x: str, status: str, **o: object) -> dict[str, object]:
    base = {"s": "BTCUSDT", "c": "g1-7", "S": "BUY", "o": "LIMIT", "f": "GTX", "q": "0.012", "p": "60000.1",
            "x": x, "X": status, "i": 4087922044, "l": "0", "z": "0", "L": "0", "T": 1700000000123, "t": 0}  # fmt: skip
    return {"e": "ORDER_TRADE_UPDATE", "E": 1700000000125, "T": 1700000000123, "o": base | o}


def test_order_trade_updates_become_order_events():
    assert translate.order_events(update("NEW", "NEW"), BTC) == [Ack("g1-7", 4087922044, 1700000000123_000_000)]
    (f,) = translate.order_events(
        update("TRADE", "PARTIALLY_FILLED", l="0.005", z="0.005", L="60000.1", t=77, m=True, n="0.06", N="USDT"), BTC
    )
    assert isinstance(f, Filled) and f.liquidity is Liquidity.MAKER and f.remaining == 7
    assert (f.fill.qty, f.fill.price, f.fill.fee, f.fill.side) == (5, 600_001, 60_000_000_000, Side.BUY)
    assert f.fill.fill_id == translate.fill_id("BTCUSDT", 77) != translate.fill_id("ETHUSDT", 77)
    (d,) = translate.order_events(update("EXPIRED", "EXPIRED", z="0.005", er="2"), BTC)
    assert isinstance(d, Done) and d.reason == "ioc" and d.remaining == 7


def test_a_funding_fee_account_update_is_what_the_position_paid():
    msg = {"e": "ACCOUNT_UPDATE", "E": 1, "T": 2, "a": {"m": "FUNDING_FEE", "S": "BTCUSDT",
           "B": [{"a": "USDT", "wb": "100", "cw": "100", "bc": "-0.25"}], "P": []}}  # fmt: skip
    ev = translate.funding_event(msg, BTC)
    assert isinstance(ev, Funding) and ev.amount == 250_000_000_000 and ev.currency == "USDT"


@pytest.mark.parametrize(
    ("code", "ours"),
    [(-5022, "post_only_would_cross"), (-2019, "insufficient_balance"), (-4164, "min_notional"),
     (-2011, "unknown_order"), (-4014, "bad_price"), (-2022, "reduce_only"), (-1003, "rate_limited"),
     (-9999, "venue_error")],
)  # fmt: skip
def test_binance_error_codes_map_to_our_reject_vocabulary(code: int, ours: str):
    assert translate.reject_code(code) == ours
