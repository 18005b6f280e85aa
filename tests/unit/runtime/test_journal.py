import os
import signal
import subprocess
import sys
from pathlib import Path

from agenthft.connectors.port import Amended, Funding
from agenthft.model import Instrument, InstrumentKind, OrderStatus, OrderType, Side
from agenthft.oms import OrderManager, VenueFill
from agenthft.runtime.journal import Journal, NewOrderRecord, read

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


def test_a_restart_restores_amends_and_funding_too(tmp_path: Path):
    """The typed reader applies every order event the runner journals: an amended order comes
    back at its new price and size, and funding paid stays in the P&L (both were dropped on
    replay before the one reader existed)."""
    j = Journal(tmp_path / "j.sqlite")
    j.record("instruments", "", 0, [PERP])
    j.record("new", "o1", 1, NewOrderRecord("P", Side.BUY, 5, 100, OrderType.LIMIT))
    j.record("ack", "o1", 2, 77)
    j.record("amended", "o1", 3, Amended("o1", 4, 101, 3))
    j.record("fill", "o1", 4, VenueFill("o1", 1, "P", Side.BUY, 2, 101, 0, 4))
    j.record("funding", "", 5, Funding("P", 1234, 10**8, 101, 2, "USDC", 5))
    j.record("risk_counts", "", 6, {"orders": 1})
    assert j.flush()
    j.close()
    entries = list(read(tmp_path / "j.sqlite"))
    assert [e.kind for e in entries] == ["instruments", "new", "ack", "amended", "fill", "funding", "risk_counts"]
    assert entries[0].instruments == [PERP] and entries[2].venue_order_id == 77 and entries[6].other == {"orders": 1}
    m = OrderManager([PERP])
    Journal.replay(tmp_path / "j.sqlite", m)
    o1 = m.orders["o1"]
    assert (o1.qty, o1.price, o1.filled) == (4, 101, 2)
    assert m.positions["P"].funding == 1234


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
