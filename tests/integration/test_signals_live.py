"""The detectors in the live runtime (the strategy's context) and from the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agenthft.cli import main
from agenthft.connectors.agenthft import AgenthftPort
from agenthft.market.sim.scenario import load_scenario
from agenthft.risk import RiskConfig
from agenthft.runtime import Runner
from agenthft.signals import SignalEvent
from agenthft.strategies import Context, Strategy
from agenthft.venue import VenueServer, load_config
from agenthft.venue.simdriver import SimDriver

from .test_runtime import register


class Watcher(Strategy):
    name = "watcher"
    markets = ("BTC-PERP",)
    uses_signals = True

    def __init__(self) -> None:
        self.seen: list[SignalEvent] = []

    def on_signal(self, ctx: Context, event: SignalEvent) -> None:
        assert ctx.signals["BTC-PERP"].market == "BTC-PERP"
        self.seen.append(event)


async def test_a_strategy_that_uses_signals_hears_the_spoofer_on_a_live_venue():
    srv = await VenueServer(load_config()).start()
    driver = SimDriver(srv.venue, load_scenario("manipulated"))
    driver.start()
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            key = await register(http, srv, "watcher")
        strategy = Watcher()
        runner = Runner(strategy, AgenthftPort(srv.ws_url, srv.rest_url, key), risk=RiskConfig(stale_ms=0))
        await runner.start()
        await asyncio.sleep(4)
        await runner.stop()
    finally:
        await driver.stop()
        await srv.stop()
    kinds = {e.kind for e in strategy.seen}
    assert "spoof" in kinds, kinds
    assert all(e.response for e in strategy.seen)


def test_signals_eval_and_scan_from_the_command_line(data: Path, capsys):
    assert main(["signals", "eval", "--seeds", "1", "--seconds", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    scores = {s["kind"]: s for s in out["report"]["scores"]}
    assert scores["spoof"]["precision"] == 1.0 and set(out["calm_false_alarms_per_hour"]) == set(scores)
    assert {q["model"] for q in out["queue"]} == {"pessimistic", "optimistic", "proportional", "power2", "power3"}
    capture = data / "hftbacktest" / "usdm" / "btcusdt_20240808.gz"
    assert main(["signals", "scan", str(capture), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["market"] == "BTCUSDT-PERP" and report["deltas"] > 400_000 and report["counts"]
    okx, kraken = data / "cryptofeed" / "OKX.ws.1.0", data / "cryptofeed" / "KRAKEN.ws.50.0"
    assert main(["signals", "scan", str(okx), str(kraken), "--json"]) == 0
    books = json.loads(capsys.readouterr().out)
    assert [r["deltas"] > 1000 for r in books] == [True, True] and "BTC-USDT" in books[0]["market"]
    assert main(["signals", "scan", str(okx)]) == 0  # the text: prices on the grid, times readable
    line = next(x for x in capsys.readouterr().out.splitlines() if x.lstrip().startswith("cancel_cascade"))
    assert "5.134 at 2022-05-13 16:27:14.885852 UTC" in line and "3 levels pulled" in line, line
