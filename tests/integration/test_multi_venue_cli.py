"""One strategy on two venues from the command line: `agenthft venue` with two configs and the
cross-venue simulation, `agenthft run nbbo-arb --leg ... --leg ...` against both, real sockets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from agenthft.children import dies_with_parent


@pytest.fixture
def two_venues() -> Iterator[dict[str, tuple[str, str, str]]]:
    cmd = [sys.executable, "-m", "agenthft.cli", "venue", "--config", "default", "--config", "venue-b"]
    proc = subprocess.Popen(
        [*cmd, "--sim", "cross-venue"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=dies_with_parent(),
    )
    assert proc.stdout is not None
    venues: dict[str, list[str]] = {}
    name = ""
    deadline = time.monotonic() + 30
    while (len(venues) < 2 or len(venues[name]) < 3) and time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if line.startswith("venue "):
            name = line.split()[1].rstrip(":")
            venues[name] = []
        elif line.startswith(("websocket", "rest")):
            venues[name].append(line.split()[1])
        elif line.startswith("sandbox"):
            venues[name].append(line.split("key ")[1])
    try:
        assert len(venues) == 2, venues
        yield {n: (v[0], v[1], v[2]) for n, v in venues.items()}
    finally:
        proc.terminate()
        proc.wait(10)


def test_nbbo_arb_runs_on_two_live_venues_and_each_venue_agrees_with_the_agent(two_venues, tmp_path):
    legs = [f"--leg={n}={ws},{rest},{key}" for n, (ws, rest, key) in two_venues.items()]
    cmd = [sys.executable, "-m", "agenthft.cli", "run", "nbbo-arb", *legs, "--param", "fee_multiple=0.5"]
    cmd += ["--dashboard", "--out", str(tmp_path)]  # both legs under one dashboard, one results folder
    proc = subprocess.run(
        [*cmd, "--duration", "8", "--cancel-on-exit", "--quiet", "--max-net", "BTC=0.05"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert set(summary["venues"]) == {"agenthft", "venue-b"}
    for name, v in summary["venues"].items():
        assert v["fill_ids"] == v["venue_fill_ids"], name  # every fill on both sides, one to one
        assert v["open_orders"] == [] and v["venue_open_orders"] == []
        assert v["marks"], f"{name}: the strategy saw that venue's market"
    assert summary["denied_net_exposure"] >= 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("agenthft: pnl")]
    assert lines and "nbbo-arb@agenthft" in lines[-1] and "nbbo-arb@venue-b" in lines[-1]
    recorded = json.loads((tmp_path / "summary.json").read_text())
    assert recorded["fills"] == sum(len(v["fill_ids"]) for v in summary["venues"].values())
    assert (tmp_path / "report.html").stat().st_size > 0
