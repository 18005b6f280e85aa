"""Test helper: an L2 book rebuilt from normalised rows, message by message."""

from __future__ import annotations

from agenthft.book import L2Book
from agenthft.market.events import CLEAR, F_LAST, FUNDING, LEVEL, TRADE, Events

Snapshot = tuple[list[tuple[int, int]], list[tuple[int, int]]]


def rebuild(ev: Events, market: int | None = None, keep: bool = True) -> tuple[L2Book, list[Snapshot], int]:
    """(the final book, the book after each book message, messages that ended crossed). `keep`
    False skips the books after each message (a copy of a deep book per message: seconds on a day)."""
    book, after, crossed = L2Book(), [], 0
    c = ev.columns
    for i, k in enumerate(c["kind"]):
        if market is not None and c["market"][i] != market:
            continue
        if k == CLEAR:
            book.clear()
        elif k == LEVEL:
            (book.set_bid if c["side"][i] > 0 else book.set_ask)(c["price"][i], c["qty"][i])
        if c["flags"][i] & F_LAST and k not in (TRADE, FUNDING):
            if keep:
                after.append((book.bids(), book.asks()))
            crossed += book.is_crossed()
    return book, after, crossed
