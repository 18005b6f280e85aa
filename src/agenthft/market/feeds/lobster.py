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
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.instruments import LOBSTER_AAPL
from agenthft.matching import EngineConfig, Fill, MatchingEngine
from agenthft.model import OrderType, Side

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


SetLevel = Callable[[Side, int, int], None]


def _compare_side(
    ours: list[Level], side: Side, row: list[Level], horizon: _Horizon, set_level: SetLevel
) -> str | None:
    """Check `row` against the replica's best levels (`ours`) within the known range, adopt
    revealed levels, then forget what lies beyond the row: the file only has messages within
    the 10 shown levels, so a level out of view can change with no message."""
    bound = horizon.bound[side]
    for j, (price, qty) in enumerate(row):
        if bound is None or not _worse(side, price, bound):
            if j >= len(ours) or ours[j] != (price, qty):
                got = ours[j] if j < len(ours) else None
                return f"{side.value} level {j + 1}: row {(price, qty)} != replica {got}"
        else:
            set_level(side, price, qty)  # revealed from beyond the shown levels
    if len(row) < LEVELS:
        if len(ours) > len(row):
            return f"{side.value}: row shows {len(row)} levels, replica has more"
        horizon.bound[side] = None
        return None
    last = row[-1][0]
    horizon.bound[side] = last
    for price, _ in ours[LEVELS:]:
        if _worse(side, price, last):
            set_level(side, price, 0)
    return None


def _check_row(
    i: int,
    msg: Message,
    levels: Callable[[], tuple[list[Level], list[Level]]],
    row: tuple[list[Level], list[Level]],
    horizon: _Horizon,
    set_level: SetLevel,
    report: ReplayReport,
) -> None:
    bids, asks = levels()
    if bids and asks and bids[0][0] >= asks[0][0]:
        report.crossed += 1
    problem = _compare_side(bids, Side.BUY, row[0], horizon, set_level) or _compare_side(
        asks, Side.SELL, row[1], horizon, set_level
    )
    if problem is not None:
        report.fail(f"message {i + 1} (type {msg.type}): {problem}")
    elif size_change(msg):
        report.checks_passed += 1


def _horizon_from(bids: list[Level], asks: list[Level]) -> _Horizon:
    h = _Horizon()
    h.bound[Side.BUY] = bids[-1][0] if len(bids) == LEVELS else None
    h.bound[Side.SELL] = asks[-1][0] if len(asks) == LEVELS else None
    return h


def verify(message_path: str | Path, book_path: str | Path | None = None) -> ReplayReport:
    """Aggregate messages 2..N onto row 1 and compare every following 10-level row."""
    book_path = book_path or message_path_to_book_path(message_path)
    report = ReplayReport(
        "lobster", [str(message_path), str(book_path)], "10-level rows", markets=[LOBSTER_AAPL.market]
    )
    book = L2Book(LOBSTER_AAPL.market)
    horizon = _Horizon()
    started = time.perf_counter()
    for i, (msg, row) in enumerate(zip(read_messages(message_path), read_rows(book_path), strict=True)):
        report.events += 1
        if i == 0:
            book.load_snapshot(*row)
            horizon = _horizon_from(*row)
            continue
        delta = size_change(msg)
        if delta:
            book.set_level(msg.side, msg.price, book.qty_at(msg.side, msg.price) + delta)
        _check_row(i, msg, lambda: (book.bids(), book.asks()), row, horizon, book.set_level, report)
    return report.finish(started)


