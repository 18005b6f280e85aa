"""Binance combined-stream captures: depth diffs bridged onto a REST snapshot.

Spot and futures bridge differently (Binance's documented rules; see ../shared/data/README):
- spot:    drop u <= L; first applied has U <= L+1 <= u; then U == previous u + 1.
- futures: drop u <  L; first applied has U <= L   <= u; then pu == previous u.
The REST snapshot arrives *after* the first few updates, so updates are buffered until then.
Oracle: every bookTicker whose `u` equals an applied depth update's `u` must equal the
rebuilt best bid/ask, price and quantity.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level, SequenceGap
from agenthft.market.events import ASK, BID, F_LAST, LEVEL, TRADE, Events, Meta
from agenthft.market.feeds.capture import ReplayReport, hftbacktest_lines_at
from agenthft.market.feeds.probe import CaptureFormatError, CaptureInfo, is_gzip, step_of
from agenthft.model import Grid, GridError, Instrument, InstrumentKind

RawLevels = list[tuple[str, str]]


class Envelope(msgspec.Struct):
    """A capture line: a combined-stream message, or the REST depth snapshot body."""

    stream: str = ""
    data: msgspec.Raw = msgspec.Raw(b"")
    lastUpdateId: int = -1
    bids: RawLevels = msgspec.field(default_factory=list)
    asks: RawLevels = msgspec.field(default_factory=list)


class DepthUpdate(msgspec.Struct):
    U: int
    u: int
    b: RawLevels
    a: RawLevels
    E: int = 0
    pu: int | None = None


class BookTicker(msgspec.Struct):
    u: int
    b: str
    B: str
    a: str
    A: str


class Trade(msgspec.Struct):
    t: int
    p: str
    q: str
    T: int
    m: bool


def parse_levels(grid: Grid, raw: RawLevels) -> list[Level]:
    pt, ql = grid.price_to_ticks, grid.qty_to_lots
    return [(pt(p), ql(q)) for p, q in raw]


class BinanceDepthSync:
    """Binance's snapshot + diff bridging for one market, onto an L2Book."""

    def __init__(self, instrument: Instrument, futures: bool) -> None:
        self.instrument = instrument
        self.grid = instrument.grid
        self.futures = futures
        self.book = L2Book(instrument.market)
        self._buffer: list[DepthUpdate] = []
        self._snapshot_id: int | None = None
        self._bridged = False

    @property
    def waiting(self) -> bool:
        return self._snapshot_id is None

    def on_snapshot(self, last_update_id: int, bids: RawLevels, asks: RawLevels) -> list[DepthUpdate]:
        """Load the snapshot, then replay buffered updates; returns the ones applied."""
        g = self.grid
        self.book.load_snapshot(parse_levels(g, bids), parse_levels(g, asks), last_update_id)
        self._snapshot_id = last_update_id
        self._bridged = False
        buffered, self._buffer = self._buffer, []
        return [u for u in buffered if self.on_depth(u)]

    def on_depth(self, upd: DepthUpdate) -> bool:
        """Apply one diff if it belongs after the snapshot; False if dropped or buffered.

        Raises SequenceGap on a broken chain (the caller fetches a new snapshot).
        """
        last = self._snapshot_id
        if last is None:
            self._buffer.append(upd)
            return False
        book = self.book
        if not self._bridged:
            if self.futures:
                if upd.u < last:
                    return False
                ok = upd.U <= last <= upd.u
            else:
                if upd.u <= last:
                    return False
                ok = upd.U <= last + 1 <= upd.u
            if not ok:
                book.synced = False
                raise SequenceGap(book.market, last + (0 if self.futures else 1), upd.U)
            self._bridged = True
        elif self.futures:
            book.check_seq(upd.u, prev_seq=upd.pu)
        else:
            book.check_seq(upd.u, first_seq=upd.U)
        g = self.grid
        book.apply_unchecked(parse_levels(g, upd.b), parse_levels(g, upd.a), upd.u)
        return True


