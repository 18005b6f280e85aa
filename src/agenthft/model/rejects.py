"""Why a venue refuses an order, cancel or amend: one closed vocabulary, shared by the venue
(every front answers with it or maps it: protocol/binance_usdm/errors.py) and the agent side."""

from __future__ import annotations

from enum import StrEnum


class RejectCode(StrEnum):
    """Why the venue refused a request. The value is the wire code; the docstring of each
    member (in `REJECT_DOCS`) is what the docs table says."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    UNKNOWN_MARKET = "unknown_market"
    MARKET_HALTED = "market_halted"
    BAD_PRICE = "bad_price"
    BAD_QTY = "bad_qty"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    UNKNOWN_ORDER = "unknown_order"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_UNFILLABLE = "fok_unfillable"
    REDUCE_ONLY = "reduce_only"
    MIN_NOTIONAL = "min_notional"
    PRICE_BAND = "price_band"
    NO_LIQUIDITY = "no_liquidity"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    POSITION_LIMIT = "position_limit"
    NO_CHANGE = "no_change"


REJECT_DOCS: dict[RejectCode, str] = {
    RejectCode.UNAUTHORIZED: "no valid key (or signature) on the request",
    RejectCode.FORBIDDEN: "the key lacks the scope (read / trade)",
    RejectCode.BAD_REQUEST: "malformed or missing field",
    RejectCode.RATE_LIMITED: "over the key's order or cancel rate (its tier)",
    RejectCode.UNKNOWN_MARKET: "no such market (or alias)",
    RejectCode.MARKET_HALTED: "the market is halted",
    RejectCode.BAD_PRICE: "price off the tick grid, not a number, or not positive",
    RejectCode.BAD_QTY: "quantity off the lot grid, not a number, not positive, or not above what has filled",
    RejectCode.DUPLICATE_ORDER_ID: "the account has a live order with this client order id (the original is untouched)",
    RejectCode.UNKNOWN_ORDER: "no open order with this id on this account",
    RejectCode.POST_ONLY_WOULD_CROSS: "a post-only order (or amend) would take liquidity",
    RejectCode.FOK_UNFILLABLE: "a fill-or-kill order cannot fill whole on arrival",
    RejectCode.REDUCE_ONLY: "a reduce-only order would not reduce the position (or exceeds it)",
    RejectCode.MIN_NOTIONAL: "price x quantity under the market's minimum notional (rules.min_notional)",
    RejectCode.PRICE_BAND: "a limit price beyond the band around the mark (rules.price_band_bps)",
    RejectCode.NO_LIQUIDITY: "a market order with nothing on the other side",
    RejectCode.INSUFFICIENT_BALANCE: "not enough available balance for the hold (margin, or the spot amount)",
    RejectCode.POSITION_LIMIT: "the position could exceed the account's limit (open orders count)",
    RejectCode.NO_CHANGE: "an amend to the price and quantity the order already has",
}
