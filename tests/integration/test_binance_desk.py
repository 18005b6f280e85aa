"""Every shipped strategy through the Binance USD-M connector against the local Binance venue
(the venue's core with its Binance front, the lead-lag market simulated on it): the agent's
fills are the venue's, fill for fill; the journal is the venue; no illegal transition. The soak
version runs each strategy 60 s with faults: socket drops (each reconnect extends the listenKey),
a 429 storm, a skewed clock, then 27 s of quiet, longer than the venue's 20 s listenKey TTL, so
the key expires and is renewed."""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agenthft.children import dies_with_parent
from agenthft.connectors.agenthft import AgenthftPort
from agenthft.connectors.binance_usdm import BinanceUsdmPort, endpoints
from agenthft.connectors.binance_usdm.signing import Signer
from agenthft.connectors.port import OrderRequest
from agenthft.model import OrderType, Side
from agenthft.risk import RiskConfig
from agenthft.runtime import Journal, Runner
from agenthft.runtime.multi import MultiRunner, VenueLeg, sessions
from agenthft.strategies.loader import build, load_class

#: the five shipped strategies: on Binance alone, or with a leg on the venue's own protocol
#: (the lead-lag leader is a spot market, which a USD-M venue does not list)
DESK: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "quoter": ("quoter", {"market": "BTC-PERP", "qty": "0.005", "half_spread": 2}, ("bn",)),
    "bbo-quoter": ("bbo-quoter", {"market": "BTC-PERP", "qty": "0.001"}, ("bn",)),
    "market-maker": ("market-maker", {"market": "BTC-PERP", "qty": "0.005"}, ("bn",)),
    "latency-arb": ("latency-arb", {"leader": "lead:BTC-USDC", "follower": "bn:BTC-PERP"}, ("lead", "bn")),
    "nbbo-arb": ("nbbo-arb", {"markets": ["a:BTC-PERP", "bn:BTC-PERP"], "qty": "0.002"}, ("a", "bn")),
}
RISK = RiskConfig(stale_ms=0, max_consecutive_faults=50)


