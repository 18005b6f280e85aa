"""Kraken WS v1 `book` channel: snapshot + updates with a CRC32 in "c"; and the `trade` channel
(`[price, volume, time, side b/s, type m/l, misc]`, side = the taker's), as recorded by cryptofeed.

Quirks: a message may carry two dicts (asks, then bids); entries are [price, volume, ts(, "r")];
each side must be trimmed to the subscribed depth after every update or checksums fail.
Checksum: top 10 asks ascending then top 10 bids descending, each price and volume with the
"." removed and leading zeros stripped, concatenated; CRC32 as unsigned decimal text. With the
grid set to the precision Kraken prints, those digits are just the integer ticks and lots.

The grid: the checksum needs the precision Kraken prints (fixed decimals per pair: often 8, finer
than the pair's tick), so `verify` uses it; the row reader infers the largest steps every price
and volume of the pair in the file share (book and trades), like the other readers; a book file
and a trade file of one pair are put on their common grid when merged.
"""

from __future__ import annotations

import heapq
import time
import zlib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market.events import ASK, BID, F_LAST, LEVEL, TRADE, CaptureFormatError, Events, Meta
from agenthft.market.feeds.capture import (
    BookObserver,
    ReplayReport,
    cryptofeed_lines,
    cryptofeed_lines_at,
    cryptofeed_unit,
)
from agenthft.market.feeds.grid import StepFinder, grid_note
from agenthft.market.feeds.instruments import printed_grid_instrument
from agenthft.model import Grid, GridError, Instrument, InstrumentKind

SUBSCRIBED_DEPTH = 1000
CHECKSUM_DEPTH = 10


def checksum(book: L2Book) -> int:
    """Kraken's book checksum (unsigned 32-bit) of a book on the printed grid."""
    bids, asks = book.depth(CHECKSUM_DEPTH)
    text = "".join(f"{p}{q}" for p, q in asks) + "".join(f"{p}{q}" for p, q in bids)
    return zlib.crc32(text.encode())


def parse_levels(grid: Grid, raw: list[list[str]]) -> list[Level]:
    pt, ql = grid.price_to_ticks, grid.qty_to_lots
    return [(pt(r[0]), ql(r[1])) for r in raw]


def printed_instruments(path: str | Path) -> dict[str, Instrument]:
    """Each pair's instrument on the grid its first snapshot prints (what `verify` books use)."""
    out: dict[str, Instrument] = {}
    for _ns, raw in cryptofeed_lines(path):
        msg: Any = msgspec.json.decode(raw)
        if not isinstance(msg, list) or len(msg) < 4 or not str(msg[-2]).startswith("book"):
            continue
        pair, first_part = msg[-1], msg[1]
        if pair not in out and isinstance(first_part, dict) and ("as" in first_part or "bs" in first_part):
            first = (first_part.get("as") or first_part["bs"])[0]
            out[pair] = printed_grid_instrument(pair, first[0], first[1])
    return out


def verify(
    path: str | Path, depth: int = SUBSCRIBED_DEPTH, observer: BookObserver | None = None, ts_unit: str | None = None
) -> ReplayReport:
    """Rebuild every pair's book (trimmed to `depth`) and compare every checksum."""
    report = ReplayReport("kraken", [str(path)], "CRC32 top 10")
    scale, unit_note = cryptofeed_unit(path, ts_unit)
    report.notes.append(unit_note)
    books: dict[str, tuple[L2Book, Grid]] = {}
    decode = msgspec.json.decode
    started = time.perf_counter()
    for ns, raw in cryptofeed_lines(path, scale):
        report.events += 1
        msg: Any = decode(raw)
        if not isinstance(msg, list) or len(msg) < 4 or not str(msg[-2]).startswith("book"):
            continue
        pair: str = msg[-1]
        parts: list[dict[str, Any]] = msg[1:-2]
        if "as" in parts[0] or "bs" in parts[0]:
            snap = parts[0]
            first: list[str] = (snap.get("as") or snap["bs"])[0]
            grid = printed_grid_instrument(pair, first[0], first[1]).grid
            book = L2Book(pair, max_depth=depth)
            book.load_snapshot(parse_levels(grid, snap.get("bs", [])), parse_levels(grid, snap.get("as", [])))
            books[pair] = (book, grid)
            report.markets.append(pair)
            if observer is not None:
                observer(pair, book, [], [], ns, True)
            continue
        book, grid = books[pair]
        asks: list[Level] = []
        bids: list[Level] = []
        expected: str | None = None
        for part in parts:
            asks += parse_levels(grid, part.get("a", []))
            bids += parse_levels(grid, part.get("b", []))
            expected = part.get("c", expected)
        book.apply_unchecked(bids, asks, book.seq + 1)
        if observer is not None:
            observer(pair, book, bids, asks, ns, False)
        if book.is_crossed():
            report.crossed += 1
        if expected is None:
            continue
        if book.verify(checksum, int(expected)):
            report.checks_passed += 1
        else:
            report.fail(f"{pair} update {book.seq}: checksum {expected} != {checksum(book)}")
    return report.finish(started)


def _is_book(msg: Any) -> bool:
    return isinstance(msg, list) and len(msg) >= 4 and str(msg[-2]).startswith("book")


