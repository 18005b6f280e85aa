"""Record a venue's public streams to Parquet, through its venue port (any connector: agenthft,
binance-usdm, hyperliquid, ccxt): normalised rows (`market.events`) with the local receive time
and the venue's time, in rolling files, replayable and backtestable as they are (`agenthft
replay / backtest --data / venue --replay`); and the raw frames where the connector keeps them.

The book is recorded as the venue sends it: a snapshot (CLEAR + levels) on subscribe and after
any gap, then updates as LEVEL messages; a sequence gap is not papered over: the recorder asks
for a fresh snapshot and the file shows the reset. Files roll by row count or by seconds, and a
file is written whole (temporary name, then renamed), so a crash loses at most the open part.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from agenthft.book import L2Book, Level, SequenceGap
from agenthft.connectors.port import VenuePort
from agenthft.market.events import ASK, BID, F_LAST, LEVEL, TRADE, Events, Meta
from agenthft.model import Instrument, Side


class Recorder:
    """A venue port's listener that turns its book and trade events into rows and rolls files."""

    def __init__(
        self, instruments: list[Instrument], out: str | Path, roll_rows: int = 1_000_000, roll_s: float = 3600.0
    ) -> None:
        self.instruments = {i.market: i for i in instruments}
        self.index = {i.market: n for n, i in enumerate(instruments)}
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.roll_rows, self.roll_ns = roll_rows, int(roll_s * 1e9)
        self.books = {m: L2Book(m) for m in self.instruments}  # only to check sequence, as a client would
        self.files: list[Path] = []
        self.rows = 0
        self.gaps = 0
        self.port: VenuePort | None = None
        self._ev = self._new()
        self._opened_ns = time.time_ns()
        self._trade_seq = 0

    def _new(self) -> Events:
        return Events(Meta("agenthft", [], list(self.instruments.values()), ["recorded by agenthft record"]))

    # --- PortListener ----------------------------------------------------------------------------
    def on_connected(self, reconnects: int) -> None:
        pass

    def on_disconnected(self, reason: str) -> None:
        for b in self.books.values():
            b.synced = False  # the next snapshot resets the recorded book too

    def on_book(
        self, market: str, bids: list[Level], asks: list[Level], seq: int, ts_ns: int, recv_ns: int, snapshot: bool
    ) -> None:
        m = self.index.get(market)
        if m is not None:
            self._book(market, m, bids, asks, seq, ts_ns, recv_ns, snapshot)
        self.maybe_roll(recv_ns)

    def on_trade(self, market: str, price: int, lots: int, side: Side, ts_ns: int, recv_ns: int) -> None:
        m = self.index.get(market)
        if m is not None:
            self._trade_seq += 1
            aggressor = BID if side is Side.BUY else ASK
            self._ev.add(recv_ns, ts_ns, m, TRADE, aggressor, price, lots, 0, self._trade_seq, F_LAST)
        self.maybe_roll(recv_ns)

    def on_order_event(self, ev: Any, recv_ns: int) -> None:
        pass  # a recorder trades nothing

    def on_rtt(self, rtt_ns: int, recv_ns: int) -> None:
        pass

    def _book(
        self,
        market: str,
        m: int,
        bids: list[Level],
        asks: list[Level],
        seq: int,
        ts_ns: int,
        recv_ns: int,
        snapshot: bool,
    ) -> None:
        book = self.books[market]
        if snapshot:
            book.load_snapshot(bids, asks, seq)
            self._ev.snapshot(recv_ns, ts_ns, m, [lv for lv in bids if lv[1]], [lv for lv in asks if lv[1]], seq)
            return
        if not book.synced or seq <= book.seq:
            return  # waiting for the snapshot, or already in it
        try:
            book.apply(bids, asks, seq)  # the book's own sequence check, as the runner's
        except SequenceGap:  # the book is out of sync now; a fresh snapshot resets it (and the file)
            self.gaps += 1
            if self.port is not None:
                self.port.resubscribe(market)
            return
        add = self._ev.add
        for p, q in bids:
            add(recv_ns, ts_ns, m, LEVEL, BID, p, q, 0, seq)
        for p, q in asks:
            add(recv_ns, ts_ns, m, LEVEL, ASK, p, q, 0, seq)
        self._ev.end_message()

    # --- files ----------------------------------------------------------------------------------
    def maybe_roll(self, now_ns: int) -> None:
        if len(self._ev) >= self.roll_rows or (len(self._ev) and now_ns - self._opened_ns >= self.roll_ns):
            self.flush()

    def flush(self) -> Path | None:
        """Write the rows so far as one Parquet file; the next rows go to a new one."""
        import pyarrow.parquet as pq

        ev, self._ev = self._ev, self._new()
        self._opened_ns = time.time_ns()
        if not len(ev):
            return None
        first = ev.columns["ts_local"][0]
        path = self.out / f"{first}-{len(self.files):05d}.parquet"
        fd, tmp = tempfile.mkstemp(dir=self.out, suffix=".tmp")
        os.close(fd)
        try:
            pq.write_table(ev.to_arrow(), tmp, compression="zstd")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.files.append(path)
        self.rows += len(ev)
        return path


async def record(
    port: VenuePort,
    markets: list[str],
    out: str | Path,
    seconds: float | None = None,
    roll_rows: int = 1_000_000,
    roll_s: float = 3600.0,
    stop: asyncio.Event | None = None,
    raw: bool = True,
) -> dict[str, Any]:
    """Record `markets` of the venue behind `port` (all it lists when empty) until `seconds`
    pass or `stop` is set: normalised rows to Parquet, and, where the connector offers them
    (`port.record_raw`), the venue's raw frames beside them (Binance: hftbacktest's capture
    format, `<local ns> <raw JSON>` lines, which `agenthft replay` verifies)."""
    rec: Recorder | None = None
    capture = None
    try:
        listed = await port.instruments()
        known = {i.market: i for i in listed}
        wanted = markets or list(known)
        unknown = [m for m in wanted if m not in known and not any(i.matches(m) for i in listed)]
        if unknown:
            raise ValueError(f"unknown market(s) {unknown}; the venue lists {sorted(known)}")
        wanted = [m if m in known else next(i.market for i in listed if i.matches(m)) for m in wanted]
        rec = Recorder([known[m] for m in wanted], out, roll_rows, roll_s)
        rec.port = port
        start_raw = getattr(port, "record_raw", None)
        capture = start_raw(Path(out) / "raw") if raw and start_raw is not None else None
        await port.connect(rec, wanted)
        done = stop or asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), seconds) if seconds else await done.wait()
    finally:
        await port.close()
        if rec is not None:
            rec.flush()  # whatever stopped us, the rows so far are kept
    raw_files = [str(p) for p in capture.files.values()] if capture is not None else []
    return {"files": [str(p) for p in rec.files], "raw": raw_files, "rows": rec.rows, "gaps": rec.gaps,
            "markets": wanted}  # fmt: skip
