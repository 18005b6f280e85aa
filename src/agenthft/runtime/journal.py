"""The agent's durable journal: every order, ack, reject, fill and cancel, in SQLite (WAL).

Writes go through a queue to one writer thread, so the event loop never waits on the disk.
A committed batch survives the process being killed (WAL, synchronous=NORMAL); entries still
in the queue at a SIGKILL are lost, which is why a restart replays the journal *and then*
reconciles with the venue (missing fills are synthesized, unknown open orders adopted).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path

import msgspec

from agenthft.model import OrderType, Side
from agenthft.oms import OrderManager, VenueFill

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT NOT NULL,
    body BLOB
);
CREATE INDEX IF NOT EXISTS events_order ON events(order_id);
"""
KINDS = ("new", "ack", "reject", "fill", "cancel_request", "cancel_ack", "cancel_reject", "anomaly")


class NewOrderRecord(msgspec.Struct, frozen=True):
    market: str
    side: Side
    qty: int
    price: int | None
    order_type: OrderType


class Journal:
    """Append-only event log of one agent. `record` never blocks; `flush` waits for the disk."""

    def __init__(self, path: str | Path, batch: int = 512) -> None:
        self.path = str(path)
        self.batch = batch
        self._q: queue.SimpleQueue[tuple[int, str, str, bytes | None] | threading.Event | None] = queue.SimpleQueue()
        self._enc = msgspec.json.Encoder()
        self.written = 0
        self.error: BaseException | None = None
        db = sqlite3.connect(self.path)
        db.executescript(SCHEMA)
        db.close()
        self._thread = threading.Thread(target=self._writer, name="agenthft-journal", daemon=True)
        self._thread.start()

    def record(self, kind: str, order_id: str, ts_ns: int, body: object = None) -> None:
        """Queue one event (a lock-free put: no waiting); `body` is anything msgspec encodes."""
        self._q.put((ts_ns, kind, order_id, None if body is None else self._enc.encode(body)))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything recorded so far is committed (or the writer has failed)."""
        done = threading.Event()
        self._q.put(done)
        return done.wait(timeout) and self.error is None

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(10)

    def _writer(self) -> None:
        db = sqlite3.connect(self.path, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            while True:
                item = self._q.get()
                rows = []
                stop = False
                flushes: list[threading.Event] = []
                while True:
                    if item is None:
                        stop = True
                    elif isinstance(item, threading.Event):
                        flushes.append(item)
                    else:
                        rows.append(item)
                    if len(rows) >= self.batch:
                        break
                    try:
                        item = self._q.get_nowait()
                    except queue.Empty:
                        break
                if rows:
                    db.executemany("INSERT INTO events (ts_ns, kind, order_id, body) VALUES (?, ?, ?, ?)", rows)
                    db.commit()
                    self.written += len(rows)
                for done in flushes:
                    done.set()
                if stop:
                    return
        except BaseException as e:  # surfaced to the runtime, which halts trading
            self.error = e
        finally:
            db.close()

    @staticmethod
    def replay(path: str | Path, oms: OrderManager) -> int:
        """Rebuild `oms` from the journal at `path`; returns the number of events applied."""
        if not Path(path).exists():
            return 0
        db = sqlite3.connect(str(path))
        try:
            rows = db.execute("SELECT ts_ns, kind, order_id, body FROM events ORDER BY seq").fetchall()
        finally:
            db.close()
        new_dec = msgspec.json.Decoder(NewOrderRecord)
        fill_dec = msgspec.json.Decoder(VenueFill)
        for ts, kind, oid, body in rows:
            if kind == "new":
                r = new_dec.decode(body)
                if oid not in oms.orders:
                    oms.new_order(r.market, r.side, r.qty, r.price, r.order_type, ts, oid)
            elif kind == "ack":
                oms.on_ack(oid, msgspec.json.decode(body), ts)
            elif kind == "reject":
                oms.on_reject(oid, msgspec.json.decode(body), ts)
            elif kind == "fill":
                oms.on_fill(fill_dec.decode(body), ts)
            elif kind == "cancel_request":
                oms.request_cancel(oid, ts)
            elif kind == "cancel_ack":
                oms.on_cancel_ack(oid, ts)
            elif kind == "cancel_reject":
                oms.on_cancel_reject(oid, msgspec.json.decode(body), ts)
        return len(rows)

    @staticmethod
    def fills(path: str | Path) -> list[VenueFill]:
        """Every fill in the journal, in order (for comparison with the venue's)."""
        db = sqlite3.connect(str(path))
        try:
            rows = db.execute("SELECT body FROM events WHERE kind = 'fill' ORDER BY seq").fetchall()
        finally:
            db.close()
        dec = msgspec.json.Decoder(VenueFill)
        return [dec.decode(b) for (b,) in rows]
