"""Hyperliquid's wire format <-> the core's: instruments from `meta` / `spotMeta` on integer
grids, our client order ids as cloids and back, our orders as order wires, `orderUpdates`,
`userFills` and `userEvents` as order events, the reconciliation answers. Pure: no I/O.

Grids (`protocol/hyperliquid/rules.py`): a perp's lot is `10^-szDecimals` and its tick
`10^-(6 - szDecimals)` (8 for spot), the finest step a price may take. Whether a price on that
grid is valid depends on its magnitude (5 significant figures, or a whole number): `check`
refuses an invalid one with `bad_price` before anything is sent, and `round_price` gives a
strategy the nearest valid one in the direction it wants. Nothing is rounded silently.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, NamedTuple

from agenthft.connectors.port import Ack, Done, Filled, Funding, OrderEvent, OrderRequest, Rejected, VenueLimits
from agenthft.model import Instrument, InstrumentKind, Liquidity, OrderType, Side
from agenthft.model.fixed import to_scaled
from agenthft.model.money import RATE_DECIMALS, cash
from agenthft.oms import VenueFill, VenueOrder
from agenthft.protocol.hyperliquid import errors, rules, wire

#: Hyperliquid's base fees (VIP 0): the instruments' unless `userFees` says the account's
PERP_FEES = ("0.00015", "0.00045")
SPOT_FEES = ("0.0004", "0.0007")
#: Hyperliquid's IP limit (request weight per minute, WebSocket posts included) and what the
#: core may spend of it on orders and on cancels (half each: an action weighs 1)
IP_WEIGHT_PER_MIN = 1200
ORDERS_PER_S = IP_WEIGHT_PER_MIN / 60 / 2


class Market(NamedTuple):
    """One Hyperliquid market as the connector trades it."""

    coin: str  # Hyperliquid's name: "BTC", "PURR/USDC", "@107"
    asset: int
    inst: Instrument
    spot: bool
    px_decimals: int
    max_leverage: int


# --- instruments --------------------------------------------------------------------------------
def markets(meta: dict[str, Any], spot_meta: dict[str, Any] | None, fees: dict[str, Any] | None = None) -> list[Market]:
    """Perps from `meta` (asset = index in the universe; delisted ones left out) and spot pairs
    from `spotMeta` (asset = 10000 + index; szDecimals is the base token's), on their grids,
    with the account's fees (`userFees`) where given."""
    fees = fees or {}
    maker, taker = str(fees.get("userAddRate") or PERP_FEES[0]), str(fees.get("userCrossRate") or PERP_FEES[1])
    s_maker = str(fees.get("userSpotAddRate") or SPOT_FEES[0])
    s_taker = str(fees.get("userSpotCrossRate") or SPOT_FEES[1])
    out = []
    for i, u in enumerate(meta.get("universe", [])):
        if u.get("isDelisted"):
            continue
        coin, szd = str(u["name"]), int(u["szDecimals"])
        inst = Instrument(
            coin,
            coin,
            "USDC",
            InstrumentKind.PERP,
            tick_size=rules.tick_size(szd),
            lot_size=rules.lot_size(szd),
            price_sig_figs=rules.MAX_SIG_FIGS,
            min_notional=rules.MIN_ORDER_VALUE,
            maker_fee=maker,
            taker_fee=taker,
            aliases=(f"{coin}-PERP", f"{coin}/USDC:USDC"),
        )
        out.append(Market(coin, i, inst, False, rules.price_decimals(szd), int(u.get("maxLeverage") or 1)))
    if spot_meta:
        tokens = {int(t["index"]): t for t in spot_meta.get("tokens", [])}
        for u in spot_meta.get("universe", []):
            b, q = u["tokens"]
            if b not in tokens or q not in tokens:
                continue
            base, quote = str(tokens[b]["name"]), str(tokens[q]["name"])
            szd, name = int(tokens[b]["szDecimals"]), str(u["name"])
            aliases = tuple(dict.fromkeys(a for a in (f"{base}-{quote}", f"{base}/{quote}") if a != name))
            inst = Instrument(
                name,
                base,
                quote,
                InstrumentKind.SPOT,
                tick_size=rules.tick_size(szd, spot=True),
                lot_size=rules.lot_size(szd),
                price_sig_figs=rules.MAX_SIG_FIGS,
                min_notional=rules.MIN_ORDER_VALUE,
                maker_fee=s_maker,
                taker_fee=s_taker,
                aliases=aliases,
            )
            index = int(u["index"])
            out.append(Market(name, wire.SPOT_ASSET_OFFSET + index, inst, True, rules.price_decimals(szd, True), 1))
    return out


def price_ok(market: Market, ticks: int) -> bool:
    """Whether a price of `ticks` is one Hyperliquid accepts on this market."""
    return rules.price_ok(ticks, market.px_decimals)


def round_price(market: Market, ticks: int, direction: str = "nearest") -> int:
    """The nearest valid price to `ticks` going "down", "up" or "nearest" (a bid rounds down
    and an ask up to stay at least as passive)."""
    return rules.round_price(ticks, market.px_decimals, direction)


def limits(rate: dict[str, Any] | None = None) -> VenueLimits:
    """The IP weight as the core's order and cancel rates, the address budget in `raw`."""
    raw: dict[str, Any] = {"ip_weight_per_min": IP_WEIGHT_PER_MIN}
    if rate:
        raw["address_budget"] = {k: rate.get(k) for k in ("cumVlm", "nRequestsUsed", "nRequestsCap")}
    return VenueLimits(ORDERS_PER_S, ORDERS_PER_S, IP_WEIGHT_PER_MIN, raw)


# --- client order ids <-> cloids --------------------------------------------------------------------
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_PACKED_MAX = 20  # 20 characters x 6 bits = 120 bits: the 15 bytes after the tag
_HASHED_TAG = 0x7F


def cloid_of(order_id: str) -> str:
    """Our client order id as a 16-byte cloid, deterministically. Up to 20 characters of
    [0-9A-Za-z_-] (every id the OMS makes) pack into it and come back (`order_id_of`): the first
    byte says 0x80 + length, then 6 bits a character. Any other id gets a tagged hash (0x7F +
    15 bytes of BLAKE2b), which only the process that sent it can map back."""
    if 0 < len(order_id) <= _PACKED_MAX and all(c in _INDEX for c in order_id):
        n = 0
        for c in order_id:
            n = (n << 6) | _INDEX[c]
        n <<= 6 * (_PACKED_MAX - len(order_id))
        return "0x" + bytes([0x80 | len(order_id)]).hex() + n.to_bytes(15, "big").hex()
    digest = hashlib.blake2b(order_id.encode(), digest_size=15).digest()
    return "0x" + bytes([_HASHED_TAG]).hex() + digest.hex()


def order_id_of(cloid: str) -> str | None:
    """The client order id packed in a cloid `cloid_of` made, or None (a hashed id, or a cloid
    someone else chose)."""
    if not wire.is_cloid(cloid):
        return None
    raw = bytes.fromhex(cloid[2:])
    tag = raw[0]
    length = tag & 0x7F
    if not tag & 0x80 or not 0 < length <= _PACKED_MAX:
        return None
    n = int.from_bytes(raw[1:], "big") >> (6 * (_PACKED_MAX - length))
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[n & 63])
        n >>= 6
    return "".join(reversed(chars))


