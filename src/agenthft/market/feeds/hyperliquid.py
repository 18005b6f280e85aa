"""Hyperliquid WebSocket captures: `l2Book` snapshots, `trades` and `activeAssetCtx`, one JSON
message per line, optionally prefixed by the local receive time (`<time> <json>`, as our other
recorders write; its unit read from the data: magnitude and the messages' own `time`).
Hyperliquid sends whole books (20 levels a side), never diffs: consecutive snapshots of a coin
are diffed into level changes (`SnapshotDiffer`), so the book replica, the venue replay and the
backtest see the same rows as from a diff feed.

Shapes (Hyperliquid's WebSocket docs): `{"channel": "l2Book", "data": {"coin", "time" (ms),
"levels": [[{"px", "sz", "n"}...bids], [...asks]]}}`; `{"channel": "trades", "data": [{"coin",
"side" ("B" buyer took / "A" seller took), "px", "sz", "time", "tid"}]}`; `{"channel":
"activeAssetCtx", "data": {"coin", "ctx": {"funding" (hourly rate), "markPx", ...}}}`.

Live, the Hyperliquid connector turns the same snapshots into the same level changes with the
same code (`BookSync`: this module's `Book` and `tabular.SnapshotDiffer`).

Funding: Hyperliquid settles funding every hour on the hour. With `activeAssetCtx` in the data,
each hour boundary the capture passes is a FUNDING row with the rate and mark last seen before
it; without, the notes say funding is not in the data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import msgspec

from agenthft.market.events import ASK, BID, F_LAST, FUNDING, TRADE, CaptureFormatError, Events, Meta
from agenthft.market.feeds.files import numbered_lines
from agenthft.market.feeds.tabular import SnapshotDiffer, instrument_from_data, side_on_grid
from agenthft.market.feeds.timestamps import SCALE, UnitFinder, to_ns
from agenthft.model import GridError, Instrument
from agenthft.model.fixed import to_scaled
from agenthft.model.money import RATE_DECIMALS

HOUR_NS = 3_600_000_000_000


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


class AssetCtx(msgspec.Struct):
    funding: str = ""
    markPx: str = ""


class ActiveAssetCtx(msgspec.Struct):
    coin: str
    ctx: AssetCtx


class BookSync:
    """One coin's live `l2Book` snapshots as the level changes between them (the reader's
    `SnapshotDiffer`): the first whole, then only what changed. Levels must lie on the
    instrument's grid (GridError otherwise: the connector's grid is the finest the price rule
    allows, so nothing valid is off it)."""

    def __init__(self, inst: Instrument) -> None:
        self.grid = inst.grid
        self.differ = SnapshotDiffer()
        self.decoder = msgspec.json.Decoder(Book)

    def on_book(self, book: Book) -> tuple[bool, list[tuple[int, int]], list[tuple[int, int]]]:
        """(snapshot, bids, asks): the whole book the first time (and after `reset`), else
        the changed levels (qty 0: gone)."""
        pt, ql = self.grid.price_to_ticks, self.grid.qty_to_lots
        bids = {pt(lv.px): ql(lv.sz) for lv in book.levels[0]}
        asks = {pt(lv.px): ql(lv.sz) for lv in book.levels[1]} if len(book.levels) > 1 else {}
        return self.differ.diff(bids, asks)

    def on_bbo(self, bid: Level | None, ask: Level | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """A `bbo` push (the top of each side, None: empty) as level changes on the last book:
        levels better than the new top are gone, the top is set. The differ's book moves with
        it, so the next snapshot is diffed against what the core holds. Nothing before the
        first snapshot."""
        d = self.differ
        if not d.snapshots:
            return [], []
        pt, ql = self.grid.price_to_ticks, self.grid.qty_to_lots
        out: list[list[tuple[int, int]]] = []
        for top, book, better in ((bid, d.bids, 1), (ask, d.asks, -1)):
            changes: list[tuple[int, int]] = []
            if top is None:
                changes = [(p, 0) for p in book]
                book.clear()
            else:
                price, qty = pt(top.px), ql(top.sz)
                for p in [p for p in book if (p - price) * better > 0]:
                    del book[p]
                    changes.append((p, 0))
                if book.get(price) != qty:
                    book[price] = qty
                    changes.append((price, qty))
            out.append(changes)
        return out[0], out[1]

    def reset(self) -> None:
        """The next snapshot is whole (after a reconnect or a resubscription)."""
        self.differ = SnapshotDiffer()


class _Timed(msgspec.Struct):
    time: int = 0


def lines(path: Path, ts_unit: str | None = None) -> tuple[Iterator[tuple[int, int, bytes]], str]:
    """((line number, local ns or -1, JSON) lines, the note on their times)."""
    finder = UnitFinder()
    timed = msgspec.json.Decoder(Message)
    when = msgspec.json.Decoder(_Timed | list[_Timed])
    prefixed = False
    for _, line in numbered_lines(path):
        line = line.strip()
        if not line:
            continue
        if line[:1] == b"{":
            break
        prefixed = True
        ts, _, body = line.partition(b" ")
        exch = 0
        try:
            data = when.decode(timed.decode(body).data)
            exch = (data[0].time if data else 0) if isinstance(data, list) else data.time
            finder.add(float(ts), exch * 1_000_000 if exch else None)
        except (msgspec.DecodeError, ValueError):
            continue
        if finder.enough:
            break
    if prefixed:
        unit, note = finder.decide(str(path), ts_unit)
        scale = SCALE[unit]
    else:
        scale, note = 0, f"{path}: no local timestamps in the lines: the exchange's `time` (ms) stands for them"

    def gen() -> Iterator[tuple[int, int, bytes]]:
        for n, line in numbered_lines(path):
            line = line.strip()
            if not line:
                continue
            if line[:1] == b"{":
                yield n, -1, line
            else:
                ts, _, body = line.partition(b" ")
                yield n, to_ns(ts, scale or 1), body

    return gen(), note


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    return Events.merge([_one(Path(p), instruments, ts_unit) for p in paths])


def _one(path: Path, instruments: dict[str, Instrument] | None, ts_unit: str | None) -> Events:
    msg_dec = msgspec.json.Decoder(Message)
    book_dec, trades_dec = msgspec.json.Decoder(Book), msgspec.json.Decoder(list[Trade])
    ctx_dec = msgspec.json.Decoder(ActiveAssetCtx)
    parsed: list[tuple[int, int, Any]] = []  # (line, local ns, Book | list[Trade] | ActiveAssetCtx)
    prices: dict[str, list[str]] = {}
    sizes: dict[str, list[str]] = {}
    source, time_note = lines(path, ts_unit)
    for n, local, body in source:
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
            elif msg.channel == "activeAssetCtx":
                parsed.append((n, local, ctx_dec.decode(msg.data)))
        except msgspec.DecodeError as e:
            raise CaptureFormatError(
                f"{path}:{n}: not a Hyperliquid l2Book/trades/activeAssetCtx message: {e}"
            ) from None
    ev = Events(Meta("hyperliquid", [str(path)], [], [time_note]))
    index: dict[str, tuple[int, Instrument]] = {}
    for coin in prices:
        inst, note = instrument_from_data(coin, prices[coin], sizes[coin], instruments, str(path))
        index[coin] = (ev.market_index(inst), inst)
        ev.meta.notes.append(note)
    given = {coin for coin in prices if instruments and coin in instruments}
    differs: dict[str, SnapshotDiffer] = {}
    ctxs: dict[str, AssetCtx] = {}
    dropped: list[str] = []
    now = 0  # the capture's clock: local ns where the lines carry it, else the exchange's time
    for n, local, item in parsed:
        try:
            if isinstance(item, ActiveAssetCtx):
                at = local if local >= 0 else now
                _funding(ev, index, ctxs, now, at)
                now = max(now, at)
                if item.coin in index:
                    ctxs[item.coin] = item.ctx
                ev.count("activeAssetCtx")
            elif isinstance(item, Book):
                m, inst = index[item.coin]
                g = inst.grid
                where = f"{path}:{n}"
                bids = side_on_grid(
                    g, ((lv.px, lv.sz) for lv in item.levels[0]), True, item.coin in given, where, dropped
                )
                asks = side_on_grid(
                    g, ((lv.px, lv.sz) for lv in item.levels[1]), False, item.coin in given, where, dropped
                )
                at = item.time * 1_000_000
                tl = local if local >= 0 else at
                _funding(ev, index, ctxs, now, tl)
                now = max(now, tl)
                differs.setdefault(item.coin, SnapshotDiffer()).apply(ev, tl, at, m, bids, asks)
                ev.count("l2Book")
            else:
                for tr in item:
                    m, inst = index[tr.coin]
                    at = tr.time * 1_000_000
                    side = BID if tr.side == "B" else ASK if tr.side == "A" else 0
                    g = inst.grid
                    tl = local if local >= 0 else at
                    _funding(ev, index, ctxs, now, tl)
                    now = max(now, tl)
                    ev.add(
                        tl,
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
    if dropped:
        ev.meta.notes.append(
            f"{len(dropped):,} recorded level(s) off the instrument file's grid, behind the top, were dropped "
            f"(first: {dropped[0]})"
        )
    if ev.meta.counts.get("activeAssetCtx"):
        ev.meta.notes.append(
            f"funding from activeAssetCtx (Hyperliquid settles hourly, on the hour): "
            f"{ev.meta.counts.get('funding', 0):,} funding time(s) passed"
        )
    else:
        ev.meta.notes.append(
            "funding is not in the data (no activeAssetCtx messages); --funding RATE@1 charges an hourly schedule"
        )
    return ev


def _funding(
    ev: Events, index: dict[str, tuple[int, Instrument]], ctxs: dict[str, AssetCtx], before: int, now: int
) -> None:
    """A FUNDING row per coin with a known context for each hour boundary in (before, now]."""
    if not ctxs or before <= 0 or now // HOUR_NS <= before // HOUR_NS:
        return
    for hour in range(before // HOUR_NS + 1, now // HOUR_NS + 1):
        for coin, ctx in ctxs.items():
            if not ctx.funding:
                continue
            m, inst = index[coin]
            mark = (
                int((Decimal(ctx.markPx) / Decimal(inst.tick_size)).to_integral_value(ROUND_HALF_EVEN))
                if ctx.markPx
                else 0
            )
            rate = to_scaled(ctx.funding, RATE_DECIMALS)
            ev.add(now, hour * HOUR_NS, m, FUNDING, 0, mark, rate, 0, 0, F_LAST)
            ev.count("funding")
