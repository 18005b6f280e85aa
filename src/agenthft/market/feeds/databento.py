"""Databento DBN files (MBO = L3 order by order, MBP-10 = top ten levels), decoded with the
official `databento-dbn` package.

- MBO: A(dd) / C(ancel) / M(odify) / R (clear) change the book; T(rade) rows are kept as trades
  (side = the aggressor's); F(ill) rows are information (Databento sends the book change as a
  cancel). Checked against the feed's own sequencing: `sequence` never goes back, and gaps
  are counted. The book may be crossed during auctions: counted and reported, not an error.
- MBP-10: each record carries the top ten levels after its event: diffed into level changes.
Prices are fixed-point 1e-9; the grid comes from an instrument file or from the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from agenthft.market.events import ADD, ASK, BID, CANCEL, CLEAR, F_LAST, FILL, MODIFY, TRADE, Events, Meta
from agenthft.market.feeds.probe import CaptureFormatError
from agenthft.market.feeds.tabular import SnapshotDiffer, instrument_from_data
from agenthft.model import GridError, Instrument, InstrumentKind

_PRICE_SCALE = 9
_UNDEF = 2**63 - 1


def decode(path: Path) -> tuple[Any, list[Any]]:
    import databento_dbn as dbn

    raw = path.read_bytes()
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        raise CaptureFormatError(f"{path}: a zstd-compressed DBN file: decompress it first (zstd -d)")
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
    return format(Decimal(raw).scaleb(-_PRICE_SCALE).normalize(), "f")


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


def events(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    return Events.merge([_one(Path(p), instruments) for p in paths])


def _one(path: Path, instruments: dict[str, Instrument] | None) -> Events:
    import databento_dbn as dbn

    meta, records = decode(path)
    schema = str(meta.schema).rsplit(".", 1)[-1].lower().replace("_", "-")
    mbo = [r for r in records if isinstance(r, dbn.MBOMsg)]
    mbp = [r for r in records if isinstance(r, dbn.MBP10Msg)]
    if not mbo and not mbp:
        raise CaptureFormatError(f"{path}: DBN schema {schema} has no MBO or MBP-10 records (readers: mbo, mbp-10)")
    ids = {r.instrument_id for r in mbo + mbp}
    names = _symbols(meta, ids)
    ev = Events(Meta("databento", [str(path)], [], [f"{path.name}: DBN {meta.dataset} {schema}"]))
    index: dict[int, tuple[int, Instrument]] = {}
    for iid in sorted(ids):
        mine = [r for r in mbo + mbp if r.instrument_id == iid]
        prices = [_px(r.price) for r in mine if r.price != _UNDEF]
        for r in mbp:
            if r.instrument_id == iid:
                prices += [_px(lv.bid_px) for lv in r.levels if lv.bid_px != _UNDEF]
                prices += [_px(lv.ask_px) for lv in r.levels if lv.ask_px != _UNDEF]
        sizes = [str(r.size) for r in mine if r.size]
        inst, note = instrument_from_data(names[iid], prices, sizes, instruments, str(path), InstrumentKind.SPOT)
        index[iid] = (ev.market_index(inst), inst)
        ev.meta.notes.append(note)
    try:
        if mbo:
            _mbo(ev, mbo, index)
        if mbp:
            _mbp(ev, mbp, index)
    except GridError as e:
        raise CaptureFormatError(f"{path}: {e}") from None
    return ev


_KIND = {"A": ADD, "C": CANCEL, "M": MODIFY, "R": CLEAR, "T": TRADE, "F": FILL}


def _mbo(ev: Events, records: list[Any], index: dict[int, tuple[int, Instrument]]) -> None:
    last_seq: dict[int, int] = {}
    gaps = back = 0
    for r in records:
        m, inst = index[r.instrument_id]
        g = inst.grid
        action = str(r.action)
        kind = _KIND.get(action)
        if kind is None:
            continue
        side = BID if str(r.side) == "B" else ASK if str(r.side) == "A" else 0
        price = g.price_to_ticks(_px(r.price)) if r.price != _UNDEF else 0
        prev = last_seq.get(r.instrument_id)
        if prev is not None:
            if r.sequence < prev:
                back += 1
            elif r.sequence > prev + 1:
                gaps += 1
        last_seq[r.instrument_id] = r.sequence
        flags = F_LAST if r.flags & 128 else 0
        ev.add(
            r.ts_recv,
            r.ts_event,
            m,
            kind,
            side,
            price,
            g.qty_to_lots(r.size) if r.size else 0,
            r.order_id,
            r.sequence,
            flags,
        )
        ev.count(f"mbo:{action}")
    ev.end_message()
    ev.count("sequence_gaps", gaps)
    ev.count("sequence_back", back)


def _mbp(ev: Events, records: list[Any], index: dict[int, tuple[int, Instrument]]) -> None:
    differs: dict[int, SnapshotDiffer] = {}
    for r in records:
        m, inst = index[r.instrument_id]
        g = inst.grid
        if str(r.action) == "T":
            side = BID if str(r.side) == "B" else ASK if str(r.side) == "A" else 0
            ev.add(
                r.ts_recv,
                r.ts_event,
                m,
                TRADE,
                side,
                g.price_to_ticks(_px(r.price)),
                g.qty_to_lots(r.size),
                0,
                r.sequence,
                F_LAST,
            )
        bids = {
            g.price_to_ticks(_px(lv.bid_px)): g.qty_to_lots(lv.bid_sz)
            for lv in r.levels
            if lv.bid_px != _UNDEF and lv.bid_sz
        }
        asks = {
            g.price_to_ticks(_px(lv.ask_px)): g.qty_to_lots(lv.ask_sz)
            for lv in r.levels
            if lv.ask_px != _UNDEF and lv.ask_sz
        }
        differs.setdefault(r.instrument_id, SnapshotDiffer()).apply(
            ev, r.ts_recv, r.ts_event, m, bids, asks, r.sequence
        )
        ev.count("mbp-10")
