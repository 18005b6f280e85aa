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


async def test_cross_venue_scenario_runs_on_two_venues_with_one_underlying():
    from agenthft.market.sim import FairValue

    a = await VenueServer(load_config("default")).start()
    b = await VenueServer(load_config("venue-b")).start()
    shared: dict[str, FairValue] = {}
    sc = load_scenario("cross-venue")
    da, db = SimDriver(a.venue, sc, shared), SimDriver(b.venue, sc, shared)
    assert set(da.sim.fair) == {"BTC-PERP"} and set(db.sim.fair) == {"BTCUSDT"}
    assert da.sim.fair["BTC-PERP"] is db.sim.fair["BTCUSDT"]
    da.start()
    db.start()
    try:
        await asyncio.sleep(1.0)
        gaps = []
        for _ in range(20):  # venue b's makers reprice 5-17 ms late: right after a jump (0.3/s,
            # 750-1,500 ticks) the books are apart for a moment, so one instant proves nothing
            (ab, aa), (bb, ba) = a.venue.engine.l2("BTC-PERP", 1), b.venue.engine.l2("BTCUSDT", 1)
            assert ab and aa and bb and ba, "both venues are quoted"
            gaps.append(abs(ab[0][0] - bb[0][0]))
            await asyncio.sleep(0.05)
        assert sorted(gaps)[len(gaps) // 2] < 200, f"around one fair value: {gaps}"
    finally:
        await da.stop()
        await db.stop()
        await a.stop()
        await b.stop()


async def test_a_starved_simulation_catches_up_in_slices_and_skips_what_is_too_late():
    """Seen under CPU load: the venue's simulation fell behind real time and caught up in one call,
    holding the event loop for seconds (REST calls to the venue timed out). Here the loop is
    blocked for a second, as a starved process is: the clients are served while the simulation
    is still behind, and what was more than MAX_LAG_NS late is skipped, not replayed."""
    from agenthft.venue.simdriver import MAX_LAG_NS, SLICE_NS

    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("calm"))
    driver.start()
    lags: list[int] = []

    async def client() -> None:  # another task on the loop: a client's request
        while True:
            nxt = driver.sim.next_event_ns()
            lags.append(0 if nxt is None else time.time_ns() - nxt)
            await asyncio.sleep(0)

    try:
        await asyncio.sleep(0.2)
        time.sleep(1.0)  # the loop gets no CPU for a second
        watcher = asyncio.create_task(client())
        await asyncio.sleep(0.5)
        watcher.cancel()
        assert driver.skipped > 0, "the missed wake-ups beyond the lag bound were skipped"
        bound = MAX_LAG_NS + 100_000_000  # (plus the time a slice and a client's turn take)
        skipped_at = next(i for i, lag in enumerate(lags) if lag <= bound)  # (the client's first turns came first)
        assert max(lags[skipped_at:]) <= bound, "no more than MAX_LAG_NS behind once skipped"
        assert max(lags[skipped_at:]) > SLICE_NS, "a client ran while the simulation was still catching up"
        assert lags[-1] < 50_000_000, "caught up"
        bids, asks = srv.venue.engine.l2("BTC-PERP", 1)
        assert bids and asks and bids[0][0] < asks[0][0]
    finally:
        await driver.stop()
        await srv.stop()
