"""Binance USD-M's wire format <-> the core's: instruments from `exchangeInfo`, the user data
stream's `ORDER_TRADE_UPDATE` / `ACCOUNT_UPDATE` as order events, Binance's error codes as
agenthft's reject vocabulary, our orders as Binance's parameters. Pure: no I/O."""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

from agenthft.connectors.fees import FeesElsewhere, fee_cash
from agenthft.connectors.port import (
    Ack,
    Amended,
    AmendRequest,
    Done,
    Filled,
    Funding,
    OrderEvent,
    OrderRequest,
    Rejected,
    VenueLimits,
)
from agenthft.model import Instrument, InstrumentKind, Liquidity, OrderType, Side
from agenthft.model.money import cash
from agenthft.oms import VenueFill, VenueOrder
from agenthft.protocol.binance_usdm.errors import reject_code as shared_reject_code
from agenthft.protocol.binance_usdm.filters import min_notional


def reject_code(binance_code: int) -> str:
    """agenthft's reject code for a Binance error code (the one table both ends share:
    `protocol.binance_usdm.errors`); `venue_error` when the code is no order rejection we name."""
    code = shared_reject_code(binance_code)
    return code.value if code is not None else "venue_error"


# --- instruments ------------------------------------------------------------------------------


def _step(text: str) -> str:
    return format(Decimal(text).normalize(), "f")


def instruments(info: dict[str, Any], maker_fee: str = "0.0002", taker_fee: str = "0.0005") -> list[Instrument]:
    """USD-M symbols from `exchangeInfo`: tick (PRICE_FILTER), lot (LOT_SIZE), the contract and
    its settlement (`marginAsset`); fees are the account's (Binance's exchangeInfo has none: the
    connector's defaults, VIP 0, unless `commissionRate` is read). Symbols not TRADING are left out."""
    out = []
    for s in info.get("symbols", []):
        if s.get("status", s.get("contractStatus", "TRADING")) != "TRADING":
            continue
        filters = {f["filterType"]: f for f in s.get("filters", [])}
        if "PRICE_FILTER" not in filters or "LOT_SIZE" not in filters:
            continue
        symbol, base, quote = s["symbol"], s.get("baseAsset", "?"), s.get("quoteAsset", "?")
        margin = s.get("marginAsset") or quote
        inverse = margin == base and quote == "USD"  # COIN-M style (a USD-M venue lists none)
        kind = InstrumentKind.PERP if s.get("contractType") else InstrumentKind.SPOT
        out.append(
            Instrument(
                symbol,
                base,
                quote,
                kind,
                tick_size=_step(filters["PRICE_FILTER"]["tickSize"]),
                lot_size=_step(filters["LOT_SIZE"]["stepSize"]),
                maker_fee=maker_fee,
                taker_fee=taker_fee,
                # BTC-PERP, and BTCUSDT-PERP: what a recording of this market is named (market.feeds),
                # so a strategy backtested on a recording trades the same name live
                aliases=(f"{base}-PERP", f"{symbol}-PERP") if s.get("contractType") == "PERPETUAL" else (),
                contract_size=str(s.get("contractSize", 1)) if inverse else "1",
                inverse=inverse,
                settle=margin if inverse else "",
                min_notional=min_notional(s),
            )
        )
    return out


