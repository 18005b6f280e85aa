"""`agenthft record`: a live venue's public streams to Parquet, then replayed, verified and
backtested as they are. Real venue on loopback, real WebSocket and REST."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenthft.backtest.data import DataBacktest
from agenthft.cli import main
from agenthft.connectors.registry import open_port, split_markets
from agenthft.connectors.simulated.latency import Constant
from agenthft.market.events import TRADE
from agenthft.market.feeds import registry as probe
from agenthft.market.sim.scenario import load_scenario
from agenthft.market.sources import load_events
from agenthft.runtime.recorder import record
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
        port = open_port(srv.ws_url, srv.rest_url, key)
        task = asyncio.create_task(record(port, ["BTC-PERP"], tmp_path, roll_rows=5_000, stop=stop))
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
    book, _, crossed = rebuild(ev, keep=False)
    assert crossed == 0 and (book.bids(), book.asks()) == venue_book
    c = ev.columns
    assert sum(1 for k in c["kind"] if k == TRADE) > 10
    assert main(["replay", *map(str, files), "--json"]) == 0
    capsys.readouterr()
    s = DataBacktest(BboQuoter("BTC-PERP", "0.01"), ev, Constant(100, 100, 100)).run().summary
    assert s.orders > 10 and s.events == len(ev)


async def test_recording_a_binance_dialect_venue_keeps_raw_frames_that_replay_verifies(
    binance: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """`record binance-usdm@URL:BTCUSDT`: the connector's public side, no keys; the raw frames
    (hftbacktest's format, with the REST snapshot body and bookTicker) replay with checks > 0,
    and the Parquet rows backtest."""
    env = binance
    driver = SimDriver(env.venue, load_scenario("calm"))
    driver.start()
    try:
        spec, markets = split_markets(f"binance-usdm@{env.base_url}:BTCUSDT")
        port = open_port(spec, public_only=True)
        stop = asyncio.Event()
        task = asyncio.create_task(record(port, markets, tmp_path, stop=stop))
        await asyncio.sleep(3.0)
        stop.set()
        res = await asyncio.wait_for(task, 10)
    finally:
        await driver.stop()
    assert res["markets"] == ["BTCUSDT"] and res["rows"] > 100 and len(res["raw"]) == 1
    assert probe.detect_format(Path(res["raw"][0])) == "binance"
    with gzip.open(res["raw"][0], "rb") as f:
        snapshots = sum(1 for line in f if b"lastUpdateId" in line)
    assert snapshots == 1 and res["gaps"] == 0, "one snapshot, bridged; no resync loop"
    assert main(["replay", *res["raw"], "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["checks_passed"] > 0 and report["checks_failed"] == 0 and report["crossed"] == 0
    ev = load_events([Path(f) for f in res["files"]])
    assert [m.market for m in ev.markets] == ["BTCUSDT"]
    s = DataBacktest(BboQuoter("BTCUSDT", "0.01"), ev, Constant(100, 100, 100)).run().summary
    assert s.orders > 0 and s.events == len(ev)


def test_record_against_no_venue_exits_4_with_one_line(tmp_path: Path):
    cmd = [sys.executable, "-m", "agenthft.cli", "record", "binance-usdm@http://127.0.0.1:9:BTCUSDT"]
    proc = subprocess.run([*cmd, "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "cannot record" in proc.stderr


def test_recording_agenthfts_protocol_without_its_key_is_a_usage_error(tmp_path: Path):
    cmd = [sys.executable, "-m", "agenthft.cli", "record", "ws://127.0.0.1:9/trading", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--rest URL and --key KEY" in proc.stderr, proc.stderr
