"""Binance USDⓈ-M error codes, and how agenthft's reject codes map onto them (both ways).

The venue's Binance front answers `{"code": <negative int>, "msg": <text>}` with the HTTP
status below; the connector reads the same table backwards (`reject_code`). Messages follow
Binance's documented wording; `%s` is filled with the value that caused the error.
"""

from __future__ import annotations

from typing import NamedTuple

from agenthft.model.rejects import RejectCode


class BinanceError(NamedTuple):
    code: int
    name: str
    msg: str
    http: int = 400


def _table(*errors: BinanceError) -> dict[int, BinanceError]:
    return {e.code: e for e in errors}


ERRORS: dict[int, BinanceError] = _table(
    BinanceError(-1000, "UNKNOWN", "An unknown error occurred while processing the request.", 500),
    BinanceError(
        -1003,
        "TOO_MANY_REQUESTS",
        "Too many requests; current limit of weight is %s per minute. Please use the websocket for live updates "
        "to avoid polling the API.",
        429,
    ),
    BinanceError(-1015, "TOO_MANY_ORDERS", "Too many new orders; current limit is %s.", 429),
    BinanceError(-1021, "INVALID_TIMESTAMP", "Timestamp for this request is outside of the recvWindow."),
    BinanceError(-1022, "INVALID_SIGNATURE", "Signature for this request is not valid."),
    BinanceError(
        -1102,
        "MANDATORY_PARAM_EMPTY_OR_MALFORMED",
        "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
    ),
    BinanceError(-1111, "BAD_PRECISION", "Precision is over the maximum defined for this asset."),
    BinanceError(-1116, "INVALID_ORDER_TYPE", "Invalid orderType."),
    BinanceError(-1117, "INVALID_SIDE", "Invalid side."),
    BinanceError(-1121, "INVALID_SYMBOL", "Invalid symbol."),
    BinanceError(-1125, "INVALID_LISTEN_KEY", "This listenKey does not exist."),
    BinanceError(-1130, "INVALID_PARAMETER", "Data sent for parameter '%s' is not valid."),
    BinanceError(-1131, "BAD_RECV_WINDOW", "recvWindow must be less than 60000"),
    BinanceError(-2010, "NEW_ORDER_REJECTED", "NEW_ORDER_REJECTED: %s"),
    BinanceError(-2011, "CANCEL_REJECTED", "Unknown order sent."),
    BinanceError(-2013, "NO_SUCH_ORDER", "Order does not exist."),
    BinanceError(-2014, "BAD_API_KEY_FMT", "API-key format invalid.", 401),
    BinanceError(-2015, "REJECTED_MBX_KEY", "Invalid API-key, IP, or permissions for action.", 401),
    BinanceError(-2019, "MARGIN_NOT_SUFFICIEN", "Margin is insufficient."),
    BinanceError(-2020, "UNABLE_TO_FILL", "Unable to fill."),
    BinanceError(-2022, "REDUCE_ONLY_REJECT", "ReduceOnly Order is rejected."),
    BinanceError(-2027, "MAX_LEVERAGE_RATIO", "Exceeded the maximum allowable position at current leverage."),
    BinanceError(-4003, "QTY_LESS_THAN_ZERO", "Quantity less than or equal to zero."),
    BinanceError(-4014, "PRICE_NOT_INCREASED_BY_TICK_SIZE", "Price not increased by tick size."),
    BinanceError(-4015, "INVALID_CL_ORD_ID_LEN", "Client order id is not valid."),
    BinanceError(-4016, "PRICE_HIGHTER_THAN_MULTIPLIER_UP", "Limit price can't be higher than %s."),
    BinanceError(-4023, "QTY_NOT_INCREASED_BY_STEP_SIZE", "Quantity not increased by step size."),
    BinanceError(-4024, "PRICE_LOWER_THAN_MULTIPLIER_DOWN", "Limit price can't be lower than %s."),
    BinanceError(-4116, "DUPLICATED_CLIENT_ORDER_ID", "ClientOrderId is duplicated."),
    BinanceError(-4164, "MIN_NOTIONAL", "Order's notional must be no smaller than %s (unless you choose reduce only)."),
    BinanceError(
        -5021, "FOK_ORDER_REJECT", "Due to the order could not be filled immediately, the FOK order has been rejected."
    ),
    BinanceError(
        -5022,
        "GTX_ORDER_REJECT",
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    ),
    BinanceError(-5027, "SAME_ORDER", "No need to modify the order."),
)

