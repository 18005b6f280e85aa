"""`agenthft venue --dialect binance-usdm` as a user starts it (a subprocess): the export lines,
a simulated or replayed market behind Binance's protocol, Binance clients pointed at it with
nothing but those lines, and no secret anywhere else."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ccxt.pro as ccxtpro
import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)

from agenthft.children import dies_with_parent

from .binance_env import ED_PEM, ED_PUBLIC_PEM


class BinanceVenue:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agenthft.cli", "venue", "--dialect", "binance-usdm", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_parent(),
        )
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        self.env: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while "BINANCE_STREAM_URL" not in self.env and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.match(r"export (\w+)=(\S+)$", line.strip())
            if m:
                self.env[m.group(1)] = m.group(2)
        assert "BINANCE_STREAM_URL" in self.env, self.lines

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err


@pytest.fixture
def pubkey(tmp_path: Path) -> Path:
    p = tmp_path / "ed25519.pub"
    p.write_text(ED_PUBLIC_PEM)
    return p


@pytest.fixture
def sim(pubkey: Path) -> Iterator[BinanceVenue]:
    v = BinanceVenue("--sim", "calm", "--ed25519-pubkey", str(pubkey))
    yield v
    err = v.stop()
    assert v.env["BINANCE_API_SECRET"] not in err, "the secret is printed once, on the export line"


def test_it_prints_shell_export_lines_and_comments_only(sim: BinanceVenue):
    assert set(sim.env) == {
        "BINANCE_API_KEY",
        "BINANCE_API_SECRET",
        "BINANCE_ED25519_API_KEY",
        "BINANCE_BASE_URL",
        "BINANCE_WS_API_URL",
        "BINANCE_STREAM_URL",
    }
    assert all(line.startswith(("export ", "#")) for line in sim.lines), sim.lines
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sim.env["BINANCE_BASE_URL"])
    assert sim.env["BINANCE_WS_API_URL"].endswith("/ws-fapi/v1")


async def test_ccxt_trades_the_simulated_market_from_the_export_lines(sim: BinanceVenue):
    e = sim.env
    ex = ccxtpro.binanceusdm({"apiKey": e["BINANCE_API_KEY"], "secret": e["BINANCE_API_SECRET"]})
    ex.options["fetchCurrencies"] = False
    for k, v in list(ex.urls["api"].items()):
        if isinstance(v, str):
            ex.urls["api"][k] = re.sub(r"^https://[^/]+", e["BINANCE_BASE_URL"], v)
    ex.urls["api"]["ws"]["linear"] = e["BINANCE_STREAM_URL"] + "/ws"
    ex.urls["api"]["ws"]["ws-api"]["linear"] = e["BINANCE_WS_API_URL"]
    try:
        await ex.load_markets()
        symbol = next(s for s, m in ex.markets.items() if m["id"] == "BTCUSDT")
        deadline = time.monotonic() + 20
        book = await ex.fetch_order_book(symbol, 5)
        while not (book["bids"] and book["asks"]):  # the simulation fills the book
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
            book = await ex.fetch_order_book(symbol, 5)
        live = await ex.watch_order_book(symbol)
        assert live["bids"] and live["asks"]
        bid = book["bids"][0][0]
        o = await ex.create_order(symbol, "limit", "buy", 0.001, round(bid * 0.99, 1), {"postOnly": True})
        assert o["status"] == "open"
        assert [x["id"] for x in await ex.fetch_open_orders(symbol)] == [o["id"]]
        assert (await ex.cancel_order(o["id"], symbol))["status"] == "canceled"
    finally:
        await ex.close()


async def test_the_sdk_signs_with_the_registered_ed25519_key(sim: BinanceVenue):
    e = sim.env
    sdk = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=e["BINANCE_ED25519_API_KEY"], private_key=ED_PEM, base_path=e["BINANCE_BASE_URL"], retries=0
        )
    )
    acc = (await asyncio.to_thread(sdk.rest_api.account_information_v3)).data()
    assert acc.assets and float(acc.total_wallet_balance or 0) > 0


async def test_a_replayed_capture_behind_binances_protocol(data: Path):
    v = BinanceVenue("--replay", str(data / "hftbacktest/usdm/btcusdt_20240808.gz"), "--speed", "0")
    ex = ccxtpro.binanceusdm({"apiKey": v.env["BINANCE_API_KEY"], "secret": v.env["BINANCE_API_SECRET"]})
    ex.options["fetchCurrencies"] = False
    for k, url in list(ex.urls["api"].items()):
        if isinstance(url, str):
            ex.urls["api"][k] = re.sub(r"^https://[^/]+", v.env["BINANCE_BASE_URL"], url)
    try:
        markets = await ex.load_markets()
        (market,) = markets.values()
        assert market["id"].startswith("BTCUSDT") and market["swap"]
        deadline = time.monotonic() + 30
        book = await ex.fetch_order_book(market["symbol"], 5)
        while not (book["bids"] and book["asks"]):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
            book = await ex.fetch_order_book(market["symbol"], 5)
        assert book["bids"][0][0] < book["asks"][0][0]
    finally:
        await ex.close()
        v.stop()


def test_dialect_flags_that_make_no_sense_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    from agenthft.cli import main

    assert main(["venue", "--ed25519-pubkey", str(tmp_path / "x.pem")]) == 2
    assert "needs --dialect binance-usdm" in capsys.readouterr().err
    assert main(["venue", "--dialect", "binance-usdm", "--ed25519-pubkey", str(tmp_path / "x.pem")]) == 2
    assert "no public key file" in capsys.readouterr().err


def test_run_a_shipped_strategy_through_ccxt_against_the_local_binance_venue(tmp_path: Path):
    """`agenthft run bbo-quoter --venue ccxt:binanceusdm@URL`, keys from the environment as a user
    gives them (the export lines): it trades, and the agent's fill ids are the venue's. With
    --cancel-on-exit: an order left resting could fill after the summary, before the venue's
    fills are read beside it (the venue's last fill missing from the agent's, under load)."""
    import json
    import os

    v = BinanceVenue("--sim", "lead-lag")
    try:
        env = {**os.environ, "CCXT_API_KEY": v.env["BINANCE_API_KEY"], "CCXT_SECRET": v.env["BINANCE_API_SECRET"]}
        cmd = [sys.executable, "-m", "agenthft.cli", "run", "bbo-quoter", "--venue",
               f"ccxt:binanceusdm@{v.env['BINANCE_BASE_URL']}", "--duration", "8", "--cancel-on-exit",
               "--quiet"]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    finally:
        v.stop()
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(proc.stdout)
    assert s["fills"] > 0, s
    assert s["fill_ids"] == s["venue_fill_ids"], "the agent's fills are the venue's, by id"
    assert v.env["BINANCE_API_SECRET"] not in proc.stdout + proc.stderr


def test_probe_a_binance_dialect_venue_places_it_in_the_articles_tiers(sim: BinanceVenue):
    """`agenthft probe binance-usdm@URL`: round trips of the connector's cheapest request
    (`GET /fapi/v1/time`, no keys), percentiles from an HdrHistogram, the article's tier."""
    url = sim.env["BINANCE_BASE_URL"]
    done = subprocess.run(
        [sys.executable, "-m", "agenthft.cli", "probe", f"binance-usdm@{url}", "-n", "30", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["pings"] == 30 and "/fapi/v1/time" in res["request"], res
    assert 0 < res["rtt"]["p50_us"] <= res["rtt"]["p99_us"] <= res["rtt"]["p99.9_us"], res
    assert res["tier"]["name"] and res["one_way_ms"] > 0, res
