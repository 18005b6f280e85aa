"""Record a venue's public streams (our protocol) to Parquet: normalised rows (`market.events`)
with the local receive time and the venue's time, in rolling files, replayable and
backtestable as they are (`agenthft replay / backtest --data / venue --replay`).

The book is recorded as the venue sends it: a snapshot (CLEAR + levels) on subscribe and after
any gap, then updates as LEVEL messages; a sequence gap is not papered over: the recorder asks
for a fresh snapshot and the file shows the reset. Files roll by row count or by seconds, and a
file is written whole (temporary name, then renamed), so a crash loses at most the open part.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from agenthft.book import L2Book, SequenceGap
from agenthft.connectors.agenthft import RestClient, SessionConfig, WsSession, instrument_from_rest
from agenthft.market.events import ASK, BID, F_LAST, LEVEL, TRADE, Events, Meta
from agenthft.model import Instrument, Side
from agenthft.protocol import messages as pm


class Recorder:
    """A WebSocket handler that turns book and trade messages into rows and rolls files."""

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
        self.session: WsSession | None = None
        self._ev = self._new()
        self._opened_ns = time.time_ns()

    def _new(self) -> Events:
        return Events(Meta("agenthft", [], list(self.instruments.values()), ["recorded by agenthft record"]))

    # --- Handler ------------------------------------------------------------------------------
    def on_connected(self, session: WsSession) -> None:
        self.session = session

    def on_disconnected(self, session: WsSession, reason: str) -> None:
        for b in self.books.values():
            b.synced = False  # the next snapshot resets the recorded book too

    def on_message(self, msg: pm.ServerMessage, recv_ns: int) -> None:
        t = type(msg)
        if t is pm.BookSnapshot or t is pm.BookUpdate:
            assert isinstance(msg, (pm.BookSnapshot, pm.BookUpdate))
            self._book(msg, recv_ns, t is pm.BookSnapshot)
        elif t is pm.TradeMsg:
            assert isinstance(msg, pm.TradeMsg)
            inst = self.instruments.get(msg.market)
            if inst is not None:
                side = BID if msg.side is Side.BUY else ASK
                m = self.index[msg.market]
                price, qty = inst.price_to_ticks(msg.price), inst.qty_to_lots(msg.qty)
                self._ev.add(recv_ns, msg.ts_ns, m, TRADE, side, price, qty, 0, msg.trade_id, F_LAST)
        self.maybe_roll(recv_ns)

    def _book(self, msg: pm.BookSnapshot | pm.BookUpdate, recv_ns: int, snapshot: bool) -> None:
        inst = self.instruments.get(msg.market)
        if inst is None:
            return
        g = inst.grid
        bids = [(g.price_to_ticks(p), g.qty_to_lots(q)) for p, q in msg.bids]
        asks = [(g.price_to_ticks(p), g.qty_to_lots(q)) for p, q in msg.asks]
        book = self.books[msg.market]
        m = self.index[msg.market]
        if snapshot:
            book.load_snapshot(bids, asks, msg.seq)
            self._ev.snapshot(recv_ns, msg.ts_ns, m, bids, asks, msg.seq)
            return
        if not book.synced or msg.seq <= book.seq:
            return  # waiting for the snapshot, or already in it
        try:
            book.apply(bids, asks, msg.seq)  # the book's own sequence check, as the runner's
        except SequenceGap:  # the book is out of sync now; a fresh snapshot resets it (and the file)
            self.gaps += 1
            if self.session is not None:
                self.session.resubscribe(msg.market)
            return
        add = self._ev.add
        for p, q in bids:
            add(recv_ns, msg.ts_ns, m, LEVEL, BID, p, q, 0, msg.seq)
        for p, q in asks:
            add(recv_ns, msg.ts_ns, m, LEVEL, ASK, p, q, 0, msg.seq)
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
    ws_url: str,
    rest_url: str,
    api_key: str,
    markets: list[str],
    out: str | Path,
    seconds: float | None = None,
    roll_rows: int = 1_000_000,
    roll_s: float = 3600.0,
    stop: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Record `markets` (all the venue lists when empty) until `seconds` pass or `stop` is set."""
    async with RestClient(rest_url, api_key) as rest:
        listed = [instrument_from_rest(m) for m in await rest.markets()]
    known = {i.market: i for i in listed}
    wanted = markets or list(known)
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ValueError(f"unknown market(s) {unknown}; the venue lists {sorted(known)}")
    rec = Recorder([known[m] for m in wanted], out, roll_rows, roll_s)
    session = WsSession(SessionConfig(ws_url, api_key, markets=tuple(wanted)), rec)
    await session.connect_once()
    task = asyncio.create_task(session.run(connected=True))
    done = stop or asyncio.Event()
    try:
        await asyncio.wait_for(done.wait(), seconds) if seconds else await done.wait()
    except TimeoutError:
        pass
    finally:
        session.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rec.flush()
    return {"files": [str(p) for p in rec.files], "rows": rec.rows, "gaps": rec.gaps, "markets": wanted}
