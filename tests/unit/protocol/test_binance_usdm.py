"""protocol/binance_usdm: Binance's documented signing examples reproduced exactly, the RFC 8032
Ed25519 vector, the error table's map to our reject codes, and exchangeInfo <-> Instrument."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from agenthft.model import Instrument, InstrumentKind
from agenthft.model.rejects import RejectCode
from agenthft.protocol.binance_usdm import errors, filters, signing

# Binance USDⓈ-M general info, "SIGNED endpoint examples"
SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
)
QUERY3 = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
BODY3 = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
# RFC 8032 test 1 as PKCS#8 (the SDK, ccxt and `cryptography` agree on it)
ED_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
"""
ED_PUBLIC_RAW = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
ED_SIG = "ATEuJPvzWUFs0d1x9FwudUJsSfMMWR+bkdrxtbOYgFkZj36Ol/vwKDGm9UWtKuq0mtnSTOQruQAwFvR128PaDg=="
ED_WS_PAYLOAD = (
    "apiKey=key&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT"
    "&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
)
ED_WS_SIG = "s1pJFxcviVo7AiGzu9XMp781jawfzsMacIF8sVSm5B1U1MF6uD5eJbGpr7uO568wxmKXyehLSioATO425i2vBQ=="


def test_hmac_reproduces_binances_documented_signature():
    assert signing.hmac_sign(SECRET, PAYLOAD) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_mixed_query_and_body_are_signed_concatenated_without_a_separator():
    payload, sig = signing.rest_payload(QUERY3, BODY3 + "&signature=ABC")
    assert payload == QUERY3 + BODY3 and sig == "ABC"
    assert signing.hmac_sign(SECRET, payload) == "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
    # the docs' own value comes from their echo command's stray space
    spaced = QUERY3 + BODY3.replace("timestamp=", "timestamp= ")
    assert signing.hmac_sign(SECRET, spaced) == "f9d0ae5e813ef6ccf15c2b5a434047a0181cb5a342b903b367ca6d27a66e36f2"
    wrong = QUERY3 + "&" + BODY3
    assert signing.hmac_sign(SECRET, wrong) == "ec11dcc17e67e47f0d3c3f513dfe9062307e37619c5c82ebaa8fe0bdf3d59519"


def test_hmac_verification_is_case_insensitive_and_exact():
    sig = signing.hmac_sign(SECRET, PAYLOAD)
    assert signing.verify_hmac(SECRET, PAYLOAD, sig.upper())
    assert not signing.verify_hmac(SECRET, PAYLOAD + "0", sig)
    assert not signing.verify_hmac("other", PAYLOAD, sig)


def test_ed25519_vector_signs_and_verifies_url_encoded_or_not():
    key = signing.load_ed25519_private(ED_PEM)
    assert key.public_key().public_bytes_raw().hex() == ED_PUBLIC_RAW
    assert signing.ed25519_sign(ED_PEM, PAYLOAD) == ED_SIG
    assert signing.ed25519_sign(key, ED_WS_PAYLOAD) == ED_WS_SIG
    pub = key.public_key()
    assert signing.verify_ed25519(pub, PAYLOAD, ED_SIG)
    assert signing.verify_ed25519(pub, PAYLOAD, quote(ED_SIG, safe=""))
    assert not signing.verify_ed25519(pub, PAYLOAD + "x", ED_SIG)
    assert not signing.verify_ed25519(pub, PAYLOAD, "not base64!")


def test_ws_payloads_accept_the_sdks_encoded_and_ccxts_raw_strings():
    params = {"symbol": "BTCUSDT", "apiKey": "k", "timestamp": 5, "newClientOrderId": "a:b/c", "signature": "x"}
    raw, encoded = signing.ws_payloads(params)
    assert raw == "apiKey=k&newClientOrderId=a:b/c&symbol=BTCUSDT&timestamp=5"
    assert encoded == "apiKey=k&newClientOrderId=a%3Ab%2Fc&symbol=BTCUSDT&timestamp=5"
    assert signing.ws_payloads({"b": True, "a": 1}) == ["a=1&b=true"]


def test_every_reject_code_maps_to_a_binance_error_and_back():
    for code in RejectCode:
        assert errors.FROM_REJECT[code] in errors.ERRORS, code
    assert errors.reject_code(-2013) is RejectCode.UNKNOWN_ORDER
    assert errors.reject_code(-5022) is RejectCode.POST_ONLY_WOULD_CROSS
    assert errors.reject_code(-1022) is None
    assert errors.error_body(-4164, "5") == {
        "code": -4164,
        "msg": "Order's notional must be no smaller than 5 (unless you choose reduce only).",
    }


