"""What each Binance endpoint does, shared by the REST app and the WebSocket API: parse the
params (wire Structs), call the venue's one order-entry path or read its state, answer in
Binance's shapes. Every refusal is a `FrontError` with Binance's code."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from agenthft.matching import Fill
from agenthft.model import Liquidity, OrderType, Side, mark_price
from agenthft.protocol.binance_usdm import wire
from agenthft.protocol.binance_usdm.filters import rate_limits, symbol_info
from agenthft.venue.fronts.binance_usdm import translate
from agenthft.venue.fronts.binance_usdm.errors import FrontError, from_outcome, mandatory
from agenthft.venue.fronts.binance_usdm.keys import BinanceKey
from agenthft.venue.fronts.binance_usdm.limits import binance_limits
from agenthft.venue.fronts.binance_usdm.state import FrontState
from agenthft.venue.fronts.binance_usdm.translate import Symbol, cash_text
from agenthft.venue.outcome import OrderInfo

P = TypeVar("P")
_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}\Z")
_MISSING = re.compile(r"missing required field `(\w+)`")
_AT = re.compile(r"at `\$\.(\w+)`")
DEPTH_LIMITS = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}
CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}


def parse(p: dict[str, Any], typ: type[P]) -> P:
    """Params as `typ`: -1102 naming a missing field, -1130 naming a malformed one."""
    try:
        return wire.params(p, typ)
    except msgspec.ValidationError as e:
        text = str(e)
        missing = _MISSING.search(text)
        if missing:
            raise mandatory(missing.group(1)) from None
        at = _AT.search(text)
        raise FrontError(-1130, at.group(1) if at else "params") from None


def _ms(ns: int) -> int:
    return ns // 1_000_000


# --- market data ---------------------------------------------------------------------------
def exchange_info(front: FrontState, now_ns: int) -> dict[str, Any]:
    weight, o10, o60 = binance_limits(front.venue.config.tier("default"))
    rules = front.venue.rules
    im = front.venue.config.engine.initial_margin
    assets = sorted({s.inst.settle_asset for s in front.symbols.values()})
    return {
        "timezone": "UTC",
        "serverTime": _ms(now_ns),
        "futuresType": "U_MARGINED",
        "rateLimits": rate_limits(weight, o10, o60),
        "exchangeFilters": [],
        "assets": [{"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in assets],
        "symbols": [
            symbol_info(
                s.inst,
                min_notional=front.venue.min_notional(s.market),
                price_band_bps=rules.price_band_bps,
                initial_margin=im,
                trading=not front.venue.engine.markets[s.market].halted,
            )
            for s in front.symbols.values()
        ],
    }


def depth_weight(p: dict[str, Any]) -> int:
    try:
        limit = int(p.get("limit", 500))
    except (TypeError, ValueError):
        return 2
    return DEPTH_LIMITS.get(limit, 20)


def depth(front: FrontState, p: dict[str, Any], now_ns: int) -> wire.DepthSnapshot:
    """The book with `lastUpdateId` = the market's book sequence: diff events carry U = u =
    that sequence, so the first event after a snapshot has pu == lastUpdateId."""
    q = parse(p, wire.Depth)
    if q.limit not in DEPTH_LIMITS:
        raise FrontError(-1130, "limit")
    sym = front.symbol(q.symbol)
    bids, asks = front.venue.engine.l2(sym.market, q.limit)
    seq = front.venue.engine.markets[sym.market].book_seq
    return wire.DepthSnapshot(seq, _ms(now_ns), _ms(now_ns), sym.levels(bids), sym.levels(asks))


def book_ticker(front: FrontState, p: dict[str, Any], now_ns: int) -> Any:
    names = [front.symbol(p["symbol"])] if p.get("symbol") else list(front.symbols.values())
    out = []
    for sym in names:
        m = front.venue.engine.markets[sym.market]
        b, a = m.bids.best(), m.asks.best()
        out.append(
            {
                "symbol": sym.name,
                "bidPrice": sym.px(b.price) if b else "0",
                "bidQty": sym.qty(b.visible) if b else "0",
                "askPrice": sym.px(a.price) if a else "0",
                "askQty": sym.qty(a.visible) if a else "0",
                "time": _ms(now_ns),
                "lastUpdateId": m.book_seq,
            }
        )
    return out[0] if p.get("symbol") else out


# --- orders ------------------------------------------------------------------------------------
def _side(text: str) -> Side:
    if text == "BUY":
        return Side.BUY
    if text == "SELL":
        return Side.SELL
    raise FrontError(-1117)


def new_order(front: FrontState, key: BinanceKey, p: dict[str, Any], now_ns: int) -> wire.Order:
    q = parse(p, wire.NewOrder)
    sym = front.symbol(q.symbol)
    side = _side(q.side)
    fok = False
    if q.type == "LIMIT":
        if q.timeInForce is None:
            raise mandatory("timeInForce")
        if q.price is None:
            raise mandatory("price")
        tif = {"GTC": OrderType.LIMIT, "IOC": OrderType.IOC, "FOK": OrderType.IOC, "GTX": OrderType.POST_ONLY}
        if q.timeInForce not in tif:
            raise FrontError(-1130, "timeInForce")
        otype, fok = tif[q.timeInForce], q.timeInForce == "FOK"
    elif q.type == "MARKET":
        otype = OrderType.MARKET
    elif q.type in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"):
        raise FrontError(-1116)
    else:
        raise FrontError(-1116)
    if q.quantity is None:
        raise mandatory("quantity")
    cid = q.newClientOrderId
    if cid is None:
        cid = "ahft" + secrets.token_hex(14)
    elif not _CLIENT_ID.match(cid):
        raise FrontError(-4015)
    out = front.venue.place(
        key.record,
        cid,
        sym.market,
        side,
        q.quantity,
        None if otype is OrderType.MARKET else q.price,
        otype,
        fok=fok,
        reduce_only=q.reduceOnly,
        now_ns=now_ns,
    )
    if not out.ok or out.order is None:
        raise from_outcome(
            out,
            context="place",
            grid=sym.inst.grid,
            price=q.price,
            qty=q.quantity,
            side=side,
            min_notional=front.venue.min_notional(sym.market),
        )
    return translate.order(out.order, sym)


def _ref(front: FrontState, key: BinanceKey, p: dict[str, Any], live: bool) -> tuple[Symbol, OrderInfo | None]:
    q = parse(p, wire.OrderRef)
    sym = front.symbol(q.symbol)
    if q.orderId is None and not q.origClientOrderId:
        raise FrontError(-1102, "orderId")
    venue = front.venue
    if live:
        info = venue.live_order(key.account, q.origClientOrderId if q.orderId is None else None, q.orderId)
    else:
        info = venue.find_order(key.account, q.origClientOrderId if q.orderId is None else None, q.orderId)
    if info is not None and (
        info.market != sym.market or (q.orderId is not None and q.origClientOrderId not in (None, info.order_id))
    ):
        info = None
    return sym, info


def cancel_order(front: FrontState, key: BinanceKey, p: dict[str, Any], now_ns: int) -> wire.Order:
    sym, info = _ref(front, key, p, True)
    if info is None:
        raise FrontError(-2011)
    out = front.venue.cancel(key.record, info.order_id, now_ns=now_ns)
    if not out.ok:
        raise from_outcome(out, context="cancel")
    return translate.order(info, sym)


def modify_order(front: FrontState, key: BinanceKey, p: dict[str, Any], now_ns: int) -> wire.Order:
    q = parse(p, wire.ModifyOrder)
    if q.orderId is None and not q.origClientOrderId:
        raise FrontError(-1102, "orderId")
    sym, info = _ref(
        front, key, {"symbol": q.symbol, "orderId": q.orderId, "origClientOrderId": q.origClientOrderId}, True
    )
    if info is None:
        raise FrontError(-2013)
    side = _side(q.side)
    if side is not info.side:
        raise FrontError(-1130, "side")
    out = front.venue.amend(key.record, info.order_id, price=q.price, qty=q.quantity, now_ns=now_ns)
    if not out.ok:
        raise from_outcome(out, context="modify", grid=sym.inst.grid, price=q.price, qty=q.quantity, side=side)
    return translate.order(info, sym)


def query_order(front: FrontState, key: BinanceKey, p: dict[str, Any], live: bool = False) -> wire.Order:
    sym, info = _ref(front, key, p, live)
    if info is None:
        raise FrontError(-2013)
    return translate.order(info, sym, query=True)


def open_orders(front: FrontState, key: BinanceKey, p: dict[str, Any]) -> list[wire.Order]:
    q = parse(p, wire.OptionalSymbol)
    market = front.symbol(q.symbol).market if q.symbol else None
    return [
        translate.order(i, front.symbols[i.market], query=True)
        for i in front.venue.open_order_infos(key.account, market)
        if i.market in front.symbols
    ]


def all_orders(front: FrontState, key: BinanceKey, p: dict[str, Any]) -> list[wire.Order]:
    q = parse(p, wire.SymbolParam)
    sym = front.symbol(q.symbol)
    limit = min(int(p.get("limit", 500)), 1000)
    infos = front.venue.done_orders(key.account) + front.venue.open_order_infos(key.account, sym.market)
    rows = sorted((i for i in infos if i.market == sym.market), key=lambda i: i.oid)
    since = p.get("orderId")
    # Binance: with orderId, the orders from that id on (the first `limit`); else the latest `limit`
    rows = [i for i in rows if i.oid >= int(since)][:limit] if since is not None else rows[-limit:]
    return [translate.order(i, sym, query=True) for i in rows]


def cancel_all(front: FrontState, key: BinanceKey, p: dict[str, Any], now_ns: int) -> dict[str, Any]:
    q = parse(p, wire.SymbolParam)
    sym = front.symbol(q.symbol)
    out = front.venue.cancel_all(key.record, sym.market, now_ns=now_ns)
    if not out.ok:
        raise FrontError(-2015)  # the key lacks the trade scope (the symbol is known)
    return dict(CANCEL_ALL_DONE)


def countdown(front: FrontState, key: BinanceKey, p: dict[str, Any], now_ns: int) -> dict[str, Any]:
    q = parse(p, wire.Countdown)
    sym = front.symbol(q.symbol)
    if q.countdownTime < 0:
        raise FrontError(-1130, "countdownTime")
    front.arm_countdown(key, sym.market, q.countdownTime, now_ns)
    return {"symbol": sym.name, "countdownTime": str(q.countdownTime)}


# --- account -----------------------------------------------------------------------------------
def _fills(front: FrontState, account: str, market: str) -> list[Fill]:
    """The account's kept fills of `market` by trade id (`Venue.account_fills`: not bounded by
    the finished orders kept, which a quoter outruns)."""
    return sorted(front.venue.account_fills(account, market), key=lambda f: f.trade_id)


def user_trades(front: FrontState, key: BinanceKey, p: dict[str, Any]) -> list[dict[str, Any]]:
    q = parse(p, wire.UserTrades)
    sym = front.symbol(q.symbol)
    if q.fromId is not None and (q.startTime is not None or q.endTime is not None):
        raise FrontError(-1130, "fromId")
    rows = []
    for f in _fills(front, key.account, sym.market):
        t = _ms(f.ts_ns)
        if q.orderId is not None and f.venue_order_id != q.orderId:
            continue
        if q.fromId is not None and f.trade_id < q.fromId:
            continue
        if (q.startTime is not None and t < q.startTime) or (q.endTime is not None and t > q.endTime):
            continue
        rows.append(
            {
                "buyer": f.side is Side.BUY,
                "commission": cash_text(f.fee),
                "commissionAsset": sym.inst.settle_asset,
                "id": f.trade_id,
                "maker": f.liquidity is Liquidity.MAKER,
                "orderId": f.venue_order_id,
                "price": sym.px(f.price),
                "qty": sym.qty(f.qty),
                "quoteQty": sym.quote(f.price * f.qty),
                "realizedPnl": "0",
                "side": f.side.value.upper(),
                "positionSide": "BOTH",
                "symbol": sym.name,
                "time": t,
            }
        )
    n = max(1, min(q.limit, 1000))
    # Binance: from `fromId` (or `startTime`) on, the first `limit`; otherwise the most recent
    return rows[:n] if q.fromId is not None or q.startTime is not None else rows[-n:]


def mark(front: FrontState, market: str) -> int | None:
    v = front.venue.views[market]
    m = front.venue.engine.markets[market]
    return mark_price(v.last_trade, m.bids.best_price(), m.asks.best_price())


def _position(front: FrontState, account: str, sym: Symbol, version: int, now_ns: int) -> dict[str, Any]:
    e = front.venue.engine
    acct = e.accounts.get(account)
    pos = acct.positions.get(sym.market) if acct is not None else None
    m = e.markets[sym.market]
    mk = mark(front, sym.market)
    size = pos.size if pos is not None else 0
    avg = pos.avg_price(m.math) if pos is not None and size else None
    entry = f"{(avg or 0) * float(sym.inst.tick_size):.{sym.tick_dec + 4}f}" if avg else "0.0"
    upnl = pos.unrealized(mk, m.math) if pos is not None and mk is not None and size else 0
    notional = m.math.value(mk, size) if mk is not None else 0
    im = Decimal(front.venue.config.engine.initial_margin)
    initial = cash_text(int(abs(notional) * im))
    row: dict[str, Any] = {
        "symbol": sym.name,
        "positionSide": "BOTH",
        "positionAmt": sym.qty(size),
        "entryPrice": entry,
        "breakEvenPrice": entry,
        "markPrice": sym.px(mk) if mk is not None else "0",
        "unRealizedProfit": cash_text(upnl),
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": cash_text(notional),
        "isolatedWallet": "0",
        "updateTime": front.position_time.get((account, sym.market), 0),
    }
    if version >= 3:
        row |= {
            "marginAsset": sym.inst.settle_asset,
            "initialMargin": initial,
            "maintMargin": "0",
            "positionInitialMargin": initial,
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
        }
    else:
        row |= {
            "leverage": str(int(1 / im)) if im else "1",
            "maxNotionalValue": "1000000000",
            "marginType": "cross",
            "isAutoAddMargin": "false",
        }
    return row


def position_risk(
    front: FrontState, key: BinanceKey, p: dict[str, Any], version: int, now_ns: int
) -> list[dict[str, Any]]:
    q = parse(p, wire.OptionalSymbol)
    syms = [front.symbol(q.symbol)] if q.symbol else list(front.symbols.values())
    acct = front.venue.engine.accounts.get(key.account)
    rows = []
    for sym in syms:
        pos = acct.positions.get(sym.market) if acct is not None else None
        has_orders = bool(front.venue.engine.open_orders(key.account, sym.market))
        if version >= 3 and not (pos is not None and pos.size) and not has_orders:
            continue  # v3 lists only symbols with a position or open orders
        rows.append(_position(front, key.account, sym, version, now_ns))
    return rows


def _assets(front: FrontState, key: BinanceKey, now_ns: int) -> list[dict[str, Any]]:
    e = front.venue.engine
    acct = e.accounts.get(key.account)
    if acct is None:
        return []
    upnl: dict[str, int] = {}
    for sym in front.symbols.values():
        pos = acct.positions.get(sym.market)
        mk = mark(front, sym.market)
        if pos is not None and pos.size and mk is not None:
            a = sym.inst.settle_asset
            upnl[a] = upnl.get(a, 0) + pos.unrealized(mk, e.markets[sym.market].math)
    rows = []
    for asset, bal in sorted(acct.balances.items()):
        held = acct.holds.get(asset, 0)
        u = upnl.get(asset, 0)
        rows.append(
            {
                "asset": asset,
                "walletBalance": cash_text(bal),
                "unrealizedProfit": cash_text(u),
                "marginBalance": cash_text(bal + u),
                "maintMargin": "0.00000000",
                "initialMargin": cash_text(held),
                "positionInitialMargin": cash_text(held),
                "openOrderInitialMargin": "0.00000000",
                "crossWalletBalance": cash_text(bal),
                "crossUnPnl": cash_text(u),
                "availableBalance": cash_text(bal - held + min(u, 0)),
                "maxWithdrawAmount": cash_text(bal - held + min(u, 0)),
                "marginAvailable": True,
                "updateTime": front.started_ms,
            }
        )
    return rows


def balance(front: FrontState, key: BinanceKey, now_ns: int) -> list[dict[str, Any]]:
    return [
        {
            "accountAlias": key.account,
            "asset": a["asset"],
            "balance": a["walletBalance"],
            "crossWalletBalance": a["crossWalletBalance"],
            "crossUnPnl": a["crossUnPnl"],
            "availableBalance": a["availableBalance"],
            "maxWithdrawAmount": a["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": a["updateTime"],
        }
        for a in _assets(front, key, now_ns)
    ]


def account(front: FrontState, key: BinanceKey, version: int, now_ns: int) -> dict[str, Any]:
    assets = _assets(front, key, now_ns)

    def total(field: str) -> str:
        return f"{sum(Decimal(a[field]) for a in assets):.8f}"

    positions = [
        {
            "symbol": row["symbol"],
            "positionSide": "BOTH",
            "positionAmt": row["positionAmt"],
            "unrealizedProfit": row["unRealizedProfit"],
            "isolatedMargin": "0",
            "notional": row["notional"],
            "isolatedWallet": "0",
            "initialMargin": row["initialMargin"],
            "maintMargin": "0",
            "updateTime": row["updateTime"],
        }
        for row in position_risk(front, key, {}, 3, now_ns)
    ]
    out: dict[str, Any] = {
        "totalInitialMargin": total("initialMargin"),
        "totalMaintMargin": "0.00000000",
        "totalWalletBalance": total("walletBalance"),
        "totalUnrealizedProfit": total("unrealizedProfit"),
        "totalMarginBalance": total("marginBalance"),
        "totalPositionInitialMargin": total("positionInitialMargin"),
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalCrossWalletBalance": total("crossWalletBalance"),
        "totalCrossUnPnl": total("crossUnPnl"),
        "availableBalance": total("availableBalance"),
        "maxWithdrawAmount": total("maxWithdrawAmount"),
        "assets": assets,
        "positions": positions,
    }
    if version == 2:
        out |= {
            "feeTier": 0,
            "feeBurn": False,
            "canTrade": key.record.can("trade"),
            "canDeposit": False,
            "canWithdraw": False,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }
    return out


def leverage_bracket(front: FrontState, p: dict[str, Any]) -> Any:
    q = parse(p, wire.OptionalSymbol)
    syms = [front.symbol(q.symbol)] if q.symbol else list(front.symbols.values())
    im = Decimal(front.venue.config.engine.initial_margin)
    lev = int(1 / im) if im else 1
    rows = [
        {
            "symbol": s.name,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": lev,
                    "notionalCap": 10**12,
                    "notionalFloor": 0,
                    "maintMarginRatio": 0.004,
                    "cum": 0.0,
                }
            ],
        }
        for s in syms
    ]
    return rows
