"""`/info` (and a WebSocket `post` of type info): the venue's state in Hyperliquid's shapes.

`user` is the master account's address (an agent's address has no state of its own and gets
empty answers, as on Hyperliquid). Numbers are decimal strings except ids, times (ms),
`szDecimals`, leverage and counts. An unknown `type` is HTTP 422 with Hyperliquid's text.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agenthft.model import OrderStatus, OrderType, Side, mark_price
from agenthft.model.money import CASH_UNIT
from agenthft.protocol.hyperliquid import wire
from agenthft.venue.fronts.hyperliquid.coins import Coin
from agenthft.venue.fronts.hyperliquid.exchange import TIF_OF, Undeserializable
from agenthft.venue.outcome import OrderInfo

if TYPE_CHECKING:
    from agenthft.venue.fronts.hyperliquid.state import FrontState

BOOK_LEVELS = 20
FILLS_KEPT = 2000  # at most this many fills per answer, newest first
WEIGHT_2 = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"}
)
PER_20_ITEMS = frozenset({"userFills", "userFillsByTime", "historicalOrders", "fundingHistory", "userFunding"})


def weight(kind: object, answer: Any = None) -> int:
    """Hyperliquid's IP weight of an info request (items answered counted where it says so)."""
    if kind in WEIGHT_2:
        return 2
    if kind == "userRole":
        return 60
    extra = len(answer) // 20 if kind in PER_20_ITEMS and isinstance(answer, list) else 0
    return 20 + extra


def _cash(units: int) -> str:
    return format((Decimal(units) / CASH_UNIT).normalize(), "f") if units else "0.0"


def _side(side: Side) -> str:
    return "B" if side is Side.BUY else "A"


def _ms(ns: int) -> int:
    return ns // 1_000_000


# --- market ---------------------------------------------------------------------------------------
def mark(front: FrontState, market: str) -> int | None:
    m = front.venue.engine.markets[market]
    return mark_price(front.venue.views[market].last_trade, m.bids.best_price(), m.asks.best_price())


def levels(front: FrontState, coin: Coin, depth: int = BOOK_LEVELS) -> list[list[dict[str, Any]]]:
    """Both sides, best first, at most `depth` levels each: {px, sz, n (orders)}."""
    m = front.venue.engine.markets[coin.market]
    out = []
    for side in (m.bids, m.asks):
        rows = []
        for k in reversed(side.keys[-depth:]):
            lv = side.levels[k * side.sign]
            rows.append({"px": coin.px(lv.price), "sz": coin.sz(lv.visible), "n": lv.live})
        out.append(rows)
    return out


def l2_book(front: FrontState, coin: Coin, now_ns: int) -> dict[str, Any]:
    return {"coin": coin.name, "time": _ms(now_ns), "levels": levels(front, coin)}


def mid(front: FrontState, coin: Coin) -> str | None:
    m = front.venue.engine.markets[coin.market]
    b, a = m.bids.best_price(), m.asks.best_price()
    if b is None or a is None:
        return None
    return format((Decimal(coin.px(b)) + Decimal(coin.px(a))) / 2, "f")


def all_mids(front: FrontState) -> dict[str, str]:
    out = {}
    for c in front.coins.by_asset.values():
        px = mid(front, c)
        if px is None:
            last = front.venue.views[c.market].last_trade
            px = c.px(last) if last is not None else None
        if px is not None:
            out[c.name] = px
    return out


