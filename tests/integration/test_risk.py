"""Risk controls against the real venue on loopback, checked from the venue's side: a control
trips at its threshold and not before, and once tripped no new order reaches the venue."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from agenthft.model import OrderType, Side
from agenthft.risk import Reason, RiskConfig, RiskState
from agenthft.runtime import Runner
from agenthft.strategies import Quoter, Strategy
from agenthft.venue import VenueServer

from .conftest import config
from .test_runtime import get, register, settle


class Idle(Strategy):
    name = "idle"
    markets = ("BTC-PERP",)


def count_venue_orders(srv: VenueServer) -> Counter[str]:
    """Instrument the real venue: how many orders each account got to the engine."""
    seen: Counter[str] = Counter()
    engine = srv.venue.engine
    submit = engine.submit

    def counting(account: str, *a: Any, **kw: Any) -> Any:
        seen[account] += 1
        return submit(account, *a, **kw)

    engine.submit = counting  # type: ignore[method-assign]
    return seen


async def agent(
    srv: VenueServer, http: aiohttp.ClientSession, strategy: Strategy, **risk: Any
) -> tuple[Runner, str, str]:
    key = await register(http, srv, "agent")
    runner = Runner(strategy, srv.ws_url, srv.rest_url, key, risk=RiskConfig(**{"stale_ms": 1000, **risk}))
    await runner.start()
    account = srv.venue.keys.authenticate(key).account_id  # type: ignore[union-attr]
    return runner, key, account


async def test_kill_switch_trips_on_the_nth_consecutive_reject_and_nothing_more_reaches_the_venue():
    srv = await VenueServer(config()).start()
    seen = count_venue_orders(srv)
    try:
        async with aiohttp.ClientSession() as http:
            runner, _, account = await agent(srv, http, Idle(), max_consecutive_rejects=3)
            other = await register(http, srv, "maker")
            async with http.post(
                srv.rest_url + "/trading/orders",
                headers={"Authorization": f"Bearer {other}"},
                json={"market": "BTC-PERP", "side": "sell", "qty": 1, "price": 60000, "client_id": "ask"},
            ) as r:
                assert r.status == 200
            await asyncio.sleep(0.1)
            for i in range(6):  # post-only buys at the ask: the venue rejects each (would cross)
                runner.submit("BTC-PERP", Side.BUY, 1, 600000, OrderType.POST_ONLY)
                await asyncio.sleep(0.05)
                if i == 1:
                    assert runner.risk.state is RiskState.ACTIVE, "not before the threshold"
            assert runner.risk.state is RiskState.HALTED
            assert [e.reason for e in runner.risk.events if e.action == "halt"] == [Reason.KILL_SWITCH_REJECTS]
            assert seen[account] == 3, "the 4th to 6th orders never reached the venue"
            await runner.stop()
    finally:
        await srv.stop()


async def test_manual_override_leaves_zero_open_orders_on_the_venue():
    srv = await VenueServer(config()).start()
    seen = count_venue_orders(srv)
    try:
        async with aiohttp.ClientSession() as http:
            runner, key, account = await agent(srv, http, Quoter("BTC-PERP", "0.005", 3, "60000"))
            await settle(lambda: _nonempty(http, srv, key))
            runner.manual_override("test")
            await settle(lambda: _empty(http, srv, key))
            before = seen[account]
            assert runner.submit("BTC-PERP", Side.BUY, 1, 500000) is None
            await asyncio.sleep(0.1)
            assert seen[account] == before and runner.risk.state is RiskState.HALTED
            await runner.stop()
    finally:
        await srv.stop()


async def _nonempty(http, srv, key) -> bool:
    return bool(await get(http, srv, key, "/api/v1/orders"))


async def _empty(http, srv, key) -> bool:
    return not await get(http, srv, key, "/api/v1/orders")


async def test_position_limit_denies_increasing_orders_at_the_limit():
    srv = await VenueServer(config()).start()
    try:
        async with aiohttp.ClientSession() as http:
            # quotes of 0.005 BTC at ~60,000 (300 USDC); limit 500 USDC of net notional per market
            runner, key, _ = await agent(srv, http, Quoter("BTC-PERP", "0.005", 3, "60000"), position_limit="500")
            assert not runner.denied, "the first quotes (300 USDC) fit under the limit"
            taker = await register(http, srv, "taker")
            body = {"market": "BTC-PERP", "side": "sell", "type": "market", "qty": 0.005, "client_id": "t1"}
            async with http.post(
                srv.rest_url + "/trading/orders", json=body, headers={"Authorization": f"Bearer {taker}"}
            ) as r:
                assert (await r.json())["filled_qty"] == 0.005
            await asyncio.sleep(0.2)  # long 0.005: a new bid would make it 0.010 (~600 USDC)
            denied = [e for e in runner.denied if e.reason is Reason.POSITION_LIMIT]
            assert denied and 590 < float(denied[0].value) <= 600 and denied[0].limit == "500.00"
            venue_open = await get(http, srv, key, "/api/v1/orders")
            assert [o["side"] for o in venue_open] == ["sell"], "only the reducing side stays quoted"
            await runner.stop()
    finally:
        await srv.stop()


async def test_sigusr1_and_halt_file_override_a_running_agent(tmp_path: Path):
    srv = await VenueServer(config()).start()
    try:
        async with aiohttp.ClientSession() as http:
            for how in ("signal", "file"):
                key = await register(http, srv, f"agent-{how}")
                flag = tmp_path / f"halt-{how}"
                cmd = [
                    sys.executable,
                    "-m",
                    "agenthft.cli",
                    "run",
                    "quoter",
                    "--venue",
                    srv.ws_url,
                    "--rest",
                    srv.rest_url,
                    "--key",
                    key,
                    "--qty",
                    "0.005",
                    "--duration",
                    "20",
                    "--halt-file",
                    str(flag),
                ]
                proc = await asyncio.create_subprocess_exec(
                    *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
                )
                await settle(lambda key=key: _nonempty(http, srv, key), 20)
                if how == "signal":
                    os.kill(proc.pid, signal.SIGUSR1)
                else:
                    flag.write_text("halt")
                await settle(lambda key=key: _empty(http, srv, key), 10)
                await asyncio.sleep(0.3)
                assert await _empty(http, srv, key), "it stays halted: no new quotes"
                proc.terminate()
                await proc.wait()
    finally:
        await srv.stop()
