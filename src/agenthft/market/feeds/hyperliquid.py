"""Hyperliquid WebSocket captures: `l2Book` snapshots and `trades`, one JSON message per line,
optionally prefixed by the local receive time in ns (`<ns> <json>`, as our other recorders
write). Hyperliquid sends whole books (20 levels a side), never diffs: consecutive snapshots of a
coin are diffed into level changes (`SnapshotDiffer`), so the book replica, the venue replay and
the backtest see the same rows as from a diff feed.

Shapes (Hyperliquid's WebSocket docs): `{"channel": "l2Book", "data": {"coin", "time" (ms),
"levels": [[{"px", "sz", "n"}...bids], [...asks]]}}`; `{"channel": "trades", "data": [{"coin",
"side" ("B" buyer took / "A" seller took), "px", "sz", "time", "tid"}]}`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from agenthft.market.events import ASK, BID, F_LAST, TRADE, Events, Meta
from agenthft.market.feeds.probe import CaptureFormatError, is_gzip
from agenthft.market.feeds.tabular import SnapshotDiffer, instrument_from_data
from agenthft.model import GridError, Instrument


class Level(msgspec.Struct):
    px: str
    sz: str
    n: int = 0


class Book(msgspec.Struct):
    coin: str
    time: int
    levels: list[list[Level]]


class Trade(msgspec.Struct):
    coin: str
    side: str
    px: str
    sz: str
    time: int
    tid: int = 0


class Message(msgspec.Struct):
    channel: str
    data: msgspec.Raw


def lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, local ns or -1, JSON)."""
    with gzip.open(path, "rb") if is_gzip(path) else open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line[:1] == b"{":
                yield n, -1, line
            else:
                ts, _, body = line.partition(b" ")
                yield n, int(ts), body


def events(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    return Events.merge([_one(Path(p), instruments) for p in paths])


def _one(path: Path, instruments: dict[str, Instrument] | None) -> Events:
    msg_dec = msgspec.json.Decoder(Message)
    book_dec, trades_dec = msgspec.json.Decoder(Book), msgspec.json.Decoder(list[Trade])
    parsed: list[tuple[int, int, Any]] = []  # (line, local ns, Book | list[Trade])
    prices: dict[str, list[str]] = {}
    sizes: dict[str, list[str]] = {}
    for n, local, body in lines(path):
        try:
            msg = msg_dec.decode(body)
            if msg.channel == "l2Book":
                b = book_dec.decode(msg.data)
                prices.setdefault(b.coin, []).extend(lv.px for side in b.levels for lv in side)
                sizes.setdefault(b.coin, []).extend(lv.sz for side in b.levels for lv in side)
                parsed.append((n, local, b))
            elif msg.channel == "trades":
                ts = trades_dec.decode(msg.data)
                for t in ts:
                    prices.setdefault(t.coin, []).append(t.px)
                    sizes.setdefault(t.coin, []).append(t.sz)
                parsed.append((n, local, ts))
        except msgspec.DecodeError as e:
            raise CaptureFormatError(f"{path}:{n}: not a Hyperliquid l2Book/trades message: {e}") from None
    ev = Events(Meta("hyperliquid", [str(path)], [], []))
    index: dict[str, tuple[int, Instrument]] = {}
    for coin in prices:
        inst, note = instrument_from_data(coin, prices[coin], sizes[coin], instruments, str(path))
        index[coin] = (ev.market_index(inst), inst)
        ev.meta.notes.append(note)
    differs: dict[str, SnapshotDiffer] = {}
    for n, local, item in parsed:
        try:
            if isinstance(item, Book):
                m, inst = index[item.coin]
                g = inst.grid
                bids = {g.price_to_ticks(lv.px): g.qty_to_lots(lv.sz) for lv in item.levels[0]}
                asks = {g.price_to_ticks(lv.px): g.qty_to_lots(lv.sz) for lv in item.levels[1]}
                at = item.time * 1_000_000
                differs.setdefault(item.coin, SnapshotDiffer()).apply(
                    ev, local if local >= 0 else at, at, m, bids, asks
                )
                ev.count("l2Book")
            else:
                for tr in item:
                    m, inst = index[tr.coin]
                    at = tr.time * 1_000_000
                    side = BID if tr.side == "B" else ASK if tr.side == "A" else 0
                    g = inst.grid
                    ev.add(
                        local if local >= 0 else at,
                        at,
                        m,
                        TRADE,
                        side,
                        g.price_to_ticks(tr.px),
                        g.qty_to_lots(tr.sz),
                        0,
                        tr.tid,
                        F_LAST,
                    )
                    ev.count("trade")
        except GridError as e:
            raise CaptureFormatError(f"{path}:{n}: {e}") from None
    return ev