Top = tuple[int, int, int, int]  # (bid, bid qty, ask, ask qty) in ticks and lots


class TickerOracle:
    """Binance's reference check: a bookTicker and an applied depth update with the same `u`
    describe the same top of book. Either may arrive first; each pair is compared once."""

    def __init__(self, grid: Grid, report: ReplayReport, label: str = "rebuilt") -> None:
        self.grid = grid
        self.report = report
        self.label = label
        self._tops: dict[int, Top | None] = {}  # u -> book top after that update
        self._tickers: dict[int, Top] = {}  # u -> bookTicker seen before its update

    def on_top(self, u: int, top: Top | None) -> None:
        """The book's top right after applying the depth update ending at `u`."""
        want = self._tickers.pop(u, None)
        if want is None:
            self._tops[u] = top
        else:
            self._compare(u, want, top)

    def on_ticker(self, t: BookTicker) -> None:
        g = self.grid
        want = (g.price_to_ticks(t.b), g.qty_to_lots(t.B), g.price_to_ticks(t.a), g.qty_to_lots(t.A))
        if t.u in self._tops:
            self._compare(t.u, want, self._tops.pop(t.u))
        else:
            self._tickers[t.u] = want

    def _compare(self, u: int, want: Top, got: Top | None) -> None:
        if want == got:
            self.report.checks_passed += 1
        else:
            self.report.fail(f"u={u}: bookTicker {want} != {self.label} {got}")


PROBE_LINES = 5000
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "USD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "JPY")


def split_symbol(pair: str) -> tuple[str, str]:
    for q in _QUOTES:
        if pair.endswith(q) and len(pair) > len(q):
            return pair[: -len(q)], q
    return pair, "?"


def probe_binance(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, lines: int = PROBE_LINES
) -> CaptureInfo:
    """A Binance capture's market from its content, never its name: the symbol from the depth
    stream's name, spot or futures sequencing from the messages (`pu` present or not), and the
    tick and lot from `instruments` (an instrument file) when it has the symbol, else inferred
    from the prices and sizes of the first `lines` lines (`probe.step_of`), stated in `note`."""
    return probe_lines(_file_lines(paths), str(paths[0]), instruments, lines)


def _file_lines(paths: Sequence[str | Path]) -> Iterator[tuple[str, int, int, bytes]]:
    for path in paths:
        with gzip.open(path, "rb") if is_gzip(Path(path)) else open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                sp = line.find(b" ")
                if sp > 0:
                    yield str(path), n, int(line[:sp]), line[sp + 1 :]


