"""Soak: an aggressive taker and the quoter trade a fast market (a real capture replayed as fast as
the venue can, or the manipulated simulation) while sockets are dropped and the venue's gateway
restarts. At the end, per agent: its fills == its journal's fills == the venue's fills, by fill id;
positions equal; no illegal transition left unexplained; the journal's growth per minute bounded.

The short version runs in the normal suite; `make soak` runs the long one (AGENTHFT_SOAK_S).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agenthft.connectors.agenthft import AgenthftPort
from agenthft.market.cache import EventCache
from agenthft.market.sim.scenario import load_scenario
from agenthft.market.sources import load_events
from agenthft.model import OrderType, Side
from agenthft.oms import ClientOrder
from agenthft.risk import RiskConfig
from agenthft.runtime import Journal, Runner
from agenthft.strategies import Quoter, Strategy
from agenthft.strategies.base import Context
from agenthft.venue import VenueServer, load_config
from agenthft.venue.replaydriver import ReplayDriver
from agenthft.venue.simdriver import SimDriver

from .test_runtime import get, register

SHORT_S = 12.0
LONG_S = float(os.environ.get("AGENTHFT_SOAK_S", "120"))


class Taker(Strategy):
    """Aggressive: crosses the spread with an IOC every `every_ms`, alternating sides so its
    position stays near flat. Every order goes through risk like any other."""

    name = "taker"

    def __init__(self, market: str, lots: int = 1, every_ms: float = 40.0) -> None:
        self.markets = (market,)
        self.market, self.lots, self.every_ns = market, lots, int(every_ms * 1e6)
        self._next = 0
        self._side = Side.BUY
        self.sent = 0

    def on_book(self, ctx: Context, market: str) -> None:
        if ctx.now_ns < self._next:
            return
        book = ctx.books[market]
        price = book.best_ask() if self._side is Side.BUY else book.best_bid()
        if price is None:
            return
        self._next = ctx.now_ns + self.every_ns
        if ctx.submit(market, self._side, self.lots, price, OrderType.IOC) is not None:
            self.sent += 1
        self._side = Side.SELL if self._side is Side.BUY else Side.BUY

    def on_order_done(self, ctx: Context, order: ClientOrder) -> None:
        pass


async def _soak(tmp_path: Path, srv: VenueServer, market: str, seconds: float, ref: str) -> dict[str, Any]:
    rng = random.Random(7)
    risk = RiskConfig(stale_ms=200)  # a replay at full speed lags; this soak is about state, not staleness
    async with aiohttp.ClientSession() as http:
        runners: list[tuple[Runner, str, Path]] = []
        lot = Decimal(next(i for i in srv.config.markets if i.market == market).lot_size)
        quoter = Quoter(market, str(lot), 2, ref, max_position=str(20 * lot), min_requote_ms=20)
        for name, strategy in (("taker", Taker(market)), ("quoter", quoter)):
            key = await register(http, srv, name)
            journal = tmp_path / f"{name}.db"
            port = AgenthftPort(srv.ws_url, srv.rest_url, key, session={"backoff_initial_s": 0.02})
            r = Runner(strategy, port, journal_path=journal, risk=risk)
            await r.start()
            runners.append((r, key, journal))
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        faults: Counter[str] = Counter()
        while loop.time() < end:
            await asyncio.sleep(rng.uniform(0.5, 1.5))
            if rng.random() < 0.25:
                await srv.restart_ws(down_s=0.1)
                faults["gateway_restart"] += 1
            else:
                r = rng.choice(runners)[0]
                r.port.drop()
                faults["socket_drop"] += 1
        out: dict[str, Any] = {"faults": dict(faults)}
        for r, key, journal in runners:
            await r.quiesce(cancel_orders=True, timeout_s=5)
            # one last reconcile so that a fill still on the wire at the end is in
            await asyncio.sleep(0.3)
            await r.reconcile()
            summary = r.summary()
            venue_fills = {f["fill_id"] for f in await get(http, srv, key, "/api/v1/fills")}
            venue_pos = {p["market"]: p["size"] for p in (await get(http, srv, key, "/api/v1/positions"))["positions"]}
            await r.stop()
            journal_fills = Counter(f.fill_id for f in Journal.fills(journal))
            out[r.strategy.name] = {
                "agent_fills": set(summary["fill_ids"]),
                "n_venue_fills": len(venue_fills),
                "journal_fills": journal_fills,
                "venue_fills": venue_fills,
                "agent_position": summary["positions"].get(market, "0"),
                "venue_position": venue_pos.get(market, 0.0),
                "anomalies": summary["anomaly_counts"],
                "illegal": [str(a) for a in r.oms.anomalies if a.kind == "illegal_transition"][:5],
                "reconnects": summary["reconnects"],
                "journal_bytes_per_min": journal.stat().st_size / (seconds / 60),
            }
        return out


def _figures(res: dict[str, Any]) -> dict[str, Any]:
    """The soak's figures without the fill-id sets (for `make soak -s`)."""
    return {k: v if k == "faults" else {x: y for x, y in v.items() if not x.endswith("_fills")} for k, v in res.items()}


