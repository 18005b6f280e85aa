"""Tardis.dev CSV files (`incremental_book_L2`, `book_snapshot_N`, `trades`; gzip or not), the
de-facto standard for historical crypto tick data. Columns as Tardis documents them:

- incremental_book_L2: exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
  (amount absolute, 0 removes; a run of is_snapshot=true rows after false ones is a new book)
- book_snapshot_N: exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,
  bids[0].price,... (each row the top N; diffed into level changes)
- trades: exchange,symbol,timestamp,local_timestamp,id,side,price,amount (side = the taker's)

Timestamps are microseconds (Tardis's format; checked by magnitude per file, `--ts-unit`
overrides). Rows of one symbol with the same local timestamp are one message. Symbols come
from the `symbol` column; the grid from an instrument file or every value in the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from agenthft.market.events import ASK, BID, CLEAR, F_LAST, F_SNAPSHOT, LEVEL, TRADE, CaptureFormatError, Events, Meta
from agenthft.market.feeds.files import open_bytes
from agenthft.market.feeds.tabular import SnapshotDiffer, instrument_from_data, side_on_grid
from agenthft.market.feeds.timestamps import SCALE, SHOWN, by_magnitude
from agenthft.model import GridError, Instrument

HEADER = ("exchange", "symbol", "timestamp", "local_timestamp")


def _rows(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    f = io.TextIOWrapper(open_bytes(path), newline="")
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


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    tables = [_one(Path(p), instruments, ts_unit) for p in paths]
    return Events.merge(tables)


def time_unit(path: Path, rows: list[list[str]], col: dict[str, int], ts_unit: str | None) -> tuple[int, str]:
    """(ns per unit, note): Tardis writes µs; the file's first and last local times must say so
    by magnitude (or --ts-unit says otherwise)."""
    if ts_unit is not None:
        return SCALE[ts_unit], f"{path}: local timestamps in {SHOWN[ts_unit]} (given by --ts-unit)"
    stamps = [r[col["local_timestamp"]] for r in (rows[0], rows[-1])] if rows else []
    units = {by_magnitude(float(t)) for t in stamps if t}
    if units == {"us"} or not stamps:
        return SCALE["us"], f"{path}: timestamps in µs (Tardis's format; the magnitude agrees)"
    raise CaptureFormatError(
        f"{path}: Tardis writes µs, but the local timestamps (first {stamps[0]}) are not µs since the epoch "
        f"(by magnitude: {sorted(str(u) for u in units)}); pass --ts-unit {{s,ms,us,ns}}"
    )


def _one(path: Path, instruments: dict[str, Instrument] | None, ts_unit: str | None = None) -> Events:
    header, reader = _rows(path)
    kind = kind_of(header)
    rows = [r for r in reader if r]
    col = {name: i for i, name in enumerate(header)}
    scale, unit_note = time_unit(path, rows, col, ts_unit)
    ev = Events(Meta("tardis", [str(path)], [], [f"{path.name}: Tardis {kind}", unit_note]))
    by_symbol: dict[str, list[list[str]]] = {}
    for r in rows:
        by_symbol.setdefault(r[1], []).append(r)
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
        given = bool(instruments and symbol in instruments)
        try:
            if kind == "incremental_book_L2":
                _incremental(ev, m, inst, srows, col, scale)
            elif kind == "trades":
                _trades(ev, m, inst, srows, col, scale)
            else:
                _snapshots(ev, m, inst, srows, col, scale, given, str(path))
        except GridError as e:
            raise CaptureFormatError(
                f"{path}: {symbol}: {e} (grid: tick {inst.tick_size}, lot {inst.lot_size})"
            ) from None
        ev.count(kind, len(srows))
    return ev


def _incremental(
    ev: Events, m: int, inst: Instrument, rows: list[list[str]], col: dict[str, int], scale: int = 1000
) -> None:
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    ts_i, loc_i, snap_i = col["timestamp"], col["local_timestamp"], col["is_snapshot"]
    side_i, px_i, qty_i = col["side"], col["price"], col["amount"]
    prev_local: str | None = None
    in_snapshot = False

    def _us(text: str) -> int:
        return int(text) * scale

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


def _trades(
    ev: Events, m: int, inst: Instrument, rows: list[list[str]], col: dict[str, int], scale: int = 1000
) -> None:
    g = inst.grid

    def _us(text: str) -> int:
        return int(text) * scale

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


def _snapshots(
    ev: Events,
    m: int,
    inst: Instrument,
    rows: list[list[str]],
    col: dict[str, int],
    scale: int = 1000,
    given: bool = False,
    path: str = "",
) -> None:
    g = inst.grid
    levels = []
    for name, i in col.items():
        if name.endswith(".price"):
            side = BID if name.startswith("bids") else ASK
            levels.append((side, i, col[name[: -len(".price")] + ".amount"]))
    differ = SnapshotDiffer()
    dropped: list[str] = []
    loc, ts = col["local_timestamp"], col["timestamp"]
    for n, r in enumerate(rows, 2):
        sides: list[list[tuple[str, str]]] = [[], []]
        for side, pi, qi in levels:
            if pi < len(r) and r[pi] and r[qi]:
                sides[0 if side == BID else 1].append((r[pi], r[qi]))
        where = f"{path}:{n} ({r[1]})"
        bids = side_on_grid(g, sides[0], True, given, where, dropped)
        asks = side_on_grid(g, sides[1], False, given, where, dropped)
        differ.apply(ev, int(r[loc]) * scale, int(r[ts]) * scale, m, bids, asks)
    if dropped:
        ev.meta.notes.append(
            f"{len(dropped):,} recorded level(s) off the instrument file's grid, behind the top, were dropped "
            f"(first: {dropped[0]})"
        )
