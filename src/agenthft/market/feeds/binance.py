"""Binance combined-stream captures: depth diffs bridged onto a REST snapshot.

Spot and futures bridge differently (Binance's documented rules; see ../shared/data/README):
- spot:    drop u <= L; first applied has U <= L+1 <= u; then U == previous u + 1.
- futures: drop u <  L; first applied has U <= L   <= u; then pu == previous u.
The REST snapshot arrives *after* the first few updates, so updates are buffered until then.
Oracle: every bookTicker whose `u` equals an applied depth update's `u` must equal the
rebuilt best bid/ask, price and quantity.

What the data says, read per file and per market (never from a name):
- the local timestamps' unit (`timestamps.UnitFinder`: magnitude and the messages' `E`);
- the symbol (the depth stream's name), spot or futures sequencing (`pu` present or not), and
  the contract: a futures pair quoted in USD (`ps` / the symbol) is Binance COIN-M, inverse, one
  contract = 100 USD for BTC and 10 USD for every other (Binance's rule), settled in the base;
- the grid from every price and size in every file of the market (`grid.StepFinder`), unless an
  instrument file gives it; then levels off that grid behind the top are dropped and counted
  (`grid.OffGrid`), and one at the top is an error naming the file and line;
- funding from the `@markPrice` stream: when a funding time passes (the first message whose `E`
  is at or after the previous message's next funding time `T`), a FUNDING row with the rate and
  mark price last seen before it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import msgspec

from agenthft.book import L2Book, Level, SequenceGap
from agenthft.market.events import ASK, BID, F_LAST, FUNDING, LEVEL, TRADE, CaptureFormatError, Events, Meta
from agenthft.market.feeds.capture import ReplayReport
from agenthft.market.feeds.files import numbered_lines
from agenthft.market.feeds.grid import OffGrid, StepFinder, grid_note
from agenthft.market.feeds.probe import CaptureInfo
from agenthft.market.feeds.timestamps import SCALE, UnitFinder, to_ns
from agenthft.model import Grid, GridError, Instrument, InstrumentKind
from agenthft.model.fixed import to_scaled
from agenthft.model.money import RATE_DECIMALS

RawLevels = list[tuple[str, str]]
Line = tuple[str, int, int, bytes]  # (file, line number, local ns, raw JSON)


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


class MarkPrice(msgspec.Struct):
    """`<symbol>@markPrice`: mark price `p`, funding rate `r`, next funding time `T` (ms)."""

    E: int
    p: str
    r: str = ""
    T: int = 0


def parse_levels(grid: Grid, raw: RawLevels) -> list[Level]:
    pt, ql = grid.price_to_ticks, grid.qty_to_lots
    return [(pt(p), ql(q)) for p, q in raw]


def is_diff_depth(stream: str) -> bool:
    """`sym@depth`, `sym@depth@100ms`, `sym@depth@0ms`: the diff stream (not `@depth20`, a
    partial book)."""
    i = stream.find("@depth")
    if i < 0:
        return False
    rest = stream[i + 6 :]
    return not rest or rest[0] == "@"


class BinanceDepthSync:
    """Binance's snapshot + diff bridging for one market, onto an L2Book. With `off_grid`
    (an instrument file's grid), levels off it behind the top are dropped and counted; the
    levels applied by the last call are in `applied` (bids, asks), for the caller's rows."""

    def __init__(self, instrument: Instrument, futures: bool, off_grid: OffGrid | None = None) -> None:
        self.instrument = instrument
        self.grid = instrument.grid
        self.futures = futures
        self.off_grid = off_grid
        self.book = L2Book(instrument.market)
        self._buffer: list[tuple[DepthUpdate, str]] = []
        self._snapshot_id: int | None = None
        self._bridged = False
        self.where = ""  # file:line of the message being applied (for off-grid errors)
        self.applied: list[tuple[list[Level], list[Level]]] = []  # levels of each update applied by the last call
        self.snapshot_levels: tuple[list[Level], list[Level]] = ([], [])

    @property
    def waiting(self) -> bool:
        return self._snapshot_id is None

    def _parse(
        self, bids: RawLevels, asks: RawLevels
    ) -> tuple[list[Level], list[Level], list[RawLevel], list[RawLevel]]:
        if self.off_grid is None:
            return parse_levels(self.grid, bids), parse_levels(self.grid, asks), [], []
        b, boff = self.off_grid.parse(bids)
        a, aoff = self.off_grid.parse(asks)
        return b, a, boff, aoff

    def on_snapshot(self, last_update_id: int, bids: RawLevels, asks: RawLevels) -> list[DepthUpdate]:
        """Load the snapshot, then replay buffered updates; returns the ones applied."""
        b, a, boff, aoff = self._parse(bids, asks)
        self.book.load_snapshot(b, a, last_update_id)
        if (boff or aoff) and self.off_grid is not None:
            self.off_grid.check(self.book, boff, aoff, self.where)
        self.snapshot_levels = ([lv for lv in b if lv[1]], [lv for lv in a if lv[1]])
        self._snapshot_id = last_update_id
        self._bridged = False
        buffered, self._buffer = self._buffer, []
        applied: list[DepthUpdate] = []
        levels: list[tuple[list[Level], list[Level]]] = []
        where = self.where
        for u, at in buffered:
            self.where = at
            if self.on_depth(u):
                applied.append(u)
                levels += self.applied
        self.where = where
        self.applied = levels
        return applied

    def on_depth(self, upd: DepthUpdate) -> bool:
        """Apply one diff if it belongs after the snapshot; False if dropped or buffered.

        Raises SequenceGap on a broken chain (the caller fetches a new snapshot).
        """
        last = self._snapshot_id
        self.applied = []
        if last is None:
            self._buffer.append((upd, self.where))
            return False
        book = self.book
        if not self._bridged:
            if self.futures:
                if upd.u < last:
                    return False
                # Binance's rule (U <= lastUpdateId <= u), or the event whose `pu` IS the snapshot:
                # in a quiet market the event holding lastUpdateId went out before we subscribed
                ok = upd.U <= last <= upd.u or upd.pu == last
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
        b, a, boff, aoff = self._parse(upd.b, upd.a)
        book.apply_unchecked(b, a, upd.u)
        if (boff or aoff) and self.off_grid is not None:
            self.off_grid.check(book, boff, aoff, self.where)
        self.applied = [(b, a)]
        return True


RawLevel = tuple[str, str]
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


_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "USD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "JPY")
#: Binance COIN-M: one contract is 100 USD for BTC and 10 USD for every other coin (Binance's
#: contract specifications); an instrument file's `contractSize` overrides it.
COIN_M_BTC_USD, COIN_M_OTHER_USD = "100", "10"


def split_symbol(pair: str) -> tuple[str, str]:
    for q in _QUOTES:
        if pair.endswith(q) and len(pair) > len(q):
            return pair[: -len(q)], q
    return pair, "?"


# --- what a file is: its head -------------------------------------------------------------------


class _HeadData(msgspec.Struct):
    E: int = 0
    pu: int | None = None
    ps: str = ""


class _HeadEnvelope(msgspec.Struct):
    stream: str = ""
    data: _HeadData | None = None
    lastUpdateId: int = -1
    E: int = 0


class FileHead(msgspec.Struct, frozen=True):
    """One capture file, from its first lines: its market and its timestamps' unit."""

    path: str
    symbol: str
    futures: bool
    pair: str  # futures `ps` ("BTCUSD"), "" for spot
    first_ns: int
    scale: int  # ns per unit of the local timestamps
    unit_note: str


def identify(path: str | Path, ts_unit: str | None = None) -> FileHead:
    """The symbol, sequencing and pair of the file's depth stream, and the unit of its local
    timestamps (by magnitude and against the messages' `E`), from the first lines that show them."""
    dec = msgspec.json.Decoder(_HeadEnvelope)
    finder = UnitFinder()
    symbol, pair, first = "", "", b""
    futures: bool | None = None
    for n, line in numbered_lines(path):
        sp = line.find(b" ")
        if sp <= 0:
            continue
        local = line[:sp]
        try:
            env = dec.decode(line[sp + 1 :])
            value = float(local)
        except (msgspec.DecodeError, ValueError):
            raise CaptureFormatError(f"{path}:{n}: not a '<timestamp> <Binance JSON>' line") from None
        first = first or local
        exch = env.data.E if env.data is not None else env.E
        finder.add(value, exch * 1_000_000 if exch else None)
        if not symbol and env.data is not None and is_diff_depth(env.stream):
            symbol = env.stream.split("@", 1)[0].upper()
            futures = env.data.pu is not None
            pair = env.data.ps
        if symbol and finder.enough:
            break
    if not symbol or futures is None:
        raise CaptureFormatError(f"{path}: no depth stream in the capture (nothing to rebuild a book from)")
    unit, note = finder.decide(str(path), ts_unit)
    return FileHead(str(path), symbol, futures, pair, to_ns(first, SCALE[unit]), SCALE[unit], note)


def group_captures(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> list[tuple[CaptureInfo, list[Path]]]:
    """Files of one market, whatever their names or folders: grouped by the symbol and the
    sequencing their messages show, chained in the order of their first timestamps, each
    group probed over all of its files (`probe_binance`)."""
    return [(probe_binance(files, instruments, ts_unit), files) for files in chain_files(paths, ts_unit)]


def chain_files(paths: Sequence[str | Path], ts_unit: str | None = None) -> list[list[Path]]:
    """`group_captures` without the whole-file probe: the files of each market in time order."""
    groups: dict[tuple[str, bool], list[tuple[int, Path]]] = {}
    for p in map(Path, paths):
        h = identify(p, ts_unit)
        groups.setdefault((h.symbol, h.futures), []).append((h.first_ns, p))
    return [[p for _, p in sorted(members, key=lambda m: m[0])] for members in groups.values()]


# --- what a market is: every line of its files ------------------------------------------------------


class _ValueData(msgspec.Struct):
    b: RawLevels | str | None = None
    a: RawLevels | str | None = None
    B: str | None = None
    A: str | None = None
    p: str | None = None
    q: str | None = None
    pu: int | None = None
    ps: str = ""


class _ValueEnvelope(msgspec.Struct):
    stream: str = ""
    data: _ValueData | None = None
    lastUpdateId: int = -1
    bids: RawLevels = msgspec.field(default_factory=list)
    asks: RawLevels = msgspec.field(default_factory=list)


class MarketScan:
    """Every price and size of one market's lines (deduplicated), and what its streams show."""

    __slots__ = ("first_ns", "futures", "lines", "pair", "prices", "sizes", "symbol")

    def __init__(self, symbol: str = "", futures: bool | None = None, pair: str = "", first_ns: int = -1) -> None:
        self.symbol, self.futures, self.pair, self.first_ns = symbol, futures, pair, first_ns
        self.lines = 0
        self.prices = StepFinder()
        self.sizes = StepFinder()


def scan(source: Iterable[Line]) -> MarketScan:
    """One pass over a market's lines: the symbol, sequencing and pair of its depth stream, and
    every distinct price and size of its snapshots, diffs, trades and tickers, with where each
    was first seen (markPrice's mark is not on the tick grid, so it is not read)."""
    dec = msgspec.json.Decoder(_ValueEnvelope)
    out = MarketScan()
    prices, sizes = out.prices, out.sizes
    pseen, sseen = prices.seen, sizes.seen  # value text -> where first seen (a tuple made only for a new one)
    for path, n, ns, raw in source:
        if out.first_ns < 0:
            out.first_ns = ns
        out.lines += 1
        try:
            env = dec.decode(raw)
        except msgspec.DecodeError:
            raise CaptureFormatError(f"{path}:{n}: not a Binance combined-stream line") from None
        stream, d = env.stream, env.data
        if d is None:
            if env.lastUpdateId >= 0:
                levels = env.bids + env.asks
                prices.update([p for p, _ in levels], (path, n))
                sizes.update([q for _, q in levels], (path, n))
            continue
        if is_diff_depth(stream):
            if not out.symbol:
                out.symbol = stream.split("@", 1)[0].upper()
                out.futures = d.pu is not None
                out.pair = d.ps
            levels = (d.b if isinstance(d.b, list) else []) + (d.a if isinstance(d.a, list) else [])
            prices.update([p for p, _ in levels], (path, n))
            sizes.update([q for _, q in levels], (path, n))
            continue
        pairs: list[tuple[RawLevels | str | None, str | None]]
        if stream.endswith("@bookTicker"):
            pairs = [(d.b, d.B), (d.a, d.A)]
        elif stream.endswith(("@trade", "@aggTrade")):
            pairs = [(d.p, d.q)]
        else:
            continue
        for px, qty in pairs:
            if isinstance(px, str) and qty is not None:
                if px not in pseen:
                    pseen[px] = (path, n)
                if qty not in sseen:
                    sseen[qty] = (path, n)
    return out


def contract_of(symbol: str, pair: str, futures: bool) -> tuple[str, str, bool, str, str | None]:
    """(base, quote, inverse, contract size, note) of a Binance symbol from its own data: a
    futures pair quoted in USD is COIN-M (inverse; Binance's contract size rule)."""
    head = symbol.partition("_")[0]
    base, quote = split_symbol(pair or head)
    if futures and quote == "USD":
        size = COIN_M_BTC_USD if base == "BTC" else COIN_M_OTHER_USD
        note = (
            f"{symbol}: inverse, {size} USD per contract (Binance COIN-M rule), settled in {base}; "
            "pass --instrument with exchangeInfo to override"
        )
        return base, quote, True, size, note
    return base, quote, False, "1", None


def info_from(
    found: MarketScan,
    where: str,
    instruments: dict[str, Instrument] | None = None,
    notes: Sequence[str] = (),
    scales: dict[str, int] | None = None,
) -> CaptureInfo:
    """The market's instrument: an instrument file's entry for its symbol, else built from the
    data (contract rule, grid from every value seen)."""
    symbol, futures = found.symbol, found.futures
    if not symbol or futures is None:
        raise CaptureFormatError(f"{where}: no depth stream in the capture (nothing to rebuild a book from)")
    _, _, suffix = symbol.partition("_")
    base, quote, inverse, size, contract_note = contract_of(symbol, found.pair, futures)
    market = symbol if (not futures or suffix) else f"{symbol}-PERP"
    extra = [contract_note] if contract_note else []
    known = (instruments or {}).get(symbol) or (instruments or {}).get(market)
    if known is not None:
        extra = []
        inst = msgspec.structs.replace(known, market=market, aliases=tuple({*known.aliases, symbol} - {market}))
        note = (
            f"{symbol}: tick {inst.tick_size} and lot {inst.lot_size} from the instrument file ({inst.contract_text})"
        )
        return CaptureInfo(inst, futures, symbol, found.first_ns, note, (*notes, *extra), scales or {}, True)
    tick, _ = found.prices.result()
    lot, _ = found.sizes.result()
    if tick is None or lot is None:
        raise CaptureFormatError(f"{where}: no prices to infer {symbol}'s grid from; pass --instrument")
    if futures and suffix:
        aliases: tuple[str, ...] = (f"{base}-{quote}-SWAP",) + ((f"{base}-PERP",) if suffix == "PERP" else ())
    elif futures:
        aliases = (f"{base}-PERP", symbol)
    else:
        aliases = (f"{base}-{quote}",)
    kind = InstrumentKind.PERP if futures else InstrumentKind.SPOT
    inst = Instrument(
        market,
        base,
        quote,
        kind,
        tick_size=tick,
        lot_size=lot,
        aliases=aliases,
        contract_size=size,
        inverse=inverse,
        settle=base if inverse else "",
    )
    note = (
        f"{symbol}: tick {tick} and lot {lot} inferred from every price and size in {found.lines:,} lines (the "
        f"largest steps they share: {grid_note(found.prices, found.sizes)}; pass --instrument for the venue's own)"
    )
    return CaptureInfo(inst, futures, symbol, found.first_ns, note, (*notes, *extra), scales or {}, False)


def probe_binance(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> CaptureInfo:
    """A Binance capture's market from its content, never its name: each file's timestamp unit,
    the symbol from the depth stream's name, spot or futures sequencing from the messages
    (`pu` present or not), the contract from the pair, and the tick and lot from `instruments`
    (an instrument file) when it has the symbol, else inferred from every price and size in
    every file (`grid.StepFinder`), stated in `note`."""
    heads = [identify(p, ts_unit) for p in paths]
    symbols = {(h.symbol, h.futures) for h in heads}
    if len(symbols) > 1:
        raise CaptureFormatError(f"{paths[0]}: files of several markets given as one: {sorted(symbols)}")
    scales = {h.path: h.scale for h in heads}
    h = heads[0]
    if instruments and (h.symbol in instruments or f"{h.symbol}-PERP" in instruments):
        found = MarketScan(h.symbol, h.futures, h.pair, min(x.first_ns for x in heads))  # the grid is given
    else:
        found = scan(lines_at([str(p) for p in paths], scales))
    return info_from(found, str(paths[0]), instruments, [x.unit_note for x in heads], scales)


def probe_lines(
    source: Iterable[Line], where: str, instruments: dict[str, Instrument] | None = None, notes: Sequence[str] = ()
) -> CaptureInfo:
    """`probe_binance` over (file, line number, local ns, raw JSON) of one symbol's messages
    (times already in ns: the caller read their unit)."""
    return info_from(scan(source), where, instruments, notes)


def instrument_for(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None
) -> tuple[Instrument, bool]:
    """(instrument, futures?) of a capture, read from its content (`probe_binance`)."""
    info = probe_binance(paths, instruments)
    return info.instrument, info.futures


def lines_at(paths: Iterable[str], scales: dict[str, int] | None = None) -> Iterator[Line]:
    """(file, line number, local ns, raw JSON) of '<local time> <json>' files, chained in
    order; each file's times in its unit (`scales`: ns per unit, default ns)."""
    for path in paths:
        scale = (scales or {}).get(path, 1)
        for n, line in numbered_lines(path):
            sp = line.find(b" ")
            if sp > 0:
                ts = line[:sp]
                ns = int(ts) * scale if b"." not in ts else to_ns(ts, scale)
                yield path, n, ns, line[sp + 1 :]


def verify(
    paths: Iterable[str | Path],
    instrument: Instrument | None = None,
    instruments: dict[str, Instrument] | None = None,
    ts_unit: str | None = None,
) -> ReplayReport:
    """Rebuild the book from chained capture files and check it against every bookTicker
    whose update id equals an applied depth update's id. The market and its sequencing rules
    come from the data; the grid from `instrument`, an instrument file's entry, or the data."""
    files = [str(p) for p in paths]
    info = probe_binance(files, instruments, ts_unit)
    return verify_from(lines_at(files, info.scales), files, info, instrument)


def verify_from(
    source: Iterable[Line],
    files: list[str],
    info: CaptureInfo,
    instrument: Instrument | None = None,
    venue_format: str = "binance",
) -> ReplayReport:
    """`verify` over (file, line number, local ns, raw JSON) of one symbol's messages."""
    inst = instrument or info.instrument
    off = OffGrid(inst.grid, inst.market) if info.given or instrument is not None else None
    sync = BinanceDepthSync(inst, info.futures, off)
    report = ReplayReport(venue_format, files, "bookTicker = top", markets=[inst.market])
    report.notes.append(info.note if instrument is None else f"{inst.market}: grid given by the caller")
    report.notes += info.notes
    report.notes.append(f"{info.symbol}: {'futures' if info.futures else 'spot'} sequencing (from the messages)")
    env_dec = msgspec.json.Decoder(Envelope)
    depth_dec = msgspec.json.Decoder(DepthUpdate)
    tick_dec = msgspec.json.Decoder(BookTicker)
    oracle = TickerOracle(inst.grid, report)
    book = sync.book
    first = last = -1

    def after_apply(upd: DepthUpdate) -> None:
        if book.is_crossed():
            report.crossed += 1
        oracle.on_top(upd.u, book.top())

    started = time.perf_counter()
    for path, lineno, ns, raw in source:
        report.events += 1
        if first < 0:
            first = ns
        last = ns
        try:
            if off is not None:
                sync.where = f"{path}:{lineno}"
            env = env_dec.decode(raw)
            if not env.data:
                if env.lastUpdateId >= 0:
                    sync.where = f"{path}:{lineno}"
                    for upd in sync.on_snapshot(env.lastUpdateId, env.bids, env.asks):
                        after_apply(upd)
                continue
            stream = env.stream
            if is_diff_depth(stream):
                upd = depth_dec.decode(env.data)
                if sync.on_depth(upd):
                    after_apply(upd)
            elif stream.endswith("@bookTicker"):
                oracle.on_ticker(tick_dec.decode(env.data))
        except (GridError, msgspec.DecodeError) as e:
            raise _where(e, path, lineno, inst) from None
    if off is not None and off.note():
        report.notes.append(str(off.note()))
    if first >= 0:
        report.notes.append(f"{info.symbol}: {(last - first) / 1e9:,.1f} s recorded (local times)")
    return report.finish(started)


def _where(e: Exception, path: str, lineno: int, inst: Instrument) -> CaptureFormatError:
    """A capture error naming the file and line (and the grid, for a value off it)."""
    if isinstance(e, GridError):
        return CaptureFormatError(
            f"{path}:{lineno}: {e} (grid of {inst.market}: tick {inst.tick_size}, lot {inst.lot_size}; "
            "pass --instrument with the venue's own, or none to infer it from the whole file)"
        )
    return CaptureFormatError(f"{path}:{lineno}: not a Binance message: {e}")


def events(
    paths: Sequence[str | Path], instruments: dict[str, Instrument] | None = None, ts_unit: str | None = None
) -> Events:
    """One market's chained capture as normalised rows (`market.events`): the REST snapshot as
    a CLEAR + levels message, each depth diff that bridges onto it as one message of LEVEL rows
    (seq = `u`), each trade a TRADE row (seq = trade id, side = the aggressor's), each funding
    time a FUNDING row. Diffs before the snapshot or outside the chain are dropped by Binance's
    rules; a broken chain raises SequenceGap. bookTickers are counted, not kept (the depth
    stream carries the same tops)."""
    files = [str(p) for p in paths]
    info = probe_binance(files, instruments, ts_unit)
    return events_from(lines_at(files, info.scales), files, info)


def _mark_ticks(mark: str, tick: str) -> int:
    return int((Decimal(mark) / Decimal(tick)).to_integral_value(ROUND_HALF_EVEN))


def events_from(source: Iterable[Line], files: list[str], info: CaptureInfo, source_name: str = "binance") -> Events:
    """`events` over (file, line number, local ns, raw JSON) of one symbol: a combined-stream
    message, or a REST depth snapshot body."""
    inst = info.instrument
    off = OffGrid(inst.grid, inst.market) if info.given else None
    sync = BinanceDepthSync(inst, info.futures, off)
    rules = f"{info.symbol}: {'futures' if info.futures else 'spot'} sequencing (from the messages)"
    ev = Events(Meta(source_name, files, [inst], [info.note, *info.notes, rules]))
    env_dec = msgspec.json.Decoder(Envelope)
    depth_dec = msgspec.json.Decoder(DepthUpdate)
    trade_dec = msgspec.json.Decoder(Trade)
    mark_dec = msgspec.json.Decoder(MarkPrice)
    g = inst.grid
    pt, ql = g.price_to_ticks, g.qty_to_lots
    add, end = ev.add, ev.end_message
    mark: MarkPrice | None = None  # the last markPrice message
    paid = 0  # the last funding time a row was written for (ms)

    def diff(ns: int, upd: DepthUpdate, levels: tuple[list[Level], list[Level]]) -> None:
        e = upd.E * 1_000_000
        for p, q in levels[0]:
            add(ns, e, 0, LEVEL, BID, p, q, 0, upd.u)
        for p, q in levels[1]:
            add(ns, e, 0, LEVEL, ASK, p, q, 0, upd.u)
        end()

    for path, lineno, ns, raw in source:
        try:
            env = env_dec.decode(raw)
            if not env.data:
                if env.lastUpdateId >= 0:
                    # the book as it was at the snapshot; the buffered diffs that bridge follow
                    sync.where = f"{path}:{lineno}"
                    applied = sync.on_snapshot(env.lastUpdateId, env.bids, env.asks)
                    ev.snapshot(ns, 0, 0, *sync.snapshot_levels, env.lastUpdateId)
                    for upd, levels in zip(applied, sync.applied, strict=True):
                        diff(ns, upd, levels)
                    ev.count("snapshot")
                continue
            stream = env.stream
            if is_diff_depth(stream):
                upd = depth_dec.decode(env.data)
                ev.count("depth")
                if off is not None:
                    sync.where = f"{path}:{lineno}"
                if sync.on_depth(upd):
                    diff(ns, upd, sync.applied[0])
            elif stream.endswith("@trade"):
                tr = trade_dec.decode(env.data)
                ev.count("trade")
                add(ns, tr.T * 1_000_000, 0, TRADE, ASK if tr.m else BID, pt(tr.p), ql(tr.q), 0, tr.t, F_LAST)
            elif stream.endswith("@bookTicker"):
                ev.count("bookTicker")
            elif "@markPrice" in stream:
                mp = mark_dec.decode(env.data)
                ev.count("markPrice")
                if mark is not None and paid < mark.T and mp.E >= mark.T and mark.r:
                    paid = mark.T
                    rate = to_scaled(mark.r, RATE_DECIMALS)
                    add(ns, mark.T * 1_000_000, 0, FUNDING, 0, _mark_ticks(mark.p, inst.tick_size), rate, 0, 0, F_LAST)
                    ev.count("funding")
                mark = mp
        except (GridError, msgspec.DecodeError) as e:
            raise _where(e, path, lineno, inst) from None
    if off is not None and off.note():
        ev.meta.notes.append(str(off.note()))
    counts = ev.meta.counts
    if counts.get("depth") and not counts.get("snapshot"):
        raise CaptureFormatError(
            f"{files[0]}: {info.symbol}: {counts['depth']:,} depth updates but no REST depth snapshot to start the "
            "book from (an hftbacktest capture: give the earlier file of the market that has it; a cryptofeed "
            "capture: the .http. capture of the same session, beside it)"
        )
    ev.meta.notes.append(funding_note(info, counts))
    return ev


def funding_note(info: CaptureInfo, counts: dict[str, int]) -> str:
    if counts.get("markPrice"):
        return (
            f"{info.symbol}: funding from the markPrice stream: {counts.get('funding', 0):,} funding time(s) "
            f"passed in {counts['markPrice']:,} messages"
        )
    if info.futures:
        return (
            f"{info.symbol}: funding is not in the data (no markPrice stream); --funding RATE@HOURS charges a schedule"
        )
    return f"{info.symbol}: spot, no funding"
