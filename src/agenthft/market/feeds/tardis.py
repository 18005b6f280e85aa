"""Tardis.dev CSV files (`incremental_book_L2`, `book_snapshot_N`, `trades`; gzip or not), the
de-facto standard for historical crypto tick data. Columns as Tardis documents them:

- incremental_book_L2: exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
  (amount absolute, 0 removes; a run of is_snapshot=true rows after false ones is a new book)
- book_snapshot_N: exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,
  bids[0].price,... (each row the top N; diffed into level changes)
- trades: exchange,symbol,timestamp,local_timestamp,id,side,price,amount (side = the taker's)

Timestamps are microseconds. Rows of one symbol with the same local timestamp are one message.
Symbols come from the `symbol` column; the grid from an instrument file or the data.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from agenthft.market.events import ASK, BID, CLEAR, F_LAST, F_SNAPSHOT, LEVEL, TRADE, Events, Meta
from agenthft.market.feeds.probe import CaptureFormatError, is_gzip
from agenthft.market.feeds.tabular import SnapshotDiffer, instrument_from_data
from agenthft.model import GridError, Instrument

HEADER = ("exchange", "symbol", "timestamp", "local_timestamp")


def _rows(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    f = io.TextIOWrapper(gzip.open(path, "rb")) if is_gzip(path) else open(path, newline="")  # noqa: SIM115
    reader = csv.reader(f)
    header = next(reader, [])
    return header, reader


def kind_of(header: Sequence[str]) -> str:
    h = tuple(header)
    if h[:4] != HEADER:
        raise CaptureFormatError(f"not a Tardis CSV header: {','.join(h[:6])}")
    if "is_snapshot" in h:
        return "incremental_book_L2"
    if "id" in h and "side" in h:
        return "trades"
    if any(c.startswith("asks[0]") for c in h):
        return "book_snapshot"
    raise CaptureFormatError(f"a Tardis CSV of a data type this reader does not take: {','.join(h)}")


def events(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    tables = [_one(Path(p), instruments) for p in paths]
    return Events.merge(tables)


def _one(path: Path, instruments: dict[str, Instrument] | None) -> Events:
    header, reader = _rows(path)
    kind = kind_of(header)
    rows = list(reader)
    ev = Events(Meta("tardis", [str(path)], [], [f"{path.name}: Tardis {kind}"]))
    by_symbol: dict[str, list[list[str]]] = {}
    for r in rows:
        if r:
            by_symbol.setdefault(r[1], []).append(r)
    col = {name: i for i, name in enumerate(header)}
    for symbol, srows in by_symbol.items():
        if kind == "book_snapshot":
            pcols = [i for n, i in col.items() if n.endswith(".price")]
            qcols = [i for n, i in col.items() if n.endswith(".amount")]
            prices = [r[i] for r in srows for i in pcols if i < len(r) and r[i]]
            sizes = [r[i] for r in srows for i in qcols if i < len(r) and r[i]]
        else:
            prices = [r[col["price"]] for r in srows]
            sizes = [r[col["amount"]] for r in srows]
        inst, note = instrument_from_data(symbol, prices, sizes, instruments, str(path))
        ev.meta.notes.append(note)
        m = ev.market_index(inst)
        try:
            if kind == "incremental_book_L2":
                _incremental(ev, m, inst, srows, col)
            elif kind == "trades":
                _trades(ev, m, inst, srows, col)
            else:
                _snapshots(ev, m, inst, srows, col)
        except GridError as e:
            raise CaptureFormatError(
                f"{path}: {symbol}: {e} (grid: tick {inst.tick_size}, lot {inst.lot_size})"
            ) from None
        ev.count(kind, len(srows))
    return ev


def _us(text: str) -> int:
    return int(text) * 1000


def _incremental(ev: Events, m: int, inst: Instrument, rows: list[list[str]], col: dict[str, int]) -> None:
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    ts_i, loc_i, snap_i = col["timestamp"], col["local_timestamp"], col["is_snapshot"]
    side_i, px_i, qty_i = col["side"], col["price"], col["amount"]
    prev_local: str | None = None
    in_snapshot = False
    for r in rows:
        snap = r[snap_i] == "true"
        if prev_local is not None and r[loc_i] != prev_local:
            ev.end_message()
        if snap and not in_snapshot:  # a new book starts here
            if prev_local is not None and r[loc_i] == prev_local:
                ev.end_message()
            ev.add(_us(r[loc_i]), _us(r[ts_i]), m, CLEAR, 0, 0, 0, 0, 0, F_SNAPSHOT)
        in_snapshot = snap
        prev_local = r[loc_i]
        side = BID if r[side_i] == "bid" else ASK
        ev.add(_us(r[loc_i]), _us(r[ts_i]), m, LEVEL, side, pt(r[px_i]), ql(r[qty_i]), 0, 0, F_SNAPSHOT if snap else 0)
    ev.end_message()


def _trades(ev: Events, m: int, inst: Instrument, rows: list[list[str]], col: dict[str, int]) -> None:
    g = inst.grid
    ts_i, loc_i, side_i, px_i, qty_i = (col[c] for c in ("timestamp", "local_timestamp", "side", "price", "amount"))
    for n, r in enumerate(rows):
        side = BID if r[side_i] == "buy" else ASK if r[side_i] == "sell" else 0
        ev.add(
            _us(r[loc_i]),
            _us(r[ts_i]),
            m,
            TRADE,
            side,
            g.price_to_ticks(r[px_i]),
            g.qty_to_lots(r[qty_i]),
            0,
            n,
            F_LAST,
        )


def _snapshots(ev: Events, m: int, inst: Instrument, rows: list[list[str]], col: dict[str, int]) -> None:
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    levels = []
    for name, i in col.items():
        if name.endswith(".price"):
            side = BID if name.startswith("bids") else ASK
            levels.append((side, i, col[name[: -len(".price")] + ".amount"]))
    differ = SnapshotDiffer()
    for r in rows:
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for side, pi, qi in levels:
            if pi < len(r) and r[pi] and r[qi] and float(r[qi]) > 0:
                (bids if side == BID else asks)[pt(r[pi])] = ql(r[qi])
        differ.apply(ev, _us(r[col["local_timestamp"]]), _us(r[col["timestamp"]]), m, bids, asks)