def _check(res: dict[str, Any]) -> None:
    assert sum(res["faults"].values()) >= 3, res["faults"]
    for name in ("taker", "quoter"):
        a = res[name]
        assert all(n == 1 for n in a["journal_fills"].values()), f"{name}: duplicated journal fills"
        assert a["agent_fills"] == set(a["journal_fills"]) == a["venue_fills"], f"{name}: fills differ"
        assert float(a["agent_position"]) == pytest.approx(a["venue_position"]), f"{name}: positions differ"
        assert a["anomalies"].get("illegal_transition", 0) == 0, (a["anomalies"], a["illegal"])
        assert a["reconnects"] >= 1
        assert a["journal_bytes_per_min"] < 20e6, f"{name}: journal grows {a['journal_bytes_per_min']:.0f} B/min"
    assert res["taker"]["venue_fills"], "the aggressive strategy traded"


async def replay_soak(tmp_path: Path, data: Path, seconds: float, cache: Path) -> dict[str, Any]:
    capture = data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
    rows = load_events([capture], cache=EventCache(cache))
    instruments = list(rows.markets)
    base = load_config()
    cfg = base.__class__(
        markets=instruments,
        venue=base.venue,
        engine=base.engine,
        sandbox=base.sandbox.__class__(funds={i.quote: "1000000" for i in instruments} | {"USDC": "1000000"}),
        tiers=base.tiers,
    )
    srv = await VenueServer(cfg).start()
    driver = ReplayDriver(srv.venue, rows, speed=0)
    driver.start()
    try:
        await asyncio.sleep(0.5)
        return await _soak(tmp_path, srv, instruments[0].market, seconds, "60000")
    finally:
        await driver.stop()
        await srv.stop()


async def sim_soak(tmp_path: Path, seconds: float) -> dict[str, Any]:
    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("manipulated"))
    driver.start()
    try:
        await asyncio.sleep(0.5)
        market = sorted(driver.sim.fair)[0]
        return await _soak(tmp_path, srv, market, seconds, "60000")
    finally:
        await driver.stop()
        await srv.stop()


@pytest.mark.timeout(120)
async def test_soak_replay_at_full_speed_with_faults(tmp_path: Path, data: Path, events_cache: Path):
    _check(await replay_soak(tmp_path, data, SHORT_S, events_cache))


@pytest.mark.timeout(120)
async def test_soak_manipulated_sim_with_faults(tmp_path: Path):
    _check(await sim_soak(tmp_path, SHORT_S))


@pytest.mark.soak
@pytest.mark.timeout(LONG_S * 3 + 120)
async def test_long_soak_replay(tmp_path: Path, data: Path, events_cache: Path):
    res = await replay_soak(tmp_path, data, LONG_S, events_cache)
    _check(res)
    print(_figures(res))


@pytest.mark.soak
@pytest.mark.timeout(LONG_S * 3 + 120)
async def test_long_soak_manipulated(tmp_path: Path):
    res = await sim_soak(tmp_path, LONG_S)
    _check(res)
    print(_figures(res))
