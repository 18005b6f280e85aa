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
from typing import Any

from agenthft.connectors.ccxt_port import _fill_id


class VenueProcess:
    def __init__(self) -> None:
        cmd = [sys.executable, "-m", "agenthft.cli", "venue", "--dialect", "hyperliquid", "--sim", "calm"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
