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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from agenthft.connectors.port import Amended, Funding
from agenthft.model import Instrument, OrderType, Side
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
KINDS = (
    "new", "ack", "reject", "fill", "cancel_request", "cancel_ack", "cancel_reject", "amended", "funding",
    "instruments", "risk", "risk_counts", "audit",
)  # fmt: skip


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
        """Rebuild `oms` from the journal at `path`; returns the number of events read."""
        n = 0
        for e in read(path):
            apply(oms, e)
            n += 1
        return n

    @staticmethod
    def fills(path: str | Path) -> list[VenueFill]:
        """Every fill in the journal, in order (for comparison with the venue's)."""
        return [e.fill for e in read(path, ("fill",)) if e.fill is not None]


class Entry(msgspec.Struct, frozen=True):
    """One journal event with its body decoded by kind: the field its kind fills is set, the
    rest are their defaults (`other` keeps the JSON of kinds that carry free-form records:
    risk, risk_counts, audit, anomaly)."""

    seq: int
    ts_ns: int
    kind: str
    order_id: str
    new: NewOrderRecord | None = None
    venue_order_id: int = 0  # ack
    code: str = ""  # reject, cancel_reject
    fill: VenueFill | None = None
    amended: Amended | None = None
    funding: Funding | None = None
    instruments: list[Instrument] | None = None
    other: Any = None


_DECODERS: dict[str, tuple[str, msgspec.json.Decoder[Any]]] = {
    "new": ("new", msgspec.json.Decoder(NewOrderRecord)),
    "ack": ("venue_order_id", msgspec.json.Decoder(int)),
    "reject": ("code", msgspec.json.Decoder(str)),
    "cancel_reject": ("code", msgspec.json.Decoder(str)),
    "fill": ("fill", msgspec.json.Decoder(VenueFill)),
    "amended": ("amended", msgspec.json.Decoder(Amended)),
    "funding": ("funding", msgspec.json.Decoder(Funding)),
    "instruments": ("instruments", msgspec.json.Decoder(list[Instrument])),
}
_ANY = msgspec.json.Decoder()


def read(path: str | Path, kinds: tuple[str, ...] | None = None) -> Iterator[Entry]:
    """The journal's events in order, typed: the one reader of the journal's file (the
    restart's replay, the fill checks, the report). Reading alongside a running writer is safe
    (WAL); a WAL left by a killed writer is read too."""
    if not Path(path).exists():
        return
    db = sqlite3.connect(str(path))
    try:
        sql = "SELECT seq, ts_ns, kind, order_id, body FROM events"
        if kinds:
            sql += f" WHERE kind IN ({','.join('?' * len(kinds))})"
        rows = db.execute(sql + " ORDER BY seq", kinds or ()).fetchall()
    finally:
        db.close()
    for seq, ts, kind, oid, body in rows:
        field = _DECODERS.get(kind)
        if body is None:
            yield Entry(seq, ts, kind, oid)
        elif field is None:
            yield Entry(seq, ts, kind, oid, other=_ANY.decode(body))
        else:
            yield Entry(seq, ts, kind, oid, **{field[0]: field[1].decode(body)})


def apply(oms: OrderManager, e: Entry) -> bool:
    """Apply one journaled event to `oms` as the runner did when it happened; False for kinds
    that are no order event (instruments, risk, audit)."""
    oid, ts = e.order_id, e.ts_ns
    if e.new is not None:
        r = e.new
        if oid not in oms.orders:
            oms.new_order(r.market, r.side, r.qty, r.price, r.order_type, ts, oid)
    elif e.kind == "ack":
        oms.on_ack(oid, e.venue_order_id, ts)
    elif e.kind == "reject":
        oms.on_reject(oid, e.code, ts)
    elif e.fill is not None:
        oms.on_fill(e.fill, ts)
    elif e.kind == "cancel_request":
        oms.request_cancel(oid, ts)
    elif e.kind == "cancel_ack":
        oms.on_cancel_ack(oid, ts)
    elif e.kind == "cancel_reject":
        oms.on_cancel_reject(oid, e.code, ts)
    elif e.amended is not None:
        o = oms.orders.get(oid)
        if o is not None and o.live:
            o.qty, o.price = e.amended.qty, e.amended.price
    elif e.funding is not None:
        if e.funding.market in oms.instruments:
            oms.on_funding(e.funding.market, e.funding.amount)
    else:
        return False
    return True