# --- our orders as Hyperliquid's --------------------------------------------------------------------
TIF = {OrderType.LIMIT: "Gtc", OrderType.POST_ONLY: "Alo", OrderType.IOC: "Ioc", OrderType.MARKET: "Ioc"}


def check(req: OrderRequest, market: Market) -> tuple[str, str] | None:
    """Why Hyperliquid would refuse this order on its face ((code, reason)), or None. Hyperliquid
    has no market order: a MARKET order needs a price (the worst it may trade at: an IOC)."""
    if req.price is None:
        return "bad_request", "Hyperliquid has no market orders: give the worst price (sent as an IOC limit)"
    if req.qty <= 0:
        return "bad_qty", f"quantity {req.qty} lots is not positive"
    if not price_ok(market, req.price):
        near = round_price(market, req.price, "down" if req.side is Side.BUY else "up")
        return (
            "bad_price",
            f"{market.coin} price {market.inst.ticks_to_price(req.price)} has more than 5 significant figures "
            f"(Hyperliquid refuses it; the nearest valid one this side is {market.inst.ticks_to_price(near)}: "
            "connectors.hyperliquid.round_price)",
        )
    return None


def order_wire(req: OrderRequest, market: Market, cloid: str) -> dict[str, Any]:
    assert req.price is not None
    g = market.inst.grid
    tif = TIF.get(req.order_type, "Gtc")
    return wire.order_wire(
        market.asset,
        req.side is Side.BUY,
        g.ticks_to_price(req.price),
        g.lots_to_qty(req.qty),
        req.reduce_only,
        tif,
        cloid,
    )


# --- the account's events ---------------------------------------------------------------------------
#: an order status that ends an order without a fill -> the reason our Done says
DONE = {
    "canceled": "cancelled",
    "scheduledCancel": "scheduled_cancel",
    "selfTradeCanceled": "self_trade",
    "reduceOnlyCanceled": "reduce_only",
    "marginCanceled": "margin",
    "vaultWithdrawalCanceled": "vault_withdrawal",
    "openInterestCapCanceled": "open_interest_cap",
    "siblingFilledCanceled": "sibling_filled",
    "delistedCanceled": "delisted",
    "liquidatedCanceled": "liquidated",
}
#: an order status that refuses an order -> our reject code (the shared table, and the rest)
REJECTED: dict[str, str] = {e.status: e.code.value for e in errors.ERRORS.values() if e.status != "rejected"} | {
    "iocCancelRejected": errors.IOC_NOT_FILLED,
    "insufficientSpotBalanceRejected": "insufficient_balance",
    "positionIncreaseAtOpenInterestCapRejected": "position_limit",
    "positionFlipAtOpenInterestCapRejected": "position_limit",
    "tooAggressiveAtOpenInterestCapRejected": "price_band",
    "openInterestIncreaseRejected": "position_limit",
    "badTriggerPxRejected": "bad_price",
    "rejected": "venue_error",
}