class _EngineDriver:
    """Turns LOBSTER messages into matching-engine commands.

    Orders resting before the file starts are unknown: each level of row 1 (and each level a
    later row reveals) is seeded as one order of the `pre` account, ahead of later arrivals.
    Adds are limit orders of `lob`; partial cancels and deletes reduce or cancel the order
    (or the seed at that price when the order predates the file); an execution is an IOC from
    `street` against the resting side, so the engine's own priority picks the maker, and
    the maker must be the order LOBSTER names.
    """

    def __init__(self) -> None:
        self.m = LOBSTER_AAPL.market
        self.engine = MatchingEngine([LOBSTER_AAPL], EngineConfig(market_band_bps=0))
        for acct in ("pre", "lob", "street"):
            self.engine.deposit(acct, "USD", 10**30)
            self.engine.deposit(acct, "AAPL", 10**30)
        self._seed = 0
        self._ioc = 0
        self.maker_checks = 0

    def levels(self) -> tuple[list[Level], list[Level]]:
        return self.engine.l2(self.m)

    def set_level(self, side: Side, price: int, qty: int) -> None:
        """Make the level at `price` show `qty` (used only beyond the 10 visible levels)."""
        e = self.engine
        book = e.markets[self.m].bids if side is Side.BUY else e.markets[self.m].asks
        level = book.levels.get(price)
        if level is not None:
            for o in [o for o in level.queue if o.alive]:
                e.cancel(o.account, o.order_id)
        if qty:
            self._seed += 1
            e.submit("pre", f"seed{self._seed}", self.m, side, qty, price)
        e.drain()

    def apply(self, msg: Message) -> str | None:
        e, m = self.engine, self.m
        oid = str(msg.order_id)
        known = e.order("lob", oid) is not None
        problem = None
        if msg.type == ADD:
            e.submit("lob", oid, m, msg.side, msg.size, msg.price)
        elif msg.type in (PARTIAL_CANCEL, DELETE):
            if known:
                e.reduce("lob", oid, msg.size)
            else:
                problem = self._reduce_seed(msg)
        elif msg.type == EXECUTE:
            self._ioc += 1
            e.submit("street", f"x{self._ioc}", m, msg.side.opposite, msg.size, msg.price, OrderType.IOC)
            makers = [ev for ev in e.events if isinstance(ev, Fill) and ev.account != "street"]
            who = {(ev.account, ev.order_id) for ev in makers}
            if sum(ev.qty for ev in makers) != msg.size:
                problem = f"execution of {msg.size} filled {sum(ev.qty for ev in makers)}"
            elif known:
                self.maker_checks += 1
                if who != {("lob", oid)}:
                    problem = f"execution hit {sorted(who)}, LOBSTER says order {oid}"
            elif any(acct != "pre" for acct, _ in who):
                problem = f"execution of pre-open order {oid} hit {sorted(who)}"
        e.drain()
        return problem

    def _reduce_seed(self, msg: Message) -> str | None:
        book = self.engine.markets[self.m].bids if msg.side is Side.BUY else self.engine.markets[self.m].asks
        level = book.levels.get(msg.price)
        seeds = [o for o in level.queue if o.alive and o.account == "pre"] if level else []
        seed = next((o for o in seeds if o.remaining >= msg.size), None)
        if seed is None:
            return f"no pre-open order with {msg.size} at {msg.price} to cancel"
        self.engine.reduce("pre", seed.order_id, msg.size)
        return None


def verify_engine(message_path: str | Path, book_path: str | Path | None = None) -> ReplayReport:
    """Drive the L3 messages through the matching engine; compare every 10-level row and,
    for every execution of a known order, that price-time priority picked that order."""
    book_path = book_path or message_path_to_book_path(message_path)
    report = ReplayReport(
        "lobster-engine",
        [str(message_path), str(book_path)],
        "engine 10-level rows",
        markets=[LOBSTER_AAPL.market],
    )
    driver = _EngineDriver()
    horizon = _Horizon()
    started = time.perf_counter()
    for i, (msg, row) in enumerate(zip(read_messages(message_path), read_rows(book_path), strict=True)):
        report.events += 1
        if i == 0:
            for side, levels in ((Side.BUY, row[0]), (Side.SELL, row[1])):
                for price, qty in levels:
                    driver.set_level(side, price, qty)
            horizon = _horizon_from(*row)
            continue
        problem = driver.apply(msg)
        if problem is not None:
            report.fail(f"message {i + 1} (type {msg.type}): {problem}")
            continue
        _check_row(i, msg, driver.levels, row, horizon, driver.set_level, report)
    report.check = f"engine rows; {driver.maker_checks} named makers"
    return report.finish(started)
