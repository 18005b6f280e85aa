"""The agent runtime against the real venue on loopback, including faults. After each fault:
no lost and no duplicated fill (journal vs venue, one to one) and no orphan open order."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.model import Side
from agenthft.runtime import Journal, Runner
from agenthft.strategies import Quoter
from agenthft.venue import VenueServer

from .conftest import Venue, config, run_cmd


async def register(http: aiohttp.ClientSession, srv: VenueServer, agent: str) -> str:
    async with http.post(srv.rest_url + "/api/v1/register", json={"agent_id": agent}) as r:
        return (await r.json())["api_key"]  # type: ignore[no-any-return]


async def get(http: aiohttp.ClientSession, srv: VenueServer, key: str, path: str) -> Any:
    async with http.get(srv.rest_url + path, headers={"Authorization": f"Bearer {key}"}) as r:
        return await r.json()


async def hit(http: aiohttp.ClientSession, srv: VenueServer, key: str, side: str, n: int, tag: str) -> None:
    """A taker sweeps the agent's quotes with market orders."""
    for i in range(n):
        body = {"market": "BTC-PERP", "side": side, "type": "market", "qty": 0.002, "client_id": f"{tag}{i}"}
        async with http.post(
            srv.rest_url + "/trading/orders", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as r:
            await r.read()
        await asyncio.sleep(0.03)


async def settle(check, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("did not settle")
        await asyncio.sleep(0.05)


async def assert_integrity(
    http: aiohttp.ClientSession, srv: VenueServer, key: str, runner: Runner, journal: Path
) -> None:
    """Journal fills = venue fills one to one; OMS live orders = venue open orders."""
    assert runner.journal is not None
    runner.journal.flush()
    venue_fills = await get(http, srv, key, "/api/v1/fills")
    journal_ids = Counter(f.fill_id for f in Journal.fills(journal))
    assert all(n == 1 for n in journal_ids.values()), f"duplicated fills in the journal: {journal_ids}"
    assert set(journal_ids) == {f["fill_id"] for f in venue_fills}, "journal and venue fills differ"
    assert runner.oms.seen_fills == set(journal_ids)

    async def same_open() -> bool:
        venue_open = {o["order_id"] for o in await get(http, srv, key, "/api/v1/orders")}
        return venue_open == set(runner.oms.live)

    await settle(same_open)
    venue_pos = {p["market"]: p["size"] for p in (await get(http, srv, key, "/api/v1/positions"))["positions"]}
    inst = runner.instruments["BTC-PERP"]
    mine = runner.oms.positions.get("BTC-PERP")
    assert inst.qty_to_lots(venue_pos.get("BTC-PERP", 0.0)) == (mine.size if mine else 0)


def quoter() -> Quoter:
    return Quoter("BTC-PERP", "0.005", 3, "60000")


async def test_runner_quotes_fills_and_matches_the_venue(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
    runner = Runner(quoter(), AgenthftPort(srv.ws_url, srv.rest_url, key), journal_path=tmp_path / "j.sqlite")
    await runner.start()
    book = await get(http, srv, key, "/api/v1/book/BTC-PERP")
    assert book["bids"] == [[59999.7, 0.005]] and book["asks"] == [[60000.3, 0.005]]
    await hit(http, srv, taker, "sell", 4, "s")
    await hit(http, srv, taker, "buy", 2, "b")
    await asyncio.sleep(0.2)
    await assert_integrity(http, srv, key, runner, tmp_path / "j.sqlite")
    assert len(runner.oms.seen_fills) >= 6
    snap = runner.telemetry.snapshot()
    assert snap["ack_rtt"]["count"] > 0 and snap["tick_to_trade"]["count"] > 0
    await runner.stop()


async def test_socket_dropped_mid_order_then_reconciled(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
    runner = Runner(
        quoter(),
        AgenthftPort(srv.ws_url, srv.rest_url, key, session={"backoff_initial_s": 0.02}),
        journal_path=tmp_path / "j.sqlite",
    )
    await runner.start()
    await hit(http, srv, taker, "sell", 2, "s")
    o = runner.submit("BTC-PERP", Side.BUY, 1, 500000)
    assert o is not None
    runner.port.drop()  # cut right after writing the order
    await settle(lambda: _true(runner.port.connected and len(runner.reconciles) >= 2))
    await asyncio.sleep(0.2)
    assert runner.oms.orders[o.order_id].status.is_terminal, "cancelled by the venue or never arrived"
    await hit(http, srv, taker, "buy", 2, "b")
    await asyncio.sleep(0.2)
    await assert_integrity(http, srv, key, runner, tmp_path / "j.sqlite")
    await runner.stop()


async def _true(v: bool) -> bool:
    return v


async def test_venue_gateway_restart_reconnects_and_reconciles(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
    runner = Runner(
        quoter(),
        AgenthftPort(srv.ws_url, srv.rest_url, key, session={"backoff_initial_s": 0.05}),
        journal_path=tmp_path / "j.sqlite",
    )
    await runner.start()
    await hit(http, srv, taker, "sell", 2, "s")
    await srv.restart_ws(down_s=0.3)
    await settle(lambda: _true(runner.port.connected and len(runner.reconciles) >= 2))
    assert runner.port.reconnects >= 1
    await asyncio.sleep(0.2)
    await hit(http, srv, taker, "buy", 2, "b")
    await asyncio.sleep(0.2)
    await assert_integrity(http, srv, key, runner, tmp_path / "j.sqlite")
    await runner.stop()


async def test_latency_spike_leaves_state_consistent(tmp_path: Path, venue: Venue):
    srv, http = venue.server, venue.http
    key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
    runner = Runner(quoter(), AgenthftPort(srv.ws_url, srv.rest_url, key), journal_path=tmp_path / "j.sqlite")
    await runner.start()
    srv.delay.delay_s = 0.15  # a 150 ms one-way spike
    await hit(http, srv, taker, "sell", 3, "s")
    srv.delay.delay_s = 0.0
    await asyncio.sleep(0.6)
    await hit(http, srv, taker, "buy", 2, "b")
    await asyncio.sleep(0.3)
    await assert_integrity(http, srv, key, runner, tmp_path / "j.sqlite")
    assert runner.telemetry.snapshot()["ack_rtt"]["max_us"] >= 150_000, "the spike is visible in telemetry"
    await runner.stop()


@pytest.mark.parametrize("cancel_on_disconnect", [True, False])
async def test_agent_sigkill_then_restart_from_journal(tmp_path: Path, cancel_on_disconnect: bool):
    srv = await VenueServer(config()).start()
    journal = tmp_path / "agent.sqlite"
    try:
        async with aiohttp.ClientSession() as http:
            first_key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
            async with http.post(
                srv.rest_url + "/api/v1/keys",
                json={"cancel_on_disconnect": cancel_on_disconnect},
                headers={"Authorization": f"Bearer {first_key}"},
            ) as r:
                key = (await r.json())["api_key"]
            params = ["--param", "qty=0.005", "--param", "half_spread=3"]
            cmd = run_cmd(srv.ws_url, srv.rest_url, key, *params, "--journal", str(journal))
            first = await asyncio.create_subprocess_exec(
                *cmd, "--duration", "60", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )

            async def quoting() -> bool:
                return bool((await get(http, srv, key, "/api/v1/book/BTC-PERP"))["bids"])

            await settle(quoting, 20)
            await hit(http, srv, taker, "sell", 3, "s")
            await hit(http, srv, taker, "buy", 2, "b")
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
            # while the agent is dead: with cancel-on-disconnect nothing of it is left to hit;
            # without, its quotes fill and only the venue knows (the restart must synthesize them)
            await hit(http, srv, taker, "sell", 2, "late")
            second = await asyncio.create_subprocess_exec(
                *cmd, "--duration", "2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 0, err.decode()[-2000:]
            summary = json.loads(out.decode().strip().splitlines()[-1])
            venue_fills = {f["fill_id"] for f in await get(http, srv, key, "/api/v1/fills")}
            assert venue_fills and set(summary["fill_ids"]) == venue_fills, "every venue fill known after restart"
            ids = Counter(f.fill_id for f in Journal.fills(journal))
            assert set(ids) == venue_fills and all(n == 1 for n in ids.values()), ids
            assert summary["open_orders"] == summary["venue_open_orders"], "no orphan open order"
            first_reconcile = summary["reconciles"][0]
            if cancel_on_disconnect:
                assert first_reconcile["orders_closed"] >= 1, "quotes cancelled by the venue were closed"
            else:
                assert first_reconcile["fills_synthesized"] >= 1, "fills made while the agent was dead"
    finally:
        await srv.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_venue_process(port: int, state: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agenthft.cli",
        "venue",
        "--port",
        str(port),
        "--state",
        str(state),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    while b"sandbox" not in (line := await asyncio.wait_for(proc.stdout.readline(), 20)):
        assert line, "venue exited"
    return proc


async def test_venue_process_killed_and_restarted_from_its_state(tmp_path: Path):
    state, journal = tmp_path / "venue.sqlite", tmp_path / "agent.sqlite"
    for attempt in range(5):  # a free port can be taken by a parallel test before the venue binds it
        port = _free_port()
        try:
            venue = await _start_venue_process(port, state)
            break
        except AssertionError:
            if attempt == 4:
                raise
    ws_url, rest_url = f"ws://127.0.0.1:{port}/trading", f"http://127.0.0.1:{port + 1}"

    class Srv:  # what the helpers above need of a server
        rest_url = f"http://127.0.0.1:{port + 1}"

    srv: Any = Srv()
    try:
        async with aiohttp.ClientSession() as http:
            key, taker = await register(http, srv, "agent"), await register(http, srv, "taker")
            runner = Runner(
                quoter(),
                AgenthftPort(ws_url, rest_url, key, session={"backoff_initial_s": 0.05, "backoff_max_s": 0.2}),
                journal_path=journal,
            )
            await runner.start()
            await hit(http, srv, taker, "sell", 3, "s")
            await asyncio.sleep(0.2)
            venue.kill()  # SIGKILL: no goodbye, no flush
            await venue.wait()
            await asyncio.sleep(0.3)
            venue = await _start_venue_process(port, state)
            await settle(lambda: _true(runner.port.connected and len(runner.reconciles) >= 2), 20)
            assert runner.port.reconnects >= 1
            await asyncio.sleep(0.3)
            await hit(http, srv, taker, "buy", 2, "b")  # the restarted venue still knows both keys
            await asyncio.sleep(0.3)
            assert runner.journal is not None
            runner.journal.flush()
            venue_fills = {f["fill_id"] for f in await get(http, srv, key, "/api/v1/fills")}
            ids = Counter(f.fill_id for f in Journal.fills(journal))
            assert venue_fills and set(ids) == venue_fills and all(n == 1 for n in ids.values())
            assert runner.oms.seen_fills == venue_fills

            async def same_open() -> bool:
                return {o["order_id"] for o in await get(http, srv, key, "/api/v1/orders")} == set(runner.oms.live)

            await settle(same_open)
            await runner.stop()
    finally:
        venue.kill()
        await venue.wait()


async def test_on_this_host_the_ack_rtt_is_split_at_the_venues_receive_time(venue: Venue):
    """A venue on loopback shares our clock: each ack's round trip is also recorded as the wait
    to reach the venue and the way back, which add up to it (per ack, so in the means too)."""
    from agenthft.connectors.agenthft.port import on_this_host

    assert on_this_host("ws://127.0.0.1:1/trading") and on_this_host("ws://localhost:1/x")
    assert on_this_host("ws://[::1]:1/x") and not on_this_host("wss://fapi.example.com/ws")
    assert not on_this_host("ws://10.0.0.7:1/trading")
    srv, http = venue.server, venue.http
    key = await register(http, srv, "split")
    remote = AgenthftPort("wss://venue.example.com/trading", "https://venue.example.com", key)
    assert not remote.caps.venue_clock_ns and "ack_to_venue" not in Runner(quoter(), remote).telemetry.h
    port = AgenthftPort(srv.ws_url, srv.rest_url, key)
    assert port.caps.venue_clock_ns and port.caps.cancel_on_disconnect
    runner = Runner(quoter(), port)
    await runner.start()
    sent = [runner.submit("BTC-PERP", Side.BUY, 1, 599_900 - i) for i in range(5)]
    assert all(sent), list(runner.denied)
    await settle(lambda: _true(runner.telemetry.h["ack_rtt"].get_total_count() >= 7))
    h = runner.telemetry.h
    n = h["ack_rtt"].get_total_count()
    assert h["ack_to_venue"].get_total_count() == h["ack_from_venue"].get_total_count() == n
    mean = h["ack_rtt"].get_mean_value()
    assert abs(h["ack_to_venue"].get_mean_value() + h["ack_from_venue"].get_mean_value() - mean) <= 0.01 * mean
    snap = runner.telemetry.snapshot()
    assert snap["ack_to_venue"]["count"] == n and snap["ack_to_venue"]["p50_us"] > 0
    await runner.stop(True)