def order_event(update: dict[str, Any], market: Market, order_id: str) -> OrderEvent | None:
    """One `orderUpdates` item: "open" an Ack, a cancel status a Done with what was left, a
    rejection status a Rejected; "filled" and "triggered" None (fills carry them)."""
    o = update.get("order") or {}
    status = str(update.get("status", ""))
    ts = int(update.get("statusTimestamp") or o.get("timestamp") or 0) * 1_000_000
    if status == "open":
        return Ack(order_id, int(o["oid"]), ts)
    if status in DONE:
        return Done(order_id, DONE[status], market.inst.qty_to_lots(str(o.get("sz", "0"))), ts)
    if status in REJECTED or status.endswith("Rejected"):
        return Rejected(order_id, REJECTED.get(status, "venue_error"), f"Hyperliquid: {status}", ts)
    return None


def venue_fill(f: dict[str, Any], market: Market, order_id: str) -> VenueFill:
    """A `userFills` item. Its `tid` is the fill id (one per fill of an account); the fee counts
    when paid in the instrument's settlement asset."""
    g = market.inst.grid
    fee_token = f.get("feeToken") or market.inst.settle_asset
    fee = cash(str(f.get("fee", "0"))) if fee_token == market.inst.settle_asset else 0
    return VenueFill(
        order_id,
        int(f["tid"]),
        market.inst.market,
        Side.BUY if f["side"] == "B" else Side.SELL,
        g.qty_to_lots(str(f["sz"])),
        g.price_to_ticks(str(f["px"])),
        fee,
        int(f["time"]) * 1_000_000,
    )


def filled(f: dict[str, Any], market: Market, order_id: str, remaining: int) -> Filled:
    liquidity = Liquidity.TAKER if f.get("crossed") else Liquidity.MAKER
    return Filled(venue_fill(f, market, order_id), liquidity, remaining)


def funding_event(funding: dict[str, Any], market: Market) -> Funding:
    """A `userEvents` funding payment: `usdc` is what the account received (negative: paid),
    so the core's amount (negative: received) is its opposite; `fundingRate` is hourly.
    Hyperliquid does not say the mark it charged at here (0)."""
    return Funding(
        market.inst.market,
        -cash(str(funding.get("usdc", "0"))),
        to_scaled(str(funding.get("fundingRate", "0")), RATE_DECIMALS),
        0,
        market.inst.qty_to_lots(str(funding.get("szi", "0"))),
        market.inst.settle_asset,
        int(funding.get("time", 0)) * 1_000_000,
    )


# --- reconciliation -----------------------------------------------------------------------------------
def venue_order(o: dict[str, Any], market: Market, order_id: str) -> VenueOrder:
    """An `openOrders` / `frontendOpenOrders` item (`sz` is what is left; `origSz` the size)."""
    g = market.inst.grid
    left = g.qty_to_lots(str(o["sz"]))
    size = g.qty_to_lots(str(o.get("origSz") or o["sz"]))
    return VenueOrder(
        order_id,
        int(o["oid"]),
        market.inst.market,
        Side.BUY if o["side"] == "B" else Side.SELL,
        g.price_to_ticks(str(o["limitPx"])),
        size,
        size - left,
    )


def positions(state: dict[str, Any], by_coin: dict[str, Market]) -> dict[str, int]:
    """`clearinghouseState` positions: market -> signed lots."""
    out = {}
    for p in state.get("assetPositions", []):
        pos = p.get("position") or {}
        m = by_coin.get(str(pos.get("coin")))
        if m is not None and Decimal(str(pos.get("szi", "0"))):
            out[m.inst.market] = m.inst.qty_to_lots(str(pos["szi"]))
    return out


def balances(state: dict[str, Any] | None, spot: dict[str, Any] | None) -> dict[str, int]:
    """Cash by asset: the perp account's value (USDC, `marginSummary.accountValue`) and the spot
    balances (a spot USDC balance adds to the perp one)."""
    out: dict[str, int] = {}
    if state:
        out["USDC"] = cash(str((state.get("marginSummary") or {}).get("accountValue", "0")))
    for b in (spot or {}).get("balances", []):
        coin = str(b.get("coin"))
        out[coin] = out.get(coin, 0) + cash(str(b.get("total", "0")))
    return out
