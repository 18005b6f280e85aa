"""OKX v5 `books` channel: snapshot + updates, each message carrying a CRC32 checksum; and
`trades` (side = the taker's), as recorded by cryptofeed (`<ts>: <json>`, float seconds).

Checksum: CRC32 of "bid1px:bid1sz:ask1px:ask1sz:bid2px:..." over the top 25 levels
(interleaved; a shorter side is skipped), as a signed 32-bit int. The strings are OKX's
canonical decimals, which `Grid.ticks_to_price` / `lots_to_qty` reproduce from integers.

Instruments from the capture: the id from the channel argument; the grid the largest steps
shared by every recorded book price/size and trade price/size (one pass); the contract from the
id: `BASE-USD-SWAP` / `BASE-USD-YYMMDD` are coin-margined (inverse; OKX's contract value is
100 USD for BTC and 10 USD for the others), other swaps and futures linear with a contract
value the book data does not carry (1 assumed, said in the notes; `--instrument` overrides),
`BASE-QUOTE` spot. A dated future is traded as a perpetual (no expiry is modelled).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path

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
from agenthft.market.feeds.grid import StepFinder
from agenthft.model import Grid, GridError, Instrument, InstrumentKind

CHECKSUM_DEPTH = 25


class BookArg(msgspec.Struct):
    channel: str
    instId: str


class BookData(msgspec.Struct):
    asks: list[tuple[str, str, str, str]]
    bids: list[tuple[str, str, str, str]]
    checksum: int
    ts: str = ""


class TradeData(msgspec.Struct):
    px: str
    sz: str
    side: str = ""
    ts: str = "0"
    tradeId: str = "0"


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
    """Each instrument from the capture itself (see the module docstring): one pass over the file."""
    return {k: v for k, (v, _) in infer(path).items()}


#: OKX coin-margined (inverse) contracts: one contract is worth 100 USD for BTC, 10 USD for the others
INVERSE_BTC_USD, INVERSE_OTHER_USD = "100", "10"


def contract(inst_id: str) -> tuple[InstrumentKind, str, str, bool, str, str]:
    """(kind, base, quote, inverse, contract size, note) from an OKX instrument id."""
    parts = inst_id.split("-")
    base, quote = parts[0], parts[1] if len(parts) > 1 else "?"
    if len(parts) <= 2:
        return InstrumentKind.SPOT, base, quote, False, "1", f"{inst_id}: spot"
    what = (
        "perpetual swap"
        if parts[2] == "SWAP"
        else f"future expiring {parts[2]} (traded as a perpetual: no expiry modelled)"
    )
    if quote == "USD":
        size = INVERSE_BTC_USD if base == "BTC" else INVERSE_OTHER_USD
        return (
            InstrumentKind.PERP, base, quote, True, size,
            f"{inst_id}: {what}, inverse, {size} USD per contract (OKX's coin-margined contract value), settled "
            f"in {base}; pass --instrument to override",
        )  # fmt: skip
    return (
        InstrumentKind.PERP, base, quote, False, "1",
        f"{inst_id}: {what}, linear; its contract value (ctVal) is not in the data: 1 {base} per contract assumed, "
        "pass --instrument with the venue's",
    )  # fmt: skip


def infer(path: str | Path, scale: int = 1_000_000_000) -> dict[str, tuple[Instrument, str]]:
    """(instrument, note) per instrument id, from every book and trade value in the capture."""
    msg_dec = msgspec.json.Decoder(Message)
    data_dec = msgspec.json.Decoder(list[BookData])
    trade_dec = msgspec.json.Decoder(list[TradeData])
    values: dict[str, tuple[StepFinder, StepFinder]] = {}
    for n, _ns, raw in cryptofeed_lines_at(path, scale):
        msg = msg_dec.decode(raw)
        if msg.arg is None or not msg.data:
            continue
        ch = msg.arg.channel
        if ch == "books" and msg.action:
            prices, sizes = values.setdefault(msg.arg.instId, (StepFinder(), StepFinder()))
            for d in data_dec.decode(msg.data):
                for r in d.bids + d.asks:
                    prices.add(r[0], (str(path), n))
                    sizes.add(r[1], (str(path), n))
        elif ch == "trades":
            prices, sizes = values.setdefault(msg.arg.instId, (StepFinder(), StepFinder()))
            for t in trade_dec.decode(msg.data):
                prices.add(t.px, (str(path), n))
                sizes.add(t.sz, (str(path), n))
    out = {}
    for inst_id, (prices, sizes) in values.items():
        kind, base, quote, inverse, size, cnote = contract(inst_id)
        tick, lot = prices.result()[0] or "1", sizes.result()[0] or "1"
        inst = Instrument(
            inst_id, base, quote, kind, tick_size=tick, lot_size=lot, contract_size=size, inverse=inverse,
            settle=base if inverse else "",
        )  # fmt: skip
        note = (
            f"{inst_id}: tick {tick}, lot {lot} inferred from every book and trade value "
            f"({len(prices):,} distinct prices, {len(sizes):,} sizes); {cnote}"
        )
        out[inst_id] = (inst, note)
    return out


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    """Books (snapshot: CLEAR + levels; update: LEVEL rows, one message each) and trades of every
    instrument in the capture, as normalised rows."""
    return Events.merge([_events_one(Path(p), instruments, ts_unit) for p in paths])


def _events_one(path: Path, instruments: dict[str, Instrument] | None, ts_unit: str | None) -> Events:
    scale, unit_note = cryptofeed_unit(path, ts_unit)
    inferred = infer(path, scale)
    ev = Events(Meta("okx", [str(path)], [], [unit_note]))
    index: dict[str, tuple[int, Instrument]] = {}
    for inst_id, (inst, note) in inferred.items():
        known = (instruments or {}).get(inst_id)
        if known is not None:
            inst, note = (
                known,
                f"{inst_id}: tick {known.tick_size}, lot {known.lot_size} from the instrument file "
                f"({known.contract_text})",
            )
        index[inst_id] = (ev.market_index(inst), inst)
        ev.meta.notes.append(note)
    msg_dec = msgspec.json.Decoder(Message)
    data_dec = msgspec.json.Decoder(list[BookData])
    trade_dec = msgspec.json.Decoder(list[TradeData])
    synced: set[str] = set()
    for n, ns, raw in cryptofeed_lines_at(path, scale):
        msg = msg_dec.decode(raw)
        if msg.arg is None or not msg.data or msg.arg.instId not in index:
            continue
        m, inst = index[msg.arg.instId]
        g = inst.grid
        try:
            if msg.arg.channel == "books" and msg.action:
                for d in data_dec.decode(msg.data):
                    bids, asks = parse_levels(g, d.bids), parse_levels(g, d.asks)
                    t = int(d.ts) * 1_000_000 if d.ts else 0
                    if msg.action == "snapshot":
                        ev.snapshot(ns, t, m, [lv for lv in bids if lv[1]], [lv for lv in asks if lv[1]], 0)
                        synced.add(msg.arg.instId)
                        ev.count("books:snapshot")
                    elif msg.arg.instId in synced:
                        for p, q in bids:
                            ev.add(ns, t, m, LEVEL, BID, p, q)
                        for p, q in asks:
                            ev.add(ns, t, m, LEVEL, ASK, p, q)
                        ev.end_message()
                        ev.count("books:update")
            elif msg.arg.channel == "trades":
                for tr in trade_dec.decode(msg.data):
                    side = BID if tr.side == "buy" else ASK if tr.side == "sell" else 0
                    ev.add(
                        ns, int(tr.ts) * 1_000_000, m, TRADE, side, g.price_to_ticks(tr.px), g.qty_to_lots(tr.sz), 0,
                        int(tr.tradeId) if tr.tradeId.isdigit() else 0, F_LAST,
                    )  # fmt: skip
                    ev.count("trades")
        except GridError as e:
            raise CaptureFormatError(
                f"{path}:{n}: {e} (grid of {inst.market}: tick {inst.tick_size}, lot {inst.lot_size})"
            ) from None
    return ev


def verify(
    path: str | Path,
    instruments: dict[str, Instrument] | None = None,
    observer: BookObserver | None = None,
    ts_unit: str | None = None,
) -> ReplayReport:
    """Rebuild every instrument's book and compare every message's checksum."""
    report = ReplayReport("okx", [str(path)], "CRC32 top 25")
    scale, unit_note = cryptofeed_unit(path, ts_unit)
    report.notes.append(unit_note)
    inferred = infer(path, scale)
    known = instruments or {}
    instruments = {k: known.get(k, inst) for k, (inst, _) in inferred.items()}
    report.notes += [
        note if k not in known else f"{k}: grid from the instrument file" for k, (_, note) in inferred.items()
    ]
    msg_dec = msgspec.json.Decoder(Message)
    data_dec = msgspec.json.Decoder(list[BookData])
    books: dict[str, L2Book] = {}
    started = time.perf_counter()
    for ns, raw in cryptofeed_lines(path, scale):
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
