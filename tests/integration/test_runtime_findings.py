"""The runtime's promises under stress, each finding of a fast-market try as a test: no venue
fill is dropped, one cancel in flight per order, a bounded journal under denial floods, a halt
file honoured before the first order, honest exit codes and a summary even without a venue."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.model import OrderType, Side
from agenthft.risk import Reason, RiskConfig, RiskState
from agenthft.runtime import Journal, Runner

from .conftest import Venue, run_cmd
from .test_risk import Idle, count_venue_orders
from .test_runtime import get, register, settle


async def _true(v: bool) -> bool:
    return v


def journal_kinds(path: Path) -> Counter[str]:
    db = sqlite3.connect(path)
    try:
        return Counter(dict(db.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()))
    finally:
        db.close()


async def test_a_fill_for_an_order_reconciliation_closed_still_counts(tmp_path: Path, venue: Venue):
    """The race of the finding: a snapshot that missed an order closes it; its fill then arrives."""
    srv, http = venue.server, venue.http
    key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
    runner = Runner(
        Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key), journal_path=tmp_path / "j.db", risk=RiskConfig(stale_ms=0)
    )
    await runner.start()
    o = runner.submit("BTC-PERP", Side.BUY, 5, 600000)
    assert o is not None
    await settle(lambda: _true(o.venue_order_id is not None))
    runner.oms.reconcile([], [], time.time_ns())  # a snapshot that predates the order: closed locally
    assert o.status.value == "cancelled" and o.closed_by == "reconcile"
    body = {"market": "BTC-PERP", "side": "sell", "type": "market", "qty": 0.005, "client_id": "t1"}
    async with http.post(srv.rest_url + "/trading/orders", json=body, headers={"Authorization": f"Bearer {taker}"}):
        pass
    await settle(lambda: _true(bool(runner.oms.seen_fills)))
    venue_fills = {f["fill_id"] for f in await get(http, srv, key, "/api/v1/fills")}
    assert runner.oms.seen_fills == venue_fills and runner.oms.positions["BTC-PERP"].size == 5
    assert o.status.value == "filled"
    kinds = [a.kind for a in runner.oms.anomalies]
    assert "late_fill" in kinds and "illegal_transition" not in kinds
    await runner.stop()
    assert {f.fill_id for f in Journal.fills(tmp_path / "j.db")} == venue_fills


async def test_reconcile_reads_one_venue_snapshot_and_keeps_orders_in_flight(venue: Venue):
    srv, http = venue.server, venue.http
    key = await register(http, srv, "agent")
    state = await get(http, srv, key, "/api/v1/state")
    assert set(state) >= {"open_orders", "fills", "event_seq", "ts_ns"}
    runner = Runner(Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(stale_ms=0))
    await runner.start()
    o = runner.submit("BTC-PERP", Side.BUY, 1, 500000)
    assert o is not None
    rep = runner.oms.reconcile([], [], time.time_ns(), in_flight_since_ns=runner.connected_ns)
    assert rep.orders_in_flight == 1 and o.live, "an unacknowledged order of this connection is left to its ack"
    await settle(lambda: _true(o.status.value == "open"))
    await runner.stop()


async def test_cancels_are_idempotent_one_in_flight_per_order(venue: Venue):
    srv, http = venue.server, venue.http
    srv.venue.engine.cancel, calls = _counting(srv.venue.engine.cancel)  # type: ignore[method-assign]
    key = await register(http, srv, "agent")
    runner = Runner(
        Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(stale_ms=0), cancel_retry_ms=60_000
    )
    await runner.start()
    o = runner.submit("BTC-PERP", Side.BUY, 1, 500000)
    assert o is not None
    await settle(lambda: _true(o.status.value == "open"))
    sent = [runner.cancel(o.order_id) for _ in range(1000)]  # a strategy (or risk) asking again and again
    assert sent.count(True) == 1
    await settle(lambda: _true(not o.live))
    assert calls["n"] == 1, "the venue saw one cancel"
    await runner.stop()


def _counting(fn: Any) -> tuple[Any, dict[str, int]]:
    calls = {"n": 0}

    def wrapped(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        return fn(*a, **kw)

    return wrapped, calls


async def test_a_denial_flood_leaves_a_bounded_journal_with_counts(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    key = await register(http, srv, "agent")
    path = tmp_path / "j.db"
    runner = Runner(Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key), journal_path=path, risk=RiskConfig(stale_ms=0))
    await runner.start()
    runner.manual_override("test")
    for i in range(20_000):
        assert runner.submit("BTC-PERP", Side.BUY, 1, 500000 + i % 7) is None
    await runner.stop()
    kinds = journal_kinds(path)
    assert kinds["risk"] <= 3, f"state changes and first denials only: {kinds}"
    db = sqlite3.connect(path)
    rows = [json.loads(b) for (b,) in db.execute("SELECT body FROM events WHERE kind = 'risk_counts'")]
    db.close()
    assert sum(r["counts"].get("halted:BTC-PERP", 0) for r in rows) == 20_000
    assert runner.risk.counts[Reason.HALTED.value] == 20_000 and len(runner.risk.events) <= 1000
    summary = runner.summary()
    assert summary["first_trip"].startswith("MANUAL_OVERRIDE") and summary["risk_counts"]["halted"] == 20_000


async def test_a_halt_file_present_at_start_lets_no_order_reach_the_venue(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    seen = count_venue_orders(srv)
    key = await register(http, srv, "agent")
    account = srv.venue.keys.authenticate(key).account_id  # type: ignore[union-attr]
    flag = tmp_path / "HALT"
    flag.touch()
    from agenthft.strategies import Quoter

    runner = Runner(
        Quoter("BTC-PERP", "0.005", 3, "60000"), AgenthftPort(srv.ws_url, srv.rest_url, key), halt_file=flag
    )
    await runner.start()
    await asyncio.sleep(0.2)
    assert runner.risk.state is RiskState.HALTED and seen[account] == 0
    assert runner.summary()["first_trip"].startswith("MANUAL_OVERRIDE")
    await runner.stop()


async def test_client_limits_come_from_the_venue_breaker_under_client_under_venue(venue: Venue):
    srv, http = venue.server, venue.http
    key = await register(http, srv, "agent")
    limits = await get(http, srv, key, "/api/v1/limits")
    assert limits["orders_per_s"] == 20 and limits["cancels_per_s"] == 20  # the test tier
    runner = Runner(Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key))
    await runner.start()
    lim = runner.summary()["limits"]
    assert lim["circuit_breaker_per_s"] < lim["client_orders_per_s"] <= lim["venue_orders_per_s"] == 20
    await runner.stop()


# --- the CLI: exit codes and summaries -------------------------------------------------------


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenthft.cli", *args], capture_output=True, text=True, timeout=timeout
    )


async def _venue_process() -> tuple[asyncio.subprocess.Process, str, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agenthft.cli", "venue", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    ws = rest = key = ""
    while not key:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        if "websocket" in line:
            ws = line.split()[-1]
        elif "rest" in line:
            rest = line.split()[-1]
        elif "key" in line:
            key = line.split()[-1]
    return proc, ws, rest, key


async def test_run_that_ends_halted_exits_3_and_says_why_when_it_happens(tmp_path: Path):
    proc, ws, rest, key = await _venue_process()
    try:
        flag = tmp_path / "HALT"
        flag.touch()
        args = ["run", "quoter", "--venue", ws, "--rest", rest, "--key", key, "--duration", "1"]
        res = await asyncio.to_thread(_cli, *args, "--halt-file", str(flag), "--param", "ref_price=60000")
        assert res.returncode == 3, res.stderr
        trip_lines = [ln for ln in res.stderr.splitlines() if "risk halted: MANUAL_OVERRIDE" in ln]
        assert len(trip_lines) == 1, res.stderr
        summary = json.loads(res.stdout)
        assert summary["risk_state"] == "halted" and summary["exit_code"] == 3
        assert summary["venue_fill_ids"] == [] and summary["open_orders"] == []
    finally:
        proc.terminate()
        await proc.wait()


async def test_the_summary_is_written_when_the_venue_is_gone(tmp_path: Path):
    proc, ws, rest, key = await _venue_process()
    run = await asyncio.create_subprocess_exec(
        *run_cmd(ws, rest, key, "--duration", "2"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert run.stderr is not None
    started = await asyncio.wait_for(run.stderr.readline(), 30)  # "agenthft run: quoter on ... at ...": trading
    assert b" on BTC-PERP at " in started, started
    proc.kill()  # the venue goes away while the agent runs (a fixed sleep raced a slow start)
    await proc.wait()
    out, rest_of_err = await asyncio.wait_for(run.communicate(), 30)
    err = started + rest_of_err
    assert run.returncode == 4, err.decode()
    summary = json.loads(out)
    assert "venue unreachable" in summary["venue_error"] and summary["reconnects"] >= 1
    assert "Traceback" not in err.decode()


async def test_summary_positions_are_decimals_marked_like_the_venue(venue: Venue):
    srv, http = venue.server, venue.http
    key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
    runner = Runner(Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(stale_ms=0))
    await runner.start()
    runner.submit("BTC-PERP", Side.BUY, 5, 600000, OrderType.LIMIT)
    body = {"market": "BTC-PERP", "side": "sell", "type": "limit", "qty": 0.005, "price": 60000, "client_id": "x"}
    async with http.post(srv.rest_url + "/trading/orders", json=body, headers={"Authorization": f"Bearer {taker}"}):
        pass
    await settle(lambda: _true(bool(runner.oms.positions) and "BTC-PERP" in runner.last_trade))
    s = runner.summary()
    (venue_pos,) = (await get(http, srv, key, "/api/v1/positions"))["positions"]
    assert s["positions"] == {"BTC-PERP": "0.005"} and s["positions_lots"] == {"BTC-PERP": 5}
    assert float(s["marks"]["BTC-PERP"]) == venue_pos["mark_price"]
    assert abs(s["unrealized"] - venue_pos["unrealized_pnl"]) < 1e-9
    await runner.stop()


async def test_a_venue_without_state_and_limits_endpoints_still_reconciles(venue: Venue):
    """A remote venue that speaks only the shared protocol: two reads instead of one snapshot,
    the client's default throttles instead of the published limits."""
    srv, http = venue.server, venue.http
    from agenthft.connectors.agenthft import RestClient

    key = await register(http, srv, "agent")
    app = srv._runner.app  # type: ignore[union-attr]
    routes = [r for r in app.router.routes() if r.resource is not None]
    hidden = {"/api/v1/state", "/api/v1/limits"}
    for r in routes:
        if r.resource is not None and r.resource.canonical in hidden:
            r._handler = _not_found
    async with RestClient(srv.rest_url, key) as rest:
        assert await rest.limits() == {}
        state = await rest.state()
        assert state["consistent"] is False and state["open_orders"] == []
    runner = Runner(Idle(), AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(stale_ms=0))
    await runner.start()
    assert runner.reconcile_count == 1 and runner.summary()["limits"]["venue_orders_per_s"] is None
    await runner.stop()


async def _not_found(request: Any) -> Any:
    from aiohttp import web

    raise web.HTTPNotFound()
