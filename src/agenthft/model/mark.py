"""The one mark-price convention, shared by the venue (REST positions) and the agent (summary,
loss limits), so both report the same unrealized P&L for the same position."""

from __future__ import annotations


def mark_price(last_trade: int | None, best_bid: int | None, best_ask: int | None) -> int | None:
    """Ticks: the last trade's price if the market has traded, else the mid (rounded down to
    the tick), else None. Last trade, not the touch: a position is not re-marked across the
    spread every time a quote flickers, and a one-sided book still has a mark."""
    if last_trade is not None:
        return last_trade
    if best_bid is not None and best_ask is not None:
        return (best_bid + best_ask) // 2
    return None
