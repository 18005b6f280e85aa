"""Run the detectors over real captures (no labels there: counts and examples, no scores)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import msgspec

from agenthft.book import L2Book
from agenthft.market.feeds import binance
from agenthft.market.feeds.capture import hftbacktest_lines
from agenthft.model import Instrument, Side
from agenthft.signals.config import SignalConfig
from agenthft.signals.detectors import MarketSignals, SignalEvent


class ScanReport(msgspec.Struct):
    files: list[str]
    market: str  # several, comma-separated, for a capture of many books
    deltas: int
    trades: int
    counts: dict[str, int]
    examples: list[SignalEvent]  # prices in ticks, times in ns (`readable` turns them into text)
    seconds: float
    instruments: dict[str, Instrument] = msgspec.field(default_factory=dict)  # the grids of the examples' ticks

    def readable(self, e: SignalEvent) -> dict[str, str]:
        """An example as a reader wants it: the price on its market's grid, the time in UTC to
        the microsecond, and the measured value as a quantity where it is one (lots)."""
        import datetime

        inst = self.instruments.get(e.market)
        price = inst.ticks_to_price(e.price) if inst is not None else f"{e.price} ticks"
        when = datetime.datetime.fromtimestamp(e.ts_ns // 1000 / 1e6, datetime.UTC)
        if e.kind in ("spoof", "absorption"):  # the large order's size
            value = f"qty {inst.lots_to_qty(int(e.value))}" if inst is not None else f"{e.value:g} lots"
        elif e.kind == "cancel_cascade":
            value = f"{e.value:g} levels pulled"
        else:
            value = f"traded/displayed {e.value:.3g}"
        return {"price": price, "time": when.strftime("%Y-%m-%d %H:%M:%S.%f"), "value": value}


def _report(
    files: list[str],
    market: str,
    deltas: int,
    trades: int,
    found: list[SignalEvent],
    examples: int,
    t0: float,
    instruments: dict[str, Instrument],
) -> ScanReport:
    """Counts per detector and the first `examples` of each."""
    counts = Counter(e.kind for e in found)
    shown: list[SignalEvent] = []
    for kind in counts:
        shown += [e for e in found if e.kind == kind][:examples]
    used = {m: i for m, i in instruments.items() if any(e.market == m for e in shown)}
    return ScanReport(files, market, deltas, trades, dict(counts), shown, time.perf_counter() - t0, used)


def scan_binance(paths: Sequence[str | Path], config: SignalConfig | None = None, examples: int = 3) -> ScanReport:
    """Replay a Binance capture (one market, chained files) into the book and the detectors:
    depth updates as level changes (venue event time), trades with their aggressor."""
    files = [str(p) for p in paths]
    info = binance.probe_binance(files)
    inst = info.instrument
    sync = binance.BinanceDepthSync(inst, info.futures)
    sig = MarketSignals(inst.market, sync.book, config)
    g = inst.grid
    env_dec = msgspec.json.Decoder(binance.Envelope)
    depth_dec = msgspec.json.Decoder(binance.DepthUpdate)
    trade_dec = msgspec.json.Decoder(binance.Trade)
    deltas = trades = 0
    found: list[SignalEvent] = []
    t0 = time.perf_counter()

    def feed(upd: binance.DepthUpdate) -> None:
        nonlocal deltas
        ts = upd.E * 1_000_000
        for side, raw in ((Side.BUY, upd.b), (Side.SELL, upd.a)):
            for p, q in raw:
                sig.on_level(side, g.price_to_ticks(p), g.qty_to_lots(q), ts)
                deltas += 1
        found.extend(sig.drain())

    for _ns, raw in hftbacktest_lines(files):
        env = env_dec.decode(raw)
        if not env.data:
            if env.lastUpdateId >= 0:
                sync.on_snapshot(env.lastUpdateId, env.bids, env.asks)  # a state, not changes: not fed
                sig.reset()
            continue
        if "@depth" in env.stream:
            upd = depth_dec.decode(env.data)
            if sync.on_depth(upd):
                feed(upd)
        elif env.stream.endswith("@trade"):
            tr = trade_dec.decode(env.data)
            # m: the buyer is the maker, so the seller was the aggressor
            sig.on_trade(g.price_to_ticks(tr.p), g.qty_to_lots(tr.q), Side.SELL if tr.m else Side.BUY, tr.T * 1_000_000)
            trades += 1
    return _report(files, inst.market, deltas, trades, found, examples, t0, {inst.market: inst})


def scan_books(path: str | Path, fmt: str, config: SignalConfig | None = None, examples: int = 3) -> ScanReport:
    """OKX or Kraken captures (book channels, no trades): the level-change detectors (spoof,
    cancel cascade) fire; absorption and iceberg need trades and stay silent."""
    from agenthft.market.feeds import kraken, okx

    signals: dict[str, MarketSignals] = {}
    found: list[SignalEvent] = []
    deltas = 0
    t0 = time.perf_counter()

    def observe(
        market: str, book: L2Book, bids: list[tuple[int, int]], asks: list[tuple[int, int]], ns: int, snapshot: bool
    ) -> None:
        nonlocal deltas
        sig = signals.get(market)
        if snapshot or sig is None or sig.book is not book:  # a new book: a fresh history
            signals[market] = MarketSignals(market, book, config)
            return
        for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
            for p, q in levels:
                sig.on_level(side, p, q, ns)
                deltas += 1
        found.extend(sig.drain())

    if fmt == "okx":
        instruments = okx.infer_instruments(path)  # by instId, which is the market's name
        okx.verify(path, instruments=instruments, observer=observe)
    else:
        instruments = kraken.printed_instruments(path)
        kraken.verify(path, observer=observe)
    return _report([str(path)], ",".join(sorted(signals)), deltas, 0, found, examples, t0, instruments)
