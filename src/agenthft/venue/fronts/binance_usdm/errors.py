"""Binance errors as the front raises them, and our outcomes mapped onto Binance's codes."""

from __future__ import annotations

from agenthft.model import Side
from agenthft.model.fixed import GridError, decimals_of, to_scaled
from agenthft.model.instrument import Grid
from agenthft.model.rejects import RejectCode
from agenthft.protocol.binance_usdm.errors import ERRORS, FROM_REJECT, error_body
from agenthft.venue.outcome import Outcome


class FrontError(Exception):
    """A Binance error answer: `body` is `{"code", "msg"}`, `http` its status."""

    def __init__(self, code: int, *args: object, http: int | None = None, retry_after: int | None = None) -> None:
        self.body = error_body(code, *args)
        super().__init__(self.body["msg"])
        self.code = code
        self.http = http if http is not None else ERRORS[code].http
        self.retry_after = retry_after


def mandatory(name: str) -> FrontError:
    return FrontError(-1102, name)


def _decimals(text: object) -> int | None:
    s = str(text).strip()
    try:
        return decimals_of(s) if "e" not in s.lower() else None
    except Exception:
        return None


def grid_error(field: str, raw: object, grid: Grid) -> FrontError:
    """-4003 (not positive), -1111 (more decimals than the grid has), -4014 / -4023 (off the
    tick / step), -1102 (not a number) for a price or quantity the grid refused."""
    decimals = grid.tick_decimals if field == "price" else grid.lot_decimals
    try:
        positive = to_scaled(raw, 18) > 0  # type: ignore[arg-type]
    except GridError:
        return mandatory(field)
    if not positive:
        return FrontError(-4003) if field == "quantity" else FrontError(-4014)
    places = _decimals(raw)
    if places is not None and places > decimals:
        return FrontError(-1111)
    return FrontError(-4014) if field == "price" else FrontError(-4023)


def from_outcome(
    out: Outcome,
    *,
    context: str,
    grid: Grid | None = None,
    price: object = None,
    qty: object = None,
    side: Side | None = None,
    min_notional: str = "0",
) -> FrontError:
    """The Binance error for a refused outcome. `context`: "place", "cancel", "modify" or
    "query" (unknown orders are -2011 on a cancel, -2013 otherwise)."""
    code = out.code
    if code == RejectCode.UNKNOWN_ORDER:
        return FrontError(-2011 if context == "cancel" else -2013)
    if code == RejectCode.BAD_PRICE and grid is not None:
        return grid_error("price", price, grid)
    if code == RejectCode.BAD_QTY and grid is not None:
        return grid_error("quantity", qty, grid)
    if code == RejectCode.PRICE_BAND:
        return FrontError(-4016 if side is Side.BUY else -4024, out.reason)
    if code == RejectCode.MIN_NOTIONAL:
        return FrontError(-4164, min_notional)
    if code == RejectCode.RATE_LIMITED:
        return FrontError(-1015, out.reason)
    if code == RejectCode.MARKET_HALTED:
        return FrontError(-2010, out.reason)
    if code == RejectCode.BAD_REQUEST:
        return FrontError(-1130, "order")
    try:
        return FrontError(FROM_REJECT[RejectCode(code)])
    except (ValueError, KeyError):
        return FrontError(-1000)