def filters_of(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per symbol: MIN_NOTIONAL (also on the instrument, where the risk engine checks it),
    PERCENT_PRICE and the order-count filter, as read (kept on the port; those two are not checked
    before sending: the venue's reject enforces them)."""
    out: dict[str, dict[str, Any]] = {}
    for s in info.get("symbols", []):
        f = {x["filterType"]: x for x in s.get("filters", [])}
        out[s["symbol"]] = {
            "min_notional": min_notional(s),
            "percent_price": (
                f.get("PERCENT_PRICE", {}).get("multiplierUp", "0"),
                f.get("PERCENT_PRICE", {}).get("multiplierDown", "0"),
            ),
            "max_orders": int(f.get("MAX_NUM_ORDERS", {}).get("limit", 0) or 0),
        }
    return out


def limits(info: dict[str, Any]) -> VenueLimits:
    """`rateLimits` of exchangeInfo as the core's limits: the tightest ORDERS window per second
    (the client stays at 80 % of it) and the REQUEST_WEIGHT per minute."""
    per_s = 0.0
    weight = 0.0
    seconds = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
    for r in info.get("rateLimits", []):
        window = seconds.get(r.get("interval", ""), 0) * int(r.get("intervalNum", 1))
        if not window:
            continue
        if r.get("rateLimitType") == "ORDERS":
            rate = int(r["limit"]) / window
            per_s = rate if not per_s else min(per_s, rate)
        elif r.get("rateLimitType") == "REQUEST_WEIGHT":
            weight = int(r["limit"]) * 60 / window
    return VenueLimits(per_s, per_s, weight, {"rateLimits": info.get("rateLimits", [])})


# --- our orders as Binance's parameters ---------------------------------------------------------


def order_params(req: OrderRequest, inst: Instrument) -> dict[str, Any]:
    """`order.place` / `POST /fapi/v1/order` parameters: post-only is GTX, IOC is IOC; the client
    order id travels as `newClientOrderId` (a retry with the same id is the same order)."""
    g = inst.grid
    p: dict[str, Any] = {
        "symbol": req.market,
        "side": "BUY" if req.side is Side.BUY else "SELL",
        "quantity": g.lots_to_qty(req.qty),
        "newClientOrderId": req.order_id,
    }
    if req.order_type is OrderType.MARKET or req.price is None:
        p["type"] = "MARKET"
    else:
        p["type"] = "LIMIT"
        p["price"] = g.ticks_to_price(req.price)
        p["timeInForce"] = {OrderType.POST_ONLY: "GTX", OrderType.IOC: "IOC"}.get(req.order_type, "GTC")
    if req.reduce_only:
        p["reduceOnly"] = "true"
    return p


def amend_params(req: AmendRequest, inst: Instrument, side: Side, qty: int, price: int) -> dict[str, Any]:
    """`order.modify`: Binance needs side, quantity and price together (LIMIT orders only)."""
    g = inst.grid
    return {
        "symbol": req.market,
        "origClientOrderId": req.order_id,
        "side": "BUY" if side is Side.BUY else "SELL",
        "quantity": g.lots_to_qty(req.qty if req.qty is not None else qty),
        "price": g.ticks_to_price(req.price if req.price is not None else price),
    }


# --- the user data stream ------------------------------------------------------------------------


def fill_id(symbol: str, trade_id: int) -> int:
    """A fill id unique across symbols: Binance's trade ids are per symbol, so the symbol's
    CRC-16 goes above them (trade ids stay below 2**40)."""
    return ((zlib.crc32(symbol.encode()) & 0xFFFF) << 40) | trade_id


def order_events(msg: dict[str, Any], inst: Instrument, elsewhere: FeesElsewhere | None = None) -> list[OrderEvent]:
    """An `ORDER_TRADE_UPDATE` as the core's order events (a fee in BNB set aside in `elsewhere`)."""
    o = msg["o"]
    g = inst.grid
    oid = str(o["c"])
    ts = int(o.get("T") or msg.get("T") or msg.get("E") or 0) * 1_000_000
    x = o.get("x")
    qty, done = g.qty_to_lots(o["q"]), g.qty_to_lots(o.get("z", "0"))
    left = max(0, qty - done)
    if x == "NEW":
        return [Ack(oid, int(o["i"]), ts)]
    if x == "TRADE":
        fee = fee_cash(o.get("n"), o.get("N"), inst, o["L"], elsewhere)
        fill = VenueFill(
            oid,
            fill_id(inst.market, int(o["t"])),
            inst.market,
            Side.BUY if o["S"] == "BUY" else Side.SELL,
            g.qty_to_lots(o["l"]),
            g.price_to_ticks(o["L"]),
            fee,
            ts,
        )
        return [Filled(fill, Liquidity.MAKER if o.get("m") else Liquidity.TAKER, 0 if o["X"] == "FILLED" else left)]
    if x in ("CANCELED", "EXPIRED"):
        reason = "cancelled" if x == "CANCELED" else {"2": "ioc", "9": "market"}.get(str(o.get("er", "")), "expired")
        return [Done(oid, reason, left, ts)]
    if x == "AMENDMENT":
        return [Amended(oid, qty, g.price_to_ticks(o["p"]), ts)]
    if x == "REJECTED" or o.get("X") == "REJECTED":
        return [Rejected(oid, "venue_error", "rejected by Binance", ts)]
    return []


def funding_event(msg: dict[str, Any], inst: Instrument) -> Funding | None:
    """An `ACCOUNT_UPDATE` with reason FUNDING_FEE: the balance change in the settlement asset is
    what the position paid (negative) or received. Binance does not say the rate or mark here."""
    a = msg.get("a", {})
    if a.get("m") != "FUNDING_FEE":
        return None
    change = sum(cash(b.get("bc", "0")) for b in a.get("B", []) if b.get("a") == inst.settle_asset)
    pos = 0
    for p in a.get("P", []):
        if p.get("s") == inst.market:
            pos = inst.qty_to_lots(p.get("pa", "0"))
    return Funding(
        inst.market, -change, 0, 0, pos, inst.settle_asset, int(msg.get("T") or msg.get("E") or 0) * 1_000_000
    )


# --- REST answers for reconciliation -------------------------------------------------------------


def venue_order(o: dict[str, Any], inst: Instrument) -> VenueOrder:
    g = inst.grid
    return VenueOrder(
        str(o["clientOrderId"]),
        int(o["orderId"]),
        inst.market,
        Side.BUY if o["side"] == "BUY" else Side.SELL,
        g.price_to_ticks(o["price"]),
        g.qty_to_lots(o["origQty"]),
        g.qty_to_lots(o["executedQty"]),
    )


def venue_fill(
    t: dict[str, Any], inst: Instrument, client_id: str, elsewhere: FeesElsewhere | None = None
) -> VenueFill:
    g = inst.grid
    fee = fee_cash(t.get("commission"), t.get("commissionAsset"), inst, t["price"], elsewhere)
    return VenueFill(
        client_id,
        fill_id(inst.market, int(t["id"])),
        inst.market,
        Side.BUY if t["side"] == "BUY" else Side.SELL,
        g.qty_to_lots(t["qty"]),
        g.price_to_ticks(t["price"]),
        fee,
        int(t["time"]) * 1_000_000,
    )