def _meta(front: FrontState) -> dict[str, Any]:
    lev = front.max_leverage
    return {
        "universe": [
            {"name": c.name, "szDecimals": c.sz_decimals, "maxLeverage": lev, "marginTableId": lev}
            for c in front.coins.perps
        ],
        "marginTables": [[lev, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": lev}]}]],
    }


def asset_ctx(front: FrontState, c: Coin) -> dict[str, Any]:
    """A perp's context (metaAndAssetCtxs, activeAssetCtx): the venue's mark stands for the
    oracle and mark prices; no funding."""
    mk = mark(front, c.market)
    m = front.venue.engine.markets[c.market]
    b, a = m.bids.best_price(), m.asks.best_price()
    px = c.px(mk) if mk is not None else "0"
    vol_lots, vol_value = front.volume.get(c.market, (0, 0))
    return {
        "dayNtlVlm": str(Decimal(vol_value) * Decimal(c.inst.tick_size) * Decimal(c.inst.lot_size)),
        "funding": "0.0",
        "impactPxs": [c.px(b), c.px(a)] if b is not None and a is not None else None,
        "markPx": px,
        "midPx": mid(front, c),
        "openInterest": c.sz(front.open_interest(c.market)),
        "oraclePx": px,
        "premium": "0.0",
        "prevDayPx": px,
        "dayBaseVlm": c.sz(vol_lots),
    }


def _spot_meta(front: FrontState) -> dict[str, Any]:
    coins = front.coins
    return {
        "tokens": [
            {
                "name": name,
                "szDecimals": szd,
                "weiDecimals": 8,
                "index": i,
                "tokenId": "0x" + f"{i:032x}",
                "isCanonical": True,
                "evmContract": None,
                "fullName": None,
            }
            for i, (name, szd) in enumerate(coins.tokens)
        ],
        "universe": [
            {
                "name": c.name,
                "tokens": [coins.token_index(c.inst.base), coins.token_index(c.inst.quote)],
                "index": c.index,
                "isCanonical": True,
            }
            for c in coins.spots
        ],
    }


def spot_ctx(front: FrontState, c: Coin) -> dict[str, Any]:
    ctx = asset_ctx(front, c)
    return {k: ctx[k] for k in ("dayNtlVlm", "markPx", "midPx", "prevDayPx")} | {
        "circulatingSupply": "0",
        "coin": c.name,
    }


# --- an account -----------------------------------------------------------------------------------
def status_of(front: FrontState, info: OrderInfo) -> str:
    """Hyperliquid's order status of a venue order."""
    s = info.status
    if s in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        return "open"
    if s is OrderStatus.FILLED:
        return "filled"
    if info.oid in front.scheduled_cancels:
        return "scheduledCancel"
    if info.reason == "self_trade":
        return "selfTradeCanceled"
    if info.reason == "ioc" and not info.filled:
        return "iocCancelRejected"
    return "canceled"


def order_record(front: FrontState, info: OrderInfo, frontend: bool = True) -> dict[str, Any]:
    coin = front.coins.by_market[info.market]
    left = info.remaining if not info.done else 0
    rec: dict[str, Any] = {
        "coin": coin.name,
        "side": _side(info.side),
        "limitPx": coin.px(info.price),
        "sz": coin.sz(left),
        "oid": info.oid,
        "timestamp": _ms(info.ts_ns),
        "origSz": coin.sz(info.qty),
        "cloid": info.order_id if wire.is_cloid(info.order_id) else None,
    }
    if frontend:
        rec |= {
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": info.reduce_only,
            "orderType": "Limit",
            "tif": TIF_OF.get(info.order_type, "Gtc"),
        }
    return rec


def open_orders(front: FrontState, account: str | None, frontend: bool) -> list[dict[str, Any]]:
    if account is None:
        return []
    infos = [i for i in front.venue.open_order_infos(account) if i.market in front.coins.by_market]
    return [order_record(front, i, frontend) for i in reversed(infos)]  # newest first


def order_status(front: FrontState, account: str | None, ref: Any) -> dict[str, Any]:
    info = None
    if account is not None:
        if isinstance(ref, str) and wire.is_cloid(ref):
            info = front.venue.find_order(account, ref.lower())
        elif isinstance(ref, int) and not isinstance(ref, bool):
            info = front.venue.find_order(account, None, ref)
    if info is None or info.market not in front.coins.by_market:
        return {"status": "unknownOid"}
    return {
        "status": "order",
        "order": {
            "order": order_record(front, info),
            "status": status_of(front, info),
            "statusTimestamp": _ms(info.updated_ns),
        },
    }


def historical_orders(front: FrontState, account: str | None) -> list[dict[str, Any]]:
    if account is None:
        return []
    infos = front.venue.done_orders(account) + front.venue.open_order_infos(account)
    infos = sorted((i for i in infos if i.market in front.coins.by_market), key=lambda i: -i.oid)
    return [
        {"order": order_record(front, i), "status": status_of(front, i), "statusTimestamp": _ms(i.updated_ns)}
        for i in infos[:FILLS_KEPT]
    ]


def clearinghouse(front: FrontState, account: str | None, now_ns: int) -> dict[str, Any]:
    """Perp positions and the margin summary (cross margin; the engine's initial margin)."""
    e = front.venue.engine
    acct = e.accounts.get(account) if account is not None else None
    positions = []
    ntl = margin = upnl_total = 0
    im = Decimal(front.venue.config.engine.initial_margin)
    settle = "USDC"
    if acct is not None:
        for c in front.coins.perps:
            pos = acct.positions.get(c.market)
            if pos is None or not pos.size:
                continue
            m = e.markets[c.market]
            settle = c.inst.settle_asset
            mk = mark(front, c.market)
            value = abs(m.math.value(mk, pos.size)) if mk is not None else 0
            upnl = pos.unrealized(mk, m.math) if mk is not None else 0
            used = int(value * im)
            ntl, margin, upnl_total = ntl + value, margin + used, upnl_total + upnl
            avg = pos.avg_price(m.math)
            lev, cross = front.leverage.get((account or "", c.market), (front.max_leverage, True))
            positions.append(
                {
                    "type": "oneWay",
                    "position": {
                        "coin": c.name,
                        "szi": c.sz(pos.size),
                        "entryPx": str(Decimal(avg or 0) * Decimal(c.inst.tick_size)) if avg else None,
                        "positionValue": _cash(value),
                        "unrealizedPnl": _cash(upnl),
                        "returnOnEquity": str((Decimal(upnl) / used).quantize(Decimal("0.0001"))) if used else "0.0",
                        "liquidationPx": None,
                        "leverage": {"type": "cross" if cross else "isolated", "value": lev},
                        "marginUsed": _cash(used),
                        "maxLeverage": front.max_leverage,
                        "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"},
                    },
                }
            )
    balance = acct.balances.get(settle, 0) if acct is not None else 0
    held = acct.holds.get(settle, 0) if acct is not None else 0
    value = balance + upnl_total
    summary = {
        "accountValue": _cash(value),
        "totalNtlPos": _cash(ntl),
        "totalRawUsd": _cash(balance),
        "totalMarginUsed": _cash(margin),
    }
    return {
        "marginSummary": summary,
        "crossMarginSummary": dict(summary),
        "crossMaintenanceMarginUsed": _cash(margin // 2),
        "withdrawable": _cash(max(0, balance - held + min(0, upnl_total))),
        "assetPositions": positions,
        "time": _ms(now_ns),
    }


def spot_clearinghouse(front: FrontState, account: str | None) -> dict[str, Any]:
    acct = front.venue.engine.accounts.get(account) if account is not None else None
    rows = []
    if acct is not None:
        for asset, bal in sorted(acct.balances.items()):
            rows.append(
                {
                    "coin": asset,
                    "token": front.coins.token_index(asset),
                    "total": _cash(bal),
                    "hold": _cash(acct.holds.get(asset, 0)),
                    "entryNtl": "0.0",
                }
            )
    return {"balances": rows}


def user_fees(front: FrontState) -> dict[str, Any]:
    perp = front.coins.perps[0].inst if front.coins.perps else None
    spot = front.coins.spots[0].inst if front.coins.spots else perp
    maker, taker = (perp.maker_fee, perp.taker_fee) if perp else ("0.00015", "0.00045")
    s_maker, s_taker = (spot.maker_fee, spot.taker_fee) if spot else (maker, taker)
    return {
        "dailyUserVlm": [],
        "feeSchedule": {"cross": taker, "add": maker, "spotCross": s_taker, "spotAdd": s_maker, "tiers": {}},
        "userCrossRate": taker,
        "userAddRate": maker,
        "userSpotCrossRate": s_taker,
        "userSpotAddRate": s_maker,
        "activeReferralDiscount": "0.0",
        "trial": None,
        "feeTrialReward": "0.0",
        "nextTrialAvailableTimestamp": None,
    }


def user_fills(front: FrontState, account: str | None, start_ms: int = 0, end_ms: int | None = None) -> Any:
    if account is None:
        return []
    rows = [f for f in reversed(front.fills.get(account, ())) if f["time"] >= start_ms]
    if end_ms is not None:
        rows = [f for f in rows if f["time"] <= end_ms]
    return rows[:FILLS_KEPT]


# --- dispatch -------------------------------------------------------------------------------------
def _str(body: dict[str, Any], key: str) -> str:
    v = body.get(key)
    if not isinstance(v, str):
        raise Undeserializable(f"missing field `{key}`")
    return v


def handle(front: FrontState, body: Any, now_ns: int | None = None) -> Any:
    """One `/info` body -> its JSON answer (Undeserializable: HTTP 422)."""
    now = time.time_ns() if now_ns is None else now_ns
    if not isinstance(body, dict):
        raise Undeserializable("the body is a JSON object")
    kind = body.get("type")

    def account() -> str | None:
        user = _str(body, "user").lower()
        rec = front.wallets.users.get(user)
        return rec.account_id if rec is not None else None

    if kind == "meta":
        return _meta(front)
    if kind == "metaAndAssetCtxs":
        return [_meta(front), [asset_ctx(front, c) for c in front.coins.perps]]
    if kind == "spotMeta":
        return _spot_meta(front)
    if kind == "spotMetaAndAssetCtxs":
        return [_spot_meta(front), [spot_ctx(front, c) for c in front.coins.spots]]
    if kind == "perpDexs":
        return [None]
    if kind == "allMids":
        return all_mids(front)
    if kind == "l2Book":
        coin = front.coins.by_name.get(_str(body, "coin"))
        return l2_book(front, coin, now) if coin is not None else None
    if kind == "exchangeStatus":
        return {"specialStatuses": None, "time": _ms(now)}
    if kind == "clearinghouseState":
        return clearinghouse(front, account(), now)
    if kind == "spotClearinghouseState":
        return spot_clearinghouse(front, account())
    if kind == "openOrders":
        return open_orders(front, account(), False)
    if kind == "frontendOpenOrders":
        return open_orders(front, account(), True)
    if kind == "orderStatus":
        return order_status(front, account(), body.get("oid"))
    if kind == "historicalOrders":
        return historical_orders(front, account())
    if kind == "userFills":
        return user_fills(front, account())
    if kind == "userFillsByTime":
        start = body.get("startTime")
        if not isinstance(start, int):
            raise Undeserializable("missing field `startTime`")
        end = body.get("endTime")
        return user_fills(front, account(), start, end if isinstance(end, int) else None)
    if kind == "userFees":
        return user_fees(front)
    if kind == "userRateLimit":
        return front.budget.report(account() or "")
    if kind == "userRole":
        user = _str(body, "user").lower()
        if user in front.wallets.users:
            return {"role": "user"}
        agent = front.wallets.agents.get(user)
        return {"role": "agent", "data": {"user": agent.master}} if agent is not None else {"role": "missing"}
    if kind == "extraAgents":
        return [
            {"name": a.name, "address": a.address, "validUntil": a.valid_until_ms or None}
            for a in front.wallets.agents_of(_str(body, "user"))
        ]
    if kind == "userAbstraction":
        return "disabled"
    if kind == "maxBuilderFee":
        return 0
    if kind in ("fundingHistory", "userFunding", "userNonFundingLedgerUpdates", "candleSnapshot", "subAccounts"):
        return []
    if kind == "predictedFundings":
        return []
    if kind == "activeAssetData":
        coin = front.coins.by_name.get(_str(body, "coin"))
        user = _str(body, "user")
        if coin is None:
            return None
        lev, cross = front.leverage.get((account() or "", coin.market), (front.max_leverage, True))
        mk = mark(front, coin.market)
        return {
            "user": user,
            "coin": coin.name,
            "leverage": {"type": "cross" if cross else "isolated", "value": lev},
            "maxTradeSzs": ["0", "0"],
            "availableToTrade": ["0", "0"],
            "markPx": coin.px(mk) if mk is not None else "0",
        }
    raise Undeserializable(f"unknown info type {kind!r}")


def fill_record(
    front: FrontState,
    coin: Coin,
    info: OrderInfo | None,
    order_id: str,
    oid: int,
    side: Side,
    price: int,
    qty: int,
    fee: int,
    taker: bool,
    trade_id: int,
    ts_ns: int,
    start: int,
    closed: int,
) -> dict[str, Any]:
    """A fill as `userFills` / `user` / WS `userFills` carry it."""
    if coin.spot:
        direction = "Buy" if side is Side.BUY else "Sell"
    else:
        after = start + (qty if side is Side.BUY else -qty)
        if start == 0 or ((start > 0) == (after > 0) and abs(after) > abs(start)):
            direction = "Open Long" if after > 0 else "Open Short"
        elif after == 0 or (start > 0) == (after > 0):
            direction = "Close Long" if start > 0 else "Close Short"
        else:
            direction = "Long > Short" if start > 0 else "Short > Long"
    rec: dict[str, Any] = {
        "coin": coin.name,
        "px": coin.px(price),
        "sz": coin.sz(qty),
        "side": _side(side),
        "time": _ms(ts_ns),
        "startPosition": coin.sz(start),
        "dir": direction,
        "closedPnl": _cash(closed),
        "hash": "0x" + f"{trade_id:064x}",
        "oid": oid,
        "crossed": taker,
        "fee": _cash(fee),
        "tid": trade_id,
        "feeToken": coin.inst.settle_asset if not coin.spot else coin.inst.quote,
    }
    if wire.is_cloid(order_id):
        rec["cloid"] = order_id
    return rec


__all__ = ["OrderType", "handle", "weight"]
