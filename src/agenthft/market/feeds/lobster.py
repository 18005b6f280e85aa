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
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market import events as rows
from agenthft.market.events import CaptureFormatError
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.files import head_lines, numbered_lines
from agenthft.market.feeds.instruments import LOBSTER_AAPL
from agenthft.market.feeds.tabular import SnapshotDiffer
from agenthft.matching import EngineConfig, Fill, MatchingEngine
from agenthft.model import Instrument, InstrumentKind, OrderType, Side

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


def read_messages(path: str | Path, units_per_tick: int = PRICE_UNITS_PER_TICK) -> Iterator[Message]:
    """Messages with prices in ticks of `units_per_tick` LOBSTER units (1e-4 USD)."""
    with open(path, newline="") as f:
        for t, typ, oid, size, price, direction in csv.reader(f):
            sec, _, frac = t.partition(".")
            yield Message(
                int(sec) * 1_000_000_000 + int((frac + "000000000")[:9]),
                int(typ),
                int(oid),
                int(size),
                int(price) // units_per_tick,
                Side.BUY if direction == "1" else Side.SELL,
            )


def read_rows(
    path: str | Path, units_per_tick: int = PRICE_UNITS_PER_TICK
) -> Iterator[tuple[list[Level], list[Level]]]:
    """(bids, asks) best first, empty slots (LOBSTER's +-9999999999 dummies) dropped."""
    with open(path, newline="") as f:
        for row in csv.reader(f):
            v = [int(x) for x in row]
            asks = [(v[i] // units_per_tick, v[i + 1]) for i in range(0, len(v), 4) if v[i + 1] > 0]
            bids = [(v[i] // units_per_tick, v[i + 1]) for i in range(2, len(v), 4) if v[i + 1] > 0]
            yield bids, asks


def size_change(msg: Message) -> int:
    """Signed change of visible quantity at msg.price that the message causes."""
    if msg.type == ADD:
        return msg.size
    if msg.type in (PARTIAL_CANCEL, DELETE, EXECUTE):
        return -msg.size
    return 0  # hidden executions and halts leave the visible book as it was


def message_path_to_book_path(message_path: str | Path) -> Path:
    """The book file LOBSTER's naming puts beside a message file (a hint: `group` pairs by content)."""
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
    inst, note = instrument(Path(message_path), Path(book_path))
    report = ReplayReport("lobster", [str(message_path), str(book_path)], "10-level rows", markets=[inst.market])
    report.notes.append(note)
    units = _units_per_tick(inst)
    book = L2Book(inst.market)
    horizon = _Horizon()
    started = time.perf_counter()
    for i, (msg, row) in enumerate(zip(read_messages(message_path, units), read_rows(book_path, units), strict=True)):
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

    def __init__(self, inst: Instrument = LOBSTER_AAPL) -> None:
        self.m = inst.market
        self.engine = MatchingEngine([inst], EngineConfig(market_band_bps=0))
        base = inst.base
        for acct in ("pre", "lob", "street"):
            self.engine.deposit(acct, "USD", 10**30)
            self.engine.deposit(acct, base, 10**30)
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
    inst, _ = instrument(Path(message_path), Path(book_path))
    report = ReplayReport(
        "lobster-engine",
        [str(message_path), str(book_path)],
        "engine 10-level rows",
        markets=[inst.market],
    )
    driver = _EngineDriver(inst)
    units = _units_per_tick(inst)
    horizon = _Horizon()
    started = time.perf_counter()
    for i, (msg, row) in enumerate(zip(read_messages(message_path, units), read_rows(book_path, units), strict=True)):
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


# --- which files, by content ----------------------------------------------------------------

DUMMY = 9_999_999_999  # LOBSTER's price of an empty level slot (+ for asks, - for bids)


def _fields(line: bytes) -> list[bytes]:
    return line.strip().split(b",")


def _numeric(fields: list[bytes]) -> bool:
    try:
        for f in fields:
            float(f)
    except ValueError:
        return False
    return True


def is_message_head(head: list[bytes]) -> bool:
    f = _fields(head[0]) if head else []
    return len(f) == 6 and _numeric(f)


def is_book_head(head: list[bytes]) -> bool:
    """A LOBSTER orderbook file: 4 x levels integer columns (ask price, ask size, bid price,
    bid size per level)."""
    f = _fields(head[0]) if head else []
    return len(f) >= 4 and len(f) % 4 == 0 and _numeric(f) and all(b"." not in x for x in f)


def _count(path: Path) -> int:
    return sum(1 for _, line in numbered_lines(path) if line.strip())


def pairs(message: Path, book: Path, sample: int = 200) -> bool:
    """The same number of rows, and the first `sample` visible adds show in the book row after
    them (at their price, on their side, with at least their size) or lie beyond the levels
    shown."""
    if _count(message) != _count(book):
        return False
    checked = agree = 0
    for msg, (bids, asks) in zip(read_messages(message, 1), read_rows(book, 1), strict=False):
        if msg.type != ADD:
            continue
        levels = bids if msg.side is Side.BUY else asks
        beyond = bool(levels) and (msg.price < levels[-1][0] if msg.side is Side.BUY else msg.price > levels[-1][0])
        checked += 1
        agree += dict(levels).get(msg.price, 0) >= msg.size or beyond
        if checked >= sample:
            break
    return checked > 0 and agree == checked


def _hint(message: Path, book: Path) -> bool:
    return message.name.replace("_message_", "_orderbook_") == book.name


def group(mains: Sequence[Path], companions: Sequence[Path]) -> list[list[Path]]:
    """Each message file with the book file that pairs with it by content (given, or beside it);
    a book file given alone brings the message file beside it that it pairs with."""
    books = list(companions)
    messages = list(mains)
    for b in books:
        if not any(pairs(m, b) for m in messages):
            found = [p for p in _beside(b, is_message_head) if pairs(p, b)]
            if not found:
                raise CaptureFormatError(
                    f"{b}: a LOBSTER orderbook file with no message file beside it that it agrees with: name its "
                    "message file"
                )
            messages.append(sorted(found, key=lambda p: not _hint(p, b))[0])
    out = []
    for m in messages:
        mine = [b for b in books if pairs(m, b)] or [p for p in _beside(m, is_book_head) if pairs(m, p)]
        mine.sort(key=lambda b: not _hint(m, b))
        out.append([m, *mine[:1]])
    return out


def _beside(path: Path, check: Callable[[list[bytes]], bool]) -> list[Path]:
    """Files in `path`'s folder whose first line passes `check`, named the way `path` is (through
    the same folder, a symlink or a relative path kept: a pair reads as one folder's files)."""
    out = []
    me = path.resolve()
    for f in sorted(path.parent.iterdir()):
        if f.is_file() and f.resolve() != me:
            try:
                if check(head_lines(f, 1)):
                    out.append(f)
            except (OSError, ValueError):
                continue
    return out


def market_name(path: Path) -> str:
    """LOBSTER files carry no symbol: the file name's first field (`AAPL_2012-06-21_...`) as a label."""
    m = re.match(r"([A-Za-z][A-Za-z0-9.]*)_\d{4}-\d{2}-\d{2}_", path.name)
    return m.group(1) if m else "LOBSTER"


def instrument(message: Path, book: Path | None) -> tuple[Instrument, str]:
    """The tick: the largest step shared by every price in the files (LOBSTER prices are USD x
    10,000); the lot: shares, the largest step shared by every size."""
    g = s = 0
    with open(message, newline="") as f:
        for r in csv.reader(f):
            if int(r[1]) != HALT and int(r[4]) > 0:
                g = math.gcd(g, int(r[4]))
            s = math.gcd(s, int(r[3]))
    if book is not None:
        with open(book, newline="") as f:
            for r in csv.reader(f):
                for i in range(0, len(r), 2):
                    v = int(r[i])
                    if abs(v) != DUMMY and v > 0:
                        g = math.gcd(g, v)
                    if int(r[i + 1]):
                        s = math.gcd(s, int(r[i + 1]))
    if not g:
        raise CaptureFormatError(f"{message}: no prices to read a tick from")
    tick = format(Decimal(g).scaleb(-4).normalize(), "f")
    name = market_name(message)
    inst = Instrument(name, name, "USD", InstrumentKind.SPOT, tick_size=tick, lot_size=str(s or 1))
    note = (
        f"{name}: market named from the file name (LOBSTER files carry no symbol); tick {tick} USD and lot "
        f"{s or 1} share(s): the largest steps every price and size in the files share; times are seconds after "
        "midnight (the format's; the date is not in the data), read as ns since midnight"
    )
    return inst, note


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> rows.Events:
    """One message file (and its book file, when in `paths`) as normalised rows."""
    files = [Path(p) for p in paths]
    message = next((p for p in files if is_message_head(head_lines(p, 1))), None)
    if message is None:
        raise CaptureFormatError(f"{paths[0]}: no LOBSTER message file among the files")
    book = next((p for p in files if p != message and is_book_head(head_lines(p, 1))), None)
    inst, note = instrument(message, book)
    known = (instruments or {}).get(inst.market)
    if known is not None:
        inst, note = known, f"{inst.market}: tick {known.tick_size} and lot {known.lot_size} from the instrument file"
    units = _units_per_tick(inst)
    ev = rows.Events(rows.Meta("lobster", [str(p) for p in files], [inst], [note]))
    if ts_unit is not None:
        ev.meta.notes.append(
            f"--ts-unit {ts_unit} does not apply: LOBSTER times are seconds after midnight by the format"
        )
    lot = int(inst.lot_size) if inst.lot_size.isdigit() else 1
    if book is None:
        ev.meta.notes.append("no book file: the messages as L3 rows (orders placed before the file are unknown)")
        for msg in read_messages(message, units):
            _l3(ev, msg, lot)
        return ev
    differ = SnapshotDiffer()
    for msg, (bids, asks) in zip(read_messages(message, units), read_rows(book, units), strict=True):
        if msg.type in (EXECUTE, HIDDEN_EXECUTE):
            aggressor = rows.ASK if msg.side is Side.BUY else rows.BID  # the resting side is `direction`
            ev.add(
                msg.time_ns,
                msg.time_ns,
                0,
                rows.TRADE,
                aggressor,
                msg.price,
                msg.size // lot,
                msg.order_id,
                0,
                rows.F_LAST,
            )
            ev.count("trade")
        differ.apply(ev, msg.time_ns, msg.time_ns, 0, {p: q // lot for p, q in bids}, {p: q // lot for p, q in asks})
        ev.count(f"type {msg.type}")
    ev.meta.notes.append(f"{book}: the book rows, diffed into level changes (paired by content)")
    return ev


def _units_per_tick(inst: Instrument) -> int:
    return int(Decimal(inst.tick_size) * 10_000)


def _l3(ev: rows.Events, msg: Message, lot: int) -> None:
    side = rows.BID if msg.side is Side.BUY else rows.ASK
    t, oid, size = msg.time_ns, msg.order_id, msg.size // lot
    if msg.type == ADD:
        ev.add(t, t, 0, rows.ADD, side, msg.price, size, oid, 0, rows.F_LAST)
    elif msg.type in (PARTIAL_CANCEL, DELETE):
        ev.add(t, t, 0, rows.CANCEL, side, msg.price, size, oid, 0, rows.F_LAST)
    elif msg.type == EXECUTE:
        ev.add(t, t, 0, rows.TRADE, -side, msg.price, size, oid, 0, 0)
        ev.add(t, t, 0, rows.CANCEL, side, msg.price, size, oid, 0, rows.F_LAST)
    elif msg.type == HIDDEN_EXECUTE:
        ev.add(t, t, 0, rows.TRADE, -side, msg.price, size, oid, 0, rows.F_LAST)
    ev.count(f"type {msg.type}")
