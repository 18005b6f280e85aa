"""Hyperliquid's error strings, and how agenthft's reject codes map onto them (both ways).

Hyperliquid answers an order it refuses with `{"error": "<text>"}` in its place in
`statuses`, a cancel with `{"error": "Order was never placed, already canceled, or filled."}`,
and a request it refuses whole (signature, nonce, rate limit) with `{"status": "err",
"response": "<text>"}`, still HTTP 200. There are no codes: clients match the text. The venue's
Hyperliquid front writes the texts below; the connector reads them back by prefix
(`reject_code`). Texts marked "ours" are where Hyperliquid's documentation gives none for a
case the venue has (its wording is then a guess, kept close to the documented ones). Sources:
"docs" (Hyperliquid's gitbook), "ccxt" (ccxt's hyperliquid error table, which matches the live
server's texts), "reported" (third parties; unverified), "ours".
"""

from __future__ import annotations

from typing import NamedTuple

from agenthft.model.rejects import RejectCode


class HlError(NamedTuple):
    code: RejectCode
    text: str  # `{}` placeholders filled with the values that caused it
    status: str  # the order status `orderStatus` / `orderUpdates` report ("" when none)
    source: str = "docs"


#: our reject code -> Hyperliquid's text (documented unless marked "ours")
ERRORS: dict[RejectCode, HlError] = {
    e.code: e
    for e in (
        HlError(RejectCode.BAD_PRICE, "Order has invalid price.", "tickRejected", "ccxt"),
        HlError(RejectCode.BAD_QTY, "Order has invalid size.", "rejected", "ccxt"),
        HlError(RejectCode.MIN_NOTIONAL, "Order must have minimum value of {}.", "minTradeNtlRejected"),
        HlError(RejectCode.INSUFFICIENT_BALANCE, "Insufficient margin to place order.", "perpMarginRejected"),
        HlError(RejectCode.REDUCE_ONLY, "Reduce only order would increase position.", "reduceOnlyRejected"),
        HlError(
            RejectCode.POST_ONLY_WOULD_CROSS,
            "Post only order would have immediately matched, bbo was {}.",
            "badAloPxRejected",
            "docs (the bid@ask form: reported)",
        ),
        HlError(RejectCode.NO_LIQUIDITY, "No liquidity available for market order.", "marketOrderNoLiquidityRejected"),
        HlError(
            RejectCode.PRICE_BAND,
            "Order price cannot be more than 80% away from the reference price",
            "oracleRejected",
            "ccxt",
        ),
        HlError(
            RejectCode.POSITION_LIMIT,
            "Order would cause position to exceed margin tier limit at current leverage",
            "perpMaxPositionRejected",
        ),
        HlError(RejectCode.UNKNOWN_ORDER, "Order was never placed, already canceled, or filled.", ""),
        HlError(RejectCode.RATE_LIMITED, "Too many cumulative requests sent ({}).", "", "ccxt"),
        HlError(RejectCode.UNAUTHORIZED, "User or API Wallet {} does not exist.", ""),
        # ours: the venue has these cases; Hyperliquid's docs name no text for them
        HlError(RejectCode.UNKNOWN_MARKET, "Unknown asset {}.", "rejected", "ours"),
        HlError(RejectCode.MARKET_HALTED, "Trading is halted for this asset.", "rejected", "ours"),
        HlError(RejectCode.DUPLICATE_ORDER_ID, "Order with this cloid is already open.", "rejected", "ours"),
        HlError(RejectCode.NO_CHANGE, "Modify would not change the order.", "rejected", "ours"),
        HlError(RejectCode.FORBIDDEN, "This wallet may not trade.", "rejected", "ours"),
        HlError(RejectCode.BAD_REQUEST, "Invalid request: {}", "rejected", "ours"),
        HlError(RejectCode.FOK_UNFILLABLE, "Order could not be filled whole.", "rejected", "ours"),
    )
}

#: an IOC that found nothing to trade: Hyperliquid rejects it (status iocCancelRejected) where
#: other venues expire it; agenthft's code for it is benign (risk/engine.py BENIGN_CODES)
IOC_NOT_FILLED = "ioc_not_filled"
IOC_NOT_FILLED_TEXT = "Order could not immediately match against any resting orders."
TICK_TEXT = "Price must be divisible by tick size."  # the venue's own grid, where coarser than the rule's
ZERO_SIZE_TEXT = "Order has zero size."
#: whole-request errors ({"status": "err", "response": ...})
UNABLE_TO_RECOVER = "Unable to recover signer."
MUST_DEPOSIT = "Must deposit before performing actions. User: {}"
EXPIRED = "Action already expired"