def probe_lines(
    source: Iterable[tuple[str, int, int, bytes]],
    where: str,
    instruments: dict[str, Instrument] | None = None,
    lines: int = PROBE_LINES,
) -> CaptureInfo:
    """`probe_binance` over (file, line number, local ns, raw JSON) of one symbol's messages."""
    env_dec = msgspec.json.Decoder(Envelope)
    depth_dec = msgspec.json.Decoder(DepthUpdate)
    symbol = ""
    futures: bool | None = None
    prices: list[str] = []
    qtys: list[str] = []
    first_ns = -1
    for seen, (path, n, ns, raw) in enumerate(source, 1):
        if first_ns < 0:
            first_ns = ns
        try:
            env = env_dec.decode(raw)
        except msgspec.DecodeError:
            raise CaptureFormatError(f"{path}:{n}: not a Binance combined-stream line") from None
        levels = env.bids + env.asks
        if env.stream and "@depth" in env.stream:
            symbol = symbol or env.stream.split("@", 1)[0].upper()
            d = depth_dec.decode(env.data)
            if futures is None:
                futures = d.pu is not None
            levels = d.b + d.a
        prices.extend(p for p, _ in levels)
        qtys.extend(q for _, q in levels)
        if seen >= lines and symbol and futures is not None:
            break
    if not symbol or futures is None:
        raise CaptureFormatError(f"{where}: no depth stream in the capture (nothing to rebuild a book from)")
    pair, _, suffix = symbol.partition("_")
    base, quote = split_symbol(pair)
    market = symbol if (not futures or suffix) else f"{symbol}-PERP"
    known = (instruments or {}).get(symbol) or (instruments or {}).get(market)
    if known is not None:
        inst = msgspec.structs.replace(known, market=market, aliases=tuple({*known.aliases, symbol} - {market}))
        return CaptureInfo(inst, futures, symbol, first_ns, f"{symbol}: tick and lot from the instrument file")
    tick, lot = step_of(prices), step_of(qtys)
    if tick is None or lot is None:
        raise CaptureFormatError(f"{where}: no prices to infer {symbol}'s grid from; pass --instrument")
    if futures and suffix:
        aliases: tuple[str, ...] = (f"{base}-{quote}-SWAP",)
    elif futures:
        aliases = (f"{base}-PERP", symbol)
    else:
        aliases = (f"{base}-{quote}",)
    kind = InstrumentKind.PERP if futures else InstrumentKind.SPOT
    inst = Instrument(market, base, quote, kind, tick_size=tick, lot_size=lot, aliases=aliases)
    note = (
        f"{symbol}: tick {tick} and lot {lot} inferred from {len(prices):,} recorded prices and sizes "
        "(the largest step they share; pass --instrument for the venue's own)"
    )
    return CaptureInfo(inst, futures, symbol, first_ns, note)


def instrument_for(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None
) -> tuple[Instrument, bool]:
    """(instrument, futures?) of a capture, read from its content (`probe_binance`)."""
    info = probe_binance(paths, instruments)
    return info.instrument, info.futures


def verify(
    paths: Iterable[str | Path],
    instrument: Instrument | None = None,
    instruments: dict[str, Instrument] | None = None,
) -> ReplayReport:
    """Rebuild the book from chained capture files and check it against every bookTicker
    whose update id equals an applied depth update's id. The market and its sequencing rules
    come from the data; the grid from `instrument`, an instrument file's entry, or the data."""
    files = [str(p) for p in paths]
    return verify_from(hftbacktest_lines_at(files), files, probe_binance(files, instruments), instrument)


def verify_from(
    source: Iterable[tuple[str, int, int, bytes]],
    files: list[str],
    info: CaptureInfo,
    instrument: Instrument | None = None,
    venue_format: str = "binance",
) -> ReplayReport:
    """`verify` over (file, line number, local ns, raw JSON) of one symbol's messages."""
    inst = instrument or info.instrument
    sync = BinanceDepthSync(inst, info.futures)
    report = ReplayReport(venue_format, files, "bookTicker = top", markets=[inst.market])
    report.notes.append(info.note if instrument is None else f"{inst.market}: grid given by the caller")
    report.notes.append(f"{info.symbol}: {'futures' if info.futures else 'spot'} sequencing (from the messages)")
    env_dec = msgspec.json.Decoder(Envelope)
    depth_dec = msgspec.json.Decoder(DepthUpdate)
    tick_dec = msgspec.json.Decoder(BookTicker)
    oracle = TickerOracle(inst.grid, report)
    book = sync.book

    def after_apply(upd: DepthUpdate) -> None:
        if book.is_crossed():
            report.crossed += 1
        oracle.on_top(upd.u, book.top())

    started = time.perf_counter()
    for path, lineno, _ns, raw in source:
        report.events += 1
        try:
            env = env_dec.decode(raw)
            if not env.data:
                if env.lastUpdateId >= 0:
                    for upd in sync.on_snapshot(env.lastUpdateId, env.bids, env.asks):
                        after_apply(upd)
                continue
            stream = env.stream
            if "@depth" in stream:
                upd = depth_dec.decode(env.data)
                if sync.on_depth(upd):
                    after_apply(upd)
            elif stream.endswith("@bookTicker"):
                oracle.on_ticker(tick_dec.decode(env.data))
        except (GridError, msgspec.DecodeError) as e:
            raise _where(e, path, lineno, inst) from None
    return report.finish(started)


