"""A shipped strategy through `agenthft run` against `agenthft venue --dialect hyperliquid --sim
calm` (each its own process, as a user runs them): over ccxt's hyperliquid (`--venue
ccxt:hyperliquid@URL`, the account's key) and over our connector (`--venue hyperliquid@URL`,
the approved API wallet). The agent's fills are the venue's, fill for fill, read back from
the venue's own `/info userFills`; no illegal transition.

The quoter joins the touch (`ticks=0`): on Hyperliquid a price one grid step off a 5-figure
price has 6 figures and is refused (bad_price), so a strategy that offsets by ticks rounds with
`connectors.hyperliquid.round_price` first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from agenthft.children import dies_with_parent
from agenthft.connectors.ccxt_port import _fill_id


class VenueProcess:
    def __init__(self) -> None:
        cmd = [sys.executable, "-m", "agenthft.cli", "venue", "--dialect", "hyperliquid", "--sim", "calm"]
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

    def info(self, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            self.env["HYPERLIQUID_BASE_URL"] + "/info", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def run(venue: str, env: dict[str, str], seconds: int = 8) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "agenthft.cli", "run", "bbo-quoter", "--venue", venue, "--market", "BTC-PERP"]
    cmd += ["--param", "qty=0.001", "--param", "ticks=0", "--duration", str(seconds), "--cancel-on-exit", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert done.stdout, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def check(summary: dict[str, Any]) -> None:
    assert summary["fills"] > 0, summary
    assert summary["fill_ids"] == summary["venue_fill_ids"], "the agent's fills are the venue's"
    assert "illegal_transition" not in summary["anomaly_counts"], summary["anomalies"]
    assert summary["risk_state"] == "active" and summary["rejects"]["faults"] == 0, summary["rejects"]


def test_a_shipped_strategy_over_ccxt_hyperliquid_against_the_local_venue():
    venue = VenueProcess()
    try:
        env = {
            "CCXT_WALLET_ADDRESS": venue.env["HYPERLIQUID_ACCOUNT_ADDRESS"],
            "CCXT_PRIVATE_KEY": venue.env["HYPERLIQUID_PRIVATE_KEY"],
        }
        summary = run(f"ccxt:hyperliquid@{venue.env['HYPERLIQUID_BASE_URL']}", env)
        check(summary)
        fills = venue.info({"type": "userFills", "user": venue.env["HYPERLIQUID_ACCOUNT_ADDRESS"]})
        assert sorted(_fill_id("0", f["tid"]) for f in fills) == summary["fill_ids"], "ccxt's ids of the venue's"
    finally:
        venue.stop()


def test_a_shipped_strategy_over_our_connector_with_the_api_wallet():
    venue = VenueProcess()
    try:
        env = {
            "HYPERLIQUID_PRIVATE_KEY": venue.env["HYPERLIQUID_AGENT_PRIVATE_KEY"],
            "HYPERLIQUID_ACCOUNT_ADDRESS": venue.env["HYPERLIQUID_ACCOUNT_ADDRESS"],
        }
        summary = run(f"hyperliquid@{venue.env['HYPERLIQUID_BASE_URL']}", env)
        check(summary)
        fills = venue.info({"type": "userFills", "user": venue.env["HYPERLIQUID_ACCOUNT_ADDRESS"]})
        assert sorted(f["tid"] for f in fills) == summary["fill_ids"], "the venue's own trade ids"
        assert summary["venue_open_orders"] == [] or summary["venue_open_orders"] == summary["open_orders"]
    finally:
        venue.stop()


def test_record_from_the_hyperliquid_dialect_then_replay_and_backtest(tmp_path: Path):
    """`agenthft record hyperliquid@URL:BTC-PERP` (public side, no keys) keeps the l2Book and
    trades frames as received; `replay` reads them as a Hyperliquid capture (by content) with
    checks > 0, and `backtest --data` trades on the recorded Parquet rows."""
    venue = VenueProcess()
    try:
        url = venue.env["HYPERLIQUID_BASE_URL"]
        cmd = [sys.executable, "-m", "agenthft.cli", "record", f"hyperliquid@{url}:BTC-PERP"]
        cmd += ["--out", str(tmp_path), "--duration", "4"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        venue.stop()
    assert done.returncode == 0, done.stderr
    raw = sorted((tmp_path / "raw").glob("*.gz"))
    rows = sorted(tmp_path.glob("*.parquet"))
    assert len(raw) == 1 and rows, done.stdout
    rep = subprocess.run(
        [sys.executable, "-m", "agenthft.cli", "replay", str(raw[0]), "--json"], capture_output=True, text=True
    )
    assert rep.returncode == 0, rep.stderr
    (report,) = json.loads(rep.stdout)
    assert report["venue_format"] == "hyperliquid", report
    assert report["checks_passed"] > 0 and report["checks_failed"] == 0 and report["crossed"] == 0, report
    assert any("funding from activeAssetCtx" in n for n in report["notes"]), "recorded with the funding context"
    bt = subprocess.run(
        [sys.executable, "-m", "agenthft.cli", "backtest", "bbo-quoter", "--data", *map(str, rows),
         "--market", "BTC-PERP", "--param", "qty=0.001", "--json", "--no-cache"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bt.returncode == 0, bt.stderr
    summary = json.loads(bt.stdout)["summary"]
    assert summary["orders"] > 0 and summary["events"] > 100, summary


def test_probe_a_hyperliquid_dialect_venue():
    """`agenthft probe hyperliquid@URL`: `info exchangeStatus` round trips, no keys."""
    venue = VenueProcess()
    try:
        url = venue.env["HYPERLIQUID_BASE_URL"]
        done = subprocess.run(
            [sys.executable, "-m", "agenthft.cli", "probe", f"hyperliquid@{url}", "-n", "30", "--json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        venue.stop()
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["pings"] == 30 and "exchangeStatus" in res["request"], res
    assert 0 < res["rtt"]["p50_us"] <= res["rtt"]["p99_us"], res