#: prefixes of the texts a client may meet, longest first wins (documented and ours)
_PREFIXES: list[tuple[str, str]] = sorted(
    [(e.text.split("{", 1)[0].rstrip(), e.code.value) for e in ERRORS.values()]
    + [
        (IOC_NOT_FILLED_TEXT, IOC_NOT_FILLED),
        (TICK_TEXT, RejectCode.BAD_PRICE.value),
        (ZERO_SIZE_TEXT, RejectCode.BAD_QTY.value),
        ("Order price too far from oracle", RejectCode.PRICE_BAND.value),
        ("Price too far from oracle", RejectCode.PRICE_BAND.value),
        ("Order has insufficient spot balance", RejectCode.INSUFFICIENT_BALANCE.value),
        ("(Spot-only) Order has insufficient spot balance", RejectCode.INSUFFICIENT_BALANCE.value),
        ("Insufficient spot balance", RejectCode.INSUFFICIENT_BALANCE.value),
        ("Order would increase open interest", RejectCode.POSITION_LIMIT.value),
        ("Invalid nonce", RejectCode.BAD_REQUEST.value),
        ("Unable to recover signer", RejectCode.UNAUTHORIZED.value),
        ("L1 error: User or API Wallet", RejectCode.UNAUTHORIZED.value),
        ("Must deposit before performing actions", RejectCode.UNAUTHORIZED.value),
        ("Too many", RejectCode.RATE_LIMITED.value),
    ],
    key=lambda p: -len(p[0]),
)


def _known(code: str) -> HlError | None:
    try:
        return ERRORS.get(RejectCode(code))
    except ValueError:
        return None


def text_of(code: str, *args: object) -> str:
    """Hyperliquid's text for one of our reject codes (the values filled in)."""
    if code == IOC_NOT_FILLED:
        return IOC_NOT_FILLED_TEXT
    err = _known(code)
    if err is None:
        return ERRORS[RejectCode.BAD_REQUEST].text.format(code)
    text = err.text
    n = text.count("{}")
    if n:
        filled = [*[str(a) for a in args[:n]], *["?"] * max(0, n - len(args))]
        text = text.format(*filled)
    return text


def status_of(code: str) -> str:
    """The order status Hyperliquid reports for an order refused with our `code`."""
    if code == IOC_NOT_FILLED:
        return "iocCancelRejected"
    err = _known(code)
    return err.status if err is not None and err.status else "rejected"


def reject_code(text: str) -> str:
    """agenthft's reject code for a Hyperliquid error text (`venue_error` when it names none)."""
    for prefix, code in _PREFIXES:
        if text.startswith(prefix):
            return code
    return "venue_error"


def errors_markdown() -> str:
    """The docs' error table (docs/venues/hyperliquid.md), generated from the tables above: our
    reject code, the text the venue's front answers (and the connector reads back), the order
    status it reports, whether the text is Hyperliquid's documented one. A test keeps the doc
    in sync."""
    rows = ["| agenthft reject | Hyperliquid's text | order status | source |", "|---|---|---|---|"]
    rows += [f"| `{e.code.value}` | {e.text} | {e.status or '-'} | {e.source} |" for e in ERRORS.values()]
    extra = [
        (IOC_NOT_FILLED, IOC_NOT_FILLED_TEXT, "iocCancelRejected", "docs"),
        ("bad_price", TICK_TEXT + " (off the venue's own grid)", "tickRejected", "docs"),
        ("bad_qty", ZERO_SIZE_TEXT, "rejected", "ccxt"),
        ("unauthorized", "L1 error: User or API Wallet 0x... does not exist. (the whole request)", "-", "docs"),
        ("unauthorized", MUST_DEPOSIT.format("0x...") + " (a user-signed action by no user)", "-", "docs"),
        ("unauthorized", UNABLE_TO_RECOVER + " (the whole request)", "-", "reported"),
        ("bad_request", "Invalid nonce: duplicate nonce N / nonce too low N < M / too high N > M", "-", "reported"),
        ("bad_request", EXPIRED + " (the whole request)", "-", "reported"),
    ]
    rows += [f"| `{code}` | {text} | {status} | {source} |" for code, text, status, source in extra]
    return "\n".join(rows) + "\n"
