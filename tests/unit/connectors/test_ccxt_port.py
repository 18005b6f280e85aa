"""The ccxt connector's pure parts: precision modes onto our grids, URLs pointed at one venue,
ccxt's exceptions as our reject codes."""

from __future__ import annotations

from typing import Any

import ccxt

from agenthft.connectors.ccxt_port import error_code, grid_of, point_at


def test_each_precision_mode_becomes_a_decimal_step():
    assert grid_of(0.1, 4) == "0.1" and grid_of("0.00100", 4) == "0.001"  # TICK_SIZE
    assert grid_of(3, 2) == "0.001" and grid_of(0, 2) == "1"  # DECIMAL_PLACES
    assert grid_of(5, 3) is None  # SIGNIFICANT_DIGITS: depends on the price
    assert grid_of(None, 4) is None


def test_every_url_points_at_the_local_venue_keeping_its_path():
    urls: dict[str, Any] = {
        "api": {"fapiPublic": "https://fapi.binance.com/fapi/v1", "ws": {"linear": "wss://fstream.binance.com/ws"}},
        "test": {"public": "https://api.hyperliquid-testnet.xyz"},
        "www": "https://www.binance.com",
    }
    point_at(urls, "http://127.0.0.1:9000")
    assert urls["api"]["fapiPublic"] == "http://127.0.0.1:9000/fapi/v1"
    assert urls["api"]["ws"]["linear"] == "ws://127.0.0.1:9000/ws"
    assert urls["test"]["public"] == "http://127.0.0.1:9000"
    assert urls["www"] == "https://www.binance.com", "not an API URL: left alone"


def test_ccxt_exceptions_map_to_our_reject_vocabulary():
    assert error_code(ccxt.InsufficientFunds("x")) == "insufficient_balance"
    assert error_code(ccxt.OrderNotFound("x")) == "unknown_order"
    assert error_code(ccxt.OrderImmediatelyFillable("x")) == "post_only_would_cross"
    assert error_code(ccxt.InvalidOrder('binanceusdm {"code":-5022,"msg":"..."}')) == "post_only_would_cross"
    assert error_code(ccxt.ExchangeError('binanceusdm {"code":-4164,"msg":"..."}')) == "min_notional"
    assert error_code(ccxt.RateLimitExceeded("x")) == "rate_limited"
    assert error_code(ccxt.ExchangeError("something else")) == "venue_error"


def test_hyperliquids_texts_inside_ccxts_exceptions_map_to_our_codes():
    said = 'hyperliquid {"status":"ok","response":{"type":"order","data":{"statuses":[{"error":"%s"}]}}}'
    post_only = said % "Post only order would have immediately matched, bbo was 1@2."
    assert error_code(ccxt.InvalidOrder(post_only), "hyperliquid") == "post_only_would_cross"
    nothing = said % "Order could not immediately match against any resting orders."
    assert error_code(ccxt.InvalidOrder(nothing), "hyperliquid") == "ioc_not_filled"
    budget = 'hyperliquid {"status":"err","response":"Too many cumulative requests sent (3 > 2)"}'
    assert error_code(ccxt.RateLimitExceeded(budget), "hyperliquid") == "rate_limited"
    assert error_code(ccxt.InvalidOrder(nothing)) == "bad_request", "another exchange: by class"
