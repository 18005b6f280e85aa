"""`agenthft record`: a live venue's public streams to Parquet, then replayed, verified and
backtested as they are. Real venue on loopback, real WebSocket and REST."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from agenthft.backtest.data import DataBacktest
from agenthft.backtest.latency import Constant
from agenthft.cli import main
from agenthft.market.events import TRADE
from agenthft.market.feeds import probe
from agenthft.market.recorder import record
from agenthft.market.sim.scenario import load_scenario
from agenthft.market.sources import load_events
from agenthft.strategies.bbo_quoter import BboQuoter
from agenthft.venue import VenueServer, load_config
from agenthft.venue.simdriver import SimDriver
from tests.rows import rebuild


async def test_recorded_streams_rebuild_the_venue_book_and_backtest(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("calm"))
    driver.start()
    try:
        key, _, _ = srv.venue.register("recorder")
        stop = asyncio.Event()
        task = asyncio.create_task(
            record(srv.ws_url, srv.rest_url, key, ["BTC-PERP"], tmp_path, roll_rows=5_000, stop=stop)
        )
        await asyncio.sleep(3.0)
        await driver.stop()  # the market stands still: the last recorded book is the venue's book
        await asyncio.sleep(0.5)
        stop.set()
        res = await asyncio.wait_for(task, 10)
        venue_book = srv.venue.engine.l2("BTC-PERP", 100_000)
    finally:
        await srv.stop()
    files = [Path(f) for f in res["files"]]
    assert len(files) >= 2, "rolled by rows"  # calm makes well over 5,000 rows in 3 s
    assert all(probe.detect_format(f) == "agenthft" for f in files)
    ev = load_events(files)
    assert [m.market for m in ev.markets] == ["BTC-PERP"] and res["gaps"] == 0
    book, _, crossed = rebuild(ev)
    assert crossed == 0 and (book.bids(), book.asks()) == venue_book
    c = ev.columns
    assert sum(1 for k in c["kind"] if k == TRADE) > 10
    assert main(["replay", *map(str, files), "--json"]) == 0
    capsys.readouterr()
    s = DataBacktest(BboQuoter("BTC-PERP", "0.01"), ev, Constant(100, 100, 100)).run().summary
    assert s.orders > 10 and s.events == len(ev)


def test_record_against_no_venue_exits_4_with_one_line(tmp_path: Path):
    cmd = [sys.executable, "-m", "agenthft.cli", "record", "ws://127.0.0.1:9/trading", "--rest", "http://127.0.0.1:9"]
    proc = subprocess.run([*cmd, "--key", "ahk_x", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "cannot record" in proc.stderr
