"""Binance exchangeInfo symbols <-> agenthft Instruments (the grid is the filters).

PRICE_FILTER.tickSize is the tick, LOT_SIZE.stepSize the lot; USDⓈ-M contracts are linear with
a contract size of 1. A market's Binance symbol is its first alias that looks like one
(upper-case letters and digits: "BTCUSDT"), else its name without dashes.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from agenthft.model import Instrument, InstrumentKind

PERPETUAL_DELIVERY_MS = 4133404800000  # Binance's delivery date of every perpetual (2100-12-25)
ORDER_TYPES = ["LIMIT", "MARKET"]
TIME_IN_FORCE = ["GTC", "IOC", "FOK", "GTX"]
_SYMBOL = re.compile(r"^[A-Z0-9]{2,32}\Z")


def binance_symbol(inst: Instrument) -> str:
    """The market's name on a Binance front: a Binance-style alias, else the name without dashes."""
    for alias in inst.aliases:
        if _SYMBOL.match(alias):
            return alias
    return inst.market.replace("-", "").replace("/", "").replace("_", "").upper()


def _dec(text: str) -> str:
    """Canonical decimal text ("0.10" -> "0.1", "1E+1" -> "10")."""
    d = Decimal(text).normalize()
    return format(d, "f")


def _times(step: str, n: int) -> str:
    return _dec(str(Decimal(step) * n))


def symbol_info(
    inst: Instrument,
    *,
    min_notional: str = "0",
    price_band_bps: int = 0,
    initial_margin: str = "0.1",
    onboard_ms: int = 1569398400000,
    trading: bool = True,
) -> dict[str, Any]:
    """One `exchangeInfo.symbols[]` entry for a linear perpetual, with every field the official
    SDK's model and ccxt read. The filters carry the venue's grid and rules."""
    g = inst.grid
    margin_pct = _dec(str(Decimal(initial_margin) * 100))
    filters: list[dict[str, Any]] = [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": _dec(inst.tick_size),
            "maxPrice": _times(inst.tick_size, 10**9),
            "tickSize": _dec(inst.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": _dec(inst.lot_size),
            "maxQty": _times(inst.lot_size, 10**9),
            "stepSize": _dec(inst.lot_size),
        },
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": _dec(inst.lot_size),
            "maxQty": _times(inst.lot_size, 10**9),
            "stepSize": _dec(inst.lot_size),
        },
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MIN_NOTIONAL", "notional": _dec(min_notional)},
    ]
    if price_band_bps:
        up = Decimal(10_000 + price_band_bps) / 10_000
        down = Decimal(10_000 - price_band_bps) / 10_000
        filters.append(
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": f"{up:.4f}",
                "multiplierDown": f"{down:.4f}",
                "multiplierDecimal": "4",
            }
        )
    return {
        "symbol": binance_symbol(inst),
        "pair": binance_symbol(inst),
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": onboard_ms,
        "status": "TRADING" if trading else "BREAK",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": margin_pct,
        "baseAsset": inst.base,
        "quoteAsset": inst.quote,
        "marginAsset": inst.settle_asset,
        "pricePrecision": g.tick_decimals,
        "quantityPrecision": g.lot_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": filters,
        "orderTypes": list(ORDER_TYPES),
        "timeInForce": list(TIME_IN_FORCE),
    }


def instrument_from_symbol(info: dict[str, Any], maker_fee: str = "0", taker_fee: str = "0") -> Instrument:
    """An Instrument from one `exchangeInfo.symbols[]` entry (a linear perpetual): the market is
    named by its symbol, which is also its alias. Fees are not in exchangeInfo: pass them."""
    by_type = {f["filterType"]: f for f in info.get("filters", [])}
    try:
        tick = _dec(by_type["PRICE_FILTER"]["tickSize"])
        lot = _dec(by_type["LOT_SIZE"]["stepSize"])
    except KeyError as e:
        raise ValueError(f"{info.get('symbol')}: exchangeInfo symbol without {e.args[0]}") from None
    sym = str(info["symbol"])
    return Instrument(
        sym,
        str(info["baseAsset"]),
        str(info["quoteAsset"]),
        InstrumentKind.PERP,
        tick_size=tick,
        lot_size=lot,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        aliases=(sym,),
        settle=str(info.get("marginAsset") or ""),
    )


def min_notional(info: dict[str, Any]) -> str:
    """A symbol's minimum order value as decimal text ("0" if none): USD-M's and COIN-M's
    MIN_NOTIONAL `notional`, spot's NOTIONAL or MIN_NOTIONAL `minNotional`."""
    for f in info.get("filters", []):
        if f.get("filterType") in ("MIN_NOTIONAL", "NOTIONAL"):
            value = f.get("notional", f.get("minNotional"))
            if value is not None and Decimal(str(value)) > 0:
                return _dec(str(value))
    return "0"


def rate_limits(weight_per_min: int, orders_per_10s: int, orders_per_min: int) -> list[dict[str, Any]]:
    """`exchangeInfo.rateLimits`: REQUEST_WEIGHT per minute and ORDERS per 10 s and per minute."""
    return [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight_per_min},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": orders_per_10s},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": orders_per_min},
    ]
