"""Binance USD-M market data, live: the combined public stream (diff depth at 0 ms, trades) and
the REST depth snapshot, bridged by Binance's futures rules (`U` / `u` / `pu`) with the SAME
implementation the recorded-capture reader uses (`market.feeds.binance.BinanceDepthSync`; the
shared captures are this wire format). The core gets a snapshot, then each bridged diff with a
contiguous sequence of its own; a broken chain is resynced here (a new REST snapshot), not by
the core. Also the paper-trading feed (it needs no keys)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

import msgspec

from agenthft.book import SequenceGap
from agenthft.connectors.binance_usdm.rest import BinanceError, BinanceRest, retry_limited
from agenthft.connectors.port import PortListener
from agenthft.connectors.raw import RawCapture
from agenthft.connectors.ws import WsConn
from agenthft.market.feeds.binance import BinanceDepthSync, DepthUpdate
from agenthft.model import Instrument, Side

log = logging.getLogger("agenthft.connectors")


class _Envelope(msgspec.Struct):
    stream: str = ""
    data: msgspec.Raw = msgspec.Raw(b"")


class _Event(msgspec.Struct):
    e: str = ""


class _Trade(msgspec.Struct):
    p: str
    q: str
    T: int
    m: bool


class BinanceMarketData:
    """Books and trades of `markets` for one listener, kept in sync across reconnects."""

    def __init__(
        self,
        streams_root: str,
        rest: BinanceRest,
        instruments: dict[str, Instrument],
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.root = streams_root.rstrip("/")
        self.rest = rest
        self.instruments = instruments
        self.on_lost = on_lost
        self.listener: PortListener | None = None
        self.markets: tuple[str, ...] = ()
        self.conn: WsConn | None = None
        self.syncs: dict[str, BinanceDepthSync] = {}
        self.seq: dict[str, int] = {}
        self.resyncs = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._env = msgspec.json.Decoder(_Envelope)
        self._ev = msgspec.json.Decoder(_Event)
        self._depth = msgspec.json.Decoder(DepthUpdate)
        self._trade = msgspec.json.Decoder(_Trade)
        self.raw: RawCapture | None = None  # every frame and snapshot body as received (recording)
        self.book_ticker = False  # also `@bookTicker` (the capture's reference check), for recording

    def url(self) -> str:
        names = []
        for m in self.markets:
            s = m.lower()
            names += [f"{s}@depth@0ms", f"{s}@trade"] + ([f"{s}@bookTicker"] if self.book_ticker else [])
        return f"{self.root}/public/stream?streams={'/'.join(names)}"

    async def connect(self, listener: PortListener, markets: Sequence[str], timeout_s: float = 5.0) -> None:
        """Open the stream, then take a REST snapshot of each book (diffs are buffered meanwhile)."""
        self.listener, self.markets = listener, tuple(markets)
        self.syncs = {m: BinanceDepthSync(self.instruments[m], futures=True) for m in self.markets}
        self.conn = WsConn(self.url(), self._on_text, self.on_lost)
        await self.conn.connect(timeout_s)
        await asyncio.gather(*(self.snapshot(m) for m in self.markets))

    async def snapshot(self, market: str, tries: int = 5) -> None:
        """Load `market`'s REST snapshot into its sync; buffered diffs that bridge follow it. A
        snapshot older than the buffered diffs (they start after it) is fetched again, with the
        diffs buffered from then on, as Binance's rules say."""
        for attempt in range(tries):
            sync = self.syncs[market] = BinanceDepthSync(self.instruments[market], futures=True)
            body = await retry_limited(lambda: self.rest.depth(market, 1000))
            if self.raw is not None:
                self.raw.write(market, time.time_ns(), msgspec.json.encode(body))
            try:
                applied = sync.on_snapshot(int(body["lastUpdateId"]), body["bids"], body["asks"])
                break
            except SequenceGap as e:
                if attempt == tries - 1:
                    raise
                self.resyncs += 1
                log.info("%s: the snapshot does not bridge the buffered diffs (%s); fetching another", market, e)
                await asyncio.sleep(0.05 * (attempt + 1))
        lst = self.listener
        if lst is None:
            return
        book = sync.book  # the snapshot with the buffered diffs that bridge it (`applied`) on top
        self.seq[market] = 1
        now = time.time_ns()
        ts = int(body.get("T") or body.get("E") or 0) * 1_000_000 if not applied else applied[-1].E * 1_000_000
        lst.on_book(market, book.bids(), book.asks(), 1, ts or now, now, True)

    def resync(self, market: str) -> None:
        """A fresh snapshot (the chain broke, or the core asked), in the background."""
        if market not in self.syncs:
            return
        self.resyncs += 1
        task = asyncio.get_running_loop().create_task(self._resync(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resync(self, market: str) -> None:
        """Until a snapshot bridges (the book stays unsynced, and says so, meanwhile)."""
        delay = 0.1
        while True:
            try:
                await self.snapshot(market)
                return
            except (BinanceError, SequenceGap, OSError, TimeoutError) as e:
                log.warning("resync of %s failed: %s; again in %.1f s", market, e, delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    def _on_text(self, data: bytes, recv_ns: int) -> None:
        lst = self.listener
        if lst is None:
            return
        try:
            env = self._env.decode(data)
        except msgspec.DecodeError:
            return
        if not env.data:
            return  # a SUBSCRIBE answer or the like
        raw = bytes(env.data)
        kind = self._ev.decode(raw).e
        market = env.stream.split("@", 1)[0].upper()
        if self.raw is not None:
            self.raw.write(market, recv_ns, data)
        if kind == "depthUpdate":
            self._on_depth(market, self._depth.decode(raw), recv_ns)
        elif kind in ("trade", "aggTrade"):
            inst = self.instruments.get(market)
            if inst is None:
                return
            t = self._trade.decode(raw)
            g = inst.grid
            side = Side.SELL if t.m else Side.BUY  # m: the buyer was the maker -> the taker sold
            lst.on_trade(market, g.price_to_ticks(t.p), g.qty_to_lots(t.q), side, t.T * 1_000_000, recv_ns)

    def _on_depth(self, market: str, upd: DepthUpdate, recv_ns: int) -> None:
        sync = self.syncs.get(market)
        lst = self.listener
        if sync is None or lst is None:
            return
        if sync.waiting:
            sync.on_depth(upd)  # buffered until the snapshot
            return
        try:
            applied = sync.on_depth(upd)
        except SequenceGap:
            self.resync(market)
            return
        if not applied:
            return
        bids, asks = sync.applied[0]  # the levels the sync parsed and applied: parsed once
        seq = self.seq[market] = self.seq.get(market, 0) + 1
        lst.on_book(market, bids, asks, seq, upd.E * 1_000_000, recv_ns, False)

    async def reconnect(self, timeout_s: float = 5.0) -> None:
        if self.listener is not None:
            await self.connect(self.listener, self.markets, timeout_s)

    def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
