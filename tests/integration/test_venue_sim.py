"""A simulated market running inside the live venue, seen by a real WebSocket client."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import websockets

from agenthft.market.sim.scenario import load_scenario
from agenthft.venue import VenueServer, load_config
from agenthft.venue.simdriver import SimDriver


async def test_calm_scenario_trades_on_the_venue_and_streams_to_subscribers():
    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("calm"))
    driver.start()
    try:
        key, _, _ = srv.venue.register("watcher")
        async with websockets.connect(srv.ws_url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channels": ["orderbook", "trades"], "market": "BTC-PERP"}))
            seen: dict[str, int] = {}
            last_seq = None
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and seen.get("trade", 0) < 5:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 2))
                seen[msg["type"]] = seen.get(msg["type"], 0) + 1
                if msg["type"] == "book_update":
                    assert last_seq is None or msg["seq"] == last_seq + 1, "no gaps in the stream"
                    last_seq = msg["seq"]
                    assert abs(msg["ts_ns"] - time.time_ns()) < 5 * 10**9, "epoch timestamps"
                elif msg["type"] == "book_snapshot":
                    last_seq = msg["seq"]
        assert seen.get("book_update", 0) > 20 and seen.get("trade", 0) >= 5
        bids, asks = srv.venue.engine.l2("BTC-PERP", 1)
        assert bids and asks and bids[0][0] < asks[0][0]
    finally:
        await driver.stop()
        await srv.stop()


async def test_cli_venue_with_sim_serves_and_writes_labels(tmp_path: Path):
    labels = tmp_path / "labels.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agenthft.cli",
        "venue",
        "--sim",
        "manipulated",
        "--labels",
        str(labels),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not any("simulation" in ln for ln in lines):
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line, "venue exited"
        lines.append(line.decode())
    assert any("simulation manipulated on BTC-PERP" in ln for ln in lines)
    await asyncio.sleep(4)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()[-1000:]
    kinds = {json.loads(ln)["kind"] for ln in labels.read_text().splitlines()}
    assert "spoof" in kinds, kinds
