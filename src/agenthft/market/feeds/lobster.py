"""LOBSTER L3 message files (NASDAQ) aggregated to L2 and checked against the book file.

Message columns: time (s after midnight), type (1 add, 2 partial cancel, 3 delete,
4 visible execution, 5 hidden execution, 7 halt), order id, size, price (USD x 10,000),
direction (1 buy, -1 sell; for executions the resting side). Book row i is the 10-level book
*after* message i. The book before the first message is not given, so the replica starts
from row 1. Levels beyond the 10 shown are unknown until a row reveals them; every row is
compared in full over the price range the previous row showed; levels a row reveals
are adopted and levels that fall out of view are forgotten (this file has no messages for them).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.instruments import LOBSTER_AAPL
from agenthft.model import Side

PRICE_UNITS_PER_TICK = 100  # LOBSTER prices are 1e-4 USD, the tick is 1e-2 USD
LEVELS = 10
ADD, PARTIAL_CANCEL, DELETE, EXECUTE, HIDDEN_EXECUTE, HALT = 1, 2, 3, 4, 5, 7


class Message(msgspec.Struct, array_like=True):
    time_ns: int
    type: int
    order_id: int
    size: int
    price: int  # ticks
    side: Side


def read_messages(path: str | Path) -> Iterator[Message]:
    with open(path, newline="") as f:
        for t, typ, oid, size, price, direction in csv.reader(f):
            sec, _, frac = t.partition(".")
            yield Message(
                int(sec) * 1_000_000_000 + int((frac + "000000000")[:9]),
                int(typ),
                int(oid),
                int(size),
                int(price) // PRICE_UNITS_PER_TICK,
                Side.BUY if direction == "1" else Side.SELL,
            )


def read_rows(path: str | Path) -> Iterator[tuple[list[Level], list[Level]]]:
    """(bids, asks) best first, empty slots (LOBSTER's +-9999999999 dummies) dropped."""
    with open(path, newline="") as f:
        for row in csv.reader(f):
            v = [int(x) for x in row]
            asks = [(v[i] // PRICE_UNITS_PER_TICK, v[i + 1]) for i in range(0, 4 * LEVELS, 4) if v[i + 1] > 0]
            bids = [(v[i] // PRICE_UNITS_PER_TICK, v[i + 1]) for i in range(2, 4 * LEVELS, 4) if v[i + 1] > 0]
            yield bids, asks


def size_change(msg: Message) -> int:
    """Signed change of visible quantity at msg.price that the message causes."""
    if msg.type == ADD:
        return msg.size
    if msg.type in (PARTIAL_CANCEL, DELETE, EXECUTE):
        return -msg.size
    return 0  # hidden executions and halts leave the visible book as it was


def message_path_to_book_path(message_path: str | Path) -> Path:
    p = Path(message_path)
    return p.with_name(p.name.replace("_message_", "_orderbook_"))


class _Horizon:
    """Per side, the worst price the replica knows (None: the whole side is known)."""

    def __init__(self) -> None:
        self.bound: dict[Side, int | None] = {Side.BUY: None, Side.SELL: None}


def _worse(side: Side, price: int, bound: int) -> bool:
    return price < bound if side is Side.BUY else price > bound


def _compare_side(book: L2Book, side: Side, row: list[Level], horizon: _Horizon) -> str | None:
    """Check `row` against the replica within the known range, adopt revealed levels, then
    forget what lies beyond the row: the file only has messages within the 10 shown levels,
    so a level out of view can change with no message."""
    ours = book.bids(LEVELS) if side is Side.BUY else book.asks(LEVELS)
    bound = horizon.bound[side]
    for j, (price, qty) in enumerate(row):
        if bound is None or not _worse(side, price, bound):
            if j >= len(ours) or ours[j] != (price, qty):
                got = ours[j] if j < len(ours) else None
                return f"{side.value} level {j + 1}: row {(price, qty)} != replica {got}"
        else:
            book.set_level(side, price, qty)  # revealed from beyond the shown levels
    if len(row) < LEVELS:
        if len(ours) != len(row):
            return f"{side.value}: row shows {len(row)} levels, replica has {len(ours)}"
        horizon.bound[side] = None
        return None
    last = row[-1][0]
    horizon.bound[side] = last
    for price, _ in book.bids() if side is Side.BUY else book.asks():
        if _worse(side, price, last):
            book.set_level(side, price, 0)
    return None


def verify(message_path: str | Path, book_path: str | Path | None = None) -> ReplayReport:
    """Aggregate messages 2..N onto row 1 and compare every following 10-level row."""
    book_path = book_path or message_path_to_book_path(message_path)
    report = ReplayReport(
        "lobster",
        [str(message_path), str(book_path)],
        "10-level rows",
        markets=[LOBSTER_AAPL.market],
    )
    book = L2Book(LOBSTER_AAPL.market)
    horizon = _Horizon()
    started = time.perf_counter()
    for i, (msg, (bids, asks)) in enumerate(
        zip(read_messages(message_path), read_rows(book_path), strict=True)
    ):
        report.events += 1
        if i == 0:
            book.load_snapshot(bids, asks)
            horizon.bound[Side.BUY] = bids[-1][0] if len(bids) == LEVELS else None
            horizon.bound[Side.SELL] = asks[-1][0] if len(asks) == LEVELS else None
            continue
        delta = size_change(msg)
        if delta:
            book.set_level(msg.side, msg.price, book.qty_at(msg.side, msg.price) + delta)
        if book.is_crossed():
            report.crossed += 1
        problem = _compare_side(book, Side.BUY, bids, horizon) or _compare_side(
            book, Side.SELL, asks, horizon
        )
        if problem is not None:
            report.fail(f"message {i + 1} (type {msg.type}): {problem}")
        elif delta:
            report.checks_passed += 1
    return report.finish(started)
