"""Databento DBN files, plain or zstd-compressed (`.dbn.zst`, what Databento's downloads are),
decoded with the official `databento-dbn` package. Schemas:

- MBO (L3 order by order): A(dd) / C(ancel) / M(odify) / R (clear) change the book; T(rade)
  rows are trades (side = the aggressor's); F(ill) rows are information (Databento sends the
  book change as a cancel or modify).
- MBP-1 and MBP-10: each record carries the top 1 / 10 levels after its event, diffed into
  level changes; a record whose action is T(rade) is also a trade.
- TBBO: trades, each with the top of the book just *before* it (the book row comes first).
- trades: trades only (no book).

Messages: a record with `F_LAST` (1<<7) ends one event of its instrument; the records of a
snapshot (`F_SNAPSHOT`, 1<<5: a clear then every resting order, at the start of a day or a
session) are one message. `F_BAD_TS_RECV` (1<<3) marks a `ts_recv` that is not the receive
time (snapshot records: the snapshot's generation time): kept, flagged (`F_BAD_TS`), and held
back to the previous record's time if earlier, so local time never goes back.

Checks (`rowcheck`): `sequence` is the venue channel's, shared by every instrument on the
channel, so within one instrument it never goes back but skips numbers by design (a one-symbol
file skips the other instruments' messages): skips are counted and explained, not failures; a
step back is a failure, except inside a snapshot, whose records are not in sequence order.
Prices are fixed-point 1e-9; the grid comes from an instrument file or from every price in the
file. Times are ns by the format (`ts_recv` local, `ts_event` the venue's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenthft.market.events import (
    ADD,
    ASK,
    BID,
    CANCEL,
    CLEAR,
    F_BAD_TS,
    F_LAST,
    F_SNAPSHOT,
    FILL,
    MODIFY,
    TRADE,
    CaptureFormatError,
    Events,
    Meta,
)
from agenthft.market.feeds.files import ZSTD_MAGIC, read_all
from agenthft.market.feeds.grid import StepFinder
from agenthft.market.feeds.tabular import SnapshotDiffer, instrument_from_data
from agenthft.model import GridError, Instrument, InstrumentKind

_PRICE_SCALE = 9
_UNDEF = 2**63 - 1
DBN_F_LAST, DBN_F_SNAPSHOT, DBN_F_BAD_TS_RECV = 1 << 7, 1 << 5, 1 << 3
SCHEMAS = ("mbo", "mbp-1", "mbp-10", "tbbo", "trades")


def decode(path: Path) -> tuple[Any, list[Any]]:
    """(metadata, records) of a DBN file, zstd-compressed or not (by its first bytes)."""
    import databento_dbn as dbn

    try:
        raw = read_all(path)
    except Exception as e:  # zstandard raises its own error types for a damaged frame
        raise CaptureFormatError(f"{path}: cannot decompress it ({e})") from None
    if raw[:3] != b"DBN":
        kind = "zstd-compressed, but not" if path.read_bytes()[:4] == ZSTD_MAGIC else "not"
        raise CaptureFormatError(f"{path}: {kind} a DBN file (no 'DBN' magic)")
    dec = dbn.DBNDecoder()
    dec.write(raw)
    try:
        records = dec.decode()
    except Exception as e:  # the package raises its own error types
        raise CaptureFormatError(f"{path}: not a readable DBN file ({e})") from None
    if not records or not isinstance(records[0], dbn.Metadata):
        raise CaptureFormatError(f"{path}: no DBN metadata at the start")
    return records[0], records[1:]


def _px(raw: int) -> str:
    whole, frac = divmod(abs(raw), 10**_PRICE_SCALE)
    text = f"{whole}.{frac:09d}".rstrip("0").rstrip(".")
    return f"-{text}" if raw < 0 else text


def _symbols(meta: Any, ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for sym, intervals in (meta.mappings or {}).items():
        for iv in intervals:
            try:
                names[int(iv["symbol"] if isinstance(iv, dict) else iv.symbol)] = sym
            except (ValueError, KeyError, AttributeError):
                continue
    syms = list(meta.symbols or [])
    if len(ids) == 1 and len(syms) == 1 and not names:
        names[next(iter(ids))] = syms[0]
    return {i: names.get(i, str(i)) for i in ids}


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    return Events.merge([_one(Path(p), instruments, ts_unit) for p in paths])


def _side(r: Any) -> int:
    s = str(r.side)
    return BID if s == "B" else ASK if s == "A" else 0


def _one(path: Path, instruments: dict[str, Instrument] | None, ts_unit: str | None) -> Events:
    import databento_dbn as dbn

    meta, records = decode(path)
    schema = str(meta.schema).rsplit(".", 1)[-1].lower().replace("_", "-")
    mbo = [r for r in records if isinstance(r, dbn.MBOMsg)]
    mbp = [r for r in records if isinstance(r, dbn.MBP1Msg | dbn.MBP10Msg)]
    trades = [r for r in records if isinstance(r, dbn.TradeMsg)]
    if not (mbo or mbp or trades):
        raise CaptureFormatError(
            f"{path}: DBN schema {schema} has no records this reader takes (schemas: {', '.join(SCHEMAS)})"
        )
    mine = mbo + mbp + trades
    ids = {r.instrument_id for r in mine}
    names = _symbols(meta, ids)
    notes = [f"{path}: DBN {meta.dataset} {schema}, {len(mine):,} records; times in ns (DBN's ts_recv, by the format)"]
    if ts_unit not in (None, "ns"):
        notes.append(f"{path}: --ts-unit {ts_unit} does not apply: DBN times are ns by the format")
    ev = Events(Meta("databento", [str(path)], [], notes))
    index: dict[int, tuple[int, Instrument]] = {}
    values: dict[int, tuple[set[int], set[int]]] = {iid: (set(), set()) for iid in ids}
    for r in mine:  # every price and size, deduplicated as integers first
        prices, sizes = values[r.instrument_id]
        if r.price != _UNDEF and r.price:
            prices.add(r.price)
        if r.size:
            sizes.add(r.size)
    for r in mbp:
        prices, sizes = values[r.instrument_id]
        for lv in r.levels:
            prices.update(p for p in (lv.bid_px, lv.ask_px) if p != _UNDEF and p)
            sizes.update(s for s in (lv.bid_sz, lv.ask_sz) if s)
    for iid in sorted(ids):
        prices, sizes = values[iid]
        pf, sf = StepFinder(), StepFinder()
        pf.update(_px(p) for p in sorted(prices))
        sf.update(str(s) for s in sorted(sizes))
        inst, note = instrument_from_data(
            names[iid], list(pf.seen), list(sf.seen), instruments, str(path), InstrumentKind.SPOT
        )
        index[iid] = (ev.market_index(inst), inst)
        ev.meta.notes.append(note)
    try:
        if mbo:
            _mbo(ev, mbo, index)
        if mbp:
            _mbp(ev, mbp, index, before=schema == "tbbo")
        if trades:
            _trades(ev, trades, index)
    except GridError as e:
        raise CaptureFormatError(f"{path}: {e}") from None
    return ev


_KIND = {"A": ADD, "C": CANCEL, "M": MODIFY, "R": CLEAR, "T": TRADE, "F": FILL}


class _Sequence:
    """Per instrument: `sequence` never goes back outside snapshots; skips counted."""

    def __init__(self, ev: Events) -> None:
        self.ev = ev
        self.last: dict[int, int] = {}
        self.skips = self.back = self.ok = self.snapshot = 0

    def see(self, iid: int, seq: int, snapshot: bool) -> None:
        if snapshot:
            self.snapshot += 1  # a snapshot's records are not in sequence order
            return
        prev = self.last.get(iid)
        if prev is not None:
            if seq < prev:
                self.back += 1
            else:
                self.ok += 1
                if seq > prev + 1:
                    self.skips += 1
        self.last[iid] = seq

    def done(self) -> None:
        ev = self.ev
        ev.count("sequence_ok", self.ok)
        ev.count("sequence_back", self.back)
        ev.count("sequence_skips", self.skips)
        if self.snapshot:
            ev.count("snapshot_records", self.snapshot)
            ev.meta.notes.append(
                f"{self.snapshot:,} snapshot records (F_SNAPSHOT) are exempt from sequence order (a snapshot lists "
                "resting orders, not messages in order)"
            )
        if self.skips:
            ev.meta.notes.append(
                f"sequence skipped numbers {self.skips:,} times: `sequence` is the venue channel's, shared by every "
                "instrument on it, so one instrument's records skip the others' (counted, not a gap)"
            )


def _mbo(ev: Events, records: list[Any], index: dict[int, tuple[int, Instrument]]) -> None:
    seqs = _Sequence(ev)
    last_local = 0
    held = 0
    prev: Any = None
    for r in records:
        m, inst = index[r.instrument_id]
        action = str(r.action)
        kind = _KIND.get(action)
        if kind is None:
            continue
        flags = int(r.flags)
        snap = bool(flags & DBN_F_SNAPSHOT)
        if (
            prev is not None
            and not (int(prev.flags) & DBN_F_SNAPSHOT and snap)
            and (prev.instrument_id, prev.ts_recv, prev.sequence) != (r.instrument_id, r.ts_recv, r.sequence)
        ):
            ev.end_message()  # a new event although the last one had no F_LAST (F_LAST is per instrument)
        g = inst.grid
        price = g.price_to_ticks(_px(r.price)) if r.price != _UNDEF else 0
        seqs.see(r.instrument_id, r.sequence, snap)
        ts = r.ts_recv
        if ts < last_local:
            held += 1
            ts = last_local
        last_local = ts
        out = (F_LAST if flags & DBN_F_LAST else 0) | (F_SNAPSHOT if snap else 0)
        out |= F_BAD_TS if flags & DBN_F_BAD_TS_RECV else 0
        ev.add(
            ts,
            r.ts_event,
            m,
            kind,
            _side(r),
            price,
            g.qty_to_lots(r.size) if r.size else 0,
            r.order_id,
            r.sequence,
            out,
        )
        ev.count(f"mbo:{action}")
        prev = None if flags & DBN_F_LAST else r
    ev.end_message()
    seqs.done()
    if held:
        ev.meta.notes.append(f"{held:,} records' ts_recv went back (F_BAD_TS_RECV): held at the previous record's time")


def _top(inst: Instrument, levels: Any) -> tuple[dict[int, int], dict[int, int]]:
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    bids = {pt(_px(lv.bid_px)): ql(lv.bid_sz) for lv in levels if lv.bid_px != _UNDEF and lv.bid_sz}
    asks = {pt(_px(lv.ask_px)): ql(lv.ask_sz) for lv in levels if lv.ask_px != _UNDEF and lv.ask_sz}
    return bids, asks


def _mbp(ev: Events, records: list[Any], index: dict[int, tuple[int, Instrument]], before: bool) -> None:
    """MBP-1 / MBP-10 (the book after each record's event) and TBBO (the top before each trade)."""
    differs: dict[int, SnapshotDiffer] = {}
    seqs = _Sequence(ev)
    for r in records:
        m, inst = index[r.instrument_id]
        g = inst.grid
        seqs.see(r.instrument_id, r.sequence, bool(int(r.flags) & DBN_F_SNAPSHOT))
        trade = str(r.action) == "T"
        bids, asks = _top(inst, r.levels)
        differ = differs.setdefault(r.instrument_id, SnapshotDiffer())
        if before:
            differ.apply(ev, r.ts_recv, r.ts_event, m, bids, asks, r.sequence)
        if trade:
            price, size = g.price_to_ticks(_px(r.price)), g.qty_to_lots(r.size)
            ev.add(r.ts_recv, r.ts_event, m, TRADE, _side(r), price, size, 0, r.sequence, F_LAST)
            ev.count("trade")
        if not before:
            differ.apply(ev, r.ts_recv, r.ts_event, m, bids, asks, r.sequence)
        ev.count("mbp")
    seqs.done()


def _trades(ev: Events, records: list[Any], index: dict[int, tuple[int, Instrument]]) -> None:
    seqs = _Sequence(ev)
    for r in records:
        m, inst = index[r.instrument_id]
        g = inst.grid
        seqs.see(r.instrument_id, r.sequence, False)
        ev.add(
            r.ts_recv,
            r.ts_event,
            m,
            TRADE,
            _side(r),
            g.price_to_ticks(_px(r.price)),
            g.qty_to_lots(r.size),
            0,
            r.sequence,
            F_LAST,
        )
        ev.count("trade")
    seqs.done()
