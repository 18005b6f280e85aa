"""OKX v5 `books` channel: snapshot + updates, each message carrying a CRC32 checksum.

Checksum: CRC32 of "bid1px:bid1sz:ask1px:ask1sz:bid2px:..." over the top 25 levels
(interleaved; a shorter side is skipped), as a signed 32-bit int. The strings are OKX's
canonical decimals, which `Grid.ticks_to_price` / `lots_to_qty` reproduce from integers.
"""

from __future__ import annotations

import time
import zlib
from functools import partial
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level
from agenthft.market.feeds.capture import BookObserver, ReplayReport, cryptofeed_lines
from agenthft.market.feeds.probe import step_of
from agenthft.model import Grid, Instrument, InstrumentKind

CHECKSUM_DEPTH = 25


class BookArg(msgspec.Struct):
    channel: str
    instId: str


class BookData(msgspec.Struct):
    asks: list[tuple[str, str, str, str]]
    bids: list[tuple[str, str, str, str]]
    checksum: int
    ts: str = ""


class Message(msgspec.Struct):
    arg: BookArg | None = None
    action: str = ""
    data: msgspec.Raw = msgspec.Raw(b"")
    event: str = ""


def parse_levels(grid: Grid, raw: list[tuple[str, str, str, str]]) -> list[Level]:
    pt, ql = grid.price_to_ticks, grid.qty_to_lots
    return [(pt(r[0]), ql(r[1])) for r in raw]


def checksum(book: L2Book, grid: Grid) -> int:
    """OKX's book checksum of an L2Book (signed 32-bit)."""
    bids, asks = book.depth(CHECKSUM_DEPTH)
    px, qt = grid.ticks_to_price, grid.lots_to_qty
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts += (px(bids[i][0]), qt(bids[i][1]))
        if i < len(asks):
            parts += (px(asks[i][0]), qt(asks[i][1]))
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def infer_instruments(path: str | Path) -> dict[str, Instrument]:
    """Each book's instrument from the capture itself: the id from the channel argument, the kind
    from the id (`-SWAP` or a delivery date: a future), tick and lot the largest step shared by
    every recorded price and size (one pass over the file)."""
    msg_dec = msgspec.json.Decoder(Message)
    data_dec = msgspec.json.Decoder(list[BookData])
    values: dict[str, tuple[list[str], list[str]]] = {}
    for _ns, raw in cryptofeed_lines(path):
        msg = msg_dec.decode(raw)
        if msg.arg is None or msg.arg.channel != "books" or not msg.action:
            continue
        prices, sizes = values.setdefault(msg.arg.instId, ([], []))
        for d in data_dec.decode(msg.data):
            for r in d.bids + d.asks:
                prices.append(r[0])
                sizes.append(r[1])
    out = {}
    for inst_id, (prices, sizes) in values.items():
        parts = inst_id.split("-")
        kind = InstrumentKind.PERP if len(parts) > 2 else InstrumentKind.SPOT
        tick, lot = step_of(prices) or "1", step_of(sizes) or "1"
        out[inst_id] = Instrument(
            inst_id, parts[0], parts[1] if len(parts) > 1 else "?", kind, tick_size=tick, lot_size=lot
        )
    return out


def verify(
    path: str | Path, instruments: dict[str, Instrument] | None = None, observer: BookObserver | None = None
) -> ReplayReport:
    """Rebuild every instrument's book and compare every message's checksum."""
    report = ReplayReport("okx", [str(path)], "CRC32 top 25")
    if instruments is None:
        instruments = infer_instruments(path)
        report.notes += [
            f"{i.market}: tick {i.tick_size}, lot {i.lot_size} inferred from the book" for i in instruments.values()
        ]
    msg_dec = msgspec.json.Decoder(Message)
    data_dec = msgspec.json.Decoder(list[BookData])
    books: dict[str, L2Book] = {}
    started = time.perf_counter()
    for ns, raw in cryptofeed_lines(path):
        report.events += 1
        msg = msg_dec.decode(raw)
        if msg.arg is None or msg.arg.channel != "books" or not msg.action:
            continue
        inst = instruments[msg.arg.instId]
        grid = inst.grid
        for d in data_dec.decode(msg.data):
            bids, asks = parse_levels(grid, d.bids), parse_levels(grid, d.asks)
            if msg.action == "snapshot":
                book = books[inst.market] = L2Book(inst.market)
                book.load_snapshot(bids, asks)
                report.markets.append(inst.market)
            else:
                book = books[inst.market]
                book.apply_unchecked(bids, asks, book.seq + 1)  # this feed has no seqId
            if observer is not None:
                observer(inst.market, book, bids, asks, ns, msg.action == "snapshot")
            if book.is_crossed():
                report.crossed += 1
            if book.verify(partial(checksum, grid=grid), d.checksum):
                report.checks_passed += 1
            else:
                report.fail(f"{inst.market} seq {book.seq}: checksum {d.checksum} != {checksum(book, grid)}")
    return report.finish(started)
