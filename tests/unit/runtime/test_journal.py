import os
import signal
import subprocess
import sys
from pathlib import Path

from agenthft.model import Instrument, InstrumentKind, OrderStatus, OrderType, Side
from agenthft.oms import OrderManager, VenueFill
from agenthft.runtime.journal import Journal, NewOrderRecord

PERP = Instrument("P", "BTC", "USDC", InstrumentKind.PERP, tick_size="0.1", lot_size="0.001")


def test_journal_rebuilds_the_oms(tmp_path: Path):
    j = Journal(tmp_path / "j.sqlite")
    j.record("new", "o1", 1, NewOrderRecord("P", Side.BUY, 5, 100, OrderType.LIMIT))
    j.record("ack", "o1", 2, 77)
    j.record("fill", "o1", 3, VenueFill("o1", 1, "P", Side.BUY, 2, 100, -3, 3))
    j.record("new", "o2", 4, NewOrderRecord("P", Side.SELL, 1, 200, OrderType.LIMIT))
    j.record("reject", "o2", 5, "bad_price")
    j.record("cancel_request", "o1", 6)
    assert j.flush()
    j.close()
    m = OrderManager([PERP])
    assert Journal.replay(tmp_path / "j.sqlite", m) == 6
    o1, o2 = m.orders["o1"], m.orders["o2"]
    assert (o1.status, o1.filled, o1.venue_order_id) == (OrderStatus.PENDING_CANCEL, 2, 77)
    assert (o2.status, o2.reject_code) == (OrderStatus.REJECTED, "bad_price")
    assert m.positions["P"].size == 2 and m.positions["P"].fees == -3
    assert [f.fill_id for f in Journal.fills(tmp_path / "j.sqlite")] == [1]


def test_committed_entries_survive_sigkill(tmp_path: Path):
    path = tmp_path / "k.sqlite"
    code = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[3] / "src")!r})
from agenthft.runtime.journal import Journal
j = Journal({str(path)!r})
for i in range(1000):
    j.record("cancel_request", f"o{{i}}", i)
assert j.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    import sqlite3

    n = sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0]
    assert n == 1000
    assert os.path.exists(path)