#: Our reject code -> Binance's, where one code covers it. Context decides the rest:
#: `unknown_order` is -2011 on a cancel and -2013 on a query; `bad_price` / `bad_qty` become
#: -1111 (too many decimals), -4014 / -4023 (off the grid) or -4003 (not positive); a
#: `price_band` is -4016 for a buy and -4024 for a sell.
FROM_REJECT: dict[RejectCode, int] = {
    RejectCode.UNAUTHORIZED: -2015,
    RejectCode.FORBIDDEN: -2015,
    RejectCode.BAD_REQUEST: -1102,
    RejectCode.RATE_LIMITED: -1015,
    RejectCode.UNKNOWN_MARKET: -1121,
    RejectCode.MARKET_HALTED: -2010,
    RejectCode.BAD_PRICE: -4014,
    RejectCode.BAD_QTY: -4023,
    RejectCode.DUPLICATE_ORDER_ID: -4116,
    RejectCode.UNKNOWN_ORDER: -2011,
    RejectCode.POST_ONLY_WOULD_CROSS: -5022,
    RejectCode.FOK_UNFILLABLE: -5021,
    RejectCode.REDUCE_ONLY: -2022,
    RejectCode.MIN_NOTIONAL: -4164,
    RejectCode.PRICE_BAND: -4016,
    RejectCode.NO_LIQUIDITY: -2020,
    RejectCode.INSUFFICIENT_BALANCE: -2019,
    RejectCode.POSITION_LIMIT: -2027,
    RejectCode.NO_CHANGE: -5027,
}

#: Binance's code -> ours, for a connector reading the venue's answers (the first reject code
#: that maps to it; codes that are not about an order's content map to None).
TO_REJECT: dict[int, RejectCode] = {}
for _ours, _theirs in FROM_REJECT.items():
    TO_REJECT.setdefault(_theirs, _ours)
TO_REJECT.update({-2013: RejectCode.UNKNOWN_ORDER, -1111: RejectCode.BAD_QTY, -4003: RejectCode.BAD_QTY})
TO_REJECT.update({-4024: RejectCode.PRICE_BAND, -1003: RejectCode.RATE_LIMITED, -2014: RejectCode.UNAUTHORIZED})


def reject_code(binance_code: int) -> RejectCode | None:
    """Our reject code for a Binance error code, or None when it is no order rejection."""
    return TO_REJECT.get(binance_code)


def error_body(code: int, *args: object) -> dict[str, object]:
    """`{"code": code, "msg": ...}` with the message's `%s` filled from `args`."""
    e = ERRORS[code]
    msg = e.msg
    for a in args:
        msg = msg.replace("%s", str(a), 1)
    return {"code": code, "msg": msg}


def errors_markdown() -> str:
    """The docs' error table (docs/venues/binance.md), generated from the tables above: our
    reject code, Binance's code, name, HTTP status and message. A test keeps the doc in sync."""
    from agenthft.model.rejects import REJECT_DOCS

    context = {
        RejectCode.UNKNOWN_ORDER: "-2011 (cancel) / -2013 (query, modify)",
        RejectCode.BAD_PRICE: "-4014 (off the tick) / -1111 (too many decimals)",
        RejectCode.BAD_QTY: "-4023 (off the step) / -1111 (too many decimals) / -4003 (not positive)",
        RejectCode.PRICE_BAND: "-4016 (buy) / -4024 (sell)",
    }
    rows = ["| agenthft reject | Binance code | name | HTTP | what |", "|---|---|---|---|---|"]
    for code in RejectCode:
        e = ERRORS[FROM_REJECT[code]]
        rows.append(
            f"| `{code.value}` | {context.get(code, str(e.code))} | {e.name} | {e.http} | {REJECT_DOCS[code]} |"
        )
    rows += ["", "| Binance code | name | HTTP | message |", "|---|---|---|---|"]
    for e in sorted(ERRORS.values(), key=lambda e: -e.code):
        rows.append(f"| {e.code} | {e.name} | {e.http} | {e.msg} |")
    return "\n".join(rows) + "\n"
