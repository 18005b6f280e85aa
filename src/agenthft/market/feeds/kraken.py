"""Kraken WS v1 `book` channel: snapshot + updates with a CRC32 in "c".

Quirks: a message may carry two dicts (asks, then bids); entries are [price, volume, ts(, "r")];
each side must be trimmed to the subscribed depth after every update or checksums fail.
Checksum: top 10 asks ascending then top 10 bids descending, each price and volume with the
"." removed and leading zeros stripped, concatenated; CRC32 as unsigned decimal text. With the
grid set to the precision Kraken prints, those digits are just the integer ticks and lots.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Any

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market.feeds.capture import BookObserver, ReplayReport, cryptofeed_lines
from agenthft.market.feeds.instruments import printed_grid_instrument
from agenthft.model import Grid, Instrument

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


def verify(path: str | Path, depth: int = SUBSCRIBED_DEPTH, observer: BookObserver | None = None) -> ReplayReport:
    """Rebuild every pair's book (trimmed to `depth`) and compare every checksum."""
    report = ReplayReport("kraken", [str(path)], "CRC32 top 10")
    books: dict[str, tuple[L2Book, Grid]] = {}
    decode = msgspec.json.decode
    started = time.perf_counter()
    for ns, raw in cryptofeed_lines(path):
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