class VenueProcess:
    """`agenthft venue --dialect binance-usdm --sim lead-lag` in its own process (its market
    simulation and both fronts take a core of their own): its export lines and native URLs."""

    def __init__(self, *extra: str) -> None:
        cmd = [sys.executable, "-m", "agenthft.cli", "venue", "--dialect", "binance-usdm", "--sim", "lead-lag", *extra]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=dies_with_parent()
        )
        assert self.proc.stdout is not None
        text = ""
        while "simulation" not in text:
            line = self.proc.stdout.readline()
            assert line, f"the venue did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
            text += line
        self.env = dict(re.findall(r"export (\w+)=(\S+)", text))
        found = re.search(r"protocol also on (\S+) and (\S+)", text)
        assert found is not None, text
        self.ws, self.rest = found.group(1), found.group(2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def register(rest: str, name: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(rest + "/api/v1/register", json={"agent_id": name}) as r:
        return str((await r.json())["api_key"])


async def run_desk(tmp: Path, venue: VenueProcess, seconds: float, faults: bool) -> dict[str, Any]:
    """Each shipped strategy in turn (`seconds` each), its Binance leg on the venue's Binance key,
    another leg on its own account over our protocol."""
    rng = random.Random(5)
    faults_done: Counter[str] = Counter()
    out: dict[str, Any] = {}
    expired = 0
    for name, (cls, params, legs) in DESK.items():
        made: dict[str, Any] = {}
        for leg in legs:
            if leg == "bn":
                made[leg] = BinanceUsdmPort(
                    endpoints(f"binance-usdm@{venue.env['BINANCE_BASE_URL']}"),
                    venue.env["BINANCE_API_KEY"],
                    Signer(secret=venue.env["BINANCE_API_SECRET"]),
                )
            else:
                made[leg] = AgenthftPort(venue.ws, venue.rest, await register(venue.rest, f"{name}-{leg}"))
        strategy = build(load_class(cls), dict(params))
        agent: Any
        if len(legs) == 1:
            agent = Runner(strategy, made["bn"], journal_path=tmp / f"{name}.db", risk=RISK)
        else:
            agent = MultiRunner(strategy, [VenueLeg(n, p, RISK, str(tmp / f"{name}-{n}.db")) for n, p in made.items()])
        port: BinanceUsdmPort = made["bn"]
        await agent.start()
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            storm = skew = False
            while loop.time() < end:
                await asyncio.sleep(rng.uniform(1.0, 3.0) if faults else 0.5)
                if not faults:
                    continue
                left = end - loop.time()
                if left < seconds * 0.55:
                    continue  # a quiet stretch longer than the listenKey's TTL: it expires (renewed)
                if not storm and left < seconds * 0.8:  # past the agent's own throttle, at the venue
                    storm = True
                    for i in range(300):
                        req = OrderRequest(
                            f"storm{name[:2]}{i}", "BTCUSDT", Side.BUY, 1, 500_000 - i, OrderType.POST_ONLY
                        )
                        port.place(req)
                    faults_done["429_storm"] += 1
                elif not skew and left < seconds * 0.65:
                    skew = True
                    port.rest.offset_ms -= 120_000
                    faults_done["clock_skew"] += 1
                else:
                    port.drop()
                    faults_done["socket_drop"] += 1
            await agent.quiesce(cancel_orders=True, timeout_s=10)
            if faults:  # the storm's orders are not the agent's: the venue's cancel-all takes them off
                port.cancel_all("BTCUSDT")
                await asyncio.sleep(0.5)
            for leg, r in sessions(agent).items():
                snap = await r.port.snapshot()
                venue_fills = {f.fill_id for f in snap.fills}
                journal = Counter(f.fill_id for f in Journal.fills(r.journal_path)) if r.journal_path else Counter()
                out[f"{name}/{leg}"] = {
                    "fills": len(r.oms.seen_fills),
                    "agent_is_venue": r.oms.seen_fills == venue_fills,
                    "missed": sorted(venue_fills - r.oms.seen_fills)[:10],
                    # what the agent knew of a missed fill's order (a failure says where it went)
                    "missed_orders": [
                        (f.order_id, f.ts_ns, repr(r.oms.orders.get(f.order_id)))
                        for f in snap.fills
                        if f.fill_id not in r.oms.seen_fills
                    ][:5],
                    "extra": sorted(r.oms.seen_fills - venue_fills)[:10],
                    "journal_is_venue": set(journal) <= venue_fills and all(n == 1 for n in journal.values()),
                    "illegal": sum(a.kind == "illegal_transition" for a in r.oms.anomalies),
                    "open_left": [o.order_id for o in snap.open_orders if not o.order_id.startswith("storm")],
                    "reconnects": r.port.reconnects,
                }
            expired += port.expired_keys
        finally:
            await agent.stop(cancel_orders=True)
    out["faults"] = dict(faults_done)
    out["expired_keys"] = expired
    return out


def check(out: dict[str, Any]) -> None:
    legs = {k: v for k, v in out.items() if "/" in k}
    assert len(legs) == 7, out
    for name, leg in legs.items():
        assert leg["agent_is_venue"], (name, leg)
        assert leg["journal_is_venue"], (name, out)
        assert leg["illegal"] == 0, (name, out)
        assert leg["open_left"] == [], (name, out)
    traded = [n for n, leg in legs.items() if leg["fills"]]
    assert {"quoter/venue", "market-maker/venue"} <= set(traded), out


async def test_every_shipped_strategy_through_the_binance_connector(tmp_path: Path):
    venue = VenueProcess()
    try:
        out = await run_desk(tmp_path, venue, 4.0, faults=False)
    finally:
        venue.stop()
    check(out)


@pytest.mark.soak
@pytest.mark.timeout(900)
async def test_soak_every_strategy_on_binance_with_drops_expiry_a_429_storm_and_a_skewed_clock(tmp_path: Path):
    venue = VenueProcess("--listen-key-ttl", "20")
    try:
        out = await run_desk(tmp_path, venue, 60.0, faults=True)
    finally:
        venue.stop()
    print(out)
    check(out)
    assert out["faults"]["socket_drop"] >= 3 * len(DESK) and out["expired_keys"] >= 1
    assert out["faults"]["429_storm"] == len(DESK) and out["faults"]["clock_skew"] == len(DESK), "one per strategy"