def test_symbol_info_round_trips_the_grid():
    inst = Instrument("BTC-PERP", "BTC", "USDC", InstrumentKind.PERP, "0.1", "0.001", aliases=("BTCUSDT",))
    info = filters.symbol_info(inst, min_notional="5", price_band_bps=500)
    assert info["symbol"] == "BTCUSDT" and info["marginAsset"] == "USDC" and info["pricePrecision"] == 1
    back = filters.instrument_from_symbol(info)
    assert (back.tick_size, back.lot_size, back.market, back.settle_asset) == ("0.1", "0.001", "BTCUSDT", "USDC")
    assert filters.min_notional(info) == "5"
    band = next(f for f in info["filters"] if f["filterType"] == "PERCENT_PRICE")
    assert (band["multiplierUp"], band["multiplierDown"]) == ("1.0500", "0.9500")
    plain = Instrument("ETH-PERP", "ETH", "USDC", InstrumentKind.PERP, "0.01", "0.01")
    assert filters.binance_symbol(plain) == "ETHPERP"
    with pytest.raises(ValueError, match="PRICE_FILTER"):
        filters.instrument_from_symbol({"symbol": "X", "filters": []})


def test_the_docs_error_table_is_generated_from_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "venues" / "binance.md").read_text()
    table = doc.split("<!-- errors:begin -->\n", 1)[1].split("<!-- errors:end -->", 1)[0]
    assert table == errors.errors_markdown(), "regenerate docs/venues/binance.md's table from errors_markdown()"


def test_the_server_verifies_binances_documented_requests():
    """The front's verification (venue/fronts/binance_usdm/keys.py) on the documented example:
    the same order signed in the query, the body, or split between them."""
    from agenthft.venue.fronts.binance_usdm.errors import FrontError
    from agenthft.venue.fronts.binance_usdm.keys import BinanceKeys, verify_rest, verify_ws
    from agenthft.venue.keys import ApiKey

    api_key = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
    keys = BinanceKeys()
    record = ApiKey("k", "acc", b"", ("read", "trade"), "default", "", True, 0)
    keys.add_hmac(record, api_key, SECRET)
    ed = keys.add_ed25519(record, signing.load_ed25519_private(ED_PEM).public_key(), "ed-key")
    now = 1591702613943 + 100
    params = dict(p.split("=") for p in PAYLOAD.split("&"))
    sig = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    for query, body in [(f"{PAYLOAD}&signature={sig}", ""), ("", f"{PAYLOAD}&signature={sig}")]:
        assert verify_rest(keys, api_key, query, body, params, now).api_key == api_key
    mixed = "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
    assert verify_rest(keys, api_key, QUERY3, f"{BODY3}&signature={mixed}", params, now).account == "acc"
    assert verify_rest(keys, "ed-key", PAYLOAD, f"signature={quote(ED_SIG, safe='')}", params, now) is ed
    for key, q, b, at, code in [
        (api_key, PAYLOAD, f"signature={sig[:-1]}0", now, -1022),
        (api_key, PAYLOAD, "", now, -1102),
        (api_key, f"{PAYLOAD}&signature={sig}", "", now + 6000, -1021),
        (api_key, f"{PAYLOAD}&signature={sig}", "", now - 2000, -1021),
        ("unknown", f"{PAYLOAD}&signature={sig}", "", now, -2015),
        (None, f"{PAYLOAD}&signature={sig}", "", now, -2014),
    ]:
        with pytest.raises(FrontError) as e:
            verify_rest(keys, key, q, b, params, at)
        assert e.value.code == code
    ws = {"apiKey": "ed-key", "timestamp": now - 100, "symbol": "BTCUSDT"}
    ws["signature"] = signing.ed25519_sign(ED_PEM, signing.ws_payloads(ws)[0])
    assert verify_ws(keys, ws, now, None) is ed


def test_client_side_helpers_sign_what_the_server_verifies():
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": 1, "price": 9000}
    text = signing.signed_query(
        {**params, "timeInForce": "GTC", "recvWindow": 5000, "timestamp": 1591702613943}, SECRET
    )
    payload, sig = signing.rest_payload(text, "")
    assert payload == PAYLOAD.replace(
        "&quantity=1&price=9000&timeInForce=GTC", "&quantity=1&price=9000&timeInForce=GTC"
    )
    assert sig is not None and signing.verify_hmac(SECRET, payload, sig)
    key = signing.load_ed25519_private(ED_PEM)
    ws = signing.signed_ws_params({"symbol": "BTCUSDT", "timestamp": 1, "postOnly": True}, "k", key)
    assert signing.verify_ed25519(key.public_key(), signing.ws_payloads(ws)[0], ws["signature"])
    assert signing.ws_payloads(ws)[0] == "apiKey=k&postOnly=true&symbol=BTCUSDT&timestamp=1"