def _where(e: Exception, path: str, lineno: int, inst: Instrument) -> CaptureFormatError:
    """A capture error naming the file and line (and the grid, for a value off it)."""
    if isinstance(e, GridError):
        return CaptureFormatError(
            f"{path}:{lineno}: {e} (grid of {inst.market}: tick {inst.tick_size}, lot {inst.lot_size}; "
            "pass --instrument with the venue's own)"
        )
    return CaptureFormatError(f"{path}:{lineno}: not a Binance message: {e}")


def events(paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None) -> Events:
    """One market's chained capture as normalised rows (`market.events`): the REST snapshot as
    a CLEAR + levels message, each depth diff that bridges onto it as one message of LEVEL rows
    (seq = `u`), each trade a TRADE row (seq = trade id, side = the aggressor's). Diffs before the
    snapshot or outside the chain are dropped by Binance's rules; a broken chain raises
    SequenceGap. bookTickers are counted, not kept (the depth stream carries the same tops)."""
    files = [str(p) for p in paths]
    return events_from(hftbacktest_lines_at(files), files, probe_binance(files, instruments))


def events_from(source: Iterable[tuple[str, int, int, bytes]], files: list[str], info: CaptureInfo) -> Events:
    """`events` over (file, line number, local ns, raw JSON) of one symbol: a combined-stream
    message, or a REST depth snapshot body."""
    inst = info.instrument
    sync = BinanceDepthSync(inst, info.futures)
    rules = f"{info.symbol}: {'futures' if info.futures else 'spot'} sequencing (from the messages)"
    ev = Events(Meta("binance", files, [inst], [info.note, rules]))
    env_dec = msgspec.json.Decoder(Envelope)
    depth_dec = msgspec.json.Decoder(DepthUpdate)
    trade_dec = msgspec.json.Decoder(Trade)
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    add, end = ev.add, ev.end_message

    def diff(ns: int, upd: DepthUpdate) -> None:
        e = upd.E * 1_000_000
        for p, q in upd.b:
            add(ns, e, 0, LEVEL, BID, pt(p), ql(q), 0, upd.u)
        for p, q in upd.a:
            add(ns, e, 0, LEVEL, ASK, pt(p), ql(q), 0, upd.u)
        end()

    for path, lineno, ns, raw in source:
        try:
            env = env_dec.decode(raw)
            if not env.data:
                if env.lastUpdateId >= 0:
                    # the book as it was at the snapshot; the buffered diffs that bridge follow
                    bids, asks = parse_levels(g, env.bids), parse_levels(g, env.asks)
                    ev.snapshot(ns, 0, 0, [lv for lv in bids if lv[1]], [lv for lv in asks if lv[1]], env.lastUpdateId)
                    for upd in sync.on_snapshot(env.lastUpdateId, env.bids, env.asks):
                        diff(ns, upd)
                    ev.count("snapshot")
                continue
            stream = env.stream
            if "@depth" in stream:
                upd = depth_dec.decode(env.data)
                ev.count("depth")
                if sync.on_depth(upd):
                    diff(ns, upd)
            elif stream.endswith("@trade"):
                tr = trade_dec.decode(env.data)
                ev.count("trade")
                add(ns, tr.T * 1_000_000, 0, TRADE, ASK if tr.m else BID, pt(tr.p), ql(tr.q), 0, tr.t, F_LAST)
            elif stream.endswith("@bookTicker"):
                ev.count("bookTicker")
        except (GridError, msgspec.DecodeError) as e:
            raise _where(e, path, lineno, inst) from None
    return ev