def _is_trade(msg: Any) -> bool:
    return isinstance(msg, list) and len(msg) >= 4 and msg[-2] == "trade"


def infer(path: str | Path, scale: int) -> dict[str, tuple[Instrument, str]]:
    """Each pair's grid: the largest steps every price and volume of the pair in the file share."""
    values: dict[str, tuple[StepFinder, StepFinder]] = {}
    for n, _ns, raw in cryptofeed_lines_at(path, scale):
        msg: Any = msgspec.json.decode(raw)
        if _is_book(msg):
            entries = [e for part in msg[1:-2] for key in ("as", "bs", "a", "b") for e in part.get(key, [])]
        elif _is_trade(msg):
            entries = msg[1]
        else:
            continue
        prices, sizes = values.setdefault(msg[-1], (StepFinder(), StepFinder()))
        for e in entries:
            prices.add(e[0], (str(path), n))
            sizes.add(e[1], (str(path), n))
    out = {}
    for pair, (prices, sizes) in values.items():
        base, _, quote = pair.partition("/")
        tick, lot = prices.result()[0] or "1", sizes.result()[0] or "1"
        inst = Instrument(pair, base, quote or "?", InstrumentKind.SPOT, tick_size=tick, lot_size=lot)
        note = (
            f"{pair}: tick {tick} and lot {lot} inferred from every price and volume in the file (the largest "
            f"steps they share: {grid_note(prices, sizes)})"
        )
        out[pair] = (inst, note)
    return out


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    """Books (snapshot: CLEAR + levels; each update one message of LEVEL rows, with the levels
    trimming to the subscribed depth removes) and trades of every pair, as normalised rows."""
    return Events.merge([_events_one(Path(p), instruments, ts_unit) for p in paths])


def _events_one(path: Path, instruments: dict[str, Instrument] | None, ts_unit: str | None) -> Events:
    scale, unit_note = cryptofeed_unit(path, ts_unit)
    ev = Events(Meta("kraken", [str(path)], [], [unit_note]))
    index: dict[str, tuple[int, Instrument]] = {}
    for pair, (inst, note) in infer(path, scale).items():
        known = (instruments or {}).get(pair)
        if known is not None:
            inst, note = known, f"{pair}: tick {known.tick_size}, lot {known.lot_size} from the instrument file"
        index[pair] = (ev.market_index(inst), inst)
        ev.meta.notes.append(note)
    books: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    for n, ns, raw in cryptofeed_lines_at(path, scale):
        msg: Any = msgspec.json.decode(raw)
        try:
            if _is_book(msg):
                _book_rows(ev, msg, ns, index, books)
            elif _is_trade(msg):
                m, inst = index[msg[-1]]
                g = inst.grid
                for e in msg[1]:
                    side = BID if e[3] == "b" else ASK if e[3] == "s" else 0
                    t = int(Decimal(e[2]) * 1_000_000_000)
                    ev.add(ns, t, m, TRADE, side, g.price_to_ticks(e[0]), g.qty_to_lots(e[1]), 0, 0, F_LAST)
                    ev.count("trade")
        except GridError as e:
            raise CaptureFormatError(f"{path}:{n}: {e}") from None
    return ev


def _book_rows(
    ev: Events,
    msg: Any,
    ns: int,
    index: dict[str, tuple[int, Instrument]],
    books: dict[str, tuple[dict[int, int], dict[int, int]]],
    depth: int = SUBSCRIBED_DEPTH,
) -> None:
    pair: str = msg[-1]
    m, inst = index[pair]
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    parts: list[dict[str, Any]] = msg[1:-2]
    times = [Decimal(e[2]) for part in parts for key in ("as", "bs", "a", "b") for e in part.get(key, [])]
    t = int(max(times) * 1_000_000_000) if times else 0
    if "as" in parts[0] or "bs" in parts[0]:
        snap = parts[0]
        bids = {pt(e[0]): ql(e[1]) for e in snap.get("bs", []) if Decimal(e[1])}
        asks = {pt(e[0]): ql(e[1]) for e in snap.get("as", []) if Decimal(e[1])}
        books[pair] = (bids, asks)
        ev.snapshot(ns, t, m, sorted(bids.items(), reverse=True), sorted(asks.items()), 0)
        ev.count("book:snapshot")
        return
    if pair not in books:
        return  # an update before the pair's snapshot
    bids, asks = books[pair]
    rows = 0
    for part in parts:
        for key, side, levels in (("a", ASK, asks), ("b", BID, bids)):
            for e in part.get(key, []):
                p, q = pt(e[0]), ql(e[1])
                if q:
                    levels[p] = q
                else:
                    levels.pop(p, None)
                ev.add(ns, t, m, LEVEL, side, p, q)
                rows += 1
    for side, levels in ((BID, bids), (ASK, asks)):
        extra = len(levels) - depth
        if extra > 0:  # trimmed to the subscribed depth: the worst levels leave the book
            worst = heapq.nsmallest(extra, levels) if side == BID else heapq.nlargest(extra, levels)
            for p in worst:
                del levels[p]
                ev.add(ns, t, m, LEVEL, side, p, 0)
                rows += 1
    if rows:
        ev.end_message()
    ev.count("book:update")
